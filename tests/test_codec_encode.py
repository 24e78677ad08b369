"""Gaussian heatmap targets (hourglass.codec.encode): hand-worked values, weights, dtypes, errors."""

import math

import numpy as np
import pytest
import torch

from hourglass.codec import encode_heatmaps

SIZE = (48, 64)  # (W, H): non-square, so a swapped axis cannot pass
SIGMA = 2.0


def test_encode_at_integer_location_hand_worked():
    hm, weight = encode_heatmaps(np.array([[5.0, 7.0]]), np.array([True]), (12, 10), sigma=SIGMA)
    assert hm.shape == (1, 10, 12) and weight.shape == (1,)  # (K, H, W) for (K, 2) input
    assert hm.dtype == np.float32 and weight[0] == 1.0
    m = hm[0]
    assert m[7, 5] == 1.0  # exp(0), exactly: the peak pixel is row y=7, column x=5
    one = math.exp(-1 / (2 * SIGMA**2))
    for y, x in [(7, 6), (7, 4), (6, 5), (8, 5)]:
        assert m[y, x] == pytest.approx(one, rel=1e-6)
    assert m[8, 6] == pytest.approx(math.exp(-2 / (2 * SIGMA**2)), rel=1e-6)
    assert m[7, 11] == pytest.approx(math.exp(-36 / (2 * SIGMA**2)), rel=1e-5)
    assert np.unravel_index(m.argmax(), m.shape) == (7, 5)


def test_encode_subpixel_is_exact_gaussian_on_pixel_centres():
    point = np.array([[[3.3, 4.6], [40.75, 60.1]]])
    hm, _ = encode_heatmaps(point, None, SIZE, sigma=1.5, dtype=np.float64)
    assert hm.shape == (1, 2, 64, 48) and hm.dtype == np.float64
    ys, xs = np.mgrid[0:64, 0:48]
    for k, (x, y) in enumerate(point[0]):
        expected = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.5**2))
        np.testing.assert_allclose(hm[0, k], expected, rtol=1e-12, atol=1e-300)
        assert hm[0, k].max() < 1.0  # the peak is between pixel centres


def test_encode_outside_invisible_and_nonfinite_get_weight_zero():
    w, h = SIZE
    points = np.array(
        [
            [-0.5, 10.0],  # on the left edge of the extent: inside
            [-0.51, 10.0],  # just outside
            [w - 0.5, 10.0],  # the right edge is excluded: [-0.5, W - 0.5)
            [w - 0.501, h - 0.501],  # inside, bottom right
            [10.0, h - 0.5],  # outside at the bottom
            [np.nan, 3.0],
            [3.0, np.inf],
            [20.0, 20.0],  # fine, but marked invisible
            [21.0, 30.0],
        ]
    )
    visible = np.array([True] * 7 + [False, True])
    hm, weight = encode_heatmaps(points, visible, SIZE, sigma=SIGMA)
    np.testing.assert_array_equal(weight, [1, 0, 0, 1, 0, 0, 0, 0, 1])
    assert not np.isnan(hm).any()
    for k in np.flatnonzero(weight == 0):
        assert not hm[k].any(), f"map {k} of a zero-weight keypoint must be all zeros"
    assert hm[0, 10, 0] == pytest.approx(math.exp(-0.25 / (2 * SIGMA**2)))


def test_encode_batched_dtypes_and_torch():
    points = np.random.default_rng(1).uniform(0, 40, (3, 5, 2))
    visible = np.ones((3, 5), bool)
    hm32, w32 = encode_heatmaps(points, visible, SIZE)
    hm64, w64 = encode_heatmaps(points.astype(np.float32), visible, SIZE, dtype="float64")
    assert hm32.shape == (3, 5, 64, 48) and w32.shape == (3, 5)
    assert hm64.dtype == np.float64 and w64.dtype == np.float64 and w32.dtype == np.float32
    np.testing.assert_allclose(hm32, hm64, atol=1e-6)
    ht, wt = encode_heatmaps(torch.from_numpy(points), torch.from_numpy(visible), SIZE, dtype=torch.float32)
    assert isinstance(ht, torch.Tensor) and ht.dtype == torch.float32 and isinstance(wt, torch.Tensor)
    np.testing.assert_allclose(ht.numpy(), hm32, atol=1e-6)


def test_encode_errors():
    pts = np.zeros((2, 3, 2))
    vis = np.ones((2, 3), bool)
    with pytest.raises(ValueError, match="keypoints must have shape"):
        encode_heatmaps(np.zeros((2, 3, 3)), vis, SIZE)
    with pytest.raises(ValueError, match=r"visible must have shape \(2, 3\)"):
        encode_heatmaps(pts, np.ones((3, 2), bool), SIZE)
    with pytest.raises(TypeError, match="bool mask"):
        encode_heatmaps(pts, np.ones((2, 3), np.uint8), SIZE)
    with pytest.raises(ValueError, match="heatmap_size"):
        encode_heatmaps(pts, vis, (48, 0))
    with pytest.raises(ValueError, match="heatmap_size"):
        encode_heatmaps(pts, vis, 64)
    with pytest.raises(ValueError, match="sigma"):
        encode_heatmaps(pts, vis, SIZE, sigma=0)
    with pytest.raises(ValueError, match="dtype"):
        encode_heatmaps(pts, vis, SIZE, dtype=np.int32)
