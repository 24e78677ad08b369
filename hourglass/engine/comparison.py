"""Comparing evaluation reports: a paired bootstrap of the headline difference, and plots.

- :func:`bootstrap_difference` resamples the subjects of two reports of the same set (their
  per-image ``(num, den)`` terms) to give the difference of the headlines with a confidence
  interval;
- :func:`plot_curves` draws the CED or PCK curves of one or more reports on one plot;
- :func:`plot_per_keypoint` draws their per-keypoint headline errors or accuracies as bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from hourglass.engine.evaluate import CURVE_MAX, FACE_THRESHOLD

if TYPE_CHECKING:
    from hourglass.engine.evaluate import EvalReport

__all__ = ["bootstrap_difference", "plot_curves", "plot_per_keypoint"]


# --- comparison ------------------------------------------------------------------------------
def bootstrap_difference(
    a: EvalReport, b: EvalReport, *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Paired bootstrap of ``a.value - b.value`` over the subjects (the same resample for both).

    Returns:
        ``{"difference", "low", "high", "confidence", "resamples", "p_other_sign"}``: the observed
        difference, the percentile interval, and the share of resamples whose difference has
        the opposite sign (or is zero), a one-sided bootstrap p-value.

    Raises:
        ValueError: the reports are not on the same subjects or metric.
    """
    (na, da), (nb, db) = a.per_image, b.per_image
    if a.metric != b.metric or na.shape != nb.shape:
        raise ValueError(
            f"reports differ ({a.dataset} {a.metric} on {na.shape[0]} subjects vs {b.dataset} {b.metric} on "
            f"{nb.shape[0]}); compare predictions on the same annotation set"
        )
    if not 0 < confidence < 1 or resamples < 10:
        raise ValueError(f"need 0 < confidence < 1 and resamples >= 10, got {confidence}, {resamples}")
    rng = np.random.default_rng(seed)
    n = na.shape[0]
    diffs = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(n, 1))
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, resamples - start), n))
        va = na[idx].sum(axis=1) / np.maximum(da[idx].sum(axis=1), 1e-12)
        vb = nb[idx].sum(axis=1) / np.maximum(db[idx].sum(axis=1), 1e-12)
        diffs[start : start + idx.shape[0]] = va - vb
    observed = a.value - b.value
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    other = np.mean(diffs <= 0) if observed > 0 else np.mean(diffs >= 0)
    return {
        "difference": float(observed),
        "low": float(low),
        "high": float(high),
        "confidence": float(confidence),
        "resamples": int(resamples),
        "p_other_sign": float(other),
    }


# --- plots -----------------------------------------------------------------------------------
def _figure(size: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def plot_curves(reports: Sequence[tuple[str, EvalReport]], path: str | Path, *, title: str | None = None) -> Path:
    """CED (faces) or PCK-vs-threshold (bodies) of each ``(label, report)`` on one plot, as a PNG."""
    if not reports:
        raise ValueError("no reports to plot")
    kinds = {r.kind for _, r in reports}
    if len(kinds) != 1:
        raise ValueError(f"cannot draw different kinds of report on one plot: {sorted(kinds)}")
    fig = _figure((6.4, 4.8))
    ax = fig.subplots()
    kind = kinds.pop()
    for label, r in reports:
        x_label, xs, ys = r.curve
        if kind == "face":
            legend = f"{label}: NME {100 * r.value:.2f}%, AUC@0.08 {100 * r.tables['auc@0.08']['all']:.1f}%"
        else:
            legend = f"{label}: {r.metric} {100 * r.value:.1f}%"
        ax.plot(100 * xs if kind == "face" else xs, 100 * ys, label=legend, linewidth=2)
    first = reports[0][1]
    if kind == "face":
        ax.axvline(100 * FACE_THRESHOLD, color="gray", linestyle=":", linewidth=1)
        ax.set(xlabel=f"{first.curve[0]} (%)", ylabel="images (%)", xlim=(0, 100 * CURVE_MAX["face"]))
        default_title = f"CED on {first.dataset} ({first.num_subjects} faces)"
    else:
        ax.set(xlabel=first.curve[0], ylabel="correct keypoints (%)", xlim=(0, CURVE_MAX[kind]))
        default_title = f"{'PCKh' if kind == 'mpii' else 'PCK'} on {first.dataset} ({first.num_subjects} people)"
    ax.set(ylim=(0, 100), title=title or default_title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def plot_per_keypoint(reports: Sequence[tuple[str, EvalReport]], path: str | Path) -> Path:
    """Grouped bars of each report's per-keypoint headline measure (error or PCK), as a PNG."""
    if not reports:
        raise ValueError("no reports to plot")
    names = reports[0][1].keypoint_names
    key = next(iter(reports[0][1].per_keypoint))
    k = len(names)
    fig = _figure((max(6.4, 0.16 * k * len(reports) + 2), 4.0))
    ax = fig.subplots()
    width = 0.8 / len(reports)
    x = np.arange(k)
    for i, (label, r) in enumerate(reports):
        ax.bar(x + (i - (len(reports) - 1) / 2) * width, 100 * r.per_keypoint[key], width, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(names if k <= 20 else [str(i) for i in range(k)], rotation=90 if k <= 20 else 0, fontsize=7)
    ax.set(ylabel=f"{key} (%)", xlabel="keypoint" if k <= 20 else "keypoint index", title=f"per keypoint: {key}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
