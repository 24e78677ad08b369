"""hourglass.config: TrainConfig checks its fields and names the bad one."""

from __future__ import annotations

import pytest

from hourglass.engine import (
    TrainConfig,
    build_model_from_config,
    resolve_config,
)
from hourglass.engine.build import build_optimizer


@pytest.mark.parametrize(
    "overrides, named",
    [
        ({"stacks": 3}, "stacks"),
        ({"optimizer": "sgd"}, "optimizer"),
        ({"amp": "fp8"}, "amp"),
        ({"channels": 33}, "channels"),
        ({"input_size": 100}, "input_size"),
        ({"lr": -1.0}, "lr"),
        ({"val_fraction": 1.5}, "val_fraction"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr_milestones": (5, 2)}, "lr_milestones"),
        ({"rotation": 200.0}, "rotation must be at most 180 degrees, got 200.0"),
        ({"rotation": -5}, "rotation must be a non-negative"),
        ({"rotation_prob": 1.5}, "rotation_prob must be a probability in"),
        ({"scale_factor": (1.25, 0.75)}, r"scale_factor must be \(low, high\) with 0 < low <= high, got \(1.25"),
        ({"scale_factor": (0.0, 1.0)}, "scale_factor must be"),
        ({"scale_factor": (0.7, 1.0, 1.3)}, "scale_factor must be two numbers"),
    ],
)
def test_config_errors_name_the_field(overrides, named):
    with pytest.raises(ValueError, match=named):
        resolve_config(**overrides)


def test_weight_decay_defaults_per_optimizer_and_an_explicit_zero_holds():
    assert resolve_config(optimizer="adam").weight_decay == 0.0
    assert resolve_config(optimizer="adamw").weight_decay == 1e-4
    adamw = resolve_config(optimizer="adamw", weight_decay=0.0)
    assert adamw.weight_decay == 0.0  # no longer turned into 1e-4
    model = build_model_from_config(TrainConfig(stacks=1, channels=16, input_size=64), 5)
    assert build_optimizer(adamw, model).param_groups[0]["weight_decay"] == 0.0


def test_flags_a_run_would_ignore(tmp_path):
    with pytest.raises(ValueError, match=r"lr_milestones \[60, 90\] must lie below epochs 10"):
        resolve_config("mpii-hg8", epochs=10)
    assert resolve_config("mpii-hg8", schedule="cosine").lr_milestones == ()  # the preset's, dropped
    with pytest.raises(ValueError, match="belong to the 'step' schedule, not 'cosine'"):
        resolve_config("cpu-tiny", lr_milestones=(2,))
    with pytest.raises(ValueError, match=r"val_fraction 0.1 would be ignored with val_split 'val'.*--val-split none"):
        resolve_config("lspet-hg-cpu", val_fraction=0.1)
    # A saved config from before these checks still loads (weights files), and resumes normalised.
    old = {**resolve_config("cpu-tiny").to_dict(), "schedule": "cosine", "lr_milestones": [3], "val_fraction": 0.1}
    assert TrainConfig.from_dict(old).val_fraction == 0.1
    resumed = resolve_config(base=old)
    assert (resumed.val_fraction, resumed.lr_milestones) == (0.0, ())


def test_crop_shift_is_checked_and_older_configs_load_without_it():
    assert TrainConfig().crop_shift == 0.0
    old = {k: v for k, v in TrainConfig(dataset="lspet").to_dict().items() if k != "crop_shift"}
    assert TrainConfig.from_dict(old).crop_shift == 0.0
    assert TrainConfig(crop_shift=0.25).crop_shift == 0.25
    for bad in (-0.1, 0.6, float("nan")):
        with pytest.raises(ValueError, match="crop_shift"):
            TrainConfig(crop_shift=bad)


def test_partial_views_are_checked_and_older_configs_load_without_them():
    old = {k: v for k, v in TrainConfig(dataset="lspet").to_dict().items() if k != "partial_views"}
    assert TrainConfig.from_dict(old).partial_views == 0.0
    assert TrainConfig(partial_views=0.15).partial_views == 0.15
    for bad in (-0.1, 0.6, float("nan")):
        with pytest.raises(ValueError, match="partial_views"):
            TrainConfig(partial_views=bad)
