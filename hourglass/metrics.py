"""Evaluation metrics for body pose and face alignment: PCK, MPII PCKh, NME, AUC, CED, OKS.

Conventions (the whole module)
------------------------------
- Pure numpy functions on batches; inputs are never modified. Shapes use N samples,
  K keypoints, T thresholds; points are (x, y) in any pixel unit shared by prediction and
  ground truth (only differences are used, so the 0-/1-based offset cancels).
- Missing or unlabelled keypoints travel as a boolean ``mask`` (N, K), True = labelled.
  Coordinates under False are ignored and may hold anything (NaN, 0). ``mask=None`` means
  every keypoint is labelled. A non-finite coordinate under True raises ``ValueError``.
- Results are fractions in [0, 1] (PCK, NME, AUC, failure rate, OKS). Papers print
  percentages: :meth:`PCKhTable.format` does, nothing else converts.
- Normalisers are (N,) arrays. A normaliser that cannot be computed for a sample (its
  defining points are missing) is NaN; :func:`pck` then leaves the sample out (its keypoints
  are not counted) and :func:`nme` returns NaN for it. A zero, negative or infinite
  normaliser on a sample that has labelled keypoints raises ``ValueError``.
- A keypoint is correct when ``error / normaliser <= threshold``. ``<=`` is what the official
  MPII MATLAB script (``computePCK``), HRNet and MMPose use; the PyTorch re-implementation's
  ``eval_PCKh.py`` uses ``<`` (the ``<`` written in the project's REFERENCE notes).
  ``inclusive=False`` selects ``<``. The two differ only on exact ties.

MPII PCKh (:func:`pckh_table`)
------------------------------
Normaliser: 0.6 x the head-box diagonal (:func:`head_size`). Per joint, PCKh is the share of
the samples where the joint is labelled that are correct. Group rows (Head, Shoulder, ...) are
the plain average of their joints' PCKh, as every published script does. Three "Mean"s are in
use, all over the joints outside ``spec.eval_exclude`` (pelvis, thorax) except the last:

- ``"weighted"``: joint-count-weighted mean of the per-joint PCKh, which equals the share of
  correct joints pooled over those 14 joints. HRNet and MMPose compute it with ``jnt_ratio``;
  the official MATLAB script's "Total" is the same number (``computePCK`` pools its 14-joint
  matrix, NaN for missing joints).
- ``"unweighted"``: plain mean of the 14 per-joint PCKh (``np.mean`` of the masked array in
  the PyTorch re-implementation's ``eval_PCKh.py``).
- ``"pooled16"``: share of correct joints pooled over all K (16) joints, pelvis and thorax
  included (the 16-joint figures of PyTorch re-implementations).

Two details of the published tables: the MATLAB script's Head is the mean of upper neck and
head top while the Python ports (and ``MPII.groups``) use head top alone -- pass ``groups=`` to
choose; and HRNet's "Mean@0.1" reads ``pckAll[11]`` of ``arange(0, 0.51, 0.01)``, which is the
threshold 0.11 (MMPose 1.x reads index 10): pass ``thresholds=(0.5, 0.11)`` to reproduce it.

Faces
-----
NME per image is the mean over its labelled points of error / normaliser (:func:`interocular`,
:func:`interpupil` or :func:`bbox_size` with ``mode="sqrt_area"``). :func:`auc` integrates the
cumulative error distribution exactly; :func:`failure_rate` and :func:`ced_curve` complete the
usual 300-W report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from hourglass.keypoints import MPII, KeypointSpec

__all__ = [
    "keypoint_errors",
    "bbox_size",
    "torso_size",
    "head_size",
    "interocular",
    "interpupil",
    "PCKResult",
    "PCKCurve",
    "pck",
    "pck_curve",
    "pck_per_image",
    "PCKhTable",
    "MEAN_CONVENTIONS",
    "pckh_table",
    "nme",
    "auc",
    "failure_rate",
    "ced_curve",
    "oks",
]

MEAN_CONVENTIONS = {
    "weighted": "joint-count-weighted over the joints outside eval_exclude (HRNet, MMPose, MATLAB 'Total')",
    "unweighted": "plain mean of the per-joint values outside eval_exclude (pytorch-pose eval_PCKh.py)",
    "pooled16": "pooled over all keypoints, eval_exclude included",
}
"""Names accepted by :func:`pckh_table` for its "Mean", with what each computes."""

_BBOX_MODES = ("max_side", "sqrt_area", "diagonal")


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


# --- errors and normalisers ------------------------------------------------------------------
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


# --- PCK -------------------------------------------------------------------------------------
class PCKResult(NamedTuple):
    """PCK at one threshold. ``per_keypoint`` (K,) is NaN where a keypoint is never labelled;
    ``counts`` (K,) are the labelled keypoints evaluated; ``mean`` pools all of them."""

    per_keypoint: np.ndarray
    counts: np.ndarray
    mean: float
    threshold: float


class PCKCurve(NamedTuple):
    """PCK against threshold: ``thresholds`` (T,), ``per_keypoint`` (T, K), ``mean`` (T,), ``counts`` (K,)."""

    thresholds: np.ndarray
    per_keypoint: np.ndarray
    mean: np.ndarray
    counts: np.ndarray


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


def pck_curve(pred: Any, gt: Any, mask: Any, normalizer: Any, thresholds: Any, *, inclusive: bool = True) -> PCKCurve:
    """PCK for several thresholds at once (for PCK-vs-threshold plots).

    Args:
        pred, gt: (N, K, 2) predicted and ground-truth points.
        mask: (N, K) bool, True where the ground truth is labelled (None: all).
        normalizer: (N,) per-sample normaliser (:func:`torso_size`, :func:`bbox_size`,
            :func:`head_size`); NaN leaves the sample out.
        thresholds: (T,) non-negative thresholds on error / normaliser.
        inclusive: count ``<=`` (default) or ``<`` as correct.
    """
    ts = _thresholds(thresholds)
    scaled, used = _scaled_errors(pred, gt, mask, normalizer)
    correct = _correct_counts(scaled, used, ts, inclusive)  # (T, K)
    counts = used.sum(axis=0)
    return PCKCurve(ts, _ratio(correct, counts), _ratio(correct.sum(axis=1), counts.sum()), counts)


def pck(pred: Any, gt: Any, mask: Any, normalizer: Any, threshold: float = 0.2, *, inclusive: bool = True) -> PCKResult:
    """Percentage of correct keypoints (as a fraction) at one threshold.

    A labelled keypoint is correct when ``||pred - gt|| / normalizer <= threshold``. Arguments
    as :func:`pck_curve`. ``mean`` pools every evaluated keypoint (NaN when there is none).
    """
    t = _threshold(threshold)
    c = pck_curve(pred, gt, mask, normalizer, [t], inclusive=inclusive)
    return PCKResult(c.per_keypoint[0], c.counts, float(c.mean[0]), t)


def pck_per_image(
    pred: Any, gt: Any, mask: Any, normalizer: Any, threshold: float = 0.2, *, inclusive: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image correct and evaluated keypoint counts at one threshold.

    The terms behind :func:`pck`: ``correct.sum() / evaluated.sum()`` equals ``pck(...).mean``,
    so resampling images (a bootstrap over the test set) resamples these pairs. Arguments as
    :func:`pck_curve`; leave keypoints out of the count (MPII's pelvis and thorax) by clearing
    their column of ``mask``.

    Returns:
        correct (N,) and evaluated (N,), float64.
    """
    t = _threshold(threshold)
    scaled, used = _scaled_errors(pred, gt, mask, normalizer)
    hit = used & ((scaled <= t) if inclusive else (scaled < t))
    return hit.sum(axis=1).astype(np.float64), used.sum(axis=1).astype(np.float64)


# --- MPII PCKh table -------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PCKhTable:
    """The MPII PCKh table. Values are fractions; :meth:`format` prints percentages.

    Attributes:
        thresholds: (T,) thresholds; ``thresholds[0]`` is the table's (usually 0.5).
        mean_convention: name of the "Mean" (a key of :data:`MEAN_CONVENTIONS`).
        keypoint_names: K names.
        per_keypoint: (T, K) PCKh per threshold and keypoint, NaN where never labelled.
        counts: (K,) labelled keypoints evaluated.
        groups: ``(label, value)`` rows at ``thresholds[0]`` (Head, Shoulder, ...).
        means: (T,) the "Mean" at each threshold.
    """

    thresholds: tuple[float, ...]
    mean_convention: str
    keypoint_names: tuple[str, ...]
    per_keypoint: np.ndarray
    counts: np.ndarray
    groups: tuple[tuple[str, float], ...]
    means: tuple[float, ...]

    def as_dict(self, percent: bool = False) -> dict[str, float]:
        """Table row as ``{label: value}``: the groups, ``Mean``, then ``Mean@t`` per extra threshold."""
        labels = [f"Mean@{t:g}" for t in self.thresholds[1:]]
        row = dict(self.groups) | dict(zip(["Mean", *labels], self.means, strict=True))
        return {k: 100.0 * v if percent else v for k, v in row.items()}

    def format(self) -> str:
        """Two text lines: a header (``PCKh@t``, group labels, means) and the values in % (2 decimals)."""
        row = self.as_dict(percent=True)
        first = [f"PCKh@{self.thresholds[0]:g}", f"mean={self.mean_convention}"]
        width0 = max(map(len, first))
        cells = [(k, f"{v:.2f}", max(len(k), 6)) for k, v in row.items()]
        header = "  ".join([first[0].ljust(width0), *(k.rjust(w) for k, _, w in cells)])
        values = "  ".join([first[1].ljust(width0), *(v.rjust(w) for _, v, w in cells)])
        return f"{header}\n{values}"


def pckh_table(
    pred: Any,
    gt: Any,
    mask: Any,
    headboxes: Any,
    spec: KeypointSpec = MPII,
    thresholds: Sequence[float] = (0.5, 0.1),
    mean: str = "weighted",
    *,
    groups: Sequence[tuple[str, Sequence[int]]] | None = None,
    inclusive: bool = True,
    head_factor: float = 0.6,
) -> PCKhTable:
    """MPII PCKh: per joint, per group and "Mean", as the official evaluation computes them.

    Args:
        pred, gt: (N, K, 2) predicted and ground-truth joints, K = ``spec.num_keypoints``.
        mask: (N, K) bool, True where the joint is labelled (MPII ``~jnt_missing``).
        headboxes: (N, 2, 2) head rectangles as two opposite (x, y) corners.
        spec: keypoint spec giving ``groups`` and ``eval_exclude``.
        thresholds: (T,) PCKh thresholds; the first makes the table, every one gets a "Mean".
        mean: the "Mean" convention, one of :data:`MEAN_CONVENTIONS` (see the module docstring).
        groups: ``(label, joint indices)`` rows instead of ``spec.groups``; each row is the
            average of its joints' PCKh (NaN-free joints only).
        inclusive: ``<=`` (official, default) or ``<``.
        head_factor: head size = ``head_factor * ||headbox diagonal||``.
    """
    if mean not in MEAN_CONVENTIONS:
        raise ValueError(
            f"unknown PCKh mean convention {mean!r}; choose one of: "
            + "; ".join(f"{k!r} = {v}" for k, v in MEAN_CONVENTIONS.items())
        )
    rows = tuple((str(label), tuple(int(i) for i in idx)) for label, idx in (spec.groups if groups is None else groups))
    if not rows:
        raise ValueError(f"keypoint spec {spec.name!r} declares no evaluation groups; pass groups=")
    g = _points(gt, "gt")
    _spec_size(g, spec)
    for label, idx in rows:
        if not idx or not all(0 <= i < spec.num_keypoints for i in idx):
            raise ValueError(f"group {label!r} must list keypoint indices in [0, {spec.num_keypoints}), got {idx}")
    ts = _thresholds(thresholds)
    norm = head_size(headboxes, head_factor)
    scaled, used = _scaled_errors(pred, g, mask, norm)
    correct = _correct_counts(scaled, used, ts, inclusive)  # (T, K)
    counts = used.sum(axis=0)
    per_kp = _ratio(correct, counts)  # (T, K)

    keep = np.ones(spec.num_keypoints, dtype=bool)
    keep[list(spec.eval_exclude)] = False
    if mean == "weighted":  # sum_j PCKh_j * n_j / sum_j n_j == pooled over the kept joints
        means = _ratio(correct[:, keep].sum(axis=1), counts[keep].sum())
    elif mean == "unweighted":
        valid = keep & (counts > 0)
        means = per_kp[:, valid].mean(axis=1) if valid.any() else np.full(ts.size, np.nan)
    else:  # pooled16
        means = _ratio(correct.sum(axis=1), counts.sum())

    def group_value(idx: tuple[int, ...]) -> float:
        v = per_kp[0, list(idx)]
        v = v[~np.isnan(v)]
        return float(v.mean()) if v.size else float("nan")

    per_kp.setflags(write=False)
    counts.setflags(write=False)
    return PCKhTable(
        thresholds=tuple(float(t) for t in ts),
        mean_convention=mean,
        keypoint_names=spec.names,
        per_keypoint=per_kp,
        counts=counts,
        groups=tuple((label, group_value(idx)) for label, idx in rows),
        means=tuple(float(m) for m in means),
    )


# --- faces: NME, AUC, failure rate, CED ------------------------------------------------------
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


# --- COCO OKS --------------------------------------------------------------------------------
def oks(pred: Any, gt: Any, gt_visible: Any, area: Any, sigmas: Any) -> np.ndarray:
    """Object keypoint similarity (N,) of each prediction with its ground truth, as COCO defines it.

    ``e = d^2 / ((2 sigma)^2 * (area + eps) * 2)``, OKS = mean of ``exp(-e)`` over the labelled
    ground-truth keypoints (eps = ``np.spacing(1)``, as pycocotools).

    Args:
        pred, gt: (N, K, 2) points.
        gt_visible: (N, K) bool, True where the ground truth is labelled (COCO ``v > 0``).
        area: (N,) ground-truth object areas (segment area in COCO), non-negative.
        sigmas: (K,) per-keypoint constants, e.g. ``COCO.oks_sigmas`` (already divided by 10).

    Returns NaN for a sample without labelled keypoints (pycocotools then measures the distance
    to the box instead; that case and the matching belong to COCOeval).
    """
    p, g = _pair(pred, gt)
    m = _mask(gt_visible, p.shape[:2], "gt_visible")
    _check_finite(g, m, "gt")
    _check_finite(p, m, "pred")
    a = np.asarray(area, dtype=np.float64)
    if a.shape != (p.shape[0],) or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"area must be finite, non-negative and of shape (N,) = ({p.shape[0]},), got {a!r}")
    s = np.asarray(sigmas, dtype=np.float64)
    if s.shape != (p.shape[1],) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"sigmas must be finite, positive and of shape (K,) = ({p.shape[1]},), got {s!r}")
    variances = (2.0 * s) ** 2
    d2 = np.where(m, ((p - g) ** 2).sum(axis=-1), 0.0)
    e = d2 / variances / (a[:, None] + np.spacing(1)) / 2.0  # (N, K), operation order of pycocotools
    return _ratio(np.where(m, np.exp(-e), 0.0).sum(axis=1), m.sum(axis=1))
