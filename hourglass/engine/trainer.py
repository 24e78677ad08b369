"""The training loop: :func:`train` runs one :class:`~hourglass.config.TrainConfig`.

What a run writes to its folder (``config.out``):

- ``config.json``: the frozen config;
- ``last.pt``: the latest checkpoint (every ``ckpt_every_steps`` steps, at the end of every
  epoch, on Ctrl-C and at the end), ``best.pt``: the best validation metric so far;
  both written atomically (:mod:`hourglass.engine.checkpoint`); with ``keep_epochs`` also
  ``epoch<NNN>.pt``, the checkpoint at the end of epoch NNN (1-based);
- ``log.csv``: one row per epoch (train loss, validation metric in percent as ``metric_pct``, lr,
  images/s; an epoch that ``max_steps`` cut short gets a row that the resumed run replaces when
  the epoch completes);
  ``steps.csv``: one row every ``log_every`` steps (step, epoch, loss, lr);
- ``curves.png``: training loss and validation metric (in percent) per epoch, redrawn every epoch;
- ``summary.json``: final step, final loss, ``metric_name`` and the best metric in percent
  (``best_metric_pct``), world size, the number of subjects left out per split because their
  image file is missing, and ``seconds_per_step``: this
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

Console (rank 0, through the ``hourglass`` logger): start-up lines (:func:`~hourglass.engine.loop.start_summary`)
and one line per epoch with the loss and the validation metric in percent; a warning when the
validation heatmaps are flat (:func:`hourglass.codec.flat_heatmap_warning`).

Validation metric: the headline of :func:`hourglass.evaluation.evaluate` on the
un-augmented validation crops: faces NME inter-ocular (lower is better); MPII PCKh@0.5 with the
official joint-weighted Mean when every subject has a head size (a head box, or ``valid.h5``'s
``normalize``: :func:`~hourglass.evaluation.pckh_head_sizes`); other bodies, and MPII
without them, PCK@0.2 of the torso (higher is better). Heatmaps are decoded with DARK (blur
sigma = the target sigma).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

import hourglass.engine.distributed as ddp
from hourglass.checkpoint import LAST
from hourglass.config import TrainConfig
from hourglass.engine import build, runlog
from hourglass.engine.loop import TrainingDiverged, end_epoch, finish_run, start_summary, train_epoch
from hourglass.engine.resume import resume_path
from hourglass.engine.run_state import _epoch_order, _StepTiming, open_tensorboard, start_run  # noqa: F401

__all__ = ["TrainResult", "TrainingDiverged", "train"]

logger = logging.getLogger("hourglass.engine")
# (_epoch_order and _StepTiming are imported here for the tests and benchmarks that take them from this module.)


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


def train(
    config: TrainConfig, *, resume: bool | str | Path | None = None, progress: bool = True, notes: tuple[str, ...] = ()
) -> TrainResult:
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
        progress: show a tqdm progress bar (rank 0 only, and only when stderr is a terminal).
        notes: lines to add to the start-up summary (e.g. a default the command line chose).

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
    config = build.concrete_config(config, device)  # amp "auto", channels_last None -> this device's
    ddp.check_batch_size(config.batch_size, info)
    ckpt_path = resume_path(config, resume)
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    created = ddp.init_process_group(info, device)
    try:
        result = _train(config, info, device, ckpt_path, progress, notes)
        ddp.barrier()  # every rank is done before the group goes away (an early teardown can abort a peer)
        return result
    finally:
        ddp.cleanup(created)


def _train(
    config: TrainConfig,
    info: ddp.DistInfo,
    device: torch.device,
    ckpt_path: Path | None,
    progress: bool,
    notes: tuple[str, ...] = (),
) -> TrainResult:
    """The run on this process: set-up, the epochs (each ended by validation and checkpoints), the summary."""
    run = start_run(config, info, device, ckpt_path, progress)
    if run.main:
        logger.info("\n".join([start_summary(run), *notes]))
    with ddp.StopFlag(patience=2 if info.distributed else 1) as stop, contextlib.ExitStack() as closing:
        tb = open_tensorboard(run, closing)
        while run.epoch < config.epochs and not run.max_steps_reached() and not run.interrupted:
            t0, images_run = train_epoch(run, stop, tb)
            if run.interrupted:
                break
            end_epoch(run, t0, images_run, tb)
    finish_run(run)
    return TrainResult(
        run.run_dir, run.step, run.epoch, run.last_loss, run.metric_name, run.best, run.history, run.interrupted,
        run.run_dir / LAST,
    )  # fmt: skip
