"""Background crops with empty targets (hourglass.data.negatives) and their place in training."""

from __future__ import annotations

import pytest
import torch

from hourglass.data import KeypointDataset, PipelineConfig, TopDownPipeline
from hourglass.data.negatives import WithNegatives, negative_count


def test_negative_count():
    assert negative_count(900, 0.1) == 100 and negative_count(10, 0.0) == 0
    with pytest.raises(ValueError, match="negative fraction"):
        negative_count(10, 1.0)


def test_negatives_come_after_the_positives_with_empty_weighted_targets(holdout_faces):
    pipe = TopDownPipeline(PipelineConfig(input_size=(64, 64), heatmap_size=(16, 16), sigma=1.0), holdout_faces.spec)
    positives = KeypointDataset(holdout_faces, pipe, progress=False)
    data = WithNegatives(positives, 0.25, seed=3)
    n = len(positives)
    assert len(data) == n + 2 and data.negatives == 2  # 6 faces: a quarter of 8 samples
    first = data[(0, 0)]
    assert torch.equal(first.heatmaps, positives[(0, 0)].heatmaps) and first.heatmaps.max() > 0.5
    for i in range(n, len(data)):
        neg = data[(0, i)]
        assert neg.heatmaps.abs().max() == 0 and torch.all(neg.target_weight == 1)
        assert not neg.labelled.any() and torch.all(neg.coord_weight == 0)
        assert neg.image.shape == first.image.shape and neg.image.std() > 0  # a real crop, not blank
    # the rule that keeps negatives away from annotated faces: a face's own crop is not clear,
    # one a crop side away is
    r = holdout_faces[0]
    assert not data._clear(str(r.image), r.center, r.scale)
    assert data._clear(str(r.image), r.center + 200 * r.scale, r.scale)
    again = WithNegatives(positives, 0.25, seed=3)
    assert torch.equal(again[(0, n)].image, data[(0, n)].image)  # reproducible per (epoch, index)
    assert not torch.equal(data[(1, n)].image, data[(0, n)].image)  # and new each epoch
    with pytest.raises(IndexError, match="out of range"):
        data[len(data)]


def test_training_with_negatives_says_so(shared_data, tmp_path, caplog):
    """A short cpu-tiny-sized run: the summary names the background crops."""
    from hourglass.engine import resolve_config, train

    config = resolve_config(
        "cpu-tiny", data_root=str(shared_data("300w")), out=str(tmp_path / "run"), epochs=1,
        max_train_samples=32, max_val_samples=8, negative_fraction=0.2,
    )  # fmt: skip
    assert config.negative_fraction == 0.2
    with caplog.at_level("INFO"):
        train(config)
    assert "32 training subjects (fit) + 8 background crops" in caplog.text
