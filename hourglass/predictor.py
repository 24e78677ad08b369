"""Keypoints on any image, one import away: :class:`Predictor`.

::

    from hourglass import Predictor

    predictor = Predictor.from_checkpoint("300w-hg2")      # shipped name, weights file, checkpoint or run folder
    result = predictor("photo.jpg")                        # subjects found by the bundled detector
    result.keypoints                                       # (N, K, 2) image pixels
    result = predictor(image_rgb, boxes=[[x, y, w, h]])    # or boxes you give

How subjects become network inputs. Each subject is a crop centre and scale (200-px units),
from a detector box (calibrated to the training crops, :mod:`hourglass.detect`), from a box
you give (enlarged by the training padding: 1.25 for faces, 1.6 for people, or the model's
own ``TrainConfig.crop_padding`` when it was trained on tighter crops) or from the whole
image. The crop is cut from the FULL-resolution image by one affine warp, exactly like the
evaluation crops of training; when the crop shrinks the image by 2x or more, the region
around it is first area-averaged by the same power-of-two factor that training's reduced JPEG
decode used (:func:`hourglass.data.dataset.reduce_factor`), so a 6000x4000 photo is never
resized as a whole and the crop is not aliased. The predictions are mapped back through the
inverse of the crop, so they are in the input image's pixels (0-based pixel centres).

Refinement (``refine``, default :data:`REFINE` passes): each subject is then cut again from the
box of its own predicted keypoints by the same rule as a given box, which is how its training
crops were framed, and predicted again. ``refine=0`` predicts once from the first crop.
"""

from __future__ import annotations

import dataclasses
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hourglass.boxes import box_iou, keypoint_boxes
from hourglass.codec import DECODE_METHODS, presence_score
from hourglass.detect import (
    PERSON_PADDING,
    WholeImageDetector,
    center_scale,
    get_detector,
    user_box_to_center_scale,
)
from hourglass.evaluation import eval_pipeline, forward, inference_precision, prepare_model, to_image
from hourglass.geometry import (
    compose_affine,
    crop_matrix,
    image_corners,
    invert_affine,
    reduce_factor,
    reduction_matrix,
    transform_points,
    warp_image,
)
from hourglass.keypoints import KeypointSpec
from hourglass.prediction import Prediction, as_rgb_image
from hourglass.weights import DEFAULT_MODELS, load_model, resolve_weights

__all__ = ["NMS_IOU", "REFINE", "REFINE_MAX_ZOOM", "WHOLE_IMAGE_SCALES", "Prediction", "Predictor", "as_rgb_image"]

REFINE = 2
"""Default refinement passes of :class:`Predictor` (``tools/infer.py --refine``)."""
REFINE_MAX_ZOOM = 3.0
"""Most a refinement pass changes a crop's scale by (either way)."""
WHOLE_IMAGE_SCALES = {"face": (1.0,), "person": (1.0, 0.6, 0.4)}
"""Candidate crops from the whole image (scale factors of the whole-image crop, centred), beside
the detector's, for a model with a calibrated presence threshold."""
NMS_IOU = 0.4
"""Two refined subjects whose keypoint boxes overlap by more than this IoU are one subject."""


class Predictor:
    """A trained model plus the crop, decode and back-mapping around it (module docstring).

    Args:
        loaded: a :class:`hourglass.weights.LoadedModel`.
        flip: flip test (average with the mirrored crop's prediction).
        decoder: heatmap decoder (:data:`hourglass.codec.DECODE_METHODS`), default DARK.
        batch_size: subjects per forward pass.
        detector: ``None`` (the bundled detector for the model's subjects: Haar faces for face
            specs, HOG people otherwise; with a calibrated presence threshold, :meth:`candidates`
            adds the profile cascade's faces), a kind name for
            :func:`hourglass.detect.get_detector`, or any :class:`hourglass.detect.Detector`
            (its subjects only).
        precision: ``"auto"`` (bfloat16 autocast on a CPU with native bf16, unless the model is
            in :data:`hourglass.evaluation.FP32_MODELS`), ``"fp32"`` or ``"bf16"``; decoding is
            float32 either way. On the CPU the network also runs in channels-last memory.
        refine: passes that re-crop each subject from the box of its own predicted keypoints,
            by the training crop rule (the keypoint box as a given box: centre, larger side times
            the training padding), and predict again (default :data:`REFINE`; 0 = off). A
            detector's box frames a subject otherwise than training did (Haar the upper face,
            HOG the upper body, the whole image a person at about half the trained scale); each
            pass brings the crop closer to the trained framing. The scale changes by at most
            :data:`REFINE_MAX_ZOOM` per pass, and a subject whose keypoints collapse to a point
            keeps its crop.
    """

    def __init__(
        self,
        loaded: Any,
        *,
        flip: bool = False,
        decoder: str = "dark",
        batch_size: int = 16,
        detector: Any = None,
        precision: str = "auto",
        refine: int = REFINE,
    ) -> None:
        if isinstance(refine, bool) or not isinstance(refine, int) or refine < 0:
            raise ValueError(f"refine must be a whole number of passes >= 0, got {refine!r}")
        if decoder not in DECODE_METHODS:
            raise ValueError(f"unknown decoder {decoder!r}; choose one of {list(DECODE_METHODS)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.loaded = loaded
        self.flip = bool(flip)
        self.decoder = decoder
        self.batch_size = batch_size
        self.refine = refine
        self.kind = loaded.spec.subject
        self._detector = detector
        self._profile: Any = None  # the profile-face detector, built on first use (bundled face detector only)
        self._bundled = detector is None
        # People are framed by the padding the model was trained with (TrainConfig.crop_padding);
        # every box-to-crop conversion is linear in the padding, so the scale is rescaled.
        padding = getattr(loaded.config, "crop_padding", None)
        self._scale_factor = 1.0 if self.kind == "face" or padding is None else padding / PERSON_PADDING
        # the normalisation evaluation uses; crops are warped here, from a reduced region
        self._pipeline = eval_pipeline(loaded.model, loaded.spec, loaded.sigma)
        self.precision = inference_precision(loaded, precision)
        prepare_model(loaded.model, loaded.device)

    @classmethod
    def from_checkpoint(cls, path_or_name: str | os.PathLike, device: str = "cpu", **kwargs: Any) -> Predictor:
        """Load a shipped name, weights file, checkpoint or run folder (:func:`hourglass.weights.load_model`)."""
        return cls(load_model(path_or_name, device=device), **kwargs)

    @property
    def spec(self) -> KeypointSpec:
        return self.loaded.spec

    @property
    def detector(self) -> Any:
        """The detector used when no boxes are given (built on first use)."""
        if self._detector is None or isinstance(self._detector, str):
            self._detector = get_detector(self._detector or self.kind)
        return self._detector

    def __repr__(self) -> str:
        return (
            f"Predictor({self.loaded.name!r}, {self.loaded.output_kind}, spec={self.spec.name!r}, "
            f"input={self.loaded.input_size}, flip={self.flip}, decoder={self.decoder!r}, "
            f"precision={self.precision!r}, refine={self.refine})"
        )

    # --- subjects ---------------------------------------------------------------------------
    def subjects(self, image: np.ndarray, boxes: Any = None, *, whole_image: bool = False):
        """(boxes (N, 4), box_scores (N,), center (N, 2), scale (N,), source) for an RGB image."""
        if whole_image and boxes is not None:
            raise ValueError("pass either boxes or whole_image=True, not both")
        if whole_image:
            det = WholeImageDetector(self.kind)(image)
            c, s = user_box_to_center_scale(det.boxes, self.kind)
            return det.boxes, det.scores, c, s * self._scale_factor, "whole-image"
        if boxes is not None:
            try:
                b = np.asarray(boxes, dtype=np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"boxes must be (N, 4) numbers [x, y, w, h], got {boxes!r}") from None
            if b.ndim == 1:
                b = b[None]
            if b.ndim != 2 or b.shape[1] != 4 or not np.isfinite(b).all() or (b.shape[0] and (b[:, 2:] <= 0).any()):
                raise ValueError(
                    f"boxes must be (N, 4) finite [x, y, w, h] with w, h > 0, got {np.asarray(boxes).tolist()!r}"
                )
            h, w = image.shape[:2]
            outside = (
                (b[:, 0] >= w - 0.5) | (b[:, 1] >= h - 0.5) | (b[:, 0] + b[:, 2] <= -0.5) | (b[:, 1] + b[:, 3] <= -0.5)
            )
            if outside.any():
                x, y, bw, bh = b[np.flatnonzero(outside)[0]]
                raise ValueError(
                    f"box {x:g},{y:g},{bw:g},{bh:g} (x,y,w,h) lies outside the {w}x{h} image; give a box that "
                    f"overlaps it (x from -0.5 to {w - 0.5:g}, y from -0.5 to {h - 0.5:g}, top-left origin)"
                )
            c, s = user_box_to_center_scale(b, self.kind)
            return b, np.ones(len(b)), c, s * self._scale_factor, "boxes"
        det = self.detector(image)
        c, s = center_scale(self.detector, det.boxes)
        return det.boxes, det.scores, c, s * self._scale_factor, f"detector:{det.kind}"

    def crop(self, image: np.ndarray, center: np.ndarray, scale: float) -> torch.Tensor:
        """The normalised (3, H, W) network input of one subject (module docstring)."""
        import cv2  # optional at import time: only cropping needs OpenCV

        size = self.loaded.input_size
        r = reduce_factor(scale, size)
        matrix = crop_matrix(center, scale, size)  # image -> network input
        area = transform_points(image_corners(size), invert_affine(matrix))
        h, w = image.shape[:2]
        margin = 2 * r
        x0 = int(max(0, math.floor(area[:, 0].min()) - margin)) // r * r
        y0 = int(max(0, math.floor(area[:, 1].min()) - margin)) // r * r
        x1 = int(min(w, math.ceil(area[:, 0].max()) + margin + 1))
        y1 = int(min(h, math.ceil(area[:, 1].max()) + margin + 1))
        wr, hr = (x1 - x0) // r * r, (y1 - y0) // r * r  # whole r x r blocks
        if wr < r or hr < r:  # the crop lies outside the image: all border
            roi, source = np.zeros((1, 1, 3), np.uint8), np.array([[1.0, 0, -1e6], [0, 1.0, -1e6]])
        else:
            roi = image[y0 : y0 + hr, x0 : x0 + wr]
            if r > 1:
                roi = cv2.resize(roi, (roi.shape[1] // r, roi.shape[0] // r), interpolation=cv2.INTER_AREA)
            shift = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0]])
            source = compose_affine(reduction_matrix(r), shift)  # original -> roi pixels
        crop = warp_image(roi, compose_affine(matrix, invert_affine(source)), size)
        return torch.from_numpy(self._pipeline.normalize(crop))

    # --- prediction -------------------------------------------------------------------------
    def __call__(
        self,
        image: Any,
        boxes: Any = None,
        *,
        whole_image: bool = False,
        channels: str = "rgb",
        return_heatmaps: bool = False,
    ) -> Prediction:
        """Keypoints of every subject in ``image``.

        Args:
            image: a path, numpy array or tensor (see :func:`as_rgb_image`).
            boxes: (N, 4) or (4,) subject boxes [x, y, w, h] in image pixels; None = detect.
            whole_image: treat the whole image as the one subject.
            channels: ``"rgb"`` or ``"bgr"`` for array inputs.
            return_heatmaps: also return the last-stack heatmaps (heatmap models).

        Returns:
            a :class:`Prediction` (N = 0 when the detector finds nobody).

        Raises:
            ValueError: a box that is malformed or lies wholly outside the image.
        """
        rgb = as_rgb_image(image, channels=channels)
        select = boxes is None and not whole_image and self.presence_threshold is not None
        if select:
            b, bs, center, scale, origins = self.candidates(rgb)
        else:
            b, bs, center, scale, source = self.subjects(rgb, boxes, whole_image=whole_image)
            origins = [source] * len(b)
        b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
        center, scale = np.asarray(center, dtype=np.float64).reshape(-1, 2), np.asarray(scale, np.float64).reshape(-1)
        for _ in range(self.refine):
            coords, scores, _ = self._predict(rgb, center, scale, heatmaps=False)
            center, scale = self.reframe(self._in_view_only(coords, scores), center, scale)
        coords, scores, maps = self._predict(rgb, center, scale, heatmaps=return_heatmaps)
        matrices = None
        if maps is not None:
            matrices = crop_matrix(center, scale, self.loaded.heatmap_size) if len(b) else np.zeros((0, 2, 3))
        everyone = Prediction(
            keypoints=coords, scores=scores, boxes=b, box_scores=np.asarray(bs, dtype=np.float64), center=center,
            scale=scale, source=source if not select else "candidates", spec=self.spec,
            image_size=(int(rgb.shape[1]), int(rgb.shape[0])), heatmaps=maps, heatmap_matrix=matrices,
            presence=presence_score(scores), origins=tuple(origins),
            in_view=None if self.keypoint_threshold is None else scores >= self.keypoint_threshold,
        )  # fmt: skip
        if not select:
            return everyone
        kept = everyone.take(self.select(self._in_view_only(coords, scores), everyone.presence, origins))
        return dataclasses.replace(kept, source="+".join(dict.fromkeys(kept.origins)) or "nobody")

    @property
    def presence_threshold(self) -> float | None:
        """The model's calibrated presence threshold (None: uncalibrated or a regression model).
        With one, :meth:`__call__` without boxes looks at :meth:`candidates` and keeps the
        subjects that pass it (:meth:`select`); without, it keeps the detector's subjects."""
        return self.loaded.presence_threshold if self.loaded.output_kind == "heatmap" else None

    def _in_view_only(self, coords: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """``coords`` with the keypoints below the calibrated keypoint threshold set to NaN (out of
        view: they frame no refined crop and count in no overlap); unchanged without one."""
        if self.keypoint_threshold is None:
            return coords
        return np.where((scores >= self.keypoint_threshold)[..., None], coords, np.nan)

    @property
    def keypoint_threshold(self) -> float | None:
        """The model's calibrated keypoint threshold (None: uncalibrated or a regression model):
        keypoints scoring below it are out of view (``Prediction.in_view``) and are not drawn."""
        return self.loaded.keypoint_threshold if self.loaded.output_kind == "heatmap" else None

    def candidates(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """(boxes, box_scores, center, scale, origins) of the candidate crops of an RGB image:
        the detector's subjects (for faces with the bundled detector also the profile cascade's,
        on the image and its mirror) and the whole image at :data:`WHOLE_IMAGE_SCALES`.

        People below frontal faces (:class:`hourglass.detect.FacePeopleDetector`) are not a
        default source: on LSPET they added 1 person in 500 (found 90.6 -> 90.8 %), and on a
        head-and-shoulders portrait (the README's sample) they made the body model draw legs
        on the chest; pass ``detector="person-face"`` to use them."""
        b, bs, c, s, source = self.subjects(image)
        parts = [
            (np.asarray(b, np.float64).reshape(-1, 4), np.asarray(bs, np.float64).reshape(-1),
             np.asarray(c, np.float64).reshape(-1, 2), np.asarray(s, np.float64).reshape(-1), [source] * len(b))
        ]  # fmt: skip
        if self._bundled and self.kind == "face":  # profile faces with the bundled face detector
            profile = self._profile = self._profile or get_detector("face-profile")
            det = profile(image)
            pc, ps = center_scale(profile, det.boxes)
            parts.append(
                (det.boxes, det.scores, pc, ps * self._scale_factor, ["detector:face-profile"] * len(det.boxes))
            )
        wb, _, wc, ws, _ = self.subjects(image, whole_image=True)
        factors = np.asarray(WHOLE_IMAGE_SCALES[self.kind])
        parts.append((np.repeat(wb, len(factors), axis=0), np.ones(len(factors)), np.repeat(wc, len(factors), axis=0),
                      ws[0] * factors, ["whole-image"] * len(factors)))  # fmt: skip
        boxes, scores, center, scale, origins = zip(*parts)
        return (np.concatenate(boxes), np.concatenate(scores), np.concatenate(center), np.concatenate(scale),
                [o for part in origins for o in part])  # fmt: skip

    def select(self, keypoints: np.ndarray, presence: np.ndarray, origins: list[str]) -> np.ndarray:
        """Indices of the subjects to keep: presence at least the calibrated threshold, and no
        keypoint box overlapping a kept one's by more than :data:`NMS_IOU`. The detector's
        subjects go first (by falling presence), then the whole image's: a whole-image crop
        adds a subject the detector missed, it does not replace one it found (on the 300-W
        held-out faces, letting presence alone choose raised FR@0.08 end to end from 8 % to 23 %)."""
        boxes = keypoint_boxes(keypoints)
        passing = np.flatnonzero((presence >= self.presence_threshold) & np.isfinite(boxes).all(1))
        whole = np.array([origins[i] == "whole-image" for i in passing], dtype=bool)
        order = passing[np.lexsort((-presence[passing], whole))]  # detector first, then by falling presence
        kept: list[int] = []
        for i in order:
            if not kept or box_iou(boxes[i], boxes[kept]).max() <= NMS_IOU:
                kept.append(int(i))
        return np.array(kept, dtype=np.intp)

    def reframe(self, keypoints: np.ndarray, center: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The training crops (centre (N, 2), scale (N,)) of subjects whose keypoints are (N, K, 2):
        the keypoint box as a given box (:func:`hourglass.detect.user_box_to_center_scale`) at the
        model's padding. The scale changes by at most :data:`REFINE_MAX_ZOOM` from ``scale``; a
        subject without a usable box (keypoints not finite or at one point) keeps its crop."""
        center, scale = np.array(center, dtype=np.float64), np.array(scale, dtype=np.float64)
        for i, box in enumerate(keypoint_boxes(keypoints)):
            if not np.isfinite(box).all() or box[2:].max() < 1.0:  # no keypoints, or collapsed: nothing to frame
                continue
            box[2:] = np.maximum(box[2:], 1.0)
            c, s = user_box_to_center_scale(box[None], self.kind)
            center[i] = c[0]
            scale[i] = np.clip(s[0] * self._scale_factor, scale[i] / REFINE_MAX_ZOOM, scale[i] * REFINE_MAX_ZOOM)
        return center, scale

    def _predict(
        self, rgb: np.ndarray, center: np.ndarray, scale: np.ndarray, *, heatmaps: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(coords (N, K, 2), scores (N, K), last-stack heatmaps or None) of the crops at ``center``, ``scale``."""
        k = self.spec.num_keypoints
        n = len(center)
        coords, scores, maps = np.zeros((n, k, 2)), np.zeros((n, k)), []
        lm = self.loaded
        with torch.inference_mode():
            for start in range(0, n, self.batch_size):
                sl = slice(start, min(n, start + self.batch_size))
                x = torch.stack([self.crop(rgb, center[i], scale[i]) for i in range(sl.start, sl.stop)])
                out = forward(
                    lm.model, lm.output_kind, x.to(lm.device), self.spec, flip=self.flip, precision=self.precision
                )
                coords[sl], scores[sl] = to_image(
                    lm.output_kind,
                    out,
                    center[sl],
                    scale[sl],
                    input_size=lm.input_size,
                    sigma=lm.sigma,
                    decoder=self.decoder,
                )
                if heatmaps and lm.output_kind == "heatmap":
                    maps.append(out.cpu().numpy())
        if not (heatmaps and lm.output_kind == "heatmap"):
            return coords, scores, None
        hm = lm.heatmap_size
        return coords, scores, np.concatenate(maps) if maps else np.zeros((0, k, hm[1], hm[0]), np.float32)

    @staticmethod
    def default_for(kind: str) -> Path:
        """Path of the shipped model for ``"face"`` or ``"person"`` (:data:`hourglass.weights.DEFAULT_MODELS`)."""
        if kind not in DEFAULT_MODELS:
            raise ValueError(f"kind must be one of {sorted(DEFAULT_MODELS)}, got {kind!r}")
        return resolve_weights(DEFAULT_MODELS[kind])
