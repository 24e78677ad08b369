"""The custom dataset format: the worked example, the two spec declarations, conventions, bad input."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from hourglass.data.custom import load_custom
from hourglass.data.io import read_image
from hourglass.data.records import DataError

EXAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "custom_example"
# Colours generate.py draws (RGB): eyes, nose, mouth corners, and the hand hiding a left eye.
EYE, NOSE, MOUTH, HAND = (40, 40, 120), (220, 60, 60), (150, 30, 60), (90, 160, 90)

SPEC = {
    "name": "tri",
    "keypoints": ["l_a", "r_a", "c"],
    "flip_pairs": [["l_a", "r_a"]],
    "skeleton": [["l_a", "c"], [1, 2]],
}


def _doc(**top):
    doc = {
        "keypoint_spec": copy.deepcopy(SPEC),
        "images": [{"id": 1, "file_name": "a.png", "width": 40, "height": 30}],
        "annotations": [
            {"id": 5, "image_id": 1, "keypoints": [10, 12, 2, 20, 12, 1, 15, 20, 2], "bbox": [9.5, 11.5, 11, 9]},
        ],
    }
    doc.update(top)
    return doc


def _write(tmp_path: Path, doc, touch=("a.png",)) -> Path:
    for name in touch:
        (tmp_path / name).write_bytes(b"")
    path = tmp_path / "data.json"
    path.write_text(json.dumps(doc))
    return path


# --- the worked example in datasets/custom_example ------------------------------------------------


def test_worked_example_loads():
    data = load_custom(EXAMPLE / "annotations.json")
    assert len(data) == 3 and data.name == "custom:cartoon_face"
    spec = data.spec
    assert spec.names == ("l_eye", "r_eye", "nose", "l_mouth", "r_mouth")
    assert spec.flip_index == (1, 0, 2, 4, 3) and spec.interocular == (0, 1)
    assert spec.skeleton == ((0, 1), (0, 2), (1, 2), (3, 4))
    first, second, third = data
    np.testing.assert_allclose(first.center, [80, 60])  # centre of the tight box = the head's centre
    assert first.scale == pytest.approx(93 * 1.25 / 200)
    assert not second.labelled[2] and np.all(np.isnan(second.keypoints[2]))  # nose not labelled (null)
    assert third.labelled[0] and not third.visible[0]  # left eye behind the hand
    assert third.box is None and third.scale == 0.5 and tuple(third.center) == (140, 58)
    assert [r.image_id for r in data] == [1, 2, 2] and third.extra["image_size"] == (200, 120)


def test_worked_example_landmarks_sit_on_their_pixels():
    # The landmark coordinates are pixel indices in the example's images: image[y, x].
    expected = [EYE, EYE, NOSE, MOUTH, MOUTH]
    for r in load_custom(EXAMPLE / "annotations.json"):
        image = read_image(r.image)
        for k in np.flatnonzero(r.labelled):
            x, y = r.keypoints[k].astype(int)
            assert np.array_equal(r.keypoints[k], [x, y])
            want = expected[k] if r.visible[k] else HAND
            assert tuple(image[y, x]) == want, (r.source, r.spec.names[k])


def test_worked_example_box_is_tight():
    # The first face's box is tight around the drawn head: pixels x0..x1 give [x0 - 0.5, ..., x1 - x0 + 1].
    r = load_custom(EXAMPLE / "annotations.json")[0]
    image = read_image(r.image)
    ys, xs = np.nonzero(np.any(image != image[0, 0], axis=-1))  # everything but the background
    np.testing.assert_array_equal(r.box, [xs.min() - 0.5, ys.min() - 0.5, np.ptp(xs) + 1, np.ptp(ys) + 1])


def test_worked_example_is_small():
    files = sorted(p.name for p in EXAMPLE.iterdir())
    assert files == ["annotations.json", "face_01.png", "face_02.png", "generate.py"]
    assert all((EXAMPLE / f).stat().st_size < 30_000 for f in files)


# --- declarations and conventions ---------------------------------------------------------------


def test_keypoint_spec_block(tmp_path):
    data = load_custom(_write(tmp_path, _doc()))
    r = data[0]
    assert data.spec.flip_index == (1, 0, 2) and data.spec.skeleton == ((0, 2), (1, 2))
    np.testing.assert_array_equal(r.keypoints, [[10, 12], [20, 12], [15, 20]])
    assert r.visible.tolist() == [True, False, True] and r.labelled.all()
    np.testing.assert_allclose(r.center, [15, 16])  # pixels 10..20 x 12..20 around the centre
    assert r.scale == pytest.approx(11 * 1.25 / 200)
    assert r.image == tmp_path / "a.png" and r.source.endswith("annotations[0] (id 5)")


def test_coco_category_declaration(tmp_path):
    cat = {"id": 1, "name": "tri", "keypoints": SPEC["keypoints"], "skeleton": [[1, 3], [2, 3]],
           "flip_pairs": [["l_a", "r_a"]]}  # fmt: skip
    doc = _doc(categories=[cat])
    del doc["keypoint_spec"]
    spec = load_custom(_write(tmp_path, doc)).spec
    assert spec.skeleton == ((0, 2), (1, 2)) and spec.flip_index == (1, 0, 2)  # COCO skeleton is 1-based
    named = dict(cat, interocular=["l_a", "r_a"], groups={"Sides": ["l_a", "r_a"]})
    spec = load_custom(_write(tmp_path, dict(doc, categories=[named]))).spec
    assert spec.interocular == (0, 1) and spec.groups == (("Sides", (0, 1)),)
    for bad, message in [
        (dict(cat, flip_pairs=[[0, 1]]), "must name its keypoints"),
        (dict(cat, skeleton=[[0, 1]]), r"0 is not a keypoint name or a 1-based index in \[1, 3\]"),
        ({k: v for k, v in cat.items() if k != "flip_pairs"}, "missing 'flip_pairs'"),
        (dict(cat, flip_pairs=[["l_a", "nope"]]), "unknown keypoint name 'nope'"),
        (dict(cat, interocular=[1, 2]), "'interocular' must refer to keypoints by name"),
    ]:
        with pytest.raises(DataError, match=message) as info:
            load_custom(_write(tmp_path, dict(doc, categories=[bad])))
        assert "data.json categories[0]" in str(info.value)


def test_both_declarations_must_agree(tmp_path):
    doc = _doc(categories=[{"id": 1, "name": "tri", "keypoints": ["l_a", "r_a", "x"]}])
    with pytest.raises(DataError, match="differ from keypoint_spec.keypoints"):
        load_custom(_write(tmp_path, doc))
    doc["categories"][0]["keypoints"] = SPEC["keypoints"]
    assert len(load_custom(_write(tmp_path, doc))) == 1


def test_one_based_origin_is_converted_once(tmp_path):
    zero = load_custom(_write(tmp_path, _doc()))[0]
    doc = _doc(coordinate_origin="one_based")
    ann = doc["annotations"][0]
    ann["keypoints"] = [v + 1 if i % 3 != 2 else v for i, v in enumerate(ann["keypoints"])]
    ann["bbox"] = [ann["bbox"][0] + 1, ann["bbox"][1] + 1, *ann["bbox"][2:]]
    one = load_custom(_write(tmp_path, doc))[0]
    np.testing.assert_allclose(one.keypoints, zero.keypoints)
    np.testing.assert_allclose(one.box, zero.box)
    np.testing.assert_allclose(one.center, zero.center)
    doc["annotations"][0].update(center=[16, 17], scale=0.2)
    np.testing.assert_allclose(load_custom(_write(tmp_path, doc))[0].center, [15, 16])  # centre converted too
    with pytest.raises(DataError, match=r"coordinate_origin must be one of .* got 'matlab'"):
        load_custom(_write(tmp_path, _doc(coordinate_origin="matlab")))


def test_image_root_and_unlabelled_null(tmp_path):
    (tmp_path / "imgs").mkdir()
    doc = _doc()
    doc["annotations"][0]["keypoints"][3:6] = [None, None, 0]
    path = _write(tmp_path, doc, touch=("imgs/a.png",))
    r = load_custom(path, tmp_path / "imgs")[0]
    assert r.image == tmp_path / "imgs" / "a.png" and r.labelled.tolist() == [True, False, True]


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a: a["keypoints"].pop(), r"annotations\[0\] \(id 5\): keypoints .* has 8 values, expected 9"),
        (lambda a: a["keypoints"].__setitem__(5, 3), r"\(id 5\): keypoint 1 \('r_a'\) has visibility 3\.0"),
        (lambda a: a["keypoints"].__setitem__(2, -1), r"\(id 5\): keypoint 0 \('l_a'\) has visibility -1\.0"),
        (lambda a: a["keypoints"].__setitem__(0, None), r"\(id 5\): keypoint 0 \('l_a'\) is labelled"),
        (lambda a: a.__setitem__("image_id", 3), r"\(id 5\): image_id 3 is not in the file's 'images'"),
        (lambda a: a.pop("bbox"), r"\(id 5\): give the subject's 'bbox'"),
        (lambda a: a.__setitem__("bbox", None), r"\(id 5\): give the subject's 'bbox' .*\(the file has bbox: null\)"),
        (lambda a: a.update(bbox=None, center=[1, 2], scale=None), r"\(the file has bbox: null, scale: null\)"),
        (lambda a: a.__setitem__("bbox", [0, 0, -2, 5]), r"\(id 5\): bbox .* positive width and height"),
        (lambda a: a.update(center=[1, 2], scale=0), r"\(id 5\): center .* scale 0 a positive number"),
        (lambda a: a.pop("keypoints"), r"\(id 5\): missing the key\(s\) \['keypoints'\]"),
    ],
)
def test_bad_annotation(tmp_path, change, message):
    doc = _doc()
    change(doc["annotations"][0])
    path = _write(tmp_path, doc)
    with pytest.raises(DataError, match=message) as info:
        load_custom(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "spec_change, message",
    [
        (lambda s: s.__setitem__("flip_pairs", [["l_a", "r_b"]]), r"keypoint_spec: .* unknown keypoint name 'r_b'"),
        (lambda s: s.update(flip_index=[1, 2, 0]) or s.pop("flip_pairs"), "not an involution"),
        (lambda s: s.pop("flip_pairs"), "missing 'flip_pairs'"),
        (lambda s: s.__setitem__("keypoints", ["l_a", "l_a", "c"]), "duplicate keypoint names"),
        (lambda s: s.pop("name"), "missing the required key 'name'"),
    ],
)
def test_bad_spec(tmp_path, spec_change, message):
    doc = _doc()
    spec_change(doc["keypoint_spec"])
    with pytest.raises(DataError, match=message) as info:
        load_custom(_write(tmp_path, doc))
    assert "data.json keypoint_spec" in str(info.value)


def test_bad_file_structure(tmp_path):
    doc = _doc()
    doc["images"].append({"id": 1, "file_name": "b.png"})
    with pytest.raises(DataError, match=r"images\[1\]: duplicate image id 1"):
        load_custom(_write(tmp_path, doc))
    doc = _doc()
    doc["annotations"].append(copy.deepcopy(doc["annotations"][0]))
    with pytest.raises(DataError, match=r"annotations\[1\] \(id 5\): duplicate annotation id"):
        load_custom(_write(tmp_path, doc))
    doc = _doc()
    del doc["keypoint_spec"]
    with pytest.raises(DataError, match="no keypoint declaration"):
        load_custom(_write(tmp_path, doc))
    path = tmp_path / "broken.json"
    path.write_text('{"images": [\n  {"id": 1}\n  {"id": 2}]}')
    with pytest.raises(DataError, match=r"broken\.json:3:3: invalid JSON"):
        load_custom(path)
    with pytest.raises(FileNotFoundError, match="missing.json"):
        load_custom(tmp_path / "missing.json")


def test_missing_image_raises_or_is_skipped(tmp_path, caplog):
    doc = _doc()
    doc["images"].append({"id": 2, "file_name": "gone.png"})
    doc["annotations"].append(dict(copy.deepcopy(doc["annotations"][0]), id=6, image_id=2))
    with pytest.raises(DataError, match=r"annotations\[1\] \(id 6\): image file .*gone\.png does not exist"):
        load_custom(_write(tmp_path, doc))
    doc["annotations"].append(dict(copy.deepcopy(doc["annotations"][0]), id=7, keypoints=[1, 2, 5] * 3))
    path = _write(tmp_path, doc)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        data = load_custom(path, on_error="skip")
    assert [r.extra["annotation_id"] for r in data] == [5]
    assert "gone.png does not exist" in caplog.text and "(id 7): keypoint 0" in caplog.text
    assert "skipped 2 of 3 annotations" in caplog.text
    assert len(load_custom(path, on_error="skip", check_images=False)) == 2
