"""The command line of ``tools/train.py``: its options, the config they make, the run, the exit status.

- :func:`build_parser`: the flags; the tool passes its usage text as the description.
- :class:`TrainOptions`: what the flags say, typed: the :class:`~hourglass.config.TrainConfig`
  fields given (``overrides``) and the flags that are not config fields.
- :func:`training_config`: the run's config: the preset, or with ``--resume`` the checkpoint's
  saved config, then the flags given.
- :func:`run_training`: train, print the outcome, and return the exit status: 0 done, 1 training
  diverged or an unexpected error (with a traceback), 2 a user error, 130 interrupted (Ctrl-C).
- :func:`main`: parse, then :func:`run_training`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hourglass._help import HelpFormatter
from hourglass.config import TrainConfig
from hourglass.data import DataError
from hourglass.engine.presets import PRESETS, cpu_sized, cpu_sized_note, list_presets, resolve_config
from hourglass.engine.resume import resume_config
from hourglass.engine.trainer import TrainingDiverged, TrainResult, train
from hourglass.runtime import tune_cpu

__all__ = ["TrainOptions", "build_parser", "main", "parse_options", "run_training", "training_config"]

_NOT_CONFIG = ("preset", "resume", "threads", "no_progress", "val_split", "val_fraction", "no_tune_cpu")
"""Flags that are not :class:`TrainConfig` fields, or (the split) go in together after the others."""


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The flags of ``tools/train.py``, with ``description`` (its usage text) above them in ``--help``."""
    p = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    _add_model_and_data_flags(p.add_argument)
    _add_run_flags(p.add_argument)
    for action in p._actions:  # the TrainConfig default of a config flag that does not state one
        default = getattr(TrainConfig, action.dest, None)
        if not (default is None or default is False or default == ()) and "default" not in (action.help or ""):
            shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
            action.help = f"{action.help or ''} (default: {shown})".strip()
    return p


def _add_model_and_data_flags(add: Callable[..., Any]) -> None:
    add("--preset", help=f"named recipe: {', '.join(list_presets())}")
    add("--model", choices=["hourglass", "vgg"], help="heatmap hourglass or VGG-16 coordinate regressor")
    add("--stacks", type=int, help="hourglass stacks: 1, 2, 4 or 8 (default 8; 2 on a CPU without --preset)")
    add("--blocks", type=int, help="residual modules per hourglass stage (default 1)")
    add("--channels", type=int, help="hourglass feature channels (default 256; 128 on a CPU without --preset)")
    add("--vgg-width", type=float, help="VGG width multiplier (default 1.0 = VGG-16; 0.25 on a CPU without --preset)")
    add("--vgg-head", choices=["gap", "fc"], help="VGG head: global average pooling (default) or VGG-16's FC layers")
    add("--coord-loss", choices=["wing", "l1"], help="VGG coordinate loss (default wing)")
    add(
        "--input-size",
        type=int,
        help="square input side in pixels (default 256, 128 on a CPU without --preset; heatmaps are input / 4)",
    )
    add(
        "--sigma",
        type=float,
        help="target heatmap Gaussian sigma in heatmap pixels (default 2; 1.5 on a CPU without --preset)",
    )
    add("--dataset", help="300w, mpii, lsp, lspet, coco or custom")
    add("--data-root", help="folder holding the dataset")
    add("--train-split", help="training split name (default: the dataset's: 300w fit, coco train2017, others train)")
    add(
        "--val-split",
        help="validation split name, or 'none' to hold out --val-fraction of the training split (default: the "
        "dataset's: 300w holdout, lsp/lspet val, mpii valid, coco val2017, custom none)",
    )
    add(
        "--val-fraction", type=float,
        help="held-out share of the training split when there is no --val-split (default: 0.1 for custom, else 0)",
    )  # fmt: skip
    add(
        "--crop-padding", type=float,
        help="LSP/LSPET: person crop side / joint-box longer side (default 1.6); saved with the model",
    )  # fmt: skip
    add("--rotation", type=float, metavar="DEG", help="augmentation: largest rotation in degrees (default 30)")
    add("--rotation-prob", type=float, metavar="P", help="augmentation: share of samples rotated (default 0.4)")
    add(
        "--scale-factor", type=float, nargs=2, metavar=("LOW", "HIGH"),
        help="augmentation: range of the crop-scale multiplier (default 0.75 1.25)",
    )  # fmt: skip
    add(
        "--crop-shift", type=float, metavar="F",
        help="augmentation: largest shift of the crop centre, fraction of the crop side (default 0)",
    )  # fmt: skip
    add(
        "--partial-views", type=float, metavar="F",
        help="share of training crops zoomed in on part of the subject; joints out of view learnt absent (default 0)",
    )  # fmt: skip
    add(
        "--negative-fraction", type=float, metavar="F",
        help="share of training samples that are background crops with empty targets (default 0)",
    )  # fmt: skip
    add("--max-train-samples", type=int, help="use only the first N training subjects")
    add("--max-val-samples", type=int, help="use only the first N validation subjects")
    add(
        "--missing-images", choices=["warn", "error"],
        help="subjects whose image file is missing: leave them out with a warning (default) or stop with an error",
    )  # fmt: skip


def _add_run_flags(add: Callable[..., Any]) -> None:
    add("--epochs", type=int, help="training epochs")
    add("--batch-size", type=int, help="global batch: under torchrun it is split over the processes")
    add("--lr", type=float, help="learning rate (default: RMSprop 2.5e-4 (Newell), Adam/AdamW 1e-3)")
    add("--optimizer", choices=["rmsprop", "adam", "adamw"], help="optimiser")
    add("--weight-decay", type=float, help="weight decay (default: 0; AdamW 1e-4)")
    add("--schedule", choices=["step", "cosine", "none"], help="learning-rate schedule after the warm-up")
    add("--lr-milestones", type=int, nargs="+", metavar="EPOCH", help="step schedule: epochs where lr *= --lr-gamma")
    add("--lr-gamma", type=float, help="step schedule: lr factor at each milestone (default 0.1)")
    add("--warmup-steps", type=int, help="steps of linear learning-rate warm-up from 0")
    add("--workers", type=int, help="DataLoader worker processes")
    add("--cache-dir", help="crop cache folder: one pass writes a small JPEG crop per subject, later epochs read it")
    add("--device", help="auto, cpu, cuda, cuda:N")
    add(
        "--amp",
        choices=["auto", "none", "bf16", "fp16"],
        help="autocast: bf16 on CUDA or the CPU, fp16 on CUDA; auto (default): bf16 on a CPU with native bf16",
    )
    add(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels-last memory (default: on for the CPU, off for GPUs)",
    )
    add("--compile", action=argparse.BooleanOptionalAction, default=None, help="torch.compile the model")
    add("--seed", type=int, help="seed of the initialisation, data order and augmentation")
    add(
        "--init-from", metavar="WEIGHTS",
        help="start a new run from these weights (shipped name, weights file, checkpoint or run folder): "
        "fine-tuning or a warm restart; same model flags and keypoints, or more --stacks (new stacks copy the last) "
        "or an --input-size larger by 2**k (the hourglasses grow k outer levels that start as the identity)",
    )  # fmt: skip
    add("--out", help="run folder (checkpoints, logs, plots)")
    add("--max-steps", type=int, help="stop after this many optimiser steps")
    add("--log-every", type=int, help="steps between rows of steps.csv")
    add("--ckpt-every-steps", type=int, help="steps between periodic checkpoints (0: epoch ends only)")
    add(
        "--keep-epochs", action=argparse.BooleanOptionalAction, default=None,
        help="also keep each epoch's checkpoint as OUT/epochNNN.pt (for tools/average_weights.py)",
    )  # fmt: skip
    add(
        "--tensorboard", action=argparse.BooleanOptionalAction, default=None,
        help="also write TensorBoard scalars to OUT/tensorboard (pip install tensorboard)",
    )  # fmt: skip
    add(
        "--resume", nargs="?", const="latest",
        help="continue from the run folder's last.pt (a new run when there is none), or from PATH, with the "
        "checkpoint's config and the flags given here",
    )  # fmt: skip
    add("--threads", type=int, help="torch CPU threads (default: the preset's, else torch's)")
    add("--no-progress", action="store_true", help="no progress bar (there is none when stderr is not a terminal)")
    add("--no-tune-cpu", action="store_true", help="leave glibc malloc untuned (also HOURGLASS_NO_TUNE=1)")


@dataclass(frozen=True)
class TrainOptions:
    """The flags of ``tools/train.py``.

    Attributes:
        overrides: the :class:`TrainConfig` fields the flags name (None: not given, the preset's
            or the resumed config's value stays).
        preset: ``--preset``; resume: ``--resume`` (``"latest"`` or a path; None: a new run).
        val_split, val_fraction: ``--val-split`` (``"none"``: hold out ``val_fraction`` of the
            training split) and ``--val-fraction``, None when not given.
        threads: torch CPU threads (None: torch's default); progress: show the progress bar.
        tune_cpu: tune glibc malloc first (:func:`hourglass.runtime.tune_cpu`; ``--no-tune-cpu``).
    """

    overrides: dict[str, Any] = field(default_factory=dict)
    preset: str | None = None
    resume: str | None = None
    val_split: str | None = None
    val_fraction: float | None = None
    threads: int | None = None
    progress: bool = True
    tune_cpu: bool = True

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> TrainOptions:
        overrides = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG}
        return cls(
            overrides, args.preset, args.resume, args.val_split, args.val_fraction, args.threads, not args.no_progress,
            not args.no_tune_cpu,
        )  # fmt: skip


def parse_options(argv: list[str] | None = None, description: str | None = None) -> TrainOptions:
    """:class:`TrainOptions` from ``argv`` (default ``sys.argv[1:]``); a bad flag exits with status 2 (argparse)."""
    return TrainOptions.from_args(build_parser(description).parse_args(argv))


def training_config(options: TrainOptions) -> TrainConfig:
    """The run's config: the preset (or, with ``resume``, the checkpoint's saved config), then the flags.

    Raises:
        ValueError / FileNotFoundError: a bad value, an unknown preset, a flag the run would ignore,
            a ``resume`` that names no training checkpoint.
    """
    # --val-split and --val-fraction go in together: a named split holds nothing out of the training
    # split (fraction 0 unless given, which is then an error), "none" holds out --val-fraction of it.
    split: dict[str, object] = {} if options.val_fraction is None else {"val_fraction": options.val_fraction}
    if options.val_split is not None:
        named = options.val_split.lower() != "none"
        split["val_split"] = options.val_split if named else None
        if named:
            split.setdefault("val_fraction", 0.0)
    base = None
    if options.resume is not None:
        out = options.overrides.get("out") or PRESETS.get(options.preset or "", {}).get("out") or TrainConfig.out
        base = resume_config(options.resume, out)
    overrides = {**options.overrides, "threads": options.threads}
    config = resolve_config(options.preset, base=base, check=False, **overrides)
    if split:
        config = config.replace(**split)
    config.check_run()
    return config


def run_training(options: TrainOptions, *, train_fn: Callable[..., TrainResult] = train) -> int:
    """Train as ``options`` say, print the outcome, and return the exit status (see the module docstring).

    Warnings come from rank 0 only under torchrun, errors from every rank (prefixed with it).
    ``train_fn``: :func:`~hourglass.engine.trainer.train`, or a stand-in.
    """
    rank = os.environ.get("RANK", "0")
    _console_logging(rank)
    where = "" if rank == "0" else f"[rank {rank}] "
    try:
        config = training_config(options)
        tune_cpu(enable=options.tune_cpu)
        given = {k: v for k, v in options.overrides.items() if v is not None}
        note = cpu_sized_note(cpu_sized(given)) if options.preset is None and options.resume is None else None
        notes = {} if note is None else {"notes": (note,)}  # (a stand-in train_fn need not take notes)
        result = train_fn(config, resume=options.resume, progress=options.progress, **notes)
    except KeyboardInterrupt:  # outside the training loop, which handles Ctrl-C by checkpointing
        print(f"{where}interrupted (Ctrl-C) before the training steps began or after they ended; "
              "nothing more was saved", file=sys.stderr)  # fmt: skip
        return 130
    except TrainingDiverged as e:
        print(f"{where}error: training diverged: {e}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, OSError, ImportError, DataError) as e:
        print(f"{where}error: {e}", file=sys.stderr)
        return 2
    if rank != "0":
        return 130 if result.interrupted else 0
    if result.interrupted:
        print(f"interrupted at step {result.step}; resume with --out {result.run_dir} --resume", file=sys.stderr)
        return 130
    best = "" if result.best_metric is None else f", best {result.metric_name} {100 * result.best_metric:.2f} %"
    print(f"done: {result.step} steps, final loss {result.final_loss:.6g}{best}; run folder {result.run_dir}")
    return 0


class _ConsoleFormatter(logging.Formatter):
    """The training console: info lines (start-up summary, one line per epoch) as they are, others with their level."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return message if record.levelno == logging.INFO else f"{record.levelname} {record.name}: {message}"


def _console_logging(rank: str) -> None:
    """Rank 0: the library's info lines and everyone's warnings on stderr; other ranks: errors only."""
    level = logging.WARNING if rank == "0" else logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    library = logging.getLogger("hourglass")
    for old in [h for h in library.handlers if isinstance(h.formatter, _ConsoleFormatter)]:
        library.removeHandler(old)  # an earlier call's, bound to an earlier sys.stderr
    if rank == "0":
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_ConsoleFormatter())
        library.addHandler(handler)
        library.setLevel(logging.INFO)
    library.propagate = rank != "0"


def main(
    argv: list[str] | None = None, *, description: str | None = None, train_fn: Callable[..., TrainResult] = train
) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and :func:`run_training`; returns the exit status."""
    return run_training(parse_options(argv, description), train_fn=train_fn)
