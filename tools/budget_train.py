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

import argparse
import csv
import json
import math
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

TRAIN = Path(__file__).resolve().parent / "train.py"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--budget-s", type=float, required=True, help="seconds for probe and training together")
    p.add_argument("--out", required=True, help="run folder of the training run")
    p.add_argument("--export", help="write last.pt as a half-precision weights file here")
    p.add_argument("--probe-steps", type=int, default=100, help="steps of the speed probe (default 100; at least 12)")
    p.add_argument(
        "--epoch-overhead-s", type=float, default=2.0,
        help="seconds per epoch beside its steps: validation, checkpoint, plot (default 2)",
    )  # fmt: skip
    p.add_argument("--max-epochs", type=int, default=1000, help="never more epochs than this")
    p.add_argument("--grace-s", type=float, default=120.0, help="seconds after the deadline's Ctrl-C before SIGTERM")
    p.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the tools/train.py flags")
    return p


def read_log(path: Path) -> list[dict[str, str]]:
    """Rows of a run's ``log.csv`` (none while it does not exist)."""
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        return []


def count_train_subjects(run_dir: Path) -> tuple[int, int]:
    """Training subjects and batch size of a probe run (from its ``config.json``)."""
    from hourglass.engine import TrainConfig
    from hourglass.engine.build import load_sets

    config = TrainConfig.from_dict(json.loads((run_dir / "config.json").read_text()))
    train_set, _, _ = load_sets(config, log=False)
    return len(train_set), config.batch_size


def epochs_that_fit(seconds: float, steps_per_epoch: int, seconds_per_step: float, overhead_s: float, most: int) -> int:
    """Whole epochs of ``steps_per_epoch`` steps plus ``overhead_s`` each within ``seconds`` (>= 1)."""
    per_epoch = steps_per_epoch * seconds_per_step + overhead_s
    return max(1, min(most, math.floor(seconds / per_epoch)))


def run_until(cmd: list[str], deadline: float, log_csv: Path | None, grace_s: float = 120.0) -> tuple[int, bool]:
    """Run ``cmd``; Ctrl-C it at ``deadline`` (then wait for its checkpoint). Echo new ``log_csv`` rows.

    A run still going ``grace_s`` seconds after the Ctrl-C (stuck in a long validation or I/O)
    gets SIGTERM, and SIGKILL 10 s later. Returns (exit status, whether it was stopped at the deadline).
    """
    proc = subprocess.Popen(cmd)
    shown, shown_at, stopped_at, terminated_at, killed = 0, 0.0, None, None, False
    while True:
        try:
            code = proc.wait(timeout=0.2)  # short: the probe times runs by their ends
        except subprocess.TimeoutExpired:
            code = None
        if log_csv is not None and (code is not None or time.monotonic() - shown_at > 5.0):
            shown_at = time.monotonic()
            rows = read_log(log_csv)
            for row in rows[shown:]:
                print(
                    f"[budget] epoch {row['epoch']} step {row['step']} loss {float(row['train_loss']):.5g} "
                    f"{row.get('metric', '')} {float(row['images_per_s']):.0f} img/s {float(row['seconds']):.1f} s",
                    flush=True,
                )
            shown = len(rows)
        if code is not None:
            return code, stopped_at is not None
        now = time.monotonic()
        if stopped_at is None and now > deadline:
            print("[budget] deadline reached: stopping the run with Ctrl-C (it saves last.pt)", flush=True)
            proc.send_signal(signal.SIGINT)
            stopped_at = now
        elif stopped_at is not None and terminated_at is None and now > stopped_at + grace_s:
            print(f"[budget] still running {grace_s:g} s after Ctrl-C: SIGTERM", flush=True)
            proc.terminate()
            terminated_at = now
        elif terminated_at is not None and not killed and now > terminated_at + 10.0:
            print("[budget] still running: SIGKILL", flush=True)
            proc.kill()
            killed = True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    start = time.monotonic()
    deadline = start + args.budget_s
    train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
    if not train_args:
        print("error: give the tools/train.py flags after --", file=sys.stderr)
        return 2
    if any(a == "--out" or a.startswith("--out=") for a in train_args):
        print("error: give the run folder as --out before the --, not among the train.py flags", file=sys.stderr)
        return 2
    if (
        args.budget_s <= 0
        or args.probe_steps < 12
        or args.max_epochs < 1
        or args.epoch_overhead_s < 0
        or args.grace_s < 0
    ):
        print("error: --budget-s and --max-epochs must be positive, --probe-steps at least 12, "
              "--epoch-overhead-s and --grace-s not negative", file=sys.stderr)  # fmt: skip
        return 2
    out = Path(args.out)
    if (out / "last.pt").exists():
        print(f"error: {out} already holds last.pt from an earlier run; pass another --out, or continue that run "
              f"with tools/train.py --out {out} --resume", file=sys.stderr)  # fmt: skip
        return 2
    probe = out / "probe"
    shutil.rmtree(probe, ignore_errors=True)
    base = [sys.executable, str(TRAIN), *train_args]
    print(f"[budget] probe: {args.probe_steps} steps", flush=True)
    cmd = [*base, "--out", str(probe), "--max-steps", str(args.probe_steps), "--no-progress"]
    t0 = time.monotonic()
    code, probe_stopped = run_until(cmd, deadline, None, args.grace_s)
    probe_wall = time.monotonic() - t0
    try:
        seconds_per_step = json.loads((probe / "summary.json").read_text())["seconds_per_step"]
    except (OSError, ValueError, KeyError):
        seconds_per_step = None
    if probe_stopped:
        print(f"error: --budget-s {args.budget_s:g} ran out during the probe; give more time or fewer --probe-steps",
              file=sys.stderr)  # fmt: skip
        return 1
    if code != 0:
        print(f"error: the probe run failed (exit status {code}); see its output above", file=sys.stderr)
        return 1
    if seconds_per_step is None:
        print(f"error: the probe's summary.json has no seconds_per_step (fewer than 11 steps ran?); "
              f"see {probe}", file=sys.stderr)  # fmt: skip
        return 1
    images, batch = count_train_subjects(probe)
    shutil.rmtree(probe, ignore_errors=True)
    steps_per_epoch = images // batch if images > batch else 1
    # The training run starts up as the probe did (imports, data, CUDA, workers, the slow first steps).
    startup = max(0.0, probe_wall - args.probe_steps * seconds_per_step)
    left = deadline - time.monotonic() - startup
    per_epoch = steps_per_epoch * seconds_per_step + args.epoch_overhead_s
    if left < per_epoch:
        print(f"error: after the probe and a start-up like its {startup:.0f} s, {max(left, 0):.0f} s are left, less "
              f"than one epoch ({per_epoch:.0f} s); give a larger --budget-s", file=sys.stderr)  # fmt: skip
        return 1
    epochs = epochs_that_fit(left, steps_per_epoch, seconds_per_step, args.epoch_overhead_s, args.max_epochs)
    print(
        f"[budget] probe: {seconds_per_step * 1000:.1f} ms per step of {batch} ({batch / seconds_per_step:.0f} "
        f"images/s), {steps_per_epoch} steps per epoch, start-up {startup:.0f} s; {left:.0f} s left -> "
        f"{epochs} epochs",
        flush=True,
    )
    code, stopped = run_until([*base, "--out", str(out), "--epochs", str(epochs), "--no-progress"],
                              deadline, out / "log.csv", args.grace_s)  # fmt: skip
    print(f"[budget] training ended with exit status {code} after {time.monotonic() - start:.0f} s", flush=True)
    if code not in (0, 130):
        return 1
    if args.export:
        from hourglass.weights import export_weights, file_sha256

        if not (out / "last.pt").is_file():
            print(f"error: the run stopped before its first checkpoint: no {out / 'last.pt'} to export; "
                  "give it a larger --budget-s", file=sys.stderr)  # fmt: skip
            return 1
        path = export_weights(out / "last.pt", args.export)
        print(f"[budget] exported {path}: {path.stat().st_size / 2**20:.2f} MB, sha256 {file_sha256(path)}")
    return 3 if stopped or code == 130 else 0


if __name__ == "__main__":
    sys.exit(main())
