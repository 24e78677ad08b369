"""Forward-pass speed: the plain eager NCHW float32 forward beside the default inference path, in one run.

For each model, in eval mode under ``torch.inference_mode`` (random weights and input: speed does
not depend on the values), three cases run alternately in one process (``benchmarks/_paired.py``):

- ``plain``: contiguous (NCHW) model and input, float32, glibc malloc as it comes;
- ``default fp32``: the inference path's layout without bf16: channels-last model and input,
  malloc tuned (:func:`hourglass.runtime.tune_cpu`);
- ``default``: the same at the default precision (``precision="auto"``: bfloat16 autocast on a
  CPU with native bf16; for a shipped model, :func:`hourglass.evaluation.inference_precision`).

Printed per case: median ms per batch, the ratio plain / case, minor page faults and kernel time
per pass (``getrusage``) and the kernel share of the wall time. At batch 8 and above the default
cases also run alone, ``--rounds`` passes in a row (a forward loop's steady state, which the
alternation cannot show: a tuned case after the plain one finds a trimmed heap). Models: registry names (built at
``--size``) and shipped weights names (their own input size).

    python -m benchmarks.bench_models                                  # hourglass2/8 + shipped, batch 1 and 8
    python -m benchmarks.bench_models --models hourglass2 --batch 8 --rounds 5
"""

from __future__ import annotations

import argparse
import sys

import torch

from benchmarks._paired import Case, alternate, in_a_row, line, plain_and_default
from hourglass.models import build_model, count_flops, count_parameters, list_models
from hourglass.runtime import autocast, resolve_precision

DEFAULT_MODELS = ("hourglass2", "hourglass8", "300w-hg2", "300w-vgg", "lspet-hg2", "lspet-hg4")


def load(name: str, size: int) -> tuple[torch.nn.Module, str]:
    """(model in eval mode, default precision) for a registry name or a shipped weights name."""
    if name in list_models():
        return build_model(name, input_size=size).eval(), resolve_precision("auto", "cpu")
    from hourglass.evaluation import inference_precision
    from hourglass.weights import load_model

    loaded = load_model(name)
    return loaded.model, inference_precision(loaded)


def cases(model: torch.nn.Module, batch: int, precision: str) -> list[Case]:
    w, h = model.input_size
    x = torch.randn(batch, 3, h, w)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    plain, default = plain_and_default(model)

    def run(m: torch.nn.Module, image: torch.Tensor, p: str):
        def go():
            with torch.inference_mode(), autocast(p):
                return m(image)

        return go

    out = [
        Case("plain (NCHW fp32)", False, run(plain, x, "fp32")),
        Case("default fp32", True, run(default, x_cl, "fp32")),
    ]
    if precision != "fp32":
        out.append(Case(f"default ({precision})", True, run(default, x_cl, precision)))
    elif resolve_precision("auto", "cpu") == "bf16":  # shown, though this model's default stays fp32
        out.append(Case("bf16 (not this model's default)", True, run(default, x_cl, "bf16")))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help="registry or shipped names")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--size", type=int, default=256, help="input size of registry models")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (each runs every case once)")
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__} | cpu, {args.threads} threads | median of {args.rounds} alternating rounds")
    for name in args.models:
        model, precision = load(name, args.size)
        flops = count_flops(model) / 1e9
        for batch in args.batch:
            print(f"\n{name}: {count_parameters(model) / 1e6:.2f} M params, {flops:.1f} GFLOP/img, batch {batch}")
            found = alternate(cases(model, batch, precision), rounds=args.rounds, warmup=args.warmup)
            base = found["plain (NCHW fp32)"]
            for case, r in found.items():
                print(line(case, r, base))
            if batch >= 8:  # the kernel-time target is a loop's: the default path alone, passes in a row
                default = [c for c in cases(model, batch, precision) if c.name.startswith("default")]
                for case in default:
                    print(line(f"{case.name}, {args.rounds} in a row", in_a_row(case, passes=args.rounds), base))
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
