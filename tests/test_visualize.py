"""Keypoint drawing: colours at the keypoints, sub-pixel placement, masks, inputs untouched."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from hourglass.data.pipeline import PipelineConfig, TopDownPipeline
from hourglass.keypoints import MPII
from hourglass.visualize import draw_keypoints, save_sample_grid

K = MPII.num_keypoints


def spread_keypoints(width=200, height=120) -> np.ndarray:
    """(16, 2) keypoints on a 4 x 4 grid with fractional coordinates, 40 px apart."""
    gx, gy = np.meshgrid(np.arange(4), np.arange(4))
    return np.stack([gx.ravel() * 40.0 + 30.3, gy.ravel() * 25.0 + 20.6], axis=1)


def test_keypoint_colour_is_drawn_at_the_keypoint_pixel():
    image = np.zeros((120, 200, 3), np.uint8)
    keypoints = spread_keypoints()
    out = draw_keypoints(image, keypoints, np.ones(K, bool), MPII, radius=3)
    for k, (x, y) in enumerate(keypoints):
        assert tuple(out[int(round(y)), int(round(x))]) == MPII.color_of(k), k
    assert out.dtype == np.uint8 and out.shape == image.shape


def test_drawing_is_sub_pixel_accurate():
    image = np.zeros((60, 60, 3), np.uint8)
    yy, xx = np.mgrid[0:60, 0:60]
    for x, y in [(30.0, 30.0), (30.5, 29.25), (29.3, 30.7)]:
        keypoints = np.full((K, 2), 30.0)
        keypoints[0] = (x, y)
        mask = np.zeros(K, bool)
        mask[0] = True
        w = draw_keypoints(image, keypoints, mask, MPII, radius=5).astype(np.float64).sum(axis=2)
        centroid = np.array([(w * xx).sum(), (w * yy).sum()]) / w.sum()
        np.testing.assert_allclose(centroid, (x, y), atol=0.05)


def test_mask_false_draws_nothing_and_the_input_is_not_modified():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    before = image.copy()
    out = draw_keypoints(image, spread_keypoints(), np.zeros(K, bool), MPII)
    np.testing.assert_array_equal(out, image)
    assert out is not image and not np.shares_memory(out, image)
    drawn = draw_keypoints(image, torch.from_numpy(spread_keypoints()), torch.ones(K, dtype=torch.bool), MPII)
    np.testing.assert_array_equal(image, before)
    assert not np.array_equal(drawn, image)


def test_scores_below_the_threshold_are_not_drawn():
    image = np.zeros((120, 200, 3), np.uint8)
    keypoints = spread_keypoints()
    scores = np.full(K, 0.9)
    scores[5] = 0.1
    out = draw_keypoints(image, keypoints, np.ones(K, bool), MPII, scores=scores, threshold=0.5)
    x, y = np.round(keypoints[5]).astype(int)
    assert out[y - 1 : y + 2, x - 1 : x + 2].max() == 0
    x, y = np.round(keypoints[6]).astype(int)
    assert tuple(out[y, x]) == MPII.color_of(6)


def test_bad_drawing_inputs_are_rejected():
    image = np.zeros((50, 50, 3), np.uint8)
    ok = np.ones(K, bool)
    keypoints = np.full((K, 2), 25.0)
    with pytest.raises(ValueError, match="uint8 RGB"):
        draw_keypoints(image.astype(np.float32), keypoints, ok, MPII)
    with pytest.raises(ValueError, match=r"\(16, 2\)"):
        draw_keypoints(image, keypoints[:10], ok, MPII)
    with pytest.raises(ValueError, match="mask"):
        draw_keypoints(image, keypoints, ok.astype(int), MPII)
    with pytest.raises(ValueError, match="threshold needs scores"):
        draw_keypoints(image, keypoints, ok, MPII, threshold=0.5)
    nan = keypoints.copy()
    nan[3] = np.nan
    with pytest.raises(ValueError, match=r"\[3\]"):
        draw_keypoints(image, nan, ok, MPII)
    mask = ok.copy()
    mask[3] = False
    draw_keypoints(image, nan, mask, MPII)  # a masked-out NaN is fine


def test_sample_grid_leaves_the_pyplot_backend_alone(tmp_path):
    backend = matplotlib.get_backend()
    image = np.zeros((200, 200, 3), np.uint8)
    keypoints = spread_keypoints() + 40
    pipeline = TopDownPipeline(PipelineConfig(), MPII)
    sample = pipeline(image, keypoints, np.ones(K, bool), np.array([100.0, 100.0]), 1.0, np.random.default_rng(0))
    path = save_sample_grid([sample], MPII, tmp_path / "one.png")
    assert path.read_bytes().startswith(b"\x89PNG")
    assert matplotlib.get_backend() == backend
    with pytest.raises(ValueError, match="at least one"):
        save_sample_grid([], MPII, tmp_path / "none.png")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_sample_grid([sample], MPII, tmp_path / "no" / "dir.png")
