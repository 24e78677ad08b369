"""MPII readers: the JSON, the hourglass HDF5 and the official release give identical records.

Real data: rows 0-4 of ``valid.h5`` are the 5 people of ``test_mpii.json``; ``eval/detections.mat``
holds the release's own annotation structs for the same people, from which a small release
file with the official ``RELEASE`` layout is written here with ``scipy.io.savemat``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hourglass.data.mpii import (
    load_mpii_json,
    mpii_crop_center_scale,
    mpii_raw_center_scale,
    split_by_reference,
    write_mpii_json,
)
from hourglass.data.mpii_h5 import load_mpii_h5
from hourglass.data.mpii_mat import load_mpii_headboxes, load_mpii_mat
from hourglass.data.records import DataError
from hourglass.keypoints import MPII

REPO = Path(__file__).resolve().parents[1]
EMPTY = np.zeros((0, 0))  # MATLAB []


# --- writing a release file of the official structure ---------------------------------------


def _struct_array(rows: list[dict], fields: list[str]) -> np.ndarray:
    """A 1 x n MATLAB struct array; fields a row lacks are [] (struct arrays share fields)."""
    arr = np.zeros((1, len(rows)), dtype=[(f, object) for f in fields])
    for j, row in enumerate(rows):
        for f in fields:
            arr[0, j][f] = row.get(f, EMPTY)
    return arr


def _person(x1=None, y1=None, x2=None, y2=None, points=None, scale=None, objpos=None) -> dict:
    """An annorect entry; points are (id, x, y, is_visible) with is_visible 0/1, '0'/'1' or None (= [])."""
    d: dict = {}
    if x1 is not None:
        d.update(x1=x1, y1=y1, x2=x2, y2=y2)
    if points:
        rows = [{"x": x, "y": y, "id": k, "is_visible": np.zeros((0, 0), np.uint8) if v is None else v}
                for k, x, y, v in points]  # fmt: skip
        d["annopoints"] = {"point": _struct_array(rows, ["x", "y", "id", "is_visible"])}
    if scale is not None:
        d["scale"] = scale
    if objpos is not None:
        d["objpos"] = {"x": objpos[0], "y": objpos[1]}
    return d


def write_release(path: Path, images: list[dict]) -> Path:
    """Write ``RELEASE`` as in mpii_human_pose_v1_u12_1.mat.

    Each image: ``name``, ``train`` (bool), ``people`` (list of :func:`_person` dicts),
    ``single`` (1-based person indices).
    """
    annolist = []
    for im in images:
        fields = ["x1", "y1", "x2", "y2", "annopoints", "scale", "objpos"] if im["train"] else ["scale", "objpos"]
        rect = _struct_array(im["people"], fields) if im["people"] else EMPTY
        annolist.append({"image": {"name": im["name"]}, "annorect": rect, "frame_sec": EMPTY, "vididx": EMPTY})
    n = len(images)
    single = np.empty((n, 1), dtype=object)
    act = []
    for i, im in enumerate(images):
        single[i, 0] = np.array(im.get("single", []), dtype=np.float64).reshape(-1, 1)
        act.append({"act_name": EMPTY, "cat_name": EMPTY, "act_id": -1})
    release = {
        "annolist": _struct_array(annolist, ["image", "annorect", "frame_sec", "vididx"]),
        "img_train": np.array([[int(im["train"]) for im in images]], dtype=np.uint8),
        "version": "12",
        "single_person": single,
        "act": _struct_array(act, ["act_name", "cat_name", "act_id"]).T,
        "video_list": np.empty((1, 0), dtype=object),
    }
    scipy.io.savemat(path, {"RELEASE": release})
    return path


def _release_people(shared_data) -> tuple[list[str], list[int], list[dict]]:
    """Names, annolist indices and annorect dicts of valid.h5 rows 0-4, from the release's own structs."""
    return _read_release_people(shared_data("mpii/eval/detections.mat"), shared_data("mpii/annot/valid.h5"))


@functools.cache
def _read_release_people(detections: Path, valid_h5: Path) -> tuple[list[str], list[int], list[dict]]:
    import h5py

    m = scipy.io.loadmat(detections, squeeze_me=True, struct_as_record=False)
    with h5py.File(valid_h5, "r") as f:
        names = [n.decode() for n in f["imgname"][:5]]
    indices = [int(i) - 1 for i in m["RELEASE_img_index"][:5]]
    people = []
    for j, entry in enumerate(m["annolist"][:5]):
        r = entry.annorect
        pts = []
        for p in r.annopoints.point:
            v = p.is_visible
            v = None if isinstance(v, np.ndarray) else int(v)
            if j == 1 and v is not None:
                v = str(v)  # the release stores some flags as '0'/'1' strings
            pts.append((int(p.id), float(p.x), float(p.y), v))
        people.append(_person(r.x1, r.y1, r.x2, r.y2, pts, float(r.scale), (r.objpos.x, r.objpos.y)))
    return names, indices, people


def _synthetic_release(tmp_path: Path, shared_data) -> Path:
    """31 images: rows 0-4 of valid.h5 at their annolist indices, plus the release's odd cases."""
    names, indices, people = _release_people(shared_data)
    images = [{"name": f"{900000000 + i:09d}.jpg", "train": False, "people": []} for i in range(31)]
    for name, i, person in zip(names, indices, people, strict=True):
        images[i] = {"name": name, "train": True, "people": [person], "single": [1]}
    # A second, unannotated person next to the first validation person (left out of "train").
    images[indices[0]]["people"].append(_person(scale=2.0, objpos=(100, 100)))
    images[0] = {"name": "000000000.jpg", "train": True, "people": []}  # no annorect at all
    # One annotated point only: 'point' and 'annorect' are single structs after squeeze_me.
    images[1] = {"name": "000000001.jpg", "train": True,
                 "people": [_person(11, 21, 41, 61, [(9, 30.5, 20.25, "0")], 1.5, (31, 90))]}  # fmt: skip
    images[2]["people"] = [_person(scale=3.0, objpos=(500, 400)), _person(scale=2.0)]  # 2nd: no objpos
    images[2]["single"] = [1, 2]
    return write_release(tmp_path / "mpii_human_pose_v1_u12_1.mat", images)


def _assert_same_people(a, b, *, kp_atol=1e-6, center_atol=1e-5, visible=True, headbox=True) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.image == y.image and x.image_id == y.image_id and x.spec == y.spec == MPII
        np.testing.assert_array_equal(x.labelled, y.labelled)
        np.testing.assert_allclose(x.keypoints, y.keypoints, atol=kp_atol, rtol=0)  # NaN where not labelled
        np.testing.assert_allclose(x.center, y.center, atol=center_atol, rtol=0)
        assert x.scale == pytest.approx(y.scale, abs=1e-6)
        if visible:
            np.testing.assert_array_equal(x.visible, y.visible)
        if headbox:
            assert (x.headbox is None) == (y.headbox is None)
            if x.headbox is not None:
                np.testing.assert_allclose(x.headbox, y.headbox, atol=1e-4, rtol=0)


# --- acceptance: the three sources agree on real data ----------------------------------------


@pytest.fixture
def real(shared_data):
    root = shared_data("mpii/images")
    boxes = load_mpii_headboxes(shared_data("mpii/eval/detections_our_format.mat"))
    return {
        "root": root,
        "json": load_mpii_json(shared_data("mpii/annot/test_mpii.json"), root),
        "h5": load_mpii_h5(shared_data("mpii/annot/valid.h5"), root, headboxes=boxes),
        "boxes": boxes,
    }


def test_valid_h5_loads_all_people(real):
    h5 = real["h5"]
    assert len(h5) == 2958
    labelled = h5.labelled()
    visible = np.stack([a.visible for a in h5])
    # Measured: 3088 missing joints, 10243 annotated-but-occluded (the release's is_visible = 0).
    assert labelled.sum() == 2958 * 16 - 3088
    assert visible.sum() == labelled.sum() - 10243
    assert [a.image.name for a in h5[:5]] == [a.image.name for a in real["json"]]
    assert [a.extra["image_index"] for a in h5[:5]] == [6, 17, 27, 29, 30]


def test_json_and_h5_agree(real):
    js, h5 = real["json"], real["h5"][:5]
    # The HDF5 truncated the coordinates to integers; everything else is the same number.
    _assert_same_people(js, h5, kp_atol=1.0, visible=False, headbox=False)
    for a, b in zip(js, h5, strict=True):
        lab = a.labelled
        np.testing.assert_array_equal(np.trunc(a.keypoints[lab] + 1) - 1, b.keypoints[lab])
        np.testing.assert_array_equal(a.visible, a.labelled)  # the JSON has no occlusion flag
    # valid.h5 row 2 has r_wrist and r_elbow annotated but occluded.
    assert not h5[2].visible[10] and h5[2].labelled[10] and js[2].visible[10]


def test_json_coordinates_are_one_based(real, shared_data):
    """The JSON's joints equal the 1-based MATLAB evaluation ground truth, so they are 1-based too."""
    gt = scipy.io.loadmat(shared_data("mpii/eval/detections_our_format.mat"))["pos_gt_src"].transpose(2, 0, 1)
    raw = json.loads(shared_data("mpii/annot/test_mpii.json").read_text())
    for i, (entry, a) in enumerate(zip(raw, real["json"], strict=True)):
        lab = a.labelled
        np.testing.assert_allclose(np.array(entry["joints"])[lab], gt[i][lab], atol=1e-4)
        np.testing.assert_allclose(a.keypoints[lab], gt[i][lab] - 1, atol=1e-4)
        # Crop convention applied once: raw centre (1-based) moved down 15 s, scale x 1.25.
        s = entry["scale"]
        np.testing.assert_allclose(a.center, [entry["center"][0] - 1, entry["center"][1] + 15 * s - 1])
        assert a.scale == pytest.approx(1.25 * s)


def test_release_mat_matches_json_and_h5(real, tmp_path, shared_data):
    mat = _synthetic_release(tmp_path, shared_data)
    train = load_mpii_mat(mat, real["root"], split="train")
    # The 5 validation people plus the one-point person of image 1.
    assert [(a.extra["image_index"], a.extra["person_index"]) for a in train] == [
        (1, 0), (6, 0), (17, 0), (27, 0), (29, 0), (30, 0)
    ]  # fmt: skip
    h5 = real["h5"][:5]
    people, rest = split_by_reference(train, h5)
    assert len(rest) == 1 and rest[0].image.name == "000000001.jpg"
    _assert_same_people(people, real["json"], visible=False, headbox=False)
    _assert_same_people(people, h5, kp_atol=1.0)  # visibility flags and head boxes as in the HDF5
    for a, b in zip(people, h5, strict=True):
        assert a.extra["person_index"] == b.extra["person_index"] and a.extra["single_person"]
        size = 0.6 * np.linalg.norm(a.headbox[1] - a.headbox[0])
        assert size == pytest.approx(b.extra["head_size"], rel=1e-6)


def test_write_json_round_trip(tmp_path, shared_data):
    mat = _synthetic_release(tmp_path, shared_data)
    people = load_mpii_mat(mat, tmp_path, split="all")
    back = load_mpii_json(write_mpii_json(people, tmp_path / "all.json"), tmp_path)
    _assert_same_people(back, people, kp_atol=1e-9, center_atol=1e-9)
    assert [a.extra for a in back] == [
        {"image_index": a.extra["image_index"], "person_index": a.extra["person_index"]} for a in people
    ]


def test_prepare_script(tmp_path, shared_data, capsys):
    spec = importlib.util.spec_from_file_location("prepare_mpii", REPO / "datasets" / "prepare_mpii.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    mat = _synthetic_release(tmp_path, shared_data)
    out = tmp_path / "annot"
    argv = ["--mat", str(mat), "--out", str(out), "--valid-h5", str(shared_data("mpii/annot/valid.h5"))]
    assert script.main(argv) == 1  # 2953 validation people are not in this small file
    assert "allow-missing" in capsys.readouterr().err
    assert script.main([*argv, "--allow-missing"]) == 0
    valid = load_mpii_json(out / "valid.json", tmp_path)
    train = load_mpii_json(out / "train.json", tmp_path)
    expected = load_mpii_json(shared_data("mpii/annot/test_mpii.json"), tmp_path)
    assert [a.image.name for a in valid] == [a.image.name for a in expected]
    assert len(train) == 1
    assert script.main(["--mat", str(tmp_path / "absent.mat"), "--out", str(out)]) == 1


# --- conventions and bad input ----------------------------------------------------------------


def test_crop_convention_by_hand():
    center, scale = mpii_crop_center_scale(np.array([965.0, 339.0]), np.array(4.0))
    np.testing.assert_allclose(center, [965.0, 339.0 + 60.0])
    assert scale == 5.0
    raw_c, raw_s = mpii_raw_center_scale(center, scale)
    np.testing.assert_allclose(raw_c, [965.0, 339.0], atol=1e-12)
    assert raw_s == pytest.approx(4.0, abs=1e-12)


def test_headboxes_order_is_checked(shared_data):
    boxes = load_mpii_headboxes(shared_data("mpii/eval/detections_our_format.mat"))
    assert boxes.shape == (2958, 2, 2)
    np.testing.assert_allclose(boxes[0], [[913, 78], [1030, 236]], atol=1e-4)  # 1-based 914, 79, 1031, 237
    with pytest.raises(ValueError, match="row order"):
        load_mpii_h5(shared_data("mpii/annot/valid.h5"), ".", headboxes=boxes[::-1])


def _write_json(path: Path, entries) -> Path:
    path.write_text(json.dumps(entries))
    return path


GOOD = {"image": "a.jpg", "center": [51, 61], "scale": 2.0, "joints": [[1, 1]] * 16, "joints_vis": [1] * 16}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"center": None}, r"\[0\]: missing keys \['center'\]"),
        ({"joints": [[1, 1]] * 15}, r"'joints' must be numbers of shape \(16, 2\)"),
        ({"joints_vis": [2] * 16}, "16 flags of 0 or 1"),
        ({"scale": -1.0}, "scale positive"),
        ({"center": [-1, -1]}, "no position"),
        ({"joints_vis": None}, "given together"),
    ],
)
def test_json_bad_entries(tmp_path, change, message):
    entry = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = _write_json(tmp_path / "x.json", [entry])
    with pytest.raises(DataError, match=message):
        load_mpii_json(path, tmp_path)


def test_json_bad_files_and_skip(tmp_path, caplog):
    with pytest.raises(FileNotFoundError, match="absent.json"):
        load_mpii_json(tmp_path / "absent.json", tmp_path)
    (tmp_path / "broken.json").write_text('[{"image": "a.jpg",\n oops}]')
    with pytest.raises(DataError, match=r"broken.json:2: not valid JSON"):
        load_mpii_json(tmp_path / "broken.json", tmp_path)
    with pytest.raises(DataError, match="expected a JSON list"):
        load_mpii_json(_write_json(tmp_path / "d.json", {"a": 1}), tmp_path)
    path = _write_json(tmp_path / "e.json", [GOOD, {**GOOD, "scale": 0}])
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        kept = load_mpii_json(path, tmp_path, on_error="skip")
    assert len(kept) == 1 and r"e.json[1]" in caplog.text and "skipped 1 of 2" in caplog.text
    with pytest.raises(ValueError, match="on_error"):
        load_mpii_json(path, tmp_path, on_error="ignore")
    # A test-set entry (no joints) loads with nothing labelled; 0-based files on request.
    test = load_mpii_json(_write_json(tmp_path / "t.json", [{"image": "b.jpg", "center": [11, 21], "scale": 1}]), ".")
    assert not test[0].labelled.any() and np.all(np.isnan(test[0].keypoints))
    zero = load_mpii_json(path, tmp_path, one_based=False, on_error="skip")
    np.testing.assert_allclose(zero[0].center, [51, 61 + 30])


def test_split_by_reference_checks(tmp_path):
    entry = {**GOOD, "image_index": 3, "person_index": 0}
    people = load_mpii_json(_write_json(tmp_path / "p.json", [entry]), ".")
    other = load_mpii_json(_write_json(tmp_path / "o.json", [{**entry, "image": "b.jpg"}]), ".")
    with pytest.raises(ValueError, match="different MPII releases"):
        split_by_reference(people, other)
    plain = load_mpii_json(_write_json(tmp_path / "n.json", [GOOD]), ".")
    with pytest.raises(ValueError, match="no image_index/person_index"):
        split_by_reference(people, plain)
    assert split_by_reference(people, people) == ([people[0]], [])
