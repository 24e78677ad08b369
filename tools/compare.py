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

Run folders give their last.pt (--best: their best.pt). A model trained on some of the subjects
is refused (exit 2, naming how many) unless --allow-overlap; report.md then flags it.

--end-to-end adds what a user gets: each model on the same subjects' whole images, finding its
own subjects as tools/infer.py does (found share, metric on the found, with misses counted, and
the paired-bootstrap difference on the subjects every model found), appended to report.md.

Latency is the median wall time of a batch-1 forward pass (--latency-runs timed runs after 3
warm-up runs) with --threads torch threads; pre- and post-processing are not included.

Exit status: 0 done, 2 a user error.
"""

from __future__ import annotations

import argparse
import sys
from functools import partial


def build_parser() -> argparse.ArgumentParser:
    from hourglass._help import HelpFormatter
    from hourglass.codec import DECODE_METHODS
    from hourglass.runtime import add_runtime_flags

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    a = p.add_argument
    a("models", nargs="+", help="two or more checkpoints, run folders, weights files or shipped names")
    a("--labels", help="comma-separated labels, one per model (default: the model names)")
    a("--dataset", help="dataset name (default: the first model's)")
    a("--data-root", help="dataset folder (default: the first model's)")
    a("--split", help="split (default: the first model's validation subjects)")
    a("--flip", action="store_true", help="flip test for every model")
    a("--decoder", choices=list(DECODE_METHODS), default="dark", help="heatmap decoder")
    a("--out", default="compare", help="output folder")
    a("--bootstrap", type=int, default=2000, help="bootstrap resamples for the confidence interval")
    a("--confidence", type=float, default=0.95, help="confidence level of the interval")
    a("--latency-runs", type=int, default=20, help="timed batch-1 forward passes per model (0: skip)")
    a("--end-to-end", action="store_true", help="also compare on the whole images, as tools/infer.py finds subjects")
    a("--refine", type=int, help="with --end-to-end: re-crops of each subject from its keypoints (default 2)")
    a("--max-samples", type=int, help="evaluate only the first N subjects")
    a("--missing-images", choices=["error", "warn"], default="error", help="missing image files: fail or drop them")
    a("--best", action="store_true", help="run folders give their best.pt (default: last.pt)")
    a("--allow-overlap", action="store_true", help="score models on subjects they trained on (flagged)")
    a("--batch-size", type=int, default=32, help="crops per forward pass")
    a("--device", default="cpu", help="cpu, cuda, cuda:N")
    a("--threads", type=int, help="torch CPU threads (also used for the latency)")
    a("--no-progress", action="store_true", help="no progress bar")
    add_runtime_flags(p)
    return p


def main(argv: list[str] | None = None) -> int:
    from hourglass.data import DataError
    from hourglass.end_to_end import compare_end_to_end
    from hourglass.evaluation import compare_models
    from hourglass.runtime import tune_cpu

    args = build_parser().parse_args(argv)
    tune_cpu(enable=not args.no_tune_cpu)
    labels = [s.strip() for s in args.labels.split(",")] if args.labels else None
    if args.refine is not None and not args.end_to_end:
        print("error: --refine applies to --end-to-end only; add --end-to-end or drop --refine", file=sys.stderr)
        return 2
    compare = partial(compare_end_to_end, refine=2 if args.refine is None else args.refine) if args.end_to_end else (
        compare_models)  # fmt: skip
    try:
        compare(
            args.models, out=args.out, labels=labels, dataset=args.dataset, data_root=args.data_root,
            split=args.split, flip=args.flip, decoder=args.decoder, bootstrap=args.bootstrap,
            confidence=args.confidence, latency_runs=args.latency_runs, max_samples=args.max_samples,
            missing_images=args.missing_images, batch_size=args.batch_size, device=args.device,
            threads=args.threads, progress=not args.no_progress, best=args.best, allow_overlap=args.allow_overlap,
            precision=args.precision,
        )  # fmt: skip
    except (ValueError, TypeError, FileNotFoundError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
