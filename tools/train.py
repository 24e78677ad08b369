#!/usr/bin/env python
"""Train a stacked hourglass or a VGG regressor: a thin wrapper over hourglass.engine.train.

Examples:
    python tools/train.py --preset mpii-hg8 --data-root /data/mpii --out runs/mpii-hg8  # full MPII: annot/train.*
    python tools/train.py --preset cpu-tiny --data-root ../shared/data/300w --out runs/tiny
    python tools/train.py --out runs/tiny --resume            # continue the run with its own config
    python tools/train.py --out runs/tiny --resume --epochs 20  # ... and a longer cosine schedule
    torchrun --standalone --nproc_per_node 8 tools/train.py --preset 300w-hg --data-root ../shared/data/300w \\
        --train-split fit --val-split holdout --out runs/300w-hg    # 8 GPUs, 2 of the 16 faces each

Without --preset the splits follow --dataset (300w: fit / holdout, lsp and lspet: train / val,
mpii: train / valid, coco: train2017 / val2017, custom: 10 % held out), and on a CPU device the
network is the CPU-sized one (2 stacks x 128 channels at 128 px; VGG at width 0.25), which the
start-up lines say; the defaults below are those of a full-size run. Under torchrun
--batch-size is the global batch over all processes (it must be divisible by their number);
only rank 0 writes files. Flags left out keep the preset's value (or the
TrainConfig default). With --resume they keep the checkpoint's saved config instead, so only
the flags given change the run (a change is logged; lr, weight decay and the schedule's length
apply from the resumed step on). Exit status: 0 done, 1 training diverged (NaN/inf loss or
gradients) or an unexpected error (with a traceback), 2 a user error (bad option, missing
data, wrong checkpoint, missing package, an unwritable or full disk), 130 interrupted with
Ctrl-C after saving last.pt.
"""

from __future__ import annotations

import sys

from hourglass.engine import cli, train


def main(argv: list[str] | None = None) -> int:
    """Run on ``argv`` (default ``sys.argv[1:]``): :func:`hourglass.engine.cli.main` with this usage text."""
    return cli.main(argv, description=__doc__, train_fn=train)  # ``train`` looked up here: a test replaces it


if __name__ == "__main__":
    sys.exit(main())
