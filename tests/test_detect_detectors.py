"""hourglass.detect.detectors: the bundled Haar face and HOG people detectors on real images, scaling, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hourglass import detect
from hourglass.data.io import read_image
from hourglass.detect import HaarFaceDetector, HogPeopleDetector
from hourglass.detect.detectors import _rects_to_boxes, _working_copy
from hourglass.geometry import PIXEL_STD


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


def test_get_detector():
    assert isinstance(detect.get_detector("face", min_neighbors=3), HaarFaceDetector)
    assert isinstance(detect.get_detector("person"), HogPeopleDetector)
    assert detect.get_detector("whole-person").kind == "person"
    with pytest.raises(ValueError, match="unknown detector 'car'; choose one of face, face-profile, person, person-"):
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


def test_profile_faces_either_way():
    """The profile cascade knows one side; the detector also looks at the mirror and maps back."""
    from conftest import data_root

    path = data_root() / "300w-original" / "test" / "ibug" / "image_003_1.jpg"
    if not path.is_file():
        pytest.skip(f"real data {path} is not present")
    image = read_image(path, orient=True)  # a face turned to its left, under a hat: Haar's frontal cascade misses it
    assert len(HaarFaceDetector()(image).boxes) == 0
    found = detect.get_detector("face-profile")(image)
    assert len(found.boxes) == 1
    x, y, w, h = found.boxes[0]
    assert 250 < x < 300 and 80 < y < 130 and 250 < w < 350  # around the face (landmarks x 300-520, y 170-420)
    mirrored = detect.get_detector("face-profile")(np.ascontiguousarray(image[:, ::-1]))
    np.testing.assert_allclose(mirrored.boxes[0, 0], image.shape[1] - 1 - (x + w), atol=6)  # the same face, mirrored


def test_people_from_their_faces(portrait):
    """FacePeopleDetector: the Haar faces (best first, at most max_faces) as person detections,
    framed below the face by the calibrated constants."""
    faces = HaarFaceDetector(min_size_fraction=0.03)(portrait)
    people = detect.get_detector("person-face")(portrait)
    assert people.kind == "person" and len(people.boxes) == len(faces.boxes) >= 1
    order = np.argsort(-faces.scores, kind="stable")
    np.testing.assert_array_equal(people.boxes, faces.boxes[order])
    assert len(detect.FacePeopleDetector(max_faces=1)(portrait).boxes) == 1
    center, scale = detect.center_scale(detect.FacePeopleDetector(), people.boxes)
    s = np.sqrt(people.boxes[:, 2] * people.boxes[:, 3])
    np.testing.assert_allclose(center[:, 1] - _centre(people.boxes)[:, 1], detect.FACE_PERSON_OFFSET[1] * s)
    np.testing.assert_allclose(scale, detect.FACE_PERSON_SIZE_RATIO * s * detect.PERSON_PADDING / 200)
    assert center[0, 1] > _centre(people.boxes)[0, 1]  # the body is below the face
    with pytest.raises(ValueError, match="max_faces"):
        detect.FacePeopleDetector(max_faces=0)
