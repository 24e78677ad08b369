"""Paired timing for the benchmarks: cases run alternately in one process, each with its own malloc setting.

A case is a name, whether glibc malloc is tuned for it (:func:`hourglass.runtime.tune_cpu`; the
plain cases restore glibc's own settings) and a function of no arguments that does one unit of
work (a forward pass, a training step). :func:`alternate` runs every case once per round, round
after round, so that a slow spell on a shared machine hits all of them alike, and reads
``getrusage`` around each run: minor page faults and kernel time.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch

from hourglass import runtime


class Case(NamedTuple):
    name: str
    tuned: bool
    run: Callable[[], object]


class Result(NamedTuple):
    """Per case: median seconds per run, minor faults per run, kernel seconds per run, kernel share of wall time."""

    seconds: float
    minflt: float
    stime: float
    kernel_share: float


def alternate(cases: Sequence[Case], *, rounds: int, warmup: int = 1) -> dict[str, Result]:
    """Run the cases alternately (``warmup`` untimed rounds, then ``rounds`` timed ones) and summarise each."""
    times: dict[str, list[float]] = {c.name: [] for c in cases}
    used: dict[str, list[runtime.Usage]] = {c.name: [] for c in cases}
    try:
        for r in range(warmup + rounds):
            for case in cases:
                runtime.tune_cpu(enable=case.tuned)
                before, start = runtime.usage(), time.perf_counter()
                case.run()
                seconds, delta = time.perf_counter() - start, runtime.usage() - before
                if r >= warmup:
                    times[case.name].append(seconds)
                    used[case.name].append(delta)
    finally:
        runtime.tune_cpu(enable=False)
    out = {}
    for name, t in times.items():
        u = used[name]
        stime = sum(x.stime for x in u) / len(u)
        out[name] = Result(statistics.median(t), sum(x.minflt for x in u) / len(u), stime, stime / (sum(t) / len(t)))
    return out


def in_a_row(case: Case, *, passes: int, warmup: int = 1) -> Result:
    """``case`` alone, ``passes`` times in a row after ``warmup`` untimed runs: a loop's steady
    state. (In :func:`alternate` a tuned case after a plain one finds the heap trimmed by glibc's
    own settings and faults it in again; a program that runs one path has no such switch.)"""
    runtime.tune_cpu(enable=case.tuned)
    try:
        for _ in range(warmup):
            case.run()
        times, used = [], []
        for _ in range(passes):
            before, start = runtime.usage(), time.perf_counter()
            case.run()
            times.append(time.perf_counter() - start)
            used.append(runtime.usage() - before)
    finally:
        runtime.tune_cpu(enable=False)
    stime = sum(x.stime for x in used) / len(used)
    return Result(
        statistics.median(times), sum(x.minflt for x in used) / len(used), stime, stime / (sum(times) / len(times))
    )


def plain_and_default(model: torch.nn.Module) -> tuple[torch.nn.Module, torch.nn.Module]:
    """Two copies of ``model`` with the same weights: contiguous (NCHW) and channels-last."""
    import copy

    plain = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    default = copy.deepcopy(model).to(memory_format=torch.channels_last)
    return plain, default


def line(name: str, r: Result, base: Result | None = None) -> str:
    """One printed row: ms, ratio to ``base`` (plain / this), faults and kernel time per run."""
    ratio = f"x{base.seconds / r.seconds:5.2f}" if base is not None else "     -"
    return (
        f"{name:<34} {1000 * r.seconds:9.1f} ms  {ratio}  {r.minflt:10.0f} faults  "
        f"{1000 * r.stime:8.1f} ms kernel ({100 * r.kernel_share:4.1f} %)"
    )
