"""Face-alignment metrics: NME per image, and the AUC, failure rate and CED of per-image errors.

:func:`nme` takes a normaliser from :mod:`hourglass.metrics.normalizers` (``interocular``,
``interpupil``, or ``bbox_size`` with ``mode="sqrt_area"``); :func:`auc`, :func:`failure_rate`
and :func:`ced_curve` take the (N,) per-image errors and complete the usual 300-W report.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hourglass.metrics._common import _ratio, _scaled_errors, _threshold, _thresholds


def nme(pred: Any, gt: Any, mask: Any, normalizer: Any) -> np.ndarray:
    """Normalised mean error per image (N,), as a fraction (tables print it in %).

    ``mean over the labelled points of ||pred - gt|| / normalizer``; pred, gt (N, K, 2), mask
    (N, K) bool or None, normalizer (N,) (:func:`interocular`, :func:`interpupil`,
    :func:`bbox_size`). NaN for an image without labelled points or with a NaN normaliser.
    """
    scaled, used = _scaled_errors(pred, gt, mask, normalizer)
    return _ratio(np.where(used, scaled, 0.0).sum(axis=1), used.sum(axis=1))


def _errors(errors: Any) -> np.ndarray:
    e = np.asarray(errors, dtype=np.float64)
    if e.ndim != 1 or e.size == 0:
        raise ValueError(f"errors must be a non-empty 1-D array (N,), got shape {e.shape}")
    if np.isnan(e).any() or (e < 0).any():
        raise ValueError(
            f"errors must be non-negative and not NaN; got {int(np.isnan(e).sum())} NaN and "
            f"{int((e < 0).sum())} negative values (drop images without an NME with e[np.isfinite(e)])"
        )
    return e


def _positive(t: Any, name: str) -> float:
    v = float(t)
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be finite and positive, got {t!r}")
    return v


def ced_curve(
    errors: Any, max_error: float = 0.08, num: int = 161, *, thresholds: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: (thresholds (T,), fraction of errors <= each threshold (T,)).

    ``errors`` (N,) per-image errors (e.g. :func:`nme`). Thresholds are ``num`` evenly spaced
    values from 0 to ``max_error`` unless given explicitly.
    """
    e = np.sort(_errors(errors))
    if thresholds is None:
        if int(num) != num or num < 2:
            raise ValueError(f"num must be an integer >= 2, got {num!r}")
        ts = np.linspace(0.0, _positive(max_error, "max_error"), int(num))
    else:
        ts = _thresholds(thresholds)
    return ts, np.searchsorted(e, ts, side="right") / e.size


def auc(errors: Any, threshold: float = 0.08, *, step: float | None = None) -> float:
    """Normalised area under the CED curve from 0 to ``threshold`` (a fraction in [0, 1]).

    Exact by default: ``(1/t) * integral_0^t CED(x) dx = mean(max(0, 1 - e / t))``, since each
    error e contributes ``max(0, t - e)`` to the integral. Common 300-W scripts sample the CED on
    a grid of spacing ``step`` and integrate numerically (trapezoid or Simpson); ``step=``
    reproduces the trapezoid version, ``step`` must divide ``threshold``. The grid result
    differs from the exact one by at most about ``step / threshold``.
    """
    e = _errors(errors)
    t = _positive(threshold, "threshold")
    if step is None:
        return float(np.mean(np.clip(1.0 - e / t, 0.0, None)))
    n = round(t / _positive(step, "step"))
    if n < 1 or not np.isclose(n * step, t, rtol=1e-9, atol=0.0):
        raise ValueError(f"step {step!r} must divide threshold {threshold!r} into a whole number of intervals")
    xs, fs = ced_curve(e, thresholds=np.linspace(0.0, t, n + 1))
    return float(np.sum((fs[1:] + fs[:-1]) * np.diff(xs)) / (2.0 * t))


def failure_rate(errors: Any, threshold: float = 0.08) -> float:
    """Share of images (N,) whose error is above ``threshold`` (an error equal to it is no failure)."""
    e = _errors(errors)
    return float(np.mean(e > _threshold(threshold)))
