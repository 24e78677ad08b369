"""Training configuration: one frozen dataclass (the named recipes are in :mod:`.presets`).

:class:`TrainConfig` is built once at the edge (``tools/train.py`` or a test), validated on
construction, saved into every checkpoint (:meth:`TrainConfig.to_dict`) and into the run folder
as ``config.json``. It holds plain values only, never live objects.

Optimiser defaults (``lr=None`` picks them) and where they come from:

- ``rmsprop``: lr 2.5e-4, Newell et al.'s original Torch recipe (batch 6, ~100 epochs);
- ``adam``: lr 1e-3, the PyTorch re-implementation of the stacked hourglass, which found it
  better than RMSprop (batch 16);
- ``adamw``: lr 1e-3 with weight decay 1e-4 (this toolkit's choice, not from a paper);
  RMSprop and Adam default to no weight decay (``weight_decay=None`` picks these).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["DEFAULT_LR", "DEFAULT_WEIGHT_DECAY", "TrainConfig"]

MODELS = ("hourglass", "vgg")
HOURGLASS_STACKS = (1, 2, 4, 8)
OPTIMIZERS = ("rmsprop", "adam", "adamw")
SCHEDULES = ("step", "cosine", "none")
AMP_MODES = ("auto", "none", "bf16", "fp16")
COORD_LOSSES = ("wing", "l1")
VGG_HEADS = ("gap", "fc")
MISSING_IMAGES = ("warn", "error")
PADDED_DATASETS = ("lsp", "lspet")
"""Datasets whose person crops are framed from the joints with ``TrainConfig.crop_padding``."""

DEFAULT_LR = {"rmsprop": 2.5e-4, "adam": 1e-3, "adamw": 1e-3}
"""Learning rate used when ``TrainConfig.lr`` is None (sources in the module docstring)."""
DEFAULT_WEIGHT_DECAY = {"rmsprop": 0.0, "adam": 0.0, "adamw": 1e-4}
"""Weight decay used when ``TrainConfig.weight_decay`` is None."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs (sizes in pixels; epochs and steps count optimiser steps).

    Attributes:
        model: ``"hourglass"`` (heatmaps, :func:`hourglass.losses.heatmap_mse`) or ``"vgg"``
            (direct regression of normalised coordinates).
        stacks: hourglass stacks, one of 1, 2, 4, 8 (the registered ``hourglass<N>`` models).
        blocks: residual modules per hourglass stage.
        channels: hourglass feature channels (even).
        vgg_width: VGG width multiplier (1.0 = VGG-16); vgg_head ``"gap"`` or ``"fc"``.
        input_size: square input side; heatmaps are input / 4 and the hourglass depth follows
            them so the bottleneck is 4x4 (:func:`hourglass.models.auto_depth`).
        sigma: Gaussian sigma of the target heatmaps (heatmap pixels); also DARK's blur.
        coord_loss: VGG loss, ``"wing"`` (w = 10 px, epsilon = 2 px, scaled to normalised
            coordinates by the input size) or ``"l1"``.
        dataset, data_root, train_split, val_split: passed to :func:`hourglass.data.load_dataset`.
            ``val_split=None`` holds out ``val_fraction`` of the training split instead
            (:func:`hourglass.data.split_indices` with ``seed``; 0 = no validation); a
            ``val_fraction`` with a ``val_split`` is an error (it would be ignored).
        crop_padding: person crop side / longer side of the labelled-joint box, for the
            datasets framed from their joints (``"lsp"``, ``"lspet"``:
            :func:`hourglass.data.lsp.load_lsp`); None = the loader's 1.6. A tighter crop puts
            more input pixels on the person. It is saved with the model, so evaluation and
            :class:`hourglass.Predictor` frame people the same way.
        rotation, rotation_prob, scale_factor: the training augmentation's geometry
            (:class:`~hourglass.data.PipelineConfig`): largest rotation in degrees, the share of
            samples rotated, and the (low, high) crop-scale multiplier; angle and scale are drawn
            from a normal clipped to the range. The defaults are Newell et al.'s (30 degrees for
            40 %, 0.75-1.25); the COCO recipes of SimpleBaseline and HRNet rotate 40-45 degrees for 60 %
            and scale by up to 30-35 %.
        crop_shift: largest random shift of the training crop's centre along each axis, as a
            fraction of the crop side (``PipelineConfig.shift``; 0 to 0.5, default 0: crops centred
            on the annotation as in the published recipes). With the scale range it reproduces how
            a detector frames subjects at inference (``benchmarks/calibrate_detectors.py``: the
            calibrated Haar face crop's centre is off by a median 0.063 of its side, p95 0.15; the
            HOG person crop's by 0.11, p95 0.30, its scale 0.63-1.63 of the true one).
        partial_views: share of the training crops that are partial views, zoomed in 0.35-0.7x
            and moved up to 0.35 of the crop side (``PipelineConfig.partial_prob``; 0 to 0.5,
            default 0). When above 0, labelled joints outside any training crop are learnt as
            absent (all-zero target, weight 1: ``PipelineConfig.absent_targets``), so a model
            shown a head-and-shoulders photo scores the legs low instead of guessing them.
        negative_fraction: share of the training samples that are background crops with empty
            target heatmaps (:class:`hourglass.data.negatives.WithNegatives`; 0 to 0.5, default
            0): heatmap models then learn to say "nobody here", which the presence score reads.
        max_train_samples, max_val_samples: use only the first N subjects (tiny runs); None = all.
        epochs, batch_size: as usual; the last incomplete batch of an epoch is dropped when the
            training set has more than one batch. ``batch_size`` is the global batch: under
            torchrun it is split over the processes and must be divisible by their number
            (:mod:`hourglass.engine.distributed`; the learning rates are for this global batch).
        missing_images: subjects whose image file does not exist, checked before training:
            ``"warn"`` leaves them out with a warning (counts in ``summary.json``), ``"error"``
            raises :class:`~hourglass.data.DataError`. A training split without any image is
            always an error (most likely a wrong data root).
        lr: learning rate, None = :data:`DEFAULT_LR` of the optimiser.
        optimizer: ``"rmsprop"``, ``"adam"`` or ``"adamw"``; weight_decay for all of them
            (None = :data:`DEFAULT_WEIGHT_DECAY` of the optimiser, resolved on construction, so
            ``replace(optimizer=...)`` keeps the resolved value).
        schedule: ``"step"`` (x ``lr_gamma`` at each epoch in ``lr_milestones``, which must lie
            below ``epochs``; empty = at 60 % and 85 % of the epochs), ``"cosine"`` (to 0 over
            ``epochs``) or ``"none"``; warmup_steps of linear warm-up from 0 in front of any of them.
        workers: DataLoader worker processes (0 = load in the main process).
        cache_dir: folder of a crop cache (:class:`~hourglass.data.KeypointDataset`), or None:
            one pass before training writes a JPEG crop per subject (training and validation)
            that holds every augmented crop it can draw, and every epoch after decodes only
            those small crops instead of the source images. Crops are keyed by image, box and
            crop geometry, so several runs can share a folder.
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        threads: torch CPU threads for the run (None: torch's default, one per core). On a CPU
            shared with other jobs one thread can be many times faster than two (``cpu-tiny``).
        amp: ``"auto"``, ``"none"``, ``"bf16"`` or ``"fp16"`` autocast. bf16 runs on CUDA and on
            the CPU (where AVX512-BF16 or AMX makes a training step about 2x faster,
            ``benchmarks/bench_train_step.py``); fp16 is CUDA only and uses a grad scaler.
            ``"auto"`` (the default) is bf16 on a CPU with native bf16
            (:func:`hourglass.runtime.native_bf16`) and none elsewhere, GPUs included; the run
            saves the resolved value.
        channels_last: channels-last memory format of the model and its input; None (the
            default) is True on the CPU and False on GPUs, resolved and saved like ``amp``.
        compile: ``torch.compile`` the model.
        seed: seeds the model initialisation, the data order and the augmentation.
        init_from: start a new run from these model weights instead of a random initialisation
            (fine-tuning, or a warm restart with a new schedule or crop): a shipped weights name,
            a weights file, a checkpoint or a run folder (:func:`hourglass.weights.resolve_weights`).
            Architecture and keypoints must match (fewer hourglass stacks grow); the optimiser starts fresh.
            A resumed run takes its weights from its checkpoint and ignores this.
        out: the run folder (checkpoints, ``config.json``, logs, plots).
        max_steps: stop after this many optimiser steps in total; None = no limit. It only
            stops the run: the learning-rate schedule still spans ``epochs``, so a run trained
            in chunks (``max_steps``, then resume with a larger one) follows the same curve.
        log_every: steps between rows of ``steps.csv`` (and progress-bar updates).
        ckpt_every_steps: steps between periodic checkpoints (0 = only at epoch ends).
        keep_epochs: also keep every epoch's end-of-epoch checkpoint as ``epoch<NNN>.pt``
            (full checkpoints: each can be resumed from or averaged with
            ``tools/average_weights.py``; about 12 bytes per parameter each).
        tensorboard: also write TensorBoard scalars to ``<out>/tensorboard/`` (needs the
            ``tensorboard`` package: ``pip install tensorboard``).
    """

    model: str = "hourglass"
    stacks: int = 8
    blocks: int = 1
    channels: int = 256
    vgg_width: float = 1.0
    vgg_head: str = "gap"
    input_size: int = 256
    sigma: float = 2.0
    coord_loss: str = "wing"
    dataset: str = "mpii"
    data_root: str | None = None
    train_split: str = "train"
    val_split: str | None = "valid"
    val_fraction: float = 0.0
    max_train_samples: int | None = None
    max_val_samples: int | None = None
    crop_padding: float | None = None
    rotation: float = 30.0
    rotation_prob: float = 0.4
    scale_factor: tuple[float, float] = (0.75, 1.25)
    crop_shift: float = 0.0
    partial_views: float = 0.0
    negative_fraction: float = 0.0
    missing_images: str = "warn"
    epochs: int = 100
    batch_size: int = 6
    lr: float | None = None
    optimizer: str = "rmsprop"
    weight_decay: float | None = None
    schedule: str = "step"
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    warmup_steps: int = 0
    workers: int = 0
    cache_dir: str | None = None
    device: str = "auto"
    threads: int | None = None
    amp: str = "auto"
    channels_last: bool | None = None
    compile: bool = False
    seed: int = 0
    init_from: str | None = None
    out: str = "runs/train"
    max_steps: int | None = None
    log_every: int = 10
    ckpt_every_steps: int = 0
    keep_epochs: bool = False
    tensorboard: bool = False

    def __post_init__(self) -> None:
        self._check_choices()
        self._check_integers()
        self._check_numbers()
        self._check_augmentation()
        self._check_split_and_schedule()
        self._check_strings_and_flags()

    # --- validation, in the order of the messages a bad config gets -----------------------------
    def _bad(self, name: str, need: str) -> ValueError:
        return ValueError(f"TrainConfig.{name} must be {need}, got {getattr(self, name)!r}")

    def _choice(self, name: str, options: tuple) -> None:
        if getattr(self, name) not in options:
            raise self._bad(name, f"one of {list(options)}")

    def _integer(self, name: str, low: int, optional: bool = False) -> None:
        v = getattr(self, name)
        if optional and v is None:
            return
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise self._bad(name, f"an integer >= {low}" + (" or None" if optional else ""))

    def _number(self, name: str, positive: bool, optional: bool = False) -> None:
        """Check a finite number (positive or non-negative) and store it as a float."""
        v = getattr(self, name)
        if optional and v is None:
            return
        ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
        if not ok or (v <= 0 if positive else v < 0):
            raise self._bad(name, ("a positive" if positive else "a non-negative") + " finite number")
        object.__setattr__(self, name, float(v))

    def _check_choices(self) -> None:
        for name, options in (
            ("model", MODELS), ("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("amp", AMP_MODES),
            ("coord_loss", COORD_LOSSES), ("vgg_head", VGG_HEADS), ("missing_images", MISSING_IMAGES),
        ):  # fmt: skip
            self._choice(name, options)
        if self.model == "hourglass" and self.stacks not in HOURGLASS_STACKS:
            raise self._bad("stacks", f"one of {list(HOURGLASS_STACKS)} (the registered hourglass models)")

    def _check_integers(self) -> None:
        for name in ("blocks", "epochs", "batch_size", "log_every"):
            self._integer(name, 1)
        for name in ("warmup_steps", "workers", "seed", "ckpt_every_steps"):
            self._integer(name, 0)
        for name in ("max_steps", "max_train_samples", "max_val_samples", "threads"):
            self._integer(name, 1, optional=True)
        self._integer("channels", 2)
        if self.channels % 2:
            raise self._bad("channels", "even (the residual bottleneck uses channels / 2)")
        self._integer("input_size", 32)
        if self.model == "hourglass" and self.input_size % 32:
            raise self._bad("input_size", "a multiple of 32 for the hourglass (heatmaps input / 4, bottleneck 4x4)")

    def _check_numbers(self) -> None:
        self._number("sigma", positive=True)
        self._number("vgg_width", positive=True)
        self._number("lr", positive=True, optional=True)
        if self.weight_decay is None:
            object.__setattr__(self, "weight_decay", DEFAULT_WEIGHT_DECAY[self.optimizer])
        self._number("weight_decay", positive=False)
        self._number("lr_gamma", positive=True)
        self._number("crop_padding", positive=True, optional=True)
        if self.crop_padding is not None and self.dataset not in PADDED_DATASETS:
            raise ValueError(
                f"TrainConfig.crop_padding {self.crop_padding} applies to the datasets framed from their joints "
                f"({', '.join(PADDED_DATASETS)}), not {self.dataset!r}, whose crops come from its boxes or scales; "
                "leave out --crop-padding"
            )

    def _check_augmentation(self) -> None:
        self._number("rotation", positive=False)
        if self.rotation > 180:
            raise self._bad("rotation", "at most 180 degrees")
        self._number("rotation_prob", positive=False)
        if self.rotation_prob > 1:
            raise self._bad("rotation_prob", "a probability in [0, 1]")
        try:
            low, high = (float(v) for v in self.scale_factor)
        except (TypeError, ValueError):
            raise self._bad("scale_factor", "two numbers (low, high)") from None
        if not (0 < low <= high and math.isfinite(high)):
            raise self._bad("scale_factor", "(low, high) with 0 < low <= high")
        object.__setattr__(self, "scale_factor", (low, high))
        self._number("crop_shift", positive=False)
        if self.crop_shift > 0.5:
            raise self._bad("crop_shift", "a fraction of the crop side in [0, 0.5]")
        self._number("partial_views", positive=False)
        if self.partial_views > 0.5:
            raise self._bad("partial_views", "a share of the training crops in [0, 0.5]")
        self._number("negative_fraction", positive=False)
        if self.negative_fraction > 0.5:
            raise self._bad("negative_fraction", "a share of the training samples in [0, 0.5]")

    def _check_split_and_schedule(self) -> None:
        if not (isinstance(self.val_fraction, (int, float)) and 0 <= self.val_fraction < 1):
            raise self._bad("val_fraction", "in [0, 1)")
        object.__setattr__(self, "val_fraction", float(self.val_fraction))
        try:
            milestones = tuple(int(m) for m in self.lr_milestones)
        except (TypeError, ValueError):
            raise self._bad("lr_milestones", "a sequence of epoch numbers") from None
        if any(m < 1 for m in milestones) or any(a >= b for a, b in zip(milestones, milestones[1:])):
            raise self._bad("lr_milestones", "strictly increasing positive epoch numbers")
        object.__setattr__(self, "lr_milestones", milestones)

    def _check_strings_and_flags(self) -> None:
        for name in ("dataset", "train_split", "out", "device"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise self._bad(name, "a non-empty string")
        for name in ("data_root", "cache_dir", "init_from"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                object.__setattr__(self, name, str(getattr(self, name)))
        if self.val_split is not None and not isinstance(self.val_split, str):
            raise self._bad("val_split", "a split name or None")
        for name in ("channels_last", "compile", "tensorboard", "keep_epochs"):
            if not isinstance(getattr(self, name), bool) and not (
                name == "channels_last" and self.channels_last is None
            ):
                raise self._bad(name, "True or False" + (" or None (auto)" if name == "channels_last" else ""))

    def check_run(self) -> None:
        """Raise ``ValueError`` for values a run would ignore: ``lr_milestones`` with a schedule
        other than ``"step"`` or at or beyond ``epochs``, a ``val_fraction`` with a ``val_split``.

        Separate from construction, so that configs saved before these checks existed still
        load (:meth:`from_dict`, weights files); :func:`resolve_config` and
        :func:`~hourglass.engine.trainer.train` call it.
        """
        m = self.lr_milestones
        if m and self.schedule != "step":
            raise ValueError(
                f"TrainConfig.lr_milestones {list(m)} belong to the 'step' schedule, not {self.schedule!r}; "
                "leave out --lr-milestones"
            )
        if m and m[-1] >= self.epochs:
            raise ValueError(
                f"TrainConfig.lr_milestones {list(m)} must lie below epochs {self.epochs} (a later milestone "
                "never applies); pass --lr-milestones with earlier epochs"
            )
        if self.val_split is not None and self.val_fraction > 0:
            raise ValueError(
                f"TrainConfig.val_fraction {self.val_fraction} would be ignored with val_split {self.val_split!r}; "
                "pass --val-split none to hold out a share of the training split, or leave out --val-fraction"
            )

    @property
    def learning_rate(self) -> float:
        """``lr``, or the optimiser's default from :data:`DEFAULT_LR`."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.optimizer]

    def loader_options(self, dataset: str | None = None) -> dict[str, Any]:
        """Keyword arguments for :func:`hourglass.data.load_dataset` of ``dataset`` (default the
        config's) that frame its subjects as this run's were: ``padding`` for LSP/LSPET."""
        if self.crop_padding is None or (dataset or self.dataset) not in PADDED_DATASETS:
            return {}
        return {"padding": self.crop_padding}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field (tuples become lists)."""
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict`. Raises ValueError naming unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown TrainConfig fields {unknown}; known fields: {sorted(known)}")
        return cls(**{k: tuple(v) if k in ("lr_milestones", "scale_factor") else v for k, v in d.items()})

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)
