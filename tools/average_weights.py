#!/usr/bin/env python
"""Average the weights of a run's checkpoints (stochastic weight averaging) into one checkpoint.

Examples:
    # the last 10 epoch checkpoints of a run trained with --keep-epochs
    python tools/average_weights.py runs/body-swa --last 10 --out runs/body-swa/swa.pt
    # named checkpoints
    python tools/average_weights.py runs/x/epoch018.pt runs/x/epoch019.pt runs/x/epoch020.pt --out runs/x/swa.pt

The models are averaged element-wise, then the batch-norm statistics are measured again on
the run's training split (its training augmentation, each crop once; ``--data-root`` if the
data moved; ``--no-recalibrate`` averages them instead). The result is a checkpoint for
``tools/pack_weights.py``, ``tools/eval.py`` and ``tools/train.py --init-from`` (not for
``--resume``: it has no optimiser state). See :mod:`hourglass.engine.averaging`.
Exit status: 0 done, 2 a user error.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    from hourglass._help import HelpFormatter

    p = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    p.add_argument("inputs", nargs="+", help="checkpoints in training order, or one run folder with --last N")
    p.add_argument("--last", type=int, help="with a run folder: average its last N epochNNN.pt checkpoints")
    p.add_argument("--out", required=True, help="checkpoint to write (e.g. runs/x/swa.pt)")
    p.add_argument("--data-root", help="dataset folder for the batch-norm pass (default: the run's)")
    p.add_argument("--no-recalibrate", action="store_true", help="average the batch-norm statistics instead")
    p.add_argument("--batch-size", type=int, default=32, help="batch of the batch-norm pass")
    p.add_argument("--workers", type=int, default=0, help="DataLoader workers of the batch-norm pass")
    p.add_argument("--device", default="cpu", help="device of the batch-norm pass")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def select_inputs(inputs: list[str], last: int | None) -> list[Path]:
    """The checkpoint paths the arguments name (see the module docstring)."""
    if last is None:
        if len(inputs) == 1 and Path(inputs[0]).is_dir():
            raise ValueError(f"{inputs[0]} is a run folder: add --last N to average its last N epochNNN.pt")
        return [Path(p) for p in inputs]
    if last < 2:
        raise ValueError(f"--last must be at least 2, got {last}")
    if len(inputs) != 1 or not Path(inputs[0]).is_dir():
        raise ValueError(f"--last takes one run folder, got {inputs}")
    folder = Path(inputs[0])
    kept = sorted(p for p in folder.glob("epoch*.pt") if re.fullmatch(r"epoch\d+\.pt", p.name))
    if len(kept) < last:
        raise ValueError(
            f"{folder} holds {len(kept)} epoch checkpoints (epochNNN.pt), fewer than --last {last}; "
            "train with --keep-epochs to keep them"
        )
    return kept[-last:]


def main(argv: list[str] | None = None) -> int:
    from hourglass.checkpoint import save_checkpoint
    from hourglass.data import DataError
    from hourglass.engine.averaging import average_checkpoints

    args = build_parser().parse_args(argv)
    try:
        if args.batch_size < 1:
            raise ValueError(f"--batch-size must be >= 1, got {args.batch_size}")
        paths = select_inputs(args.inputs, args.last)
        out = Path(args.out)
        if out.resolve() in {p.resolve() for p in paths}:
            raise ValueError(f"--out {out} is one of the inputs; write the average to a new file")
        if args.threads is not None:
            import torch

            torch.set_num_threads(args.threads)
        ckpt = average_checkpoints(
            paths, data_root=args.data_root, recalibrate=not args.no_recalibrate, batch_size=args.batch_size,
            workers=args.workers, device=args.device, progress=not args.no_progress,
        )  # fmt: skip
        save_checkpoint(ckpt, out)
    except (ValueError, TypeError, FileNotFoundError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    steps = ", ".join(str(a["step"]) for a in ckpt["averaged_from"])
    bn = f"; batch norm measured on {ckpt['batchnorm_images']} crops" if ckpt["batchnorm_images"] else ""
    print(f"wrote {out}: the average of {len(paths)} checkpoints (steps {steps}){bn}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
