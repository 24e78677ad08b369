"""Where this process sits in a torchrun job, its device, and joining or leaving the process group.

:func:`env_info` reads torchrun's variables into a :class:`DistInfo` (world size 1 for a plain
run), :func:`resolve_device` maps ``TrainConfig.device`` to this process's device,
:func:`check_batch_size` checks that the global batch divides over the ranks, and
:func:`init_process_group` / :func:`cleanup` join and leave the job. Nothing here communicates
beyond joining the group. :mod:`hourglass.engine.distributed` re-exports these names beside the
collective operations; its docstring describes how a distributed run works.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "check_batch_size",
    "cleanup",
    "env_info",
    "init_process_group",
    "resolve_device",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in a torchrun job (all zeros and ones for a plain run).

    Attributes:
        world_size: processes in the job; rank: this process's global index.
        local_rank: its index on this node (the GPU it uses); local_world_size: processes per node.
    """

    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0, the process that writes files."""
        return self.rank == 0


def env_info(environ: Mapping[str, str] | None = None) -> DistInfo:
    """Read torchrun's variables from ``environ`` (default ``os.environ``).

    Raises:
        ValueError: a variable is not an integer or out of range, or a multi-process job lacks
            ``MASTER_ADDR``/``MASTER_PORT`` (the message names the variable and its value).
    """
    env = os.environ if environ is None else environ
    if "WORLD_SIZE" not in env:
        return DistInfo()

    def number(name: str, default: int) -> int:
        raw = env.get(name)
        if raw is None:
            return default
        try:
            return int(raw)
        except ValueError:
            raise ValueError(
                f"environment variable {name}={raw!r} is not an integer; it is set by torchrun, "
                f"launch with torchrun or unset it"
            ) from None

    world = number("WORLD_SIZE", 1)
    rank = number("RANK", 0)
    local_rank = number("LOCAL_RANK", rank)
    local_world = number("LOCAL_WORLD_SIZE", world)
    if world < 1 or not 0 <= rank < world:
        raise ValueError(
            f"torchrun variables RANK={rank}, WORLD_SIZE={world} are inconsistent (need 0 <= RANK < WORLD_SIZE)"
        )
    if local_world < 1 or not 0 <= local_rank < local_world:
        raise ValueError(
            f"torchrun variables LOCAL_RANK={local_rank}, LOCAL_WORLD_SIZE={local_world} are inconsistent "
            f"(need 0 <= LOCAL_RANK < LOCAL_WORLD_SIZE)"
        )
    if world > 1:
        for name in ("MASTER_ADDR", "MASTER_PORT"):
            if not env.get(name):
                raise ValueError(
                    f"WORLD_SIZE={world} but {name} is not set; start distributed runs with torchrun "
                    f"(e.g. torchrun --standalone --nproc_per_node {world} tools/train.py ...)"
                )
    return DistInfo(world, rank, local_rank, local_world)


def resolve_device(name: str, info: DistInfo) -> torch.device:
    """The torch device of this process for ``TrainConfig.device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    Under torchrun, ``cuda`` becomes ``cuda:LOCAL_RANK``.

    Raises:
        ValueError: not a device name, CUDA asked for but absent, fewer GPUs than processes on
            the node, a fixed ``cuda:N`` for several processes per node, or a device type that
            distributed training does not support.
    """
    requested = name
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"TrainConfig.device {requested!r} is not a torch device (use cpu, cuda, cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {requested!r} was asked for but CUDA is not available; use --device cpu")
        if info.distributed:
            count = torch.cuda.device_count()
            if device.index is not None and info.local_world_size > 1:
                raise ValueError(
                    f"device {requested!r} names one GPU but torchrun started {info.local_world_size} processes on "
                    f"this node; pass --device cuda (process LOCAL_RANK uses cuda:LOCAL_RANK) and choose the GPUs "
                    f"with CUDA_VISIBLE_DEVICES"
                )
            if device.index is None:
                if info.local_world_size > count:
                    raise ValueError(
                        f"torchrun started {info.local_world_size} processes on this node but only {count} GPU(s) "
                        f"are visible; use --nproc_per_node {count} or fewer, or --device cpu to train with gloo on CPU"
                    )
                device = torch.device("cuda", info.local_rank)
    elif info.distributed and device.type != "cpu":
        raise ValueError(f"distributed training runs on cuda (NCCL) or cpu (gloo) devices, not {requested!r}")
    return device


def check_batch_size(batch_size: int, info: DistInfo, num_subjects: int | None = None) -> None:
    """Raise ``ValueError`` unless the global batch divides evenly over the ranks and every rank gets a subject."""
    if not info.distributed:
        return
    if batch_size % info.world_size:
        low = batch_size - batch_size % info.world_size
        raise ValueError(
            f"--batch-size {batch_size} is the global batch over all {info.world_size} processes and must be "
            f"divisible by it; use {low or info.world_size} or {low + info.world_size}"
        )
    if num_subjects is not None and num_subjects < info.world_size:
        raise ValueError(
            f"the training set holds {num_subjects} subjects, fewer than the {info.world_size} processes; "
            f"use fewer processes or more data"
        )


def init_process_group(info: DistInfo, device: torch.device) -> bool:
    """Join the torchrun job (NCCL for CUDA, gloo for CPU); returns True when this call created the group.

    Does nothing (False) for a single process or when the caller already created the group.
    """
    if not info.distributed:
        return False
    if not dist.is_available():
        raise ValueError("this torch build has no torch.distributed; train with one process")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if dist.is_initialized():
        if dist.get_world_size() != info.world_size or dist.get_rank() != info.rank:
            raise ValueError(
                f"a process group of world size {dist.get_world_size()} (rank {dist.get_rank()}) exists but "
                f"torchrun says {info.world_size} (rank {info.rank})"
            )
        return False
    if backend == "nccl" and not dist.is_nccl_available():
        raise ValueError("this torch build has no NCCL; use --device cpu (gloo) for distributed training")
    dist.init_process_group(backend=backend, init_method="env://")
    return True


def cleanup(created: bool) -> None:
    """Leave the process group if :func:`init_process_group` created it."""
    if created and dist.is_initialized():
        dist.destroy_process_group()
