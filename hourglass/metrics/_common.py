"""Private helpers shared by the metrics submodules: input checks, scaled errors, counts.

The checks turn arguments into float64 arrays of the documented shapes and raise with a message
that names the bad value; ``_scaled_errors``, ``_correct_counts`` and ``_ratio`` are the
arithmetic that PCK, PCKh, NME and OKS share. The conventions are in :mod:`hourglass.metrics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hourglass.keypoints import KeypointSpec


# --- input checks ----------------------------------------------------------------------------
def _points(x: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 3 or a.shape[-1] != 2:
        raise ValueError(f"{name} must have shape (N, K, 2) as (x, y), got {a.shape}")
    return a


def _pair(pred: Any, gt: Any) -> tuple[np.ndarray, np.ndarray]:
    p, g = _points(pred, "pred"), _points(gt, "gt")
    if p.shape != g.shape:
        raise ValueError(f"pred and gt must have the same shape (N, K, 2), got {p.shape} and {g.shape}")
    return p, g


def _mask(mask: Any, shape: tuple[int, ...], name: str = "mask") -> np.ndarray:
    if mask is None:
        return np.ones(shape, dtype=bool)
    m = np.asarray(mask)
    if m.dtype != np.bool_:
        raise TypeError(
            f"{name} must be a boolean array (N, K), True = labelled; got dtype {m.dtype} "
            "(convert flags explicitly, e.g. visible > 0)"
        )
    if m.shape != shape:
        raise ValueError(f"{name} must have shape (N, K) = {shape}, got {m.shape}")
    return m


def _check_finite(points: np.ndarray, mask: np.ndarray, name: str) -> None:
    bad = mask & ~np.isfinite(points).all(axis=-1)
    if bad.any():
        n, k = np.argwhere(bad)[0]
        raise ValueError(
            f"{name} has {int(bad.sum())} non-finite coordinates on keypoints the mask marks as labelled "
            f"(first: sample {n}, keypoint {k}); set the mask to False there"
        )


def _normalizer(normalizer: Any, mask: np.ndarray) -> np.ndarray:
    """(N,) float64; NaN allowed (sample left out), else finite and positive where used."""
    d = np.asarray(normalizer, dtype=np.float64)
    if d.shape != mask.shape[:1]:
        raise ValueError(f"normalizer must have shape (N,) = {mask.shape[:1]}, got {d.shape}")
    bad = mask.any(axis=1) & ~np.isnan(d) & ~(np.isfinite(d) & (d > 0))
    if bad.any():
        n = int(np.argmax(bad))
        raise ValueError(
            f"normalizer must be finite and positive on samples with labelled keypoints; sample {n} has "
            f"{d[n]} ({int(bad.sum())} such samples). Use NaN to leave a sample out"
        )
    return d


def _threshold(t: Any, name: str = "threshold") -> float:
    v = float(t)
    if not np.isfinite(v) or v < 0:
        raise ValueError(f"{name} must be finite and non-negative, got {t!r}")
    return v


def _thresholds(ts: Any) -> np.ndarray:
    a = np.atleast_1d(np.asarray(ts, dtype=np.float64))
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"thresholds must be a non-empty 1-D sequence of finite non-negative values, got {ts!r}")
    return a


def _spec_size(gt: np.ndarray, spec: KeypointSpec) -> None:
    if gt.shape[1] != spec.num_keypoints:
        raise ValueError(f"gt has {gt.shape[1]} keypoints but spec {spec.name!r} has {spec.num_keypoints}")


# --- scaled errors and counts ----------------------------------------------------------------
def _scaled_errors(pred: Any, gt: Any, mask: Any, normalizer: Any) -> tuple[np.ndarray, np.ndarray]:
    """Scaled errors (N, K) (NaN where unused) and the used mask (N, K)."""
    p, g = _pair(pred, gt)
    m = _mask(mask, p.shape[:2])
    _check_finite(g, m, "gt")
    _check_finite(p, m, "pred")
    norm = _normalizer(normalizer, m)
    used = m & ~np.isnan(norm)[:, None]
    dist = np.linalg.norm(p - g, axis=-1)
    scaled = np.divide(dist, norm[:, None], out=np.full(dist.shape, np.nan), where=used)
    return scaled, used


def _correct_counts(scaled: np.ndarray, used: np.ndarray, thresholds: np.ndarray, inclusive: bool) -> np.ndarray:
    """Correct keypoints (T, K) per threshold, by sorting each keypoint's scaled errors."""
    ordered = np.sort(np.where(used, scaled, np.inf), axis=0)  # (N, K), unused last
    side = "right" if inclusive else "left"  # right: count e <= t; left: count e < t
    cols = [np.searchsorted(ordered[:, k], thresholds, side=side) for k in range(scaled.shape[1])]
    return np.stack(cols, axis=-1) if cols else np.zeros((thresholds.size, 0), dtype=np.intp)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num, den = np.broadcast_arrays(np.asarray(num, np.float64), np.asarray(den, np.float64))
    return np.divide(num, den, out=np.full(num.shape, np.nan), where=den > 0)
