"""The flat-heatmap check: heatmap maxima, the warning, and its use in evaluation and training validation."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from hourglass.codec import FLAT_PEAK_FRACTION, flat_heatmap_warning, heatmap_peaks
from hourglass.data import KeypointDataset, load_dataset
from hourglass.evaluation import eval_pipeline, predict_dataset
from hourglass.weights import load_model
from tests.conftest import make_checkpoint, tiny_mpii_config


def test_peaks_by_hand_of_the_last_stack():
    maps = torch.zeros(2, 3, 4, 5, 6)  # (B, S, K, H, W): 3 stacks of 4 maps, 5 x 6 (H x W)
    maps[:, 0] += 9.0  # the first stack does not count
    maps[0, -1, 1, 4, 5] = 0.7  # a peak in the corner
    maps[1, -1, 3, 2, 0] = -0.5  # negative values only: the maximum is the zero background
    peaks = heatmap_peaks(maps)
    assert peaks.shape == (2, 4) and peaks.dtype == np.float64
    assert peaks[0, 1] == pytest.approx(0.7) and peaks[1, 3] == 0.0 and peaks.sum() == pytest.approx(0.7)
    assert np.array_equal(heatmap_peaks(maps[:, -1].numpy()), peaks)  # (B, K, H, W) numpy alike
    with pytest.raises(ValueError, match=r"\(B, K, H, W\) or \(B, S, K, H, W\), got shape \(5, 6\)"):
        heatmap_peaks(torch.zeros(5, 6))


def test_warning_names_the_median_and_the_threshold():
    peaks = np.array([[0.02, 0.05, 0.9], [0.01, 0.03, 0.8]])  # median 0.04 < 0.1
    message = flat_heatmap_warning(peaks, where="runs/x")
    assert message is not None and "runs/x" in message
    assert "0.04" in message and "below 0.1" in message and "train longer" in message
    assert flat_heatmap_warning(peaks + 0.1) is None  # median 0.14
    assert flat_heatmap_warning(np.full((3, 2), 0.1)) is None  # the threshold itself is not flat
    assert flat_heatmap_warning(peaks, target_peak=0.3) is None  # threshold 0.03
    assert flat_heatmap_warning(np.zeros((0, 4))) is None
    assert FLAT_PEAK_FRACTION == 0.1


def _zeroed(loaded):
    for p in loaded.model.parameters():
        p.data.zero_()  # every heatmap exactly 0: a network that learnt nothing
    return loaded


def test_evaluation_warns_on_flat_heatmaps(tmp_path, holdout_faces, caplog):
    flat = _zeroed(load_model(make_checkpoint(tmp_path / "flat.pt")))
    with caplog.at_level(logging.WARNING, logger="hourglass.evaluation"):
        predict_dataset(flat, holdout_faces, progress=False)
    assert "flat heatmaps: the median heatmap maximum" in caplog.text and "0, below 0.1" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hourglass.evaluation"):
        predict_dataset(load_model("300w-hg2"), holdout_faces, progress=False)
    assert "flat heatmaps" not in caplog.text


def test_training_validation_warns_on_flat_heatmaps(shared_data, tmp_path, caplog):
    from hourglass.engine import build

    config = tiny_mpii_config(shared_data("mpii"), tmp_path / "run", val_split="test_mpii")
    val_set = load_dataset("mpii", shared_data("mpii"), "test_mpii")
    model = build.build_model_from_config(config, val_set.spec.num_keypoints)
    for p in model.parameters():
        p.data.zero_()
    ds = KeypointDataset(val_set, eval_pipeline(model, val_set.spec, config.sigma))
    loader = torch.utils.data.DataLoader(ds, batch_size=2)
    with caplog.at_level(logging.WARNING, logger="hourglass.engine"):
        build.validate(config, model, loader, val_set, torch.device("cpu"))
    assert "flat heatmaps" in caplog.text and "at this validation" in caplog.text


def test_presence_is_the_mean_of_the_larger_half_of_the_maxima():
    from hourglass.codec import presence_score

    peaks = np.array([[0.9, 0.1, 0.8, 0.2, 0.7], [0.0, 0.0, 0.0, 0.0, 0.0]])
    np.testing.assert_allclose(presence_score(peaks), [(0.9 + 0.8 + 0.7) / 3, 0.0])  # 3 of 5: half rounded up
    assert np.isnan(presence_score(np.full((2, 4), np.nan))).all()  # a regressor's NaN scores
    with pytest.raises(ValueError, match="peaks must be"):
        presence_score(np.zeros(3))
