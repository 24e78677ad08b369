"""Coordinate conventions and the affine crop geometry shared by the whole toolkit.

Pixel convention (the only one in this library)
-----------------------------------------------
Continuous image coordinates put the **centre of pixel (column i, row j) at (x, y) = (i, j)**.
Pixel (i, j) therefore covers the square ``[i - 0.5, i + 0.5] x [j - 0.5, j + 0.5]``, and an
image of size (W, H) covers ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``. Coordinates are 0-based and
always ordered (x, y). This is the convention of array indexing and of ``cv2.warpAffine``,
``cv2.remap`` and ``cv2.getRotationMatrix2D``, so a matrix built here can be passed to OpenCV
unchanged. The argmax index of a heatmap is its coordinate; no +-0.5 is ever added.

Dataset conventions are converted once, at the loader boundary, with :func:`from_one_based`
(MATLAB-style annotations such as 300-W ``.pts`` and MPII, where the top-left pixel centre is
(1, 1)) and :func:`to_one_based` for writing them back.

Image <-> crop <-> heatmap
--------------------------
A crop is described by a centre ``c`` (image coordinates), a scale ``s`` in units of 200 image
pixels, a rotation ``r`` in degrees and an output size (W, H). The crop covers ``200 * s``
image pixels along its larger output side, with square pixels, centred at ``c``; a positive
``r`` rotates the image content counter-clockwise as displayed (as
``cv2.getRotationMatrix2D``). The image point ``c`` lands on the output's centre
``((W - 1) / 2, (H - 1) / 2)``::

    crop = T(out_centre) @ [flip] @ Scale(max(W, H) / (200 s)) @ Rot(r) @ T(-c) @ image

The same (c, s, r) with a different output size describes the same image region, so the
network input (e.g. 256 x 256) and its heatmaps (64 x 64) are two samplings of one crop:
``heatmap = (input + 0.5) * 64 / 256 - 0.5``. Use :func:`crop_matrix` with the heatmap size to
go between image and heatmap coordinates directly.

Normalised crop coordinates (the VGG regressor's targets) map the crop's outer edges to 0 and
1: ``u = (x + 0.5) / W`` (see :func:`to_normalized`).

All functions are pure and batched: leading dimensions broadcast, inputs are never modified.
Matrices are float64 numpy arrays of shape (..., 2, 3); point functions accept numpy arrays
or torch tensors and return the same type.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from hourglass._array import ArrayLike, as_float_array, is_tensor

__all__ = [
    "CACHE_MARGIN",
    "REDUCTIONS",
    "cache_geometry",
    "image_corners",
    "reduce_factor",
    "reduction_matrix",
    "from_one_based",
    "to_one_based",
    "crop_matrix",
    "invert_affine",
    "compose_affine",
    "transform_points",
    "warp_image",
    "to_normalized",
    "from_normalized",
    "box_to_center_scale",
    "PIXEL_STD",
]

PIXEL_STD = 200.0
"""Image pixels per unit of crop scale (the MPII convention used by every dataset here)."""


def from_one_based(points: ArrayLike) -> ArrayLike:
    """Convert 1-based (MATLAB) coordinates (..., 2) to this library's 0-based convention."""
    return points - 1.0


def to_one_based(points: ArrayLike) -> ArrayLike:
    """Convert 0-based coordinates (..., 2) to 1-based (MATLAB) coordinates."""
    return points + 1.0


def _check_size(size: Sequence[int], what: str = "output_size") -> tuple[int, int]:
    try:
        w, h = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a (W, H) pair of positive integers, got {size!r}") from None
    if w <= 0 or h <= 0 or (w, h) != tuple(size):
        raise ValueError(f"{what} must be a (W, H) pair of positive integers, got {size!r}")
    return w, h


def crop_matrix(
    center: ArrayLike,
    scale: ArrayLike,
    output_size: Sequence[int],
    rotation: ArrayLike = 0.0,
    flip: ArrayLike = False,
) -> np.ndarray:
    """Affine matrices mapping image coordinates into crop coordinates.

    Args:
        center: (..., 2) crop centres (x, y) in image coordinates.
        scale: (...) crop scales in units of 200 image pixels (the larger output side
            covers ``200 * scale`` pixels). Must be positive.
        output_size: (W, H) of the crop in pixels.
        rotation: (...) rotation in degrees; positive turns the content counter-clockwise.
        flip: (...) bool; mirror the crop horizontally (x -> W - 1 - x) after rotation.

    Returns:
        (..., 2, 3) float64 matrices ``M`` with ``crop = M @ [x, y, 1]``; pass one to
        ``cv2.warpAffine(image, M, (W, H))`` to sample the crop.
    """
    w, h = _check_size(output_size)
    center = np.asarray(center, dtype=np.float64)
    if center.shape[-1:] != (2,):
        raise ValueError(f"center must have shape (..., 2), got {center.shape}")
    scale = np.asarray(scale, dtype=np.float64)
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError(f"scale must be finite and positive (units of 200 px), got {scale}")
    if not np.all(np.isfinite(center)):
        raise ValueError(f"center must be finite, got {center}")
    theta = np.deg2rad(np.asarray(rotation, dtype=np.float64))
    flip = np.asarray(flip, dtype=bool)
    shape = np.broadcast_shapes(center.shape[:-1], scale.shape, theta.shape, flip.shape)

    f = max(w, h) / (PIXEL_STD * scale)  # crop pixels per image pixel
    a = np.broadcast_to(f * np.cos(theta), shape)
    b = np.broadcast_to(f * np.sin(theta), shape)
    cx = np.broadcast_to(center[..., 0], shape)
    cy = np.broadcast_to(center[..., 1], shape)
    sign = np.where(np.broadcast_to(flip, shape), -1.0, 1.0)
    # Rows before the flip: x' = a dx + b dy + (W-1)/2, y' = -b dx + a dy + (H-1)/2.
    m = np.empty(shape + (2, 3), dtype=np.float64)
    m[..., 0, 0] = sign * a
    m[..., 0, 1] = sign * b
    m[..., 0, 2] = sign * (-a * cx - b * cy) + (w - 1) / 2.0
    m[..., 1, 0] = -b
    m[..., 1, 1] = a
    m[..., 1, 2] = b * cx - a * cy + (h - 1) / 2.0
    return m


def invert_affine(matrix: ArrayLike) -> np.ndarray:
    """Invert affine matrices (..., 2, 3) -> (..., 2, 3) (float64)."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape[-2:] != (2, 3):
        raise ValueError(f"affine matrices must have shape (..., 2, 3), got {m.shape}")
    lin = m[..., :2]
    det = lin[..., 0, 0] * lin[..., 1, 1] - lin[..., 0, 1] * lin[..., 1, 0]
    if np.any(np.abs(det) < 1e-12):
        raise ValueError("affine matrix is singular and cannot be inverted")
    inv_lin = np.empty_like(lin)
    inv_lin[..., 0, 0] = lin[..., 1, 1] / det
    inv_lin[..., 0, 1] = -lin[..., 0, 1] / det
    inv_lin[..., 1, 0] = -lin[..., 1, 0] / det
    inv_lin[..., 1, 1] = lin[..., 0, 0] / det
    out = np.empty_like(m)
    out[..., :2] = inv_lin
    out[..., 2] = -np.einsum("...ij,...j->...i", inv_lin, m[..., 2])
    return out


def compose_affine(outer: ArrayLike, inner: ArrayLike) -> np.ndarray:
    """Matrices (..., 2, 3) applying ``inner`` first, then ``outer``."""
    a = np.asarray(outer, dtype=np.float64)
    b = np.asarray(inner, dtype=np.float64)
    if a.shape[-2:] != (2, 3) or b.shape[-2:] != (2, 3):
        raise ValueError(f"affine matrices must have shape (..., 2, 3), got {a.shape} and {b.shape}")
    lin = a[..., :2] @ b[..., :2]
    trans = np.einsum("...ij,...j->...i", a[..., :2], b[..., 2]) + a[..., 2]
    return np.concatenate([lin, trans[..., None]], axis=-1)


def transform_points(points: ArrayLike, matrix: ArrayLike) -> ArrayLike:
    """Apply affine matrices to points.

    Args:
        points: (..., K, 2) points (x, y), numpy array or torch tensor.
        matrix: (..., 2, 3) affine matrices, broadcast over the leading dimensions.

    Returns:
        (..., K, 2) transformed points, of the same type (and dtype, for floating input)
        as ``points``.
    """
    if points.shape[-1:] != (2,):
        raise ValueError(f"points must have shape (..., K, 2), got {tuple(points.shape)}")
    if is_tensor(points):
        import torch

        m = torch.as_tensor(np.asarray(matrix), device=points.device)
        dtype = points.dtype if points.is_floating_point() else torch.float64
        m = m.to(dtype)
        p = points.to(dtype)
        return p @ m[..., :2].transpose(-1, -2) + m[..., None, :, 2]
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape[-2:] != (2, 3):
        raise ValueError(f"matrix must have shape (..., 2, 3), got {m.shape}")
    p = as_float_array(points)
    out = p @ np.swapaxes(m[..., :2], -1, -2) + m[..., None, :, 2]
    return out.astype(p.dtype, copy=False)


def warp_image(
    image: np.ndarray,
    matrix: np.ndarray,
    output_size: Sequence[int],
    *,
    interpolation: int | None = None,
    border_value: float | Sequence[float] = 0,
) -> np.ndarray:
    """Sample a crop of ``image`` (H, W[, C]) with an affine matrix (2, 3) from :func:`crop_matrix`.

    Bilinear by default; pixels outside the image are ``border_value``. The result's pixel
    (i, j) is the image sampled at ``invert_affine(matrix) @ (i, j, 1)``, exactly this
    module's convention. Returns (H_out, W_out[, C]) of the image's dtype.
    """
    import cv2

    w, h = _check_size(output_size)
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (2, 3):
        raise ValueError(f"warp_image takes one (2, 3) matrix, got shape {m.shape}")
    if interpolation is None:
        interpolation = cv2.INTER_LINEAR
    if np.isscalar(border_value):
        border_value = (float(border_value),) * 4
    return cv2.warpAffine(
        image, m, (w, h), flags=interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=tuple(border_value)
    )


def to_normalized(points: ArrayLike, size: Sequence[int]) -> ArrayLike:
    """Crop pixel coordinates (..., 2) -> normalised [0, 1] coordinates of a (W, H) crop.

    0 is the crop's left/top edge and 1 its right/bottom edge: ``u = (x + 0.5) / W``.
    """
    w, h = _check_size(size, "size")
    half = 0.5
    if is_tensor(points):
        import torch

        denom = torch.tensor([w, h], dtype=points.dtype, device=points.device)
    else:
        points = as_float_array(points)
        denom = np.array([w, h], dtype=points.dtype)
    return (points + half) / denom


def from_normalized(points: ArrayLike, size: Sequence[int]) -> ArrayLike:
    """Normalised [0, 1] coordinates (..., 2) -> crop pixel coordinates of a (W, H) crop."""
    w, h = _check_size(size, "size")
    if is_tensor(points):
        import torch

        mult = torch.tensor([w, h], dtype=points.dtype, device=points.device)
    else:
        points = as_float_array(points)
        mult = np.array([w, h], dtype=points.dtype)
    return points * mult - 0.5


def box_to_center_scale(
    box: ArrayLike, aspect_ratio: float = 1.0, padding: float = 1.25
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (..., 4) as (x0, y0, w, h) in continuous image coordinates -> centre, scale.

    ``x0, y0`` is the box's top-left corner (for a box tightly around pixels i0..i1 that is
    ``i0 - 0.5``). The box is grown to the crop's aspect ratio ``W / H`` and by ``padding``;
    the scale is in 200-px units of the larger crop side, matching :func:`crop_matrix`.

    Returns:
        center (..., 2) and scale (...), float64.
    """
    b = np.asarray(box, dtype=np.float64)
    if b.shape[-1:] != (4,):
        raise ValueError(f"boxes must have shape (..., 4) as (x0, y0, w, h), got {b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b[..., 2:] <= 0):
        raise ValueError(f"boxes must be finite with positive width and height, got {b}")
    if aspect_ratio <= 0 or padding <= 0:
        raise ValueError(f"aspect_ratio and padding must be positive, got {aspect_ratio}, {padding}")
    center = b[..., :2] + b[..., 2:] / 2.0
    w = np.maximum(b[..., 2], b[..., 3] * aspect_ratio)  # box grown to the crop's W/H
    h = w / aspect_ratio
    longer = np.maximum(w, h) * padding
    return center, longer / PIXEL_STD


def image_corners(size: Sequence[int]) -> np.ndarray:
    """(4, 2) outer corners of an image of ``size`` (W, H): top-left, top-right, bottom-left,
    bottom-right, i.e. ``(-0.5, -0.5)`` to ``(W - 0.5, H - 0.5)`` in this module's convention."""
    w, h = _check_size(size, "size")
    return np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])


# --- crop geometry of decodes and caches ------------------------------------------------------
REDUCTIONS = (8, 4, 2, 1)
"""Decode reductions of :func:`reduce_factor`, largest first (libjpeg decodes at 1/2, 1/4, 1/8 natively)."""
CACHE_MARGIN = 2  # cache pixels beyond the farthest crop corner (bilinear support, rounding)


def reduction_matrix(reduce: int) -> np.ndarray:
    """(2, 3) affine from original-image coordinates to a 1/``reduce`` decode's coordinates.

    Reduced pixel j covers original pixels ``reduce * j .. reduce * j + reduce - 1``, whose
    centre is ``reduce * j + (reduce - 1) / 2``; so ``x_red = (x_orig - (reduce - 1) / 2) / reduce``.
    """
    if reduce not in (1, 2, 4, 8):
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce!r}")
    r = float(reduce)
    t = -(r - 1.0) / (2.0 * r)
    return np.array([[1.0 / r, 0.0, t], [0.0, 1.0 / r, t]])


def reduce_factor(scale: float, output_size: tuple[int, int]) -> int:
    """Largest r in 1, 2, 4, 8 leaving >= 1 decoded pixel per output pixel for a crop of ``scale``.

    Args:
        scale: effective crop scale (200-px units) of the sample.
        output_size: (W, H) of the crop.
    """
    pixels = PIXEL_STD * float(scale) / max(output_size)  # image pixels per output pixel
    return next(r for r in REDUCTIONS if r <= pixels or r == 1)


def cache_geometry(
    center: np.ndarray,
    scale: float,
    input_size: Sequence[int],
    min_scale_factor: float,
    max_scale_factor: float,
    max_rotation: float,
    max_shift: float = 0.0,
) -> tuple[np.ndarray, int]:
    """Affine (2, 3) from the original image to its cache crop, and the crop's side in pixels.

    The square crop, centred at ``center``, contains every crop of ``input_size`` (W, H) that
    an augmentation can draw for a subject of ``scale`` (scale factors in
    ``[min_scale_factor, max_scale_factor]``, rotation up to ``max_rotation`` degrees, centre
    shifted by up to ``max_shift`` of the crop side along each axis), at
    ``min(1, max(input_size) / (200 * scale * min_scale_factor))`` crop pixels per image
    pixel. At full resolution the crop is aligned to the image's pixel grid.
    """
    theta = math.radians(min(max_rotation, 45.0))
    side = PIXEL_STD * scale * max_scale_factor * (math.cos(theta) + math.sin(theta) + 2 * max_shift)  # image px
    density = min(1.0, max(input_size) / (PIXEL_STD * scale * min_scale_factor))
    size = math.ceil(side * density) + 2 * CACHE_MARGIN
    if density == 1.0:  # integer translation: the crop holds the image's own pixels
        offset = np.round(np.asarray(center, dtype=np.float64)) - (size - 1) // 2
        matrix = np.array([[1.0, 0.0, -offset[0]], [0.0, 1.0, -offset[1]]])
    else:
        matrix = crop_matrix(center, size / (PIXEL_STD * density), (size, size))
    return matrix, size
