"""tools/budget_train.py: epochs fitted to a wall-clock budget, Ctrl-C at the deadline, the export;
and the trainer's ``seconds_per_step`` it plans with."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hourglass.engine.trainer import _StepTiming
from hourglass.weights import load_model

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "budget_train.py"


def _tool_module():
    spec = importlib.util.spec_from_file_location("budget_train", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO
    )


def test_epochs_that_fit():
    fit = _tool_module().epochs_that_fit
    # 10 steps of 0.5 s plus 5 s a epoch: 10 s each
    assert fit(100.0, 10, 0.5, 5.0, 1000) == 10
    assert fit(99.9, 10, 0.5, 5.0, 1000) == 9
    assert fit(1.0, 10, 0.5, 5.0, 1000) == 1  # always at least one
    assert fit(-3.0, 10, 0.5, 5.0, 1000) == 1
    assert fit(100.0, 10, 0.5, 5.0, 3) == 3  # --max-epochs caps it


def test_step_timing_skips_the_first_steps():
    timing = _StepTiming()
    for step in range(1, _StepTiming.SKIP + 1):
        timing.tick(step)
        assert timing.seconds_per_step() is None  # start-up only so far
    time.sleep(0.02)
    timing.tick(_StepTiming.SKIP + 1)
    time.sleep(0.02)
    timing.tick(_StepTiming.SKIP + 2)
    assert timing.seconds_per_step() >= 0.02  # two steps of at least 20 ms each


def test_run_until_escalates_when_ctrl_c_is_ignored():
    child = "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(60)\n"
    t0 = time.monotonic()
    code, stopped = _tool_module().run_until([sys.executable, "-c", child], time.monotonic() + 0.5, None, grace_s=0.5)
    assert stopped and code == -15  # SIGTERM after the grace period
    assert time.monotonic() - t0 < 30


def test_run_until_sends_ctrl_c_at_the_deadline():
    child = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, lambda *a: sys.exit(130))\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)\n"
    )
    t0 = time.monotonic()
    code, stopped = _tool_module().run_until([sys.executable, "-c", child], time.monotonic() + 1.0, None)
    assert (code, stopped) == (130, True)
    assert time.monotonic() - t0 < 30  # stopped long before the child's own 60 s


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--budget-s", "10"], "give the tools/train.py flags after --"),
        (["--budget-s", "10", "--", "--out", "y"], "give the run folder as --out before the --"),
        (["--budget-s", "10", "--probe-steps", "5", "--", "--preset", "cpu-tiny"], "at least 12"),
        (["--budget-s", "0", "--", "--preset", "cpu-tiny"], "--budget-s and --max-epochs"),
        (["--budget-s", "10", "--grace-s", "-1", "--", "--preset", "cpu-tiny"], "--grace-s not negative"),
    ],
)
def test_flag_errors(args, message, tmp_path):
    out = tmp_path / "x"
    r = run_tool("--out", str(out), *args)
    assert r.returncode == 2 and message in r.stderr
    assert not out.exists()


def test_an_earlier_run_in_out_is_refused_before_the_probe(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "last.pt").write_bytes(b"")
    r = run_tool("--budget-s", "60", "--out", str(out), "--", "--preset", "cpu-tiny")
    assert r.returncode == 2 and "already holds last.pt" in r.stderr and "--resume" in r.stderr
    assert "[budget] probe" not in r.stdout and not (out / "probe").exists()


def test_a_budget_spent_in_the_probe_is_an_error(some_lspet, tmp_path):
    r = run_tool(
        "--budget-s", "1", "--out", str(tmp_path / "run"), "--",
        "--preset", "lspet-hg2-gpu", "--data-root", str(some_lspet), "--device", "cpu", "--workers", "0",
    )  # fmt: skip
    # (the probe, stopped while it imports, may print its own traceback first)
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith(
        "error: --budget-s 1 ran out during the probe"
    )


def test_budget_run_fits_its_epochs_and_exports_last_pt(some_lspet, tmp_path):
    out, export = tmp_path / "run", tmp_path / "exported.pt"
    r = run_tool(
        "--budget-s", "40", "--probe-steps", "12", "--epoch-overhead-s", "0.5", "--out", str(out),
        "--export", str(export), "--",
        "--preset", "lspet-hg2-gpu", "--data-root", str(some_lspet), "--device", "cpu", "--channels", "16",
        "--input-size", "64", "--batch-size", "8", "--workers", "0", "--threads", "1",
    )  # fmt: skip
    assert r.returncode == 0, r.stdout + r.stderr
    match = re.search(
        r"\[budget\] probe: [\d.]+ ms per step of 8 .*, 5 steps per epoch, start-up \d+ s; \d+ s left -> (\d+) epochs",
        r.stdout,
    )
    assert match, r.stdout
    epochs = int(match.group(1))
    assert epochs >= 2
    # the 40 present training images of 9000, no held-out image: warned, trained without validation
    assert "8960 of 9000 subjects of lspet:train" in r.stderr
    assert "500 of 500 subjects of lspet:val" in r.stderr and "training without validation" in r.stderr
    assert not (out / "probe").exists()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epoch"] == epochs and summary["step"] == 5 * epochs and not summary["interrupted"]
    assert summary["missing_images"] == {"train": 8960, "val": 500}
    assert summary["seconds_per_step"] > 0
    with open(out / "log.csv", newline="") as f:
        assert [int(row["epoch"]) for row in csv.DictReader(f)] == list(range(1, epochs + 1))
    for epoch in range(1, epochs + 1):  # echoed as each epoch ended
        assert f"[budget] epoch {epoch} step {5 * epoch} loss" in r.stdout
    loaded = load_model(export)  # the half-precision weights file of last.pt
    assert loaded.config.epochs == epochs and loaded.config.val_split == "val"
    assert f"[budget] exported {export}" in r.stdout


def test_a_run_stopped_before_its_first_checkpoint_is_an_error(some_lspet, tmp_path, monkeypatch, capsys):
    """The deadline fell while the run was still loading: no last.pt, so nothing to export (exit 1)."""
    from hourglass.engine.presets import resolve_config

    tool = _tool_module()
    out = tmp_path / "run"
    config = resolve_config("lspet-hg2-gpu", data_root=str(some_lspet))
    calls = []

    def fake_run_until(cmd, deadline, log_csv, grace_s):
        calls.append(cmd)
        if len(calls) == 1:  # the probe: what a finished probe leaves
            probe = out / "probe"
            probe.mkdir(parents=True)
            (probe / "config.json").write_text(json.dumps(config.to_dict()))
            (probe / "summary.json").write_text(json.dumps({"seconds_per_step": 0.5}))
            return 0, False
        return 130, True  # stopped at the deadline before saving anything

    monkeypatch.setattr(tool, "run_until", fake_run_until)
    code = tool.main(["--budget-s", "60", "--out", str(out), "--export", str(tmp_path / "w.pt"), "--",
                      "--preset", "lspet-hg2-gpu", "--data-root", str(some_lspet)])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 1 and "stopped before its first checkpoint" in captured.err and "--budget-s" in captured.err
    assert "--epochs" in calls[1] and not (tmp_path / "w.pt").exists()
    # 40 images, batch 32: 1 step per epoch of 0.5 s plus 2 s overhead
    assert "500.0 ms per step of 32 (64 images/s), 1 steps per epoch, start-up 0 s" in captured.out
