"""Training checkpoints: atomic writes, safe loading, architecture checks, RNG states.

A checkpoint is a plain dict that ``torch.load(..., weights_only=True)`` can read (tensors,
numbers, strings, lists, dicts; no pickled objects)::

    {"format": 1, "model": state_dict, "arch": model.arch, "spec": KeypointSpec.to_dict(),
     "config": TrainConfig.to_dict(), "optimizer": ..., "scheduler": ..., "scaler": ... or None,
     "epoch": e, "batch": b, "step": s, "best_metric": float or None, "rng": rng_state(), ...}

``epoch`` is the epoch in progress and ``batch`` the number of its batches already done
(``batch == 0``: the epoch has not started); ``step`` counts optimiser steps over the run.
Files are written to a temporary file in the same folder and moved over the target with
``os.replace``, so a reader (or a run killed mid-write) never sees a partial file.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "LAST",
    "BEST",
    "save_checkpoint",
    "load_checkpoint",
    "check_architecture",
    "latest_checkpoint",
    "config_changes",
    "rng_state",
    "set_rng_state",
]

FORMAT = 1
LAST = "last.pt"
"""File name of the latest (periodic, end-of-epoch or interrupt) checkpoint in a run folder."""
BEST = "best.pt"
"""File name of the checkpoint with the best validation metric."""


def epoch_checkpoint_name(epoch: int) -> str:
    """File name of the checkpoint kept at the end of (1-based) ``epoch``: ``epoch007.pt``."""
    return f"epoch{epoch:03d}.pt"


def save_checkpoint(state: dict[str, Any], path: str | Path) -> Path:
    """Write ``state`` to ``path`` atomically (temporary file in the same folder + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device | None = "cpu") -> dict[str, Any]:
    """Read a checkpoint with ``torch.load(weights_only=True)``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a checkpoint of this toolkit (unreadable, or a dict without
            ``"model"`` and ``"arch"``).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass a .pt file or a run folder holding {LAST}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise ValueError(f"cannot read checkpoint {path}: {type(e).__name__}: {e}") from None
    if not isinstance(ckpt, dict) or "model" not in ckpt or "arch" not in ckpt:
        raise ValueError(f"{path} is not a training checkpoint of this toolkit (no 'model' and 'arch' entries)")
    return ckpt


def check_architecture(ckpt: dict[str, Any], model: nn.Module, *, source: str = "checkpoint") -> None:
    """Raise ``ValueError`` naming both architectures when ``ckpt["arch"]`` differs from ``model.arch``."""
    model_arch = getattr(model, "arch", None)
    if model_arch is None:
        raise ValueError("the model has no .arch; build it with hourglass.models.build_model")
    if ckpt.get("arch") != model_arch:
        raise ValueError(
            f"{source} holds architecture {ckpt.get('arch')} but the configured model is {model_arch}; "
            f"use the same model options as the checkpoint's run, or another checkpoint"
        )


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    """The run folder's latest checkpoint (``last.pt``), or None when there is none."""
    path = Path(run_dir) / LAST
    return path if path.is_file() else None


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
        config: the resuming :class:`~hourglass.engine.config.TrainConfig`.

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
