"""Seeded held-out splits that are the same on every machine and numpy version."""

from __future__ import annotations

import numpy as np

from hourglass.data.records import AnnotationSet

__all__ = ["hold_out", "split_indices"]


def split_indices(n: int, val_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded train / held-out partition of ``range(n)``, identical on every machine.

    Each index gets a 64-bit key from the SplitMix64 hash of ``(seed, index)``; the
    ``round(n * val_fraction)`` indices with the smallest keys are held out. The result depends
    only on ``(n, val_fraction, seed)`` (not on numpy's random streams, which may change
    between versions), and growing ``n`` keeps earlier held-out indices held out unless a
    new index outranks them.

    Returns:
        ``(train, val)``: sorted int64 index arrays, disjoint, together ``range(n)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) << np.uint64(32)) + np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)  # SplitMix64 finaliser
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    order = np.argsort(z, kind="stable")
    n_val = int(round(n * val_fraction))
    return np.sort(order[n_val:]).astype(np.int64), np.sort(order[:n_val]).astype(np.int64)


def hold_out(subjects: AnnotationSet, val_fraction: float, seed: int) -> tuple[AnnotationSet, AnnotationSet]:
    """``(train, held_out)`` of an annotation set by :func:`split_indices`: the partition the trainer
    validates on and evaluation scores by default for a run trained with ``val_fraction``."""
    train, held = split_indices(len(subjects), val_fraction, seed)
    records = list(subjects)
    return (
        AnnotationSet([records[i] for i in train], subjects.spec, f"{subjects.name}[train]"),
        AnnotationSet([records[i] for i in held], subjects.spec, f"{subjects.name}[held-out]"),
    )
