#!/usr/bin/env python
"""Train a stacked hourglass or a VGG regressor: a thin wrapper over hourglass.engine.train.

Examples:
    python tools/train.py --preset mpii-hg8 --data-root /data/mpii --out runs/mpii-hg8  # full MPII: annot/train.*
    python tools/train.py --preset cpu-tiny --data-root ../shared/data/300w --out runs/tiny
    python tools/train.py --out runs/tiny --resume            # continue the run with its own config
    python tools/train.py --out runs/tiny --resume --epochs 20  # ... and a longer cosine schedule
    torchrun --standalone --nproc_per_node 8 tools/train.py --preset 300w-hg --data-root ../shared/data/300w \
        --train-split fit --val-split holdout --out runs/300w-hg    # 8 GPUs, 2 of the 16 faces each

Under torchrun --batch-size is the global batch over all processes (it must be divisible by
their number); only rank 0 writes files. Flags left out keep the preset's value (or the
TrainConfig default). With --resume they keep the checkpoint's saved config instead, so only
the flags given change the run (a change is logged; lr, weight decay and the schedule's length
apply from the resumed step on). Exit status: 0 done, 1 training diverged (NaN/inf loss or
gradients) or an unexpected error (with a traceback), 2 a user error (bad option, missing
data, wrong checkpoint, missing package, an unwritable or full disk), 130 interrupted with
Ctrl-C after saving last.pt.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from hourglass.config import TrainConfig
from hourglass.data import DataError
from hourglass.engine import TrainingDiverged, list_presets, resolve_config, train
from hourglass.engine.presets import PRESETS
from hourglass.engine.resume import resume_config


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("--preset", help=f"named recipe: {', '.join(list_presets())}")
    a("--model", choices=["hourglass", "vgg"], help="heatmap hourglass or VGG-16 coordinate regressor")
    a("--stacks", type=int, help="hourglass stacks: 1, 2, 4 or 8 (default 8)")
    a("--blocks", type=int, help="residual modules per hourglass stage (default 1)")
    a("--channels", type=int, help="hourglass feature channels (default 256)")
    a("--vgg-width", type=float, help="VGG width multiplier (default 1.0 = VGG-16)")
    a("--vgg-head", choices=["gap", "fc"], help="VGG head: global average pooling (default) or VGG-16's FC layers")
    a("--coord-loss", choices=["wing", "l1"], help="VGG coordinate loss (default wing)")
    a("--input-size", type=int, help="square input side in pixels (default 256; heatmaps are input / 4)")
    a("--sigma", type=float, help="target heatmap Gaussian sigma in heatmap pixels (default 2)")
    a("--dataset", help="300w, mpii, lsp, lspet, coco or custom")
    a("--data-root", help="folder holding the dataset")
    a("--train-split", help="training split name (default train)")
    a("--val-split", help="validation split name, or 'none' to hold out --val-fraction of the training split")
    a("--val-fraction", type=float, help="held-out share of the training split when there is no --val-split")
    a(
        "--crop-padding", type=float,
        help="LSP/LSPET: person crop side / joint-box longer side (default 1.6); saved with the model",
    )  # fmt: skip
    a("--rotation", type=float, metavar="DEG", help="augmentation: largest rotation in degrees (default 30)")
    a("--rotation-prob", type=float, metavar="P", help="augmentation: share of samples rotated (default 0.4)")
    a(
        "--scale-factor", type=float, nargs=2, metavar=("LOW", "HIGH"),
        help="augmentation: range of the crop-scale multiplier (default 0.75 1.25)",
    )  # fmt: skip
    a("--max-train-samples", type=int, help="use only the first N training subjects")
    a("--max-val-samples", type=int, help="use only the first N validation subjects")
    a(
        "--missing-images", choices=["warn", "error"],
        help="subjects whose image file is missing: leave them out with a warning (default) or stop with an error",
    )  # fmt: skip
    a("--epochs", type=int)
    a("--batch-size", type=int, help="global batch: under torchrun it is split over the processes")
    a("--lr", type=float, help="learning rate (default: RMSprop 2.5e-4 (Newell), Adam/AdamW 1e-3)")
    a("--optimizer", choices=["rmsprop", "adam", "adamw"])
    a("--weight-decay", type=float, help="weight decay (default: 0; AdamW 1e-4)")
    a("--schedule", choices=["step", "cosine", "none"])
    a("--lr-milestones", type=int, nargs="+", metavar="EPOCH", help="step schedule: epochs where lr *= --lr-gamma")
    a("--lr-gamma", type=float, help="step schedule: lr factor at each milestone (default 0.1)")
    a("--warmup-steps", type=int)
    a("--workers", type=int, help="DataLoader worker processes")
    a("--cache-dir", help="crop cache folder: one pass writes a small JPEG crop per subject, later epochs read it")
    a("--device", help="auto, cpu, cuda, cuda:N")
    a("--amp", choices=["none", "bf16", "fp16"], help="autocast: bf16 on CUDA or the CPU, fp16 on CUDA")
    a("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    a("--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile the model")
    a("--seed", type=int)
    a(
        "--init-from", metavar="WEIGHTS",
        help="start a new run from these weights (shipped name, weights file, checkpoint or run folder): "
        "fine-tuning or a warm restart; same model flags and keypoints, or more --stacks (new stacks copy the last) "
        "or an --input-size larger by 2**k (the hourglasses grow k outer levels that start as the identity)",
    )  # fmt: skip
    a("--out", help="run folder (checkpoints, logs, plots)")
    a("--max-steps", type=int, help="stop after this many optimiser steps")
    a("--log-every", type=int, help="steps between rows of steps.csv")
    a("--ckpt-every-steps", type=int, help="steps between periodic checkpoints (0: epoch ends only)")
    a(
        "--keep-epochs", action=argparse.BooleanOptionalAction, default=None,
        help="also keep each epoch's checkpoint as OUT/epochNNN.pt (for tools/average_weights.py)",
    )  # fmt: skip
    a(
        "--tensorboard", action=argparse.BooleanOptionalAction, default=None,
        help="also write TensorBoard scalars to OUT/tensorboard (pip install tensorboard)",
    )  # fmt: skip
    a(
        "--resume", nargs="?", const="latest",
        help="continue from the run folder's last.pt (a new run when there is none), or from PATH, with the "
        "checkpoint's config and the flags given here",
    )  # fmt: skip
    a("--threads", type=int, help="torch CPU threads")
    a("--no-progress", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rank = os.environ.get("RANK", "0")
    # Warnings (e.g. subjects left out for missing images) from rank 0 only; errors from every rank.
    level = logging.WARNING if rank == "0" else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    where = "" if rank == "0" else f"[rank {rank}] "
    skip = ("preset", "resume", "threads", "no_progress", "val_split", "val_fraction")
    overrides = {k: v for k, v in vars(args).items() if k not in skip}
    # --val-split and --val-fraction go in together: a named split holds nothing out of the training
    # split (fraction 0 unless given, which is then an error), "none" holds out --val-fraction of it.
    split: dict[str, object] = {} if args.val_fraction is None else {"val_fraction": args.val_fraction}
    if args.val_split is not None:
        named = args.val_split.lower() != "none"
        split["val_split"] = args.val_split if named else None
        if named:
            split.setdefault("val_fraction", 0.0)
    try:
        base = None
        if args.resume is not None:
            out = args.out or PRESETS.get(args.preset or "", {}).get("out") or TrainConfig.out
            base = resume_config(args.resume, out)
        config = resolve_config(args.preset, base=base, check=False, **overrides)
        if split:
            config = config.replace(**split)
        config.check_run()
        if args.threads is not None:
            import torch

            torch.set_num_threads(args.threads)
        result = train(config, resume=args.resume, progress=not args.no_progress)
    except KeyboardInterrupt:  # outside the training loop, which handles Ctrl-C by checkpointing
        print(f"{where}interrupted (Ctrl-C) before the training steps began or after they ended; "
              "nothing more was saved", file=sys.stderr)  # fmt: skip
        return 130
    except TrainingDiverged as e:
        print(f"{where}error: training diverged: {e}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, ImportError, DataError) as e:
        print(f"{where}error: {e}", file=sys.stderr)
        return 2
    if rank != "0":
        return 130 if result.interrupted else 0
    if result.interrupted:
        print(f"interrupted at step {result.step}; resume with --out {result.run_dir} --resume", file=sys.stderr)
        return 130
    best = "" if result.best_metric is None else f", best {result.metric_name} {result.best_metric:.4f}"
    print(f"done: {result.step} steps, final loss {result.final_loss:.6g}{best}; run folder {result.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
