"""Checkpoint and weights files: the one atomic writer and the one reader with every check.

A checkpoint is a plain dict that ``torch.load(..., weights_only=True)`` can read (tensors,
numbers, strings, lists, dicts; no pickled objects)::

    {"format": 1, "model": state_dict, "arch": model.arch, "spec": KeypointSpec.to_dict(),
     "config": TrainConfig.to_dict(), "optimizer": ..., "scheduler": ..., "scaler": ... or None,
     "epoch": e, "batch": b, "step": s, "best_metric": float or None, "rng": rng_state(), ...}

``epoch`` is the epoch in progress and ``batch`` the number of its batches already done
(``batch == 0``: the epoch has not started); ``step`` counts optimiser steps over the run.
Weights files (:func:`hourglass.weights.export_weights`) are the same kind of dict with the
training state left out. Files are written to a temporary file in the same folder and moved
over the target with ``os.replace``, so a reader (or a run killed mid-write) never sees a
partial file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = [
    "BEST",
    "LAST",
    "REQUIRED",
    "check_architecture",
    "epoch_checkpoint_name",
    "latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
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


REQUIRED = ("model", "arch")
"""Entries every checkpoint and weights file of this toolkit holds; a model also needs ``"spec"``
and ``"config"`` (:func:`hourglass.weights.load_model` asks for them with ``require``)."""


def load_checkpoint(
    path: str | Path, map_location: str | torch.device | None = "cpu", *, require: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read a training checkpoint or weights file with ``torch.load(weights_only=True)``: the one reader.

    Args:
        require: entries needed beyond :data:`REQUIRED` (e.g. ``("spec", "config")``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is unreadable (not saved by this toolkit, corrupt or truncated) or
            is a dict without the :data:`REQUIRED` and ``require`` entries; the message names the
            file and the missing entries.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist; pass a .pt file or a run folder holding {LAST}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise ValueError(
            f"cannot read model file {path} ({type(e).__name__}): it is not a model saved by this toolkit, "
            "or it is corrupt or truncated (a run killed while writing leaves the previous file intact, so "
            "a truncated file was copied or cut elsewhere); pass a file written by tools/train.py or "
            "hourglass.weights.export_weights"
        ) from None
    missing = [k for k in (*REQUIRED, *require) if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise ValueError(
            f"{path} is not a checkpoint or weights file of this toolkit (missing {missing}); "
            "pass a file written by tools/train.py or hourglass.weights.export_weights"
        )
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
