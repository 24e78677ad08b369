"""Training state beside the checkpoint files: RNG states and the config changes a resume reports.

The file functions (``save_checkpoint``, ``load_checkpoint``, ``check_architecture``,
``latest_checkpoint``, ``LAST``, ``BEST``) moved to :mod:`hourglass.checkpoint`; importing them
from here still works for one release, with a DeprecationWarning.
"""

from __future__ import annotations

import random
import warnings
from typing import Any

import numpy as np
import torch

import hourglass.checkpoint as _files

__all__ = ["config_changes", "rng_state", "set_rng_state", "RUN_CONTROL_FIELDS"]

_MOVED = frozenset(("FORMAT", "LAST", "BEST", "epoch_checkpoint_name", "save_checkpoint", "load_checkpoint",
                    "check_architecture", "latest_checkpoint"))  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        warnings.warn(
            f"hourglass.engine.checkpoint.{name} moved to hourglass.checkpoint.{name}; import it from there "
            "(the old name goes in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def rng_state() -> dict[str, Any]:
    """The Python, numpy and torch (CPU and CUDA) random states, as tensors and plain values."""
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": {"version": version, "state": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {
            "name": str(name),
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` returned."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


RUN_CONTROL_FIELDS = frozenset(
    ("out", "max_steps", "log_every", "ckpt_every_steps", "keep_epochs", "tensorboard", "workers")
)
"""TrainConfig fields a resumed run may change without changing what it computes."""


def config_changes(saved: dict[str, Any] | None, config: Any) -> str:
    """What differs between a checkpoint's saved config and the config a run resumes with.

    Args:
        saved: the checkpoint's ``"config"`` (``TrainConfig.to_dict()``), or None.
        config: the resuming :class:`~hourglass.config.TrainConfig`.

    Fields that only control the run and not what it computes (:data:`RUN_CONTROL_FIELDS`:
    the folder, when to stop, logging, checkpoint frequency, loader workers) are not changes.

    Returns:
        ``""`` when nothing else differs; else ``"; the config changed: epochs 36 -> 44,
        amp 'none' -> 'bf16' (the run no longer repeats an uninterrupted one)"``, to append to
        the resume message.
    """
    if not saved:
        return ""
    now = config.to_dict()
    changed = [
        f"{k} {saved[k]!r} -> {now[k]!r}"
        for k in sorted(now)
        if k not in RUN_CONTROL_FIELDS and k in saved and _comparable(saved[k]) != _comparable(now[k])
    ]
    if not changed:
        return ""
    return f"; the config changed: {', '.join(changed)} (the run no longer repeats an uninterrupted one)"


def _comparable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value
