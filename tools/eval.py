#!/usr/bin/env python
"""Evaluate a trained model on a dataset split: the standard tables, JSON, a curve plot.

Examples:
    python tools/eval.py weights/300w-hg2.pt --data-root ../shared/data/300w          # its held-out split
    python tools/eval.py runs/face-hg --split holdout --flip --decoder dark --out eval/face-hg
    python tools/eval.py runs/mpii-hg8/best.pt --data-root ../shared/data/mpii --split valid

MODEL is a checkpoint, a run folder (its best.pt), a weights file or a shipped name. Without
--split the model is evaluated on its own validation subjects (its val_split, or the share of
its training split it held out). Without --data-root, the folder it was trained on.

Writes to --out (default eval/<model>-<split>): metrics.json (every table, fractions),
ced.png (faces) or pck.png (bodies), per_keypoint.png, and with --predictions
predictions.json (one entry per subject: image, keypoints [x, y, score] * K in image pixels,
0-based pixel centres). COCO splits also get OKS AP through pycocotools.

Exit status: 0 done, 2 a user error (missing model or data, bad option).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    from hourglass.codec import DECODE_METHODS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("model", help="checkpoint, run folder, weights file or shipped name")
    a("--dataset", help="dataset name (default: the model's)")
    a("--data-root", help="dataset folder (default: the one the model was trained on)")
    a("--split", help="split to evaluate (default: the model's validation subjects)")
    a("--flip", action="store_true", help="flip test: average with the mirrored image's prediction")
    a("--decoder", choices=list(DECODE_METHODS), default="dark", help="heatmap decoder (default dark)")
    a("--out", help="output folder (default eval/<model>-<split>)")
    a("--predictions", action="store_true", help="also write predictions.json")
    a("--max-samples", type=int, help="evaluate only the first N subjects")
    a("--missing-images", choices=["error", "warn"], default="error", help="missing image files: fail or drop")
    a("--batch-size", type=int, default=32)
    a("--device", default="cpu", help="cpu, cuda, cuda:N")
    a("--threads", type=int, help="torch CPU threads")
    a("--no-progress", action="store_true", help="no progress bar")
    return p


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Evaluate as the arguments say; return the JSON written (also used by tests)."""
    import numpy as np
    import torch

    from hourglass.data.coco_json import plain_id
    from hourglass.evaluation import plot_curves, plot_per_keypoint
    from hourglass.evaluation import evaluate, evaluation_set
    from hourglass.evaluation import predict_dataset
    from hourglass.weights import load_model

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
    loaded = load_model(args.model, device=args.device)
    subjects = evaluation_set(
        loaded.config, data_root=args.data_root, dataset=args.dataset, split=args.split,
        max_samples=args.max_samples, missing_images=args.missing_images,
    )  # fmt: skip
    pred = predict_dataset(
        loaded, subjects, flip=args.flip, decoder=args.decoder, batch_size=args.batch_size,
        progress=not args.no_progress,
    )  # fmt: skip
    settings = {"model": str(loaded.path), "flip": bool(args.flip), "decoder": args.decoder if loaded.kind == "heatmap"
                else None, "kind": loaded.kind}  # fmt: skip
    report = evaluate(pred, subjects, settings=settings)
    split_name = args.split or (loaded.config.val_split or "held-out")
    out = Path(args.out) if args.out else Path("eval") / f"{loaded.name}-{split_name.replace('/', '_')}"
    out.mkdir(parents=True, exist_ok=True)
    result = report.to_dict()
    dataset = args.dataset or loaded.config.dataset
    if dataset == "coco":
        from hourglass.data.coco_eval import coco_keypoint_ap, coco_results

        root = Path(args.data_root or loaded.config.data_root)
        # The held-out part of a training split lives in the training split's file.
        ann_split = args.split or loaded.config.val_split or loaded.config.train_split
        ann = root / "annotations" / f"person_keypoints_{ann_split}.json"
        ids = [r.image_id for r in subjects]
        # Only the people predicted on: a held-out part or --max-samples is not the whole file.
        people = [r.extra["annotation_id"] for r in subjects]
        results = coco_results(ids, pred.coords, pred.scores, pred.scores.mean(axis=1))
        ap = coco_keypoint_ap(ann, results, annotation_ids=people)
        result["tables"]["coco_oks"] = dict(ap)
        result["settings"]["coco_oks"] = {"boxes": "ground truth", "images": len(set(ids)), "annotations": str(ann)}
        print(f"COCO OKS keypoint AP on {len(set(ids))} images, with ground-truth person boxes "
              "(published COCO AP uses a person detector's boxes):")  # fmt: skip
        print(ap.text)
    curve_name = "ced.png" if report.kind == "face" else "pck.png"
    plot_curves([(loaded.name, report)], out / curve_name)
    plot_per_keypoint([(loaded.name, report)], out / "per_keypoint.png")
    if args.predictions:
        entries = [
            {"image": str(r.image), "image_id": plain_id(r.image_id), "subset": r.subset,
             "keypoints": np.round(np.concatenate([c, s[:, None]], 1), 4).ravel().tolist()}
            for r, c, s in zip(subjects, pred.coords, pred.scores)
        ]  # fmt: skip
        (out / "predictions.json").write_text(json.dumps(entries) + "\n")
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(report.format())
    print(f"wrote {out / 'metrics.json'}, {out / curve_name}, {out / 'per_keypoint.png'}"
          + (f", {out / 'predictions.json'}" if args.predictions else ""))  # fmt: skip
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
