"""COCO keypoint results files and OKS AP through pycocotools (hourglass.data.coco_eval)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from test_data_coco import SAMPLE, _gt_predictions, _person, _write

from hourglass.data.coco import load_coco
from hourglass.data.coco_eval import COCO_KEYPOINT_STATS, coco_keypoint_ap, coco_results, write_coco_results
from hourglass.data.records import DataError


def test_results_file_round_trip(tmp_path, shared_data):
    path = shared_data(SAMPLE)
    data = load_coco(path, path.parent)
    ids, kp, scores, inst = _gt_predictions(data)
    scores = scores * 0.5
    out = write_coco_results(tmp_path / "sub" / "res.json", ids, kp, scores, inst * 0.9)
    assert sorted(p.name for p in out.parent.iterdir()) == ["res.json"]  # no temporary file left
    res = json.loads(out.read_text())
    assert len(res) == 12 and res[0]["image_id"] == ids[0] and res[0]["category_id"] == 1
    assert res[0]["score"] == pytest.approx(0.9)
    flat = np.asarray(res[1]["keypoints"]).reshape(17, 3)
    np.testing.assert_array_equal(flat[:, :2], kp[1])  # COCO keypoint convention = ours
    np.testing.assert_array_equal(flat[:, 2], 0.5)
    ap = coco_keypoint_ap(path, out)
    assert ap["AP"] == 1.0


def test_results_bad_input():
    kp = np.zeros((2, 17, 2))
    with pytest.raises(ValueError, match=r"scores must have shape \(N, K\) = \(2, 17\)"):
        coco_results([1, 2], kp, np.ones((2, 16)), np.ones(2))
    with pytest.raises(ValueError, match="got 1 image ids for 2"):
        coco_results([1], kp, np.ones((2, 17)), np.ones(2))
    kp[1, 3, 0] = np.nan
    with pytest.raises(ValueError, match=r"keypoints must be finite; entry \[1, 3, 0\]"):
        coco_results([1, 2], kp, np.ones((2, 17)), np.ones(2))


def test_ap_of_ground_truth_is_one_and_noise_lowers_it(shared_data, capsys):
    path = shared_data(SAMPLE)
    data = load_coco(path, path.parent)
    perfect = coco_keypoint_ap(path, coco_results(*_gt_predictions(data)))
    assert list(perfect) == list(COCO_KEYPOINT_STATS)
    assert all(v == 1.0 for v in perfect.values())
    assert "Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets= 20 ] = 1.000" in perfect.text
    assert capsys.readouterr().out == ""  # pycocotools' prints are captured
    small = coco_keypoint_ap(path, coco_results(*_gt_predictions(data, noise=2.0)))
    large = coco_keypoint_ap(path, coco_results(*_gt_predictions(data, noise=8.0)))
    assert 1.0 > small["AP"] > large["AP"] > 0.0
    assert coco_keypoint_ap(path, [])["AP"] == 0.0


def test_ap_input_is_not_modified_and_bad_results_are_named(shared_data):
    path = shared_data(SAMPLE)
    res = coco_results(*_gt_predictions(load_coco(path, path.parent)))
    before = copy.deepcopy(res)
    coco_keypoint_ap(path, res)
    assert res == before  # pycocotools' loadRes adds keys; we hand it a copy
    with pytest.raises(DataError, match=r"results\[0\]: image_id 5 is not in"):
        coco_keypoint_ap(path, [dict(res[0], image_id=5)])
    with pytest.raises(DataError, match=r"results\[1\]: keypoints .* has 3 values, expected 51"):
        coco_keypoint_ap(path, [res[0], dict(res[1], keypoints=[1, 2, 3])])
    with pytest.raises(ValueError, match="sigmas must be K = 17"):
        coco_keypoint_ap(path, res, sigmas=[0.1] * 5)


def test_ap_ground_truth_checks(tmp_path):
    gt = _person(7)
    del gt["iscrowd"]  # optional for COCOeval; num_keypoints is derived when absent
    path = _write(tmp_path, [gt])
    res = coco_results([1], np.array([[[14.0, 25.0]] + [[12.0, 30.0]] * 16]), np.ones((1, 17)), np.ones(1))
    assert coco_keypoint_ap(path, res)["AP"] == pytest.approx(1.0)  # pycocotools: tp / (tp + fp + eps)
    gt["keypoints"][2] = 4
    with pytest.raises(DataError, match=r"annotations\[0\] \(id 7\): keypoint 0 \('nose'\) has visibility 4"):
        coco_keypoint_ap(_write(tmp_path, [gt]), res)
    with pytest.raises(DataError, match=r"annotations\[0\] \(id 7\): missing the key\(s\) \['area'\]"):
        coco_keypoint_ap(_write(tmp_path, [{k: v for k, v in _person(7).items() if k != "area"}]), res)


def test_image_ids_restrict_the_evaluation_to_the_images_predicted_on(shared_data, caplog):
    path = shared_data(SAMPLE)
    data = load_coco(path, path.parent)
    ids, kp, scores, inst = _gt_predictions(data)
    first = np.asarray(ids) == ids[0]
    part = coco_results(np.asarray(ids)[first].tolist(), kp[first], scores[first], inst[first])
    with caplog.at_level("WARNING", logger="hourglass.data"):
        everywhere = coco_keypoint_ap(path, part)
    assert everywhere["AP"] < 0.5  # the people of the other images count as missed
    assert "3 of the 4 images with people" in caplog.text and "image_ids=" in caplog.text
    assert coco_keypoint_ap(path, part, image_ids=[ids[0]])["AP"] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(DataError, match=r"image_ids \[999\] are not in .*test_coco\.json"):
        coco_keypoint_ap(path, part, image_ids=[ids[0], 999])


def test_annotation_ids_score_only_the_people_predicted_on(shared_data):
    """A held-out split takes people, not images: the other people of an image must not count as missed."""
    path = shared_data(SAMPLE)
    data = load_coco(path, path.parent)
    ids, kp, scores, inst = _gt_predictions(data)
    ids = np.asarray(ids)
    image = next(i for i in ids if (ids == i).sum() >= 2)
    take = np.flatnonzero(ids == image)[1:]  # all people of that image but its first
    part = coco_results(ids[take].tolist(), kp[take], scores[take], inst[take])
    people = [data[int(t)].extra["annotation_id"] for t in take]
    assert coco_keypoint_ap(path, part, image_ids=[image])["AP"] < 1.0  # the left-out person counts as missed
    assert coco_keypoint_ap(path, part, annotation_ids=people)["AP"] == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(DataError, match=r"annotation_ids \['12345'\] are not people of"):
        coco_keypoint_ap(path, part, annotation_ids=[*people, 12345])
    with pytest.raises(DataError, match="annotation_ids is empty"):
        coco_keypoint_ap(path, part, annotation_ids=[])
    with pytest.raises(DataError, match="image_ids is empty"):
        coco_keypoint_ap(path, part, image_ids=[])
