"""COCO keypoints: loader conventions, bad input, OKS against pycocotools' COCOeval."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from hourglass.data.coco import coco_box_to_box, load_coco
from hourglass.data.coco_eval import coco_results
from hourglass.data.records import DataError
from hourglass.keypoints import COCO

SAMPLE = "samples/coco/test_coco.json"


def _person(ann_id=1, image_id=1, kp=None, bbox=(10.0, 20.0, 10.0, 40.0), **extra):
    if kp is None:
        kp = [0, 0, 0] * 17
        kp[0:3] = [14, 25, 2]  # nose
        kp[15:18] = [12, 30, 1]  # l_shoulder, labelled but not visible
    return {"id": ann_id, "image_id": image_id, "category_id": 1, "keypoints": kp, "bbox": list(bbox),
            "area": 250.0, "iscrowd": 0, **extra}  # fmt: skip


def _write(tmp_path: Path, anns, images=None, categories=None, touch=True) -> Path:
    images = images if images is not None else [{"id": 1, "file_name": "a.jpg", "width": 64, "height": 80}]
    categories = categories if categories is not None else [{"id": 1, "name": "person"}]
    if touch:
        for img in images:
            (tmp_path / img["file_name"]).write_bytes(b"")
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": categories}))
    return path


# --- the real sample ----------------------------------------------------------------------------


def test_sample_loads_with_coco_conventions(shared_data):
    path = shared_data(SAMPLE)
    raw = {a["id"]: a for a in json.loads(path.read_text())["annotations"]}
    data = load_coco(path, path.parent)
    assert len(data) == 12 and data.spec is COCO  # 14 people, 2 of them without keypoints
    assert len(load_coco(path, path.parent, min_keypoints=0)) == 14
    assert len(load_coco(path, path.parent, min_keypoints=17)) == 2
    r = next(r for r in data if r.extra["annotation_id"] == 198196)
    kp = np.asarray(raw[198196]["keypoints"], dtype=float).reshape(17, 3)
    np.testing.assert_array_equal(r.labelled, kp[:, 2] > 0)
    np.testing.assert_array_equal(r.visible, kp[:, 2] == 2)
    np.testing.assert_array_equal(r.keypoints[r.labelled], kp[kp[:, 2] > 0, :2])  # keypoints unchanged
    assert np.all(np.isnan(r.keypoints[~r.labelled]))
    assert r.visible[0] and not r.labelled[3] and r.labelled[11] and not r.visible[11]  # v = 2, 0, 1
    x, y, w, h = raw[198196]["bbox"]
    np.testing.assert_allclose(r.box, [x - 0.5, y - 0.5, w, h])
    np.testing.assert_allclose(r.center, [x - 0.5 + w / 2, y - 0.5 + h / 2])
    assert r.scale == pytest.approx(max(w, h) * 1.25 / 200)
    assert r.area == raw[198196]["area"] and r.image_id == 40083
    assert r.image == path.parent / "000000040083.jpg" and r.image.is_file()
    assert r.extra["image_size"] == (500, 333)
    assert "198196" in r.source and path.name in r.source


def test_sample_image_matches_declared_size(shared_data):
    from hourglass.data.io import read_image

    path = shared_data(SAMPLE)
    r = load_coco(path, path.parent)[0]
    h, w = read_image(r.image, reduce=8).shape[:2]
    assert (w, h) == tuple(-(-s // 8) for s in r.extra["image_size"])


# --- conventions worked by hand -------------------------------------------------------------------


def test_box_shift_by_hand(tmp_path):
    # COCO box [10, 20, 10, 40] covers pixels 10..19 x 20..59 (pixel i is [i, i+1] in COCO).
    # In this library those pixels' centres are 10..19, so the box edge is 9.5 and the centre 14.5.
    np.testing.assert_allclose(coco_box_to_box([10, 20, 10, 40]), [9.5, 19.5, 10, 40])
    r = load_coco(_write(tmp_path, [_person()]), tmp_path, aspect_ratio=0.75, padding=1.0)[0]
    np.testing.assert_allclose(r.center, [np.mean(np.arange(10, 20)), np.mean(np.arange(20, 60))])
    assert r.scale == pytest.approx(40 / 200)  # height 40 already fits W/H = 0.75 (width 30 >= 10)
    np.testing.assert_array_equal(r.keypoints[0], [14, 25])  # keypoints unchanged
    assert r.labelled.sum() == 2 and r.visible.sum() == 1


def test_crowd_and_other_categories(tmp_path):
    ball = {"id": 4, "image_id": 1, "category_id": 3, "bbox": [1.0, 2.0, 3.0, 4.0]}  # no keypoints: not a person
    anns = [_person(1), _person(2, iscrowd=1), dict(_person(3), category_id=2), ball]
    cats = [{"id": 1, "name": "person"}, {"id": 2, "name": "dog"}, {"id": 3, "name": "sports ball"}]
    path = _write(tmp_path, anns, categories=cats)
    assert [r.extra["annotation_id"] for r in load_coco(path, tmp_path)] == [1]
    crowd = load_coco(path, tmp_path, include_crowd=True)
    assert [r.extra["iscrowd"] for r in crowd] == [False, True]


# --- bad input ------------------------------------------------------------------------------------


def test_missing_file_and_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        load_coco(tmp_path / "nope.json", tmp_path)
    with pytest.raises(FileNotFoundError, match="image root"):
        load_coco(_write(tmp_path, [_person()]), tmp_path / "images")


def test_invalid_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n  "images": [],\n  "annotations": [,]\n}')
    with pytest.raises(DataError, match=r"bad\.json:3:19: invalid JSON"):
        load_coco(path, tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a.pop("bbox"), r"annotations\[0\] \(id 7\): a person annotation is missing the key\(s\) \['bbox'\]"),
        (lambda a: a["keypoints"].pop(), r"annotations\[0\] \(id 7\): keypoints .* has 50 values, expected 51"),
        (lambda a: a["keypoints"].__setitem__(0, float("nan")), r"id 7\): keypoint 0 \('nose'\) is labelled"),
        (lambda a: a["keypoints"].__setitem__(1, None), r"id 7\): keypoint 0 \('nose'\) is labelled"),
        (lambda a: a["keypoints"].__setitem__(5, 3), r"id 7\): keypoint 1 \('l_eye'\) has visibility 3\.0"),
        (lambda a: a["keypoints"].__setitem__(3, "x"), r"id 7\): keypoints .* not a number"),
        (lambda a: a.__setitem__("image_id", 99), r"id 7\): image_id 99 is not in the file's 'images'"),
        (lambda a: a.__setitem__("image_id", [1]), r"id 7\): image_id must be an integer or a string, got \[1\]"),
        (lambda a: a.__setitem__("bbox", [1, 2, 0, 5]), r"id 7\): bbox .* positive width and height"),
        (lambda a: a.__setitem__("area", -1), r"id 7\): area must be a non-negative number"),
    ],
)
def test_bad_annotation_names_file_and_id(tmp_path, change, message):
    ann = _person(7)
    change(ann)
    path = _write(tmp_path, [ann])
    with pytest.raises(DataError, match=message) as info:
        load_coco(path, tmp_path)
    assert str(path) in str(info.value) and "on_error='skip'" in str(info.value)


def test_nan_literal_in_json(tmp_path):
    path = _write(tmp_path, [_person(7)])
    path.write_text(path.read_text().replace('"keypoints": [14', '"keypoints": [NaN'))
    with pytest.raises(DataError, match=r"\(id 7\): keypoint 0 \('nose'\) is labelled .*\(NaN or null, 25\.0\)"):
        load_coco(path, tmp_path)


@pytest.mark.parametrize(
    "images, anns, categories, message",
    [
        ([{"id": 1, "file_name": "a.jpg"}] * 2, [], None, r"images\[1\]: duplicate image id 1"),
        ([{"file_name": "a.jpg"}], [], None, r"images\[0\]: missing the key 'id'"),
        (None, [_person(1), _person(1)], None, r"annotations\[1\] \(id 1\): duplicate annotation id"),
        (None, [], [{"id": 1, "name": "dog"}], "no category named 'person'"),
        (None, [], [{"id": 1, "name": "person", "keypoints": ["a"] * 17}], "not COCO's 17"),
    ],
)
def test_bad_file_structure(tmp_path, images, anns, categories, message):
    with pytest.raises(DataError, match=message):
        load_coco(_write(tmp_path, anns, images, categories), tmp_path)


def test_missing_top_level_key(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text(json.dumps({"images": [], "categories": []}))
    with pytest.raises(DataError, match=r"missing the top-level key 'annotations'"):
        load_coco(path, tmp_path)


def test_skip_logs_and_keeps_the_good(tmp_path, caplog):
    bad = _person(2)
    bad["keypoints"] = bad["keypoints"][:-3]
    images = [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "gone.jpg"}]
    path = _write(tmp_path, [_person(1), bad, _person(3, image_id=2)], images)
    (tmp_path / "gone.jpg").unlink()
    with pytest.raises(DataError, match=r"\(id 2\): keypoints"):
        load_coco(path, tmp_path)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        data = load_coco(path, tmp_path, on_error="skip")
    assert [r.extra["annotation_id"] for r in data] == [1]
    text = caplog.text
    assert "(id 2): keypoints" in text and "gone.jpg does not exist" in text and "skipped 2 of 3" in text
    assert len(load_coco(path, tmp_path, on_error="skip", check_images=False)) == 2
    with pytest.raises(ValueError, match="on_error"):
        load_coco(path, tmp_path, on_error="ignore")


# --- OKS against COCOeval ------------------------------------------------------------------------


def _gt_predictions(data, noise=0.0, seed=0):
    kp = np.nan_to_num(data.keypoints())  # unlabelled keypoints are not scored
    kp = kp + np.random.default_rng(seed).normal(0.0, noise, kp.shape) if noise else kp
    n = len(data)
    return [r.image_id for r in data], kp, np.ones((n, 17)), np.ones(n)


def test_oks_matches_cocoeval(shared_data):
    metrics = pytest.importorskip("hourglass.metrics", reason="hourglass.metrics is not written yet")
    if not hasattr(metrics, "oks"):
        pytest.skip("hourglass.metrics.oks is not written yet")
    from pycocotools.coco import COCO as CocoApi
    from pycocotools.cocoeval import COCOeval

    path = shared_data(SAMPLE)
    data = load_coco(path, path.parent)
    ids, kp, scores, _ = _gt_predictions(data, noise=4.0, seed=1)
    inst = np.linspace(1.0, 0.5, len(data))  # distinct scores: COCOeval sorts detections by them
    with contextlib.redirect_stdout(io.StringIO()):
        gt = CocoApi(str(path))
        ev = COCOeval(gt, gt.loadRes(coco_results(ids, kp, scores, inst)), iouType="keypoints")
        ev.evaluate()
    sigmas = np.asarray(COCO.oks_sigmas)
    checked = 0
    for image_id in sorted(set(ids)):
        gts = ev._gts[image_id, 1]  # pycocotools' ground truths of the image, in its order
        preds = [i for i in range(len(data)) if ids[i] == image_id]  # already in descending score order
        ious = np.asarray(ev.ious[image_id, 1])  # (detections, ground truths)
        for j, g in enumerate(gts):
            flat = np.asarray(g["keypoints"], dtype=float).reshape(17, 3)
            if g["num_keypoints"] == 0:
                continue  # OKS against the box: COCOeval's own case, not a keypoint OKS
            n = len(preds)
            ours = metrics.oks(
                kp[preds], np.broadcast_to(flat[:, :2], (n, 17, 2)), np.broadcast_to(flat[:, 2] > 0, (n, 17)),
                np.full(n, g["area"]), sigmas,
            )  # fmt: skip
            np.testing.assert_allclose(ours, ious[:, j], rtol=1e-12, atol=1e-15)
            checked += n
    assert checked >= 12


def test_image_size_and_exif_orientation_are_checked_against_the_entry(tmp_path):
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned by 90 degrees: upright it is 30 wide, 40 high
    Image.new("RGB", (40, 30)).save(tmp_path / "phone.jpg", exif=exif)
    Image.new("RGB", (40, 30)).save(tmp_path / "other.jpg")
    for name, declared, message in [
        ("phone.jpg", (30, 40), r"phone\.jpg is stored 40x30 with EXIF orientation 6 .* says 30x40: it was annotated "
         r"upright, but images are read as stored; rotate .*exiftran -ai"),
        ("other.jpg", (64, 80), r"other\.jpg is 40x30 but its entry says 64x80"),
    ]:  # fmt: skip
        images = [{"id": 1, "file_name": name, "width": declared[0], "height": declared[1]}]
        path = _write(tmp_path, [_person()], images=images, touch=False)
        with pytest.raises(DataError, match=message):
            load_coco(path, tmp_path)
    images = [{"id": 1, "file_name": "phone.jpg", "width": 40, "height": 30}]  # annotated as stored: fine
    assert len(load_coco(_write(tmp_path, [_person()], images=images, touch=False), tmp_path)) == 1
