"""hourglass.evaluation: the paired bootstrap of two reports, the comparison plots, the model report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_checkpoint
from test_evaluation_reports import _people

from hourglass.data import AnnotationSet
from hourglass.data.records import Annotation
from hourglass.evaluation import bootstrap_difference, compare_models, evaluate, plot_curves, plot_per_keypoint
from hourglass.keypoints import LSP


def test_bootstrap_interval():
    people = _people(LSP, n=200)
    gt = np.nan_to_num(people.keypoints())
    rng = np.random.default_rng(3)
    good = evaluate(gt + rng.normal(0, 4, gt.shape), people)
    bad = evaluate(gt + rng.normal(0, 12, gt.shape), people)
    d = bootstrap_difference(good, bad, resamples=500)
    assert d["difference"] == pytest.approx(good.value - bad.value)
    assert 0 < d["low"] < d["difference"] < d["high"] and d["p_other_sign"] == 0.0
    same = bootstrap_difference(good, good, resamples=100)
    assert same["low"] == same["high"] == same["difference"] == 0.0
    with pytest.raises(ValueError, match="same annotation set"):
        bootstrap_difference(good, evaluate(gt[:50] + 1, people[:50]))


def test_plots_are_written(tmp_path):
    people = _people(LSP, n=20)
    gt = np.nan_to_num(people.keypoints())
    a, b = evaluate(gt + 3, people), evaluate(gt + 9, people)
    import matplotlib.image as mpimg

    for path in (plot_curves([("a", a), ("b", b)], tmp_path / "pck.png"),
                 plot_per_keypoint([("a", a), ("b", b)], tmp_path / "kp.png")):  # fmt: skip
        img = mpimg.imread(path)
        assert img.ndim == 3 and img.shape[0] > 300 and img.std() > 0.05  # not blank
    faces = evaluate(np.zeros((1, 68, 2)) + 1, _one_face())
    with pytest.raises(ValueError, match="different kinds"):
        plot_curves([("a", a), ("f", faces)], tmp_path / "x.png")


def _one_face():
    from hourglass.keypoints import W300

    kp = np.random.default_rng(0).uniform(0, 100, (68, 2))
    ones = np.ones(68, bool)
    rec = Annotation(image=Path("/x.jpg"), keypoints=kp, labelled=ones, visible=ones, center=np.array([50.0, 50.0]),
                     scale=0.6, spec=W300, source="synthetic")  # fmt: skip
    return AnnotationSet([rec], W300, "one-face")


def test_compare_models_writes_the_report(shared_data, tmp_path):
    kw = dict(data_root=str(shared_data("300w")), train_split="fit", val_split="holdout")
    models = [make_checkpoint(tmp_path / "hg.pt", **kw), make_checkpoint(tmp_path / "vgg.pt", model="vgg", **kw)]
    lines, out = [], tmp_path / "cmp"
    result = compare_models(models, out=out, max_samples=5, bootstrap=50, latency_runs=0, progress=False,
                            log=lines.append)  # fmt: skip
    assert result == json.loads((out / "report.json").read_text())
    assert [m["label"] for m in result["models"]] == ["hg", "vgg"] and result["subjects"] == 5
    assert all(m["latency"] is None for m in result["models"]) and list(result["differences_vs_first"]) == ["vgg"]
    md = (out / "report.md").read_text()
    assert md.startswith("# Comparison on 300w:holdout (5 subjects)") and "| Mouth |" in md
    table = [line for line in md.splitlines() if line.startswith(("| model |", "|---|---:", "| hg |", "| vgg |"))]
    assert lines[0] == "\n".join(table[:4]) and table[2].endswith("| 64x64 | n/a |")
    assert lines[1].startswith("vgg - hg: ") and lines[2].startswith(f"wrote {out / 'report.md'}")
    assert (out / "ced.png").is_file() and (out / "per_keypoint.png").is_file()
    for labels, match in ((["a"], "1 labels for 2 models"), (["a", "a"], "labels must differ")):
        with pytest.raises(ValueError, match=match):
            compare_models(models, out=tmp_path / "x", labels=labels, log=lines.append)
    with pytest.raises(ValueError, match="at least two models"):
        compare_models(models[:1], out=tmp_path / "x")
