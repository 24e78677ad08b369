"""What a training run is built from: model, data, optimiser, schedule, loss and validation.

Each function takes the run's :class:`~hourglass.config.TrainConfig`;
:func:`hourglass.engine.trainer.train` puts them together. The learning-rate factor is a
function of the step alone (warm-up, then step or cosine decay), so a resumed run follows the
same schedule; the validation metric is the headline of :func:`hourglass.evaluation.evaluate`.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

import hourglass.engine.distributed as ddp
from hourglass.checkpoint import check_architecture, load_checkpoint
from hourglass.codec import flat_heatmap_warning
from hourglass.config import TrainConfig
from hourglass.data import KeypointDataset, PipelineConfig, TopDownPipeline, drop_missing_images, hold_out, load_dataset
from hourglass.data.negatives import WithNegatives
from hourglass.evaluation import crop_sizes, crop_to_image, eval_pipeline, evaluate, forward
from hourglass.keypoints import KeypointSpec
from hourglass.losses import heatmap_mse, l1_loss, wing_loss
from hourglass.models import build_model, grow_depth, grow_stacks
from hourglass.runtime import resolve_precision
from hourglass.weights import check_finite, resolve_weights

__all__ = [
    "build_model_from_config",
    "concrete_config",
    "load_initial_weights",
    "run_device",
    "load_sets",
    "build_datasets",
    "build_optimizer",
    "lr_factor",
    "validation_metric_name",
    "batch_loss",
    "validate",
    "autocast",
]

logger = logging.getLogger("hourglass.engine")


# --- model, data, optimiser, schedule -------------------------------------------------------------------------
def build_model_from_config(config: TrainConfig, num_keypoints: int) -> nn.Module:
    """The registered model the config names (``hourglass<stacks>`` or ``vgg16_<head>``)."""

    if config.model == "hourglass":
        return build_model(
            f"hourglass{config.stacks}", num_blocks=config.blocks, channels=config.channels,
            num_keypoints=num_keypoints, input_size=config.input_size,
        )  # fmt: skip
    return build_model(
        f"vgg16_{config.vgg_head}", num_keypoints=num_keypoints, input_size=config.input_size, width=config.vgg_width
    )


def load_initial_weights(config: TrainConfig, model: nn.Module, spec: Any, log: bool = False) -> str:
    """Copy the weights ``config.init_from`` names into ``model`` (built by
    :func:`build_model_from_config`); returns the file they came from (logged when ``log``).

    A stacked hourglass with fewer stacks than ``model`` and otherwise the same architecture
    grows into it (:func:`hourglass.models.grow_stacks`: the new stacks copy the last one).
    One trained at a smaller input grows into a larger one whose hourglasses are deeper by as
    many levels as the input is larger by powers of two, so the bottleneck keeps its size
    (:func:`hourglass.models.grow_depth`: 128 px at depth 3 into 256 px at depth 4; the new
    outer levels start as the identity); both can happen at once.

    Raises:
        FileNotFoundError: nothing under that name (:func:`hourglass.weights.resolve_weights`).
        ValueError: an unreadable file, or one whose architecture
            (:func:`~hourglass.checkpoint.check_architecture`) or keypoint spec differs
            from the run's (both are named), or non-finite weights (named).
    """

    path = resolve_weights(config.init_from)
    ckpt = load_checkpoint(path)
    source = f"--init-from {config.init_from} ({path})"
    growth = _growth(ckpt.get("arch"), getattr(model, "arch", None))
    if growth is None:
        check_architecture(ckpt, model, source=source)
    saved = KeypointSpec.from_dict(ckpt["spec"]) if isinstance(ckpt.get("spec"), dict) else None
    if saved != spec:
        what = "no keypoint spec" if saved is None else f"keypoint spec {saved.name!r} ({saved.num_keypoints} points)"
        raise ValueError(
            f"{source} predicts {what} but the training data has {spec.name!r} ({spec.num_keypoints}); "
            "start from weights of the same keypoints"
        )
    check_finite(ckpt["model"], source)
    state = ckpt["model"]
    if growth is not None:
        state = grow_stacks(grow_depth(state, model.depth), model.num_stacks)
    model.load_state_dict(state)  # half-precision weights files are cast to the model's dtype
    if log:
        grown = []
        if growth is not None and growth[0] < model.num_stacks:
            have = growth[0]
            new = (
                f"stacks {have + 1}-{model.num_stacks} copy"
                if model.num_stacks > have + 1
                else f"stack {have + 1} copies"
            )
            grown.append(f"grown from {have} stack{'s' * (have > 1)}: {new} stack {have}")
        if growth is not None and growth[1] < model.depth:
            w, h = ckpt["arch"]["input_size"]
            grown.append(
                f"grown from {w}x{h} px at depth {growth[1]} to {model.input_size[0]}x{model.input_size[1]} px at "
                f"depth {model.depth}: new outer hourglass levels start as the identity; fine-tune it"
            )
        logger.info("initialised the model from %s%s", path, "".join(f" ({g})" for g in grown))
    return str(path)


def _growth(saved: Any, arch: Any) -> tuple[int, int] | None:
    """(stacks, depth) of the saved hourglass when ``arch`` is the same network grown, else None.

    Grown means more stacks, or an input larger by ``2**k`` with hourglasses deeper by ``k``
    levels, or both; anything else differing is not growth.
    """
    pattern = re.compile(r"hourglass(\d+)")
    if not (isinstance(saved, dict) and isinstance(arch, dict)):
        return None
    names = [pattern.fullmatch(str(a.get("name"))) for a in (saved, arch)]
    fixed = [{k: v for k, v in a.items() if k not in ("name", "input_size", "depth")} for a in (saved, arch)]
    if None in names or fixed[0] != fixed[1]:
        return None
    stacks = [int(n.group(1)) for n in names]
    try:
        depths = [int(a["depth"]) for a in (saved, arch)]
        sizes = [[int(v) for v in a["input_size"]] for a in (saved, arch)]
    except (KeyError, TypeError, ValueError):
        return None
    more = depths[1] - depths[0]
    if stacks[0] > stacks[1] or more < 0 or sizes[1] != [v * 2**more for v in sizes[0]]:
        return None
    if stacks[0] == stacks[1] and more == 0:
        return None  # the same network: not growth
    return stacks[0], depths[0]


def concrete_config(config: TrainConfig, device: torch.device) -> TrainConfig:
    """``config`` with ``amp="auto"`` and ``channels_last=None`` made concrete for ``device``.

    On the CPU: channels-last, and bf16 autocast where the CPU has native bf16
    (:func:`hourglass.runtime.resolve_precision`), else none. Elsewhere (GPUs): NCHW, no autocast.
    """
    changes: dict[str, Any] = {}
    if config.amp == "auto":
        changes["amp"] = "bf16" if resolve_precision("auto", device) == "bf16" else "none"
    if config.channels_last is None:
        changes["channels_last"] = device.type == "cpu"
    return config.replace(**changes) if changes else config


def run_device(config: TrainConfig, info: ddp.DistInfo) -> torch.device:
    device = ddp.resolve_device(config.device, info)
    if config.amp == "fp16" and device.type != "cuda":
        raise ValueError(
            f"amp='fp16' needs a CUDA device, the run uses {device}; use --amp bf16 (CPUs with AVX512-BF16 or "
            "AMX run it fastest) or --amp none"
        )
    if config.amp == "bf16" and device.type not in ("cuda", "cpu"):
        raise ValueError(f"amp='bf16' runs on CUDA or the CPU, the run uses {device}; use --amp none")
    if device.type == "cuda":
        # Fixed input sizes: let cuDNN time its convolution algorithms once and keep the fastest.
        torch.backends.cudnn.benchmark = True
    return device


def load_sets(config: TrainConfig, log: bool = True) -> tuple[Any, Any, dict[str, int]]:
    """Training and validation sets (validation may be None) and the subjects left out per split."""

    if config.data_root is None:
        raise ValueError(f"no data root given for dataset {config.dataset!r}; pass --data-root DIR")
    if not Path(config.data_root).exists():
        raise FileNotFoundError(
            f"data root {config.data_root} does not exist; pass the folder holding the {config.dataset} data"
        )
    if config.dataset == "custom" and config.val_split is not None:
        raise ValueError(
            f"the custom format has no splits, so --val-split {config.val_split!r} would validate on the training "
            "subjects; pass --val-split none --val-fraction 0.1 to hold out 10 %, or --val-split none alone"
        )
    if log and config.val_split == config.train_split:
        logger.warning("validating on the training split %r: the metric measures fit, not generalisation",
                       config.train_split)  # fmt: skip
    kw = dict(policy=config.missing_images, data_root=config.data_root, log=log)
    options = config.loader_options()  # the person-crop padding of LSP/LSPET
    if config.dataset in ("lsp", "lspet"):
        # drop_missing_images applies config.missing_images below; the loader's own check would raise first
        options["check_images"] = False
    train_set = load_dataset(config.dataset, config.data_root, config.train_split, **options)
    train_set, missing_train = drop_missing_images(train_set, split="training", **kw)
    val_set, missing_val = None, 0
    if config.val_split is not None:
        val_set = load_dataset(config.dataset, config.data_root, config.val_split, **options)
        val_set, missing_val = drop_missing_images(val_set, split="validation", **kw)
    elif config.val_fraction > 0:
        train_set, val_set = hold_out(train_set, config.val_fraction, config.seed)
    if config.max_train_samples is not None:
        train_set = train_set[: config.max_train_samples]
    if val_set is not None and config.max_val_samples is not None:
        val_set = val_set[: config.max_val_samples]
    if len(train_set) == 0:
        raise ValueError(f"training split {config.train_split!r} of {config.data_root} holds no subjects")
    if val_set is not None and len(val_set) == 0:
        if log:
            logger.warning("the validation set %s holds no subjects; training without validation", val_set.name)
        val_set = None
    return train_set, val_set, {"train": missing_train, "val": missing_val}


def build_datasets(
    config: TrainConfig,
    train_set: Any,
    val_set: Any,
    progress: bool = False,
    info: ddp.DistInfo | None = None,
    *,
    model: nn.Module,
) -> tuple[Any, Any]:
    """Training and validation datasets; with ``config.cache_dir`` their crop caches are built
    (or checked) first, with a progress bar when ``progress``. Under torchrun (``info``) rank 0
    builds the cache while the other ranks wait at a barrier, then they only check it; the
    wait is bounded by the process group's timeout (10 min with NCCL), so build a large cache
    beforehand in one process (the same command without torchrun and ``--max-steps 1``)."""

    first = config.cache_dir is not None and info is not None and info.distributed
    if first and not info.is_main:
        ddp.barrier()  # rank 0 is building the cache

    size, hm = crop_sizes(model)
    geometry = dict(
        rotation=config.rotation, rotation_prob=config.rotation_prob, scale_factor=config.scale_factor,
        shift=config.crop_shift, partial_prob=config.partial_views, absent_targets=config.partial_views > 0,
    )  # fmt: skip
    train_pipe = TopDownPipeline(
        PipelineConfig(input_size=size, heatmap_size=hm, sigma=config.sigma, **geometry), train_set.spec
    )
    val_pipe = eval_pipeline(model, train_set.spec, config.sigma)
    kw: dict[str, Any] = dict(seed=config.seed, cache_dir=config.cache_dir, progress=progress)
    train_ds = KeypointDataset(train_set, train_pipe, **kw)
    if config.negative_fraction > 0:
        train_ds = WithNegatives(train_ds, config.negative_fraction, seed=config.seed)
    val_ds = None if val_set is None else KeypointDataset(val_set, val_pipe, **kw)
    if first and info.is_main:
        ddp.barrier()  # built: the other ranks go on
    return train_ds, val_ds


def build_optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params, lr, wd = model.parameters(), config.learning_rate, config.weight_decay
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    return torch.optim.AdamW(params, lr=lr, weight_decay=wd)


def lr_factor(config: TrainConfig, steps_per_epoch: int, total_steps: int):
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


def validation_metric_name(spec: Any, has_head_sizes: bool) -> tuple[str, bool]:
    """The validation metric of a keypoint spec, and whether higher is better.

    ``has_head_sizes``: every validation subject has a PCKh head size, from a head box or stored
    by its source (MPII ``valid.h5``), i.e. ``evaluate.pckh_head_sizes(val_set) is not None``;
    the name is then that of the headline :func:`~hourglass.evaluation.evaluate` reports.
    """
    if spec.subject == "face":
        return "nme_interocular", False
    if has_head_sizes:
        return "pckh@0.5", True
    return "pck@0.2", True


# --- loss and prediction ---------------------------------------------------------------------
def batch_loss(config: TrainConfig, output: Tensor, batch: Any) -> tuple[Tensor, Tensor | float]:
    """The batch's loss and its denominator (the number of terms the loss is a mean over)."""

    output = output.float()
    if config.model == "hourglass":  # a mean over B * K * H * W: proportional to the subjects
        return heatmap_mse(output, batch.heatmaps, batch.target_weight), float(output.shape[0])
    weight = batch.coord_weight.sum()  # a mean over the labelled keypoints
    if config.coord_loss == "l1":
        return l1_loss(output, batch.coords_normalized, batch.coord_weight), weight
    px = float(config.input_size)
    return wing_loss(output, batch.coords_normalized, batch.coord_weight, w=10.0 / px, epsilon=2.0 / px), weight


def validate(config: TrainConfig, model: nn.Module, loader: Any, val_set: Any, device: torch.device) -> float:
    """The headline metric of :func:`hourglass.evaluation.evaluate` on the validation crops (a fraction).

    Warns when the heatmaps are flat (:func:`hourglass.codec.flat_heatmap_warning`).

    Under torchrun ``loader`` holds this rank's slice of the set; the predictions of all ranks
    are gathered (in rank order, which is the set's order) and the metric computed on the whole.
    """

    kind = model.output_kind
    size = tuple(model.input_size)
    ddp.broadcast_buffers(model)
    model.eval()
    preds = [np.zeros((0, val_set.spec.num_keypoints, 2))]
    peaks = [np.zeros((0, val_set.spec.num_keypoints))]
    with torch.no_grad():
        for batch in loader:
            image = batch.image.to(device)
            if config.channels_last:
                image = image.contiguous(memory_format=torch.channels_last)
            with autocast(config, device):  # the network only; decoding stays float32
                out = forward(model, kind, image, val_set.spec)
            coords, scores = crop_to_image(kind, out, batch.matrix.numpy(), input_size=size, sigma=config.sigma)
            preds.append(coords)
            if kind == "heatmap":
                peaks.append(scores)  # each map's maximum (decode_heatmaps' score)
    model.train()
    flat = flat_heatmap_warning(ddp.all_gather_arrays(np.concatenate(peaks)), where="the network at this validation")
    if flat is not None and ddp.env_info().is_main:
        logger.warning(flat)
    return evaluate(ddp.all_gather_arrays(np.concatenate(preds)), val_set).value


def autocast(config: TrainConfig, device: torch.device):
    if config.amp == "none":
        return torch.autocast(device.type, enabled=False)
    return torch.autocast(device.type, dtype=torch.bfloat16 if config.amp == "bf16" else torch.float16)
