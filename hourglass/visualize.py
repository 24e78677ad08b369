"""Drawing keypoints and rendering training samples for inspection.

- :func:`draw_keypoints`: a spec's skeleton and keypoints on a copy of an RGB image, at
  sub-pixel positions (OpenCV's fixed-point ``shift``), in the library's pixel convention
  (pixel (i, j) centred at (x, y) = (i, j)), which is also OpenCV's.
- :func:`draw_predictions` and :func:`heatmap_overlay`: a :class:`~hourglass.predictor.Prediction`
  drawn on the image it was made on (boxes, skeletons, dots sized to the subject) and its
  heatmaps warped back onto that image as a colour overlay; ``tools/infer.py`` draws with them.
- :func:`save_sample_grid`: a PNG of a few pipeline samples, each shown as the de-normalised
  input with its keypoints and with its target heatmaps overlaid. Uses matplotlib's Agg
  canvas directly, so the global pyplot backend is never touched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.boxes import boxes_inside
from hourglass.data.pipeline_config import IMAGENET_MEAN, IMAGENET_STD
from hourglass.geometry import image_corners, invert_affine, transform_points
from hourglass.keypoints import KeypointSpec

__all__ = ["draw_keypoints", "draw_predictions", "drawing_style", "heatmap_overlay", "save_sample_grid"]

_SHIFT = 4  # fractional bits of OpenCV drawing coordinates: 1/16 pixel
_LIMIT = 1 << 20  # coordinates beyond this many pixels are not drawn (fixed-point range)


def draw_keypoints(
    image: np.ndarray,
    keypoints: Any,
    mask: Any,
    spec: KeypointSpec,
    *,
    radius: float | None = None,
    thickness: int | None = None,
    scores: Any = None,
    threshold: float | None = None,
) -> np.ndarray:
    """Draw a spec's skeleton and keypoints on a copy of an RGB image.

    Skeleton edges are drawn first (in the mean colour of their two keypoints) where both
    ends are drawn, then a filled anti-aliased disc per keypoint in ``spec.color_of(k)``.

    Args:
        image: (H, W, 3) uint8 RGB image (not modified).
        keypoints: (K, 2) keypoints (x, y) in image pixels (numpy array or tensor).
        mask: (K,) bool, which keypoints to draw.
        spec: the keypoint spec (skeleton, colours).
        radius: disc radius in pixels (default: about 1 % of the image's smaller side, >= 2).
        thickness: skeleton line width in pixels (default: about half the radius, >= 1).
        scores: (K,) confidence per keypoint, needed with ``threshold``.
        threshold: draw only keypoints whose score is >= threshold; a NaN score (a regression
            model's: no confidence) is drawn whatever the threshold.

    Returns:
        (H, W, 3) uint8 RGB copy with the drawing.
    """
    import cv2

    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        what = f"{image.dtype} {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise ValueError(f"image must be a uint8 RGB array (H, W, 3), got {what}")
    if not isinstance(spec, KeypointSpec):
        raise TypeError(f"spec must be a KeypointSpec, got {type(spec).__name__}")
    k = spec.num_keypoints
    pts = _numpy(keypoints).astype(np.float64)
    if pts.shape != (k, 2):
        raise ValueError(f"keypoints must have shape ({k}, 2) for spec {spec.name!r}, got {pts.shape}")
    show = _numpy(mask)
    if show.dtype != np.bool_ or show.shape != (k,):
        raise ValueError(f"mask must be a ({k},) bool array, got {show.dtype} {show.shape}")
    if threshold is not None:
        if scores is None:
            raise ValueError("threshold needs scores: pass scores=(K,) confidences")
        s = _numpy(scores).astype(np.float64)
        if s.shape != (k,):
            raise ValueError(f"scores must have shape ({k},), got {s.shape}")
        show = show & ((s >= threshold) | np.isnan(s))
    elif scores is not None and _numpy(scores).shape != (k,):
        raise ValueError(f"scores must have shape ({k},), got {_numpy(scores).shape}")
    bad = show & ~np.isfinite(pts).all(axis=1)
    if bad.any():
        raise ValueError(f"keypoints {np.flatnonzero(bad).tolist()} are not finite but the mask says to draw them")
    show = show & (np.abs(np.nan_to_num(pts)) < _LIMIT).all(axis=1)  # a new array: the caller's mask is kept

    h, w = image.shape[:2]
    if radius is None:
        radius = max(2.0, min(h, w) / 100.0)
    if thickness is None:
        thickness = max(1, int(round(radius / 2)))
    if not radius > 0 or int(thickness) < 1:
        raise ValueError(f"radius must be > 0 and thickness >= 1, got {radius!r} and {thickness!r}")

    out = image.copy()
    fixed = np.round(np.nan_to_num(pts) * (1 << _SHIFT)).astype(np.int64)  # (K, 2) fixed point
    colors = [tuple(int(v) for v in spec.color_of(i)) for i in range(k)]
    for a, b in spec.skeleton:
        if show[a] and show[b]:
            color = tuple((ca + cb) // 2 for ca, cb in zip(colors[a], colors[b]))
            p, q = (int(fixed[a, 0]), int(fixed[a, 1])), (int(fixed[b, 0]), int(fixed[b, 1]))
            cv2.line(out, p, q, color, int(thickness), cv2.LINE_AA, _SHIFT)
    r = int(round(radius * (1 << _SHIFT)))
    for i in np.flatnonzero(show):
        cv2.circle(out, (int(fixed[i, 0]), int(fixed[i, 1])), r, colors[i], -1, cv2.LINE_AA, _SHIFT)
    return out


# --- drawing predictions ---------------------------------------------------------------------------------
def drawing_style(spec: KeypointSpec, side: float) -> tuple[float, int]:
    """(point radius, line width) in pixels for a subject of ``side`` pixels (its box's sqrt(w * h)).

    Proportional to the subject, so a face in a 6000x4000 photo and in a 300x300 crop look the
    same; dense sets (68 face points) get small dots.
    """
    dense = spec.num_keypoints > 30
    radius = max(1.0, (0.008 if dense else 0.018) * side)
    width = max(1, int(round((0.004 if dense else 0.009) * side)))
    return radius, width


def subject_side(box: np.ndarray, image_size: tuple[int, int]) -> float:
    """sqrt(w * h) of a box (x, y, w, h) clipped to an image of size (W, H), at least 1."""
    clipped = boxes_inside(box[None], image_size)[0]
    return max(1.0, math.sqrt(max(clipped[2], 0.0) * max(clipped[3], 0.0)))


def draw_predictions(image: np.ndarray, predictions: Sequence[Any], min_score: float = 0.0) -> np.ndarray:
    """A copy of the (H, W, 3) RGB ``image`` with each subject's box (thin) and keypoints with skeleton.

    Args:
        image: the RGB image the predictions were made on.
        predictions: :class:`hourglass.predictor.Prediction` objects (one per model run).
        min_score: keypoints scoring below it are not drawn (nor their skeleton lines); a
            regression model's keypoints (NaN scores, no confidence) are always drawn.
            Keypoints a prediction marks out of view (``in_view`` False) are never drawn.

    Sizes follow :func:`drawing_style`; the whole image as a subject gets no box.
    """
    import cv2

    out = image.copy()
    size = (image.shape[1], image.shape[0])
    shift = _SHIFT
    for pred in predictions:
        for i in range(len(pred)):
            side = subject_side(pred.boxes[i], size)
            radius, width = drawing_style(pred.spec, side)
            origin = pred.origins[i] if getattr(pred, "origins", ()) else pred.source
            if origin != "whole-image":
                x, y, w, h = pred.boxes[i]
                corners = np.clip(np.round(np.array([[x, y], [x + w, y + h]]) * (1 << shift)), -(1 << 28), 1 << 28)
                p, q = (tuple(int(v) for v in c) for c in corners)
                cv2.rectangle(out, p, q, (255, 210, 0), max(1, int(round(0.003 * side))), cv2.LINE_AA, shift)
            mask = np.isfinite(pred.keypoints[i]).all(axis=1)
            if getattr(pred, "in_view", None) is not None:
                mask &= pred.in_view[i]
            out = draw_keypoints(
                out, pred.keypoints[i], mask, pred.spec, radius=radius, thickness=width,
                scores=pred.scores[i], threshold=min_score,
            )  # fmt: skip
    return out


def heatmap_overlay(image: np.ndarray, predictions: Sequence[Any], alpha: float = 0.75) -> np.ndarray | None:
    """The RGB ``image`` with the max over keypoints and subjects of the heatmaps, as a colour overlay.

    Each subject's (h, w) maximum map is warped back to image pixels through the inverse of
    its ``heatmap_matrix`` (image -> heatmap pixels), only over the image region its crop
    covers. Values are clipped to [0, 1] and coloured with JET on that fixed range (colours
    compare across images); a pixel is blended by ``alpha * clip((value - 0.05) / 0.45, 0, 1)``,
    so the faint background of predicted maps leaves the image as it is and peaks of 0.5 and
    more are fully coloured.

    Returns:
        (H, W, 3) uint8 RGB, or None when no result has heatmaps (regression models).
    """
    import cv2  # lazy, as across the package: OpenCV is slow to import

    h, w = image.shape[:2]
    heat = None
    region = [w, h, 0, 0]  # x0, y0, x1, y1 of everything warped
    for pred in predictions:
        if pred.heatmaps is None:
            continue
        heat = np.zeros((h, w), np.float32) if heat is None else heat
        for maps, matrix in zip(pred.heatmaps, pred.heatmap_matrix):
            peak = np.clip(maps.max(axis=0), 0.0, 1.0).astype(np.float32)  # (h', w')
            mh, mw = peak.shape
            corners = image_corners((mw, mh))
            area = transform_points(corners, invert_affine(matrix))  # heatmap corners in the image
            x0, y0 = (max(0, int(math.floor(v))) for v in area.min(axis=0))
            x1, y1 = min(w, int(math.ceil(area[:, 0].max())) + 1), min(h, int(math.ceil(area[:, 1].max())) + 1)
            if x1 <= x0 or y1 <= y0:
                continue
            m = np.asarray(matrix, dtype=np.float64).copy()
            m[:, 2] += m[:, :2] @ np.array([x0, y0], dtype=np.float64)  # region pixel -> heatmap pixel
            warped = cv2.warpAffine(
                peak, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                borderMode=cv2.BORDER_CONSTANT, borderValue=0.0,
            )  # fmt: skip
            np.maximum(heat[y0:y1, x0:x1], warped, out=heat[y0:y1, x0:x1])
            region = [min(region[0], x0), min(region[1], y0), max(region[2], x1), max(region[3], y1)]
    if heat is None:
        return None
    out = image.copy()
    x0, y0, x1, y1 = region
    if x1 > x0 and y1 > y0:
        value = heat[y0:y1, x0:x1]
        color = cv2.applyColorMap((value * 255 + 0.5).astype(np.uint8), cv2.COLORMAP_JET)
        color = cv2.cvtColor(color, cv2.COLOR_BGR2RGB)
        a = (alpha * np.clip((value - 0.05) / 0.45, 0.0, 1.0))[..., None]  # (h, w, 1)
        blend = out[y0:y1, x0:x1].astype(np.float32) * (1 - a) + color.astype(np.float32) * a
        out[y0:y1, x0:x1] = np.clip(blend + 0.5, 0, 255).astype(np.uint8)
    return out


def save_sample_grid(
    samples: Sequence[Any],
    spec: KeypointSpec,
    path: str | Path,
    *,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    max_samples: int = 8,
) -> Path:
    """Render pipeline samples to a PNG: per sample, the input with keypoints, and with heatmaps.

    Args:
        samples: :class:`~hourglass.data.pipeline.Sample` objects (``image`` (3, H, W),
            ``heatmaps`` (K, h, w), ``coords`` (K, 2), ``target_weight`` (K,), and the
            ``flip``/``rotation``/``scale`` metadata).
        spec: their keypoint spec.
        path: the PNG file to write (its folder must exist).
        mean, std: the normalisation used by the pipeline (default: ImageNet, the
            pipeline's default).
        max_samples: at most this many samples are drawn (one row each).

    Returns:
        ``path`` as a Path.
    """
    import cv2
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure  # lazy: only the sample grid draws with matplotlib

    samples = list(samples)[:max_samples]
    if not samples:
        raise ValueError("save_sample_grid needs at least one sample")
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist; create it before saving {path.name}")
    mean_ = np.asarray(IMAGENET_MEAN if mean is None else mean, dtype=np.float32).reshape(3, 1, 1)
    std_ = np.asarray(IMAGENET_STD if std is None else std, dtype=np.float32).reshape(3, 1, 1)

    fig = Figure(figsize=(6, 3 * len(samples)), dpi=100)
    FigureCanvasAgg(fig)
    for row, sample in enumerate(samples):
        chw = _numpy(sample.image).astype(np.float32)
        if chw.ndim != 3 or chw.shape[0] != 3:
            raise ValueError(f"sample {row}: image must have shape (3, H, W), got {chw.shape}")
        rgb = np.clip((chw * std_ + mean_) * 255.0 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)
        rgb = np.ascontiguousarray(rgb)
        weight = _numpy(sample.coord_weight) > 0  # in the crop (with absent targets, target_weight is 1 outside too)
        drawn = draw_keypoints(rgb, _numpy(sample.coords), weight, spec)
        heat = _numpy(sample.heatmaps).astype(np.float32).max(axis=0)  # (h, w)
        # cv2.resize maps pixel centres like crop_matrix does: heatmap and input stay aligned.
        heat = cv2.resize(heat, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
        title = f"scale {float(sample.scale):.2f}, rot {float(sample.rotation):.1f}"
        title += ", flip" if bool(sample.flip) else ""
        ax = fig.add_subplot(len(samples), 2, 2 * row + 1)
        ax.imshow(drawn)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
        ax = fig.add_subplot(len(samples), 2, 2 * row + 2)
        ax.imshow(rgb)
        ax.imshow(heat, cmap="jet", alpha=0.5, vmin=0.0, vmax=1.0)
        ax.set_title(f"heatmaps ({int(weight.sum())} targets)", fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, format="png")
    return path


def _numpy(x: Any) -> np.ndarray:
    """A numpy view of an array or (CPU or CUDA) tensor."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def contact_sheet(images: Sequence[np.ndarray], captions: Sequence[str], path: str | Path, *, columns: int = 4,
                  cell: int = 256) -> Path:  # fmt: skip
    """Tile RGB images (each fitted into a ``cell`` x ``cell`` square, aspect kept) with a caption
    line under each, ``columns`` to a row, into a PNG at ``path`` (its folder must exist)."""
    import cv2

    if len(images) != len(captions) or not images:
        raise ValueError(f"contact_sheet needs one caption per image and at least one image, got {len(images)} "
                         f"images and {len(captions)} captions")  # fmt: skip
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"folder {path.parent} does not exist; create it before saving {path.name}")
    text_h = 18
    rows = -(-len(images) // columns)
    sheet = np.full((rows * (cell + text_h), columns * cell, 3), 255, np.uint8)
    for i, (img, caption) in enumerate(zip(images, captions)):
        h, w = img.shape[:2]
        f = (cell - 4) / max(h, w)
        small = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)
        r, c = divmod(i, columns)
        y, x = r * (cell + text_h) + 2, c * cell + 2
        sheet[y : y + small.shape[0], x : x + small.shape[1]] = small
        cv2.putText(sheet, caption[:40], (x, y + cell + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.imwrite(str(path), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    return path
