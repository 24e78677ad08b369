#!/usr/bin/env python
"""Pack a training checkpoint into a shipped weights file, evaluated on its held-out split.

Example (how weights/300w-hg2.pt was made, from the run's final checkpoint; its stored
``source`` says file last.pt, step 4200, epoch 60):
    python tools/pack_weights.py runs/face-hg/last.pt --name 300w-hg2 --data-root ../shared/data/300w

Writes ``weights/<name>.pt`` (``--out-dir``): the state dict in float16 (a tensor with values
beyond float16's range stays float32) plus the frozen config and keypoint spec
(:func:`hourglass.weights.export_weights`). The packed file itself (not the checkpoint) is then
evaluated on the model's validation subjects, without and with the flip test, and those
metrics are stored in the file, with a heatmap model's calibrated presence threshold
(hourglass.evaluation.presence). A weights file repacks too (it keeps its recorded source).
Prints the size, the SHA-256 and the metrics for the model card. Exit status: 0 done, 2 a
user error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from hourglass._help import HelpFormatter
    from hourglass.runtime import add_runtime_flags

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("checkpoint", help="training checkpoint or run folder (its last.pt; --best: its best.pt)")
    p.add_argument("--best", action="store_true", help="a run folder gives its best.pt (chosen on the held-out split)")
    p.add_argument("--allow-overlap", action="store_true", help="evaluate on subjects it trained on (flagged)")
    p.add_argument("--name", required=True, help="weights name, e.g. 300w-hg2 (file weights/<name>.pt)")
    p.add_argument("--out-dir", default="weights", help="folder of the weights file")
    p.add_argument(
        "--split",
        help="evaluate on this split instead of the model's held-out subjects (for a run trained without one)",
    )
    p.add_argument("--data-root", help="dataset folder for the held-out evaluation (default: the training one)")
    p.add_argument("--max-mb", type=float, default=30.0, help="refuse files larger than this")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_runtime_flags(p, precision=False)  # the stored metrics are float32's
    return p


def main(argv: list[str] | None = None) -> int:
    from hourglass.data import DataError
    from hourglass.evaluation import evaluate_model, evaluation_set
    from hourglass.evaluation.overlap import check_overlap, training_overlap
    from hourglass.evaluation.presence import calibrate
    from hourglass.runtime import tune_cpu
    from hourglass.weights import export_weights, file_sha256, load_model, resolve_weights

    args = build_parser().parse_args(argv)
    tune_cpu(enable=not args.no_tune_cpu)
    try:
        if not args.name or "/" in args.name or args.name.endswith(".pt"):
            raise ValueError(f"--name must be a plain name such as 300w-hg2, got {args.name!r}")
        out = Path(args.out_dir) / f"{args.name}.pt"
        source = resolve_weights(args.checkpoint, best=args.best)
        print(f"packing {source}")
        if out.resolve() == source.resolve():
            raise ValueError(
                f"{out} is the checkpoint being packed; packing would overwrite it with its half-precision"
                " copy: choose another --name or --out-dir"
            )
        config = load_model(source).config
        subjects = evaluation_set(config, data_root=args.data_root, split=args.split)
        overlap = training_overlap(config, subjects, data_root=args.data_root)  # refused before anything is written
        check_overlap(overlap, str(source), allow_overlap=args.allow_overlap)
        path = export_weights(source, out)
        loaded = load_model(path)
        metrics = {"split": subjects.name, "subjects": len(subjects)}
        for flip in (False, True):
            report = evaluate_model(loaded, subjects, flip=flip, progress=not args.no_progress, precision="fp32",
                                    allow_overlap=args.allow_overlap, overlap=overlap).report  # fmt: skip
            metrics["training_overlap"] = report.settings["training_overlap"]
            key = "flip" if flip else "plain"
            metrics[key] = {"metric": report.metric, "value": report.value, "tables": {
                k: v for k, v in report.tables.items() if not k.endswith("_text")}}  # fmt: skip
            print(f"{'with flip test' if flip else 'without flip'}:\n{report.format()}")
        calibration, lines = calibrate(loaded, subjects)
        metrics.update(calibration)
        print("\n".join(lines))
        path = export_weights(source, out, metrics=metrics)
        size_mb = path.stat().st_size / 2**20
        if size_mb > args.max_mb:
            path.unlink()
            raise ValueError(f"{out} would be {size_mb:.1f} MB, over --max-mb {args.max_mb:g}; train a smaller model")
    except (ValueError, TypeError, FileNotFoundError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path}: {size_mb:.2f} MB, sha256 {file_sha256(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
