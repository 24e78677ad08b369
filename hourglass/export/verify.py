"""Verification of export files: the largest difference from PyTorch on random inputs.

:func:`onnx_max_difference` runs an ONNX file on onnxruntime, :func:`torchscript_max_difference`
a TorchScript archive; both compare with :class:`~hourglass.export.InferenceWrapper` in eval mode.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from hourglass.export.files import _require
from hourglass.export.metadata import _Target

__all__ = ["onnx_max_difference", "torchscript_max_difference"]


def _max_difference(
    path: Path, model_or_loaded: Any, run: Callable[[Tensor], Tensor], batch_sizes: Sequence[int], seed: int
) -> float:
    """Max |run(x) - InferenceWrapper(x)| over seeded normal inputs x (B, 3, H, W), one per batch size.

    inf when either side holds NaN or inf, so a broken export never looks equal.
    """
    if not batch_sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in batch_sizes):
        raise ValueError(f"batch_sizes must be positive ints, got {batch_sizes!r}")
    target = _Target(model_or_loaded, None)
    w, h = target.model.input_size
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    with target.wrapper() as wrapper, torch.no_grad():
        for b in batch_sizes:
            x = torch.randn(b, 3, h, w, generator=gen)  # like normalised images
            ref, out = wrapper(x), run(x)
            if out.shape != ref.shape:
                raise ValueError(
                    f"{path} returns {tuple(out.shape)} for input {tuple(x.shape)}, PyTorch {tuple(ref.shape)}"
                )
            d = float((out - ref).abs().max())
            worst = max(worst, d if math.isfinite(d) else math.inf)
    return worst


def onnx_max_difference(
    path: str | os.PathLike,
    model_or_loaded: Any,
    *,
    batch_sizes: Sequence[int] = (1, 3),
    seed: int = 0,
) -> float:
    """Max |onnxruntime - PyTorch| over random normal inputs (B, 3, H, W), one per batch size.

    The ONNX file runs on onnxruntime's CPU provider (default graph optimisations), PyTorch runs
    :class:`InferenceWrapper` in eval mode. A file exported with a fixed batch accepts only that
    batch size. ``model_or_loaded`` as in :func:`export_onnx`.

    Raises:
        ImportError: onnxruntime not installed. FileNotFoundError: no such file.
        ValueError: a batch size the file does not accept, or an output shape that differs.
    """
    ort = _require("onnxruntime")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX file {path} does not exist")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    if isinstance(inp.shape[0], int) and any(b != inp.shape[0] for b in batch_sizes):
        raise ValueError(f"{path} was exported with a fixed batch of {inp.shape[0]}; use batch_sizes=({inp.shape[0]},)")
    run = lambda x: torch.from_numpy(session.run(None, {inp.name: x.numpy()})[0])  # noqa: E731
    return _max_difference(path, model_or_loaded, run, batch_sizes, seed)


def torchscript_max_difference(
    path: str | os.PathLike,
    model_or_loaded: Any,
    *,
    batch_sizes: Sequence[int] = (1, 3),
    seed: int = 0,
) -> float:
    """Max |TorchScript - PyTorch| over random normal inputs, one per batch size (as :func:`onnx_max_difference`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TorchScript file {path} does not exist")
    return _max_difference(path, model_or_loaded, torch.jit.load(str(path), map_location="cpu"), batch_sizes, seed)
