"""hourglass.engine.presets: every preset resolves, round-trips and builds."""

from __future__ import annotations

import pytest

from hourglass.engine import (
    PRESETS,
    TrainConfig,
    build_model_from_config,
    resolve_config,
)
from hourglass.models import auto_depth


def test_presets_resolve_and_round_trip():
    for name in PRESETS:
        c = resolve_config(name)
        assert TrainConfig.from_dict(c.to_dict()) == c
    tiny = resolve_config("cpu-tiny", seed=5)
    assert tiny.seed == 5 and tiny.channels == 64 and tiny.stacks == 1
    model = build_model_from_config(tiny, 68)
    assert model.heatmap_size == (16, 16) and model.depth == auto_depth(model.heatmap_size) == 2  # bottleneck 4x4
    assert resolve_config("mpii-hg8", lr=None).learning_rate == 2.5e-4  # Newell's RMSprop
    assert resolve_config(optimizer="adam").learning_rate == 1e-3


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="available presets: .*cpu-tiny"):
        resolve_config("nope")
    with pytest.raises(ValueError, match="stackz"):
        resolve_config(stackz=2)
