"""The training loop: :func:`train` runs one :class:`~hourglass.config.TrainConfig`.

What a run writes to its folder (``config.out``):

- ``config.json``: the frozen config;
- ``last.pt``: the latest checkpoint (every ``ckpt_every_steps`` steps, at the end of every
  epoch, on Ctrl-C and at the end), ``best.pt``: the best validation metric so far;
  both written atomically (:mod:`hourglass.engine.checkpoint`); with ``keep_epochs`` also
  ``epoch<NNN>.pt``, the checkpoint at the end of epoch NNN (1-based);
- ``log.csv``: one row per epoch (train loss, validation metric, lr, images/s; an epoch that
  ``max_steps`` cut short gets a row that the resumed run replaces when the epoch completes);
  ``steps.csv``: one row every ``log_every`` steps (step, epoch, loss, lr);
- ``curves.png``: training loss and validation metric per epoch, redrawn every epoch;
- ``summary.json``: final step, final loss, best metric, world size, the number of subjects
  left out per split because their image file is missing, and ``seconds_per_step``: this
  process's wall-clock seconds per optimiser step after its first 10 (start-up excluded; epoch
  ends in between included; null for shorter runs), which ``tools/budget_train.py`` plans with;
- ``tensorboard/``: with ``TrainConfig.tensorboard``, TensorBoard scalars (training loss and lr
  every ``log_every`` steps; per epoch the mean training loss, the validation metric and images/s).

Before training, every image path of the training and validation sets is checked
(:func:`hourglass.data.drop_missing_images`): missing ones are left out with a warning or are an error
(``TrainConfig.missing_images``), so a run never stops on a missing file mid-epoch.

Under ``torchrun`` the run is data-parallel (:mod:`hourglass.engine.distributed`: global batch,
per-rank slices of the same epoch order, reduced losses, gathered validation predictions);
only rank 0 writes files and shows the progress bar.

Determinism and resume. Epoch ``e``'s data order is ``torch.randperm`` from a generator seeded
with ``(seed, e)``, and the dataset draws sample ``i``'s augmentation from ``(seed, e, i)``
(:class:`~hourglass.data.KeypointDataset`), so the data of every step is a function of the
config alone. A checkpoint stores the model, optimiser, scheduler, grad scaler, the epoch in
progress with the number of its batches done, the step, and the Python/numpy/torch random
states. Resuming rebuilds that epoch's order, skips the batches already done and restores the
random states, so a resumed CPU run reproduces the uninterrupted run's losses bit for bit
(same machine, same thread count). A distributed checkpoint also holds every rank's random
state (``rng_ranks``); the data order and augmentation do not depend on the world size.

Validation metric: the headline of :func:`hourglass.evaluation.evaluate` on the
un-augmented validation crops: faces NME inter-ocular (lower is better); MPII PCKh@0.5 with the
official joint-weighted Mean when every subject has a head size (a head box, or ``valid.h5``'s
``normalize``: :func:`~hourglass.evaluation.pckh_head_sizes`); other bodies, and MPII
without them, PCK@0.2 of the torso (higher is better). Heatmaps are decoded with DARK (blur
sigma = the target sigma).
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import hourglass.engine.distributed as ddp
from hourglass.checkpoint import (
    BEST,
    LAST,
    check_architecture,
    epoch_checkpoint_name,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from hourglass.config import TrainConfig
from hourglass.engine import build, runlog
from hourglass.engine.checkpoint import config_changes, rng_state
from hourglass.engine.resume import check_resumable, restore_state, resume_path
from hourglass.evaluation import pckh_head_sizes
from hourglass.weights import resolve_weights

__all__ = ["TrainResult", "TrainingDiverged", "train"]

logger = logging.getLogger("hourglass.engine")


class TrainingDiverged(FloatingPointError):
    """The loss or the gradients became NaN or infinite; the message names the step and the last good checkpoint."""


def _diverged(what: str, step: int, epoch: int, scheduler: Any, run_dir: Path) -> TrainingDiverged:
    last = latest_checkpoint(run_dir)
    return TrainingDiverged(
        f"{what} at step {step + 1} (epoch {epoch + 1}, lr {scheduler.get_last_lr()[0]:.3g}); training stopped. "
        f"The last good checkpoint is {last if last is not None else 'none (no checkpoint was written yet)'}; "
        f"lower --lr, add --warmup-steps, or check the data"
    )


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        run_dir: the run folder.
        step: optimiser steps done over the whole run.
        epoch: the epoch in progress when the run stopped (== epochs when all finished).
        final_loss: the loss of the last step (NaN if no step ran).
        metric_name, best_metric: the validation metric and its best value (None: no validation).
        history: one dict per epoch (the rows of ``log.csv``); the last may be an epoch that
            ``max_steps`` ended early, whose row a resumed run replaces when the epoch completes.
        interrupted: the run stopped on Ctrl-C (SIGINT) after saving ``last.pt``.
        checkpoint: path of ``last.pt``.
    """

    run_dir: Path
    step: int
    epoch: int
    final_loss: float
    metric_name: str | None
    best_metric: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    checkpoint: Path | None = None


# --- the loop --------------------------------------------------------------------------------
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


def train(config: TrainConfig, *, resume: bool | str | Path | None = None, progress: bool = True) -> TrainResult:
    """Train the configured model; see the module docstring for what is written where.

    Under ``torchrun`` (``WORLD_SIZE`` > 1 in the environment) this joins the process group
    (unless the caller already did), trains data-parallel and leaves the group at the end.

    Args:
        config: the run's configuration.
        resume: None/False: start fresh (an existing ``last.pt`` in the run folder is an error,
            to avoid overwriting a run by accident); True or ``"latest"``: continue from the run
            folder's ``last.pt`` (a fresh start, with a warning, when there is none); a path:
            continue from that file or run folder (:func:`hourglass.engine.resume.resume_path`).
            The run uses ``config``: its learning rate, weight decay and schedule apply from the
            resumed step on (:func:`hourglass.engine.resume.restore_state`).
        progress: show a tqdm progress bar (rank 0 only).

    Returns:
        a :class:`TrainResult` (the same on every rank).

    Raises:
        FileNotFoundError / ValueError / DataError: missing data root, bad split, missing images
            with ``missing_images="error"``, a checkpoint of another architecture, an existing
            run folder without ``resume``, a batch size not divisible by the world size.
        ModuleNotFoundError: ``config.tensorboard`` without the tensorboard package.
        TrainingDiverged: the loss or the gradients became NaN or infinite (``last.pt`` keeps
            the last good state).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    config.check_run()
    if config.tensorboard:
        runlog.summary_writer_class()
    info = ddp.env_info()
    device = build.run_device(config, info)
    ddp.check_batch_size(config.batch_size, info)
    ckpt_path = resume_path(config, resume)
    created = ddp.init_process_group(info, device)
    try:
        result = _train(config, info, device, ckpt_path, progress)
        ddp.barrier()  # every rank is done before the group goes away (an early teardown can abort a peer)
        return result
    finally:
        ddp.cleanup(created)


def _train(config: TrainConfig, info: ddp.DistInfo, device: torch.device, ckpt_path: Path | None, progress: bool):
    from tqdm.auto import tqdm

    main, world = info.is_main, info.world_size
    run_dir = Path(config.out)
    ckpt = load_checkpoint(ckpt_path) if ckpt_path is not None else None
    if ckpt is not None:
        check_resumable(ckpt, ckpt_path, config)  # before the data is read
    elif config.init_from is not None:
        resolve_weights(config.init_from)  # a wrong name fails before the data is read
    torch.manual_seed(config.seed)
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

    epoch, batch_done, step, best = 0, 0, 0, None
    timing = _StepTiming()
    history: list[dict[str, Any]] = []
    epoch_loss_sum, epoch_images, last_loss = 0.0, 0, math.nan
    ddp.seed_rank(config.seed, info.rank, 0)
    if ckpt is not None:
        restore_state(ckpt, ckpt_path, config, model, optimizer, scheduler, scaler)
        epoch, batch_done, step = int(ckpt["epoch"]), int(ckpt["batch"]), int(ckpt["step"])
        best = ckpt.get("best_metric")
        history = list(ckpt.get("history", []))
        epoch_loss_sum, epoch_images = float(ckpt["epoch_loss_sum"]), int(ckpt["epoch_images"])
        last_loss = float(ckpt.get("last_loss", math.nan))
        ddp.restore_rng_state(ckpt, info, config.seed)
        if main:
            changed = config_changes(ckpt.get("config"), config)  # "" or "; the config changed: ..."
            msg = f"resumed from {ckpt_path} at epoch {epoch}, batch {batch_done}, step {step}{changed}"
            logger.log(logging.WARNING if changed else logging.INFO, msg)

    ddp.check_same(
        "the data and the resume position (subjects, validation subjects, epoch, batch, step)",
        (len(train_set), 0 if val_set is None else len(val_set), epoch, batch_done, step),
        "every node needs the same --data-root contents, and --out on a file system that all nodes share",
    )
    steps_csv = run_dir / "steps.csv"
    step_rows: list[dict[str, Any]] = []
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
        if ckpt is not None and steps_csv.is_file():
            with open(steps_csv, newline="") as f:
                step_rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    net = ddp.wrap_model(model, device)
    net = torch.compile(net) if config.compile else net

    def state(rng_ranks: list[Any] | None) -> dict[str, Any]:
        return {
            "format": 1,
            "model": model.state_dict(),  # the bare model: no "module." prefix under DDP
            "arch": arch,
            "spec": train_set.spec.to_dict(),
            "config": config.to_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if scaler.is_enabled() else None,
            "epoch": epoch,
            "batch": batch_done,
            "step": step,
            "data_order_seed": config.seed * 1_000_003 + epoch,
            "best_metric": best,
            "metric_name": metric_name,
            "history": history,
            "epoch_loss_sum": epoch_loss_sum,
            "epoch_images": epoch_images,
            "last_loss": last_loss,
            "rng": rng_state(),
            "world_size": world,
            "rng_ranks": rng_ranks,
        }

    def save(*names: str) -> None:
        """Write checkpoints (rank 0); every rank must call it, at the same step."""
        rng_ranks = ddp.all_gather_objects(rng_state()) if info.distributed else None
        if not main:
            return
        runlog.write_csv(steps_csv, ("step", "epoch", "loss", "lr"), step_rows)
        content = state(rng_ranks)
        for name in names:
            save_checkpoint(content, run_dir / name)

    # Workers persist across epochs: starting them again for every epoch cost a second or more
    # with 14 workers (benchmarks.bench_loader), a third of an epoch on a fast GPU.
    loader_kw: dict[str, Any] = dict(
        num_workers=config.workers, pin_memory=device.type == "cuda", persistent_workers=config.workers > 0
    )
    val_loader = None
    if val_ds is not None:
        if info.distributed:
            val_ds = torch.utils.data.Subset(val_ds, ddp.shard(range(len(val_ds)), info.rank, world))
        val_loader = torch.utils.data.DataLoader(
            val_ds, batch_size=config.batch_size, shuffle=False, generator=torch.Generator().manual_seed(0), **loader_kw
        )
    epoch_batches = _EpochBatches()
    train_loader = torch.utils.data.DataLoader(
        train_ds, batch_sampler=epoch_batches, generator=torch.Generator().manual_seed(config.seed), **loader_kw
    )
    interrupted = False
    model.train()
    with ddp.StopFlag(patience=2 if info.distributed else 1) as stop, contextlib.ExitStack() as closing:
        tb = None
        if config.tensorboard and main:
            # Events at steps up to the checkpoint's (its epoch's validation too) stay; later ones are redone.
            purge = step + 1 if ckpt else None
            tb = runlog.summary_writer_class()(log_dir=str(run_dir / "tensorboard"), purge_step=purge)
            closing.callback(tb.close)
        while epoch < config.epochs and (config.max_steps is None or step < config.max_steps) and not interrupted:
            batches = _epoch_order(config, len(train_ds), epoch)[batch_done:]
            if info.distributed:
                batches = [ddp.shard(b, info.rank, world) for b in batches]
            train_ds.set_epoch(epoch)
            epoch_batches.set(epoch, batches)
            t0, images_run = time.perf_counter(), 0
            bar = tqdm(
                train_loader, total=len(batches), desc=f"epoch {epoch + 1}/{config.epochs}",
                disable=not (progress and main),
            )  # fmt: skip
            for batch in bar:
                image = batch.image.to(device, non_blocking=True)
                if config.channels_last:
                    image = image.contiguous(memory_format=torch.channels_last)
                batch = batch._replace(
                    heatmaps=batch.heatmaps.to(device), target_weight=batch.target_weight.to(device),
                    coords_normalized=batch.coords_normalized.to(device), coord_weight=batch.coord_weight.to(device),
                )  # fmt: skip
                with build.autocast(config, device):
                    output = net(image)
                loss, den = build.batch_loss(config, output, batch)
                # the global batch's loss and subjects, and whether any rank was interrupted
                value, n, stopping, scaled = ddp.reduce_step(loss, den, image.shape[0], stop.set)
                if not math.isfinite(value):
                    raise _diverged(f"loss is {value}", step, epoch, scheduler, run_dir)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(scaled).backward()
                if not scaler.is_enabled():  # fp16's scaler skips steps with inf gradients by itself
                    grads = [p.grad.detach() for p in model.parameters() if p.grad is not None]
                    # one fused launch per device and dtype, not one per tensor (torch.nn.utils.get_total_norm
                    # does the same but needs torch >= 2.6)
                    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
                    if not torch.isfinite(norm):  # a finite loss can still give inf gradients
                        raise _diverged(f"the gradient norm is {norm.item()}", step, epoch, scheduler, run_dir)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                timing.tick(step)
                batch_done += 1
                last_loss = value
                epoch_loss_sum += value * n
                epoch_images += n
                images_run += n
                if step % config.log_every == 0 and main:
                    lr = optimizer.param_groups[0]["lr"]
                    step_rows.append({"step": step, "epoch": epoch, "loss": repr(value), "lr": lr})
                    rate = images_run / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{value:.4g}", img_s=f"{rate:.1f}")
                    if tb is not None:
                        tb.add_scalar("train/loss", value, step)
                        tb.add_scalar("train/lr", lr, step)
                if config.ckpt_every_steps and step % config.ckpt_every_steps == 0:
                    save(LAST)
                if stopping:
                    interrupted = True
                    break
                if config.max_steps is not None and step >= config.max_steps:
                    break
            bar.close()
            if interrupted:
                break
            epoch_done = batch_done == len(_epoch_order(config, len(train_ds), epoch))
            if not epoch_done and (config.max_steps is None or step < config.max_steps):
                continue
            metric = math.nan
            if val_loader is not None:
                metric = build.validate(config, model, val_loader, val_set, device)
            seconds = time.perf_counter() - t0
            if history and history[-1]["epoch"] == epoch + 1:  # this epoch's partial row (a max_steps stop)
                part = history.pop()
                images_run += part["images_per_s"] * part["seconds"]
                seconds += part["seconds"]
            history.append({
                "epoch": epoch + 1, "step": step, "train_loss": epoch_loss_sum / max(epoch_images, 1),
                "metric": metric, "lr": optimizer.param_groups[0]["lr"],
                "images_per_s": images_run / max(seconds, 1e-9), "seconds": seconds,
            })  # fmt: skip
            improved = math.isfinite(metric) and (best is None or (metric > best if higher_better else metric < best))
            if improved:
                best = metric
            if epoch_done:
                epoch, batch_done, epoch_loss_sum, epoch_images = epoch + 1, 0, 0.0, 0
            if main:
                runlog.write_csv(run_dir / "log.csv", runlog.EPOCH_FIELDS, history)
                runlog.plot_history(run_dir / "curves.png", history, metric_name)
            kept = (epoch_checkpoint_name(epoch),) if config.keep_epochs and epoch_done else ()
            save(*((LAST, BEST) if improved else (LAST,)), *kept)
            if tb is not None:
                runlog.add_epoch_scalars(tb, history[-1], metric_name, step)
            if main:
                logger.info(
                    "epoch %d step %d loss %.5g %s %s", epoch, step, history[-1]["train_loss"], metric_name, metric
                )
    if interrupted:
        save(LAST)
        if main:
            logger.warning("interrupted: saved %s at step %d", run_dir / LAST, step)
    if main:
        summary = {"step": step, "epoch": epoch, "final_loss": last_loss, "metric_name": metric_name,
                   "best_metric": best, "interrupted": interrupted, "world_size": world,
                   "missing_images": missing, "seconds_per_step": timing.seconds_per_step()}  # fmt: skip
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    ddp.barrier()
    return TrainResult(run_dir, step, epoch, last_loss, metric_name, best, history, interrupted, run_dir / LAST)
