"""Data-parallel training under ``torchrun``: process group, devices, sharding, reductions, Ctrl-C.

:func:`hourglass.engine.train` uses this module; a plain ``python tools/train.py`` run has world
size 1 and nothing here communicates. Under ``torchrun`` (which sets ``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``):

- **Backend and devices**: NCCL when the run's device is CUDA, each process on
  ``cuda:LOCAL_RANK``; gloo on CPU. ``--device cuda`` (or ``auto``) with fewer visible GPUs
  than processes on the node is an error.
- **Batch size is global**: ``TrainConfig.batch_size`` is the number of subjects per optimiser
  step over all processes, so a recipe means the same thing on 1 or 8 GPUs, and it must be
  divisible by the world size. Every process builds the same epoch order (a permutation seeded
  with (seed, epoch)) and takes its own contiguous slice of each global batch
  (:func:`shard`); the slices of all ranks partition the batch, so the ranks together see
  exactly the single-process data, step for step. The gradient is the global batch's: each
  rank's loss is weighted by its share of the loss denominator (:func:`loss_weights`) before
  DistributedDataParallel averages the gradients. BatchNorm statistics are per process
  (batch / world size subjects), as in plain DDP. The learning rates of the presets are for
  their global batch; when you raise the global batch to feed more GPUs, scale the learning
  rate with it (the linear scaling rule) and add warm-up.
- **Resume**: a checkpoint counts global batches, so every rank skips the same done batches
  and resumes from the same file; checkpoints hold the bare model's state dict (no
  ``module.`` prefix) and are interchangeable with single-process ones, at any world size
  that divides the batch.
- **Metrics**: the training loss of a step is reduced over ranks (:func:`all_reduce_sum`)
  and is the global batch's loss; validation is sharded, the predictions are gathered
  (:func:`all_gather_arrays`) and the metric is computed once on the whole set.
- **Stopping**: the finiteness of the loss and the Ctrl-C flag travel in the same reduction,
  so all ranks stop at the same step without a hang: on NaN every rank raises
  ``TrainingDiverged``; on Ctrl-C every rank finishes its step, rank 0 saves ``last.pt`` and
  all exit (best effort: torchrun kills workers still running 30 s after forwarding the
  signal, and a third Ctrl-C stops a worker at once). An exception on one rank only (say an
  unreadable image) ends that process, and torchrun then stops the others.
- **Files**: only rank 0 writes (config, logs, plots, checkpoints, summary, TensorBoard).
  Several nodes need the data at the same ``--data-root`` and, to resume, ``--out`` on a
  file system they share; ranks that disagree on the data sizes or the resume position stop
  with an error instead of hanging.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

# Process-group setup and device resolution, part of this module's API.
from hourglass.engine.checkpoint import set_rng_state
from hourglass.engine.process_group import (
    DistInfo,
    check_batch_size,
    cleanup,
    env_info,
    init_process_group,
    resolve_device,
)

__all__ = [
    "DistInfo",
    "StopFlag",
    "all_gather_arrays",
    "all_gather_objects",
    "all_reduce_mean",
    "all_reduce_sum",
    "barrier",
    "broadcast_buffers",
    "check_batch_size",
    "check_same",
    "cleanup",
    "env_info",
    "init_process_group",
    "is_main",
    "loss_weights",
    "reduce_step",
    "resolve_device",
    "restore_rng_state",
    "seed_rank",
    "shard",
    "wrap_model",
]


_MAX_DIMS = 8


def _active() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def is_main() -> bool:
    """True on rank 0 and in a process without a process group."""
    return not _active() or dist.get_rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op for a single process)."""
    if _active():
        dist.barrier()


def _comm_device() -> torch.device:
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(values: Sequence[float | torch.Tensor]) -> list[float]:
    """Sum each value over the ranks (float64); the values themselves for a single process.

    Args:
        values: numbers or scalar tensors (on any device; detached here).
    """
    if not _active():
        return [float(v) for v in values]
    dev = _comm_device()
    t = torch.stack([torch.as_tensor(v).detach().to(dev, torch.float64).reshape(()) for v in values])
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.tolist()


def all_reduce_mean(values: Sequence[float | torch.Tensor]) -> list[float]:
    """Mean of each value over the ranks (float64)."""
    n = dist.get_world_size() if _active() else 1
    return [v / n for v in all_reduce_sum(values)]


def all_gather_arrays(array: np.ndarray) -> np.ndarray:
    """Concatenate every rank's (N_r, ...) array along axis 0 in rank order, on every rank.

    The N_r may differ (zero included); the trailing shape must agree. Values travel as float64,
    so use it for coordinates and scores, not for large integers.
    """
    array = np.asarray(array)
    if not _active():
        return array
    if not 1 <= array.ndim <= _MAX_DIMS:
        raise ValueError(f"all_gather_arrays needs an array of 1 to {_MAX_DIMS} dimensions, got shape {array.shape}")
    dev, world = _comm_device(), dist.get_world_size()
    header = torch.full((1 + _MAX_DIMS,), -1, dtype=torch.int64)  # ndim, then the shape padded with -1
    header[0] = array.ndim
    header[1 : 1 + array.ndim] = torch.tensor(array.shape, dtype=torch.int64)
    headers = [torch.empty_like(header, device=dev) for _ in range(world)]
    dist.all_gather(headers, header.to(dev))
    shapes = [tuple(int(v) for v in h[1 : 1 + int(h[0])].tolist()) for h in headers]
    if any(len(s) != array.ndim or s[1:] != array.shape[1:] for s in shapes):
        raise ValueError(f"all_gather_arrays: the ranks hold arrays of shapes {shapes}; only the first axis may differ")
    longest = max(s[0] for s in shapes)
    buf = torch.zeros((longest, *array.shape[1:]), dtype=torch.float64, device=dev)
    buf[: array.shape[0]] = torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64)).to(dev)
    out = [torch.empty_like(buf) for _ in range(world)]
    dist.all_gather(out, buf)
    return np.concatenate([o[: s[0]].cpu().numpy() for o, s in zip(out, shapes)])


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's picklable ``obj``, in rank order (``[obj]`` for a single process)."""
    if not _active():
        return [obj]
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def check_same(what: str, value: Any, hint: str) -> None:
    """Raise ``ValueError`` (on every rank) unless ``value`` is equal on all ranks; ``hint`` says what to do."""
    values = all_gather_objects(value)
    if any(v != values[0] for v in values):
        listing = ", ".join(f"rank {r}: {v}" for r, v in enumerate(values))
        raise ValueError(f"the processes disagree on {what} ({listing}); {hint}")


def shard(items: Sequence[Any], rank: int, world_size: int) -> list[Any]:
    """Rank ``rank``'s contiguous slice of ``items``; the slices of ranks 0..world_size-1 partition it.

    Slice sizes differ by at most one (the first ranks take the extra items).
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank {rank} is out of range for world size {world_size}")
    n = len(items)
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return list(items[start : start + base + (rank < extra)])


def loss_weights(local_denominator: float, total_denominator: float, world_size: int) -> float:
    """Factor for a rank's mean loss so that DDP's gradient average is the global batch's gradient.

    DDP averages gradients over the ``world_size`` ranks; rank r's loss is a mean over its
    ``d_r`` terms (samples, or labelled keypoints), and the global loss is
    ``sum_r d_r L_r / sum_r d_r``; so rank r multiplies its loss by ``world_size * d_r / sum_r d_r``.
    """
    if total_denominator <= 0:
        return 0.0
    return world_size * local_denominator / total_denominator


def reduce_step(
    loss: torch.Tensor, denominator: torch.Tensor | float, images: int, stop: bool
) -> tuple[float, int, bool, torch.Tensor]:
    """One training step's numbers over all ranks, in one reduction.

    Args:
        loss: this rank's scalar mean loss; denominator: the number of terms it is a mean over.
        images: this rank's subjects; stop: this rank was interrupted (Ctrl-C).

    Returns:
        the global batch's loss value (NaN on every rank when any rank's is), its number of
        subjects, whether any rank was interrupted, and the loss to backpropagate (``loss``
        weighted by :func:`loss_weights`; ``loss`` itself for a single process).
    """
    if not _active():
        return float(loss.detach()), images, stop, loss
    num, den, n, stops = all_reduce_sum([loss.detach().double() * denominator, denominator, images, float(stop)])
    value = num / den if den > 0 else num
    return value, int(n), stops > 0, loss * loss_weights(float(denominator), den, dist.get_world_size())


def wrap_model(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` in DistributedDataParallel when a process group of several ranks exists, else itself."""
    if not _active():
        return model
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def broadcast_buffers(model: nn.Module) -> None:
    """Copy rank 0's buffers (BatchNorm running statistics) to every rank.

    DDP broadcasts them at the start of each training forward, so after the last step each
    rank holds the statistics of its own last batch; validation calls this first, so that
    every rank evaluates the model that rank 0 saves.
    """
    if _active():
        for buffer in model.buffers():
            dist.broadcast(buffer.data, src=0)


def seed_rank(seed: int, rank: int, step: int) -> None:
    """Give ranks other than 0 their own torch random stream (dropout), deterministic in (seed, rank, step)."""
    if rank > 0:
        torch.manual_seed((seed * 1_000_003 + rank) * 1_000_033 + step)


def restore_rng_state(ckpt: Mapping[str, Any], info: DistInfo, seed: int) -> None:
    """Restore this rank's random state from a checkpoint.

    ``ckpt["rng_ranks"]`` (one state per rank, written by a distributed run) is used when it has
    one entry per rank of this run; otherwise every rank takes ``ckpt["rng"]`` (rank 0's) and the
    other ranks reseed with :func:`seed_rank`.
    """
    ranks = ckpt.get("rng_ranks") or []
    if len(ranks) == info.world_size:
        set_rng_state(ranks[info.rank])
        return
    set_rng_state(ckpt["rng"])
    seed_rank(seed, info.rank, int(ckpt.get("step", 0)))


class StopFlag:
    """Turns SIGINT into a flag checked between steps (installed in the main thread only).

    Args:
        patience: how many SIGINTs only set the flag; the next one raises KeyboardInterrupt at
            once. 1 for a single process (a second Ctrl-C interrupts); the trainer uses 2 under
            torchrun, where each worker gets the terminal's SIGINT and then the one torchrun
            forwards to it.
    """

    def __init__(self, patience: int = 1) -> None:
        self.set = False
        self._left = patience
        self._old: Any = None

    def __enter__(self) -> StopFlag:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        self.set = True
        self._left -= 1
        if self._left <= 0:
            signal.signal(signal.SIGINT, self._old if self._old is not None else signal.default_int_handler)

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
