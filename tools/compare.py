#!/usr/bin/env python
"""Compare two or more trained models on the same subjects: one side-by-side report.

Example (the README's hourglass-vs-regression table):
    python tools/compare.py 300w-hg2 300w-vgg --data-root ../shared/data/300w --split holdout --out compare/300w

Every model is evaluated on the same annotation set (default: the FIRST model's validation
subjects) with the same flip test and decoder. Written to --out:

- report.md: the headline table (metric, the dataset's standard columns, parameters, GFLOPs,
  CPU latency per image), the paired-bootstrap confidence interval of each model's headline
  minus the first model's, and the per-group keypoint table;
- report.json: all of it, plus every model's full evaluation (tools/eval.py's metrics.json);
- ced.png (faces) or pck.png (bodies): all curves on one plot; per_keypoint.png: grouped bars.

Latency is the median wall time of a batch-1 forward pass (--latency-runs timed runs after 3
warm-up runs) with --threads torch threads; pre- and post-processing are not included.

Exit status: 0 done, 2 a user error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    from hourglass.codec import DECODE_METHODS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("models", nargs="+", help="two or more checkpoints, run folders, weights files or shipped names")
    a("--labels", help="comma-separated labels, one per model (default: the model names)")
    a("--dataset", help="dataset name (default: the first model's)")
    a("--data-root", help="dataset folder (default: the first model's)")
    a("--split", help="split (default: the first model's validation subjects)")
    a("--flip", action="store_true", help="flip test for every model")
    a("--decoder", choices=list(DECODE_METHODS), default="dark", help="heatmap decoder (default dark)")
    a("--out", default="compare", help="output folder (default compare/)")
    a("--bootstrap", type=int, default=2000, help="bootstrap resamples for the confidence interval")
    a("--confidence", type=float, default=0.95, help="confidence level of the interval")
    a("--latency-runs", type=int, default=20, help="timed batch-1 forward passes per model (0: skip)")
    a("--max-samples", type=int, help="evaluate only the first N subjects")
    a("--missing-images", choices=["error", "warn"], default="error")
    a("--batch-size", type=int, default=32)
    a("--device", default="cpu")
    a("--threads", type=int, help="torch CPU threads (also used for the latency)")
    a("--no-progress", action="store_true")
    return p


def _pct(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.{digits}f}"


def _columns(report: Any) -> list[tuple[str, str]]:
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


def _group_rows(spec: Any, reports: list[tuple[str, Any]]) -> list[str]:
    import numpy as np

    key = next(iter(reports[0][1].per_keypoint))
    groups = list(spec.groups) or [(n, (i,)) for i, n in enumerate(spec.names)]
    lines = [f"| group | {' | '.join(label for label, _ in reports)} |", "|---|" + "---:|" * len(reports)]
    for name, idx in groups:
        vals = [np.nanmean(r.per_keypoint[key][list(idx)]) for _, r in reports]
        lines.append(f"| {name} | {' | '.join(_pct(v) for v in vals)} |")
    return [f"Per keypoint group: {key} in % (mean over the group's keypoints).", "", *lines]


def run(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from hourglass.engine.comparison import bootstrap_difference, plot_curves, plot_per_keypoint
    from hourglass.engine.evaluate import evaluate, evaluation_set
    from hourglass.engine.inference import predict_dataset
    from hourglass.models import count_flops, count_parameters, measure_latency
    from hourglass.weights import load_model

    if len(args.models) < 2:
        raise ValueError(f"compare needs at least two models, got {len(args.models)}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    loaded = [load_model(m, device=args.device) for m in args.models]
    labels = [s.strip() for s in args.labels.split(",")] if args.labels else [m.name for m in loaded]
    if len(labels) != len(loaded):
        raise ValueError(f"--labels gives {len(labels)} labels for {len(loaded)} models")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must differ, got {labels}; pass --labels a,b,...")
    specs = {m.spec.name for m in loaded}
    if len(specs) != 1:
        raise ValueError(f"the models predict different keypoints ({sorted(specs)}); compare models of one dataset")
    subjects = evaluation_set(
        loaded[0].config, data_root=args.data_root, dataset=args.dataset, split=args.split,
        max_samples=args.max_samples, missing_images=args.missing_images,
    )  # fmt: skip
    reports, rows = [], []
    for label, m in zip(labels, loaded):
        pred = predict_dataset(
            m, subjects, flip=args.flip, decoder=args.decoder, batch_size=args.batch_size, progress=not args.no_progress
        )
        decoder = args.decoder if m.kind == "heatmap" else None
        settings = {"model": str(m.path), "flip": args.flip, "kind": m.kind, "decoder": decoder}
        report = evaluate(pred, subjects, settings=settings)
        reports.append((label, report))
        latency = measure_latency(m.model, runs=args.latency_runs) if args.latency_runs > 0 else None
        rows.append({
            "label": label, "model": str(m.path), "kind": m.kind, "arch": m.model.arch,
            "parameters": count_parameters(m.model), "gflops": count_flops(m.model) / 1e9,
            "input_size": list(m.input_size), "latency": latency,
        })  # fmt: skip
    base_label, base = reports[0]
    diffs = {}
    for label, r in reports[1:]:
        diffs[label] = bootstrap_difference(r, base, resamples=args.bootstrap, confidence=args.confidence)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    curve = out / ("ced.png" if base.kind == "face" else "pck.png")
    plot_curves(reports, curve)
    plot_per_keypoint(reports, out / "per_keypoint.png")

    headers = [h for h, _ in _columns(base)]
    md = [
        f"# Comparison on {base.dataset} ({base.num_subjects} subjects)",
        "",
        f"Flip test: {'on' if args.flip else 'off'}; heatmap decoder: {args.decoder}. Latency: median batch-1 "
        f"forward pass, {torch.get_num_threads()} CPU threads, {args.latency_runs} runs.",
        "",
        "| model | " + " | ".join(headers) + " | params (M) | GFLOPs | input | latency (ms) |",
        "|---|" + "---:|" * (len(headers) + 4),
    ]
    for (label, r), row in zip(reports, rows):
        lat = "n/a" if row["latency"] is None else f"{row['latency']['median_ms']:.1f}"
        size = "x".join(str(s) for s in row["input_size"])
        md.append(
            f"| {label} | " + " | ".join(v for _, v in _columns(r))
            + f" | {row['parameters'] / 1e6:.2f} | {row['gflops']:.2f} | {size} | {lat} |"
        )  # fmt: skip
    md += ["", f"Difference in {base.metric} against {base_label} (paired bootstrap over subjects, "
           f"{args.bootstrap} resamples, {100 * args.confidence:g}% interval, percentage points):", ""]  # fmt: skip
    for label, d in diffs.items():
        md.append(
            f"- {label} - {base_label}: {100 * d['difference']:+.2f} [{100 * d['low']:+.2f}, {100 * d['high']:+.2f}]; "
            f"share of resamples with the other sign: {d['p_other_sign']:.4f}"
        )
    md += ["", *_group_rows(loaded[0].spec, reports), "", f"![curves]({curve.name})", "",
           "![per keypoint](per_keypoint.png)", ""]  # fmt: skip
    (out / "report.md").write_text("\n".join(md))
    result = {
        "dataset": base.dataset,
        "subjects": base.num_subjects,
        "metric": base.metric,
        "higher_better": base.higher_better,
        "models": rows,
        "differences_vs_first": diffs,
        "reports": {label: r.to_dict() for label, r in reports},
    }
    (out / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(md[4 : 6 + len(reports)]))
    for label, d in diffs.items():
        print(
            f"{label} - {base_label}: {100 * d['difference']:+.2f} pp [{100 * d['low']:+.2f}, {100 * d['high']:+.2f}]"
        )
    print(f"wrote {out / 'report.md'}, {out / 'report.json'}, {curve}, {out / 'per_keypoint.png'}")
    return result


def main(argv: list[str] | None = None) -> int:
    from hourglass.data import DataError

    args = build_parser().parse_args(argv)
    try:
        run(args)
    except (ValueError, TypeError, FileNotFoundError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
