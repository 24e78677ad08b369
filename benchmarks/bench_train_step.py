"""Training-step speed: the plain eager NCHW float32 step beside the default CPU training path, in one run.

One step = forward, loss (heatmap MSE; L1 on the coordinates for VGG), backward and an Adam
step, on random input (speed does not depend on the values). Per model, three cases run
alternately in one process (``benchmarks/_paired.py``), each with its own copy of the model and
optimiser:

- ``plain``: contiguous (NCHW) model and input, float32, glibc malloc as it comes;
- ``default fp32``: channels-last model and input, malloc tuned (what ``tools/train.py`` does on
  the CPU by default, :class:`hourglass.config.TrainConfig` ``channels_last=None``), no autocast;
- ``default``: the same with the default precision (``amp="auto"``: bf16 autocast on a CPU with
  native bf16; weights, loss and optimiser stay float32).

Printed per case: median ms per step, the ratio plain / case, images/s, minor page faults and
kernel time per step (``getrusage``).

    python -m benchmarks.bench_train_step                        # the CPU presets and hourglass2 at 256 px
    python -m benchmarks.bench_train_step --models cpu-tiny --rounds 8
    python -m benchmarks.bench_train_step --stacks 2 --channels 256 --size 256 --batch 32 --device cuda

With ``--stacks`` (and ``--channels``, ``--size``, ``--batch``) it times that hourglass alone. On
CUDA the three cases keep their layouts and precisions (malloc tuning does not apply there), each
step ends with a synchronisation, and the GPU training defaults are unchanged (NCHW, float32).
"""

from __future__ import annotations

import argparse
import copy
import sys

import torch

from benchmarks._paired import Case, alternate, line
from hourglass.engine.build import build_model_from_config
from hourglass.engine.presets import resolve_config
from hourglass.losses import heatmap_mse
from hourglass.runtime import autocast, resolve_precision

# name -> (preset or None, overrides, batch)
MODELS = {
    "cpu-tiny": ("cpu-tiny", {}, None),
    "300w-hg-cpu": ("300w-hg-cpu", {}, None),
    "300w-vgg-cpu": ("300w-vgg-cpu", {}, None),
    "lspet-hg-cpu": ("lspet-hg-cpu", {}, None),
    "hourglass2-256": (None, {"stacks": 2, "channels": 256, "input_size": 256}, 8),
}


def step_fn(model: torch.nn.Module, batch: int, keypoints: int, channels_last: bool, precision: str, device: str):
    """A function doing one training step of ``model`` (its own copy and optimiser) on ``device``."""
    device = torch.device(device)
    model = copy.deepcopy(model).train().to(device)
    size = model.input_size
    image = torch.randn(batch, 3, size[1], size[0], device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        image = image.contiguous(memory_format=torch.channels_last)
    heat = model.output_kind == "heatmap"
    w, h = model.heatmap_size if heat else (2, 0)
    target = (
        torch.rand(batch, keypoints, h, w, device=device) if heat else torch.rand(batch, keypoints, 2, device=device)
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        with autocast(precision, device):
            output = model(image)
        loss = heatmap_mse(output.float(), target) if heat else (output.float() - target).abs().mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--keypoints", type=int, default=14)
    parser.add_argument("--stacks", type=int, help="time this hourglass instead of --models")
    parser.add_argument("--channels", type=int, default=256)
    parser.add_argument("--size", type=int, default=256, help="square input size in pixels")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    precision = "bf16" if args.device.startswith("cuda") else resolve_precision("auto", "cpu")
    if args.stacks:
        MODELS["custom"] = (
            None,
            {"stacks": args.stacks, "channels": args.channels, "input_size": args.size},
            args.batch,
        )
        args.models = ["custom"]
    print(
        f"torch {torch.__version__} | {args.device}, {args.threads} threads | "
        f"median of {args.rounds} alternating rounds"
    )
    for name in args.models:
        preset, overrides, batch = MODELS[name]
        config = resolve_config(preset, **overrides)
        batch = batch or config.batch_size
        torch.manual_seed(0)
        model = build_model_from_config(config, args.keypoints)
        print(f"\n{name}: {model.arch['name']}, {config.input_size} px, batch {batch}")
        cases = [
            Case("plain (NCHW fp32)", False, step_fn(model, batch, args.keypoints, False, "fp32", args.device)),
            Case("default fp32", True, step_fn(model, batch, args.keypoints, True, "fp32", args.device)),
        ]
        if precision != "fp32":
            cases.append(
                Case(
                    f"default ({precision})", True, step_fn(model, batch, args.keypoints, True, precision, args.device)
                )
            )
        found = alternate(cases, rounds=args.rounds, warmup=args.warmup)
        base = found["plain (NCHW fp32)"]
        for case, r in found.items():
            print(line(case, r, base) + f"  {batch / r.seconds:6.1f} img/s")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
