"""A lead for the batch-1 CPU forward (issue 22): TorchScript-frozen channels-last against eager.

For each model, float32, 2 threads, alternating in one process (median of ``--runs`` timed
passes after 5 warm-up passes, each case in turn, ``--rounds`` times): the plain eager NCHW
forward, the default eager channels-last forward (``hourglass.evaluation.prepare_model``), and
the channels-last model traced and frozen (``torch.jit.trace`` then ``torch.jit.freeze``,
which folds each BatchNorm that follows a convolution into it and propagates constants). It
prints the ratios to plain and the largest difference of the last stack's output from the
eager channels-last one, at the batch the trace was made with and at another (a trace fixes
no batch size for these networks, but check it). Not the default path: the frozen module
cannot train, export or run under CPU autocast as the eager one does.

    python -m benchmarks.frozen_forward 300w-hg2 lspet-hg4 lspet-hg2 300w-vgg --batch 1 8
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import torch

from hourglass.evaluation import prepare_model
from hourglass.weights import load_model


def _median_ms(module: torch.nn.Module, x: torch.Tensor, runs: int) -> float:
    with torch.inference_mode():
        for _ in range(5):
            module(x)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            module(x)
            times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


def _last(out: torch.Tensor | list | tuple) -> torch.Tensor:
    return out if torch.is_tensor(out) else out[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="shipped names, weights files or run folders")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    for name in args.models:
        plain = load_model(name).model.eval()
        eager = prepare_model(load_model(name).model.eval(), "cpu")
        w, h = plain.input_size if isinstance(plain.input_size, tuple) else (plain.input_size,) * 2
        start = time.perf_counter()
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            example = torch.randn(1, 3, h, w).contiguous(memory_format=torch.channels_last)
            frozen = torch.jit.freeze(torch.jit.trace(prepare_model(load_model(name).model.eval(), "cpu"), example))
            frozen(example), frozen(example)  # the profiling executor specialises over the first runs
        print(f"{name}: trace, freeze and two first passes {time.perf_counter() - start:.2f} s", flush=True)
        for batch in args.batch:
            x = torch.randn(batch, 3, h, w)
            xc = x.contiguous(memory_format=torch.channels_last)
            times: dict[str, list[float]] = {"plain": [], "eager": [], "frozen": []}
            for _ in range(args.rounds):
                times["plain"].append(_median_ms(plain, x, args.runs))
                times["eager"].append(_median_ms(eager, xc, args.runs))
                times["frozen"].append(_median_ms(frozen, xc, args.runs))
            ms = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
            with torch.inference_mode():
                diff = (_last(eager(xc)) - _last(frozen(xc))).abs().max().item()
            ratios = f"eager channels-last x{ms['plain'] / ms['eager']:.2f}; frozen x{ms['plain'] / ms['frozen']:.2f}"
            print(f"{name} batch {batch}: plain {ms['plain']:.1f} ms; {ratios}; frozen vs eager max |diff| {diff:.1e}",
                  flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
