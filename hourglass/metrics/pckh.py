"""The MPII PCKh table: PCKh per joint and per group, and the "Mean" in three conventions.

How each convention matches the published tables is in the :mod:`hourglass.metrics` docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hourglass.keypoints import MPII, KeypointSpec
from hourglass.metrics._common import _correct_counts, _points, _ratio, _scaled_errors, _spec_size, _thresholds
from hourglass.metrics.normalizers import head_size

MEAN_CONVENTIONS = {
    "weighted": "joint-count-weighted over the joints outside eval_exclude (HRNet, MMPose, MATLAB 'Total')",
    "unweighted": "plain mean of the per-joint values outside eval_exclude (pytorch-pose eval_PCKh.py)",
    "pooled16": "pooled over all keypoints, eval_exclude included",
}
"""Names accepted by :func:`pckh_table` for its "Mean", with what each computes."""


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
    headboxes: Any = None,
    spec: KeypointSpec = MPII,
    thresholds: Sequence[float] = (0.5, 0.1),
    mean: str = "weighted",
    *,
    head_sizes: Any = None,
    groups: Sequence[tuple[str, Sequence[int]]] | None = None,
    inclusive: bool = True,
    head_factor: float = 0.6,
) -> PCKhTable:
    """MPII PCKh: per joint, per group and "Mean", as the official evaluation computes them.

    Args:
        pred, gt: (N, K, 2) predicted and ground-truth joints, K = ``spec.num_keypoints``.
        mask: (N, K) bool, True where the joint is labelled (MPII ``~jnt_missing``).
        headboxes: (N, 2, 2) head rectangles as two opposite (x, y) corners; the head size is
            ``head_factor * ||diagonal||``.
        spec: keypoint spec giving ``groups`` and ``eval_exclude``.
        thresholds: (T,) PCKh thresholds; the first makes the table, every one gets a "Mean".
        mean: the "Mean" convention, one of :data:`MEAN_CONVENTIONS` (see the :mod:`hourglass.metrics` docstring).
        head_sizes: (N,) head sizes (0.6 x head-box diagonal) instead of ``headboxes``, for
            sources that store the size without the box (MPII ``valid.h5``'s ``normalize``).
        groups: ``(label, joint indices)`` rows instead of ``spec.groups``; each row is the
            average of its joints' PCKh (NaN-free joints only).
        inclusive: ``<=`` (official, default) or ``<``.
        head_factor: head size = ``head_factor * ||headbox diagonal||`` (not applied to ``head_sizes``).

    Exactly one of ``headboxes`` and ``head_sizes`` is given.
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
    norm = _head_norm(headboxes, head_sizes, head_factor, g.shape[0])
    scaled, used = _scaled_errors(pred, g, mask, norm)
    correct = _correct_counts(scaled, used, ts, inclusive)  # (T, K)
    counts = used.sum(axis=0)
    per_kp = _ratio(correct, counts)  # (T, K)

    means = _pckh_means(mean, correct, counts, per_kp, spec)
    per_kp.setflags(write=False)
    counts.setflags(write=False)
    return PCKhTable(
        thresholds=tuple(float(t) for t in ts),
        mean_convention=mean,
        keypoint_names=spec.names,
        per_keypoint=per_kp,
        counts=counts,
        groups=tuple((label, _group_value(per_kp[0], idx)) for label, idx in rows),
        means=tuple(float(m) for m in means),
    )


def _head_norm(headboxes: Any, head_sizes: Any, head_factor: float, n: int) -> np.ndarray:
    """(N,) head sizes from exactly one of ``headboxes`` (N, 2, 2) and ``head_sizes`` (N,)."""
    if (headboxes is None) == (head_sizes is None):
        got = "both" if headboxes is not None else "neither"
        raise ValueError(
            f"pckh_table got {got} of headboxes and head_sizes; pass the head boxes (N, 2, 2), or "
            "head_sizes (N,) for a source that stores only the head size"
        )
    if head_sizes is None:
        return head_size(headboxes, head_factor)
    norm = np.asarray(head_sizes, dtype=np.float64)
    if norm.shape != (n,):
        raise ValueError(f"head_sizes must have shape (N,) = ({n},), one per sample, got {norm.shape}")
    return norm


def _pckh_means(
    mean: str, correct: np.ndarray, counts: np.ndarray, per_kp: np.ndarray, spec: KeypointSpec
) -> np.ndarray:
    """(T,) "Mean" in convention ``mean`` from correct (T, K), counts (K,) and per-keypoint PCKh (T, K)."""
    keep = np.ones(spec.num_keypoints, dtype=bool)
    keep[list(spec.eval_exclude)] = False
    if mean == "weighted":  # sum_j PCKh_j * n_j / sum_j n_j == pooled over the kept joints
        return _ratio(correct[:, keep].sum(axis=1), counts[keep].sum())
    if mean == "unweighted":
        valid = keep & (counts > 0)
        return per_kp[:, valid].mean(axis=1) if valid.any() else np.full(per_kp.shape[0], np.nan)
    return _ratio(correct.sum(axis=1), counts.sum())  # pooled16


def _group_value(per_kp: np.ndarray, idx: tuple[int, ...]) -> float:
    """Mean of the (K,) per-keypoint values at ``idx``, NaNs left out (NaN when all are)."""
    v = per_kp[list(idx)]
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")
