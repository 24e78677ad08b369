"""tools/eval.py and tools/compare.py on tiny checkpoints and real 300-W faces."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import matplotlib.image as mpimg
import pytest
from conftest import REPO, make_checkpoint


def _tool(name):
    spec = importlib.util.spec_from_file_location(f"tool_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def checkpoints(shared_data, tmp_path):
    root = str(shared_data("300w"))
    kw = dict(data_root=root, train_split="fit", val_split="holdout")
    return (
        make_checkpoint(tmp_path / "hg" / "best.pt", **kw),
        make_checkpoint(tmp_path / "vgg" / "best.pt", model="vgg", **kw),
    )


def _looks_like_a_plot(path):
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] >= 300 and img.std() > 0.05, path


def test_eval_writes_tables_json_and_plots(checkpoints, tmp_path, capsys):
    out = tmp_path / "ev"
    args = [str(checkpoints[0]), "--out", str(out), "--max-samples", "6", "--no-progress", "--predictions", "--flip"]
    assert _tool("eval").main(args) == 0
    printed = capsys.readouterr().out
    assert "NME-io %" in printed and "helen/trainset" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["subjects"] == 6 and metrics["metric"] == "nme_interocular" and metrics["settings"]["flip"]
    assert set(metrics["tables_fraction"]) >= {"nme_interocular", "nme_interpupil", "auc@0.08", "fr@0.08"}
    assert len(metrics["per_keypoint_fraction"]["nme_interocular"]) == 68
    # one unit per name: the fractions say so, the headline also comes in percent
    assert "tables" not in metrics and "value" not in metrics and "fraction" in metrics["unit"]
    assert metrics["value_pct"] == pytest.approx(100 * metrics["value_fraction"])
    assert metrics["tables_fraction"]["nme_interocular"]["all"] == metrics["value_fraction"] < 1
    preds = json.loads((out / "predictions.json").read_text())
    assert len(preds) == 6 and len(preds[0]["keypoints"]) == 68 * 3
    for png in ("ced.png", "per_keypoint.png"):
        _looks_like_a_plot(out / png)


def test_eval_body_predictions_json(shared_data, tmp_path):
    """LSPET's image ids come from numpy index arrays: predictions.json still holds plain numbers."""
    ckpt = make_checkpoint(
        tmp_path / "body" / "best.pt",
        spec_name="lsp",
        data_root=str(shared_data("lspet")),
        val_split="val",
        crop_padding=1.15,
    )
    out = tmp_path / "ev"
    assert (
        _tool("eval").main([str(ckpt), "--out", str(out), "--max-samples", "3", "--no-progress", "--predictions"]) == 0
    )
    preds = json.loads((out / "predictions.json").read_text())
    # the first three held-out people: images 1, 4 and 34 (lspet_split: split_indices(5000, 0.1, seed=0))
    assert [p["image_id"] for p in preds] == [1, 4, 34]
    assert [p["image"].rsplit("/", 1)[-1] for p in preds] == ["im00001.jpg", "im00004.jpg", "im00034.jpg"]
    assert all(len(p["keypoints"]) == 14 * 3 for p in preds)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["metric"] == "pck@0.2" and metrics["subjects"] == 3


def test_compare_reports_side_by_side(checkpoints, tmp_path, capsys):
    out = tmp_path / "cmp"
    args = [*map(str, checkpoints), "--labels", "hourglass,vgg", "--out", str(out), "--max-samples", "8",
            "--latency-runs", "2", "--bootstrap", "100", "--no-progress"]  # fmt: skip
    assert _tool("compare").main(args) == 0
    report = json.loads((out / "report.json").read_text())
    assert [m["label"] for m in report["models"]] == ["hourglass", "vgg"]
    assert report["models"][0]["parameters"] > 0 and report["models"][1]["gflops"] > 0
    assert report["models"][0]["latency"]["median_ms"] > 0
    d = report["differences_vs_first"]["vgg"]
    a, b = (report["reports"][k]["value_fraction"] for k in ("hourglass", "vgg"))
    assert "fractions" in report["unit"]
    assert d["difference"] == pytest.approx(b - a) and d["low"] <= d["difference"] <= d["high"]
    md = (out / "report.md").read_text()
    assert "| hourglass |" in md and "| vgg |" in md and "| Mouth |" in md and "paired bootstrap" in md
    _looks_like_a_plot(out / "ced.png")
    _looks_like_a_plot(out / "per_keypoint.png")


def test_user_errors_exit_2_with_one_line(checkpoints, tmp_path, capsys):
    ev, cmp = _tool("eval"), _tool("compare")
    assert ev.main([str(tmp_path / "missing.pt")]) == 2
    assert capsys.readouterr().err.startswith("error: no model")
    assert ev.main([str(checkpoints[0]), "--split", "nosuchsplit", "--out", str(tmp_path / "x")]) == 2
    assert "unknown 300-W split 'nosuchsplit'" in capsys.readouterr().err
    assert cmp.main([str(checkpoints[0])]) == 2
    assert "at least two models" in capsys.readouterr().err
    lsp = make_checkpoint(tmp_path / "lsp.pt", spec_name="lsp")
    assert cmp.main([str(checkpoints[0]), str(lsp), "--out", str(tmp_path / "c")]) == 2
    assert "different keypoints" in capsys.readouterr().err
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(b"not a checkpoint")
    run = subprocess.run([sys.executable, str(REPO / "tools" / "eval.py"), str(bad)], capture_output=True, text=True)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and "corrupt.pt" in run.stderr


def test_eval_scores_a_coco_split_with_oks_ap(shared_data, tmp_path, capsys):
    """A COCO-layout root (symlinks to the shared sample): the report gains pycocotools' OKS AP."""
    pytest.importorskip("pycocotools")
    sample = shared_data("samples/coco")
    root = tmp_path / "coco"
    (root / "annotations").mkdir(parents=True)
    (root / "annotations" / "person_keypoints_val.json").symlink_to(sample / "test_coco.json")
    (root / "val").symlink_to(sample, target_is_directory=True)
    ckpt = make_checkpoint(tmp_path / "hg" / "best.pt", spec_name="coco", data_root=str(root))
    out = tmp_path / "ev"
    assert _tool("eval").main([str(ckpt), "--split", "val", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    ap = json.loads((out / "metrics.json").read_text())["tables_fraction"]["coco_oks"]
    assert set(ap) >= {"AP", "AP50", "AR"} and all(0.0 <= v <= 1.0 or v == -1.0 for v in ap.values())
    assert "Average Precision" in printed and "with ground-truth person boxes" in printed
    setup = json.loads((out / "metrics.json").read_text())["settings"]["coco_oks"]
    assert setup["boxes"] == "ground truth" and setup["images"] == 4


@pytest.fixture
def leak_pair(shared_data, tmp_path):
    """The leak of issue 24: a run holding out 10 % of 300-W ``train`` (121 faces) and a model
    trained on ``fit``, which holds 113 of those faces."""
    root = str(shared_data("300w"))
    tiny = make_checkpoint(tmp_path / "tiny" / "last.pt", data_root=root, train_split="train", val_split=None,
                           val_fraction=0.1)  # fmt: skip
    fit = make_checkpoint(tmp_path / "fit" / "last.pt", data_root=root, train_split="fit", val_split="holdout")
    return tiny.parent, fit.parent


def test_compare_refuses_a_model_scored_on_its_training_faces(leak_pair, tmp_path, capsys):
    tiny, fit = leak_pair
    run = subprocess.run([sys.executable, str(REPO / "tools" / "compare.py"), str(tiny), str(fit), "--out",
                          str(tmp_path / "c"), "--no-progress"], capture_output=True, text=True)  # fmt: skip
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "113 of the 121 evaluation subjects" in run.stderr and str(fit / "last.pt") in run.stderr
    assert "split 'fit' of 300w" in run.stderr and "--allow-overlap" in run.stderr
    assert not (tmp_path / "c").exists()
    # eval says the same for the one model
    assert _tool("eval").main([str(fit), "--split", "train", "--out", str(tmp_path / "e")]) == 2
    assert "split 'fit' of 300w" in capsys.readouterr().err


def test_allow_overlap_scores_and_flags_it(leak_pair, tmp_path, capsys):
    tiny, fit = leak_pair
    out = tmp_path / "c"
    args = [str(tiny), str(fit), "--labels", "tiny,fit", "--out", str(out), "--max-samples", "10",
            "--latency-runs", "0", "--bootstrap", "100", "--no-progress", "--allow-overlap"]  # fmt: skip
    assert _tool("compare").main(args) == 0
    report = json.loads((out / "report.json").read_text())
    flagged = report["reports"]["fit"]["settings"]["training_overlap"]
    assert flagged["subjects"] > 0 and flagged["allowed"] and flagged["training"] == "split 'fit' of 300w"
    assert report["reports"]["tiny"]["settings"]["training_overlap"]["subjects"] == 0
    md = (out / "report.md").read_text()
    assert f"fit: WARNING: {flagged['subjects']} of these 10 subjects are in the model's training data" in md
    assert "tiny: WARNING" not in md and f"tiny: {tiny / 'last.pt'}" in md
    ev = tmp_path / "e"
    args = [str(fit), "--split", "train", "--max-samples", "4", "--out", str(ev), "--allow-overlap", "--no-progress"]
    assert _tool("eval").main(args) == 0
    assert "WARNING: 4 of these 4 subjects are in the model's training data" in capsys.readouterr().out
    assert json.loads((ev / "metrics.json").read_text())["settings"]["training_overlap"]["allowed"]


def test_run_folders_give_last_pt_unless_best(leak_pair, shared_data, tmp_path, capsys):
    tiny, _ = leak_pair
    root = str(shared_data("300w"))
    make_checkpoint(tiny / "best.pt", seed=1, data_root=root, train_split="train", val_split=None, val_fraction=0.1)
    ev = _tool("eval")
    args = [str(tiny), "--max-samples", "2", "--no-progress"]
    assert ev.main([*args, "--out", str(tmp_path / "a")]) == 0
    assert f"model: {tiny / 'last.pt'}" in capsys.readouterr().out
    assert json.loads((tmp_path / "a" / "metrics.json").read_text())["settings"]["model"] == str(tiny / "last.pt")
    assert ev.main([*args, "--out", str(tmp_path / "b"), "--best"]) == 0
    assert f"model: {tiny / 'best.pt'}" in capsys.readouterr().out
