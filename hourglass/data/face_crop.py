"""The face crop rule: crop centre and scale from landmarks.

The landmark box is the axis-aligned box spanned by the labelled points, from
``(x_min, y_min)`` to ``(x_max, y_max)`` (the points' extent; no half pixel added), with
``w = x_max - x_min`` and ``h = y_max - y_min``. Then::

    center = ((x_min + x_max) / 2, (y_min + y_max) / 2 - center_shift * h)
    scale  = max(w, h) * padding / 200

with ``padding = 1.25`` (the 1.25x enlargement of HRNet and FAN) and ``center_shift = 0``
(FAN moves the centre up by ``0.12 * h``; pass ``center_shift=0.12`` to match). A JSON
``scale`` is the un-enlarged size (MMPose multiplies it by its 1.25 padding), so the JSON
loader (:func:`~hourglass.data.face_json.load_face_coco_json`) uses ``scale * padding``; for
the 300-W sample this agrees with the landmark rule to within 0.5 % (the tolerance of
``tests/test_data_face_json.py``).
"""

from __future__ import annotations

import numpy as np

from hourglass.geometry import PIXEL_STD

__all__ = ["landmark_center_scale"]


def landmark_center_scale(
    points: np.ndarray, *, padding: float = 1.25, center_shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Crop centre and scale from landmarks (the face crop rule of this module's docstring).

    Args:
        points: (..., K, 2) landmarks (x, y); NaN rows (unlabelled points) are ignored.
        padding: enlargement of the landmark box's larger side (1.25: HRNet, FAN).
        center_shift: move the centre up by this fraction of the box height (FAN: 0.12).

    Returns:
        center (..., 2) and scale (...) in units of 200 px, float64.

    Raises:
        ValueError: a bad ``padding``/``center_shift``, or an entry whose labelled points are
            all missing or all at one position (zero-size box); the message gives its index.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., K, 2), got {p.shape}")
    _check_crop_options(padding, center_shift)
    present = np.all(np.isfinite(p), axis=-1)  # (..., K)
    empty = ~np.any(present, axis=-1)
    if np.any(empty):
        raise ValueError(f"{_first(empty)}has no labelled landmark to take a box from")
    lo = np.min(np.where(present[..., None], p, np.inf), axis=-2)  # (..., 2)
    hi = np.max(np.where(present[..., None], p, -np.inf), axis=-2)
    size = hi - lo  # (..., 2) = (w, h)
    longer = np.max(size, axis=-1)
    flat = longer <= 0
    if np.any(flat):
        raise ValueError(f"{_first(flat)}all landmarks lie at one point (zero-size box)")
    center = (lo + hi) / 2.0
    center[..., 1] -= center_shift * size[..., 1]
    return center, longer * padding / PIXEL_STD


def _check_crop_options(padding: float, center_shift: float) -> None:
    if isinstance(padding, bool) or not isinstance(padding, (int, float)) or not (np.isfinite(padding) and padding > 0):
        raise ValueError(f"padding must be a positive number, got {padding!r}")
    if isinstance(center_shift, bool) or not isinstance(center_shift, (int, float)) or not np.isfinite(center_shift):
        raise ValueError(f"center_shift must be a finite number, got {center_shift!r}")


def _first(mask: np.ndarray) -> str:
    """'entry [i, ...] ' naming the first True of a batched mask ('' when unbatched)."""
    return f"entry {np.argwhere(mask)[0].tolist()}: " if mask.ndim else ""


def _landmark_boxes(points: np.ndarray) -> np.ndarray:
    """(N, K, 2) fully labelled points -> (N, 4) boxes (x0, y0, w, h) of their extent."""
    lo = points.min(axis=1)
    return np.concatenate([lo, points.max(axis=1) - lo], axis=1)
