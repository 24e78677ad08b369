"""hourglass.evaluation.reports (and .sets): reports that match the metrics, bad predictions, the evaluation set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hourglass.config import TrainConfig
from hourglass.data import AnnotationSet, DataError
from hourglass.data.records import Annotation
from hourglass.engine.build import validation_metric_name
from hourglass.evaluation import evaluate, evaluation_set, pck_by_tilt, pckh_head_sizes
from hourglass.keypoints import LSP, MPII
from hourglass.metrics import (
    body_tilt,
    interocular,
    left_right_inversions,
    mirror_oracle,
    nme,
    pck,
    pckh_table,
    torso_size,
)


def test_face_report_matches_metrics(holdout_faces):
    faces = holdout_faces
    gt = faces.keypoints()
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 3, gt.shape)
    r = evaluate(pred, faces)
    e = nme(pred, gt, None, interocular(gt, faces.spec))
    assert r.kind == "face" and r.metric == "nme_interocular" and not r.higher_better
    assert r.value == pytest.approx(e.mean(), abs=1e-12)
    num, den = r.per_image
    assert num.sum() / den.sum() == pytest.approx(r.value, abs=1e-12)
    assert set(r.tables["nme_interocular"]) == {"all", "helen/trainset"}
    assert r.per_keypoint["nme_interocular"].shape == (68,)
    perfect = evaluate(gt, faces)
    assert perfect.value == 0 and perfect.tables["auc@0.08"]["all"] == 1 and perfect.tables["fr@0.08"]["all"] == 0
    assert "NME-io" in r.format() and r.to_dict()["subjects"] == 6


def _people(spec, n=40, headbox=False, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        kp = rng.uniform(50, 250, (spec.num_keypoints, 2))
        lab = rng.random(spec.num_keypoints) > 0.1
        lab[list(spec.torso or ())] = True
        kp[~lab] = np.nan
        hb = np.array([[100.0, 40.0], [130.0, 75.0]]) if headbox else None
        records.append(Annotation(image=Path(f"/nonexistent/{i}.jpg"), keypoints=kp, labelled=lab, visible=lab,
                                  center=np.array([150.0, 150.0]), scale=1.5, spec=spec, source=f"synthetic[{i}]",
                                  headbox=hb))  # fmt: skip
    return AnnotationSet(records, spec, f"synthetic-{spec.name}")


def test_pck_by_tilt_bin_edges():
    """A bin holds its lower edge (45 is in 45-90), the last one holds 180; no joints: no bin."""
    tilt = np.array([0.0, 44.999, 45.0, 90.0, 134.0, 180.0, np.nan, 30.0])
    correct = np.array([1, 2, 3, 0, 4, 5, 1, 0.0])
    evaluated = np.array([2, 2, 4, 2, 4, 5, 3, 0.0])  # the last person has no evaluated joint
    t = pck_by_tilt(correct, evaluated, tilt)
    assert t["bins"] == ["0-45", "45-90", "90-135", "135-180", "unknown"]
    assert t["people"] == [2, 1, 2, 1, 1]
    assert t["pck"] == pytest.approx([3 / 4, 3 / 4, 4 / 6, 1.0, 1 / 3])
    # an empty bin is None, and no unknown bin without unknown people
    t = pck_by_tilt(correct[:2], evaluated[:2], tilt[:2])
    assert t["bins"] == ["0-45", "45-90", "90-135", "135-180"] and t["pck"][1:] == [None] * 3


def test_body_and_mpii_reports_match_metrics():
    people = _people(LSP)
    gt, mask = people.keypoints(), people.labelled()
    pred = np.nan_to_num(gt) + np.random.default_rng(1).normal(0, 8, gt.shape)
    r = evaluate(pred, people)
    want = pck(pred, gt, mask, torso_size(gt, mask, LSP), 0.2)
    assert r.kind == "body" and r.value == pytest.approx(want.mean, abs=1e-12)
    assert r.per_image[0].sum() / r.per_image[1].sum() == pytest.approx(r.value, abs=1e-12)
    inv = left_right_inversions(pred, gt, mask, torso_size(gt, mask, LSP), LSP.flip_index, 0.2)
    assert r.tables["left_right_inversions"]["rate"] == pytest.approx(inv.mean, abs=1e-12)
    assert r.tables["left_right_inversions"]["share_of_misses"] == pytest.approx(inv.share_of_misses, abs=1e-12)
    # every subject with its left and right sides swapped: most joints become inversions
    swapped = evaluate(pred[:, list(LSP.flip_index)], people)
    assert swapped.tables["left_right_inversions"]["rate"] > 0.5 > r.tables["left_right_inversions"]["rate"]
    assert "left/right inversions" in swapped.format()
    # the facing-direction oracle scores the better of each person's two labellings, so it is
    # the same for a prediction and its mirror, and at least the plain PCK of either
    oracle = mirror_oracle(pred, gt, mask, torso_size(gt, mask, LSP), LSP.flip_index, 0.2)
    assert r.tables["mirror_oracle"]["mean"] == pytest.approx(oracle.mean, abs=1e-12)
    assert swapped.tables["mirror_oracle"]["mean"] == pytest.approx(oracle.mean, abs=1e-12)
    assert oracle.mean >= r.value and oracle.mean >= swapped.value
    assert swapped.tables["mirror_oracle"]["share_mirrored"] > 0.5 > r.tables["mirror_oracle"]["share_mirrored"]
    assert "facing-direction oracle" in swapped.format()
    # PCK by tilt (its binning: test_pck_by_tilt_bin_edges): the bins split the evaluated people
    bt = r.tables["pck_by_tilt"]
    num, den = r.per_image
    assert sum(bt["people"]) == int((den > 0).sum())
    tilt = body_tilt(gt, mask, LSP)
    upright = (den > 0) & (tilt < 45)
    assert bt["bins"][0] == "0-45" and bt["people"][0] == int(upright.sum())
    assert bt["pck"][0] == pytest.approx(num[upright].sum() / den[upright].sum(), abs=1e-12)
    assert bt["bins"][-1] == "unknown" and all(v is not None for v in bt["pck"])  # every bin filled here
    assert "PCK by tilt from upright" in r.format()
    mp = _people(MPII, headbox=True)
    gt, mask = mp.keypoints(), mp.labelled()
    pred = np.nan_to_num(gt) + np.random.default_rng(2).normal(0, 8, gt.shape)
    r = evaluate(pred, mp)
    table = pckh_table(pred, gt, mask, np.stack([x.headbox for x in mp]), MPII, mean="weighted")
    assert r.kind == "mpii" and r.value == pytest.approx(table.means[0], abs=1e-12)
    assert r.tables["pckh@0.1_mean"] == pytest.approx(table.means[1], abs=1e-12)
    assert r.tables["mean_convention"] == "weighted" and "PCKh@0.5" in r.format()
    assert r.per_image[0].sum() / r.per_image[1].sum() == pytest.approx(r.value, abs=1e-12)


def test_evaluate_rejects_bad_predictions():
    people = _people(LSP, n=3)
    with pytest.raises(ValueError, match=r"shape \(3, 13, 2\) but synthetic-lsp needs \(3, 14, 2\)"):
        evaluate(np.zeros((3, 13, 2)), people)
    with pytest.raises(ValueError, match="NaN"):
        evaluate(np.full((3, 14, 2), np.nan), people)


def test_evaluation_set_defaults_and_missing_images(shared_data, tmp_path):
    root = shared_data("300w")
    cfg = TrainConfig(dataset="300w", data_root=str(root), train_split="fit", val_split="holdout")
    assert len(evaluation_set(cfg)) == 87
    held = evaluation_set(cfg.replace(val_split=None, val_fraction=0.1, train_split="afw"))
    assert len(held) == 34 and held.name.endswith("[held-out]")
    assert len(evaluation_set(cfg, split="afw", max_samples=5)) == 5
    with pytest.raises(ValueError, match="no validation split; pass --split"):
        evaluation_set(cfg.replace(val_split=None))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluation_set(cfg, data_root=tmp_path / "nope")


def test_evaluation_set_missing_images(shared_data, caplog):
    root = shared_data("mpii")
    cfg = TrainConfig(dataset="mpii", data_root=str(root), val_split="valid")
    with pytest.raises(DataError, match=r"subjects of mpii.* have no image file, e.g. .*pass --missing-images warn"):
        evaluation_set(cfg)
    with caplog.at_level("WARNING", logger="hourglass.data"):
        subjects = evaluation_set(cfg, missing_images="warn")
    assert 0 < len(subjects) < 2958 and all(Path(r.image).exists() for r in subjects)
    assert "left out of the evaluation set" in caplog.text


# --- MPII PCKh from head sizes (valid.h5 has no head boxes) ----------------------------------
def _two_people(head_size_1=20.0):
    """Person 0 has a head box (0,0)-(30,40): head size 30; person 1 only a stored head size. Every
    joint is labelled; the predictions are exact except person 1's r_ankle (12 px off), r_knee
    (5 px) and pelvis (30 px, left out of the Mean)."""
    gt = np.arange(64.0).reshape(2, 16, 2) * 3
    pred = gt.copy()
    pred[1, MPII.index("r_ankle"), 0] += 12.0
    pred[1, MPII.index("r_knee"), 1] -= 5.0
    pred[1, MPII.index("pelvis"), 0] += 30.0
    lab = np.ones(16, dtype=bool)
    common = dict(labelled=lab, visible=lab, center=np.array([50.0, 50.0]), scale=1.0, spec=MPII)
    people = [
        Annotation(image=Path("/nonexistent/0.jpg"), keypoints=gt[0], source="hand[0]",
                   headbox=np.array([[0.0, 0.0], [30.0, 40.0]]), **common),
        Annotation(image=Path("/nonexistent/1.jpg"), keypoints=gt[1], source="hand[1]",
                   extra={"head_size": head_size_1}, **common),
    ]  # fmt: skip
    return pred, AnnotationSet(people, MPII, "hand")


def test_pckh_from_a_stored_head_size_by_hand():
    pred, people = _two_people(20.0)
    np.testing.assert_allclose(pckh_head_sizes(people), [30.0, 20.0])
    r = evaluate(pred, people)
    # Person 1, head size 20: 0.5 -> 10 px, so r_ankle (12 px) is wrong and r_knee (5 px) right;
    # 0.1 -> 2 px, so both are wrong. Mean over the 2 x 14 joints outside pelvis and thorax.
    assert (r.kind, r.metric) == ("mpii", "pckh@0.5")
    assert r.value == pytest.approx(27 / 28)
    assert r.tables["pckh@0.5"]["Ankle"] == pytest.approx(0.75) and r.tables["pckh@0.5"]["Knee"] == 1.0
    assert r.tables["pckh@0.1_mean"] == pytest.approx(26 / 28)
    assert r.per_image[0].tolist() == [14, 13] and r.per_image[1].tolist() == [14, 14]
    # With a head size of 25 the threshold is 12.5 px and r_ankle counts: the stored size is what is used.
    assert evaluate(pred, _two_people(25.0)[1]).value == 1.0


def test_pckh_head_sizes_missing_or_bad():
    pred, people = _two_people()
    assert pckh_head_sizes(people[:1]).tolist() == [30.0]
    no_size = AnnotationSet([people[0], _people(MPII, n=1)[0]], MPII, "mixed")
    assert pckh_head_sizes(no_size) is None
    for bad in (0.0, float("nan"), "20"):
        with pytest.raises(ValueError, match=r"hand\[1\]: extra\['head_size'\] must be a finite positive"):
            pckh_head_sizes(_two_people(bad)[1])


def test_valid_h5_evaluates_as_pckh(shared_data):
    """load_dataset's valid.h5 (no head boxes) gives PCKh with the official head sizes, through evaluate."""
    import scipy.io

    from hourglass.data import load_dataset

    people = load_dataset("mpii", shared_data("mpii"), "valid")
    boxes = scipy.io.loadmat(shared_data("mpii/eval/detections_our_format.mat"))["headboxes_src"]  # (2, 2, N)
    sizes = pckh_head_sizes(people)
    np.testing.assert_allclose(sizes, 0.6 * np.linalg.norm(boxes[1] - boxes[0], axis=0), rtol=5e-7, atol=0)
    r = evaluate(np.nan_to_num(people.keypoints()), people)
    assert (r.kind, r.metric, r.value) == ("mpii", "pckh@0.5", 1.0)
    assert set(r.tables["pckh@0.5"].values()) == {1.0} and r.tables["pckh@0.1_mean"] == 1.0
    assert r.format().splitlines()[1].startswith("PCKh@0.5")
    assert validation_metric_name(people.spec, sizes is not None) == ("pckh@0.5", True)
    # The tools' path: the model's validation subjects (the 5 whose images exist) are PCKh too.
    cfg = TrainConfig(dataset="mpii", data_root=str(shared_data("mpii")), val_split="valid")
    subjects = evaluation_set(cfg, missing_images="warn")
    assert evaluate(np.nan_to_num(subjects.keypoints()), subjects).metric == "pckh@0.5"


def test_mpii_without_head_sizes_says_it_is_not_pckh(shared_data):
    from hourglass.data import load_dataset

    people = load_dataset("mpii", shared_data("mpii"), "test_mpii")  # the community JSON: no boxes, no sizes
    assert pckh_head_sizes(people) is None
    r = evaluate(np.nan_to_num(people.keypoints()), people)
    assert (r.kind, r.metric) == ("body", "pck@0.2") and not any(k.startswith("pckh") for k in r.tables)
    assert "torso PCK@0.2, not MPII PCKh: 5 of 5 subjects" in r.format()
    assert validation_metric_name(people.spec, False) == ("pck@0.2", True)


def test_evaluation_set_hints_name_a_split_that_works(shared_data):
    """A dataset mismatch names the other dataset's held-out split, and that split loads; an
    empty held-out share of a custom file suggests --split (it used to say only 'holds no subjects')."""
    from conftest import REPO

    lsp = TrainConfig(dataset="lsp", data_root=str(shared_data("lspet")), train_split="train", val_split="test")
    with pytest.raises(ValueError, match=r"not 'lspet'; pass --split val \(lspet's held-out split\)"):
        evaluation_set(lsp, dataset="lspet")
    assert len(evaluation_set(lsp, dataset="lspet", split="val", max_samples=3)) == 3
    custom = TrainConfig(dataset="custom", data_root=str(REPO / "datasets/custom_example/annotations.json"),
                         val_split=None, val_fraction=0.1)  # fmt: skip
    with pytest.raises(ValueError, match=r"holds no subjects to evaluate; pass --split all \(custom files"):
        evaluation_set(custom)


def test_face_report_without_pupils_has_no_inter_pupil_column():
    """A face spec without pupils (the custom example) printed 'NME-ip nan': the column is left out."""
    from conftest import REPO

    from hourglass.data import load_dataset

    faces = load_dataset("custom", REPO / "datasets/custom_example/annotations.json", "all")
    assert faces.spec.pupils is None and faces.spec.subject == "face"
    text = evaluate(np.nan_to_num(faces.keypoints()) + 1.0, faces).format()
    assert "NME-io %  AUC@0.08 %" in text and "NME-ip" not in text and "nan" not in text
