"""Named training recipes (:data:`PRESETS`) and :func:`resolve_config`, which layers a preset,
a saved config and the given flags into one :class:`~hourglass.config.TrainConfig`.

Bodies follow Newell et al.'s MPII recipe, faces HRNet's 300-W recipe (Adam 1e-4, 60 epochs,
steps at 30 and 50); the ``-cpu`` presets are the smaller models this project trained and ships.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import torch

from hourglass.config import TrainConfig

__all__ = [
    "CPU_SIZED", "DATASET_SPLITS", "PRESETS", "cpu_sized", "cpu_sized_note", "list_presets", "resolve_config",
    "run_defaults",
]  # fmt: skip

DATASET_SPLITS: dict[str, dict[str, Any]] = {
    "300w": dict(train_split="fit", val_split="holdout"),
    "mpii": dict(train_split="train", val_split="valid"),
    "lsp": dict(train_split="train", val_split="val"),
    "lspet": dict(train_split="train", val_split="val"),
    "coco": dict(train_split="train2017", val_split="val2017"),
    "custom": dict(val_split=None, val_fraction=0.1),
}
"""Without a preset, the splits of each dataset (its own validation split's name; custom data
holds out 10 % of its subjects)."""

CPU_SIZED: dict[str, dict[str, Any]] = {
    "hourglass": dict(stacks=2, channels=128, input_size=128, sigma=1.5),
    "vgg": dict(vgg_width=0.25, input_size=128),
}
"""Without a preset, on a CPU device, the network of the shipped CPU models (``300w-hg-cpu``,
``300w-vgg-cpu``) instead of the full-size 256-px one, which takes hours per epoch on a CPU."""

PRESETS: dict[str, dict[str, Any]] = {
    # Newell et al. 2016: 8 stacks, RMSprop 2.5e-4, batch 6, sigma 1, ~100 epochs.
    "mpii-hg8": dict(
        model="hourglass", stacks=8, channels=256, input_size=256, sigma=1.0, dataset="mpii",
        train_split="train", val_split="valid", epochs=100, batch_size=6, optimizer="rmsprop",
        schedule="step", lr_milestones=(60, 90),
    ),
    # 300-W faces: 4 stacks (AWing's size), HRNet's face recipe (Adam 1e-4, 60 epochs, 30/50).
    "300w-hg": dict(
        model="hourglass", stacks=4, channels=256, input_size=256, sigma=1.5, dataset="300w",
        train_split="train", val_split="common", epochs=60, batch_size=16, optimizer="adam", lr=1e-4,
        schedule="step", lr_milestones=(30, 50),
    ),
    # LSP / LSPET: the MPII recipe on a seeded 90/10 split of LSPET.
    "lsp-hg": dict(
        model="hourglass", stacks=8, channels=256, input_size=256, sigma=1.0, dataset="lspet",
        train_split="train", val_split="val", epochs=100, batch_size=6, optimizer="rmsprop",
        schedule="step", lr_milestones=(60, 90),
    ),
    # Trains on a CPU in minutes: 1 stack of 64 channels at 64 px (16x16 heatmaps, depth 2, bottleneck
    # 4x4), sigma 1.5, batch 8 at lr 3e-3 (140 steps an epoch), 5 epochs; 300-W fit / holdout, one
    # CPU thread (two ran 10-30x slower on the shared 2-core CPU). The old recipe (2 stacks at 128 px,
    # batch 8, lr 1e-3, 5 epochs) sat on the loss plateau (flat heatmaps) at 57 % NME. Measured:
    # cpu-tiny reached 10.31 % held-out NME (inter-ocular, 87 holdout faces) in 1.0 min of training with
    # the CPU defaults (bf16 autocast, channels-last; real 1m02s for tools/train.py --preset cpu-tiny
    # --data-root ../shared/data/300w --out runs/tiny, then tools/eval.py runs/tiny; ~100 img/s); an
    # earlier float32 NCHW run on the loaded CPU reached 10.88 % in 3.2 min (not a speed comparison).
    "cpu-tiny": dict(
        model="hourglass", stacks=1, channels=64, input_size=64, sigma=1.5, dataset="300w",
        train_split="fit", val_split="holdout", epochs=5, batch_size=8, optimizer="adam",
        lr=3e-3, schedule="cosine", warmup_steps=50, workers=0, device="cpu", threads=1,
    ),
    # The shipped CPU face model (weights/): 2 stacks of 128 channels at 128 px (32x32 heatmaps,
    # depth 3), trained on 300-W "fit" and validated on "holdout" (10 % of HELEN trainset).
    "300w-hg-cpu": dict(
        model="hourglass", stacks=2, channels=128, input_size=128, sigma=1.5, dataset="300w",
        train_split="fit", val_split="holdout", epochs=40, batch_size=16, optimizer="adam", lr=1e-3,
        schedule="cosine", warmup_steps=100, device="cpu", ckpt_every_steps=50,
    ),
    # Its regression baseline: VGG-16-BN at quarter width (0.94 M parameters against the
    # hourglass's 1.44 M), same data, augmentation, epochs and schedule.
    "300w-vgg-cpu": dict(
        model="vgg", vgg_width=0.25, input_size=128, dataset="300w", coord_loss="wing",
        train_split="fit", val_split="holdout", epochs=40, batch_size=16, optimizer="adam", lr=1e-3,
        schedule="cosine", warmup_steps=100, device="cpu", ckpt_every_steps=50,
    ),
    # Stage 1 of the shipped CPU body models (weights/lspet-hg2.pt, lspet-hg4.pt; the cards have the rest):
    # the face model's size on LSPET's seeded 90/10 split, sigma 1.5 at 32x32, 44 epochs.
    # Channels-last memory and bf16 autocast halve a training step on a CPU with AVX512-BF16
    # (python -m benchmarks.bench_train_step): about 2.2 min per epoch on 2 threads; use
    # --amp none on a CPU without native bf16.
    "lspet-hg-cpu": dict(
        model="hourglass", stacks=2, channels=128, input_size=128, sigma=1.5, dataset="lspet",
        train_split="train", val_split="val", epochs=44, batch_size=16, optimizer="adam", lr=1e-3,
        schedule="cosine", warmup_steps=200, device="cpu", ckpt_every_steps=100, channels_last=True, amp="bf16",
    ),
    # A GPU body recipe, not shipped yet (one 10-epoch H200 run from scratch stayed on the loss
    # plateau): Newell et al.'s full-size network (256 channels, 256 px, 64x64 heatmaps, depth 4)
    # with 2 stacks on LSPET's 90/10 split, crops of 1.15x the joint box, the wider augmentation
    # of lspet-hg4's second stage and sigma 2 (SimpleBaseline's at 64x48). Epochs: set them, or let
    # tools/budget_train.py fit them to the time a lent GPU has. float32 NCHW: on an H200 its
    # training step ran at 579 images/s against 540 channels-last and 445 channels-last bf16
    # (python -m benchmarks.bench_train_step --stacks 2 --channels 256 --size 256 --device cuda
    # --batch 32; README "Performance").
    "lspet-hg2-gpu": dict(
        model="hourglass", stacks=2, channels=256, input_size=256, sigma=2.0, dataset="lspet",
        train_split="train", val_split="val", crop_padding=1.15, rotation=40.0, rotation_prob=0.6,
        scale_factor=(0.65, 1.35), epochs=80, batch_size=32, optimizer="adam", lr=1e-3, schedule="cosine",
        warmup_steps=300, workers=14,
    ),
    # The regression baseline for 300-W: VGG-16-BN, Wing loss, HRNet's face schedule.
    "300w-vgg": dict(
        model="vgg", input_size=256, dataset="300w", train_split="train", val_split="common", epochs=60,
        batch_size=16, optimizer="adam", lr=1e-4, schedule="step", lr_milestones=(30, 50), coord_loss="wing",
    ),
}  # fmt: skip
"""Named recipes: field overrides on top of the :class:`TrainConfig` defaults (no data_root)."""


def list_presets() -> list[str]:
    """Sorted preset names."""
    return sorted(PRESETS)


def resolve_config(
    preset: str | None = None, *, base: dict[str, Any] | None = None, check: bool = True, **overrides: Any
) -> TrainConfig:
    """Build a :class:`TrainConfig`: defaults, then the preset's fields, then ``base``, then ``overrides``.

    Without a preset and a saved config, :func:`run_defaults` fills in the dataset's splits and,
    on a CPU, the CPU-sized network. Overrides whose value is None are ignored (so argparse
    defaults of None keep the preset's value); to set a field to None pass it through
    :meth:`TrainConfig.replace`.

    Args:
        preset: a name from :data:`PRESETS`, or None.
        base: a saved config (:meth:`TrainConfig.to_dict`, e.g. a checkpoint's ``"config"``):
            a resumed run keeps it and changes only what ``overrides`` give.
        check: end with :meth:`TrainConfig.check_run` (pass False to change fields first).
        overrides: field values. A preset's or saved config's ``lr_milestones`` are dropped
            when the schedule ends up other than ``"step"``, and its ``val_fraction`` when a
            ``val_split`` is set, unless given here.

    Raises:
        ValueError: an unknown preset (the message lists the presets), an unknown field, or an
            invalid value (the message names the field and the value).
    """
    if preset is not None and preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; available presets: {', '.join(list_presets())}")
    fields_ = dict(PRESETS[preset]) if preset is not None else {}
    if preset is None and base is None:
        fields_ = run_defaults({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(TrainConfig)}
    for what, given in (("saved config", base or {}), ("TrainConfig", overrides)):
        unknown = sorted(set(given) - known)
        if unknown:
            raise ValueError(f"unknown {what} fields {unknown}; known fields: {sorted(known)}")
    fields_.update(base or {})
    given = {k: v for k, v in overrides.items() if v is not None}
    fields_.update(given)
    # Values a preset or a saved config holds that the given flags make moot (the old code
    # ignored them silently): a step schedule's milestones under another schedule, a held-out
    # fraction next to a validation split.
    if fields_.get("schedule", TrainConfig.schedule) != "step" and "lr_milestones" not in given:
        fields_.pop("lr_milestones", None)
    if fields_.get("val_split", TrainConfig.val_split) is not None and "val_fraction" not in given:
        fields_.pop("val_fraction", None)
    config = TrainConfig(**fields_)
    if check:
        config.check_run()
    return config


def run_defaults(given: dict[str, Any]) -> dict[str, Any]:
    """The fields a run without a preset takes from its dataset and device (``given``: the fields set).

    The splits of :data:`DATASET_SPLITS` for ``given["dataset"]`` (default MPII's), and on a CPU
    device the network of :data:`CPU_SIZED` (:func:`cpu_sized`). Fields in ``given`` are left out.
    """
    dataset = str(given.get("dataset", TrainConfig.dataset)).lower()
    out = dict(DATASET_SPLITS.get(dataset, {}))
    if "val_split" in given or "val_fraction" in given:  # the split flags go in together (cli.training_config)
        out.pop("val_split", None), out.pop("val_fraction", None)
    out.update(cpu_sized(given))
    return {k: v for k, v in out.items() if k not in given}


def cpu_sized(given: dict[str, Any]) -> dict[str, Any]:
    """The :data:`CPU_SIZED` fields a run without a preset takes on a CPU device (``"cpu"``, or
    ``"auto"`` without CUDA) and does not set in ``given``; empty on a GPU."""
    device = str(given.get("device", TrainConfig.device))
    if not (device == "cpu" or (device == "auto" and not torch.cuda.is_available())):
        return {}
    return {k: v for k, v in CPU_SIZED[given.get("model", TrainConfig.model)].items() if k not in given}


def cpu_sized_note(sized: dict[str, Any]) -> str | None:
    """The start-up line that says a run took :func:`cpu_sized`'s fields ``sized`` (None: none taken)."""
    if not sized:
        return None
    fields_ = ", ".join(f"{k}={v}" for k, v in sized.items())
    return (
        f"  network: CPU-sized, as no preset was given on a CPU device ({fields_}); give --stacks, --channels, "
        "--input-size (or --vgg-width) for another size, or --preset for a recipe"
    )
