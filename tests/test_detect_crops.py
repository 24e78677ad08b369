"""hourglass.detect.crops: detector and user boxes -> crops (center, scale), by hand and on real 300-W faces."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from hourglass import detect
from hourglass.data.io import read_image
from hourglass.detect import HaarFaceDetector, WholeImageDetector
from hourglass.geometry import PIXEL_STD, from_one_based


def test_training_paddings_match_the_loaders():
    from hourglass.data.lsp import load_lsp
    from hourglass.data.w300 import landmark_center_scale

    assert inspect.signature(landmark_center_scale).parameters["padding"].default == detect.FACE_PADDING
    assert inspect.signature(load_lsp).parameters["padding"].default == detect.PERSON_PADDING


def test_face_box_to_center_scale_by_hand():
    box = np.array([[10.0, 20.0, 100.0, 100.0]])
    dx, dy = detect.FACE_OFFSET
    center, scale = detect.face_box_to_center_scale(box)
    np.testing.assert_allclose(center, [[60.0 + 100 * dx, 70.0 + 100 * dy]])
    np.testing.assert_allclose(scale, [100 * detect.FACE_SIZE_RATIO * 1.25 / PIXEL_STD])
    # The Haar box holds forehead and sits above the landmarks' centre; it is larger than their box.
    assert 0.05 < dy < 0.25 and 0.7 < detect.FACE_SIZE_RATIO < 1.0
    with pytest.raises(ValueError, match="positive width and height"):
        detect.face_box_to_center_scale(np.array([[0.0, 0.0, 0.0, 10.0]]))


def test_person_box_to_center_scale_by_hand():
    box = np.array([[0.0, 0.0, 64.0, 128.0]])
    s = np.sqrt(64.0 * 128.0)
    center, scale = detect.person_box_to_center_scale(box, padding=2.0)
    np.testing.assert_allclose(center, [[32.0 + s * detect.PERSON_OFFSET[0], 64.0 + s * detect.PERSON_OFFSET[1]]])
    np.testing.assert_allclose(scale, [detect.PERSON_SIZE_RATIO * s * 2.0 / PIXEL_STD])


def test_whole_image_and_user_boxes():
    image = np.zeros((300, 200, 3), np.uint8)  # W 200, H 300
    det = WholeImageDetector("face")(image)
    np.testing.assert_array_equal(det.boxes, [[-0.5, -0.5, 200.0, 300.0]])
    assert det.kind == "face" and det.scores.tolist() == [1.0]
    center, scale = detect.center_scale(WholeImageDetector("face"), det.boxes)
    np.testing.assert_allclose(center, [[99.5, 149.5]])  # the image centre, ((W - 1) / 2, (H - 1) / 2)
    np.testing.assert_allclose(scale, [300 * 1.25 / 200])
    _, scale = detect.user_box_to_center_scale(det.boxes, "person")
    np.testing.assert_allclose(scale, [300 * 1.6 / 200])
    with pytest.raises(ValueError, match="kind must be one of"):
        detect.user_box_to_center_scale(det.boxes, "cat")


def test_calibrated_face_crops_on_real_300w(shared_data):
    """Calibrated crops land near the training crops of real 300-W faces.

    ``benchmarks/calibrate_detectors.py`` measured on all 1207 300-W train faces: detection
    rate 0.88; calibrated crop centre error a median 0.063, p95 0.154 of the crop side (98.5 %
    under 0.2); predicted / true scale 0.81-1.14 (p5-p95). So: at least 5 of these 8 faces are found, and
    every found face's crop centre is within 0.2 and its scale within [0.75, 1.33] of the truth.
    """
    from hourglass.data.pts import read_pts
    from hourglass.data.w300 import landmark_center_scale

    folder = shared_data("300w/afw")
    images = sorted(folder.glob("*.jpg"))[:8]
    faces = HaarFaceDetector()
    found = 0
    for path in images:
        points = from_one_based(read_pts(path.with_suffix(".pts")))
        true_c, true_s = landmark_center_scale(points)
        lo, hi = points.min(axis=0), points.max(axis=0)
        det = faces(read_image(path))
        centres = det.boxes[:, :2] + det.boxes[:, 2:] / 2  # (N, 2)
        on_face = np.all((centres >= lo) & (centres <= hi), axis=1)
        if not on_face.any():
            continue
        found += 1
        box = det.boxes[np.argmax(on_face)][None]  # best score among those on the face
        center, scale = detect.face_box_to_center_scale(box)
        err = np.linalg.norm(center[0] - true_c) / (PIXEL_STD * true_s)
        assert err < 0.2, f"{path.name}: crop centre off by {err:.3f} of the crop side"
        assert 0.75 < scale[0] / true_s < 1.33, f"{path.name}: scale ratio {scale[0] / true_s:.3f}"
    assert found >= 5, f"found {found} of {len(images)} faces; calibration measured a 0.88 detection rate"
