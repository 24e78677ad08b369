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

__all__ = ["count_flops", "count_parameters"]


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
