"""Keypoint errors and the per-sample normalisers of the metrics.

:func:`keypoint_errors` gives the raw distances (N, K). Each normaliser is an (N,) array, NaN
for a sample whose defining points are missing: :func:`bbox_size` and :func:`torso_size` (PCK),
:func:`head_size` (MPII PCKh), :func:`interocular` and :func:`interpupil` (face NME).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hourglass.keypoints import KeypointSpec
from hourglass.metrics._common import _check_finite, _mask, _pair, _points, _spec_size

_BBOX_MODES = ("max_side", "sqrt_area", "diagonal")


def keypoint_errors(pred: Any, gt: Any) -> np.ndarray:
    """Euclidean distances (N, K) between predictions and ground truth, both (N, K, 2)."""
    p, g = _pair(pred, gt)
    return np.linalg.norm(p - g, axis=-1)


def bbox_size(gt: Any, mask: Any = None, mode: str = "max_side") -> np.ndarray:
    """Size (N,) of the box around each sample's labelled keypoints gt (N, K, 2).

    The box spans the minimum to the maximum coordinate (points, not pixels: no +1).
    ``mode``: ``"max_side"`` max(w, h), ``"sqrt_area"`` sqrt(w * h) (the 300-W "box"
    normaliser), ``"diagonal"`` sqrt(w^2 + h^2). NaN for a sample without labelled keypoints.
    """
    if mode not in _BBOX_MODES:
        raise ValueError(f"unknown bbox_size mode {mode!r}; choose one of {list(_BBOX_MODES)}")
    g = _points(gt, "gt")
    m = _mask(mask, g.shape[:2])
    _check_finite(g, m, "gt")
    lo = np.where(m[..., None], g, np.inf).min(axis=1)  # (N, 2)
    hi = np.where(m[..., None], g, -np.inf).max(axis=1)
    w, h = np.where(m.any(axis=1)[:, None], hi - lo, np.nan).T
    if mode == "max_side":
        return np.maximum(w, h)
    if mode == "sqrt_area":
        return np.sqrt(w * h)
    return np.hypot(w, h)


def _distance(gt: Any, mask: Any, a: int, b: int) -> np.ndarray:
    g = _points(gt, "gt")
    m = _mask(mask, g.shape[:2])
    _check_finite(g, m, "gt")
    d = np.linalg.norm(g[:, a] - g[:, b], axis=-1)
    return np.where(m[:, a] & m[:, b], d, np.nan)


def torso_size(gt: Any, mask: Any, spec: KeypointSpec) -> np.ndarray:
    """Torso size (N,): distance between the two ``spec.torso`` points of gt (N, K, 2).

    NaN for a sample where either point is missing (:func:`pck` leaves such samples out).
    """
    if spec.torso is None:
        raise ValueError(f"keypoint spec {spec.name!r} declares no torso points; use bbox_size instead")
    _spec_size(_points(gt, "gt"), spec)
    return _distance(gt, mask, *spec.torso)


def head_size(headboxes: Any, factor: float = 0.6) -> np.ndarray:
    """MPII head size (N,): ``factor * ||corner_2 - corner_1||`` for head boxes (N, 2, 2).

    ``headboxes[n, 0]`` and ``headboxes[n, 1]`` are opposite corners (x, y) of the head
    rectangle (MPII ``headboxes_src`` is (2, 2, N): pass ``headboxes_src.transpose(2, 0, 1)``).
    0.6 is MPII's ``SC_BIAS``. A NaN box gives NaN (the sample is left out).
    """
    hb = np.asarray(headboxes, dtype=np.float64)
    if hb.ndim != 3 or hb.shape[1:] != (2, 2):
        raise ValueError(f"headboxes must have shape (N, 2, 2) as two (x, y) corners, got {hb.shape}")
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(f"factor must be finite and positive, got {factor!r}")
    return np.linalg.norm(hb[:, 1] - hb[:, 0], axis=-1) * factor


def interocular(gt: Any, spec: KeypointSpec, mask: Any = None) -> np.ndarray:
    """Inter-ocular distance (N,): between the outer eye corners ``spec.interocular``.

    NaN for a sample where either corner is missing.
    """
    if spec.interocular is None:
        raise ValueError(f"keypoint spec {spec.name!r} declares no interocular points")
    _spec_size(_points(gt, "gt"), spec)
    return _distance(gt, mask, *spec.interocular)


def interpupil(gt: Any, spec: KeypointSpec, mask: Any = None) -> np.ndarray:
    """Inter-pupil distance (N,): between the centroids of the two ``spec.pupils`` groups.

    NaN for a sample where any point of either eye is missing.
    """
    if spec.pupils is None:
        raise ValueError(f"keypoint spec {spec.name!r} declares no pupil groups")
    g = _points(gt, "gt")
    _spec_size(g, spec)
    m = _mask(mask, g.shape[:2])
    _check_finite(g, m, "gt")
    left, right = (list(p) for p in spec.pupils)
    d = np.linalg.norm(g[:, left].mean(axis=1) - g[:, right].mean(axis=1), axis=-1)
    return np.where(m[:, left].all(axis=1) & m[:, right].all(axis=1), d, np.nan)
