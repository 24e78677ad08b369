"""A training run's state and its set-up: what :func:`hourglass.engine.train` carries from step to step.

:class:`RunState` holds the model, optimiser, scheduler and grad scaler, the data loaders, the
counters (epoch, batches of it done, step), the best validation metric, the per-epoch history
and the rows of ``steps.csv``; :meth:`RunState.state` is what a checkpoint holds (so that a
resumed run goes on exactly as the uninterrupted one) and :meth:`RunState.save` writes it.
:func:`start_run` does everything before the first step: data, model, optimiser, a checkpoint's
state and counters, ``config.json``, the loaders. The steps are in :mod:`hourglass.engine.loop`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

import hourglass.engine.distributed as ddp
from hourglass.checkpoint import check_architecture, load_checkpoint, save_checkpoint
from hourglass.config import TrainConfig
from hourglass.engine import build, runlog
from hourglass.engine.checkpoint import config_changes, rng_state
from hourglass.engine.resume import check_resumable, restore_state
from hourglass.evaluation import pckh_head_sizes
from hourglass.weights import resolve_weights

__all__ = ["RunState", "open_tensorboard", "start_run"]

logger = logging.getLogger("hourglass.engine")


def _epoch_order(config: TrainConfig, n: int, epoch: int) -> list[list[int]]:
    """Batches (lists of indices) of epoch ``epoch``: a permutation seeded with (seed, epoch).

    The batches are global: under torchrun each rank takes its :func:`~hourglass.engine.distributed.shard`.
    """
    g = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    bs = config.batch_size
    count = n // bs if n > bs else 1
    return [order[i * bs : (i + 1) * bs] for i in range(count)]


class _StepTiming:
    """Wall-clock seconds per optimiser step of this process, after its first :attr:`SKIP` steps
    (worker start-up, cuDNN's algorithm search, the first batches); epoch ends in between count."""

    SKIP = 10

    def __init__(self) -> None:
        self.steps, self.start, self.last = 0, None, None

    def tick(self, step: int) -> None:
        self.steps += 1
        now = time.perf_counter()
        if self.steps == self.SKIP:
            self.start = (now, step)
        self.last = (now, step)

    def seconds_per_step(self) -> float | None:
        """None until :attr:`SKIP` + 1 steps have run."""
        if self.start is None or self.last[1] == self.start[1]:
            return None
        return (self.last[0] - self.start[0]) / (self.last[1] - self.start[1])


class _EpochBatches:
    """The trainer's batch sampler: the batches of the epoch :meth:`set` names, each index paired
    with that epoch (``KeypointDataset[(epoch, i)]``), so that one DataLoader with persistent
    workers serves every epoch instead of starting its workers again for each."""

    def __init__(self) -> None:
        self.epoch, self.batches = 0, []

    def set(self, epoch: int, batches: list[list[int]]) -> None:
        self.epoch, self.batches = epoch, batches

    def __iter__(self):
        return iter([[(self.epoch, i) for i in batch] for batch in self.batches])

    def __len__(self) -> int:
        return len(self.batches)


@dataclass
class RunState:
    """What a training run carries from step to step (one per process; rank 0 writes the files).

    The counters: ``epoch`` is the epoch in progress (0-based; == ``config.epochs`` when all are
    done), ``batch_done`` its batches done, ``step`` the optimiser steps of the whole run,
    ``epoch_loss_sum`` / ``epoch_images`` the epoch's loss sum and subjects so far.
    """

    config: TrainConfig
    info: ddp.DistInfo
    device: torch.device
    model: nn.Module
    arch: dict[str, Any]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    train_set: Any
    val_set: Any
    train_ds: Any
    missing: dict[str, int]
    metric_name: str | None = None
    higher_better: bool = True
    progress: bool = False  # show progress bars (rank 0 only)
    resumed: bool = False
    net: nn.Module | None = None  # the model as trained: DDP-wrapped and/or compiled
    train_loader: Any = None
    val_loader: Any = None
    epoch_batches: _EpochBatches = field(default_factory=_EpochBatches)
    epoch: int = 0
    batch_done: int = 0
    step: int = 0
    best: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    epoch_loss_sum: float = 0.0
    epoch_images: int = 0
    last_loss: float = math.nan
    step_rows: list[dict[str, Any]] = field(default_factory=list)
    timing: _StepTiming = field(default_factory=_StepTiming)
    interrupted: bool = False

    @property
    def run_dir(self) -> Path:
        return Path(self.config.out)

    @property
    def main(self) -> bool:
        return self.info.is_main

    def max_steps_reached(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def epoch_batch_count(self, epoch: int | None = None) -> int:
        """Batches of epoch ``epoch`` (default the one in progress), over all ranks."""
        return len(_epoch_order(self.config, len(self.train_ds), self.epoch if epoch is None else epoch))

    def state(self, rng_ranks: list[Any] | None) -> dict[str, Any]:
        """The checkpoint's content: everything a resumed run needs to go on as this one would."""
        return {
            "format": 1,
            "model": self.model.state_dict(),  # the bare model: no "module." prefix under DDP
            "arch": self.arch,
            "spec": self.train_set.spec.to_dict(),
            "config": self.config.to_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "epoch": self.epoch,
            "batch": self.batch_done,
            "step": self.step,
            "data_order_seed": self.config.seed * 1_000_003 + self.epoch,
            "best_metric": self.best,
            "metric_name": self.metric_name,
            "history": self.history,
            "epoch_loss_sum": self.epoch_loss_sum,
            "epoch_images": self.epoch_images,
            "last_loss": self.last_loss,
            "rng": rng_state(),
            "world_size": self.info.world_size,
            "rng_ranks": rng_ranks,
        }

    def save(self, *names: str) -> None:
        """Write ``steps.csv`` and the checkpoints ``names`` (rank 0); every rank must call it, at the same step."""
        rng_ranks = ddp.all_gather_objects(rng_state()) if self.info.distributed else None
        if not self.main:
            return
        runlog.write_csv(self.run_dir / "steps.csv", ("step", "epoch", "loss", "lr"), self.step_rows)
        content = self.state(rng_ranks)
        for name in names:
            save_checkpoint(content, self.run_dir / name)

    def restore_counters(self, ckpt: dict[str, Any]) -> None:
        """Take the counters, best metric and history of a checkpoint (:meth:`state`)."""
        self.epoch, self.batch_done, self.step = int(ckpt["epoch"]), int(ckpt["batch"]), int(ckpt["step"])
        self.best = ckpt.get("best_metric")
        self.history = list(ckpt.get("history", []))
        self.epoch_loss_sum, self.epoch_images = float(ckpt["epoch_loss_sum"]), int(ckpt["epoch_images"])
        self.last_loss = float(ckpt.get("last_loss", math.nan))


# --- set-up ------------------------------------------------------------------------------------
def start_run(
    config: TrainConfig, info: ddp.DistInfo, device: torch.device, ckpt_path: Path | None, progress: bool
) -> RunState:
    """Everything before the first step: data, model, optimiser, the checkpoint's state, the run folder, loaders.

    ``ckpt_path``: the checkpoint to resume from, or None for a fresh start (from
    ``config.init_from`` when given). The model is left in training mode.
    """
    ckpt = load_checkpoint(ckpt_path) if ckpt_path is not None else None
    if ckpt is not None:
        check_resumable(ckpt, ckpt_path, config)  # before the data is read
    elif config.init_from is not None:
        resolve_weights(config.init_from)  # a wrong name fails before the data is read
    torch.manual_seed(config.seed)
    run, val_ds = _build(config, info, device, ckpt, ckpt_path, progress)
    ddp.seed_rank(config.seed, info.rank, 0)
    if ckpt is not None:
        restore_state(ckpt, ckpt_path, config, run.model, run.optimizer, run.scheduler, run.scaler)
        run.restore_counters(ckpt)
        ddp.restore_rng_state(ckpt, info, config.seed)
        if run.main:
            changed = config_changes(ckpt.get("config"), config)  # "" or "; the config changed: ..."
            msg = f"resumed from {ckpt_path} at epoch {run.epoch}, batch {run.batch_done}, step {run.step}{changed}"
            logger.log(logging.WARNING if changed else logging.INFO, msg)
    ddp.check_same(
        "the data and the resume position (subjects, validation subjects, epoch, batch, step)",
        (len(run.train_set), 0 if run.val_set is None else len(run.val_set), run.epoch, run.batch_done, run.step),
        "every node needs the same --data-root contents, and --out on a file system that all nodes share",
    )
    if run.main:
        _prepare_run_dir(run)
    run.net = ddp.wrap_model(run.model, device)
    run.net = torch.compile(run.net) if config.compile else run.net
    _make_loaders(run, val_ds)
    run.model.train()
    return run


def _build(
    config: TrainConfig,
    info: ddp.DistInfo,
    device: torch.device,
    ckpt: dict[str, Any] | None,
    ckpt_path: Path | None,
    progress: bool,
) -> tuple[RunState, Any]:
    """A fresh run state (the data, model, optimiser, scheduler, scaler), and the validation dataset."""
    main = info.is_main
    progress = progress and main and sys.stderr.isatty()  # no carriage-return bars in a log file
    train_set, val_set, missing = build.load_sets(config, log=main)
    ddp.check_batch_size(config.batch_size, info, len(train_set))
    model = build.build_model_from_config(config, train_set.spec.num_keypoints)
    if ckpt is not None:
        check_architecture(ckpt, model, source=f"checkpoint {ckpt_path}")
    elif config.init_from is not None:
        build.load_initial_weights(config, model, train_set.spec, log=main)
    arch = dict(model.arch)
    train_ds, val_ds = build.build_datasets(
        config, train_set, val_set, progress=progress and main, info=info, model=model
    )
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = build.build_optimizer(config, model)
    batches_per_epoch = len(_epoch_order(config, len(train_ds), 0))
    total = config.epochs * batches_per_epoch  # max_steps only stops the run; the schedule spans epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, build.lr_factor(config, batches_per_epoch, total))
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
    metric_name, higher_better = (None, True)
    if val_set is not None:
        metric_name, higher_better = build.validation_metric_name(val_set.spec, pckh_head_sizes(val_set) is not None)
    run = RunState(
        config, info, device, model, arch, optimizer, scheduler, scaler, train_set, val_set, train_ds, missing,
        metric_name, higher_better, progress=progress and main, resumed=ckpt is not None,
    )  # fmt: skip
    return run, val_ds


def _prepare_run_dir(run: RunState) -> None:
    """Rank 0: create the run folder, write ``config.json``; on resume keep the ``steps.csv`` rows up to the step."""
    run.run_dir.mkdir(parents=True, exist_ok=True)
    (run.run_dir / "config.json").write_text(json.dumps(run.config.to_dict(), indent=2) + "\n")
    steps_csv = run.run_dir / "steps.csv"
    if run.resumed and steps_csv.is_file():
        with open(steps_csv, newline="") as f:
            run.step_rows = [r for r in csv.DictReader(f) if int(r["step"]) <= run.step]


def _make_loaders(run: RunState, val_ds: Any) -> None:
    """The training loader (batches from :class:`_EpochBatches`) and the validation loader (this rank's share)."""
    config, info = run.config, run.info
    # Workers persist across epochs: starting them again for every epoch cost a second or more
    # with 14 workers (benchmarks.bench_loader), a third of an epoch on a fast GPU.
    loader_kw: dict[str, Any] = dict(
        num_workers=config.workers, pin_memory=run.device.type == "cuda", persistent_workers=config.workers > 0
    )
    if val_ds is not None:
        if info.distributed:
            val_ds = torch.utils.data.Subset(val_ds, ddp.shard(range(len(val_ds)), info.rank, info.world_size))
        run.val_loader = torch.utils.data.DataLoader(
            val_ds, batch_size=config.batch_size, shuffle=False, generator=torch.Generator().manual_seed(0), **loader_kw
        )
    run.train_loader = torch.utils.data.DataLoader(
        run.train_ds, batch_sampler=run.epoch_batches, generator=torch.Generator().manual_seed(config.seed), **loader_kw
    )


def open_tensorboard(run: RunState, closing: contextlib.ExitStack) -> Any:
    """Rank 0 with ``config.tensorboard``: a summary writer that ``closing`` closes; else None."""
    if not (run.config.tensorboard and run.main):
        return None
    # Events at steps up to the checkpoint's (its epoch's validation too) stay; later ones are redone.
    purge = run.step + 1 if run.resumed else None
    tb = runlog.summary_writer_class()(log_dir=str(run.run_dir / "tensorboard"), purge_step=purge)
    closing.callback(tb.close)
    return tb
