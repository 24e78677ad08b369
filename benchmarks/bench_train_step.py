"""Training-step speed: forward, heatmap loss, backward and an Adam step, by layout and precision.

Times the optimiser step of a stacked hourglass on random input (speed does not depend on the
values) with the default contiguous (NCHW) tensors, with channels-last (NHWC) model and input
(what ``tools/train.py --channels-last`` trains with), and with channels-last under bfloat16
autocast (``tools/train.py --amp bf16``; the weights, the loss and the optimiser stay float32).
It always runs the three cases. Prints the median milliseconds per step and
images per second over ``--repeats`` timed steps after ``--warmup``.

    python -m benchmarks.bench_train_step                   # the CPU presets' model: hg2, 128 ch, 128 px
    python -m benchmarks.bench_train_step --stacks 8 --channels 256 --size 256 --device cuda --batch 32
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from hourglass.losses import heatmap_mse
from hourglass.models import build_model


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(args: argparse.Namespace, channels_last: bool, bf16: bool) -> list[float]:
    """Seconds per training step, ``args.repeats`` of them."""
    device = torch.device(args.device)
    torch.manual_seed(0)
    model = build_model(
        f"hourglass{args.stacks}", channels=args.channels, num_keypoints=args.keypoints, input_size=args.size
    ).to(device)
    image = torch.randn(args.batch, 3, args.size, args.size, device=device)
    w, h = model.heatmap_size
    target = torch.rand(args.batch, args.keypoints, h, w, device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        image = image.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    times = []
    for i in range(args.warmup + args.repeats):
        _synchronize(device)
        t = time.perf_counter()
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            output = model(image)
        loss = heatmap_mse(output.float(), target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _synchronize(device)
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stacks", type=int, default=2)
    parser.add_argument("--channels", type=int, default=128)
    parser.add_argument("--size", type=int, default=128, help="square input size in pixels")
    parser.add_argument("--keypoints", type=int, default=14)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=8)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(
        f"hourglass{args.stacks}, {args.channels} channels, {args.size} px, batch {args.batch}, "
        f"{args.device}" + (f", {args.threads} threads" if args.device == "cpu" else "")
    )
    base = None
    cases = (
        ("contiguous (NCHW)", False, False),
        ("channels-last (NHWC)", True, False),
        ("channels-last, bf16", True, True),
    )
    for layout, channels_last, bf16 in cases:
        ms = 1000 * statistics.median(time_steps(args, channels_last, bf16))
        base = base or ms
        print(f"{layout:22s} {ms:8.1f} ms/step  {1000 * args.batch / ms:7.1f} images/s  x{base / ms:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
