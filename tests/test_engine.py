"""hourglass.engine: config and presets, checkpoints, NaN handling, in-process resume."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from conftest import tiny_mpii_config

from hourglass.engine import (
    PRESETS,
    TrainConfig,
    TrainingDiverged,
    build_model_from_config,
    check_architecture,
    latest_checkpoint,
    load_checkpoint,
    resolve_config,
    save_checkpoint,
    train,
)
from hourglass.engine.build import build_optimizer
from hourglass.engine.checkpoint import rng_state, set_rng_state
from hourglass.models import auto_depth


def test_presets_resolve_and_round_trip():
    for name in PRESETS:
        c = resolve_config(name)
        assert TrainConfig.from_dict(c.to_dict()) == c
    tiny = resolve_config("cpu-tiny", seed=5)
    assert tiny.seed == 5 and tiny.channels == 64 and tiny.stacks == 2
    model = build_model_from_config(tiny, 68)
    assert model.heatmap_size == (32, 32) and model.depth == auto_depth(model.heatmap_size) == 3  # bottleneck 4x4
    assert resolve_config("mpii-hg8", lr=None).learning_rate == 2.5e-4  # Newell's RMSprop
    assert resolve_config(optimizer="adam").learning_rate == 1e-3


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


def test_augmentation_geometry_reaches_the_training_pipeline_only(shared_data, tmp_path):
    from hourglass.engine.build import build_datasets, build_model_from_config, load_sets

    config = tiny_mpii_config(
        shared_data("mpii"), tmp_path, val_split="test_mpii", rotation=40, rotation_prob=0.6, scale_factor=[0.65, 1.35]
    )
    assert config.scale_factor == (0.65, 1.35)  # a JSON list comes back as the tuple
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    train_set, val_set, _ = load_sets(config, log=False)
    model = build_model_from_config(config, train_set.spec.num_keypoints)
    train_ds, val_ds = build_datasets(config, train_set, val_set, model=model)
    got = train_ds.pipeline.config
    assert (got.rotation, got.rotation_prob, got.scale_factor) == (40.0, 0.6, (0.65, 1.35))
    assert not val_ds.pipeline.config.train  # validation crops stay plain
    # Defaults are Newell et al.'s, which every run before these fields trained with.
    old = {k: v for k, v in config.to_dict().items() if k not in ("rotation", "rotation_prob", "scale_factor")}
    default = TrainConfig.from_dict(old)
    assert (default.rotation, default.rotation_prob, default.scale_factor) == (30.0, 0.4, (0.75, 1.25))


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
    old = {**resolve_config("cpu-tiny").to_dict(), "val_split": "holdout", "schedule": "cosine", "lr_milestones": [3]}
    assert TrainConfig.from_dict(old).val_fraction == 0.1
    resumed = resolve_config(base=old)
    assert (resumed.val_fraction, resumed.lr_milestones) == (0.0, ())


def test_unknown_preset_and_field():
    with pytest.raises(ValueError, match="available presets: .*cpu-tiny"):
        resolve_config("nope")
    with pytest.raises(ValueError, match="stackz"):
        resolve_config(stackz=2)


def test_checkpoint_atomic_weights_only_and_rng(tmp_path):
    model = build_model_from_config(TrainConfig(stacks=1, channels=16, input_size=64), 5)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    rng = rng_state()
    expect = (random.random(), np.random.rand(), torch.rand(1).item())
    path = save_checkpoint(
        {"model": model.state_dict(), "arch": model.arch, "rng": rng, "best": None}, tmp_path / "c.pt"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind
    torch.load(path, weights_only=True)
    ckpt = load_checkpoint(path)
    set_rng_state(ckpt["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expect
    check_architecture(ckpt, model)
    other = build_model_from_config(TrainConfig(stacks=2, channels=16, input_size=64), 5)
    with pytest.raises(ValueError, match="hourglass1.*hourglass2"):
        check_architecture(ckpt, other)
    assert latest_checkpoint(tmp_path) is None


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")


def test_nan_loss_stops_and_keeps_last_good_checkpoint(shared_data, tmp_path, one_thread):
    config = tiny_mpii_config(shared_data("mpii"), tmp_path / "run", optimizer="rmsprop", lr=1e30)
    with pytest.raises(TrainingDiverged, match=r"loss is (nan|inf).*last good checkpoint is .*last\.pt"):
        train(config, progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["step"] >= 1
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_resume_in_process_matches(shared_data, tmp_path, one_thread):
    root = shared_data("mpii")
    full = train(tiny_mpii_config(root, tmp_path / "full"), progress=False)
    assert full.step == 4  # 5 subjects, batch 2 -> 2 batches per epoch, 2 epochs
    part = train(tiny_mpii_config(root, tmp_path / "part", max_steps=3), progress=False)
    assert part.step == 3
    with pytest.raises(ValueError, match="already holds last.pt"):
        train(tiny_mpii_config(root, tmp_path / "part"), progress=False)
    resumed = train(tiny_mpii_config(root, tmp_path / "part"), resume=True, progress=False)
    assert resumed.step == 4
    assert resumed.final_loss == full.final_loss


def test_persistent_workers_draw_each_epochs_augmentation(shared_data, tmp_path, one_thread):
    """One DataLoader with persistent workers serves every epoch; the batch sampler names the
    epoch, so the workers' copies of the dataset draw epoch 2's augmentation, not epoch 1's
    again: the losses equal those of loading in the main process, step for step. A resume in
    the middle of an epoch picks up at the same place with workers too."""
    root = shared_data("mpii")
    kw = dict(epochs=3, val_split="test_mpii")
    plain = train(tiny_mpii_config(root, tmp_path / "plain", **kw), progress=False)
    workers = train(tiny_mpii_config(root, tmp_path / "workers", workers=2, **kw), progress=False)
    assert [h["train_loss"] for h in workers.history] == [h["train_loss"] for h in plain.history]
    assert [h["metric"] for h in workers.history] == [h["metric"] for h in plain.history]
    assert workers.final_loss == plain.final_loss and workers.step == plain.step == 6
    train(tiny_mpii_config(root, tmp_path / "part", workers=2, max_steps=3, **kw), progress=False)
    resumed = train(tiny_mpii_config(root, tmp_path / "part", workers=2, **kw), resume=True, progress=False)
    assert resumed.final_loss == plain.final_loss


def test_bf16_autocast_trains_on_the_cpu(shared_data, tmp_path, one_thread):
    """--amp bf16 runs on the CPU: finite losses, a validation metric, fp32 weights in the checkpoint."""
    root = shared_data("mpii")
    result = train(
        tiny_mpii_config(root, tmp_path / "bf16", amp="bf16", val_split="test_mpii", device="cpu"), progress=False
    )
    plain = train(  # amp "none": the default "auto" is bf16 on a CPU with native bf16
        tiny_mpii_config(root, tmp_path / "fp32", amp="none", val_split="test_mpii", device="cpu"), progress=False
    )
    assert result.step == 4 and np.isfinite(result.final_loss)
    assert result.final_loss != plain.final_loss  # the autocast did run (same seed and data otherwise)
    assert result.best_metric is not None and np.isfinite(result.best_metric)
    ckpt = load_checkpoint(tmp_path / "bf16" / "last.pt")
    assert all(v.dtype == torch.float32 for v in ckpt["model"].values() if v.is_floating_point())
    with pytest.raises(ValueError, match=r"amp='fp16' needs a CUDA device.*--amp bf16"):
        train(tiny_mpii_config(root, tmp_path / "fp16", amp="fp16", device="cpu"), progress=False)


def test_resume_with_a_changed_config_says_what_changed(shared_data, tmp_path, one_thread, caplog):
    root = shared_data("mpii")
    train(tiny_mpii_config(root, tmp_path / "run", max_steps=2), progress=False)
    with caplog.at_level("INFO", logger="hourglass.engine"):
        train(tiny_mpii_config(root, tmp_path / "run", max_steps=3), resume=True, progress=False)
    resumed = [r for r in caplog.records if r.getMessage().startswith("resumed from")]
    assert resumed and resumed[0].levelname == "INFO" and "config changed" not in resumed[0].getMessage()
    caplog.clear()
    with caplog.at_level("INFO", logger="hourglass.engine"):
        train(tiny_mpii_config(root, tmp_path / "run", epochs=3, lr=5e-4), resume=True, progress=False)
    resumed = [r for r in caplog.records if r.getMessage().startswith("resumed from")]
    message = resumed[0].getMessage()
    assert resumed[0].levelname == "WARNING"
    assert "the config changed: epochs 2 -> 3, lr None -> 0.0005 (" in message, message  # None: the default lr


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
