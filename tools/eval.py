#!/usr/bin/env python
"""Evaluate a trained model on a dataset split: the standard tables, JSON, a curve plot.

Examples:
    python tools/eval.py weights/300w-hg2.pt --data-root ../shared/data/300w          # its held-out split
    python tools/eval.py runs/face-hg --split holdout --flip --decoder dark --out eval/face-hg
    python tools/eval.py runs/mpii-hg8/last.pt --data-root ../shared/data/mpii --split valid
    python tools/eval.py 300w-hg2 --data-root ../shared/data/300w --end-to-end      # whole images

MODEL is a checkpoint, a run folder (its last.pt; with --best its best.pt, chosen on the split
evaluated by default, so optimistic there), a weights file or a shipped name. Without --split
the model is evaluated on its own validation subjects (its val_split, or the share of its
training split it held out). Without --data-root, the folder it was trained on. Subjects the
model trained on are refused (exit 2, naming how many) unless --allow-overlap; the report then
flags them. Writes to --out (default eval/<model>-<split>): metrics.json (tables as fractions
under *_fraction names, the headline also as value_pct), ced.png (faces) or pck.png (bodies),
per_keypoint.png, and with --predictions predictions.json (per subject: image, keypoints
[x, y, score] * K in image pixels, 0-based pixel centres). COCO splits also get OKS AP.

--end-to-end: what a user gets instead (docs/evaluation.md): the subjects' whole images through
the model's detector and --refine passes; prints the share found, the metric on them, with
misses as failures and from ground-truth crops; writes end_to_end.json and predictions.json.

Exit status: 0 done, 2 a user error (missing model or data, bad option).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    from hourglass._help import HelpFormatter
    from hourglass.codec import DECODE_METHODS
    from hourglass.predictor import REFINE
    from hourglass.runtime import add_runtime_flags

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    a = p.add_argument
    a("model", help="checkpoint, run folder, weights file or shipped name")
    a("--dataset", help="dataset name (default: the model's)")
    a("--data-root", help="dataset folder (default: the one the model was trained on)")
    a("--split", help="split to evaluate (default: the model's validation subjects)")
    a("--flip", action="store_true", help="flip test: average with the mirrored image's prediction")
    a("--decoder", choices=list(DECODE_METHODS), default="dark", help="heatmap decoder")
    a("--out", help="output folder (default eval/<model>-<split>)")
    a("--predictions", action="store_true", help="also write predictions.json")
    a("--max-samples", type=int, help="evaluate only the first N subjects")
    a("--missing-images", choices=["error", "warn"], default="error", help="missing image files: fail or drop them")
    a("--best", action="store_true", help="a run folder gives its best.pt (default: its last.pt)")
    a("--allow-overlap", action="store_true", help="score subjects the model trained on (the report flags them)")
    a("--end-to-end", action="store_true", help="evaluate on whole images as tools/infer.py meets them")
    a("--refine", type=int, default=REFINE, metavar="N", help=f"--end-to-end: refinement passes (default {REFINE})")
    a("--batch-size", type=int, default=32, help="crops per forward pass")
    a("--device", default="cpu", help="cpu, cuda, cuda:N")
    a("--threads", type=int, help="torch CPU threads")
    a("--no-progress", action="store_true", help="no progress bar")
    add_runtime_flags(p)
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate as the arguments say; return the JSON written (also used by tests)."""
    import torch

    from hourglass.evaluation.outputs import evaluate_to_folder
    from hourglass.runtime import tune_cpu

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    tune_cpu(enable=not args.no_tune_cpu)
    common = dict(
        out=args.out, dataset=args.dataset, data_root=args.data_root, split=args.split, device=args.device,
        flip=args.flip, decoder=args.decoder, max_samples=args.max_samples, missing_images=args.missing_images,
        batch_size=args.batch_size, progress=not args.no_progress, best=args.best, allow_overlap=args.allow_overlap,
        precision=args.precision,
    )  # fmt: skip
    if args.end_to_end:
        from hourglass.end_to_end import end_to_end_to_folder

        return end_to_end_to_folder(args.model, refine=args.refine, **common)
    return evaluate_to_folder(args.model, predictions=args.predictions, **common)


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
