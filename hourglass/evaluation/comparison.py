"""Comparing models: a paired bootstrap of the headline difference, plots, a side-by-side report.

- :func:`bootstrap_difference` resamples the subjects of two reports of the same set (their
  per-image ``(num, den)`` terms) to give the difference of the headlines with a confidence
  interval;
- :func:`plot_curves` draws the CED or PCK curves of one or more reports on one plot;
- :func:`plot_per_keypoint` draws their per-keypoint headline errors or accuracies as bars;
- :func:`compare_models` evaluates two or more models on the same subjects and writes the
  report of ``tools/compare.py`` (report.md, report.json and both plots).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from hourglass.evaluation.model import evaluate_model
from hourglass.evaluation.overlap import check_overlap, overlap_warning, training_overlap
from hourglass.evaluation.reports import CURVE_MAX, FACE_THRESHOLD
from hourglass.evaluation.sets import evaluation_set
from hourglass.models import count_flops, count_parameters, measure_latency
from hourglass.weights import load_model

if TYPE_CHECKING:
    from hourglass.evaluation.reports import EvalReport
    from hourglass.keypoints import KeypointSpec

__all__ = ["bootstrap_difference", "compare_models", "plot_curves", "plot_per_keypoint"]


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


# --- side-by-side report ---------------------------------------------------------------------
def compare_models(
    models: Sequence[str | os.PathLike],
    *,
    out: str | Path = "compare",
    labels: Sequence[str] | None = None,
    dataset: str | None = None,
    data_root: str | os.PathLike | None = None,
    split: str | None = None,
    flip: bool = False,
    decoder: str = "dark",
    bootstrap: int = 2000,
    confidence: float = 0.95,
    latency_runs: int = 20,
    max_samples: int | None = None,
    missing_images: str = "error",
    batch_size: int = 32,
    device: str = "cpu",
    threads: int | None = None,
    progress: bool = True,
    precision: str = "auto",
    log: Callable[[str], None] = print,
    allow_overlap: bool = False,
    best: bool = False,
) -> dict[str, Any]:
    """Evaluate two or more models on the same subjects and write one side-by-side report.

    Every model is evaluated on the subjects :func:`evaluation_set` picks from the FIRST model's
    config (``dataset``, ``data_root``, ``split``, ``max_samples``, ``missing_images`` override
    it), with the same flip test and decoder. Written to ``out``: report.md (headline table with
    parameters, GFLOPs and batch-1 latency, the paired-bootstrap interval of each headline minus
    the first's, the per-group table), report.json (the returned dict), ced.png or pck.png.

    Args:
        models: checkpoints, run folders, weights files or shipped names (at least two).
        labels: one distinct label per model (default: the model names).
        bootstrap, confidence: resamples and level of :func:`bootstrap_difference`.
        latency_runs: timed forward passes of :func:`measure_latency` per model (0: skip).
        threads: sets torch's CPU threads (also used for the latency); None keeps them.
        progress: progress bars while predicting.
        precision: network precision of every model, as :func:`~hourglass.evaluation.evaluate_model`.
        log: called with each summary line (the headline table, the differences, the files).
        allow_overlap: score models on subjects they trained on (flagged in report.md and the log).
        best: a run folder gives its best.pt instead of its last.pt.

    Returns:
        ``{"dataset", "subjects", "metric", "higher_better", "models", "differences_vs_first",
        "reports"}``: a row per model, the bootstrap per later model (fractions), each ``EvalReport.to_json()``.

    Raises:
        ValueError: fewer than two models, labels that do not match them, other keypoint specs,
            or (without ``allow_overlap``) a model trained on some of the subjects.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    loaded, labels = _load_models(models, labels, device, best)
    subjects = evaluation_set(
        loaded[0].config, data_root=data_root, dataset=dataset, split=split,
        max_samples=max_samples, missing_images=missing_images,
    )  # fmt: skip
    overlaps = [training_overlap(m.config, subjects, data_root=data_root, dataset=dataset) for m in loaded]
    for m, overlap in zip(loaded, overlaps):  # every model before any is evaluated
        check_overlap(overlap, str(m.path), allow_overlap=allow_overlap)
    reports, rows = [], []
    for label, m, overlap in zip(labels, loaded, overlaps):
        ev = evaluate_model(m, subjects, flip=flip, decoder=decoder, batch_size=batch_size, progress=progress,
                            allow_overlap=allow_overlap, overlap=overlap, precision=precision)  # fmt: skip
        reports.append((label, ev.report))
        rows.append(_model_row(label, m, latency_runs))
    base_label, base = reports[0]
    diffs = {
        label: bootstrap_difference(r, base, resamples=bootstrap, confidence=confidence) for label, r in reports[1:]
    }
    setup = (f"Flip test: {'on' if flip else 'off'}; heatmap decoder: {decoder}. Latency: median batch-1 "
             f"forward pass, {torch.get_num_threads()} CPU threads, {latency_runs} runs.")  # fmt: skip
    interval = f"{bootstrap} resamples, {100 * confidence:g}% interval"
    result = {"dataset": base.dataset, "subjects": base.num_subjects, "metric": base.metric, "unit": _UNIT,
              "higher_better": base.higher_better, "models": rows, "differences_vs_first": diffs,
              "reports": {label: r.to_json() for label, r in reports}}  # fmt: skip
    _write_report(Path(out), result, reports, rows, loaded[0].spec, setup, interval, log)
    return result


_UNIT = "fractions (0.0482 means 4.82 %): differences_vs_first and every *_fraction value"


def _model_row(label: str, m: Any, latency_runs: int) -> dict[str, Any]:
    """One model's row of the headline table: size, FLOPs and batch-1 latency (None when not timed)."""
    latency = measure_latency(m.model, runs=latency_runs) if latency_runs > 0 else None
    return {
        "label": label, "model": str(m.path), "kind": m.output_kind, "arch": m.model.arch,
        "parameters": count_parameters(m.model), "gflops": count_flops(m.model) / 1e9,
        "input_size": list(m.input_size), "latency": latency,
    }  # fmt: skip


def _load_models(
    models: Sequence[str | os.PathLike], labels: Sequence[str] | None, device: str, best: bool
) -> tuple[list, list]:
    """The loaded models and their labels, checked: two or more, distinct labels, one keypoint spec."""
    if len(models) < 2:
        raise ValueError(f"compare needs at least two models, got {len(models)}")
    loaded = [load_model(m, device=device, best=best) for m in models]
    labels = list(labels) if labels else [m.name for m in loaded]
    if len(labels) != len(loaded):
        raise ValueError(f"--labels gives {len(labels)} labels for {len(loaded)} models")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must differ, got {labels}; pass --labels a,b,...")
    specs = {m.spec.name for m in loaded}
    if len(specs) != 1:
        raise ValueError(f"the models predict different keypoints ({sorted(specs)}); compare models of one dataset")
    return loaded, labels


def _write_report(
    out: Path,
    result: dict[str, Any],
    reports: Sequence[tuple[str, EvalReport]],
    rows: Sequence[dict[str, Any]],
    spec: KeypointSpec,
    setup: str,
    interval: str,
    log: Callable[[str], None],
) -> None:
    """report.md, report.json and the two plots of :func:`compare_models` into ``out``; log the summary."""
    base_label, base = reports[0]
    diffs = result["differences_vs_first"]
    out.mkdir(parents=True, exist_ok=True)
    curve = out / ("ced.png" if base.kind == "face" else "pck.png")
    plot_curves(reports, curve)
    plot_per_keypoint(reports, out / "per_keypoint.png")
    table = _model_table(reports, rows)
    files = "Model files: " + "; ".join(f"{label}: {row['model']}" for (label, _), row in zip(reports, rows)) + "."
    warnings = [f"{label}: {w}" for label, r in reports if (w := overlap_warning(r.settings.get("training_overlap")))]
    md = [f"# Comparison on {base.dataset} ({base.num_subjects} subjects)", ""]
    if warnings:
        md += [*(f"**{w}**" for w in warnings), ""]
    md += [setup, "", files, "", *table, ""]
    md += [f"Difference in {base.metric} against {base_label} (paired bootstrap over subjects, "
           f"{interval}, percentage points):", ""]  # fmt: skip
    for label, d in diffs.items():
        md.append(
            f"- {label} - {base_label}: {100 * d['difference']:+.2f} [{100 * d['low']:+.2f}, {100 * d['high']:+.2f}]; "
            f"share of resamples with the other sign: {d['p_other_sign']:.4f}"
        )
    md += ["", *_group_rows(spec, reports), "", f"![curves]({curve.name})", "",
           "![per keypoint](per_keypoint.png)", ""]  # fmt: skip
    (out / "report.md").write_text("\n".join(md))
    (out / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    for w in warnings:
        log(w)
    log("\n".join(table))
    for label, d in diffs.items():
        log(f"{label} - {base_label}: {100 * d['difference']:+.2f} pp [{100 * d['low']:+.2f}, {100 * d['high']:+.2f}]")
    log(f"wrote {out / 'report.md'}, {out / 'report.json'}, {curve}, {out / 'per_keypoint.png'}")


def _pct(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.{digits}f}"


def _columns(report: EvalReport) -> list[tuple[str, str]]:
    """(header, value) pairs of a report's standard columns."""
    t = report.tables
    if report.kind == "face":
        cols = [("NME io %", _pct(t["nme_interocular"]["all"]))]
        if "nme_interpupil" in t:
            cols.append(("NME ip %", _pct(t["nme_interpupil"]["all"])))
        return cols + [("AUC@0.08 %", _pct(t["auc@0.08"]["all"])), ("FR@0.08 %", _pct(t["fr@0.08"]["all"]))]
    if report.kind == "mpii":
        return [("PCKh@0.5 %", _pct(report.value)), ("PCKh@0.1 %", _pct(t["pckh@0.1_mean"]))]
    return [(f"{report.metric.upper()} %", _pct(report.value))]


def _model_table(reports: Sequence[tuple[str, EvalReport]], rows: Sequence[dict[str, Any]]) -> list[str]:
    """The markdown headline table: one row per model, its standard columns and its cost."""
    headers = [h for h, _ in _columns(reports[0][1])]
    lines = [
        "| model | " + " | ".join(headers) + " | params (M) | GFLOPs | input | latency (ms) |",
        "|---|" + "---:|" * (len(headers) + 4),
    ]
    for (label, r), row in zip(reports, rows):
        lat = "n/a" if row["latency"] is None else f"{row['latency']['median_ms']:.1f}"
        size = "x".join(str(s) for s in row["input_size"])
        lines.append(
            f"| {label} | " + " | ".join(v for _, v in _columns(r))
            + f" | {row['parameters'] / 1e6:.2f} | {row['gflops']:.2f} | {size} | {lat} |"
        )  # fmt: skip
    return lines


def _group_rows(spec: KeypointSpec, reports: Sequence[tuple[str, EvalReport]]) -> list[str]:
    """The markdown per-group table: the first per-keypoint measure averaged over each group."""
    key = next(iter(reports[0][1].per_keypoint))
    groups = list(spec.groups) or [(n, (i,)) for i, n in enumerate(spec.names)]
    lines = [f"| group | {' | '.join(label for label, _ in reports)} |", "|---|" + "---:|" * len(reports)]
    for name, idx in groups:
        vals = [np.nanmean(r.per_keypoint[key][list(idx)]) for _, r in reports]
        lines.append(f"| {name} | {' | '.join(_pct(v) for v in vals)} |")
    return [f"Per keypoint group: {key} in % (mean over the group's keypoints).", "", *lines]
