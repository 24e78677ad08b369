"""Resuming a run: which checkpoint, which config, and restoring its training state.

- :func:`resume_path`: the checkpoint a ``resume=`` argument names (run folder, file or latest).
- :func:`resume_config`: the config a resumed run starts from, the checkpoint's own, so that
  ``tools/train.py --out RUN --resume`` continues RUN without repeating its flags.
- :func:`restore_state`: loads model, optimiser, scheduler and grad-scaler states into the
  freshly built ones, then applies the resuming config's learning rate and weight decay (a
  resumed optimiser otherwise keeps the saved ones, and the run would train with values its
  ``config.json`` does not say).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from hourglass.checkpoint import LAST, latest_checkpoint, load_checkpoint
from hourglass.config import TrainConfig

__all__ = ["resume_path", "resume_config", "check_resumable", "restore_state", "TRAINING_STATE_KEYS"]

logger = logging.getLogger("hourglass.engine")

TRAINING_STATE_KEYS = ("optimizer", "scheduler", "epoch", "batch", "step", "epoch_loss_sum", "epoch_images", "rng")
"""Entries a training checkpoint needs besides ``model`` and ``arch`` (a packed weights file has none)."""


def resume_path(config: TrainConfig, resume: bool | str | Path | None) -> Path | None:
    """The checkpoint to continue from.

    Args:
        config: the run's config (``config.out`` is the run folder).
        resume: None/False: none (an existing ``last.pt`` in the run folder is an error, to
            avoid overwriting a run by accident); True or ``"latest"``: the run folder's
            ``last.pt``, or None with a warning when there is none (a fresh start, so a job
            script can always pass ``--resume``); a folder: its ``last.pt``; a file: that file.
    """
    run_dir = Path(config.out)
    if resume is True or resume == "latest":
        found = latest_checkpoint(run_dir)
        if found is None:
            logger.warning("no %s in run folder %s to resume from: starting a new run there", LAST, run_dir)
        return found
    if resume not in (None, False):
        path = Path(resume)
        if path.is_dir():
            found = latest_checkpoint(path)
            if found is None:
                raise FileNotFoundError(f"no {LAST} in {resume} to resume from")
            return found
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint {resume} to resume from does not exist")
        return path
    if latest_checkpoint(run_dir) is not None:
        raise ValueError(
            f"run folder {run_dir} already holds {LAST}; pass --resume to continue it or choose another --out"
        )
    return None


def resume_config(resume: str | Path, out: str | Path) -> dict[str, Any] | None:
    """The saved config (a :meth:`TrainConfig.to_dict`) of the checkpoint ``resume`` names.

    ``max_steps`` is left out: it stopped the earlier invocation, and a resume without a new
    ``max_steps`` runs to the end of ``epochs``.

    ``resume`` is ``"latest"`` (the ``last.pt`` of the run folder ``out``), a run folder or a
    checkpoint file, as for :func:`resume_path`. Returns None when ``"latest"`` finds no
    checkpoint (a fresh start); raises as :func:`check_resumable` for a file that is not a
    training checkpoint.
    """
    if resume is True or resume == "latest":
        path = latest_checkpoint(out)  # None: train() starts afresh (and says so)
        if path is None:
            return None
    else:
        path = resume_path(TrainConfig(out=str(out)), resume)
    ckpt = load_checkpoint(path)
    check_resumable(ckpt, path)
    saved = ckpt.get("config")
    if not isinstance(saved, dict):
        raise ValueError(f"checkpoint {path} holds no training config; pass the run's flags (e.g. --preset)")
    return {k: v for k, v in saved.items() if k != "max_steps"}


def check_resumable(ckpt: dict[str, Any], path: str | Path, config: TrainConfig | None = None) -> None:
    """Raise ``ValueError`` naming ``path`` when ``ckpt`` cannot resume a run (with ``config``).

    That is when it lacks the training state (:data:`TRAINING_STATE_KEYS`; e.g. a packed
    weights file), or was trained with another optimiser than ``config``'s (its moment
    estimates do not carry over).
    """
    missing = [k for k in TRAINING_STATE_KEYS if k not in ckpt]
    if missing:
        kind = "a packed weights file" if "source" in ckpt or "metrics" in ckpt else "not a training checkpoint"
        raise ValueError(
            f"{path} is {kind}: it has no {', '.join(missing)}, so a run cannot resume from it; "
            f"resume from a run folder's {LAST} (or best.pt)"
        )
    saved = (ckpt.get("config") or {}).get("optimizer")
    if config is not None and saved is not None and saved != config.optimizer:
        raise ValueError(
            f"checkpoint {path} was trained with --optimizer {saved}, not {config.optimizer}; its optimiser state "
            f"cannot carry over: resume with --optimizer {saved}, or start a new run (another --out)"
        )


def restore_state(
    ckpt: dict[str, Any],
    path: str | Path,
    config: TrainConfig,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LambdaLR,
    scaler: torch.amp.GradScaler,
) -> None:
    """Load the checkpoint's states, then apply ``config``'s learning rate and weight decay.

    The scheduler's position (step) comes from the checkpoint and its formula from ``config``
    (:func:`hourglass.engine.build.lr_factor`), so a longer ``epochs`` stretches the schedule
    from the current step on. With an unchanged config the learning rate is exactly the saved
    one, and the resumed run repeats the uninterrupted one.

    Raises:
        ValueError: as :func:`check_resumable`.
    """
    check_resumable(ckpt, path, config)
    used = sorted({float(g.get("weight_decay", 0.0)) for g in ckpt["optimizer"].get("param_groups", [])})
    saved = (ckpt.get("config") or {}).get("weight_decay")
    if used and used != [config.weight_decay] and saved == config.weight_decay:
        # e.g. AdamW runs of versions that turned weight_decay 0 into 1e-4 without saying so
        logger.warning(
            "checkpoint %s trained with weight decay %s although its config says %s; the run goes on with %s "
            "(pass --weight-decay %s to keep the old value)", path, used[0], saved, config.weight_decay, used[0],
        )  # fmt: skip
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt.get("scaler"):
        scaler.load_state_dict(ckpt["scaler"])
    base = config.learning_rate
    scheduler.base_lrs = [base] * len(optimizer.param_groups)
    lrs = [base * factor(scheduler.last_epoch) for factor in scheduler.lr_lambdas]
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):
        group.update(lr=lr, initial_lr=base, weight_decay=config.weight_decay)
    scheduler._last_lr = lrs  # what get_last_lr() reports until the next step
