"""What a person reads from training: the start-up summary, a line per epoch in percent, no
carriage-return progress in a log, metrics in percent in log.csv / summary.json / curves.png,
defaults that follow the dataset and the device, and every tool's --help."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hourglass._help import plain_text
from hourglass.engine import runlog
from hourglass.engine.presets import CPU_SIZED, cpu_sized, cpu_sized_note, resolve_config

REPO = Path(__file__).resolve().parents[1]
TOOLS = ("train", "eval", "compare", "infer", "export", "pack_weights", "average_weights", "budget_train", "demo")


def _tool(name: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / f"{name}.py"), *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
    )  # fmt: skip


def test_console_summary_epoch_lines_and_percent(shared_data, tmp_path):
    root, run = shared_data("mpii"), tmp_path / "run"
    r = _tool(
        "train", "--threads", "1", "--stacks", "1", "--channels", "16", "--input-size", "64", "--dataset", "mpii",
        "--data-root", str(root), "--train-split", "test_mpii", "--val-split", "test_mpii", "--batch-size", "2",
        "--epochs", "2", "--out", str(run),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr  # stderr is a pipe: no progress bar redrawn with carriage returns
    # the CPU defaults: channels-last, with bf16 autocast where the CPU has native bf16
    assert re.search(r"precision (bf16 autocast|float32), channels-last layout", r.stderr), r.stderr
    for part in ("5 training subjects (test_mpii), 5 validation subjects", "parameters", "device: cpu",
                 "2 epochs x 2 steps (batch 2)", f"output: {run}"):  # fmt: skip
        assert part in r.stderr, (part, r.stderr)
    lines = re.findall(r"^epoch (\d)/2 step \d+: loss [\d.e-]+, pck@0.2 [\d.]+ %", r.stderr, re.M)
    assert lines == ["1", "2"], r.stderr
    assert re.search(r"best pck@0.2 [\d.]+ %", r.stdout)
    with open(run / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert "metric" not in rows[0] and 0 <= float(rows[-1]["metric_pct"]) <= 100
    summary = json.loads((run / "summary.json").read_text())
    assert "best_metric" not in summary and summary["best_metric_pct"] == max(float(x["metric_pct"]) for x in rows)


def test_old_log_rows_read_in_percent():
    assert runlog.metric_pct({"metric": "0.25"}) == 25.0  # a log.csv written before metric_pct
    assert runlog.metric_pct({"metric_pct": "25.0", "metric": ""}) == 25.0
    assert runlog.metric_pct({"metric": ""}) != runlog.metric_pct({"metric": ""})  # NaN: no validation


def test_curves_in_percent_on_a_linear_axis(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    axes = []
    monkeypatch.setattr(Figure, "savefig", lambda self, path, **kw: (axes.extend(self.axes), Path(path).touch()))
    rows = [{"epoch": e, "train_loss": 0.01 / e, "metric": m} for e, m in ((1, 0.9), (2, 0.2), (3, 0.08))]
    runlog.plot_history(tmp_path / "curves.png", rows, "nme_interocular")
    metric_axis = axes[1]
    assert metric_axis.get_yscale() == "linear" and "%" in metric_axis.get_ylabel()
    assert list(metric_axis.lines[0].get_ydata()) == pytest.approx([90.0, 20.0, 8.0])


@pytest.mark.parametrize(
    ("dataset", "train_split", "val_split", "val_fraction"),
    [("300w", "fit", "holdout", 0.0), ("mpii", "train", "valid", 0.0), ("lspet", "train", "val", 0.0),
     ("custom", "train", None, 0.1)],
)  # fmt: skip
def test_splits_follow_the_dataset(dataset, train_split, val_split, val_fraction):
    config = resolve_config(dataset=dataset)
    assert (config.train_split, config.val_split, config.val_fraction) == (train_split, val_split, val_fraction)
    assert resolve_config(dataset=dataset, train_split="all").train_split == "all"


def test_a_cpu_run_without_a_preset_gets_the_cpu_sized_network():
    config = resolve_config(dataset="300w", device="cpu")
    assert (config.stacks, config.channels, config.input_size) == (2, 128, 128)
    note = cpu_sized_note(cpu_sized({"dataset": "300w", "device": "cpu", "stacks": 4}))
    assert "CPU-sized" in note and "channels=128" in note and "stacks" not in note.split("(")[1].split(")")[0]
    assert "--preset" in note and cpu_sized({"device": "cuda"}) == {} and cpu_sized_note({}) is None
    vgg = resolve_config(dataset="300w", device="cpu", model="vgg")
    assert (vgg.vgg_width, vgg.input_size) == (CPU_SIZED["vgg"]["vgg_width"], 128)
    assert resolve_config(dataset="300w", device="cpu", channels=256).channels == 256  # given flags win
    assert resolve_config("300w-hg", device="cpu").channels == 256  # a preset is left alone
    if not torch.cuda.is_available():
        assert resolve_config(dataset="300w").input_size == 128  # "auto" is a CPU here


def test_300w_without_a_preset_finds_its_splits(shared_data, tmp_path):
    r = _tool("train", "--dataset", "300w", "--data-root", str(shared_data("300w")), "--channels", "16",
              "--max-train-samples", "4", "--max-val-samples", "2", "--batch-size", "2", "--max-steps", "1",
              "--threads", "1", "--out", str(tmp_path / "run"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "(fit)" in r.stderr and "(holdout)" in r.stderr and "network: CPU-sized" in r.stderr


@pytest.mark.parametrize("name", TOOLS)
def test_help_is_plain_text_with_defaults(name):
    r = _tool(name, "--help", timeout=60)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert "``" not in text and not re.search(r":(func|mod|class|meth):", text), text
    assert "\\\n" not in text or "--" in text.split("\\\n")[1].split()[0]  # continuations continue a command
    options = re.split(r"\n(?=  -)", text.split("\noptions:\n", 1)[1])
    for block in options:
        flag = block.split()[0].rstrip(",")
        assert len(block.split()) > 1 + block.count("{"), f"{name} {flag} has no help text"
    if name in ("eval", "compare", "demo", "average_weights", "pack_weights", "infer", "export"):
        assert "(default: " in text


def test_plain_text_strips_markup():
    assert plain_text("see ``x.pt`` and :func:`hourglass.weights.export_weights` **now**") == (
        "see x.pt and hourglass.weights.export_weights now"
    )


def test_train_help_torchrun_example_is_one_command():
    r = _tool("train", "--help", timeout=60)
    line = next(x for x in r.stdout.splitlines() if x.strip().startswith("torchrun"))
    assert line.rstrip().endswith("\\"), line  # the continuation is printed, the next line goes on
    assert "         --train-split" not in line


def test_cpu_tiny_is_the_measured_recipe():
    """cpu-tiny validates on the held-out faces the shipped face model is measured on, trains on one
    thread, and its comment and docs/training.md state the NME and minutes of a measured run."""
    config = resolve_config("cpu-tiny")
    assert (config.dataset, config.train_split, config.val_split, config.threads) == ("300w", "fit", "holdout", 1)
    assert (config.stacks, config.channels, config.input_size, config.batch_size) == (1, 64, 64, 8)
    docs = (REPO / "docs" / "training.md").read_text()
    presets = (REPO / "hourglass" / "engine" / "presets.py").read_text()
    for text in (docs, presets):
        found = re.search(
            r"cpu-tiny\W{0,3} reached ([\d.]+) % held-out NME.{0,120}? in ([\d.]+) min", " ".join(text.split())
        )
        assert found, "the measured NME and minutes of cpu-tiny are not stated"
        assert float(found.group(1)) <= 12 and float(found.group(2)) <= 10


def test_progress_bar_ends_at_its_total(shared_data, tmp_path, monkeypatch, one_thread):
    """A run that stops at max_steps on an epoch's last batch used to leave the bar one step short."""
    import io

    from tqdm.auto import tqdm

    from hourglass.engine import loop, train
    from tests.conftest import tiny_mpii_config

    bars, sink = [], io.StringIO()

    def recorded(*args, **kwargs):
        bars.append(tqdm(*args, **{**kwargs, "disable": False, "file": sink}))
        return bars[-1]

    monkeypatch.setattr(loop, "tqdm", recorded)
    train(tiny_mpii_config(shared_data("mpii"), tmp_path / "run", max_steps=2), progress=False)  # 2 steps an epoch
    assert [(b.n, b.total) for b in bars] == [(2, 2)]
