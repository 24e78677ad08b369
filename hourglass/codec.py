"""Heatmap codec: keypoints <-> Gaussian heatmaps, flip test, heatmap -> image coordinates.

Every function here uses the pixel convention of :mod:`hourglass.geometry`: the centre of
heatmap pixel (column i, row j) is at (x, y) = (i, j), so the argmax index of a heatmap *is*
its coordinate and a map of size (W, H) covers ``[-0.5, W - 0.5) x [-0.5, H - 0.5)``. No +-0.5
is added anywhere. (The popular implementations disagree here: after the quarter-pixel step
some add +0.5, some subtract 0.5 and some add nothing, and several truncate the final image
coordinates to integers. Their numbers are reproduced by shifting this module's float output,
never by changing it.)

Encoding is *unbiased* (DARK): the Gaussian sits at the exact sub-pixel keypoint, evaluated at
the pixel centres. Decoding offers four methods, see :func:`decode_heatmaps`. Round trip on a
48x64 map with sigma 2 (points at least 3 sigma inside; ``tests/test_codec.py``): mean
absolute error per coordinate 1e-5 px for ``dark``, 0.0024 px for ``soft-argmax``, 0.125 px
for ``quarter`` and 0.25 px for ``argmax``. Within about 3 sigma of the map border every
method is worse (the Gaussian is cut off there); DARK's replicate-border blur pulls toward
the border by up to ~0.8 px, more than ``quarter``'s error there.

All functions are pure and batched: B batch, K keypoints, H/W heatmap height and width,
coordinates are (x, y) and a size tuple is (W, H). They take numpy arrays or torch tensors
(CPU or CUDA) and return the same kind; tensors stay on their device and inputs are never
modified. Internally everything is computed with torch (numpy inputs are wrapped without a
copy), with two CPU shortcuts: the argmax is taken by numpy, which is several times faster
than torch's on many short rows, and large outputs are allocated by numpy, which asks the
kernel for huge pages.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hourglass._array import ArrayLike, is_tensor
from hourglass.geometry import crop_matrix, invert_affine, transform_points
from hourglass.keypoints import KeypointSpec

__all__ = [
    "DECODE_METHODS",
    "encode_heatmaps",
    "decode_heatmaps",
    "flip_heatmaps",
    "flip_test",
    "heatmap_to_image",
]

DECODE_METHODS = ("argmax", "quarter", "dark", "soft-argmax")
"""Names accepted by :func:`decode_heatmaps`."""

_LOG_EPS = 1e-10  # DARK: blurred values are clamped here before the log
_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


# --- array plumbing ---------------------------------------------------------------------------
def _as_tensor(x: Any, name: str) -> tuple[torch.Tensor, bool]:
    """``x`` as a tensor (numpy input wrapped without a copy) and whether it was not a tensor."""
    if is_tensor(x):
        return x, False
    a = np.asarray(x)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numpy array or torch tensor of numbers, got dtype {a.dtype}")
    a = np.ascontiguousarray(a)
    with warnings.catch_warnings():  # read-only arrays are fine: nothing here writes to inputs
        warnings.simplefilter("ignore", UserWarning)
        return torch.from_numpy(a), True


def _float(t: torch.Tensor) -> torch.Tensor:
    """float32/float64 kept; half precision computed in float32; integers and bool in float64."""
    if t.dtype in (torch.float32, torch.float64):
        return t
    return t.to(torch.float32 if t.is_floating_point() else torch.float64)


def _result(t: torch.Tensor, as_numpy: bool) -> ArrayLike:
    return t.numpy() if as_numpy else t


def _empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    if device.type == "cpu" and dtype in _NUMPY_DTYPES:
        # numpy madvises large buffers into huge pages: filling a fresh 64 MB torch buffer
        # page-faults about three times slower than filling a numpy one.
        return torch.from_numpy(np.empty(shape, dtype=_NUMPY_DTYPES[dtype]))
    return torch.empty(shape, dtype=dtype, device=device)


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
        ok = w > 0 and h > 0 and (w, h) == tuple(size)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"heatmap_size must be a (W, H) pair of positive integers, got {size!r}")
    return w, h


def _check_positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = math.nan
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite positive number, got {value!r}")
    return v


def _torch_dtype(dtype: Any) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        out = dtype
    else:
        try:
            out = {np.dtype(np.float16): torch.float16, np.dtype(np.float32): torch.float32,
                   np.dtype(np.float64): torch.float64}.get(np.dtype(dtype))  # fmt: skip
        except TypeError:
            out = None
    if out is None or not out.is_floating_point:
        raise ValueError(f"dtype must be a floating dtype such as float32 or float64, got {dtype!r}")
    return out


def _heatmap_batch(heatmaps: Any, name: str = "heatmaps") -> tuple[torch.Tensor, bool, bool]:
    """(B, K, H, W) tensor view, whether the input was numpy, whether it had no batch axis."""
    t, as_numpy = _as_tensor(heatmaps, name)
    if t.dim() not in (3, 4):
        raise ValueError(f"{name} must have shape (B, K, H, W) or (K, H, W), got {tuple(t.shape)}")
    return (t if t.dim() == 4 else t.unsqueeze(0)), as_numpy, t.dim() == 3


# --- encoding ---------------------------------------------------------------------------------
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


# --- decoding ---------------------------------------------------------------------------------
def _argmax(flat: torch.Tensor) -> torch.Tensor:
    """(B, K, N) -> (B, K) int64 index of the first maximum (NaN counts as the maximum)."""
    if flat.device.type == "cpu" and flat.dtype in _NUMPY_DTYPES:
        return torch.from_numpy(np.asarray(flat.detach().numpy().argmax(axis=-1), dtype=np.int64))
    return flat.argmax(dim=-1)


def _check_maxima(maxval: torch.Tensor, unbatched: bool) -> None:
    bad = ~torch.isfinite(maxval)
    if bool(bad.any()):
        b, k = (int(v) for v in bad.nonzero()[0])
        where = f"keypoint {k}" if unbatched else f"(batch {b}, keypoint {k})"
        raise ValueError(
            f"heatmap {where} contains NaN or inf (its maximum is {float(maxval[b, k])}); "
            "check the model output (diverged training, or a bad input image)"
        )


def _gather(flat: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """``flat`` (B, K, N) at ``index`` (B, K, *S) -> (B, K, *S)."""
    shape = index.shape
    return flat.gather(-1, index.reshape(shape[0], shape[1], math.prod(shape[2:]))).reshape(shape)


def _quarter(flat: torch.Tensor, idx: torch.Tensor, x: torch.Tensor, y: torch.Tensor, h: int, w: int) -> torch.Tensor:
    # Neighbours left, right, up, down: (B, K, 4). Out-of-map ones are clamped and then unused.
    steps = torch.tensor([-1, 1, -w, w], device=idx.device)
    near = _gather(flat, (idx[..., None] + steps).clamp_(0, h * w - 1))
    dx = torch.sign(near[..., 1] - near[..., 0]).mul_(0.25)
    dy = torch.sign(near[..., 3] - near[..., 2]).mul_(0.25)
    dx.mul_((x > 0) & (x < w - 1))
    dy.mul_((y > 0) & (y < h - 1))
    return torch.stack([dx, dy], dim=-1)


def _blur_matrix(sigma: float, like: torch.Tensor) -> torch.Tensor:
    """(2r + 3, 3) matrix whose column c is the normalised Gaussian of radius r = ceil(3 sigma)
    centred on row c + 1: a (2r + 3)-sample line times it gives the blur at its 3 middle samples."""
    r = math.ceil(3 * sigma)
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    matrix = torch.zeros(2 * r + 3, 3, dtype=torch.float64)
    for c in range(3):
        matrix[c : c + 2 * r + 1, c] = kernel / kernel.sum()
    return matrix.to(dtype=like.dtype, device=like.device)


def _dark(flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, h: int, w: int, blur_sigma: float) -> torch.Tensor:
    blur = _blur_matrix(blur_sigma, flat)  # (P, 3), P = 2r + 3
    p = blur.shape[0]
    # The blurred map is needed at the 3x3 pixels around the argmax only, so blur just the
    # P x P patch around it. Clamped indices = the whole map blurred with replicate border.
    # Look-up tables of the clamped patch columns for every x, and of the row starts for every y.
    offsets = torch.arange(-(p // 2), p // 2 + 1, device=x.device)  # (P,)
    col_table = (torch.arange(w, device=x.device)[:, None] + offsets).clamp_(0, w - 1)  # (W, P)
    row_table = (torch.arange(h, device=x.device)[:, None] + offsets).clamp_(0, h - 1).mul_(w)  # (H, P)
    index = row_table[y][..., :, None] + col_table[x][..., None, :]  # (B, K, P rows, P cols)
    patch = _gather(flat, index)
    # Two plain 2-D GEMMs (a broadcast batched matmul is ~15x slower on 2 CPU threads).
    b, k = x.shape
    along_x = (patch.reshape(-1, p) @ blur).view(b, k, p, 3)  # (B, K, P rows, 3 cols)
    blurred = along_x.transpose(-1, -2).reshape(-1, p) @ blur  # (B K 3 cols, 3 rows)
    # float64 from here (9 values per keypoint): float32 logs would cost ~1e-5 px of precision.
    lg = blurred.to(torch.float64).clamp_min_(_LOG_EPS).log_().view(b, k, 3, 3).transpose(-1, -2)  # rows, cols

    gx = (lg[..., 1, 2] - lg[..., 1, 0]) * 0.5
    gy = (lg[..., 2, 1] - lg[..., 0, 1]) * 0.5
    hxx = lg[..., 1, 2] - 2 * lg[..., 1, 1] + lg[..., 1, 0]
    hyy = lg[..., 2, 1] - 2 * lg[..., 1, 1] + lg[..., 0, 1]
    hxy = (lg[..., 2, 2] - lg[..., 2, 0] - lg[..., 0, 2] + lg[..., 0, 0]) * 0.25
    det = hxx * hyy - hxy * hxy
    # Newton step -H^-1 g, only where the Hessian is negative definite and the differences exist.
    ok = (hxx < 0) & (det > 0) & (x > 0) & (x < w - 1) & (y > 0) & (y < h - 1)
    det = torch.where(ok, det, 1.0)
    offset = torch.stack([(hxy * gy - hyy * gx) / det, (hxy * gx - hxx * gy) / det], dim=-1)
    # The quadratic is fitted to the 3x3 neighbourhood: a step leaving it (a flat or noisy
    # map, where H is close to singular) is not trusted.
    ok &= (offset.abs() <= 1.0).all(dim=-1)
    return torch.where(ok[..., None], offset, 0.0).to(flat.dtype)


def _soft_argmax(
    flat: torch.Tensor, x: torch.Tensor, y: torch.Tensor, h: int, w: int, beta: float, window: int | None
) -> torch.Tensor:
    # Expectations of the offsets from the argmax, not of the coordinates: small numbers keep
    # float32 sums accurate to ~1e-6 px.
    dtype = flat.dtype
    if window is None:
        peak = flat.gather(-1, (y * w + x)[..., None]).detach()  # (B, K, 1), softmax is shift-invariant
        prob = (flat - peak).mul_(beta).exp_().unflatten(-1, (h, w))  # unnormalised, (B, K, H, W)
        px, py = prob.sum(-2), prob.sum(-1)  # marginals (B, K, W), (B, K, H)
        dx = torch.arange(w, dtype=dtype, device=flat.device) - x[..., None].to(dtype)  # (B, K, W)
        dy = torch.arange(h, dtype=dtype, device=flat.device) - y[..., None].to(dtype)
        total = px.sum(-1)
        offset = torch.stack([(px * dx).sum(-1) / total, (py * dy).sum(-1) / total], dim=-1)
    else:
        steps = torch.arange(-window, window + 1, device=x.device)  # (P,), P = 2 window + 1
        cols = x[..., None] + steps  # (B, K, P)
        rows = y[..., None] + steps
        inside = ((rows >= 0) & (rows < h))[..., :, None] & ((cols >= 0) & (cols < w))[..., None, :]  # (B, K, P, P)
        index = rows.clamp(0, h - 1)[..., :, None] * w + cols.clamp(0, w - 1)[..., None, :]
        logits = (_gather(flat, index) * beta).masked_fill(~inside, -math.inf)
        prob = torch.softmax(logits.flatten(-2), dim=-1).unflatten(-1, logits.shape[-2:])  # (B, K, P, P)
        steps = steps.to(dtype)
        offset = torch.stack([(prob.sum(-2) * steps).sum(-1), (prob.sum(-1) * steps).sum(-1)], dim=-1)
    return torch.stack([x, y], dim=-1).to(dtype) + offset


def decode_heatmaps(
    heatmaps: ArrayLike,
    method: str = "dark",
    *,
    blur_sigma: float = 2.0,
    beta: float = 10.0,
    window: int | None = 4,
) -> tuple[ArrayLike, ArrayLike]:
    """Keypoint coordinates (x, y) and scores from heatmaps.

    Methods (all start from the first maximum of each map, which is also its score):

    - ``"argmax"``: the integer argmax, as float.
    - ``"quarter"`` (Newell et al.): argmax + 0.25 * sign(right - left) in x, likewise in y,
      where both neighbours exist. No half-pixel shift follows: under this library's
      convention none is needed (other repositories add +0.5 or -0.5 here).
    - ``"dark"`` (Zhang et al., CVPR 2020): blur with a Gaussian of ``blur_sigma`` (radius
      ``ceil(3 blur_sigma)``, replicate border; match it to the training sigma), take the log
      (clamped at 1e-10), and at the argmax of the original map move by ``-H^-1 g`` with
      gradient g and Hessian H from central differences. No step at the border, where H is
      not negative definite, or where the step would leave the 3x3 neighbourhood the
      differences describe (more than 1 px in x or y: flat or noisy maps). Only the
      (2r + 3)^2 patch around each argmax is blurred, which equals blurring the whole map.
      Within ~3 sigma of the border the replicate border biases the result toward it.
    - ``"soft-argmax"`` (integral regression): the expectation of ``softmax(beta * map)`` over
      the pixels within ``window`` (Chebyshev radius) of the argmax, or over the whole map for
      ``window=None``; pixels outside the map are left out, not clamped. Differentiable in
      the heatmaps, unlike the other methods. The defaults suit maps that peak near 1 (the
      encoded targets): every pixel contributes at least ``exp(0)``, so a global softmax over
      a mostly-zero 64x64 map puts a sizeable share of its mass on the background and is
      pulled toward the map centre; the window bounds that share, and ``beta = 10`` makes
      the peak (about ``e^10`` per pixel) outweigh the 81 background pixels of a radius-4
      window while keeping the sharpened peak (std ``sigma / sqrt(beta)``) wide enough to be
      averaged on the pixel grid without aliasing. Round trip at sigma 2: 0.0024 px mean
      error (0.5 px with ``window=None``, 0.012 px with ``window=None, beta=15``); sigma 1
      maps are too sharp for any setting (0.05-0.09 px): use ``dark`` there.

    Args:
        heatmaps: (B, K, H, W) or (K, H, W) maps, numpy array or torch tensor.
        method: one of :data:`DECODE_METHODS`.
        blur_sigma: DARK blur standard deviation in pixels.
        beta: soft-argmax inverse temperature.
        window: soft-argmax radius in pixels around the argmax, or None for the whole map.

    Returns:
        coords (B, K, 2) (x, y) in heatmap pixels and scores (B, K), the maximum of each map
        (without the B axis for (K, H, W) input); float, of the heatmaps' kind. A flat map
        decodes to its first pixel (plus the method's offset) with its constant value as score;
        threshold the score to tell missing keypoints.

    Raises:
        ValueError: for an unknown method, bad parameters, a wrong shape, or a map whose
            maximum is NaN or inf (the message names the batch and keypoint).
    """
    if method not in DECODE_METHODS:
        raise ValueError(f"unknown decoding method {method!r}; choose one of {list(DECODE_METHODS)}")
    t, as_numpy, unbatched = _heatmap_batch(heatmaps)
    if method == "dark":
        blur_sigma = _check_positive(blur_sigma, "blur_sigma")
    if method == "soft-argmax":
        beta = _check_positive(beta, "beta")
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
            raise ValueError(f"window must be a positive int (pixels around the argmax) or None, got {window!r}")
    b, k, h, w = t.shape
    flat = _float(t).reshape(b, k, h * w)

    with torch.set_grad_enabled(method == "soft-argmax" and torch.is_grad_enabled()):
        idx = _argmax(flat).to(flat.device)  # (B, K)
        scores = flat.gather(-1, idx[..., None]).squeeze(-1)
        _check_maxima(scores, unbatched)
        x, y = idx % w, idx // w
        if method == "soft-argmax":
            coords = _soft_argmax(flat, x, y, h, w, beta, window)
        else:
            coords = torch.stack([x, y], dim=-1).to(flat.dtype)
            if method == "quarter":
                coords += _quarter(flat, idx, x, y, h, w)
            elif method == "dark":
                coords += _dark(flat, x, y, h, w, blur_sigma)
    if unbatched:
        coords, scores = coords[0], scores[0]
    return _result(coords, as_numpy), _result(scores, as_numpy)


# --- flip test --------------------------------------------------------------------------------
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


# --- back to the image ------------------------------------------------------------------------
def heatmap_to_image(
    coords: ArrayLike,
    center: ArrayLike,
    scale: ArrayLike,
    heatmap_size: Sequence[int],
    rotation: ArrayLike = 0.0,
) -> ArrayLike:
    """Map decoded heatmap coordinates back to image coordinates.

    Applies the inverse of ``geometry.crop_matrix(center, scale, heatmap_size, rotation)``,
    the matrix that placed the image points on the heatmaps.

    Args:
        coords: (B, K, 2) or (K, 2) heatmap coordinates (x, y).
        center: (B, 2) or (2,) crop centres in image coordinates.
        scale: (B,) or scalar crop scales (units of 200 image pixels).
        heatmap_size: (W, H) of the heatmaps.
        rotation: (B,) or scalar crop rotation in degrees.

    Returns:
        (B, K, 2) (or (K, 2)) image coordinates (x, y), of the coords' kind and float dtype.
    """

    def host(v: Any) -> np.ndarray:
        return v.detach().cpu().numpy() if is_tensor(v) else np.asarray(v)

    if not is_tensor(coords):
        coords = np.asarray(coords)
    _check_size(heatmap_size)
    if coords.ndim < 2 or coords.shape[-1] != 2:
        raise ValueError(f"coords must have shape (B, K, 2) or (K, 2), got {tuple(coords.shape)}")
    matrix = invert_affine(crop_matrix(host(center), host(scale), heatmap_size, host(rotation)))  # (B, 2, 3)
    batch = tuple(coords.shape[:-2])
    try:
        ok = np.broadcast_shapes(matrix.shape[:-2], batch) == batch
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"center/scale/rotation give {matrix.shape[:-2]} crops, which do not match the coords' "
            f"batch shape {batch}; pass one crop per image"
        )
    return transform_points(coords, matrix)
