"""Heatmap decoding and heatmap -> image mapping (hourglass.codec.decode): hand-worked peaks, round
trips on a non-square map, dtypes and devices, errors."""

import math
from functools import partial

import cv2
import numpy as np
import pytest
import torch

from hourglass.codec import DECODE_METHODS, decode_heatmaps, encode_heatmaps, flip_test, heatmap_to_image
from hourglass.geometry import crop_matrix, transform_points

SIZE = (48, 64)  # (W, H): non-square, so a swapped axis cannot pass
SIGMA = 2.0


def random_points(n, size=SIZE, margin=3 * SIGMA, seed=0):
    """(1, n, 2) sub-pixel points at least ``margin`` px inside the map extent [-0.5, W - 0.5)."""
    rng = np.random.default_rng(seed)
    w, h = size
    x = rng.uniform(-0.5 + margin, w - 0.5 - margin, n)
    y = rng.uniform(-0.5 + margin, h - 0.5 - margin, n)
    return np.stack([x, y], -1)[None]


def peak_map(size, peaks):
    """(1, 1, H, W) zeros with the given {(x, y): value} pixels."""
    w, h = size
    m = np.zeros((1, 1, h, w), np.float32)
    for (x, y), v in peaks.items():
        m[0, 0, y, x] = v
    return m


def test_decode_single_known_peak():
    m = peak_map((9, 7), {(5, 3): 1.0, (6, 3): 0.5, (4, 3): 0.2, (5, 2): 0.4, (5, 4): 0.1})
    coords, scores = decode_heatmaps(m, "argmax")
    np.testing.assert_array_equal(coords, [[[5.0, 3.0]]])
    assert scores[0, 0] == 1.0 and coords.dtype == np.float32
    # Quarter step toward the higher neighbour: right (0.5 > 0.2) and up (0.4 above > 0.1 below).
    coords, _ = decode_heatmaps(m, "quarter")
    np.testing.assert_array_equal(coords, [[[5.25, 2.75]]])
    # Equal neighbours: no step.
    coords, _ = decode_heatmaps(peak_map((9, 7), {(5, 3): 1.0}), "quarter")
    np.testing.assert_array_equal(coords, [[[5.0, 3.0]]])


def test_decode_first_maximum_on_ties():
    m = peak_map((9, 7), {(6, 2): 1.0, (2, 5): 1.0, (7, 5): 1.0})
    coords, _ = decode_heatmaps(m, "argmax")
    np.testing.assert_array_equal(coords, [[[6.0, 2.0]]])  # first in row-major order


def test_decode_border_peak():
    w, h = 9, 7
    m = peak_map((w, h), {(0, 3): 1.0, (1, 3): 0.6, (0, 2): 0.3})  # peak on the left border
    for method in ("argmax", "quarter", "dark"):
        coords, scores = decode_heatmaps(m, method)
        assert coords[0, 0, 0] == 0.0, method  # no neighbour on the left: no step in x
        assert scores[0, 0] == 1.0
    assert decode_heatmaps(m, "quarter")[0][0, 0, 1] == 2.75  # y still gets its quarter step
    assert decode_heatmaps(m, "dark")[0][0, 0, 1] == 3.0  # DARK needs the whole 3x3
    # Soft-argmax excludes out-of-map pixels of the window: a lone peak in the corner with
    # window 1 averages over 4 pixels, weights e, 1, 1, 1.
    corner = peak_map((w, h), {(w - 1, 0): 1.0})
    coords, _ = decode_heatmaps(corner, "soft-argmax", beta=1.0, window=1)
    e = math.e
    np.testing.assert_allclose(coords[0, 0], [w - 1 - 2 / (e + 3), 2 / (e + 3)], rtol=1e-6)


def test_dark_matches_full_map_blur_with_zero_border():
    """The patch blur equals cv2.GaussianBlur of the whole zero-padded map (DARK's reference
    code), also 1-2 px from each border: noisy maps are no exact Gaussians."""
    w, h = SIZE
    points = np.array([[[1.2, 30.4], [2.4, 3.3], [45.2, 40.6], [30.3, 61.4], [24.3, 31.7]]])
    rng = np.random.default_rng(3)
    maps, _ = encode_heatmaps(points, None, SIZE, sigma=1.5, dtype=np.float64)
    maps = maps + rng.uniform(0, 0.05, maps.shape)
    coords, _ = decode_heatmaps(maps, "dark", blur_sigma=1.5)
    r = math.ceil(3 * 1.5)
    for k, m in enumerate(maps[0]):
        y, x = np.unravel_index(m.argmax(), m.shape)
        assert 0 < x < w - 1 and 0 < y < h - 1
        blurred = cv2.GaussianBlur(m, (2 * r + 1, 2 * r + 1), 1.5, borderType=cv2.BORDER_CONSTANT)
        lg = np.log(np.maximum(blurred, 1e-10))
        grad = np.array([lg[y, x + 1] - lg[y, x - 1], lg[y + 1, x] - lg[y - 1, x]]) / 2
        hxy = (lg[y + 1, x + 1] - lg[y + 1, x - 1] - lg[y - 1, x + 1] + lg[y - 1, x - 1]) / 4
        hess = np.array(
            [[lg[y, x + 1] - 2 * lg[y, x] + lg[y, x - 1], hxy], [hxy, lg[y + 1, x] - 2 * lg[y, x] + lg[y - 1, x]]]
        )
        step = -np.linalg.solve(hess, grad)
        assert np.abs(step).max() <= 1 and np.abs(step).max() > 0.01
        np.testing.assert_allclose(coords[0, k], [x, y] + step, atol=1e-9)


def _border_sweep(sigma: float, border: str, dtype=np.float64):
    """Maps (1, 400, 64, 48) of points swept from ``border`` of a 48 x 64 map inwards to 3 sigma + 3
    px, and each point's distance from that border."""
    w, h = SIZE
    d = np.linspace(0.0, 3 * sigma + 3, 400)
    across = {"left": 20.3, "right": 20.3, "top": 30.3, "bottom": 30.3}[border]
    x = {"left": d, "right": w - 1 - d, "top": np.full_like(d, across), "bottom": np.full_like(d, across)}[border]
    y = {"left": np.full_like(d, across), "right": np.full_like(d, across), "top": d, "bottom": h - 1 - d}[border]
    maps, _ = encode_heatmaps(np.stack([x, y], -1)[None], None, SIZE, sigma=sigma, dtype=dtype)
    return maps, np.stack([x, y], -1), d


@pytest.mark.parametrize("border", ["left", "right", "top", "bottom"])
@pytest.mark.parametrize(("sigma", "edge", "near"), [(1.0, 0.5, 2e-4), (1.5, 0.5, 0.013), (2.0, 0.5, 0.11)])
def test_dark_near_the_border(sigma, edge, near, border):
    """Peaks cut off by a border of a 48 x 64 map: the largest error of 400 points from the border
    to 3 sigma + 3 px in is ``edge`` px within 2 px of it, ``near`` px from 2 px to 3 sigma, < 2e-4 px
    beyond; and DARK's mean and largest error are no worse than the quarter rule's within 2 px and
    from there to 3 sigma, for float64 and float32 maps (issue 24; the zero-padded blur alone gave
    0.5 / 0.5 / 0.82 px within 2 px, mean 0.41 px against the quarter rule's 0.16 at sigma 2)."""
    for dtype in (np.float64, np.float32):
        maps, truth, d = _border_sweep(sigma, border, dtype)
        err = np.abs(decode_heatmaps(maps, "dark", blur_sigma=sigma)[0][0] - truth).max(-1)
        quarter = np.abs(decode_heatmaps(maps, "quarter")[0][0] - truth).max(-1)
        assert err[d < 2].max() <= edge
        assert err[(d >= 2) & (d < 3 * sigma)].max(initial=0.0) <= near
        assert err[d >= 3 * sigma].max() <= 2e-4
        for zone in (d < 2, (d >= 2) & (d < 3 * sigma)):
            assert err[zone].mean() <= quarter[zone].mean()
            assert err[zone].max() <= quarter[zone].max() + 1e-6


@pytest.mark.parametrize("border", ["left", "right", "top", "bottom"])
def test_dark_near_the_border_keeps_the_blur_on_noisy_maps(border):
    """Only exact Gaussians take the unblurred step near the border: with uniform noise of 2 % or 5 %
    of the peak, every point of the sweep steps as the zero-padded blur does (DARK's reference
    code, ``cv2.GaussianBlur`` with a constant border)."""
    sigma = 1.5
    r = math.ceil(3 * sigma)
    for seed, noise in ((0, 0.02), (1, 0.05)):
        maps, truth, d = _border_sweep(sigma, border)
        maps = maps[:, ::8] + np.random.default_rng(seed).uniform(0, noise, maps[:, ::8].shape)
        coords = decode_heatmaps(maps, "dark", blur_sigma=sigma)[0][0]
        for k, m in enumerate(maps[0]):
            y, x = np.unravel_index(m.argmax(), m.shape)
            if not (0 < x < m.shape[1] - 1 and 0 < y < m.shape[0] - 1):
                continue  # no step on the border itself
            lg = np.log(
                np.maximum(cv2.GaussianBlur(m, (2 * r + 1, 2 * r + 1), sigma, borderType=cv2.BORDER_CONSTANT), 1e-10)
            )
            gx, hxx = (lg[y, x + 1] - lg[y, x - 1]) / 2, lg[y, x + 1] - 2 * lg[y, x] + lg[y, x - 1]
            gy, hyy = (lg[y + 1, x] - lg[y - 1, x]) / 2, lg[y + 1, x] - 2 * lg[y, x] + lg[y - 1, x]
            hxy = (lg[y + 1, x + 1] - lg[y + 1, x - 1] - lg[y - 1, x + 1] + lg[y - 1, x - 1]) / 4
            det = hxx * hyy - hxy * hxy
            step = -np.linalg.solve([[hxx, hxy], [hxy, hyy]], [gx, gy]) if hxx < 0 and det > 0 else np.zeros(2)
            step = step if np.abs(step).max() <= 1 else np.zeros(2)
            np.testing.assert_allclose(coords[k], [x, y] + step, atol=1e-9, err_msg=f"{border} {noise} point {k}")


def test_flat_and_zero_maps_decode_without_magic_values():
    for fill in (0.0, 0.3):
        m = np.full((2, 3, 64, 48), fill, np.float32)
        for method in DECODE_METHODS:
            coords, scores = decode_heatmaps(m, method)
            assert np.isfinite(coords).all(), method
            assert (coords >= -0.5).all() and (coords[..., 0] < 47.5).all() and (coords[..., 1] < 63.5).all()
            np.testing.assert_array_equal(scores, np.float32(fill))
    # Decoding an encoded zero-weight keypoint therefore gives score 0: threshold the score.
    hm, weight = encode_heatmaps(np.array([[100.0, 5.0]]), None, SIZE)
    assert weight[0] == 0 and decode_heatmaps(hm, "dark")[1][0] == 0


@pytest.fixture(scope="module")
def round_trip():
    points = random_points(400)
    maps, weights = encode_heatmaps(points, None, SIZE, sigma=SIGMA)
    assert (weights == 1).all()
    return points, maps


def errors(coords, points):
    """Mean absolute per-coordinate error and mean Euclidean error, in heatmap pixels."""
    return np.abs(coords - points).mean(), np.linalg.norm(coords - points, axis=-1).mean()


def test_round_trip_argmax_is_rounding(round_trip):
    points, maps = round_trip
    coords, _ = decode_heatmaps(maps, "argmax")
    np.testing.assert_array_equal(coords, np.round(points))
    assert np.abs(coords - points).max() <= 0.5


def test_round_trip_quarter(round_trip):
    points, maps = round_trip
    mean_abs, _ = errors(decode_heatmaps(maps, "quarter")[0], points)
    assert mean_abs <= 0.13  # measured 0.1254 (uniform sub-pixel offsets: 0.125 expected)
    assert np.abs(decode_heatmaps(maps, "quarter")[0] - points).max() <= 0.25 + 1e-6


def test_round_trip_dark(round_trip):
    points, maps = round_trip
    coords, scores = decode_heatmaps(maps, "dark")  # blur_sigma defaults to 2 = SIGMA
    mean_abs, mean_euclid = errors(coords, points)
    assert mean_abs <= 0.02  # measured 1.0e-5
    assert mean_euclid <= 0.02  # measured 1.8e-5
    assert np.abs(coords - points).max() <= 0.002  # measured 4.4e-4 (the blur kernel is cut at 3 sigma)
    np.testing.assert_array_equal(scores, maps.reshape(1, 400, -1).max(-1))
    # float64 maps and a blur different from the encoding sigma still decode exactly.
    coords64, _ = decode_heatmaps(maps.astype(np.float64), "dark", blur_sigma=1.0)
    assert coords64.dtype == np.float64
    assert np.abs(coords64 - points).max() <= 1e-3  # measured 2.4e-6


def test_round_trip_soft_argmax(round_trip):
    points, maps = round_trip
    mean_abs, mean_euclid = errors(decode_heatmaps(maps, "soft-argmax")[0], points)
    assert mean_abs <= 0.05  # measured 0.0024
    assert mean_euclid <= 0.05  # measured 0.0036
    # The whole-map softmax is pulled toward the map centre at beta = 10 and needs a large
    # beta instead.
    biased, _ = errors(decode_heatmaps(maps, "soft-argmax", window=None)[0], points)
    assert biased > 0.2  # measured 0.51
    mean_abs, _ = errors(decode_heatmaps(maps, "soft-argmax", beta=15.0, window=None)[0], points)
    assert mean_abs <= 0.05  # measured 0.012


def test_soft_argmax_is_differentiable():
    maps, _ = encode_heatmaps(torch.tensor([[[10.3, 20.6]]]), None, SIZE)
    maps.requires_grad_(True)
    coords, _ = decode_heatmaps(maps, "soft-argmax")
    coords.sum().backward()
    assert maps.grad is not None and torch.isfinite(maps.grad).all() and maps.grad.abs().sum() > 0
    assert not decode_heatmaps(maps, "dark")[0].requires_grad
    small = torch.rand(2, 3, 6, 5, dtype=torch.float64, requires_grad=True)
    for window in (2, None):
        # Both outputs, coordinates and scores, get correct gradients.
        assert torch.autograd.gradcheck(partial(decode_heatmaps, method="soft-argmax", beta=3.0, window=window), small)


@pytest.mark.parametrize("method", DECODE_METHODS)
def test_decode_ignores_a_callers_bf16_autocast(method, round_trip):
    """Under CPU bf16 autocast (as in bf16 training) decoding is computed in float32 all the same."""
    _, maps = round_trip
    t = torch.from_numpy(maps)
    plain = decode_heatmaps(t, method)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under = decode_heatmaps(t, method)
    for a, b in zip(plain, under, strict=True):
        assert b.dtype == torch.float32
        torch.testing.assert_close(b, a, rtol=0, atol=0)


@pytest.mark.parametrize("method", DECODE_METHODS)
def test_decode_numpy_torch_and_dtypes_agree(method, round_trip):
    points, maps = round_trip
    maps = maps[:, :50] + np.random.default_rng(2).uniform(0, 0.02, (1, 50, 64, 48)).astype(np.float32)
    before = maps.copy()
    c_np, s_np = decode_heatmaps(maps, method)
    c_t, s_t = decode_heatmaps(torch.from_numpy(maps), method)
    c_64, s_64 = decode_heatmaps(maps.astype(np.float64), method)
    c_k, s_k = decode_heatmaps(maps[0], method)  # (K, H, W) -> (K, 2)
    np.testing.assert_array_equal(maps, before)  # inputs are never modified
    assert isinstance(c_np, np.ndarray) and isinstance(c_t, torch.Tensor)
    assert c_np.shape == (1, 50, 2) and s_np.shape == (1, 50) and c_k.shape == (50, 2) and s_k.shape == (50,)
    assert c_t.dtype == torch.float32 and c_64.dtype == np.float64
    np.testing.assert_allclose(c_t.numpy(), c_np, atol=1e-5)
    np.testing.assert_allclose(c_64, c_np, atol=1e-4)
    np.testing.assert_allclose(c_k, c_np[0], atol=1e-5)
    np.testing.assert_allclose(s_t.numpy(), s_np, atol=1e-6)
    # A read-only, non-contiguous view works too.
    view = np.asfortranarray(maps)
    view.flags.writeable = False
    np.testing.assert_allclose(decode_heatmaps(view, method)[0], c_np, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", DECODE_METHODS)
def test_cuda_matches_cpu(method, round_trip):
    points, maps = round_trip
    coords, scores = decode_heatmaps(torch.from_numpy(maps).cuda(), method)
    assert coords.device.type == "cuda" and scores.device.type == "cuda"
    np.testing.assert_allclose(coords.cpu().numpy(), decode_heatmaps(maps, method)[0], atol=1e-5)
    hm, weights = encode_heatmaps(torch.from_numpy(points).cuda(), None, SIZE)
    assert hm.device.type == "cuda"
    np.testing.assert_allclose(hm.cpu().numpy(), maps, atol=1e-6)
    flipped = flip_test(hm, hm, list(range(400)))
    assert flipped.device.type == "cuda"
    border, _, _ = _border_sweep(2.0, "right", np.float32)  # DARK's exact-Gaussian step near the border
    np.testing.assert_allclose(
        decode_heatmaps(torch.from_numpy(border).cuda(), method)[0].cpu().numpy(),
        decode_heatmaps(border, method)[0],
        atol=1e-4,
    )


def test_decode_errors():
    maps = np.zeros((2, 3, 8, 6), np.float32)
    with pytest.raises(ValueError, match="unknown decoding method 'median'"):
        decode_heatmaps(maps, "median")
    with pytest.raises(ValueError, match=r"shape \(B, K, H, W\)"):
        decode_heatmaps(maps[0, 0], "dark")
    bad = maps.copy()
    bad[1, 2, 4, 3] = np.nan
    with pytest.raises(ValueError, match=r"\(batch 1, keypoint 2\) contains NaN"):
        decode_heatmaps(bad, "quarter")
    with pytest.raises(ValueError, match=r"heatmap keypoint 2 contains NaN"):
        decode_heatmaps(torch.from_numpy(bad[1]), "dark")
    bad[1, 2, 4, 3] = np.inf
    with pytest.raises(ValueError, match=r"\(batch 1, keypoint 2\)"):
        decode_heatmaps(bad, "argmax")
    with pytest.raises(ValueError, match="blur_sigma"):
        decode_heatmaps(maps, "dark", blur_sigma=-1)
    with pytest.raises(ValueError, match="beta"):
        decode_heatmaps(maps, "soft-argmax", beta=float("nan"))
    with pytest.raises(ValueError, match="window"):
        decode_heatmaps(maps, "soft-argmax", window=0)
    with pytest.raises(TypeError, match="numbers"):
        decode_heatmaps(np.array([["a"]]), "dark")


def test_heatmap_to_image_inverts_encode_placement():
    rng = np.random.default_rng(5)
    b, k = 4, 30
    w, h = SIZE
    center = rng.uniform(150, 350, (b, 2))
    scale = rng.uniform(0.8, 1.6, b)
    rotation = np.array([0.0, 30.0, -45.0, 170.0])
    # Image points within a radius that keeps them 3 sigma inside the (rotated) heatmap.
    f = max(w, h) / (200 * scale)  # heatmap px per image px
    radius = ((min(w, h) - 1) / 2 - 3 * SIGMA - 1) / f
    r = radius[:, None] * np.sqrt(rng.uniform(0, 1, (b, k)))
    angle = rng.uniform(0, 2 * np.pi, (b, k))
    image_points = center[:, None] + np.stack([r * np.cos(angle), r * np.sin(angle)], -1)

    heat_points = transform_points(image_points, crop_matrix(center, scale, SIZE, rotation))
    maps, weights = encode_heatmaps(heat_points, None, SIZE)
    assert (weights == 1).all()
    coords, _ = decode_heatmaps(maps, "dark")
    back = heatmap_to_image(coords, center, scale, SIZE, rotation)
    assert isinstance(back, np.ndarray) and back.shape == (b, k, 2)
    assert np.abs(back - image_points).max() <= 0.02  # measured 3.1e-5 image px

    back_t = heatmap_to_image(torch.from_numpy(coords), torch.from_numpy(center), scale, SIZE, rotation)
    assert isinstance(back_t, torch.Tensor)
    np.testing.assert_allclose(back_t.numpy(), back, atol=1e-4)
    # Unbatched: (K, 2) with one crop.
    one = heatmap_to_image(coords[1], center[1], scale[1], SIZE, rotation[1])
    np.testing.assert_allclose(one, back[1], atol=1e-9)


def test_heatmap_to_image_hand_worked_and_errors():
    # The heatmap centre is the crop centre; one heatmap px is 200 s / max(W, H) image px.
    coords = np.array([[(48 - 1) / 2, (64 - 1) / 2], [(48 - 1) / 2 + 1, (64 - 1) / 2]])
    out = heatmap_to_image(coords, [100.0, 80.0], 0.64, SIZE)
    np.testing.assert_allclose(out, [[100.0, 80.0], [102.0, 80.0]], atol=1e-12)
    with pytest.raises(ValueError, match="coords must have shape"):
        heatmap_to_image(np.zeros((3, 3)), [100.0, 80.0], 1.0, SIZE)
    with pytest.raises(ValueError, match="one crop per image"):
        heatmap_to_image(np.zeros((2, 5, 2)), np.zeros((3, 2)), np.ones(3), SIZE)
