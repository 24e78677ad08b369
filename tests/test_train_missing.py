"""Training with missing image files (checked before training) and the optional TensorBoard scalars."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hourglass.data import Annotation, AnnotationSet, DataError, load_dataset
from hourglass.data import drop_missing_images as check_images
from hourglass.engine import TrainConfig, load_checkpoint, train
from hourglass.keypoints import LSP

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "train.py"


# --- check_images on synthetic records ------------------------------------------------------
def _record(image: Path, i: int) -> Annotation:
    k = LSP.num_keypoints
    return Annotation(
        image=image, keypoints=np.full((k, 2), 10.0), labelled=np.ones(k, bool), visible=np.ones(k, bool),
        center=np.array([16.0, 16.0]), scale=0.2, spec=LSP, source=f"{image.parent / 'ann.json'}[{i}]",
    )  # fmt: skip


def _set(tmp_path: Path, present: list[str], names: list[str]) -> AnnotationSet:
    """One record per entry of ``names`` (a name may repeat: two people in one image)."""
    for name in present:
        (tmp_path / name).write_bytes(b"")  # existence is all that is checked
    return AnnotationSet([_record(tmp_path / n, i) for i, n in enumerate(names)], LSP, "synthetic:train")


def test_warn_drops_missing_and_logs_count_and_first_paths(tmp_path, caplog):
    names = ["a.jpg", "gone1.jpg", "b.jpg", "gone1.jpg", "gone2.jpg", "gone3.jpg", "gone4.jpg"]
    ann = _set(tmp_path, ["a.jpg", "b.jpg"], names)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        kept, dropped = check_images(ann, "warn", split="training", data_root=tmp_path)
    assert dropped == 5 and [r.image.name for r in kept] == ["a.jpg", "b.jpg"]
    assert kept.name == ann.name and kept.spec == ann.spec
    [rec] = [r for r in caplog.records if r.name == "hourglass.data"]
    assert rec.levelno == logging.WARNING
    msg = rec.getMessage()
    assert "5 of 7 subjects" in msg and "4 image files" in msg and "training" in msg
    # the first three distinct missing files, in record order, each with its record
    assert str(tmp_path / "gone1.jpg") in msg and "ann.json[1]" in msg
    assert str(tmp_path / "gone2.jpg") in msg and str(tmp_path / "gone3.jpg") in msg
    assert "gone4.jpg" not in msg


def test_nothing_missing_returns_the_set_unchanged(tmp_path, caplog):
    ann = _set(tmp_path, ["a.jpg"], ["a.jpg", "a.jpg"])
    with caplog.at_level(logging.WARNING):
        kept, dropped = check_images(ann, "error")
    assert kept is ann and dropped == 0 and not caplog.records


def test_error_names_count_paths_and_the_way_out(tmp_path):
    ann = _set(tmp_path, ["a.jpg"], ["a.jpg", "gone.jpg"])
    with pytest.raises(DataError, match=r"1 of 2 subjects.*gone\.jpg.*ann\.json\[1\].*--missing-images warn"):
        check_images(ann, "error", split="training")


def test_all_training_images_missing_is_always_an_error(tmp_path):
    ann = _set(tmp_path, [], ["x.jpg", "y.jpg"])
    root = tmp_path / "wrong-root"
    for policy in ("warn", "error"):
        with pytest.raises(DataError, match=r"none of the 2 image files.*x\.jpg.*wrong-root.*--data-root"):
            check_images(ann, policy, split="training", data_root=root)
    # a validation split without images only warns (the run then has no validation)
    kept, dropped = check_images(ann, "warn", split="validation", log=False)
    assert len(kept) == 0 and dropped == 2


def test_bad_policy_and_config_field():
    with pytest.raises(ValueError, match="policy"):
        check_images(AnnotationSet([], LSP, "empty"), "skip")
    with pytest.raises(ValueError, match="missing_images"):
        TrainConfig(missing_images="skip")


# --- real data: the MPII validation annotations, of which only 5 images exist ---------------
def _existing(root: Path, split: str) -> tuple[int, int]:
    ann = load_dataset("mpii", root, split)
    present = sum(os.path.exists(r.image) for r in ann)
    return len(ann), present


def run_tool(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, str(TOOL), "--threads", "1", "--no-progress", *args],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
    )  # fmt: skip


def test_tool_trains_on_the_mpii_images_that_exist(shared_data, tmp_path):
    root = shared_data("mpii/annot/valid.h5").parents[1]
    total, present = _existing(root, "valid")
    assert 0 < present < total  # the shared copy holds the annotations of 2958 people, 5 images
    out = tmp_path / "run"
    r = run_tool(
        "--stacks", "8", "--channels", "16", "--input-size", "64", "--batch-size", "2", "--dataset", "mpii",
        "--data-root", str(root), "--train-split", "valid", "--val-split", "none", "--max-steps", "2",
        "--out", str(out),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "done: 2 steps" in r.stdout
    assert f"WARNING hourglass.data: {total - present} of {total} subjects of mpii:valid" in r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["missing_images"] == {"train": total - present, "val": 0}
    assert json.loads((out / "config.json").read_text())["missing_images"] == "warn"
    assert load_checkpoint(out / "last.pt")["step"] == 2


def test_tool_missing_images_error(shared_data, tmp_path):
    root = shared_data("mpii/annot/valid.h5").parents[1]
    total, present = _existing(root, "valid")
    r = run_tool(
        "--stacks", "1", "--dataset", "mpii", "--data-root", str(root), "--train-split", "valid",
        "--val-split", "none", "--max-steps", "1", "--missing-images", "error", "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert r.returncode == 2
    assert f"{total - present} of {total} subjects" in r.stderr and "--missing-images warn" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()  # nothing written before the check


def test_lspet_missing_images_follow_the_policy(some_lspet, tmp_path):
    """LSP/LSPET images are checked by the trainer's policy, not by the loader (which would raise)."""
    r = run_tool(
        "--preset", "lspet-hg-cpu", "--data-root", str(some_lspet), "--missing-images", "error",
        "--max-steps", "1", "--out", str(tmp_path / "run"),
    )  # fmt: skip
    assert r.returncode == 2
    assert "8960 of 9000 subjects of lspet:train" in r.stderr and "--missing-images warn" in r.stderr
    assert not (tmp_path / "run").exists()


def test_vgg_with_validation_on_the_images_that_exist(shared_data, tmp_path, one_thread):
    root = shared_data("mpii/annot/valid.h5").parents[1]
    total, present = _existing(root, "valid")
    config = TrainConfig(
        model="vgg", vgg_width=0.125, input_size=64, dataset="mpii", data_root=str(root), train_split="valid",
        val_split="valid", max_val_samples=3, batch_size=2, max_steps=2, out=str(tmp_path / "run"), log_every=1,
    )  # fmt: skip
    result = train(config, progress=False)
    assert result.step == 2 and result.metric_name == "pckh@0.5" and result.best_metric is not None
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["missing_images"] == {"train": total - present, "val": total - present}


# --- TensorBoard -----------------------------------------------------------------------------
def _mpii_config(root: Path, out: Path, **kw) -> TrainConfig:
    base = dict(
        stacks=1, channels=16, input_size=64, dataset="mpii", data_root=str(root), train_split="test_mpii",
        val_split="test_mpii", batch_size=2, max_steps=2, out=str(out), log_every=1,
    )  # fmt: skip
    return TrainConfig(**{**base, **kw})


def test_tensorboard_scalars(shared_data, tmp_path, one_thread):
    pytest.importorskip("tensorboard", reason="the tensorboard package is not installed (pip install tensorboard)")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = shared_data("mpii")
    result = train(_mpii_config(root, tmp_path / "run", tensorboard=True), progress=False)
    events = list((tmp_path / "run" / "tensorboard").glob("events.out.tfevents.*"))
    assert len(events) == 1
    acc = EventAccumulator(str(events[0].parent))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/epoch_loss", "train/images_per_s", "val/pck@0.2_pct"} <= tags
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [1, 2]
    assert loss[-1].value == pytest.approx(result.final_loss, rel=1e-6)


def test_tensorboard_missing_package_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails as if absent
    config = _mpii_config(tmp_path / "no-data", tmp_path / "run", tensorboard=True)
    with pytest.raises(ImportError, match=r"pip install tensorboard.*\[tensorboard\]"):
        train(config, progress=False)
    assert not (tmp_path / "run").exists()
