"""Heatmap decoding (argmax, quarter, DARK, soft-argmax) and heatmap -> image coordinates.

:func:`decode_heatmaps` gives coordinates on the heatmaps and scores; :func:`heatmap_to_image`
maps the coordinates back through the inverse of the crop that placed the image on the maps.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hourglass._array import ArrayLike, is_tensor
from hourglass.codec._tensors import _NUMPY_DTYPES, _check_positive, _check_size, _float, _heatmap_batch, _result
from hourglass.geometry import crop_matrix, invert_affine, transform_points

DECODE_METHODS = ("argmax", "quarter", "dark", "soft-argmax")
"""Names accepted by :func:`decode_heatmaps`."""

_LOG_EPS = 1e-10  # DARK: blurred values are clamped here before the log
_BORDER = 3  # DARK: argmaxes this close to the border may take the unblurred step ...
_FIT_TOL = 1e-3  # ... where its 3x3 log is a quadratic to within this (an exact Gaussian)


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
    # P x P patch around it. Pixels outside the map count as 0 (DARK's zero-padded blur; a
    # replicate border errs 1.1-1.9x as much within 2 px of the border, 3-12x from there to
    # 3 sigma). Look-up tables of the clamped patch columns for every x and row starts for
    # every y, with their in-map masks.
    offsets = torch.arange(-(p // 2), p // 2 + 1, device=x.device)  # (P,)
    cols = torch.arange(w, device=x.device)[:, None] + offsets  # (W, P)
    rows = torch.arange(h, device=x.device)[:, None] + offsets  # (H, P)
    col_in = ((cols >= 0) & (cols < w)).to(flat.dtype)  # 1 inside the map, 0 outside
    row_in = ((rows >= 0) & (rows < h)).to(flat.dtype)
    index = rows.clamp(0, h - 1).mul_(w)[y][..., :, None] + cols.clamp(0, w - 1)[x][..., None, :]  # (B, K, P, P)
    patch = _gather(flat, index).mul_(row_in[y][..., :, None]).mul_(col_in[x][..., None, :])
    # Two plain 2-D GEMMs (a broadcast batched matmul is ~15x slower on 2 CPU threads).
    b, k = x.shape
    along_x = (patch.reshape(-1, p) @ blur).view(b, k, p, 3)  # (B, K, P rows, 3 cols)
    blurred = along_x.transpose(-1, -2).reshape(-1, p) @ blur  # (B K 3 cols, 3 rows)
    # float64 from here (9 values per keypoint): float32 logs would cost ~1e-5 px of precision.
    lg = blurred.to(torch.float64).clamp_min_(_LOG_EPS).log_().view(b, k, 3, 3).transpose(-1, -2)  # rows, cols
    lg = _exact_near_border(lg, patch, x, y, h, w)

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


def _exact_near_border(
    lg: torch.Tensor, patch: torch.Tensor, x: torch.Tensor, y: torch.Tensor, h: int, w: int
) -> torch.Tensor:
    """Near the border, the unblurred 3x3 log where it is an exact Gaussian, else ``lg``.

    ``lg`` (B, K, 3, 3) float64: the blurred log around each argmax, rows then columns;
    ``patch`` (B, K, P, P): the unblurred patch around it (zeros outside the map); ``x``, ``y``
    (B, K): the argmax. Within ``_BORDER`` px of the border the zero-padded blur bends a
    Gaussian cut off by the border, so its Taylor step errs more than the quarter rule (issue
    24). Where the unblurred 3x3 log is a quadratic to within ``_FIT_TOL`` (an exact Gaussian,
    such as a training target, whose Taylor step is exact) it is used instead. The tolerance is
    tight: real networks' maps, and noisy ones, keep the blur (docs/evaluation.md).
    """
    c = patch.shape[-1] // 2
    raw = patch[..., c - 1 : c + 2, c - 1 : c + 2].to(torch.float64).clamp_min(_LOG_EPS).log_()
    flat9 = raw.reshape(*raw.shape[:-2], 9)
    residual = (flat9 - flat9 @ _quadratic_projection(str(raw.device))).abs().amax(-1)
    edge = min(_BORDER, c)
    near = (x < edge) | (x > w - 1 - edge) | (y < edge) | (y > h - 1 - edge)
    return torch.where((near & (residual < _FIT_TOL))[..., None, None], raw, lg)


@functools.cache
def _quadratic_projection(device: str) -> torch.Tensor:
    """(9, 9) float64 matrix that maps a row-major 3x3 patch (a row vector) to its least-squares
    quadratic in (x, y), on ``device``."""
    ys, xs = torch.meshgrid(torch.arange(-1.0, 2.0), torch.arange(-1.0, 2.0), indexing="ij")
    xs, ys = xs.flatten().double(), ys.flatten().double()
    basis = torch.stack([torch.ones(9, dtype=torch.float64), xs, ys, xs * xs, ys * ys, xs * ys], 1)
    return (basis @ torch.linalg.pinv(basis)).T.contiguous().to(device)


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


def _check_method_options(method: str, blur_sigma: float, beta: float, window: int | None) -> tuple[float, float]:
    """Check the parameters ``method`` uses (ValueError naming a bad one); ``blur_sigma`` and ``beta`` as floats."""
    if method == "dark":
        blur_sigma = _check_positive(blur_sigma, "blur_sigma")
    if method == "soft-argmax":
        beta = _check_positive(beta, "beta")
        if window is not None and (isinstance(window, bool) or not isinstance(window, int) or window < 1):
            raise ValueError(f"window must be a positive int (pixels around the argmax) or None, got {window!r}")
    return blur_sigma, beta


def _refine(
    flat: torch.Tensor,
    idx: torch.Tensor,
    h: int,
    w: int,
    method: str,
    blur_sigma: float,
    beta: float,
    window: int | None,
) -> torch.Tensor:
    """(B, K, 2) coordinates (x, y) by ``method`` from the maps ``flat`` (B, K, H*W) and their argmax ``idx`` (B, K)."""
    x, y = idx % w, idx // w
    if method == "soft-argmax":
        return _soft_argmax(flat, x, y, h, w, beta, window)
    coords = torch.stack([x, y], dim=-1).to(flat.dtype)
    if method == "quarter":
        coords += _quarter(flat, idx, x, y, h, w)
    elif method == "dark":
        coords += _dark(flat, x, y, h, w, blur_sigma)
    return coords


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
      ``ceil(3 blur_sigma)``, zero border as in DARK's code; match it to the training sigma), take the log
      (clamped at 1e-10), and at the argmax of the original map move by ``-H^-1 g`` with
      gradient g and Hessian H from central differences. No step at the border, where H is
      not negative definite, or where the step would leave the 3x3 neighbourhood the
      differences describe (more than 1 px in x or y: flat or noisy maps). Only the
      (2r + 3)^2 patch around each argmax is blurred, which equals blurring the whole map.
      Within ~3 sigma of the border, where the Gaussian is cut off, the zero-padded blur bends
      it; so within 3 px of the border, where the unblurred map's 3x3 log is a quadratic to
      within 0.001 (an exact Gaussian), the step is taken on the unblurred map. Exact Gaussians
      then err at most 0.5 px within 2 px of the border and 0.0002 / 0.013 / 0.11 px from there
      to 3 sigma, for sigma 1 / 1.5 / 2, no worse than ``quarter`` in mean and maximum
      (``tests/test_codec_decode.py``); real networks' maps and noisy ones keep the blur.
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
        decodes to its first pixel (plus the method's offset) with its constant value as score.
        A low score marks an unsure peak; models trained with weight 0 on absent keypoints
        (:func:`hourglass.losses.heatmap_mse`) were never taught a low score for them.

    Raises:
        ValueError: for an unknown method, bad parameters, a wrong shape, or a map whose
            maximum is NaN or inf (the message names the batch and keypoint).
    """
    if method not in DECODE_METHODS:
        raise ValueError(f"unknown decoding method {method!r}; choose one of {list(DECODE_METHODS)}")
    t, as_numpy, unbatched = _heatmap_batch(heatmaps)
    blur_sigma, beta = _check_method_options(method, blur_sigma, beta, window)
    b, k, h, w = t.shape
    flat = _float(t).reshape(b, k, h * w)

    # Autocast off: under a caller's bf16 autocast DARK's blur GEMMs would round to bf16
    # (errors of ~5e-3 heatmap px instead of ~1e-7).
    no_autocast = torch.autocast(flat.device.type, enabled=False)
    with no_autocast, torch.set_grad_enabled(method == "soft-argmax" and torch.is_grad_enabled()):
        idx = _argmax(flat).to(flat.device)  # (B, K)
        scores = flat.gather(-1, idx[..., None]).squeeze(-1)
        _check_maxima(scores, unbatched)
        coords = _refine(flat, idx, h, w, method, blur_sigma, beta, window)
    if unbatched:
        coords, scores = coords[0], scores[0]
    return _result(coords, as_numpy), _result(scores, as_numpy)


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
