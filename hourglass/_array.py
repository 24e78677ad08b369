"""Small helpers for functions that accept numpy arrays and torch tensors alike."""

from __future__ import annotations

from typing import Any, Union

import numpy as np

ArrayLike = Union[np.ndarray, "torch.Tensor"]  # noqa: F821  (torch imported lazily)


def is_tensor(x: Any) -> bool:
    """True for a torch tensor, without importing torch when it is not loaded."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def json_floats(x: Any, digits: int) -> list:
    """``x`` as (nested) lists of floats rounded to ``digits``, with ``None`` for NaN or infinity
    (JSON has no NaN: ``json.dumps`` would write a token other readers reject)."""
    a = np.round(np.asarray(x, dtype=np.float64), digits)
    return np.where(np.isfinite(a), a, None).tolist()


def as_float_array(x: Any) -> np.ndarray:
    """A floating numpy view of ``x`` (float64 for integer or bool input); never copies floats."""
    a = np.asarray(x)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(np.float64)
    return a
