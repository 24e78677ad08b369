"""What a prediction is and what an image may be: :class:`Prediction`, :func:`as_rgb_image`.

:class:`hourglass.predictor.Predictor` returns a :class:`Prediction` per image and reads any
image form through :func:`as_rgb_image` (both are re-exported there).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hourglass._array import json_floats
from hourglass.data.io import read_image
from hourglass.keypoints import KeypointSpec

__all__ = ["Prediction", "as_rgb_image"]


def as_rgb_image(image: Any, *, channels: str = "rgb") -> np.ndarray:
    """A path, numpy array or tensor -> (H, W, 3) uint8 RGB.

    Args:
        image: a path (read with EXIF orientation applied); a numpy uint8 array (H, W),
            (H, W, 3) or (H, W, 4) in ``channels`` order (alpha dropped); or a torch tensor
            (3, H, W) / (H, W, 3), uint8 or float in [0, 1].
        channels: ``"rgb"`` or ``"bgr"`` (OpenCV's order) for 3- or 4-channel arrays/tensors.

    Raises:
        FileNotFoundError / DataError: unreadable file. TypeError / ValueError: other inputs.
    """
    import cv2

    if channels not in ("rgb", "bgr"):
        raise ValueError(f"channels must be 'rgb' or 'bgr', got {channels!r}")
    if isinstance(image, (str, os.PathLike)):
        return read_image(image, orient=True)
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.ndim == 3 and t.shape[0] in (1, 3, 4) and t.shape[-1] not in (1, 3, 4):
            t = t.permute(1, 2, 0)
        if t.is_floating_point():
            if t.numel() and (float(t.min()) < 0 or float(t.max()) > 1):
                raise ValueError(
                    f"a float image tensor must hold values in [0, 1], got [{float(t.min()):.3g}, {float(t.max()):.3g}]"
                )
            t = (t * 255).round().to(torch.uint8)
        image = t.numpy()
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a path, a numpy array or a torch tensor, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise TypeError(
            f"image array must be uint8 (0-255), got {image.dtype}; convert it, e.g. (x * 255).astype(np.uint8)"
        )
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_GRAY2RGB)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image must have shape (H, W), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if channels == "bgr" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(np.ascontiguousarray(image), code)
    if channels == "bgr":
        return cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)


@dataclass
class Prediction:
    """Keypoints of N subjects of one image.

    Attributes:
        keypoints: (N, K, 2) float64 (x, y) in the input image's pixels (0-based centres).
        scores: (N, K) float64: the heatmap maximum (about 1 at a confident, well-placed
            peak) for heatmap models; NaN for regression models, which give no confidence
            (drawn whatever ``min_score``; ``null`` in :meth:`to_coco`).
        boxes: (N, 4) float64 subject boxes (x, y, w, h) as detected or given.
        box_scores: (N,) detector scores (1.0 for given boxes and the whole image).
        center: (N, 2) crop centres; scale: (N,) crop scales (200-px units).
        source: ``"detector:<kind>"``, ``"boxes"`` or ``"whole-image"``.
        spec: the keypoint spec (names, skeleton, colours).
        image_size: (W, H) of the image.
        heatmaps: (N, K, h, w) float32 last-stack heatmaps when asked for (heatmap models).
        heatmap_matrix: (N, 2, 3) affine from image to heatmap pixels, with ``heatmaps``.
        presence: (N,) presence score of each subject (:func:`hourglass.codec.presence_score`;
            NaN for regression models): how surely its crop holds a subject of the model's kind.
        origins: per subject, where its first crop came from (``"detector:<kind>"``,
            ``"boxes"``, ``"whole-image"``).
        in_view: (N, K) bool, the keypoint scores at least the model's calibrated keypoint
            threshold (``LoadedModel.keypoint_threshold``): the model places it in view; a
            keypoint out of view (the legs of a head-and-shoulders photo) is not drawn and frames
            no refined crop. None for a model without that calibration (every keypoint is drawn).
    """

    keypoints: np.ndarray
    scores: np.ndarray
    boxes: np.ndarray
    box_scores: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    source: str
    spec: KeypointSpec
    image_size: tuple[int, int]
    heatmaps: np.ndarray | None = None
    heatmap_matrix: np.ndarray | None = None
    presence: np.ndarray | None = None
    origins: tuple[str, ...] = ()
    in_view: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.keypoints.shape[0])

    def take(self, indices: Any) -> Prediction:
        """A copy with the subjects at ``indices`` (in that order); image-level fields kept."""
        idx = np.asarray(indices, dtype=np.intp).reshape(-1)
        per_subject = ("keypoints", "scores", "boxes", "box_scores", "center", "scale", "heatmaps",
                       "heatmap_matrix", "presence", "in_view")  # fmt: skip
        changes = {f: getattr(self, f)[idx].copy() for f in per_subject if getattr(self, f) is not None}
        origins = tuple(self.origins[i] for i in idx) if self.origins else ()
        return dataclasses.replace(self, origins=origins, **changes)

    def to_coco(self, image_id: Any = None) -> list[dict[str, Any]]:
        """COCO-style results: one dict per subject with ``keypoints`` [x, y, score] * K (image
        pixels, 0-based centres, as COCO keypoints), ``score`` (mean keypoint score), ``bbox``
        as given or detected, in this library's box convention (a COCO box has its corner 0.5 px
        further: :func:`hourglass.data.coco.coco_box_to_box`), ``box_score``, and ``in_view``
        (per keypoint, null without a calibrated keypoint threshold). A regression
        model gives no keypoint confidence: its keypoint scores and ``score`` are ``null``."""
        out = []
        for i in range(len(self)):
            kp = np.concatenate([self.keypoints[i], self.scores[i][:, None]], axis=1)
            mean = float(self.scores[i].mean())
            out.append({
                "image_id": image_id, "category_id": 1, "keypoints": json_floats(kp.ravel(), 3),
                "score": round(mean, 4) if np.isfinite(mean) else None, "bbox": np.round(self.boxes[i], 2).tolist(),
                "box_score": round(float(self.box_scores[i]), 4),
                "presence": _rounded(self.presence, i), "origin": self.origins[i] if self.origins else self.source,
                "in_view": None if self.in_view is None else [bool(v) for v in self.in_view[i]],
            })  # fmt: skip
        return out


def _rounded(values: np.ndarray | None, i: int) -> float | None:
    """``values[i]`` rounded to 4 digits for JSON, None where absent or not finite."""
    if values is None or not np.isfinite(values[i]):
        return None
    return round(float(values[i]), 4)
