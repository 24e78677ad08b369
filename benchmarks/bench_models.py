"""Forward-pass speed of the registered models (eval mode, no autograd).

For each model: parameters, conv + linear GFLOPs per image (2 per multiply-accumulate, see
``hourglass.models.complexity``), and the median milliseconds per batch and images per
second over ``--repeats`` timed passes after ``--warmup`` untimed ones. Random weights and
random input: speed does not depend on the values.

    python -m benchmarks.bench_models                       # CPU, 2 threads, batch 8, 256x256
    python -m benchmarks.bench_models --models hourglass8 --device cuda --batch 32

(run from the repository root, or ``python benchmarks/bench_models.py`` once the package is
installed with ``pip install -e .``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from hourglass.models import build_model, count_flops, count_parameters, list_models

DEFAULT_MODELS = ("hourglass1", "hourglass2", "hourglass8", "vgg16_gap")


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def benchmark(name: str, *, device: torch.device, batch: int, size: int, warmup: int, repeats: int) -> dict[str, float]:
    """Build ``name`` at ``size`` x ``size`` and time its forward pass; return the numbers."""
    model = build_model(name, input_size=size).to(device).eval()
    params = count_parameters(model)
    flops = count_flops(model)
    x = torch.randn(batch, 3, size, size, device=device)
    times = []
    with torch.inference_mode():
        for i in range(warmup + repeats):
            _synchronize(device)
            start = time.perf_counter()
            model(x)
            _synchronize(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {"params_m": params / 1e6, "gflops": flops / 1e9, "ms": seconds * 1e3, "img_s": batch / seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(DEFAULT_MODELS), help=f"any of {list_models()}")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--size", type=int, default=256, help="square input size in pixels")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    unknown = sorted(set(args.models) - set(list_models()))
    if unknown:
        parser.error(f"unknown models {unknown}; available: {list_models()}")
    if args.batch < 1 or args.repeats < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--batch, --repeats and --threads must be >= 1, --warmup >= 0")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda requested but CUDA is not available; use --device cpu")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    where = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu, {args.threads} threads"
    print(
        f"torch {torch.__version__} | {where} | batch {args.batch} | {args.size}x{args.size} | "
        f"median of {args.repeats} after {args.warmup} warm-up"
    )
    print(f"{'model':<12} {'params (M)':>10} {'GFLOP/img':>10} {'ms/batch':>10} {'img/s':>8}")
    for name in args.models:
        r = benchmark(name, device=device, batch=args.batch, size=args.size, warmup=args.warmup, repeats=args.repeats)
        print(f"{name:<12} {r['params_m']:>10.2f} {r['gflops']:>10.1f} {r['ms']:>10.1f} {r['img_s']:>8.1f}")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
