"""Modules and names that moved keep their old import path for one release, with a DeprecationWarning."""

import importlib
import sys

import pytest


@pytest.mark.parametrize(
    "old, new",
    [
        ("hourglass.engine.config", "hourglass.config"),
        ("hourglass.engine.evaluate", "hourglass.evaluation"),
        ("hourglass.engine.inference", "hourglass.evaluation"),
        ("hourglass.engine.comparison", "hourglass.evaluation"),
    ],
)
def test_old_module_paths_warn_and_alias(old, new):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=f"{old} moved to {new}"):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


@pytest.mark.parametrize(
    "old, name, new",
    [
        ("hourglass.engine.checkpoint", "save_checkpoint", "hourglass.checkpoint"),
        ("hourglass.engine.checkpoint", "LAST", "hourglass.checkpoint"),
        ("hourglass.data.dataset", "reduce_factor", "hourglass.geometry"),
        ("hourglass.data.dataset", "reduction_matrix", "hourglass.geometry"),
    ],
)
def test_old_names_warn_and_resolve(old, name, new):
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}.{name}"):
        got = getattr(importlib.import_module(old), name)
    assert got is getattr(importlib.import_module(new), name)


def test_old_cache_geometry_signature_still_answers():
    from hourglass.data import PipelineConfig
    from hourglass.geometry import cache_geometry

    config = PipelineConfig(input_size=(64, 64), heatmap_size=(16, 16))
    with pytest.warns(DeprecationWarning):
        old = importlib.import_module("hourglass.data.dataset").cache_geometry
    m_old, size_old = old((100.0, 80.0), 1.2, config)
    m_new, size_new = cache_geometry(
        (100.0, 80.0), 1.2, config.input_size, config.min_scale_factor, config.max_scale_factor, config.max_rotation
    )
    assert size_old == size_new and (m_old == m_new).all()
