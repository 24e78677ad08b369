"""The training loop: :func:`train` runs one :class:`~hourglass.engine.config.TrainConfig`.

What a run writes to its folder (``config.out``):

- ``config.json``: the frozen config;
- ``last.pt``: the latest checkpoint (every ``ckpt_every_steps`` steps, at the end of every
  epoch, on Ctrl-C and at the end), ``best.pt``: the best validation metric so far;
  both written atomically (:mod:`hourglass.engine.checkpoint`);
- ``log.csv``: one row per epoch (train loss, validation metric, lr, images/s);
  ``steps.csv``: one row every ``log_every`` steps (step, epoch, loss, lr);
- ``curves.png``: training loss and validation metric per epoch, redrawn every epoch;
- ``summary.json``: final step, final loss, best metric.

Determinism and resume. Epoch ``e``'s data order is ``torch.randperm`` from a generator seeded
with ``(seed, e)``, and the dataset draws sample ``i``'s augmentation from ``(seed, e, i)``
(:class:`~hourglass.data.KeypointDataset`), so the data of every step is a function of the
config alone. A checkpoint stores the model, optimiser, scheduler, grad scaler, the epoch in
progress with the number of its batches done, the step, and the Python/numpy/torch random
states. Resuming rebuilds that epoch's order, skips the batches already done and restores the
random states, so a resumed CPU run reproduces the uninterrupted run's losses bit for bit
(same machine, same thread count).

Validation metric: faces (specs with inter-ocular points) NME inter-ocular (lower is better);
MPII with head boxes PCKh@0.5 pooled over the labelled joints; other bodies PCK@0.2 of the
torso (higher is better). Heatmaps are decoded with DARK (blur sigma = the target sigma) and
mapped back to image coordinates with :func:`hourglass.codec.heatmap_to_image`; VGG's
normalised coordinates go through the inverse of the crop matrix.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from hourglass.engine.checkpoint import (
    BEST,
    LAST,
    check_architecture,
    latest_checkpoint,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from hourglass.engine.config import TrainConfig

__all__ = ["TrainResult", "TrainingDiverged", "train", "build_model_from_config", "validation_metric_name"]

logger = logging.getLogger("hourglass.engine")


class TrainingDiverged(FloatingPointError):
    """The loss became NaN or infinite; the message names the step and the last good checkpoint."""


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        run_dir: the run folder.
        step: optimiser steps done over the whole run.
        epoch: the epoch in progress when the run stopped (== epochs when all finished).
        final_loss: the loss of the last step (NaN if no step ran).
        metric_name, best_metric: the validation metric and its best value (None: no validation).
        history: one dict per finished epoch (the rows of ``log.csv``).
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


# --- building blocks -------------------------------------------------------------------------
def build_model_from_config(config: TrainConfig, num_keypoints: int) -> nn.Module:
    """The registered model the config names (``hourglass<stacks>`` or ``vgg16_<head>``)."""
    from hourglass.models import build_model

    if config.model == "hourglass":
        return build_model(
            f"hourglass{config.stacks}", num_blocks=config.blocks, channels=config.channels,
            num_keypoints=num_keypoints, input_size=config.input_size,
        )  # fmt: skip
    return build_model(
        f"vgg16_{config.vgg_head}", num_keypoints=num_keypoints, input_size=config.input_size, width=config.vgg_width
    )


def _device(config: TrainConfig) -> torch.device:
    name = config.device
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(
            f"TrainConfig.device {config.device!r} is not a torch device (use cpu, cuda, cuda:N)"
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {config.device!r} was asked for but CUDA is not available; use --device cpu")
    if config.amp != "none" and device.type != "cuda":
        raise ValueError(f"amp={config.amp!r} needs a CUDA device, the run uses {device}; use --amp none")
    return device


def _load_sets(config: TrainConfig) -> tuple[Any, Any]:
    from hourglass.data import AnnotationSet, load_dataset, split_indices

    if config.data_root is None:
        raise ValueError(f"no data root given for dataset {config.dataset!r}; pass --data-root DIR")
    if not Path(config.data_root).exists():
        raise FileNotFoundError(
            f"data root {config.data_root} does not exist; pass the folder holding the {config.dataset} data"
        )
    train_set = load_dataset(config.dataset, config.data_root, config.train_split)
    val_set = None
    if config.val_split is not None:
        val_set = load_dataset(config.dataset, config.data_root, config.val_split)
    elif config.val_fraction > 0:
        tr, va = split_indices(len(train_set), config.val_fraction, config.seed)
        records = list(train_set)
        val_set = AnnotationSet([records[i] for i in va], train_set.spec, f"{train_set.name}[held-out]")
        train_set = AnnotationSet([records[i] for i in tr], train_set.spec, f"{train_set.name}[train]")
    if config.max_train_samples is not None:
        train_set = train_set[: config.max_train_samples]
    if val_set is not None and config.max_val_samples is not None:
        val_set = val_set[: config.max_val_samples]
    if len(train_set) == 0:
        raise ValueError(f"training split {config.train_split!r} of {config.data_root} holds no subjects")
    if val_set is not None and len(val_set) == 0:
        val_set = None
    return train_set, val_set


def _datasets(config: TrainConfig, train_set: Any, val_set: Any) -> tuple[Any, Any]:
    from hourglass.data import KeypointDataset, PipelineConfig, TopDownPipeline

    size, hm = (config.input_size,) * 2, (config.heatmap_size,) * 2
    train_pipe = TopDownPipeline(PipelineConfig(input_size=size, heatmap_size=hm, sigma=config.sigma), train_set.spec)
    val_pipe = TopDownPipeline(
        PipelineConfig(input_size=size, heatmap_size=hm, sigma=config.sigma, train=False), train_set.spec
    )
    train_ds = KeypointDataset(train_set, train_pipe, seed=config.seed)
    val_ds = None if val_set is None else KeypointDataset(val_set, val_pipe, seed=config.seed)
    return train_ds, val_ds


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params, lr, wd = model.parameters(), config.learning_rate, config.weight_decay
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd if wd > 0 else 1e-4)


def _lr_factor(config: TrainConfig, steps_per_epoch: int, total_steps: int):
    milestones = config.lr_milestones or tuple(
        m for m in sorted({max(1, round(0.6 * config.epochs)), max(1, round(0.85 * config.epochs))})
        if m < config.epochs
    )  # fmt: skip
    milestone_steps = np.array(milestones, dtype=np.int64) * steps_per_epoch

    def factor(step: int) -> float:
        warm = min(1.0, (step + 1) / config.warmup_steps) if config.warmup_steps else 1.0
        if config.schedule == "step":
            return warm * config.lr_gamma ** int(np.searchsorted(milestone_steps, step, side="right"))
        if config.schedule == "cosine":
            t = min(1.0, step / max(1, total_steps))
            return warm * 0.5 * (1.0 + math.cos(math.pi * t))
        return warm

    return factor


def validation_metric_name(spec: Any, has_headboxes: bool) -> tuple[str, bool]:
    """The validation metric of a keypoint spec, and whether higher is better."""
    if spec.interocular is not None:
        return "nme_interocular", False
    if has_headboxes:
        return "pckh@0.5", True
    return "pck@0.2", True


# --- loss and prediction ---------------------------------------------------------------------
def _loss(config: TrainConfig, output: Tensor, batch: Any) -> Tensor:
    from hourglass.losses import heatmap_mse, l1_loss, wing_loss

    output = output.float()
    if config.model == "hourglass":
        return heatmap_mse(output, batch.heatmaps, batch.target_weight)
    if config.coord_loss == "l1":
        return l1_loss(output, batch.coords_normalized, batch.coord_weight)
    px = float(config.input_size)
    return wing_loss(output, batch.coords_normalized, batch.coord_weight, w=10.0 / px, epsilon=2.0 / px)


def _to_image(config: TrainConfig, output: Tensor, batch: Any) -> np.ndarray:
    """Model output for a batch of un-augmented crops -> (B, K, 2) image coordinates."""
    from hourglass.codec import decode_heatmaps, heatmap_to_image
    from hourglass.geometry import from_normalized, invert_affine, transform_points

    output = output.detach().float().cpu()
    if config.model == "hourglass":
        coords, _ = decode_heatmaps(output[:, -1], "dark", blur_sigma=config.sigma)  # last stack (B, K, H, W)
        hm = (config.heatmap_size, config.heatmap_size)
        return np.asarray(heatmap_to_image(coords.numpy(), batch.center.numpy(), batch.scale.numpy(), hm))
    crop = from_normalized(output.numpy().astype(np.float64), (config.input_size, config.input_size))  # (B, K, 2)
    return np.asarray(transform_points(crop, invert_affine(batch.matrix.numpy())))


def _validate(config: TrainConfig, model: nn.Module, loader: Any, val_set: Any, device: torch.device) -> float:
    from hourglass.metrics import head_size, interocular, nme, pck, torso_size

    model.eval()
    preds = []
    with torch.no_grad(), _autocast(config, device):
        for batch in loader:
            image = batch.image.to(device)
            if config.channels_last:
                image = image.contiguous(memory_format=torch.channels_last)
            preds.append(_to_image(config, model(image), batch))
    model.train()
    pred = np.concatenate(preds)  # (N, K, 2)
    gt, mask, spec = val_set.keypoints(), val_set.labelled(), val_set.spec
    headboxes = [r.headbox for r in val_set]
    name, _ = validation_metric_name(spec, all(h is not None for h in headboxes))
    if name == "nme_interocular":
        return float(np.nanmean(nme(pred, gt, mask, interocular(gt, spec, mask))))
    if name == "pckh@0.5":
        return pck(pred, gt, mask, head_size(np.stack(headboxes)), 0.5).mean
    if spec.torso is not None:
        return pck(pred, gt, mask, torso_size(gt, mask, spec), 0.2).mean
    from hourglass.metrics import bbox_size

    return pck(pred, gt, mask, bbox_size(gt, mask), 0.2).mean


def _autocast(config: TrainConfig, device: torch.device):
    if config.amp == "none":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=torch.bfloat16 if config.amp == "bf16" else torch.float16)


# --- logs ------------------------------------------------------------------------------------
_EPOCH_FIELDS = ("epoch", "step", "train_loss", "metric", "lr", "images_per_s", "seconds")


def _write_csv(path: Path, fieldnames: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fieldnames)
        w.writeheader()
        w.writerows(rows)
    tmp.replace(path)


def _plot(path: Path, history: list[dict[str, Any]], metric_name: str | None) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 3.5))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    epochs = [h["epoch"] for h in history]
    ax1.plot(epochs, [h["train_loss"] for h in history], marker="o")
    ax1.set(xlabel="epoch", ylabel="training loss", title="training loss", yscale="log")
    metric = [h["metric"] for h in history]
    if metric_name is not None and any(m == m and m is not None for m in metric):
        ax2.plot(epochs, metric, marker="o", color="tab:orange")
    ax2.set(xlabel="epoch", ylabel=metric_name or "no validation", title=f"validation {metric_name or ''}")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=100)
    tmp.replace(path)


class _StopFlag:
    """Turns the first SIGINT into a flag checked between steps (a second one interrupts at once)."""

    def __init__(self) -> None:
        self.set = False
        self._old: Any = None

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.set = True
        signal.signal(signal.SIGINT, self._old if self._old is not None else signal.default_int_handler)

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


# --- the loop --------------------------------------------------------------------------------
def _epoch_order(config: TrainConfig, n: int, epoch: int) -> list[list[int]]:
    """Batches (lists of indices) of epoch ``epoch``: a permutation seeded with (seed, epoch)."""
    g = torch.Generator().manual_seed(config.seed * 1_000_003 + epoch)
    order = torch.randperm(n, generator=g).tolist()
    bs = config.batch_size
    count = n // bs if n > bs else 1
    return [order[i * bs : (i + 1) * bs] for i in range(count)]


def train(config: TrainConfig, *, resume: bool | str | Path | None = None, progress: bool = True) -> TrainResult:
    """Train the configured model; see the module docstring for what is written where.

    Args:
        config: the run's configuration.
        resume: None/False: start fresh (an existing ``last.pt`` in the run folder is an error,
            to avoid overwriting a run by accident); True or ``"latest"``: continue from the run
            folder's ``last.pt`` (fresh start when there is none); a path: continue from that file.
        progress: show a tqdm progress bar.

    Returns:
        a :class:`TrainResult`.

    Raises:
        FileNotFoundError / ValueError / DataError: missing data root, bad split, a checkpoint
            of another architecture, an existing run folder without ``resume``.
        TrainingDiverged: the loss became NaN or infinite (``last.pt`` keeps the last good state).
    """
    from tqdm.auto import tqdm

    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    device = _device(config)
    run_dir = Path(config.out)
    ckpt_path: Path | None = None
    if resume is True or resume == "latest":
        ckpt_path = latest_checkpoint(run_dir)
    elif resume not in (None, False):
        ckpt_path = Path(resume)
        if ckpt_path.is_dir():
            ckpt_path = latest_checkpoint(ckpt_path)
            if ckpt_path is None:
                raise FileNotFoundError(f"no {LAST} in {resume} to resume from")
        elif not ckpt_path.is_file():
            raise FileNotFoundError(f"checkpoint {resume} to resume from does not exist")
    elif latest_checkpoint(run_dir) is not None:
        raise ValueError(
            f"run folder {run_dir} already holds {LAST}; pass --resume to continue it or choose another --out"
        )
    ckpt = load_checkpoint(ckpt_path) if ckpt_path is not None else None

    torch.manual_seed(config.seed)
    train_set, val_set = _load_sets(config)
    model = build_model_from_config(config, train_set.spec.num_keypoints)
    if ckpt is not None:
        check_architecture(ckpt, model, source=f"checkpoint {ckpt_path}")
    arch = dict(model.arch)
    train_ds, val_ds = _datasets(config, train_set, val_set)
    model.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(config, model)
    batches_per_epoch = len(_epoch_order(config, len(train_ds), 0))
    total = config.epochs * batches_per_epoch
    if config.max_steps is not None:
        total = min(total, config.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(config, batches_per_epoch, total))
    scaler = torch.amp.GradScaler(device.type, enabled=config.amp == "fp16")
    metric_name, higher_better = (None, True)
    if val_set is not None:
        metric_name, higher_better = validation_metric_name(val_set.spec, all(r.headbox is not None for r in val_set))

    epoch, batch_done, step, best = 0, 0, 0, None
    history: list[dict[str, Any]] = []
    epoch_loss_sum, epoch_images, last_loss = 0.0, 0, math.nan
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        epoch, batch_done, step = int(ckpt["epoch"]), int(ckpt["batch"]), int(ckpt["step"])
        best = ckpt.get("best_metric")
        history = list(ckpt.get("history", []))
        epoch_loss_sum, epoch_images = float(ckpt["epoch_loss_sum"]), int(ckpt["epoch_images"])
        last_loss = float(ckpt.get("last_loss", math.nan))
        set_rng_state(ckpt["rng"])
        logger.info("resumed from %s at epoch %d, batch %d, step %d", ckpt_path, epoch, batch_done, step)

    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(config.to_dict(), indent=2) + "\n")
    steps_csv = run_dir / "steps.csv"
    step_rows: list[dict[str, Any]] = []
    if ckpt is not None and steps_csv.is_file():
        with open(steps_csv, newline="") as f:
            step_rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
    net = torch.compile(model) if config.compile else model

    def state() -> dict[str, Any]:
        return {
            "format": 1,
            "model": model.state_dict(),
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
        }

    def save_last() -> Path:
        _write_csv(steps_csv, ("step", "epoch", "loss", "lr"), step_rows)
        return save_checkpoint(state(), run_dir / LAST)

    loader_kw: dict[str, Any] = dict(num_workers=config.workers, pin_memory=device.type == "cuda")
    val_loader = None
    if val_ds is not None:
        val_loader = torch.utils.data.DataLoader(
            val_ds, batch_size=config.batch_size, shuffle=False, generator=torch.Generator().manual_seed(0), **loader_kw
        )
    interrupted = False
    model.train()
    with _StopFlag() as stop:
        while epoch < config.epochs and (config.max_steps is None or step < config.max_steps) and not interrupted:
            batches = _epoch_order(config, len(train_ds), epoch)[batch_done:]
            train_ds.set_epoch(epoch)
            loader = torch.utils.data.DataLoader(
                train_ds, batch_sampler=batches, generator=torch.Generator().manual_seed(config.seed), **loader_kw
            )
            t0, images_run = time.perf_counter(), 0
            bar = tqdm(loader, total=len(batches), desc=f"epoch {epoch + 1}/{config.epochs}", disable=not progress)
            for batch in bar:
                image = batch.image.to(device, non_blocking=True)
                if config.channels_last:
                    image = image.contiguous(memory_format=torch.channels_last)
                batch = batch._replace(
                    heatmaps=batch.heatmaps.to(device), target_weight=batch.target_weight.to(device),
                    coords_normalized=batch.coords_normalized.to(device), coord_weight=batch.coord_weight.to(device),
                )  # fmt: skip
                with _autocast(config, device):
                    output = net(image)
                loss = _loss(config, output, batch)
                value = float(loss.detach())
                if not math.isfinite(value):
                    last = latest_checkpoint(run_dir)
                    raise TrainingDiverged(
                        f"loss is {value} at step {step + 1} (epoch {epoch + 1}, lr {scheduler.get_last_lr()[0]:.3g}); "
                        f"training stopped. The last good checkpoint is "
                        f"{last if last is not None else 'none (no checkpoint was written yet)'}; "
                        f"lower --lr, add --warmup-steps, or check the data"
                    )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                batch_done += 1
                last_loss = value
                n = image.shape[0]
                epoch_loss_sum += value * n
                epoch_images += n
                images_run += n
                if step % config.log_every == 0:
                    step_rows.append(
                        {"step": step, "epoch": epoch, "loss": repr(value), "lr": optimizer.param_groups[0]["lr"]}
                    )
                    rate = images_run / max(time.perf_counter() - t0, 1e-9)
                    bar.set_postfix(loss=f"{value:.4g}", img_s=f"{rate:.1f}")
                if config.ckpt_every_steps and step % config.ckpt_every_steps == 0:
                    save_last()
                if stop.set:
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
                metric = _validate(config, model, val_loader, val_set, device)
            seconds = time.perf_counter() - t0
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
            _write_csv(run_dir / "log.csv", _EPOCH_FIELDS, history)
            _plot(run_dir / "curves.png", history, metric_name)
            save_last()
            if improved:
                save_checkpoint(state(), run_dir / BEST)
            logger.info("epoch %d step %d loss %.5g %s %s", epoch, step, history[-1]["train_loss"], metric_name, metric)
    if interrupted:
        save_last()
        logger.warning("interrupted: saved %s at step %d", run_dir / LAST, step)
    summary = {"step": step, "epoch": epoch, "final_loss": last_loss, "metric_name": metric_name, "best_metric": best,
               "interrupted": interrupted}  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return TrainResult(run_dir, step, epoch, last_loss, metric_name, best, history, interrupted, run_dir / LAST)
