"""Array plumbing of the codec: numpy <-> torch without copies, dtypes, argument checks.

Numpy inputs are wrapped as tensors without a copy and results go back to the caller's kind;
large CPU outputs are allocated by numpy, and the shared argument checks live here.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hourglass._array import ArrayLike, is_tensor

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def _as_tensor(x: Any, name: str) -> tuple[torch.Tensor, bool]:
    """``x`` as a tensor (numpy input wrapped without a copy) and whether it was not a tensor."""
    if is_tensor(x):
        return x, False
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numpy array or torch tensor of numbers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a)
    with warnings.catch_warnings():  # read-only arrays are fine: nothing here writes to inputs
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a), True


def _float(t: torch.Tensor) -> torch.Tensor:
    """float32/float64 kept; half precision computed in float32; integers and bool in float64."""
    if t.dtype in (torch.float32, torch.float64):
        return t
    return t.to(torch.float32 if t.is_floating_point() else torch.float64)


def _result(t: torch.Tensor, as_numpy: bool) -> ArrayLike:
    return t.numpy() if as_numpy else t


def _empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if device.type == "cpu" and dtype in _NUMPY_DTYPES:
        # numpy madvises large buffers into huge pages: filling a fresh 64 MB torch buffer
        # page-faults about three times slower than filling a numpy one.
        return torch.from_numpy(np.empty(shape, dtype=_NUMPY_DTYPES[dtype]))
    return torch.empty(shape, dtype=dtype, device=device)


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
        ok = w > 0 and h > 0 and (w, h) == tuple(size)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"heatmap_size must be a (W, H) pair of positive integers, got {size!r}")
    return w, h


def _check_positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return v


def _torch_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        out = dtype
    else:
        try:
            out = {np.dtype(np.float16): torch.float16, np.dtype(np.float32): torch.float32,
                   np.dtype(np.float64): torch.float64}.get(np.dtype(dtype))  # fmt: skip
        except TypeError:
            out = None
    if out is None or not out.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype such as float32 or float64, got {dtype!r}")
    return out


def _heatmap_batch(heatmaps: Any, name: str = "heatmaps") -> tuple[torch.Tensor, bool, bool]:
    """(B, K, H, W) tensor view, whether the input was numpy, whether it had no batch axis."""
    t, as_numpy = _as_tensor(heatmaps, name)
    if t.dim() not in (3, 4):
        raise ValueError(f"{name} must have shape (B, K, H, W) or (K, H, W), got {tuple(t.shape)}")
    return (t if t.dim() == 4 else t.unsqueeze(0)), as_numpy, t.dim() == 3
