"""Trained models on disk: training checkpoints, shipped weight files, and names for them.

:func:`load_model` turns any of these into a ready :class:`LoadedModel` (model in eval mode,
its keypoint spec and its training config):

- a training checkpoint (``last.pt`` / ``best.pt`` of :func:`hourglass.engine.train`);
- a run folder: its ``last.pt`` (the final weights), or its ``best.pt`` when asked (``best=True``);
  best.pt was chosen on the validation split, so numbers measured on that split with it are
  optimistic;
- a weights file written by :func:`export_weights` (what ``weights/`` ships);
- the name of a shipped weights file (``"300w-hg2"``), looked up in :func:`weights_dir`.

Weights file format
-------------------
A plain dict that ``torch.load(..., weights_only=True)`` reads (no pickled objects)::

    {"format": "hourglass-weights", "version": 1,
     "model": state dict, floating tensors in float16 (float32 when asked, and for any
              tensor with values beyond float16's range, such as a batch-norm variance
              above 65504, which float16 would turn into infinity),
     "arch": model.arch, "spec": KeypointSpec.to_dict(), "config": TrainConfig.to_dict(),
     "metrics": {...},
     "source": {"file": checkpoint file name, "step": ..., "epoch": ..., "best_metric": ..., "metric_name": ...}}

``source`` records the checkpoint it was packed from: its file name (e.g. ``"last.pt"``, no
folder), step and epoch (-1 where absent), and the run's best validation value so far with the
metric's name (None without validation).

Half precision halves the file; the model is rebuilt in float32 and the weights are
converted on loading. The rounding moves heatmap peaks by far less than a pixel (measured in
``tests/test_weights.py``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hourglass.checkpoint import load_checkpoint, save_checkpoint
from hourglass.config import TrainConfig
from hourglass.keypoints import KeypointSpec
from hourglass.models import build_model

__all__ = [
    "DEFAULT_MODELS",
    "LoadedModel",
    "WEIGHTS_ENV",
    "check_finite",
    "export_weights",
    "file_sha256",
    "list_weights",
    "load_model",
    "resolve_weights",
    "weights_dir",
]

WEIGHTS_ENV = "HOURGLASS_WEIGHTS"
"""Environment variable naming a folder of weights files; default: the repository's ``weights/``."""

MODEL_ENTRIES = ("spec", "config")
"""What a file needs beyond the weights and architecture to become a model."""

FORMAT = "hourglass-weights"
VERSION = 1

DEFAULT_MODELS: dict[str, str] = {"face": "300w-hg2", "person": "lspet-hg4"}
"""The shipped model used for each kind of subject when none is named."""


def weights_dir() -> Path:
    """The folder of shipped weights: ``$HOURGLASS_WEIGHTS``, else ``weights/`` beside the package."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env) if env else Path(__file__).resolve().parent.parent / "weights"


def list_weights() -> list[str]:
    """Names of the weights files in :func:`weights_dir` (file names without ``.pt``), sorted."""
    folder = weights_dir()
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []


def resolve_weights(name_or_path: str | os.PathLike, *, best: bool = False) -> Path:
    """The file a name or path stands for: an existing file, a run folder, or a shipped name.

    A run folder stands for its ``last.pt``, or with ``best`` its ``best.pt`` (the checkpoint
    with the best validation metric: selected on the split an evaluation of the run reports by
    default, so its numbers there are optimistic).

    Raises:
        FileNotFoundError: nothing matches; the message lists the shipped names (or, for a run
            folder without the file asked for, says which file it holds).
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.is_dir():
        wanted, other = ("best.pt", "last.pt") if best else ("last.pt", "best.pt")
        if (path / wanted).is_file():
            return path / wanted
        hint = ""
        if (path / other).is_file():
            hint = f"; it holds {other}: {'leave out --best' if best else 'pass --best'} to use it"
        raise FileNotFoundError(f"run folder {path} holds no {wanted}{hint} (or pass a checkpoint or weights file)")
    shipped = weights_dir() / f"{name_or_path}.pt"
    if isinstance(name_or_path, str) and os.sep not in name_or_path and shipped.is_file():
        return shipped
    names = list_weights()
    raise FileNotFoundError(
        f"no model {str(name_or_path)!r}: not a file, not a run folder, and not a shipped weights name "
        f"(shipped in {weights_dir()}: {', '.join(names) if names else 'none'})"
    )


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True)
class LoadedModel:
    """A trained model ready for inference.

    Attributes:
        model: the network in eval mode, float32, on ``device``.
        spec: its keypoint spec.
        config: the training config (:class:`hourglass.engine.TrainConfig`).
        output_kind: ``"heatmap"`` (stacked hourglass, output (B, S, K, h, w)) or ``"regression"``
            (VGG, output (B, K, 2) normalised coordinates): the network's own ``output_kind``.
            ``kind`` is the same value under its former name (an alias for one release).
        path: the file it came from.
        metrics: metrics stored with a weights file (empty for checkpoints).
        device: where the model lives.
    """

    model: nn.Module
    spec: KeypointSpec
    config: Any
    output_kind: str
    path: Path
    metrics: dict[str, Any] = field(default_factory=dict)
    device: torch.device = torch.device("cpu")

    @property
    def kind(self) -> str:
        """The former name of :attr:`output_kind` (kept for one release; the subject kind is
        ``spec.subject`` and an evaluation report's is ``EvalReport.kind``)."""
        return self.output_kind

    @property
    def input_size(self) -> tuple[int, int]:
        """(W, H) of the network input (the network's own ``input_size``)."""
        return tuple(self.model.input_size)

    @property
    def heatmap_size(self) -> tuple[int, int] | None:
        """(W, H) of the heatmaps (the network's own ``heatmap_size``), None for regression models."""
        return self.model.heatmap_size

    @property
    def sigma(self) -> float:
        """The training heatmap sigma (DARK's blur sigma)."""
        return float(self.config.sigma)

    @property
    def presence_threshold(self) -> float | None:
        """The calibrated presence threshold stored with a weights file
        (:func:`hourglass.evaluation.calibrate_presence`), None where there is none."""
        presence = self.metrics.get("presence") if isinstance(self.metrics, dict) else None
        return None if not presence else float(presence["threshold"])

    @property
    def keypoint_threshold(self) -> float | None:
        """The calibrated keypoint threshold stored with a weights file (a keypoint scoring below
        it is out of view: :func:`hourglass.evaluation.presence.calibrate_keypoints`), None where
        there is none."""
        keypoints = self.metrics.get("keypoints") if isinstance(self.metrics, dict) else None
        return None if not keypoints else float(keypoints["threshold"])

    @property
    def name(self) -> str:
        """Short name: the file name without ``.pt`` (the run folder's name for checkpoints)."""
        return self.path.parent.name if self.path.name in ("best.pt", "last.pt") else self.path.stem


def load_model(
    name_or_path: str | os.PathLike, device: str | torch.device = "cpu", *, best: bool = False
) -> LoadedModel:
    """Load a checkpoint, run folder, weights file or shipped name (module docstring); a run
    folder gives its ``last.pt``, or its ``best.pt`` with ``best`` (:func:`resolve_weights`).

    Raises:
        FileNotFoundError: nothing found under that name (shipped names listed).
        ValueError: an unreadable or foreign file, weights that do not fit the architecture
            stored with them (the message names the file, the architecture and the first
            mismatching tensors), or non-finite weights (it names the tensors).
    """
    path = resolve_weights(name_or_path, best=best)
    blob = load_checkpoint(path, require=MODEL_ENTRIES)
    arch = dict(blob["arch"])
    try:
        spec = KeypointSpec.from_dict(blob["spec"])
        config = TrainConfig.from_dict(blob["config"])
        model = build_model(arch.pop("name"), **arch)
    except (TypeError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: its stored spec/config/architecture is invalid: {e}") from None
    if model.arch.get("num_keypoints") != spec.num_keypoints:
        raise ValueError(
            f"{path}: architecture predicts {model.arch.get('num_keypoints')} keypoints but the stored spec "
            f"{spec.name!r} has {spec.num_keypoints}"
        )
    state = blob["model"]
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        detail = "; ".join(
            f"{what} {names[:3]}{' ...' if len(names) > 3 else ''}"
            for what, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong))
            if names
        )
        raise ValueError(
            f"{path}: the weights do not fit the stored architecture {blob['arch']} ({detail}); "
            "the file is damaged or was edited"
        )
    check_finite(state, path)
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    device = torch.device(device)
    model.to(device).eval()
    kind = model.output_kind
    metrics = dict(blob.get("metrics") or {})
    return LoadedModel(model, spec, config, kind, path, metrics, device)


def check_finite(state: dict[str, torch.Tensor], source: Any) -> None:
    """Raise ValueError naming ``source`` and its first non-finite floating tensors, if any.

    Used wherever weights are read (:func:`load_model`, :func:`export_weights`, ``--init-from``).
    """
    broken = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if broken:
        raise ValueError(
            f"{source}: non-finite values in {broken[:3]}{' ...' if len(broken) > 3 else ''}; a diverged run"
            " (use an earlier checkpoint, such as an epochNNN.pt of a run trained with --keep-epochs) or a file"
            " packed in float16 by an exporter that let large values overflow (pack it again from its training"
            " checkpoint with tools/pack_weights.py)"
        )


def _half_if_in_range(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` in float16 when it is floating and float16 holds all its values, else as is.

    Batch-norm variances late in a deep stack can exceed float16's largest value (65504) and
    would become infinite, silencing their channel; those tensors stay float32.
    """
    if not tensor.is_floating_point():
        return tensor
    half = tensor.half()
    return half if torch.isfinite(half).all() else tensor


def export_weights(
    checkpoint: str | os.PathLike,
    out: str | os.PathLike,
    *,
    metrics: dict[str, Any] | None = None,
    half: bool = True,
    best: bool = False,
) -> Path:
    """Write a compact weights file from a training checkpoint (or another weights file); a run
    folder gives its ``last.pt``, or its ``best.pt`` with ``best`` (:func:`resolve_weights`).

    Keeps the model state (floating tensors in float16 when ``half``, except those with values
    beyond float16's range, which stay float32), architecture, spec and config; drops optimiser,
    scheduler and RNG states. Written atomically.

    Returns:
        the written path.

    Raises:
        ValueError: the checkpoint holds non-finite weights (a diverged run; the message names
            the tensors).
    """

    src = resolve_weights(checkpoint, best=best)
    blob = load_checkpoint(src, require=MODEL_ENTRIES)
    check_finite(blob["model"], src)
    state = {k: (_half_if_in_range(v) if half else v).contiguous().clone() for k, v in blob["model"].items()}
    weights = {
        "format": FORMAT,
        "version": VERSION,
        "model": state,
        "arch": blob["arch"],
        "spec": blob["spec"],
        "config": blob["config"],
        "metrics": dict(metrics if metrics is not None else blob.get("metrics") or {}),
        "source": dict(blob["source"])
        if isinstance(blob.get("source"), dict)
        else {  # a weights file keeps its own
            "file": src.name,
            "step": int(blob.get("step", -1)),
            "epoch": int(blob.get("epoch", -1)),
            "best_metric": blob.get("best_metric"),
            "metric_name": blob.get("metric_name"),
        },
    }
    return save_checkpoint(weights, out)
