"""hourglass.engine.evaluate: reports that match the metrics, bad predictions, the evaluation set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hourglass.data import AnnotationSet, DataError
from hourglass.data.records import Annotation
from hourglass.engine.config import TrainConfig
from hourglass.engine.evaluate import evaluate, evaluation_set
from hourglass.keypoints import LSP, MPII
from hourglass.metrics import interocular, nme, pck, pckh_table, torso_size


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


def test_body_and_mpii_reports_match_metrics():
    people = _people(LSP)
    gt, mask = people.keypoints(), people.labelled()
    pred = np.nan_to_num(gt) + np.random.default_rng(1).normal(0, 8, gt.shape)
    r = evaluate(pred, people)
    want = pck(pred, gt, mask, torso_size(gt, mask, LSP), 0.2)
    assert r.kind == "body" and r.value == pytest.approx(want.mean, abs=1e-12)
    assert r.per_image[0].sum() / r.per_image[1].sum() == pytest.approx(r.value, abs=1e-12)
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
