"""Heatmap encoding: unnormalised Gaussian targets centred at the exact sub-pixel keypoints (DARK)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hourglass._array import ArrayLike
from hourglass.codec._tensors import _as_tensor, _check_positive, _check_size, _empty, _result, _torch_dtype


def encode_heatmaps(
    keypoints: ArrayLike,
    visible: ArrayLike | None,
    heatmap_size: Sequence[int],
    sigma: float = 2.0,
    dtype: Any = np.float32,
) -> tuple[ArrayLike, ArrayLike]:
    """Unnormalised Gaussian target heatmaps centred at the exact sub-pixel keypoints.

    Pixel (i, j) of map k holds ``exp(-((i - x)^2 + (j - y)^2) / (2 sigma^2))``, built as the
    outer product of two 1-D Gaussians; the peak is 1 only when (x, y) is a pixel centre.

    Args:
        keypoints: (B, K, 2) or (K, 2) keypoints (x, y) in heatmap coordinates (map image
            points with ``geometry.crop_matrix`` at the heatmap size).
        visible: (B, K) or (K,) bool mask, or None when every keypoint is visible.
        heatmap_size: (W, H) of the maps.
        sigma: Gaussian standard deviation in heatmap pixels.
        dtype: floating dtype of the result (numpy or torch dtype).

    Returns:
        heatmaps (B, K, H, W) and weights (B, K) (without the B axis for (K, 2) input), of
        ``dtype``, of the keypoints' kind (numpy, or tensors on the keypoints' device), not
        tracked by autograd. The weight is 1, or 0 with an all-zero map for a keypoint that is
        invisible, non-finite, or outside the map extent ``[-0.5, W - 0.5) x [-0.5, H - 0.5)``.
    """
    kp, as_numpy = _as_tensor(keypoints, "keypoints")
    if kp.dim() not in (2, 3) or kp.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (B, K, 2) or (K, 2), got {tuple(kp.shape)}")
    w, h = _check_size(heatmap_size)
    sigma = _check_positive(sigma, "sigma")
    out_dtype = _torch_dtype(dtype)
    with torch.no_grad():
        heatmaps, weights = _encode(kp, visible, w, h, sigma, out_dtype)
    return _result(heatmaps, as_numpy), _result(weights, as_numpy)


def _encode(
    kp: torch.Tensor, visible: Any, w: int, h: int, sigma: float, out_dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    device = kp.device
    kp = kp.to(torch.float64)  # the centre exactly; the 1-D Gaussians are small
    x, y = kp[..., 0], kp[..., 1]
    valid = torch.isfinite(x) & torch.isfinite(y) & (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
    if visible is not None:
        vis, _ = _as_tensor(visible, "visible")
        if vis.dtype != torch.bool:
            raise TypeError(f"visible must be a bool mask, got dtype {vis.dtype}; pass e.g. visible > 0")
        if tuple(vis.shape) != tuple(kp.shape[:-1]):
            raise ValueError(
                f"visible must have shape {tuple(kp.shape[:-1])} to match keypoints, got {tuple(vis.shape)}"
            )
        valid &= vis.to(device)
    # In units of sigma * sqrt(2), so that a profile is exp(-d^2). An invalid keypoint is moved
    # to infinity: its profile is exp(-inf) = 0 without NaN, and its map is all zeros.
    k = 1.0 / (sigma * math.sqrt(2.0))
    x = torch.where(valid, x * k, math.inf)
    y = torch.where(valid, y * k, math.inf)
    cols = torch.arange(w, dtype=torch.float64, device=device) * k
    rows = torch.arange(h, dtype=torch.float64, device=device) * k
    gx = (cols - x[..., None]).square_().neg_().exp_().to(out_dtype)  # (B, K, W)
    gy = (rows - y[..., None]).square_().neg_().exp_().to(out_dtype)  # (B, K, H)

    heatmaps = _empty(tuple(kp.shape[:-1]) + (h, w), out_dtype, device)
    torch.mul(gy[..., :, None], gx[..., None, :], out=heatmaps)
    return heatmaps, valid.to(out_dtype)
