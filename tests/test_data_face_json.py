"""COCO-style face landmark JSON: the shared 300-W sample, the landmark crop rule, flags, bad input."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

from hourglass.data.face_json import load_face_coco_json
from hourglass.data.records import DataError
from hourglass.data.w300 import landmark_center_scale
from hourglass.keypoints import W300, KeypointSpec

RNG = np.random.default_rng(300)
POINTS = np.round(RNG.uniform(20, 180, (68, 2)), 3)  # 1-based file coordinates


def test_shared_face_json(shared_data):
    path = shared_data("samples/300w/test_300w.json")
    raw = json.loads(path.read_text())
    faces = load_face_coco_json(path)
    assert len(faces) == 2 and faces.spec == W300
    for r, ann in zip(faces, raw["annotations"], strict=True):
        kp = np.array(ann["keypoints"], float).reshape(68, 3)
        np.testing.assert_array_equal(r.keypoints, kp[:, :2] - 1.0)  # same 1-based convention as .pts
        np.testing.assert_array_equal(r.center, np.array(ann["center"]) - 1.0)
        assert r.scale == pytest.approx(ann["scale"] * 1.25)
        np.testing.assert_allclose(r.box, np.array(ann["bbox"]) - [1, 1, 0, 0])
        assert r.image.exists() and r.image_id == ann["image_id"] and r.visible.all()
        # How the file's numbers were made (module docstring): all from the keypoints as written.
        lo, hi = kp[:, :2].min(0), kp[:, :2].max(0)
        np.testing.assert_allclose(ann["bbox"], [*((lo + hi) / 2 - 0.6 * (hi - lo)), *(1.2 * (hi - lo))], atol=1e-9)
        lo, hi = np.floor(lo), np.ceil(hi)
        np.testing.assert_array_equal(ann["center"], (lo + hi) / 2)
        assert ann["scale"] == pytest.approx((hi - lo).max() / 200, abs=1e-12)
        # The file's centre/scale agree with the landmark rule (its scale is the un-padded size).
        c, s = landmark_center_scale(r.keypoints)
        np.testing.assert_allclose(c, r.center, atol=0.5)
        assert s == pytest.approx(r.scale, rel=0.005)
    by_rule = load_face_coco_json(path, crop_from="landmarks")
    np.testing.assert_allclose([r.scale for r in by_rule], [landmark_center_scale(r.keypoints)[1] for r in faces])


def face_json(tmp_path, annotations, images=({"id": 1, "file_name": "f.jpg"},), name="faces.json") -> Path:
    (tmp_path / "f.jpg").write_bytes(b"")
    path = tmp_path / name
    path.write_text(json.dumps({"images": list(images), "annotations": annotations}))
    return path


def kp_list(points=POINTS, v=1):
    flags = np.broadcast_to(v, len(points))
    return [float(t) for p, f in zip(points, flags, strict=True) for t in (*p, f)]


def test_json_landmark_rule_and_flags(tmp_path):
    spec = KeypointSpec.from_dict({"name": "tri", "keypoints": ["a", "b", "c"]})
    pts = np.array([[11.0, 21.0], [31.0, 61.0], [5.0, 5.0]])
    path = face_json(tmp_path, [{"image_id": 1, "keypoints": kp_list(pts, v=[2, 1, 0])}])
    (r,) = load_face_coco_json(path, spec=spec, visible_flags=(2,))
    np.testing.assert_array_equal(r.labelled, [True, True, False])
    np.testing.assert_array_equal(r.visible, [True, False, False])
    np.testing.assert_array_equal(r.keypoints[:2], pts[:2] - 1)
    assert np.isnan(r.keypoints[2]).all()
    np.testing.assert_allclose(r.center, [20.0, 40.0])  # unlabelled (5, 5) does not count
    assert r.scale == pytest.approx(40 * 1.25 / 200)
    (r0,) = load_face_coco_json(path, spec=spec, one_based=False)
    np.testing.assert_array_equal(r0.keypoints[:2], pts[:2])
    assert r0.visible[:2].all()


@pytest.mark.parametrize(
    "ann, message",
    [
        ({"image_id": 1, "keypoints": [1.0, 2.0, 1.0] * 67}, "must be a list of 204 numbers, got 201 values"),
        ({"image_id": 7, "keypoints": kp_list()}, "image_id 7 is not among"),
        ({"image_id": 1, "keypoints": kp_list()[:-1] + [3.0]}, "visibility flags must be 0, 1 or 2"),
        ({"image_id": 1, "keypoints": ["x"] + kp_list()[1:]}, "numbers only"),
        ({"image_id": 1, "keypoints": kp_list(), "center": [1, 2]}, "'center' and 'scale' without the other"),
        ({"image_id": 1, "keypoints": kp_list(v=0)}, "no keypoint is labelled"),
    ],
)
def test_json_errors_name_file_and_annotation(tmp_path, ann, message):
    good = {"image_id": 1, "keypoints": kp_list()}
    path = face_json(tmp_path, [good, ann])
    with pytest.raises(DataError, match=message) as err:
        load_face_coco_json(path)
    assert str(err.value).startswith(f"{path}:annotations[1]: ")


def test_json_missing_image_and_skip(tmp_path, caplog):
    images = [{"id": 1, "file_name": "f.jpg"}, {"id": 2, "file_name": "missing.jpg"}]
    path = face_json(
        tmp_path, [{"image_id": 2, "keypoints": kp_list()}, {"image_id": 1, "keypoints": kp_list()}], images
    )
    with pytest.raises(DataError, match=r"annotations\[0\]: image file .*missing\.jpg does not exist"):
        load_face_coco_json(path)
    assert len(load_face_coco_json(path, check_images=False)) == 2
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        assert len(load_face_coco_json(path, on_error="skip")) == 1
    assert any("skipped 1 of 2 annotations" in r.getMessage() for r in caplog.records)


def test_json_not_json(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"images": [\n')
    with pytest.raises(DataError, match=r"broken\.json:2:\d+: invalid JSON"):
        load_face_coco_json(path)
    path.write_text("[]")
    with pytest.raises(DataError, match="'images' and 'annotations'"):
        load_face_coco_json(path)
