"""hourglass.engine.comparison: the paired bootstrap of two reports, and the comparison plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_evaluate import _people

from hourglass.data import AnnotationSet
from hourglass.data.records import Annotation
from hourglass.engine.comparison import bootstrap_difference, plot_curves, plot_per_keypoint
from hourglass.engine.evaluate import evaluate
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
