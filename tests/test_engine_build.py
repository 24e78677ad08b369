"""hourglass.engine.build: the training and validation sets, pipelines and crop cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import tiny_mpii_config

from hourglass.engine import (
    TrainConfig,
    train,
)


def test_augmentation_geometry_reaches_the_training_pipeline_only(shared_data, tmp_path):
    from hourglass.engine.build import build_datasets, build_model_from_config, load_sets

    config = tiny_mpii_config(
        shared_data("mpii"),
        tmp_path,
        val_split="test_mpii",
        rotation=40,
        rotation_prob=0.6,
        scale_factor=[0.65, 1.35],
        crop_shift=0.2,
        partial_views=0.15,
    )
    assert config.scale_factor == (0.65, 1.35)  # a JSON list comes back as the tuple
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    train_set, val_set, _ = load_sets(config, log=False)
    model = build_model_from_config(config, train_set.spec.num_keypoints)
    train_ds, val_ds = build_datasets(config, train_set, val_set, model=model)
    got = train_ds.pipeline.config
    assert (got.rotation, got.rotation_prob, got.scale_factor, got.shift) == (40.0, 0.6, (0.65, 1.35), 0.2)
    assert (got.partial_prob, got.absent_targets) == (0.15, True)  # partial views: joints out of view learnt
    assert not _learns_absent_joints(config.replace(partial_views=0.0), train_set, val_set, model)
    assert not val_ds.pipeline.config.train and val_ds.pipeline.config.max_shift == 0  # validation crops stay plain
    # Defaults are Newell et al.'s, which every run before these fields trained with.
    old = {k: v for k, v in config.to_dict().items() if k not in ("rotation", "rotation_prob", "scale_factor")}
    default = TrainConfig.from_dict(old)
    assert (default.rotation, default.rotation_prob, default.scale_factor) == (30.0, 0.4, (0.75, 1.25))


def _learns_absent_joints(config, train_set, val_set, model):
    from hourglass.engine.build import build_datasets

    got = build_datasets(config, train_set, val_set, model=model)[0].pipeline.config
    return got.absent_targets or got.partial_prob > 0


def test_custom_data_refuses_a_validation_split_that_would_be_the_training_set(tmp_path, caplog):
    from conftest import REPO

    from hourglass.engine.build import load_sets

    example = str(REPO / "datasets" / "custom_example" / "annotations.json")
    config = TrainConfig(dataset="custom", data_root=example, out=str(tmp_path / "run"))  # val_split "valid"
    with pytest.raises(ValueError, match=r"custom format has no splits, so --val-split 'valid'.*--val-split none"):
        load_sets(config)
    train_set, val_set, _ = load_sets(config.replace(val_split=None, val_fraction=0.4))
    assert (len(train_set), len(val_set)) == (2, 1)  # the example's 3 subjects, 40 % held out
    assert {r.image for r in train_set}.isdisjoint(r.image for r in val_set)
    with caplog.at_level("WARNING", logger="hourglass.engine"):
        load_sets(TrainConfig(dataset="custom", data_root=example, val_split=None, out=str(tmp_path / "run")))
    assert "validating on the training split" not in caplog.text


def test_validating_on_the_training_split_is_said(shared_data, tmp_path, caplog):
    from hourglass.engine.build import load_sets

    root = str(shared_data("300w"))
    config = TrainConfig(dataset="300w", data_root=root, train_split="afw", val_split="afw", out=str(tmp_path))
    with caplog.at_level("WARNING", logger="hourglass.engine"):
        load_sets(config)
    assert "validating on the training split 'afw': the metric measures fit" in caplog.text


def test_crop_cache_is_built_once_and_read_by_training(shared_data, tmp_path, one_thread, monkeypatch):
    from hourglass.data.dataset import KeypointDataset

    reads = []
    load_cached = KeypointDataset._load_cached
    monkeypatch.setattr(KeypointDataset, "_load_cached", lambda self, *a: reads.append(1) or load_cached(self, *a))
    root, cache = shared_data("mpii"), tmp_path / "cache"
    config = tiny_mpii_config(root, tmp_path / "run", val_split="test_mpii", cache_dir=cache)
    result = train(config, progress=False)
    assert len(reads) == 4 * 2 + 5 * 2  # 4 steps of 2 training samples, 5 validation crops per epoch
    crops = sorted(cache.glob("*.json"))
    # 5 people x (the training crop, which covers every augmentation, + the plain validation crop)
    assert len(crops) == 10 and len(list(cache.glob("*.jpg"))) == 10
    assert result.step == 4 and np.isfinite(result.final_loss) and np.isfinite(result.best_metric)
    # (that a cached sample matches the uncached one is tests/test_pipeline.py's business)
    stamps = [p.stat().st_mtime_ns for p in crops]
    train(config.replace(out=str(tmp_path / "again")), progress=False)
    assert [p.stat().st_mtime_ns for p in sorted(cache.glob("*.json"))] == stamps  # reused, not rebuilt


def test_auto_amp_and_layout_become_the_devices_defaults():
    """amp "auto" and channels_last None: channels-last (+ bf16 where native) on the CPU, as before on GPUs."""
    import torch

    from hourglass.engine.build import concrete_config
    from hourglass.runtime import native_bf16

    config = TrainConfig()
    assert (config.amp, config.channels_last) == ("auto", None)
    cpu = concrete_config(config, torch.device("cpu"))
    assert cpu.channels_last is True and cpu.amp == ("bf16" if native_bf16() else "none")
    gpu = concrete_config(config, torch.device("cuda", 0))
    assert gpu.channels_last is False and gpu.amp == "none"
    explicit = TrainConfig(amp="none", channels_last=False)
    assert concrete_config(explicit, torch.device("cpu")) == explicit
