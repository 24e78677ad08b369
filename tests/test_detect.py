"""Tests for hourglass.detect: bundled detectors, detector and user box -> crop conversions, plugged-in detectors."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

from hourglass import detect
from hourglass.data.io import read_image
from hourglass.detect import Detections, HaarFaceDetector, HogPeopleDetector, WholeImageDetector
from hourglass.detect.detectors import _rects_to_boxes, _working_copy
from hourglass.geometry import PIXEL_STD, from_one_based


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    """matplotlib's sample portrait (Grace Hopper), 512 x 600 (W x H) RGB."""
    cbook = pytest.importorskip("matplotlib.cbook")
    path = Path(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    assert path.is_file(), f"matplotlib sample image {path} is missing"
    image = read_image(path)
    assert image.shape == (600, 512, 3)
    return image


@pytest.fixture(scope="module")
def faces() -> HaarFaceDetector:
    return HaarFaceDetector()


def _centre(boxes: np.ndarray) -> np.ndarray:
    return boxes[:, :2] + boxes[:, 2:] / 2


# ----------------------------------------------------------------------------- box -> crop


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


def test_plugged_in_detector_uses_its_own_or_the_user_box_conversion():
    class Mine:
        kind = "person"

        def __call__(self, image):
            return Detections(np.array([[0.0, 0.0, 10.0, 20.0]]), np.ones(1), self.kind)

    mine = Mine()
    assert isinstance(mine, detect.Detector)
    boxes = mine(np.zeros((5, 5, 3), np.uint8)).boxes
    for got, want in zip(detect.center_scale(mine, boxes), detect.user_box_to_center_scale(boxes, "person")):
        np.testing.assert_allclose(got, want)
    mine.center_scale = lambda b: (np.zeros((len(b), 2)), np.ones(len(b)))
    np.testing.assert_array_equal(detect.center_scale(mine, boxes)[1], [1.0])
    assert isinstance(HaarFaceDetector(), detect.Detector)


def test_get_detector():
    assert isinstance(detect.get_detector("face", min_neighbors=3), HaarFaceDetector)
    assert isinstance(detect.get_detector("person"), HogPeopleDetector)
    assert detect.get_detector("whole-person").kind == "person"
    with pytest.raises(ValueError, match="unknown detector 'car'; choose one of face, person, whole-face"):
        detect.get_detector("car")
    with pytest.raises(ValueError, match="takes no options"):
        detect.get_detector("whole-face", max_side=10)


# ----------------------------------------------------------------------------- Haar faces


def test_haar_finds_the_face_in_the_sample_portrait(portrait, faces):
    det = faces(portrait)
    assert det.kind == "face" and det.boxes.shape == (1, 4) and det.scores.shape == (1,)
    assert det.boxes.dtype == np.float64 and det.scores[0] > 1.0
    (w, h), (cx, cy) = det.boxes[0, 2:], _centre(det.boxes)[0]
    assert w == h and 150 < w < 300  # her face is about 200 px wide
    assert 220 < cx < 310 and 170 < cy < 260  # between the eyes, above the mouth


def test_haar_big_image_goes_through_the_downscale_path(portrait, faces):
    # A 750 x 500 canvas with the portrait (reduced to 384 x 450) in it, blown up 8x by pixel
    # repetition to 6000 x 4000. With max_side=750 the detector's INTER_AREA working copy is
    # exactly the canvas, so the boxes must be the canvas boxes mapped to full resolution
    # exactly: corner (x0 + 0.5) * 8 - 0.5, size * 8.
    import cv2

    canvas = np.full((500, 750, 3), 127, np.uint8)
    canvas[25:475, 300:684] = cv2.resize(portrait, (384, 450), interpolation=cv2.INTER_AREA)
    big = np.repeat(np.repeat(canvas, 8, axis=0), 8, axis=1)
    assert big.shape == (4000, 6000, 3)
    small_det = HaarFaceDetector(max_side=750)(canvas)
    assert len(small_det.boxes) == 1
    big_det = HaarFaceDetector(max_side=750)(big)
    expected = np.concatenate([(small_det.boxes[:, :2] + 0.5) * 8 - 0.5, small_det.boxes[:, 2:] * 8], axis=1)
    np.testing.assert_allclose(big_det.boxes, expected, atol=1e-9)
    np.testing.assert_array_equal(big_det.scores, small_det.scores)
    # The default max_side (1024) works at another scale: the same face within the pyramid's step.
    det = faces(big)
    assert len(det.boxes) == 1
    size = expected[0, 2]
    assert np.linalg.norm(_centre(det.boxes)[0] - _centre(expected)[0]) < 0.1 * size
    assert 0.85 < det.boxes[0, 2] / size < 1.18


@pytest.mark.parametrize("kind", ["blank", "noise"])
def test_no_detections_on_blank_or_noise(kind, faces):
    rng = np.random.default_rng(0)
    image = np.full((480, 640, 3), 128, np.uint8) if kind == "blank" else rng.integers(0, 256, (480, 640, 3), np.uint8)
    for detector in (faces, HogPeopleDetector()):
        det = detector(image)
        assert det.boxes.shape == (0, 4) and det.scores.shape == (0,) and det.kind == detector.kind


def test_calibrated_face_crops_on_real_300w(shared_data, faces):
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
    found = 0
    for path in images:
        points = from_one_based(read_pts(path.with_suffix(".pts")))
        true_c, true_s = landmark_center_scale(points)
        lo, hi = points.min(axis=0), points.max(axis=0)
        det = faces(read_image(path))
        centres = _centre(det.boxes)
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


def test_haar_errors(monkeypatch, tmp_path):
    import cv2

    with pytest.raises(FileNotFoundError, match=r"nope\.xml does not exist.*opencv-python-headless>=4\.8,<5"):
        HaarFaceDetector(cascade="nope.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<opencv_storage></opencv_storage>")
    with pytest.raises(ValueError, match=r"bad\.xml: OpenCV could not load it as a Haar cascade"):
        HaarFaceDetector(cascade=bad)
    with pytest.raises(ValueError, match="min_neighbors must be an integer >= 0"):
        HaarFaceDetector(min_neighbors=-1)
    with pytest.raises(ValueError, match=r"image must be uint8 RGB \(H, W, 3\)"):
        HaarFaceDetector()(np.zeros((10, 10, 3), np.float32))
    monkeypatch.delattr(cv2, "data")
    with pytest.raises(ImportError, match=r"cv2\.data\.haarcascades is missing.*opencv-python-headless>=4\.8,<5"):
        HaarFaceDetector()


# ----------------------------------------------------------------------------- HOG people


def test_hog_finds_the_person_in_a_real_lspet_image(shared_data):
    """LSPET im00124 (a runner, 137 x 205 px: upscaled and bordered before detection).

    Calibration on 1000 LSPET people measured a crop-centre error median 0.11, p95 0.29 of
    the crop side; this clear, upright runner must be well inside that.
    """
    from hourglass.data.lsp import load_lsp

    root = shared_data("lspet")
    record = load_lsp(root, check_images=False)[123]
    assert record.image.name == "im00124.jpg"
    det = HogPeopleDetector()(read_image(record.image))
    assert det.kind == "person" and len(det.boxes) >= 1 and det.scores[0] > 1.0
    box = det.boxes[:1]
    lo, hi = record.box[:2], record.box[:2] + record.box[2:]
    assert np.all((_centre(box)[0] >= lo) & (_centre(box)[0] <= hi))
    center, scale = detect.person_box_to_center_scale(box)
    assert np.linalg.norm(center[0] - record.center) / (PIXEL_STD * record.scale) < 0.15
    assert 0.8 < scale[0] / record.scale < 1.25


def test_hog_maps_upscaled_boxes_back():
    # Small images are upscaled (min_side) and bordered; a box's centre maps back through both.
    d = HogPeopleDetector(border=0.0)
    work, sx, sy = _working_copy(np.zeros((80, 40), np.uint8), d.max_side, d.min_side)
    assert work.shape == (320, 160) and sx == sy == 0.25
    boxes = _rects_to_boxes(np.array([[8, 4, 64, 128]]), sx, sy, shift=(4, 0))
    # rect corner (8, 4) minus the border (4, 0) -> working (4, 4) - 0.5 -> full (4 * 0.25 - 0.5, ...)
    np.testing.assert_allclose(boxes, [[0.5, 0.5, 16.0, 32.0]])
