"""Training within a wall-clock budget: measure the speed, fit the epochs to the time, train, export.

What ``tools/budget_train.py`` does, for a machine lent for a fixed time (a GPU session): a
complete cosine schedule that ends in time beats a longer one cut off half-way. Three steps,
each a ``tools/train.py`` run (the command :func:`run_budget` is given) with the training flags:

1. **probe**: ``--max-steps PROBE_STEPS`` into ``OUT/probe`` (deleted after); its
   ``summary.json`` gives the seconds per step after the first 10, so start-up (data loading,
   CUDA, cuDNN's algorithm search, worker start) does not count. (The first epoch's
   images-per-second figure in ``log.csv`` does count it: on an H200 it said 122 images/s where
   later epochs ran at 350.)
2. **train**: ``--epochs E`` into ``OUT``, E the most whole epochs that fit in what is left of
   the budget after a start-up as long as the probe's (its wall time beyond its steps), at that
   speed, counting the per-epoch overhead (validation, checkpoint, plot; the loader's workers
   persist across epochs) and at most ``max_epochs`` (:func:`epochs_that_fit`). Past the
   deadline the run gets Ctrl-C (SIGINT): it saves ``last.pt`` and the next step still exports
   it; SIGTERM follows after ``grace_s``, SIGKILL 10 s later (:func:`run_until`);
3. **export** (``export``): ``last.pt`` as a half-precision weights file
   (:func:`hourglass.weights.export_weights`).

The run's ``log.csv`` is echoed as its epochs end. Exit status of :func:`run_budget`: 0 done,
1 the probe or the run failed, 2 a user error, 3 the run was stopped at the deadline (exported
all the same).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from hourglass._help import HelpFormatter
from hourglass.config import TrainConfig
from hourglass.engine import runlog
from hourglass.engine.build import load_sets
from hourglass.runtime import tune_cpu
from hourglass.weights import export_weights, file_sha256

__all__ = [
    "BudgetOptions",
    "build_parser",
    "count_train_subjects",
    "epochs_that_fit",
    "main",
    "read_log",
    "run_budget",
    "run_until",
]


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The flags of ``tools/budget_train.py``, with ``description`` (its usage text) above them in ``--help``."""
    p = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
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
    p.add_argument("--no-tune-cpu", action="store_true", help="leave malloc untuned here and in the training run")
    p.add_argument("train_args", nargs=argparse.REMAINDER, help="-- then the tools/train.py flags")
    return p


@dataclass(frozen=True)
class BudgetOptions:
    """The flags of ``tools/budget_train.py`` (see :func:`build_parser` for each)."""

    budget_s: float
    out: Path
    export: str | None = None
    probe_steps: int = 100
    epoch_overhead_s: float = 2.0
    max_epochs: int = 1000
    grace_s: float = 120.0
    train_args: tuple[str, ...] = ()  # the tools/train.py flags, without the leading "--"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BudgetOptions:
        train_args = args.train_args[1:] if args.train_args[:1] == ["--"] else args.train_args
        return cls(
            args.budget_s, Path(args.out), args.export, args.probe_steps, args.epoch_overhead_s, args.max_epochs,
            args.grace_s, tuple(train_args),
        )  # fmt: skip

    def error(self) -> str | None:
        """What is wrong with the options together (the message of exit status 2), or None."""
        if not self.train_args:
            return "give the tools/train.py flags after --"
        if any(a == "--out" or a.startswith("--out=") for a in self.train_args):
            return "give the run folder as --out before the --, not among the train.py flags"
        if (
            self.budget_s <= 0
            or self.probe_steps < 12
            or self.max_epochs < 1
            or self.epoch_overhead_s < 0
            or self.grace_s < 0
        ):
            return ("--budget-s and --max-epochs must be positive, --probe-steps at least 12, "
                    "--epoch-overhead-s and --grace-s not negative")  # fmt: skip
        out = self.out
        if (out / "last.pt").exists():
            return (f"{out} already holds last.pt from an earlier run; pass another --out, or continue that run "
                    f"with tools/train.py --out {out} --resume")  # fmt: skip
        return None


def read_log(path: Path) -> list[dict[str, str]]:
    """Rows of a run's ``log.csv`` (none while it does not exist)."""
    try:
        with open(path, newline="") as f:
            return list(csv.DictReader(f))
    except FileNotFoundError:
        return []


def count_train_subjects(run_dir: Path) -> tuple[int, int]:
    """Training subjects and batch size of a probe run (from its ``config.json``)."""
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
                    f"metric {runlog.metric_pct(row):.2f} % {float(row['images_per_s']):.0f} img/s "
                    f"{float(row['seconds']):.1f} s",
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


Runner = Callable[[list[str], float, "Path | None", float], tuple[int, bool]]
"""The signature of :func:`run_until`, which :func:`run_budget` takes to run its commands."""


class _Failed(Exception):
    """A step failed: ``run_budget`` prints ``error: <message>`` and returns ``code``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def run_budget(options: BudgetOptions, train_command: list[str], *, run: Runner = run_until) -> int:
    """Probe, train and export as the module docstring says; returns the exit status.

    Args:
        options: the flags.
        train_command: the command that runs ``tools/train.py`` (``[python, path]``); the
            training flags, ``--out`` and the probe's or the run's flags follow it.
        run: runs a command until a deadline (:func:`run_until`, or a stand-in).
    """
    start = time.monotonic()
    deadline = start + options.budget_s
    problem = options.error()
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    out = options.out
    base = [*train_command, *options.train_args]
    try:
        epochs = _probe_and_plan(options, base, deadline, run)
        code, stopped = run([*base, "--out", str(out), "--epochs", str(epochs), "--no-progress"],
                            deadline, out / "log.csv", options.grace_s)  # fmt: skip
        print(f"[budget] training ended with exit status {code} after {time.monotonic() - start:.0f} s", flush=True)
        if code not in (0, 130):
            return 1
        if options.export:
            _export(out / "last.pt", options.export)
    except _Failed as e:
        print(f"error: {e}", file=sys.stderr)
        return e.code
    return 3 if stopped or code == 130 else 0


def _probe_and_plan(options: BudgetOptions, base: list[str], deadline: float, run: Runner) -> int:
    """Run the probe (``base`` with ``--max-steps``), delete it, and return the epochs that fit in the time left.

    Raises:
        _Failed: the budget ran out during the probe, the probe failed or measured no speed, or
            less than one epoch's time is left (exit status 1).
    """
    probe = options.out / "probe"
    shutil.rmtree(probe, ignore_errors=True)
    print(f"[budget] probe: {options.probe_steps} steps", flush=True)
    cmd = [*base, "--out", str(probe), "--max-steps", str(options.probe_steps), "--no-progress"]
    t0 = time.monotonic()
    code, probe_stopped = run(cmd, deadline, None, options.grace_s)
    probe_wall = time.monotonic() - t0
    try:
        seconds_per_step = json.loads((probe / "summary.json").read_text())["seconds_per_step"]
    except (OSError, ValueError, KeyError):
        seconds_per_step = None
    if probe_stopped:
        raise _Failed(1, f"--budget-s {options.budget_s:g} ran out during the probe; give more time or fewer "
                         "--probe-steps")  # fmt: skip
    if code != 0:
        raise _Failed(1, f"the probe run failed (exit status {code}); see its output above")
    if seconds_per_step is None:
        raise _Failed(1, f"the probe's summary.json has no seconds_per_step (fewer than 11 steps ran?); see {probe}")
    images, batch = count_train_subjects(probe)
    shutil.rmtree(probe, ignore_errors=True)
    steps_per_epoch = images // batch if images > batch else 1
    # The training run starts up as the probe did (imports, data, CUDA, workers, the slow first steps).
    startup = max(0.0, probe_wall - options.probe_steps * seconds_per_step)
    left = deadline - time.monotonic() - startup
    per_epoch = steps_per_epoch * seconds_per_step + options.epoch_overhead_s
    if left < per_epoch:
        raise _Failed(1, f"after the probe and a start-up like its {startup:.0f} s, {max(left, 0):.0f} s are left, "
                         f"less than one epoch ({per_epoch:.0f} s); give a larger --budget-s")  # fmt: skip
    epochs = epochs_that_fit(left, steps_per_epoch, seconds_per_step, options.epoch_overhead_s, options.max_epochs)
    print(
        f"[budget] probe: {seconds_per_step * 1000:.1f} ms per step of {batch} ({batch / seconds_per_step:.0f} "
        f"images/s), {steps_per_epoch} steps per epoch, start-up {startup:.0f} s; {left:.0f} s left -> "
        f"{epochs} epochs",
        flush=True,
    )
    return epochs


def _export(last: Path, target: str) -> None:
    """Export ``last`` (the run's ``last.pt``) as a half-precision weights file; a missing one is a _Failed(1)."""
    if not last.is_file():
        raise _Failed(
            1, f"the run stopped before its first checkpoint: no {last} to export; give it a larger --budget-s"
        )
    path = export_weights(last, target)
    print(f"[budget] exported {path}: {path.stat().st_size / 2**20:.2f} MB, sha256 {file_sha256(path)}")


def main(
    argv: list[str] | None = None, *, description: str | None = None, train_command: list[str], run: Runner = run_until
) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and :func:`run_budget`; returns the exit status.

    ``--no-tune-cpu`` sets ``HOURGLASS_NO_TUNE=1``, which the training run inherits.
    """
    args = build_parser(description).parse_args(argv)
    if args.no_tune_cpu:
        os.environ["HOURGLASS_NO_TUNE"] = "1"
    tune_cpu()
    return run_budget(BudgetOptions.from_args(args), train_command, run=run)
