"""Flip test: heatmaps of the mirrored image, and their average with the heatmaps of the image."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hourglass._array import ArrayLike, is_tensor
from hourglass.codec._tensors import _float, _heatmap_batch, _result
from hourglass.keypoints import KeypointSpec


def _flip_permutation(flip_index: KeypointSpec | Sequence[int], k: int) -> list[int]:
    if isinstance(flip_index, KeypointSpec):
        perm = list(flip_index.flip_index)
    else:
        a = np.asarray(flip_index.cpu() if is_tensor(flip_index) else flip_index)
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise TypeError(f"flip_index must be a KeypointSpec or a sequence of ints, got {flip_index!r}")
        perm = [int(v) for v in a]
    if len(perm) != k:
        raise ValueError(f"flip_index has {len(perm)} entries but the heatmaps have K = {k} channels")
    if sorted(perm) != list(range(k)) or any(perm[j] != i for i, j in enumerate(perm)):
        raise ValueError(
            f"flip_index must be an involution of range({k}) (each keypoint maps to its mirror partner "
            f"and back), got {perm}"
        )
    return perm


def _flip(t: torch.Tensor, flip_index: KeypointSpec | Sequence[int]) -> torch.Tensor:
    """(B, K, H, W) -> the same maps mirrored along W with channels permuted (a new tensor)."""
    index = torch.tensor(_flip_permutation(flip_index, t.shape[1]), dtype=torch.long, device=t.device)
    return t.index_select(1, index).flip(-1)


def flip_heatmaps(heatmaps: ArrayLike, flip_index: KeypointSpec | Sequence[int]) -> ArrayLike:
    """Heatmaps of the horizontally mirrored image: mirror along W and swap left/right channels.

    Channel k of the result is channel ``flip_index[k]`` mirrored. Mirroring a map of width W
    sends pixel column i to W - 1 - i, and under this library's convention that is exactly the
    continuous map x -> W - 1 - x of ``geometry.crop_matrix(..., flip=True)``: no one-pixel
    shift is needed (repositories that encode at shifted pixel positions need one).

    Args:
        heatmaps: (B, K, H, W) or (K, H, W).
        flip_index: a :class:`~hourglass.keypoints.KeypointSpec` or its K-entry flip permutation.

    Returns:
        (B, K, H, W) (or (K, H, W)), a new array or tensor of the input's kind and dtype.
    """
    t, as_numpy, unbatched = _heatmap_batch(heatmaps)
    out = _flip(t, flip_index)
    return _result(out[0] if unbatched else out, as_numpy)


def flip_test(
    heatmaps: ArrayLike, heatmaps_of_flipped_image: ArrayLike, flip_index: KeypointSpec | Sequence[int]
) -> ArrayLike:
    """Average of ``heatmaps`` and the un-flipped heatmaps of the mirrored input image.

    Args:
        heatmaps: (B, K, H, W) or (K, H, W) maps predicted for the image.
        heatmaps_of_flipped_image: same shape, predicted for the horizontally mirrored image.
        flip_index: a KeypointSpec or its flip permutation (see :func:`flip_heatmaps`).

    Returns:
        (B, K, H, W) (or (K, H, W)) averaged float maps, of the inputs' kind.
    """
    if is_tensor(heatmaps) != is_tensor(heatmaps_of_flipped_image):
        raise TypeError("heatmaps and heatmaps_of_flipped_image must both be numpy arrays or both torch tensors")
    t, as_numpy, unbatched = _heatmap_batch(heatmaps)
    tf, _, _ = _heatmap_batch(heatmaps_of_flipped_image, "heatmaps_of_flipped_image")
    if t.shape != tf.shape:
        raise ValueError(
            f"heatmaps {tuple(heatmaps.shape)} and heatmaps_of_flipped_image "
            f"{tuple(heatmaps_of_flipped_image.shape)} must have the same shape"
        )
    out = _flip(_float(tf), flip_index)  # a new tensor: safe to update in place
    if out.dtype == torch.promote_types(out.dtype, t.dtype):
        out = out.add_(t).mul_(0.5)
    else:
        out = (out + t) * 0.5
    return _result(out[0] if unbatched else out, as_numpy)
