#!/usr/bin/env python
"""Train within a wall-clock budget: measure the speed, fit the epochs to the time, train, export.

For a machine lent for a fixed time (a GPU session): a complete cosine schedule that ends in
time beats a longer one cut off half-way. Three steps, each a ``tools/train.py`` run with the
flags after ``--``:

1. **probe**: ``--max-steps PROBE_STEPS`` into ``OUT/probe`` (deleted after); its
   ``summary.json`` gives the seconds per step after the first 10, so start-up (data loading,
   CUDA, cuDNN's algorithm search, worker start) does not count. (The first epoch's
   images-per-second figure in ``log.csv`` does count it: on an H200 it said 122 images/s where
   later epochs ran at 350.)
2. **train**: ``--epochs E`` into ``OUT``, E the most whole epochs that fit in what is left of
   ``--budget-s`` after a start-up as long as the probe's (its wall time beyond its steps), at
   that speed, counting ``--epoch-overhead-s`` per epoch (validation, checkpoint, plot; the
   loader's workers persist across epochs) and at most ``--max-epochs``. Past the deadline the
   run gets Ctrl-C (SIGINT): it saves ``last.pt`` and the next step still exports it (SIGTERM
   follows after ``--grace-s``, SIGKILL 10 s later);
3. **export** (``--export FILE``): ``last.pt`` as a half-precision weights file
   (:func:`hourglass.weights.export_weights`), for ``tools/pack_weights.py`` to evaluate and
   ship where the held-out data is.

The run's ``log.csv`` is echoed as its epochs end. Exit status: 0 done, 1 the probe or the run
failed, 2 a user error, 3 the run was stopped at the deadline (exported all the same).

Example (Newell et al.'s full-size 2-stack network on LSPET, on a GPU lent for ten minutes)::

    python tools/budget_train.py --budget-s 480 --out runs/body-gpu --export out/lspet-hg2-256.pt -- \\
        --preset lspet-hg2-gpu --data-root ../shared/data/lspet
"""

from __future__ import annotations

import sys
from pathlib import Path

from hourglass.engine import budget
from hourglass.engine.budget import epochs_that_fit, run_until  # noqa: F401 (tests take them from here)

TRAIN = Path(__file__).resolve().parent / "train.py"


def main(argv: list[str] | None = None) -> int:
    """Run on ``argv`` (default ``sys.argv[1:]``): :func:`hourglass.engine.budget.main` with this usage text."""
    # ``run_until`` looked up here, so that a test can replace it
    return budget.main(argv, description=__doc__, train_command=[sys.executable, str(TRAIN)], run=run_until)


if __name__ == "__main__":
    sys.exit(main())
