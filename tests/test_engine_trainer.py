"""hourglass.engine.trainer: runs that stop on NaN, resume exactly, draw each epoch's augmentation, train in bf16."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import tiny_mpii_config

from hourglass.engine import (
    TrainingDiverged,
    load_checkpoint,
    train,
)


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
