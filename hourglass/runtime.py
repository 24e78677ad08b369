"""How this process runs on the CPU: the allocator, the precision, the memory layout.

Nothing here runs at import time; tools call :func:`tune_cpu` once at start-up.

- :func:`tune_cpu` sets glibc ``malloc`` so that the large, short-lived activations of a
  forward pass are reused instead of mapped afresh. glibc serves every block above its
  mmap threshold (at most 32 MiB) with a new ``mmap``, and at batch 8 every activation of a
  256-channel, 64x64 hourglass is larger than that: each one is a fresh mapping whose pages
  are faulted in one by one and unmapped again (about 15 M minor faults and 25 s of kernel
  time in one experiment). With ``M_MMAP_MAX = 0`` they come from the heap, which
  ``M_TRIM_THRESHOLD`` keeps mapped and ``M_TOP_PAD`` grows in large steps. Opt out with
  ``HOURGLASS_NO_TUNE=1`` (or the tools' ``--no-tune-cpu``). Off glibc it logs and does nothing.
- :func:`native_bf16` tells whether the CPU runs bfloat16 in hardware (AVX512-BF16 or AMX);
  :func:`resolve_precision` turns ``"auto"`` into ``"bf16"`` there on the CPU and ``"fp32"``
  everywhere else; :func:`autocast` is the matching context.
- :func:`usage` reads the process's page faults and kernel time (``getrusage``) for benchmarks.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
from pathlib import Path
from typing import Any, NamedTuple

import torch

__all__ = [
    "PRECISIONS",
    "Usage",
    "add_runtime_flags",
    "autocast",
    "native_bf16",
    "resolve_precision",
    "tune_cpu",
    "tuned",
    "usage",
]

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16")
"""``precision=`` values: ``"auto"`` (bf16 on a CPU with native bf16, else fp32), ``"fp32"``, ``"bf16"``."""

# glibc mallopt parameter numbers (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_MMAP_MAX = -1, -2, -3, -4
_MiB = 1 << 20
_TUNED = {_M_MMAP_MAX: 0, _M_MMAP_THRESHOLD: 32 * _MiB, _M_TRIM_THRESHOLD: 1024 * _MiB, _M_TOP_PAD: 64 * _MiB}
# glibc's settings once its dynamic threshold has risen to its ceiling (what an untuned run sees
# after its first large free): restored by tune_cpu(enable=False).
_PLAIN = {_M_MMAP_MAX: 65536, _M_MMAP_THRESHOLD: 32 * _MiB, _M_TRIM_THRESHOLD: 64 * _MiB, _M_TOP_PAD: 128 * 1024}
_state = {"tuned": False}


def _glibc() -> ctypes.CDLL | None:
    """The C library if it is glibc (it has ``mallopt`` and ``gnu_get_libc_version``), else None."""
    try:
        libc = ctypes.CDLL(None)  # the symbols of the running process, the C library's among them
        libc.gnu_get_libc_version  # noqa: B018  (raises AttributeError off glibc)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        return libc
    except (OSError, AttributeError):
        return None


def tune_cpu(*, enable: bool = True) -> bool:
    """Set glibc malloc for large tensors (module docstring); return whether the settings are applied.

    Args:
        enable: False restores glibc's plain settings if this process tuned them (else does nothing).
            ``HOURGLASS_NO_TUNE=1`` in the environment makes ``enable=True`` a no-op too.

    Returns:
        True when the tuned settings are in force after the call.
    """
    if enable and os.environ.get("HOURGLASS_NO_TUNE", "") not in ("", "0"):
        log.info("HOURGLASS_NO_TUNE is set: malloc left as it is")
        return False
    if not enable and not _state["tuned"]:
        return False
    libc = _glibc()
    if libc is None:
        log.info("not glibc: malloc tuning skipped")
        return False
    for param, value in (_TUNED if enable else _PLAIN).items():
        if libc.mallopt(param, value) != 1:
            log.warning("mallopt(%d, %d) failed; malloc partly tuned", param, value)
    _state["tuned"] = enable
    return enable


def add_runtime_flags(parser: Any, *, precision: bool = True) -> None:
    """Add ``--no-tune-cpu`` (:func:`tune_cpu`) and, with ``precision``, ``--precision`` to an argparse parser."""
    parser.add_argument(
        "--no-tune-cpu", action="store_true", help="leave glibc malloc untuned (also HOURGLASS_NO_TUNE=1)"
    )
    if precision:
        parser.add_argument(
            "--precision", choices=list(PRECISIONS), default="auto",
            help="network precision on the CPU: auto (bf16 where the CPU has native bf16 and the model allows), "
            "fp32 or bf16; decoding is float32 (default auto)",
        )  # fmt: skip


def tuned() -> bool:
    """Whether :func:`tune_cpu` has tuned malloc in this process."""
    return _state["tuned"]


@functools.lru_cache(maxsize=1)
def native_bf16() -> bool:
    """Whether this CPU has bfloat16 instructions (the ``avx512_bf16`` or ``amx_bf16`` flag, Linux)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = {word for line in text.splitlines() if line.startswith("flags") for word in line.split()}
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def resolve_precision(precision: str, device: str | torch.device = "cpu") -> str:
    """``"fp32"`` or ``"bf16"`` for ``precision`` on ``device``.

    ``"auto"`` is ``"bf16"`` on a CPU with native bf16 (:func:`native_bf16`) and ``"fp32"``
    elsewhere, GPUs included (their defaults are unchanged).

    Raises:
        ValueError: ``precision`` is not one of :data:`PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {list(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if torch.device(device).type == "cpu" and native_bf16() else "fp32"


def autocast(precision: str, device: str | torch.device = "cpu") -> contextlib.AbstractContextManager:
    """bfloat16 autocast on ``device`` for ``"bf16"``; for ``"fp32"`` autocast switched off, so an
    enclosing autocast does not reach the network either (resolve ``"auto"`` first)."""
    if precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    if precision == "fp32":
        return torch.autocast(torch.device(device).type, enabled=False)
    raise ValueError(f"precision must be 'fp32' or 'bf16' here, got {precision!r}; resolve 'auto' first")


class Usage(NamedTuple):
    """Process counters: ``minflt`` minor page faults, ``stime`` kernel seconds, ``utime`` user seconds."""

    minflt: int
    stime: float
    utime: float

    def __sub__(self, other: Usage) -> Usage:  # type: ignore[override]
        return Usage(self.minflt - other.minflt, self.stime - other.stime, self.utime - other.utime)


def usage() -> Usage:
    """This process's :class:`Usage` so far (``resource.getrusage(RUSAGE_SELF)``)."""
    import resource  # Unix only

    r = resource.getrusage(resource.RUSAGE_SELF)
    return Usage(r.ru_minflt, r.ru_stime, r.ru_utime)
