"""The pixel convention and the affine crop geometry (hourglass.geometry)."""

import cv2
import numpy as np
import pytest
import torch

from hourglass.geometry import (
    box_to_center_scale,
    compose_affine,
    crop_matrix,
    from_normalized,
    from_one_based,
    invert_affine,
    to_normalized,
    to_one_based,
    transform_points,
    warp_image,
)


def gaussian_blob(size, center, sigma):
    """(H, W) float64 image of a Gaussian centred at continuous (x, y) under our convention."""
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w]
    return np.exp(-((xs - center[0]) ** 2 + (ys - center[1]) ** 2) / (2 * sigma**2))


def centroid(img):
    ys, xs = np.mgrid[0 : img.shape[0], 0 : img.shape[1]]
    return np.array([(xs * img).sum(), (ys * img).sum()]) / img.sum()


def test_hand_worked_crop():
    # Scale 1 covers 200 px in a 200-px output: f = 1, so x' = x - 100 + 99.5.
    m = crop_matrix([100.0, 50.0], 1.0, (200, 200))
    np.testing.assert_allclose(m, [[1, 0, -0.5], [0, 1, 49.5]])
    # The crop's outer edges (-0.5 and 199.5) are 100 px either side of the centre.
    pts = transform_points(np.array([[0.0, -50.0], [200.0, 150.0]]), m)
    np.testing.assert_allclose(pts, [[-0.5, -0.5], [199.5, 199.5]])
    # Half the scale doubles the magnification; the centre still lands on the output centre.
    m2 = crop_matrix([10.0, 20.0], 0.5, (64, 48))
    np.testing.assert_allclose(transform_points(np.array([[10.0, 20.0]]), m2), [[31.5, 23.5]])
    np.testing.assert_allclose(m2[:, :2], np.eye(2) * 64 / 100)


def test_rotation_matches_opencv_direction():
    # Same linear part as cv2.getRotationMatrix2D: positive angles turn content counter-clockwise.
    m = crop_matrix([100.0, 50.0], 1.0, (64, 48), rotation=30.0)
    r = cv2.getRotationMatrix2D((100.0, 50.0), 30.0, 64 / 200)
    np.testing.assert_allclose(m[:, :2], r[:, :2], atol=1e-12)
    # A point to the right of the centre moves up (smaller y) on screen.
    p = transform_points(np.array([[150.0, 50.0]]), m)
    assert p[0, 1] < 23.5


def test_integer_dot_lands_on_exact_pixel():
    img = np.zeros((100, 120), np.float32)
    img[37, 81] = 1.0  # pixel (x=81, y=37)
    # f = 1 and an integer translation: the dot must land on exactly one output pixel.
    m = crop_matrix([60.5, 50.5], 0.64, (128, 128))  # 128-px output centre is 63.5
    out = warp_image(img, m, (128, 128))
    (x, y) = transform_points(np.array([[81.0, 37.0]]), m)[0]
    assert x == int(x) and y == int(y)
    assert out[int(y), int(x)] == pytest.approx(1.0)
    assert out.sum() == pytest.approx(1.0)


@pytest.mark.parametrize("rotation,flip", [(0.0, False), (27.0, False), (-41.0, True), (90.0, True)])
def test_warp_affine_sampling_matches_convention(rotation, flip):
    """A sub-pixel blob warped by cv2 lands where transform_points says, to 0.02 px."""
    point = np.array([173.37, 91.81])
    img = gaussian_blob((300, 200), point, 4.0)
    size = (96, 128)  # non-square output (W, H)
    m = crop_matrix([160.0, 100.0], 0.9, size, rotation=rotation, flip=flip)
    out = warp_image(img, m, size)
    expected = transform_points(point[None], m)[0]
    np.testing.assert_allclose(centroid(out), expected, atol=0.02)


def test_input_and_heatmap_are_two_samplings_of_one_crop():
    c, s, r = np.array([210.0, 140.0]), 1.3, 17.0
    pts = np.random.default_rng(0).uniform(100, 300, (10, 2))
    inp = transform_points(pts, crop_matrix(c, s, (256, 256), r))
    hm = transform_points(pts, crop_matrix(c, s, (64, 64), r))
    np.testing.assert_allclose(hm, (inp + 0.5) * 64 / 256 - 0.5, atol=1e-10)


def test_flip_mirrors_about_the_output_centre():
    pts = np.random.default_rng(1).uniform(0, 100, (5, 2))
    a = transform_points(pts, crop_matrix([50.0, 40.0], 0.5, (48, 64), 10.0))
    b = transform_points(pts, crop_matrix([50.0, 40.0], 0.5, (48, 64), 10.0, flip=True))
    np.testing.assert_allclose(b[:, 0], 47 - a[:, 0])
    np.testing.assert_allclose(b[:, 1], a[:, 1])


def test_batched_inverse_and_compose():
    rng = np.random.default_rng(2)
    centers = rng.uniform(0, 500, (4, 3, 2))
    m = crop_matrix(centers, rng.uniform(0.5, 2, (4, 3)), (64, 48), rng.uniform(-30, 30, (4, 3)))
    assert m.shape == (4, 3, 2, 3)
    ident = compose_affine(invert_affine(m), m)
    np.testing.assert_allclose(ident, np.broadcast_to([[1, 0, 0], [0, 1, 0]], ident.shape), atol=1e-12)
    pts = rng.uniform(0, 500, (4, 3, 7, 2))
    back = transform_points(transform_points(pts, m), invert_affine(m))
    np.testing.assert_allclose(back, pts, atol=1e-9)
    # One centre per sample broadcast against a scalar scale.
    assert crop_matrix(centers[0], 1.0, (8, 8)).shape == (3, 2, 3)


def test_transform_points_torch_matches_numpy():
    rng = np.random.default_rng(3)
    m = crop_matrix(rng.uniform(0, 99, (2, 2)), [1.0, 2.0], (64, 64), [5.0, -5.0])
    pts = rng.uniform(0, 99, (2, 5, 2)).astype(np.float32)
    out = transform_points(torch.from_numpy(pts), m)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), transform_points(pts, m), atol=1e-4)
    assert transform_points(pts, m).dtype == np.float32
    assert pts.shape == (2, 5, 2)  # input untouched


def test_normalized_coordinates_edges_and_round_trip():
    size = (48, 64)
    edges = np.array([[-0.5, -0.5], [47.5, 63.5], [23.5, 31.5]])
    np.testing.assert_allclose(to_normalized(edges, size), [[0, 0], [1, 1], [0.5, 0.5]])
    np.testing.assert_allclose(from_normalized(to_normalized(edges, size), size), edges)
    t = torch.tensor([[0.25, 0.75]], dtype=torch.float64)
    np.testing.assert_allclose(from_normalized(t, size).numpy(), [[11.5, 47.5]])


def test_one_based_conversion():
    np.testing.assert_allclose(from_one_based(np.array([[1.0, 1.0]])), [[0.0, 0.0]])
    np.testing.assert_allclose(to_one_based(from_one_based(np.array([[3.5, 7.25]]))), [[3.5, 7.25]])


def test_box_to_center_scale():
    # A 100 x 50 box with corner (10, 20): centre (60, 45); square crop -> larger side 100 * 1.25.
    c, s = box_to_center_scale([10.0, 20.0, 100.0, 50.0])
    np.testing.assert_allclose(c, [60.0, 45.0])
    assert s == pytest.approx(125 / 200)
    # A tall box into a 3:4 crop: height 200 -> width 150, larger side (height) 200.
    c, s = box_to_center_scale([0.0, 0.0, 60.0, 200.0], aspect_ratio=0.75, padding=1.0)
    assert s == pytest.approx(1.0)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(center=[0, 0], scale=0.0, output_size=(64, 64)), "scale must be finite and positive"),
        (dict(center=[0, 0], scale=-1.0, output_size=(64, 64)), "scale must be finite and positive"),
        (dict(center=[0, 0, 0], scale=1.0, output_size=(64, 64)), r"center must have shape"),
        (dict(center=[np.nan, 0], scale=1.0, output_size=(64, 64)), "center must be finite"),
        (dict(center=[0, 0], scale=1.0, output_size=(64, 0)), r"output_size must be a \(W, H\)"),
        (dict(center=[0, 0], scale=1.0, output_size=(64.5, 64)), r"output_size must be a \(W, H\)"),
    ],
)
def test_crop_matrix_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        crop_matrix(**kwargs)


def test_other_errors():
    with pytest.raises(ValueError, match="singular"):
        invert_affine(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"\(\.\.\., K, 2\)"):
        transform_points(np.zeros((3, 3)), np.eye(2, 3))
    with pytest.raises(ValueError, match="positive width and height"):
        box_to_center_scale([0, 0, -1, 5])
    with pytest.raises(ValueError, match="one \\(2, 3\\) matrix"):
        warp_image(np.zeros((4, 4)), np.zeros((2, 2, 3)), (4, 4))
