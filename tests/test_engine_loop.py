"""hourglass.engine.run_state and hourglass.engine.loop: the pieces of the training loop, one at a time,
on the tiny MPII run of ``conftest.tiny_mpii_config`` (5 people, batch 2: 2 batches per epoch)."""

from __future__ import annotations

import json
import math

import pytest
import torch
from conftest import tiny_mpii_config

import hourglass.engine.build as build
import hourglass.engine.distributed as ddp
from hourglass.checkpoint import LAST, load_checkpoint
from hourglass.engine.loop import TrainingDiverged, end_epoch, finish_run, train_epoch, train_step
from hourglass.engine.run_state import RunState, start_run


def _start(config, ckpt_path=None) -> RunState:
    info = ddp.env_info()
    return start_run(config, info, build.run_device(config, info), ckpt_path, progress=False)


def _epoch(run: RunState) -> None:
    with ddp.StopFlag(patience=1) as stop:
        t0, images = train_epoch(run, stop)
        end_epoch(run, t0, images)


def _same(a, b) -> bool:
    """Equal, NaN included (the history's metric is NaN without validation)."""
    return json.dumps(a) == json.dumps(b)


def _one_batch(run: RunState):
    """The training loader, set to give the first two subjects of epoch 0 as one batch."""
    run.epoch_batches.set(0, [[0, 1]])
    return run.train_loader


def test_one_epoch_advances_the_step_and_writes_last_pt(shared_data, tmp_path, one_thread):
    run = _start(tiny_mpii_config(shared_data("mpii"), tmp_path / "run", ckpt_every_steps=0))
    assert (run.epoch, run.batch_done, run.step, run.resumed) == (0, 0, 0, False)
    assert json.loads((tmp_path / "run" / "config.json").read_text())["epochs"] == 2
    with ddp.StopFlag(patience=1) as stop:
        t0, images = train_epoch(run, stop)
        assert (run.epoch, run.batch_done, run.step, images) == (0, 2, 2, 4)  # 2 batches of 2
        assert not (tmp_path / "run" / LAST).exists()  # no periodic checkpoint: only the epoch's end writes one
        end_epoch(run, t0, images)
    assert (run.epoch, run.batch_done, run.step) == (1, 0, 2)
    assert (run.epoch_loss_sum, run.epoch_images) == (0.0, 0)
    assert [row["epoch"] for row in run.history] == [1] and math.isfinite(run.history[0]["train_loss"])
    ckpt = load_checkpoint(tmp_path / "run" / LAST)
    assert (ckpt["epoch"], ckpt["batch"], ckpt["step"]) == (1, 0, 2)
    assert _same(ckpt["history"], run.history) and ckpt["last_loss"] == run.last_loss
    assert (tmp_path / "run" / "log.csv").is_file() and (tmp_path / "run" / "steps.csv").is_file()


def test_a_resumed_run_state_has_the_saved_counters_and_weights(shared_data, tmp_path, one_thread):
    config = tiny_mpii_config(shared_data("mpii"), tmp_path / "run")
    first = _start(config)
    _epoch(first)
    again = _start(config, tmp_path / "run" / LAST)
    assert again.resumed
    for name in ("epoch", "batch_done", "step", "best", "history", "epoch_loss_sum", "epoch_images", "last_loss"):
        assert _same(getattr(again, name), getattr(first, name)), name
    assert [int(r["step"]) for r in again.step_rows] == [1, 2]  # steps.csv rows up to the checkpoint's step
    for key, value in first.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[key], value), key
    _epoch(again)  # ... and goes on to the last epoch
    assert (again.epoch, again.step) == (2, 4)


def test_max_steps_ends_the_epoch_early_with_a_partial_row(shared_data, tmp_path, one_thread):
    run = _start(tiny_mpii_config(shared_data("mpii"), tmp_path / "run", max_steps=1))
    _epoch(run)
    assert run.max_steps_reached() and (run.epoch, run.batch_done, run.step) == (0, 1, 1)
    assert [(row["epoch"], row["step"]) for row in run.history] == [(1, 1)]  # the epoch's partial row
    assert load_checkpoint(tmp_path / "run" / LAST)["batch"] == 1


def test_end_epoch_leaves_an_epoch_cut_short_alone(shared_data, tmp_path, one_thread):
    run = _start(tiny_mpii_config(shared_data("mpii"), tmp_path / "run"))
    run.batch_done = 1  # half an epoch, no max_steps: nothing to validate or log yet
    end_epoch(run, 0.0, 2)
    assert run.history == [] and run.epoch == 0 and not (tmp_path / "run" / "log.csv").exists()


def test_a_nan_loss_stops_before_the_step(shared_data, tmp_path, one_thread, monkeypatch):
    run = _start(tiny_mpii_config(shared_data("mpii"), tmp_path / "run"))
    real = build.batch_loss

    def nan_loss(config, output, batch):
        loss, den = real(config, output, batch)
        return loss * math.nan, den

    monkeypatch.setattr(build, "batch_loss", nan_loss)
    batch = next(iter(_one_batch(run)))
    before = {k: p.detach().clone() for k, p in run.model.named_parameters()}  # batch norm's statistics move
    with ddp.StopFlag(patience=1) as stop, pytest.raises(TrainingDiverged, match="loss is nan at step 1 .epoch 1"):
        train_step(run, batch, stop)
    assert (run.step, run.batch_done) == (0, 0)
    assert all(torch.equal(p, before[k]) for k, p in run.model.named_parameters())


def test_finish_run_after_ctrl_c_saves_last_pt_and_the_summary(shared_data, tmp_path, one_thread):
    run = _start(tiny_mpii_config(shared_data("mpii"), tmp_path / "run", ckpt_every_steps=0))
    with ddp.StopFlag(patience=1) as stop:
        value, n, stopping = train_step(run, next(iter(_one_batch(run))), stop)
    assert (n, stopping, run.step) == (2, False, 1) and value == run.last_loss
    run.interrupted = True
    finish_run(run)
    assert load_checkpoint(tmp_path / "run" / LAST)["step"] == 1
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["interrupted"] and summary["step"] == 1 and summary["seconds_per_step"] is None
