"""hourglass.engine.resume and the trainer's resume path: hyper-parameters that a resume changes,
runs trained in --max-steps chunks, files that cannot be resumed, divergence in the gradients."""

from __future__ import annotations

import csv

import pytest
import torch
from conftest import tiny_mpii_config

import hourglass.engine.build as build
from hourglass.engine import TrainingDiverged, load_checkpoint, save_checkpoint, train
from hourglass.engine.resume import resume_config, resume_path


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_resume_applies_the_new_lr_and_weight_decay(shared_data, tmp_path, one_thread):
    root = shared_data("mpii")
    train(tiny_mpii_config(root, tmp_path / "run", max_steps=2), progress=False)
    train(
        tiny_mpii_config(root, tmp_path / "run", max_steps=3, lr=5e-4, weight_decay=0.01), resume=True, progress=False
    )
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    (group,) = ckpt["optimizer"]["param_groups"]
    # Step schedule over 2 epochs: the automatic milestone is epoch round(0.6 * 2) = 1, i.e. step 2,
    # so from step 2 on the lr is 0.1 x the base: 5e-4 x 0.1 for the step after step 3.
    assert group["weight_decay"] == 0.01 and group["initial_lr"] == 5e-4
    assert group["lr"] == pytest.approx(5e-5, rel=1e-12)
    assert ckpt["scheduler"]["base_lrs"] == [5e-4]
    steps = _rows(tmp_path / "run" / "steps.csv")
    assert [float(r["lr"]) for r in steps] == pytest.approx([1e-3, 1e-4, 5e-5], rel=1e-12)


def test_cosine_run_in_max_steps_chunks_repeats_the_uninterrupted_run(shared_data, tmp_path, one_thread):
    root = shared_data("mpii")
    kw = dict(schedule="cosine", warmup_steps=1)
    full = train(tiny_mpii_config(root, tmp_path / "full", **kw), progress=False)
    for max_steps in (1, 3):  # step 3 stops in the middle of epoch 2, which gets a partial row
        train(tiny_mpii_config(root, tmp_path / "part", max_steps=max_steps, **kw), resume=True, progress=False)
    assert [r["epoch"] for r in _rows(tmp_path / "part" / "log.csv")] == ["1", "2"]
    resumed = train(tiny_mpii_config(root, tmp_path / "part", **kw), resume=True, progress=False)
    assert resumed.step == full.step == 4
    assert resumed.final_loss == full.final_loss
    assert _rows(tmp_path / "part" / "steps.csv") == _rows(tmp_path / "full" / "steps.csv")  # same lr and loss
    part_log, full_log = _rows(tmp_path / "part" / "log.csv"), _rows(tmp_path / "full" / "log.csv")
    assert [(r["epoch"], r["step"], r["train_loss"], r["lr"]) for r in part_log] == [
        (r["epoch"], r["step"], r["train_loss"], r["lr"]) for r in full_log
    ]
    assert all(float(r["images_per_s"]) > 0 for r in part_log)


def test_files_that_cannot_be_resumed(shared_data, tmp_path, one_thread):
    root = shared_data("mpii")
    train(tiny_mpii_config(root, tmp_path / "run", max_steps=1), progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    weights = {"model": ckpt["model"], "arch": ckpt["arch"], "config": ckpt["config"], "source": {"step": 1}}
    save_checkpoint(weights, tmp_path / "packed.pt")
    with pytest.raises(ValueError, match=r"packed\.pt is a packed weights file: it has no optimizer.*last\.pt"):
        train(tiny_mpii_config(root, tmp_path / "other"), resume=tmp_path / "packed.pt", progress=False)
    with pytest.raises(ValueError, match=r"trained with --optimizer adam, not rmsprop.*--optimizer adam"):
        train(tiny_mpii_config(root, tmp_path / "run", optimizer="rmsprop"), resume=True, progress=False)
    with pytest.raises(ValueError, match="packed weights file"):
        resume_config(tmp_path / "packed.pt", tmp_path / "other")


def test_resume_finds_the_checkpoint_and_its_config(shared_data, tmp_path, one_thread, caplog):
    root = shared_data("mpii")
    config = tiny_mpii_config(root, tmp_path / "run", max_steps=1, lr=3e-4)
    with caplog.at_level("WARNING", logger="hourglass.engine"):
        assert resume_path(config, True) is None  # nothing yet: a fresh start, said out loud
    assert "no last.pt in run folder" in caplog.text and "starting a new run" in caplog.text
    assert resume_config("latest", tmp_path / "run") is None
    train(config, progress=False)
    last = tmp_path / "run" / "last.pt"
    assert resume_path(config, True) == resume_path(config, tmp_path / "run") == resume_path(config, last) == last
    from hourglass.engine.build import concrete_config

    saved = concrete_config(config, torch.device("cpu")).to_dict()  # amp "auto", channels_last None: as resolved
    assert resume_config("latest", tmp_path / "run") == {k: v for k, v in saved.items() if k != "max_steps"}
    with pytest.raises(FileNotFoundError, match="nowhere.pt"):
        resume_path(config, tmp_path / "nowhere.pt")
    with pytest.raises(ValueError, match="already holds last.pt; pass --resume"):
        resume_path(config, None)


def test_inf_gradients_with_a_finite_loss_stop_before_the_weights_break(shared_data, tmp_path, one_thread, monkeypatch):
    """From the second step one weight's gradient is NaN while the loss stays finite: the run stops
    before the optimiser applies it, and last.pt keeps the finite weights of step 1."""
    real = build.build_model_from_config

    def poisoned(config, num_keypoints):
        model = real(config, num_keypoints)
        calls = []

        def hook(grad):
            calls.append(1)
            return grad * float("inf") if len(calls) >= 2 else grad

        next(model.parameters()).register_hook(hook)
        return model

    monkeypatch.setattr(build, "build_model_from_config", poisoned)
    diverged = r"gradient norm is (nan|inf) at step 2 .*last good checkpoint is .*last\.pt"
    with pytest.raises(TrainingDiverged, match=diverged):
        train(tiny_mpii_config(shared_data("mpii"), tmp_path / "run"), progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["step"] == 1
    assert all(torch.isfinite(v).all() for v in ckpt["model"].values() if v.is_floating_point())


def test_best_checkpoint_tracks_the_lowest_nme_across_a_resume(shared_data, tmp_path, one_thread):
    """Faces validate with NME (lower is better): best.pt is the epoch with the lowest NME in
    log.csv, before and after a resume that adds epochs."""
    root = shared_data("300w")
    faces = dict(
        dataset="300w", data_root=str(root), train_split="afw", val_split="holdout", max_train_samples=4,
        max_val_samples=4, sigma=1.5, epochs=3, lr=2e-3,
    )  # fmt: skip
    for epochs in (3, 5):
        result = train(
            tiny_mpii_config(root, tmp_path / "run", **{**faces, "epochs": epochs}), resume=True, progress=False
        )
        rows = _rows(tmp_path / "run" / "log.csv")
        assert [int(r["epoch"]) for r in rows] == list(range(1, epochs + 1))
        nme = [float(r["metric_pct"]) for r in rows]  # log.csv in percent, checkpoints a fraction
        best = load_checkpoint(tmp_path / "run" / "best.pt")
        assert result.metric_name == best["metric_name"] == "nme_interocular"
        assert 100 * result.best_metric == pytest.approx(100 * best["best_metric"]) == pytest.approx(min(nme))
        assert best["step"] == int(rows[nme.index(min(nme))]["step"])


def test_a_weight_decay_the_saved_config_did_not_say_is_reported(shared_data, tmp_path, one_thread, caplog):
    """Older versions trained AdamW with 1e-4 when the config said 0: resuming such a run says so."""
    root = shared_data("mpii")
    train(tiny_mpii_config(root, tmp_path / "run", optimizer="adamw", max_steps=1), progress=False)
    ckpt = load_checkpoint(tmp_path / "run" / "last.pt")
    assert ckpt["config"]["weight_decay"] == 1e-4 == ckpt["optimizer"]["param_groups"][0]["weight_decay"]
    ckpt["config"]["weight_decay"] = 0.0  # what the old code saved
    save_checkpoint(ckpt, tmp_path / "run" / "last.pt")
    with caplog.at_level("WARNING", logger="hourglass.engine"):
        train(tiny_mpii_config(root, tmp_path / "run", optimizer="adamw", weight_decay=0.0, max_steps=2),
              resume=True, progress=False)  # fmt: skip
    assert "trained with weight decay 0.0001 although its config says 0.0" in caplog.text
    assert load_checkpoint(tmp_path / "run" / "last.pt")["optimizer"]["param_groups"][0]["weight_decay"] == 0.0
