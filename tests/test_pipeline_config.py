"""PipelineConfig (hourglass.data.pipeline_config): bad values are rejected, naming the field."""

from __future__ import annotations

import pytest

from hourglass.data.pipeline_config import PipelineConfig


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(input_size=(0, 256)), "input_size"),
        (dict(input_size=(256.5, 256)), "input_size"),
        (dict(heatmap_size=(64, 32)), "aspect ratio"),
        (dict(sigma=-1.0), "sigma"),
        (dict(scale_factor=(1.25, 0.75)), "scale_factor"),
        (dict(scale_factor=(0.0, 1.0)), "scale_factor"),
        (dict(rotation=200.0), "rotation"),
        (dict(flip_prob=1.5), "flip_prob"),
        (dict(noise_prob=-0.1), "noise_prob"),
        (dict(sampling="gaussian"), "sampling"),
        (dict(noise_std=(0.1, 2.0)), "noise_std"),
        (dict(mean=(0.5, 0.5)), "mean"),
        (dict(std=(0.2, 0.0, 0.2)), "std"),
        (dict(train="yes"), "train"),
    ],
)
def test_bad_config_values_are_rejected(kwargs, field):
    with pytest.raises(ValueError, match=field):
        PipelineConfig(**kwargs)
