"""Training losses for heatmap and coordinate-regression models.

Pure functions: tensors in, a scalar tensor out, inputs never modified. ``weight`` is a
per-keypoint (B, K) tensor, float or bool (e.g. the visibility mask); 0 / False removes a
keypoint from the loss. Weights must be non-negative.

- :func:`heatmap_mse`: per-keypoint weighted MSE between heatmaps, averaged over
  B, K, H, W for each stack and summed over stacks (intermediate supervision, Newell et al.).
- :func:`l1_loss`, :func:`smooth_l1_loss`, :func:`wing_loss`: coordinate losses on
  (B, K, 2) (x, y) predictions. The per-keypoint loss is the SUM of the x and y terms; the
  result is the weighted mean over keypoints, ``sum_bk w_bk * l_bk / sum_bk w_bk``
  (0 when every weight is 0).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["heatmap_mse", "l1_loss", "smooth_l1_loss", "wing_loss"]


def _check_weight(weight: Tensor | None, batch: int, keypoints: int, like: Tensor) -> Tensor:
    """Validate a (B, K) weight (or None = all ones); return it as ``like``'s dtype."""
    if weight is None:
        return torch.ones(batch, keypoints, dtype=like.dtype, device=like.device)
    if not isinstance(weight, Tensor):
        raise TypeError(f"weight must be a tensor of shape (B, K), got {type(weight).__name__}")
    if tuple(weight.shape) != (batch, keypoints):
        raise ValueError(f"weight must have shape (B, K) = ({batch}, {keypoints}), got {tuple(weight.shape)}")
    if weight.dtype != torch.bool and not weight.is_floating_point():
        raise TypeError(f"weight must be a float or bool tensor, got {weight.dtype}")
    weight = weight.to(like.dtype)
    if bool((weight < 0).any()):
        raise ValueError("weight must be non-negative; use 0 (or False) to ignore a keypoint")
    return weight


def _check_float(name: str, x: object) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def heatmap_mse(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Weighted heatmap MSE with intermediate supervision.

    Args:
        pred: predicted heatmaps, (B, S, K, H, W) for S stacks, or (B, K, H, W) (S = 1).
        target: target heatmaps (B, K, H, W), shared by all stacks.
        weight: (B, K) float or bool per-keypoint weight, or None for all ones.

    Returns:
        Scalar ``sum_s [ sum_{b,k,y,x} w_bk * (pred_sbkyx - target_bkyx)^2 / (B*K*H*W) ]``.
        The denominator counts every keypoint, including those with weight 0, so the loss
        scale does not depend on how many keypoints are visible; weights scale the squared
        error linearly. This is the PyTorch ports' and HRNet's ``JointsMSELoss`` behaviour
        (the encoder gives unlabelled, invisible and out-of-map keypoints weight 0). The
        original Torch code has no weights: it trains a missing joint's map toward all
        zeros, so its maxima also say whether a joint is there; with weight 0 a channel is
        never taught that, and its score says little about absent joints.
    """
    pred = _check_float("pred", pred)
    target = _check_float("target", target)
    if target.ndim != 4:
        raise ValueError(f"target must have shape (B, K, H, W), got {tuple(target.shape)}")
    given_shape = tuple(pred.shape)
    if pred.ndim == 4:
        pred = pred.unsqueeze(1)  # (B, 1, K, H, W)
    if pred.ndim != 5 or pred.shape[:1] + pred.shape[2:] != target.shape:
        raise ValueError(
            f"pred must have shape (B, S, K, H, W) or (B, K, H, W) matching target "
            f"(B, K, H, W) = {tuple(target.shape)}, got {given_shape}"
        )
    batch, keypoints, height, width = target.shape
    weight = _check_weight(weight, batch, keypoints, pred)
    squared = (pred - target.unsqueeze(1)) ** 2  # (B, S, K, H, W)
    per_keypoint = squared.sum(dim=(3, 4))  # (B, S, K)
    weighted = per_keypoint * weight.unsqueeze(1)  # (B, S, K)
    # sum over B, K, H, W / (B*K*H*W) for each stack, then sum over stacks
    return weighted.sum() / (batch * keypoints * height * width)


def _check_coords(pred: Tensor, target: Tensor) -> None:
    _check_float("pred", pred)
    _check_float("target", target)
    if pred.ndim != 3 or pred.shape[-1] != 2 or pred.shape != target.shape:
        raise ValueError(
            f"pred and target must both have shape (B, K, 2), got {tuple(pred.shape)} and {tuple(target.shape)}"
        )


def _weighted_keypoint_mean(elementwise: Tensor, weight: Tensor | None) -> Tensor:
    """elementwise (B, K, 2) -> sum over (x, y), weighted mean over (B, K) -> scalar."""
    batch, keypoints, _ = elementwise.shape
    weight = _check_weight(weight, batch, keypoints, elementwise)
    per_keypoint = elementwise.sum(dim=-1)  # (B, K)
    # All-zero weights give an exactly-zero numerator, so the clamp only avoids 0 / 0.
    total = weight.sum().clamp_min(torch.finfo(elementwise.dtype).eps)
    return (per_keypoint * weight).sum() / total


def l1_loss(pred: Tensor, target: Tensor, weight: Tensor | None = None) -> Tensor:
    """Weighted L1 loss on coordinates.

    Args:
        pred: predicted coordinates (B, K, 2), (x, y).
        target: target coordinates (B, K, 2), same units.
        weight: (B, K) float or bool per-keypoint weight, or None for all ones.

    Returns:
        Scalar ``sum_bk w_bk (|dx| + |dy|) / sum_bk w_bk``.
    """
    _check_coords(pred, target)
    return _weighted_keypoint_mean((pred - target).abs(), weight)


def smooth_l1_loss(pred: Tensor, target: Tensor, weight: Tensor | None = None, *, beta: float = 1.0) -> Tensor:
    """Weighted smooth-L1 (Huber-like) loss on coordinates.

    Per coordinate: ``0.5 d^2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 beta`` (as
    ``torch.nn.functional.smooth_l1_loss``). ``beta`` is in the units of the coordinates:
    for normalised crop coordinates a beta of a few pixels is e.g. ``4 / 256``.

    Args:
        pred: predicted coordinates (B, K, 2), (x, y).
        target: target coordinates (B, K, 2), same units.
        weight: (B, K) float or bool per-keypoint weight, or None for all ones.
        beta: transition point, >= 0 (0 gives the L1 loss).

    Returns:
        Scalar ``sum_bk w_bk (s(dx) + s(dy)) / sum_bk w_bk``.
    """
    _check_coords(pred, target)
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0 (in coordinate units), got {beta}")
    return _weighted_keypoint_mean(F.smooth_l1_loss(pred, target, reduction="none", beta=beta), weight)


def wing_loss(
    pred: Tensor,
    target: Tensor,
    weight: Tensor | None = None,
    *,
    w: float = 10.0,
    epsilon: float = 2.0,
) -> Tensor:
    """Weighted Wing loss (Feng et al., CVPR 2018) on coordinates.

    Per coordinate, with ``d = pred - target``::

        wing(d) = w * ln(1 + |d| / epsilon)   if |d| < w
                  |d| - C                     otherwise,  C = w - w * ln(1 + w / epsilon)

    which is continuous at ``|d| = w``. ``w`` and ``epsilon`` are in the SAME UNITS AS THE
    COORDINATES: the paper's defaults w = 10, epsilon = 2 are pixels; for normalised crop
    coordinates divide them by the crop size (e.g. ``w=10 / 256, epsilon=2 / 256``).

    Args:
        pred: predicted coordinates (B, K, 2), (x, y).
        target: target coordinates (B, K, 2), same units.
        weight: (B, K) float or bool per-keypoint weight, or None for all ones.
        w: width of the non-linear (log) region, > 0.
        epsilon: curvature of the log region, > 0.

    Returns:
        Scalar ``sum_bk w_bk (wing(dx) + wing(dy)) / sum_bk w_bk``.
    """
    _check_coords(pred, target)
    if not w > 0:
        raise ValueError(f"w must be > 0 (in coordinate units), got {w}")
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0 (in coordinate units), got {epsilon}")
    d = (pred - target).abs()  # (B, K, 2)
    c = w - w * math.log1p(w / epsilon)
    elementwise = torch.where(d < w, w * torch.log1p(d / epsilon), d - c)
    return _weighted_keypoint_mean(elementwise, weight)
