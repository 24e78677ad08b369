"""Normalisers of the evaluation metrics (hourglass.metrics.normalizers): hand-worked cases and errors."""

import numpy as np
import pytest
from conftest import frozen

from hourglass.keypoints import MPII, W300
from hourglass.metrics import (
    bbox_size,
    head_size,
    interocular,
    interpupil,
    keypoint_errors,
    torso_size,
)


def test_keypoint_errors_hand_worked():
    pred, gt = frozen([[[0.0, 0.0], [3.0, 4.0], [-1.0, 1.0]]], np.zeros((1, 3, 2)))
    np.testing.assert_allclose(keypoint_errors(pred, gt), [[0.0, 5.0, np.sqrt(2.0)]])


def test_bbox_size_modes_and_mask():
    # Points (0,0), (4,1), (2,3): w = 4, h = 3 -> max side 4, sqrt(w h) = sqrt(12), diagonal 5.
    # Without (4,1) the box is (0,0)-(2,3): max side 3. No labelled point: NaN.
    pts = np.array([[[0.0, 0.0], [4.0, 1.0], [2.0, 3.0]]] * 3)
    mask = np.array([[True, True, True], [True, False, True], [False, False, False]])
    pts[1, 1] = np.nan  # unlabelled coordinates are ignored
    pts, mask = frozen(pts, mask)
    np.testing.assert_allclose(bbox_size(pts, mask), [4.0, 3.0, np.nan])
    np.testing.assert_allclose(bbox_size(pts, mask, mode="sqrt_area"), [np.sqrt(12.0), np.sqrt(6.0), np.nan])
    np.testing.assert_allclose(bbox_size(pts, mask, mode="diagonal"), [5.0, np.sqrt(13.0), np.nan])
    np.testing.assert_allclose(bbox_size(pts[:1]), [4.0])  # mask=None: all labelled
    with pytest.raises(ValueError, match="mode"):
        bbox_size(pts, mask, mode="area")


def test_torso_size_nan_when_a_point_is_missing():
    # MPII torso = l_shoulder (13) to r_hip (2): (10,10) to (13,14) -> 5.
    gt = np.zeros((2, 16, 2))
    gt[:, 13] = [10.0, 10.0]
    gt[:, 2] = [13.0, 14.0]
    mask = np.ones((2, 16), bool)
    mask[1, 2] = False
    np.testing.assert_allclose(torso_size(gt, mask, MPII), [5.0, np.nan])
    with pytest.raises(ValueError, match="torso"):
        torso_size(np.zeros((1, 68, 2)), None, W300)
    with pytest.raises(ValueError, match="14 keypoints but spec 'mpii' has 16"):
        torso_size(np.zeros((1, 14, 2)), None, MPII)


def test_head_size_mpii_rule():
    # Corners (0,0) and (30,40): diagonal 50, head size 0.6 * 50 = 30; factor 1 -> 50.
    boxes = np.array([[[0.0, 0.0], [30.0, 40.0]], [[5.0, 5.0], [2.0, 1.0]]])  # second: corners reversed
    np.testing.assert_allclose(head_size(boxes), [30.0, 3.0])
    np.testing.assert_allclose(head_size(boxes, factor=1.0), [50.0, 5.0])
    with pytest.raises(ValueError, match=r"\(N, 2, 2\)"):
        head_size(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="factor"):
        head_size(boxes, factor=0.0)


def test_face_normalisers_hand_worked():
    gt = np.zeros((1, 68, 2))
    # Right eye 36-41: centroid x (0+20+10+10+5+15)/6 = 10, y (0+40+10+30+20+20)/6 = 20.
    gt[0, 36:42] = [[0, 0], [20, 40], [10, 10], [10, 30], [5, 20], [15, 20]]
    # Left eye 42-47: centroid x (20+40+40+60+40+40)/6 = 40, y (40+60+60+80+60+60)/6 = 60.
    gt[0, 42:48] = [[20, 40], [40, 60], [40, 60], [60, 80], [40, 60], [40, 60]]
    # Outer corners 36 = (0, 0), 45 = (60, 80): inter-ocular 100; pupils (10,20)-(40,60): 50.
    (gt,) = frozen(gt)
    np.testing.assert_allclose(interocular(gt, W300), [100.0])
    np.testing.assert_allclose(interpupil(gt, W300), [50.0])
    mask = np.ones((1, 68), bool)
    mask[0, 40] = False
    assert np.isnan(interpupil(gt, W300, mask)[0])
    assert interocular(gt, W300, mask)[0] == 100.0
    with pytest.raises(ValueError, match="interocular"):
        interocular(np.zeros((1, 16, 2)), MPII)
