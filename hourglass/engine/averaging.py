"""Weight averaging of a run's checkpoints (stochastic weight averaging, Izmailov et al. 2018).

The mean of the weights a run passes through late in training often generalises better than
any one of them. :func:`average_states` averages the models of several checkpoints of one
run (same architecture and keypoints); batch-norm running statistics do not average into
those of the averaged network, so :func:`recalibrate_batchnorm` measures them again with a
pass over training crops. :func:`average_checkpoints` does both and returns a checkpoint that
``tools/pack_weights.py``, ``tools/eval.py`` and ``--init-from`` read. Keep the checkpoints to
average with ``TrainConfig.keep_epochs`` (``tools/train.py --keep-epochs``); the command line
is ``tools/average_weights.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from hourglass.checkpoint import load_checkpoint
from hourglass.config import TrainConfig
from hourglass.engine.build import build_datasets, build_model_from_config, load_sets

logger = logging.getLogger(__name__)

__all__ = ["average_checkpoints", "average_states", "recalibrate_batchnorm"]


def average_states(states: Sequence[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The element-wise mean of model state dicts (accumulated in float64, cast back).

    Integer entries (batch norm's ``num_batches_tracked``) are taken from the last state.

    Raises:
        ValueError: no states, or states whose keys or shapes differ (the key is named).
    """
    if not states:
        raise ValueError("no model states to average; pass at least one checkpoint")
    last = states[-1]
    for i, s in enumerate(states):
        if s.keys() != last.keys():
            diff = sorted(set(s) ^ set(last))
            raise ValueError(
                f"state {i} has different entries from the last one ({diff[:5]}); average one run's checkpoints"
            )
        for k, v in s.items():
            if v.shape != last[k].shape:
                raise ValueError(f"state {i}: {k} has shape {tuple(v.shape)}, the last one {tuple(last[k].shape)}")
    out = {}
    for k, v in last.items():
        if v.is_floating_point():
            total = torch.zeros(v.shape, dtype=torch.float64)
            for s in states:
                total += s[k].detach().to("cpu", torch.float64)
            out[k] = (total / len(states)).to(v.dtype)
        else:
            out[k] = v.detach().clone()
    return out


def recalibrate_batchnorm(
    model: nn.Module, batches: Iterable[torch.Tensor], *, device: str | torch.device = "cpu", progress: bool = False
) -> int:
    """Re-measure every batch-norm layer's running mean and variance on ``batches``.

    The running statistics are reset and replaced by their cumulative average over all the
    batches (``momentum=None`` during the pass; the layers' momenta are restored afterwards).
    The model is left in eval mode. Returns the number of images seen; 0 (nothing changed)
    when the model has no batch norm.

    Args:
        model: the network.
        batches: image tensors (B, C, H, W), normalised as in training.
        device: where to run the pass.
        progress: show a tqdm progress bar.

    Raises:
        ValueError: the model has batch norm but ``batches`` yielded no images.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        model.eval()
        return 0
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    seen = 0
    model.to(device).train()
    try:
        with torch.no_grad():
            for images in tqdm(batches, desc="batch-norm statistics", unit="batch", disable=not progress):
                model(images.to(device))
                seen += int(images.shape[0])
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.eval()
    if seen == 0:
        raise ValueError("no images to measure the batch-norm statistics on; check the training data")
    return seen


def average_checkpoints(
    paths: Sequence[str | Path],
    *,
    data_root: str | None = None,
    recalibrate: bool = True,
    batch_size: int = 32,
    workers: int = 0,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """One checkpoint whose model is the average of those of ``paths``.

    Args:
        paths: training checkpoints of one run (the same architecture and keypoints; usually
            its ``epoch<NNN>.pt``), in training order: the last one gives the config and the
            step recorded in the result.
        data_root: dataset folder for the batch-norm pass; default the one the run trained on.
        recalibrate: measure batch-norm statistics again on the training split, with the
            run's training augmentation (each crop once, the last incomplete batch left out when
            there is more than one: every batch weighs the same). Without it the running statistics
            are averaged too, which is only right when they barely moved.
        batch_size, workers, device, progress: of the batch-norm pass.

    Returns:
        a checkpoint (``model``, ``arch``, ``spec``, ``config``, ``step``, ``epoch``,
        ``metric_name``, ``averaged_from``: file, step and epoch of each input,
        ``batchnorm_images``) without optimiser or random states: it is for evaluation,
        packing and ``--init-from``, not for resuming.

    Raises:
        FileNotFoundError / ValueError: a missing or unreadable file, fewer than two paths, or
            checkpoints of different architectures, keypoints or datasets.
    """
    if len(paths) < 2:
        raise ValueError(f"averaging needs at least two checkpoints, got {len(paths)}: {[str(p) for p in paths]}")
    ckpts = [load_checkpoint(p) for p in paths]
    last = ckpts[-1]
    _check_one_run(paths, ckpts)
    steps = [int(c.get("step", -1)) for c in ckpts]
    if len(set(steps)) < len(steps):
        logger.warning("some checkpoints share a step (%s): the same weights count more than once", steps)
    state = average_states([c["model"] for c in ckpts])
    config = TrainConfig.from_dict(last["config"])
    images = 0
    if recalibrate:
        if data_root is not None:
            config = config.replace(data_root=str(data_root))
        state, images = _recalibrated(config, last["spec"], state, batch_size, workers, device, progress)
    return {
        "format": 1,
        "model": state,
        "arch": last["arch"],
        "spec": last["spec"],
        "config": last["config"],
        "step": steps[-1],
        "epoch": int(last.get("epoch", -1)),
        "metric_name": last.get("metric_name"),
        "averaged_from": [
            {"file": Path(p).name, "step": s, "epoch": int(c.get("epoch", -1))}
            for p, s, c in zip(paths, steps, ckpts, strict=True)
        ],
        "batchnorm_images": images,
    }


def _check_one_run(paths: Sequence[str | Path], ckpts: Sequence[dict[str, Any]]) -> None:
    """Raise ValueError unless every checkpoint has the last one's arch, spec and dataset."""
    last = ckpts[-1]
    for p, c in zip(paths, ckpts, strict=True):
        for key in ("arch", "spec"):
            if c.get(key) != last.get(key):
                raise ValueError(
                    f"{p} has a different {key} from {paths[-1]} ({c.get(key)} vs {last.get(key)}); "
                    "average checkpoints of one run"
                )
        if (c.get("config") or {}).get("dataset") != (last.get("config") or {}).get("dataset"):
            raise ValueError(f"{p} was trained on another dataset than {paths[-1]}; average checkpoints of one run")


def _recalibrated(
    config: TrainConfig,
    spec: dict[str, Any],
    state: dict[str, torch.Tensor],
    batch_size: int,
    workers: int,
    device: str,
    progress: bool,
) -> tuple[dict[str, torch.Tensor], int]:
    """``state`` with batch-norm statistics measured on ``config``'s training crops, and the images seen."""
    model = build_model_from_config(config, len(spec["keypoints"]))
    model.load_state_dict(state)
    train_set, _, _ = load_sets(config, log=False)
    train_ds, _ = build_datasets(config, train_set, None, model=model)
    # every batch weighs the same in the cumulative average: drop a short last one, as training does
    drop = len(train_ds) > batch_size
    loader = torch.utils.data.DataLoader(
        train_ds, batch_size=batch_size, shuffle=False, num_workers=workers, drop_last=drop
    )
    images = recalibrate_batchnorm(model, (b.image for b in loader), device=device, progress=progress)
    return {k: v.detach().cpu() for k, v in model.state_dict().items()}, images
