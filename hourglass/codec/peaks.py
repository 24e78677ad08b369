"""Heatmap health: the check that a network's heatmaps have not collapsed to flat maps.

A stacked hourglass that has not learnt yet (or has collapsed) predicts near-zero heatmaps: the
loss sits on a plateau (the MSE of an all-zero map) and the decoded points are the argmax of
noise. The targets are unnormalised Gaussians with a peak of about 1.0
(:func:`~hourglass.codec.encode_heatmaps`), so a trained network's maxima are a good fraction
of that. :func:`flat_heatmap_warning` compares the median over subjects and keypoints of the
last stack's heatmap maxima with :data:`FLAT_PEAK_FRACTION` of the target peak; training
validation and :func:`hourglass.evaluation.predict_dataset` both call it.

:func:`presence_score` reads the same maxima as a per-subject score: the mean of the larger
half of a crop's keypoint maxima. A model trained with background crops whose targets are
empty (:class:`hourglass.data.negatives.WithNegatives`) keeps them low where no subject is;
the larger half leaves out the joints a truncated or occluded subject lacks.
"""

from __future__ import annotations

import numpy as np
import torch

from hourglass._array import ArrayLike

__all__ = ["FLAT_PEAK_FRACTION", "flat_heatmap_warning", "heatmap_peaks", "presence_score"]

FLAT_PEAK_FRACTION = 0.1
"""Heatmaps count as flat when the median of their maxima is below this share of the target peak."""


def heatmap_peaks(heatmaps: ArrayLike) -> np.ndarray:
    """The maximum of each heatmap of the last stack.

    Args:
        heatmaps: (B, K, H, W) heatmaps, or (B, S, K, H, W) of S stacks (the last one is used).

    Returns:
        (B, K) float64 maxima.

    Raises:
        ValueError: ``heatmaps`` is not 4-D or 5-D.
    """
    t = torch.as_tensor(heatmaps).detach()
    if t.ndim not in (4, 5):
        raise ValueError(f"heatmaps must be (B, K, H, W) or (B, S, K, H, W), got shape {tuple(t.shape)}")
    last = t[:, -1] if t.ndim == 5 else t  # (B, K, H, W)
    return last.float().amax(dim=(-2, -1)).cpu().numpy().astype(np.float64)


def flat_heatmap_warning(
    peaks: ArrayLike, *, target_peak: float = 1.0, fraction: float = FLAT_PEAK_FRACTION, where: str = "the model"
) -> str | None:
    """A warning when the heatmaps are flat, else None.

    Args:
        peaks: (N, K) heatmap maxima (:func:`heatmap_peaks`) of N subjects.
        target_peak: the peak of the training targets (1.0 for the unbiased Gaussians).
        fraction: the threshold as a share of ``target_peak``.
        where: what predicted them, for the message.

    Returns:
        None when the median of ``peaks`` is at least ``fraction * target_peak`` (or ``peaks``
        is empty), else a message naming the median, the threshold and what to do.
    """
    values = np.asarray(peaks, dtype=np.float64)
    if values.size == 0:
        return None
    median, threshold = float(np.median(values)), fraction * target_peak
    if median >= threshold:
        return None
    return (
        f"flat heatmaps: the median heatmap maximum of {where} is {median:.3g}, below {threshold:.3g} "
        f"({fraction:g} of the target peak {target_peak:g}), so its keypoints are guesses. A network still on "
        "the loss plateau or a collapsed one does this: train longer, check the learning rate and warm-up, "
        "or check that the model matches the data (sigma, keypoints)"
    )


def presence_score(peaks: ArrayLike) -> np.ndarray:
    """Per-subject presence: the mean of the larger half (rounded up) of its keypoint maxima.

    Args:
        peaks: (N, K) heatmap maxima (the decoders' scores, :func:`heatmap_peaks`).

    Returns:
        (N,) float64; NaN for a subject whose maxima are NaN (a regression model's).
    """
    p = np.asarray(peaks, dtype=np.float64)
    if p.ndim != 2:
        raise ValueError(f"peaks must be (N, K) keypoint maxima, got shape {p.shape}")
    if p.shape[1] == 0:
        return np.full(p.shape[0], np.nan)
    half = -(-p.shape[1] // 2)
    return np.sort(p, axis=1)[:, -half:].mean(axis=1)
