"""The steps of :func:`hourglass.engine.train`, epoch by epoch, on a :class:`~hourglass.engine.run_state.RunState`.

- :func:`train_epoch`: the steps of one epoch (or of what is left of it), each a
  :func:`train_step`, with ``steps.csv`` rows and periodic checkpoints;
- :func:`end_epoch`: validation, the ``log.csv`` row, ``curves.png``, ``last.pt`` / ``best.pt``
  / ``epoch<NNN>.pt``;
- :func:`finish_run`: ``last.pt`` after Ctrl-C, and ``summary.json``.

The set-up before them is :func:`hourglass.engine.run_state.start_run`; the module docstring of
:mod:`hourglass.engine.trainer` says what is written where and why a resumed run repeats the
uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

import hourglass.engine.distributed as ddp
from hourglass.checkpoint import BEST, LAST, epoch_checkpoint_name, latest_checkpoint
from hourglass.engine import build, runlog
from hourglass.engine.run_state import RunState, _epoch_order

__all__ = ["TrainingDiverged", "end_epoch", "finish_run", "start_summary", "train_epoch", "train_step"]

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


def start_summary(run: RunState) -> str:
    """The lines printed when training starts: data, network, device and precision, schedule, run folder."""
    config, model = run.config, run.model
    val = "no validation" if run.val_set is None else f"{len(run.val_set)} validation subjects"
    val_from = config.val_split or f"{config.val_fraction:.0%} held out of {config.train_split}"
    params = sum(p.numel() for p in model.parameters())
    stacks, threads = config.stacks, torch.get_num_threads()
    size = f"{stacks} stack{'s' * (stacks > 1)} x {config.channels} channels" if config.model == "hourglass" else "VGG"
    threads = "" if run.device.type != "cpu" else f", {threads} CPU thread{'s' * (threads > 1)}"
    precision = {"none": "float32", "bf16": "bf16 autocast", "fp16": "fp16 autocast"}[config.amp]
    steps = len(_epoch_order(config, len(run.train_ds), 0))
    return "\n".join([
        f"training {config.model} ({size}, {config.input_size} px, {params / 1e6:.2f} M parameters)",
        f"  data: {config.dataset} {len(run.train_set)} training subjects ({config.train_split})"
        + (f" + {len(run.train_ds) - len(run.train_set)} background crops" if config.negative_fraction else "")
        + f", {val}"
        + ("" if run.val_set is None else f" ({val_from}); metric {run.metric_name} in %"),
        f"  device: {run.device}{threads}; precision {precision}, "
        f"{'channels-last' if config.channels_last else 'NCHW'} layout",
        f"  {config.epochs} epochs x {steps} steps (batch {config.batch_size}), {config.optimizer} lr "
        f"{config.learning_rate:g}, {config.schedule} schedule, {config.warmup_steps} warm-up steps"
        + ("" if config.max_steps is None else f", stop at step {config.max_steps}"),
        f"  output: {run.run_dir}" + (f" (resumed at step {run.step})" if run.resumed else ""),
    ])  # fmt: skip


# --- an epoch ----------------------------------------------------------------------------------
def train_epoch(run: RunState, stop: ddp.StopFlag, tb: Any = None) -> tuple[float, int]:
    """The steps left of epoch ``run.epoch``, until its end, ``max_steps`` or Ctrl-C (``run.interrupted``).

    Returns the epoch's start time (``time.perf_counter``) and the images this call trained on.
    """
    config, info = run.config, run.info
    batches = _epoch_order(config, len(run.train_ds), run.epoch)[run.batch_done :]
    if info.distributed:
        batches = [ddp.shard(b, info.rank, info.world_size) for b in batches]
    run.train_ds.set_epoch(run.epoch)
    run.epoch_batches.set(run.epoch, batches)
    t0, images_run = time.perf_counter(), 0
    # Counted by hand after each step, so the bar ends at its total however the loop ends.
    bar = tqdm(total=len(batches), desc=f"epoch {run.epoch + 1}/{config.epochs}", disable=not run.progress)
    for batch in run.train_loader:
        value, n, stopping = train_step(run, batch, stop)
        bar.update(1)
        images_run += n
        if run.step % config.log_every == 0 and run.main:
            lr = run.optimizer.param_groups[0]["lr"]
            run.step_rows.append({"step": run.step, "epoch": run.epoch, "loss": repr(value), "lr": lr})
            rate = images_run / max(time.perf_counter() - t0, 1e-9)
            bar.set_postfix(loss=f"{value:.4g}", img_s=f"{rate:.1f}")
            if tb is not None:
                tb.add_scalar("train/loss", value, run.step)
                tb.add_scalar("train/lr", lr, run.step)
        if config.ckpt_every_steps and run.step % config.ckpt_every_steps == 0:
            run.save(LAST)
        if stopping:
            run.interrupted = True
            break
        if run.max_steps_reached():
            break
    bar.close()
    return t0, images_run


def train_step(run: RunState, batch: Any, stop: ddp.StopFlag) -> tuple[float, int, bool]:
    """One optimiser step on ``batch`` (a :class:`~hourglass.data.Batch`); the counters advance.

    Returns the global batch's loss, its subjects, and whether any rank was interrupted.

    Raises:
        TrainingDiverged: the loss or the gradient norm is not finite (before the weights change).
    """
    config, device, model = run.config, run.device, run.model
    image = batch.image.to(device, non_blocking=True)
    if config.channels_last:
        image = image.contiguous(memory_format=torch.channels_last)
    batch = batch._replace(
        heatmaps=batch.heatmaps.to(device), target_weight=batch.target_weight.to(device),
        coords_normalized=batch.coords_normalized.to(device), coord_weight=batch.coord_weight.to(device),
    )  # fmt: skip
    with build.autocast(config, device):
        output = run.net(image)
    loss, den = build.batch_loss(config, output, batch)
    # the global batch's loss and subjects, and whether any rank was interrupted
    value, n, stopping, scaled = ddp.reduce_step(loss, den, image.shape[0], stop.set)
    if not math.isfinite(value):
        raise _diverged(f"loss is {value}", run.step, run.epoch, run.scheduler, run.run_dir)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(scaled).backward()
    if not run.scaler.is_enabled():  # fp16's scaler skips steps with inf gradients by itself
        grads = [p.grad.detach() for p in model.parameters() if p.grad is not None]
        # one fused launch per device and dtype, not one per tensor (torch.nn.utils.get_total_norm
        # does the same but needs torch >= 2.6)
        norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
        if not torch.isfinite(norm):  # a finite loss can still give inf gradients
            raise _diverged(f"the gradient norm is {norm.item()}", run.step, run.epoch, run.scheduler, run.run_dir)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    run.scheduler.step()
    run.step += 1
    run.timing.tick(run.step)
    run.batch_done += 1
    run.last_loss = value
    run.epoch_loss_sum += value * n
    run.epoch_images += n
    return value, n, stopping


def end_epoch(run: RunState, t0: float, images_run: int, tb: Any = None) -> None:
    """After :func:`train_epoch`: validate, add the ``log.csv`` row, save ``last.pt`` (and ``best.pt``,
    ``epoch<NNN>.pt``); an epoch complete moves the counters to the next. Nothing when the epoch
    stopped early without reaching ``max_steps``.
    """
    config = run.config
    epoch_done = run.batch_done == run.epoch_batch_count()
    if not epoch_done and not run.max_steps_reached():
        return
    metric = math.nan
    if run.val_loader is not None:
        metric = build.validate(config, run.model, run.val_loader, run.val_set, run.device)
    seconds = time.perf_counter() - t0
    history = run.history
    if history and history[-1]["epoch"] == run.epoch + 1:  # this epoch's partial row (a max_steps stop)
        part = history.pop()
        images_run += part["images_per_s"] * part["seconds"]
        seconds += part["seconds"]
    history.append({
        "epoch": run.epoch + 1, "step": run.step, "train_loss": run.epoch_loss_sum / max(run.epoch_images, 1),
        "metric": metric, "lr": run.optimizer.param_groups[0]["lr"],
        "images_per_s": images_run / max(seconds, 1e-9), "seconds": seconds,
    })  # fmt: skip
    best = run.best
    improved = math.isfinite(metric) and (best is None or (metric > best if run.higher_better else metric < best))
    if improved:
        run.best = metric
    if epoch_done:
        run.epoch, run.batch_done, run.epoch_loss_sum, run.epoch_images = run.epoch + 1, 0, 0.0, 0
    if run.main:
        runlog.write_epoch_log(run.run_dir / "log.csv", history)
        runlog.plot_history(run.run_dir / "curves.png", history, run.metric_name)
    kept = (epoch_checkpoint_name(run.epoch),) if config.keep_epochs and epoch_done else ()
    run.save(*((LAST, BEST) if improved else (LAST,)), *kept)
    if tb is not None:
        runlog.add_epoch_scalars(tb, history[-1], run.metric_name, run.step)
    if run.main:
        logger.info(runlog.epoch_line(history[-1], config.epochs, run.metric_name, improved))


def finish_run(run: RunState) -> None:
    """After the last epoch or Ctrl-C: ``last.pt`` when interrupted, ``summary.json``; waits for every rank."""
    if run.interrupted:
        run.save(LAST)
        if run.main:
            logger.warning("interrupted: saved %s at step %d", run.run_dir / LAST, run.step)
    if run.main:
        best_pct = None if run.best is None else 100 * run.best
        summary = {"step": run.step, "epoch": run.epoch, "final_loss": run.last_loss, "metric_name": run.metric_name,
                   "best_metric_pct": best_pct, "interrupted": run.interrupted, "world_size": run.info.world_size,
                   "missing_images": run.missing, "seconds_per_step": run.timing.seconds_per_step()}  # fmt: skip
        (run.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    ddp.barrier()
