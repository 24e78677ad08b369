"""Model size and compute: parameter counts and conv/linear FLOPs.

FLOPs are counted as 2 per multiply-accumulate (MAC) of ``nn.Conv2d`` and ``nn.Linear``
layers only, for ONE image; biases, BatchNorm, activations, pooling, upsampling and
additions are not counted (they are a few percent at most for these models). The count
comes from forward hooks during one forward pass of a zero image in eval mode, so it
follows the modules actually run. A model built on the ``meta`` device
(``with torch.device("meta"): ...``) is counted from shapes alone, without computing.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from .hourglass import _as_size

__all__ = ["count_flops", "count_parameters", "measure_latency"]


def count_parameters(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameter elements of ``model`` (buffers such as BN running stats excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_flops(
    model: nn.Module,
    input_size: int | tuple[int, int] | None = None,
    *,
    in_channels: int = 3,
) -> int:
    """Conv + linear FLOPs (2 per multiply-accumulate) of one forward pass on one image.

    Args:
        model: the model; run once in eval mode under ``torch.no_grad`` on a zero input of
            shape (1, in_channels, H, W) on the device and dtype of its parameters. Each
            module's train/eval mode is restored afterwards.
        input_size: image size, an int or (W, H); ``None`` uses ``model.input_size``. The
            models of this package accept only their own ``input_size``.
        in_channels: channels of the input image.

    Returns:
        FLOPs per image: for a conv, ``2 * out.numel() * (C_in / groups) * kh * kw``; for a
        linear layer, ``2 * out.numel() * in_features`` (batch of one).

    Raises:
        ValueError: if ``input_size`` is None and the model has no ``input_size`` attribute.
    """
    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(f"{type(model).__name__} has no input_size attribute; pass input_size=(W, H)")
    w, h = _as_size("input_size", input_size)
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    dtype = first.dtype if first is not None else torch.float32

    total = 0

    def conv_hook(module: nn.Conv2d, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += 2 * output.numel() * (module.in_channels // module.groups) * kh * kw

    def linear_hook(module: nn.Linear, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        nonlocal total
        total += 2 * output.numel() * module.in_features

    modes = {m: m.training for m in model.modules()}
    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, in_channels, h, w, device=device, dtype=dtype))
    finally:
        for handle in handles:
            handle.remove()
        for m, training in modes.items():
            m.training = training
    return total


def measure_latency(
    model: nn.Module,
    input_size: int | tuple[int, int] | None = None,
    *,
    batch_size: int = 1,
    warmup: int = 3,
    runs: int = 20,
) -> dict[str, float]:
    """Wall-clock forward time of ``model`` in eval mode under ``torch.inference_mode``.

    Runs ``warmup`` untimed passes, then ``runs`` timed ones on a zero (B, 3, H, W) input on
    the model's device (CUDA is synchronised around each pass). Uses the current torch thread
    count. Each module's train/eval mode is restored afterwards.

    Returns:
        ``{"median_ms", "p90_ms", "min_ms", "batch_size", "threads", "runs"}``: milliseconds
        per forward pass of the whole batch.
    """
    import time

    if runs < 1 or warmup < 0 or batch_size < 1:
        raise ValueError(f"need runs >= 1, warmup >= 0, batch_size >= 1; got {runs}, {warmup}, {batch_size}")
    w, h = _as_size("input_size", input_size if input_size is not None else model.input_size)
    p = next(model.parameters())
    x = torch.zeros(batch_size, 3, h, w, device=p.device, dtype=p.dtype)
    modes = {m: m.training for m in model.modules()}
    model.eval()
    sync = torch.cuda.synchronize if p.device.type == "cuda" else (lambda: None)
    times = []
    try:
        with torch.inference_mode():
            for i in range(warmup + runs):
                sync()
                t0 = time.perf_counter()
                model(x)
                sync()
                if i >= warmup:
                    times.append(1000.0 * (time.perf_counter() - t0))
    finally:
        for m, mode in modes.items():
            m.train(mode)
    t = torch.tensor(times, dtype=torch.float64)
    return {
        "median_ms": float(t.median()),
        "p90_ms": float(torch.quantile(t, 0.9)),
        "min_ms": float(t.min()),
        "batch_size": int(batch_size),
        "threads": int(torch.get_num_threads()),
        "runs": int(runs),
    }
