"""Keypoint drawing: colours at the keypoints, sub-pixel placement, masks, inputs untouched."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

from hourglass.data.pipeline import PipelineConfig, TopDownPipeline
from hourglass.geometry import crop_matrix, invert_affine, transform_points
from hourglass.keypoints import LSP, MPII, W300
from hourglass.predictor import Prediction
from hourglass.visualize import draw_keypoints, draw_predictions, drawing_style, heatmap_overlay, save_sample_grid

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


def test_heatmap_overlay_lands_where_the_crop_maps_it():
    """A blob at heatmap point (u, v) is drawn at inverse(heatmap_matrix) (u, v) in the image."""
    h, w = 300, 400
    center, scale, hm = np.array([[210.3, 140.8]]), np.array([0.9]), (16, 12)  # non-square heatmap (W, H)
    u, v = 9.3, 4.6
    y, x = np.mgrid[0 : hm[1], 0 : hm[0]]
    blob = np.exp(-((x - u) ** 2 + (y - v) ** 2) / (2 * 0.8**2)).astype(np.float32)
    matrix = crop_matrix(center, scale, hm)  # (1, 2, 3) image -> heatmap
    pred = Prediction(
        keypoints=np.zeros((1, 1, 2)), scores=np.ones((1, 1)), boxes=np.array([[100.0, 50.0, 200.0, 200.0]]),
        box_scores=np.ones(1), center=center, scale=scale, source="boxes", spec=W300, image_size=(w, h),
        heatmaps=blob[None, None], heatmap_matrix=matrix,
    )  # fmt: skip
    gray = np.full((h, w, 3), 128, np.uint8)
    overlay = heatmap_overlay(gray, [pred])
    diff = np.abs(overlay.astype(float) - gray).sum(axis=2)
    yy, xx = np.mgrid[0:h, 0:w]
    centroid = np.array([(diff * xx).sum(), (diff * yy).sum()]) / diff.sum()
    expected = transform_points(np.array([[u, v]]), invert_affine(matrix[0]))[0]
    np.testing.assert_allclose(centroid, expected, atol=0.5)  # 1 heatmap px = 15 image px here
    assert heatmap_overlay(gray, []) is None


def test_drawing_scales_with_the_subject():
    small = drawing_style(W300, 200.0)
    large = drawing_style(W300, 4000.0)
    assert large[0] / small[0] == pytest.approx(20.0) and large[1] > small[1]
    assert drawing_style(W300, 30.0) == (1.0, 1)  # never vanishing
    assert drawing_style(LSP, 400.0)[0] > drawing_style(W300, 400.0)[0]  # 68 points: small dots


def _person(source: str) -> Prediction:
    """One LSP subject standing in a 300 x 200 image, its box (60, 40, 80, 220)."""
    x = np.linspace(70.0, 130.0, LSP.num_keypoints)
    y = np.linspace(250.0, 50.0, LSP.num_keypoints)
    return Prediction(
        keypoints=np.stack([x, y], axis=1)[None], scores=np.full((1, LSP.num_keypoints), 0.9),
        boxes=np.array([[60.0, 40.0, 80.0, 220.0]]), box_scores=np.ones(1), center=np.array([[100.0, 150.0]]),
        scale=np.array([1.4]), source=source, spec=LSP, image_size=(200, 300),
    )  # fmt: skip


def test_draw_predictions_draws_keypoints_and_the_box_of_detected_subjects():
    image = np.zeros((300, 200, 3), np.uint8)
    pred = _person("detector")
    out = draw_predictions(image, [pred])
    for k, (x, y) in enumerate(pred.keypoints[0]):
        assert tuple(out[int(round(y)), int(round(x))]) == LSP.color_of(k), k
    assert out[40:260, 60].any() and out[40, 60:140].any()  # the box's left and top edges
    whole = draw_predictions(image, [_person("whole-image")])
    assert not whole[40:260, 60].any()  # the whole image as a subject gets no box
    hidden = draw_predictions(image, [pred], min_score=0.95)  # every keypoint below the threshold
    assert not hidden[50:251, 70:131].any()
    assert not image.any()  # the input is untouched


def test_keypoints_out_of_view_are_not_drawn():
    """The legs a model marks out of view (in_view False) get no dot and no skeleton line."""
    import dataclasses

    image = np.zeros((300, 200, 3), np.uint8)
    pred = _person("whole-image")
    in_view = np.zeros((1, LSP.num_keypoints), bool)
    in_view[0, 6:] = True  # the upper body (y from 250 down to 50: keypoints 6.. are the higher ones)
    out = draw_predictions(image, [dataclasses.replace(pred, in_view=in_view)])
    for k, (x, y) in enumerate(pred.keypoints[0]):
        drawn = tuple(out[int(round(y)), int(round(x))]) == LSP.color_of(k)
        assert drawn == bool(in_view[0, k]), k
    lowest_shown = pred.keypoints[0, 6, 1]
    assert not out[int(lowest_shown) + 8 :].any()  # nothing below the lowest keypoint in view
    assert out[: int(lowest_shown)].any()


def test_draw_keypoints_leaves_a_read_only_mask_alone():
    """A keypoint too far out to draw is dropped from a copy of the mask, never from the caller's."""
    keypoints = spread_keypoints()
    keypoints[3] = [5e7, 10.0]  # beyond OpenCV's fixed-point range: not drawn
    mask = np.ones(K, bool)
    mask.setflags(write=False)  # as the masks of the loaders' records
    out = draw_keypoints(np.zeros((120, 200, 3), np.uint8), keypoints, mask, MPII, radius=3)
    assert mask.all()
    assert tuple(out[int(round(keypoints[0, 1])), int(round(keypoints[0, 0]))]) == MPII.color_of(0)
