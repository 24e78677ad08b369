"""tools/train.py end to end on real data: tiny runs, SIGKILL + resume, user errors."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hourglass.engine import load_checkpoint

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "train.py"


def run_tool(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(TOOL), "--threads", "1", "--no-progress", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
    )  # fmt: skip


def tiny(out: Path) -> list[str]:
    return ["--channels", "32", "--input-size", "64", "--batch-size", "2", "--out", str(out)]


@pytest.mark.parametrize("model", ["hourglass", "vgg"])
def test_mpii_tiny_run(shared_data, tmp_path, model):
    root = shared_data("mpii")
    extra = ["--stacks", "8"] if model == "hourglass" else ["--model", "vgg", "--vgg-width", "0.125"]
    r = run_tool(
        *extra, "--dataset", "mpii", "--data-root", str(root), "--train-split", "test_mpii",
        "--val-split", "test_mpii", "--max-steps", "2", *tiny(tmp_path / "run"),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "done: 2 steps" in r.stdout
    run = tmp_path / "run"
    for name in ("last.pt", "best.pt", "config.json", "log.csv", "steps.csv", "curves.png", "summary.json"):
        assert (run / name).is_file(), name
    ckpt = load_checkpoint(run / "last.pt")
    assert ckpt["arch"]["name"] == ("hourglass8" if model == "hourglass" else "vgg16_gap")
    assert ckpt["step"] == 2 and ckpt["metric_name"] == "pck@0.2"


def _steps(run: Path) -> list[tuple[int, str]]:
    with open(run / "steps.csv", newline="") as f:
        return [(int(r["step"]), r["loss"]) for r in csv.DictReader(f)]


def _signal_after_two_steps(args: list[str], run: Path, sig: int) -> tuple[int, str]:
    """Run the tool on ``run`` and send ``sig`` once its last.pt and 2 rows of steps.csv exist;
    returns the exit status and stderr."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, str(TOOL), "--threads", "1", "--no-progress", *args]
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if (run / "last.pt").is_file() and (run / "steps.csv").is_file() and len(_steps(run)) >= 2:
                proc.send_signal(sig)
                break
            time.sleep(0.01)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    return proc.returncode, err


def test_sigkill_and_resume_reproduces_losses(shared_data, tmp_path):
    root = shared_data("300w/afw")
    args = [
        "--stacks", "1", "--dataset", "300w", "--data-root", str(root.parent), "--train-split", "afw",
        "--val-split", "none", "--val-fraction", "0.1", "--max-val-samples", "4", "--max-train-samples", "12",
        "--epochs", "3", "--log-every", "1", "--ckpt-every-steps", "1", "--seed", "3",
    ]  # fmt: skip
    full = run_tool(*args, *tiny(tmp_path / "full"))
    assert full.returncode == 0, full.stderr

    killed = tmp_path / "killed"
    returncode, _ = _signal_after_two_steps([*args, *tiny(killed)], killed, signal.SIGKILL)
    assert returncode == -signal.SIGKILL, "the run finished before it could be killed"
    at_kill = load_checkpoint(killed / "last.pt")
    assert at_kill["step"] < 18

    resumed = run_tool(*args, *tiny(killed), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    a = json.loads((tmp_path / "full" / "summary.json").read_text())
    b = json.loads((killed / "summary.json").read_text())
    assert a["step"] == b["step"] == 18
    assert abs(a["final_loss"] - b["final_loss"]) <= 1e-6
    assert _steps(tmp_path / "full") == _steps(killed)  # every step's loss, bit for bit
    print(f"killed at step {at_kill['step']} (epoch {at_kill['epoch']}, batch {at_kill['batch']}); "
          f"final loss {a['final_loss']!r} vs resumed {b['final_loss']!r}")  # fmt: skip


def test_ctrl_c_saves_and_the_printed_resume_command_finishes_the_run(shared_data, tmp_path):
    """SIGINT: last.pt is saved, exit 130, and the printed command (--out RUN --resume, no other
    flag) finishes the run with the same losses as an uninterrupted one."""
    root = shared_data("300w/afw")
    args = [
        "--stacks", "1", "--dataset", "300w", "--data-root", str(root.parent), "--train-split", "afw",
        "--val-split", "none", "--max-train-samples", "12", "--epochs", "2", "--log-every", "1", "--seed", "4",
        "--ckpt-every-steps", "1",
    ]  # fmt: skip
    full = run_tool(*args, *tiny(tmp_path / "full"))
    assert full.returncode == 0, full.stderr
    run = tmp_path / "run"
    returncode, err = _signal_after_two_steps([*args, *tiny(run)], run, signal.SIGINT)
    assert returncode == 130, err
    step = load_checkpoint(run / "last.pt")["step"]
    assert 2 <= step < 12
    assert f"interrupted at step {step}; resume with --out {run} --resume" in err

    resumed = run_tool("--out", str(run), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "config changed" not in resumed.stderr
    assert _steps(tmp_path / "full") == _steps(run)  # every step's loss, bit for bit


def test_missing_data_root(tmp_path):
    r = run_tool("--dataset", "300w", "--data-root", str(tmp_path / "nowhere"), *tiny(tmp_path / "run"))
    assert r.returncode == 2
    assert "nowhere" in r.stderr and "does not exist" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_unknown_preset(tmp_path):
    r = run_tool("--preset", "mpii-hg9", "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert "mpii-hg9" in r.stderr and "cpu-tiny" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_wrong_architecture_checkpoint(shared_data, tmp_path):
    root = shared_data("mpii")
    data = ["--dataset", "mpii", "--data-root", str(root), "--train-split", "test_mpii", "--val-split", "none"]
    first = run_tool("--stacks", "1", *data, "--max-steps", "1", *tiny(tmp_path / "a"))
    assert first.returncode == 0, first.stderr
    r = run_tool("--stacks", "2", *data, "--max-steps", "1", *tiny(tmp_path / "b"), "--resume",
                 str(tmp_path / "a" / "last.pt"))  # fmt: skip
    assert r.returncode == 2
    assert "hourglass1" in r.stderr and "hourglass2" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_resume_with_only_out_continues_the_run_with_its_config(shared_data, tmp_path):
    root = shared_data("mpii")
    run = tmp_path / "run"
    first = run_tool(
        "--stacks", "1", "--dataset", "mpii", "--data-root", str(root), "--train-split", "test_mpii",
        "--val-split", "none", "--optimizer", "adam", "--epochs", "2", "--max-steps", "1", *tiny(run),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    again = run_tool("--out", str(run), "--resume", "--max-steps", "3")
    assert again.returncode == 0, again.stderr
    assert "done: 3 steps" in again.stdout
    assert "config changed" not in again.stderr  # max_steps only controls the run
    longer = run_tool("--out", str(run), "--resume", "--epochs", "3")
    assert longer.returncode == 0, longer.stderr
    assert "the config changed: epochs 2 -> 3" in longer.stderr
    assert "done: 6 steps" in longer.stdout
    saved = json.loads((run / "config.json").read_text())
    assert (saved["stacks"], saved["channels"], saved["optimizer"], saved["epochs"]) == (1, 32, "adam", 3)

    packed = tmp_path / "weights.pt"
    ckpt = load_checkpoint(run / "last.pt")
    torch.save({"model": ckpt["model"], "arch": ckpt["arch"], "config": ckpt["config"], "source": {}}, packed)
    r = run_tool("--out", str(tmp_path / "new"), "--resume", str(packed))
    assert r.returncode == 2
    assert "weights.pt is a packed weights file" in r.stderr and len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--preset", "mpii-hg8", "--epochs", "10"], "lr_milestones [60, 90] must lie below epochs 10"),
        (["--preset", "cpu-tiny", "--lr-milestones", "2"], "belong to the 'step' schedule, not 'cosine'"),
        (["--preset", "lspet-hg-cpu", "--val-fraction", "0.1"], "0.1 would be ignored with val_split 'val'"),
        (["--preset", "lspet-hg-cpu", "--val-split", "val", "--val-fraction", "0.1"], "would be ignored"),
        (["--preset", "mpii-hg8", "--crop-padding", "1.3"], "crop_padding 1.3 applies to the datasets framed"),
        (["--preset", "cpu-tiny", "--init-from", "nope"], "no model 'nope': not a file"),
        (["--preset", "cpu-tiny", "--scale-factor", "1.3", "0.7"], "scale_factor must be (low, high) with 0 < low"),
        (["--preset", "cpu-tiny", "--rotation-prob", "2"], "rotation_prob must be a probability in [0, 1]"),
    ],
)
def test_flags_that_would_be_ignored_or_name_nothing_are_errors(tmp_path, args, named):
    r = run_tool(*args, "--out", str(tmp_path / "run"))
    assert r.returncode == 2
    assert named in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_ctrl_c_outside_the_training_steps_is_a_clean_exit(monkeypatch, capsys, tmp_path):
    """Ctrl-C while the data loads (before the loop can checkpoint): exit 130 and a line, no traceback."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_tool", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tool, "train", interrupted)
    assert tool.main(["--preset", "cpu-tiny", "--data-root", str(tmp_path), "--out", str(tmp_path / "run")]) == 130
    err = capsys.readouterr().err
    assert "interrupted (Ctrl-C) before the training steps began or after they ended" in err
    assert "Traceback" not in err


def test_resume_from_a_truncated_last_pt_says_so_in_one_line(tmp_path):
    """The one checkpoint reader names the file and what went wrong, not the raw zip error."""
    from conftest import make_checkpoint

    run = tmp_path / "run"
    last = make_checkpoint(run / "last.pt")
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # cut short
    r = run_tool("--out", str(run), "--resume")
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: cannot read model file {last}") and "corrupt or truncated" in r.stderr
    assert r.stderr.count("\n") == 1 and "zip" not in r.stderr.lower()
