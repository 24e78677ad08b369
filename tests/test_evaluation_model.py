"""hourglass.evaluation.evaluate_model: the one path from a model to numbers, and what eval writes."""

import json

import numpy as np
import pytest
from conftest import make_checkpoint

from hourglass.evaluation import evaluate, evaluate_model, evaluation_set, predict_dataset
from hourglass.evaluation.outputs import evaluate_to_folder
from hourglass.weights import load_model


@pytest.fixture
def face_checkpoint(shared_data, tmp_path):
    kw = dict(data_root=str(shared_data("300w")), train_split="fit", val_split="holdout")
    return make_checkpoint(tmp_path / "hg" / "best.pt", **kw)


def test_evaluate_model_is_the_chain_it_replaces(face_checkpoint):
    loaded = load_model(face_checkpoint)
    ev = evaluate_model(loaded, max_samples=5, progress=False)
    subjects = evaluation_set(loaded.config, max_samples=5)
    pred = predict_dataset(loaded, subjects, progress=False)
    np.testing.assert_array_equal(ev.predictions.coords, pred.coords)
    assert [a.source for a in ev.subjects] == [a.source for a in subjects]
    assert ev.report.value == evaluate(pred, subjects).value
    settings = {"model": str(loaded.path), "flip": False, "kind": "heatmap", "decoder": "dark"}
    assert ev.report.settings.items() >= settings.items()
    assert ev.report.settings["training_overlap"]["subjects"] == 0  # fit vs holdout: checked, none
    # a name or path is loaded; given subjects are used as they are
    again = evaluate_model(str(face_checkpoint), subjects, flip=True, progress=False)
    assert again.subjects is subjects and again.report.settings["flip"] is True


def test_evaluate_model_checks_its_batch_size(face_checkpoint):
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        evaluate_model(face_checkpoint, batch_size=0, progress=False)


def test_evaluate_to_folder_writes_metrics_plots_and_predictions(face_checkpoint, tmp_path, capsys):
    out = tmp_path / "ev"
    result = evaluate_to_folder(face_checkpoint, out=out, predictions=True, max_samples=3, progress=False)
    assert json.loads((out / "metrics.json").read_text()) == result
    assert (out / "ced.png").stat().st_size > 0 and (out / "per_keypoint.png").stat().st_size > 0
    entries = json.loads((out / "predictions.json").read_text())
    assert len(entries) == 3 and all(len(e["keypoints"]) == 68 * 3 for e in entries)
    assert "wrote" in capsys.readouterr().out
