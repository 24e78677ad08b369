"""hourglass.engine evaluate, inference and comparison: outputs to image coordinates, reports, bootstrap, plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from hourglass.data import AnnotationSet, DataError, KeypointDataset, PipelineConfig, TopDownPipeline, load_dataset
from hourglass.data.records import Annotation
from hourglass.engine.comparison import bootstrap_difference, plot_curves, plot_per_keypoint
from hourglass.engine.config import TrainConfig
from hourglass.engine.evaluate import evaluate, evaluation_set
from hourglass.engine.inference import forward, to_image
from hourglass.keypoints import LSP, MPII
from hourglass.metrics import interocular, nme, pck, pckh_table, torso_size


class Fixed(nn.Module):
    """Returns preset outputs; ``flipped`` is returned for inputs whose marker pixel says mirrored."""

    def __init__(self, out: torch.Tensor, flipped: torch.Tensor | None = None) -> None:
        super().__init__()
        self.out, self.flipped = out, flipped

    def forward(self, x):
        mirrored = bool(x[0, 0, 0, -1] > x[0, 0, 0, 0])  # the marker sits top-left in the original
        return self.flipped if mirrored and self.flipped is not None else self.out


@pytest.fixture
def faces(shared_data):
    return load_dataset("300w", shared_data("300w"), "holdout")[:6]


def _samples(subjects, size=(128, 128), flip=False):
    pipe = TopDownPipeline(PipelineConfig(input_size=size, heatmap_size=(size[0] // 4, size[1] // 4), sigma=1.5,
                                          train=False), subjects.spec)  # fmt: skip
    ds = KeypointDataset(subjects, pipe)
    return [ds[i] for i in range(len(ds))]


def test_heatmap_targets_decode_back_to_the_annotation(faces):
    samples = _samples(faces)
    heat = torch.stack([s.heatmaps for s in samples])  # (B, K, 32, 32) Gaussian targets
    out = forward(Fixed(heat[:, None]), "heatmap", torch.stack([s.image for s in samples]), faces.spec)
    center = np.stack([s.center for s in samples])
    coords, scores = to_image("heatmap", out, center, [s.scale for s in samples], input_size=(128, 128), sigma=1.5)
    err = np.linalg.norm(coords - faces.keypoints(), axis=-1)  # image pixels
    px = 200 * np.array([s.scale for s in samples])[:, None] / 32  # image pixels per heatmap pixel (~7 here)
    assert np.median(err) < 1e-3, np.median(err)
    # Gaussians cut by the heatmap border (jaw points near the crop edge) bias DARK slightly
    assert (err / px).max() < 0.1, (err / px).max()
    assert scores.shape == (6, 68) and np.all(scores > 0.85)  # exp(-0.5 / (2 * 1.5**2)) off-grid


def test_regression_targets_map_back_exactly(faces):
    samples = _samples(faces)
    u = torch.stack([s.coords_normalized for s in samples]).double()
    out = forward(Fixed(u), "regression", torch.stack([s.image for s in samples]), faces.spec)
    coords, scores = to_image(
        "regression", out, np.stack([s.center for s in samples]), [s.scale for s in samples], input_size=(128, 128)
    )
    assert np.abs(coords - faces.keypoints()).max() < 1e-3  # float32 targets
    assert np.all(scores == 1.0)


def test_regression_flip_test_unmirrors(faces):
    samples = _samples(faces[:1])
    image = samples[0].image[None].clone()
    image[..., 0, 0] = 10.0  # marker: the original has it top-left, the mirror top-right
    u = samples[0].coords_normalized[None]
    mirrored = u[:, list(faces.spec.flip_index)].clone()
    mirrored[..., 0] = 1 - mirrored[..., 0]  # what a perfect model predicts for the mirrored crop
    out = forward(Fixed(u, mirrored), "regression", image, faces.spec, flip=True)
    assert torch.allclose(out, u, atol=1e-6)
    wrong = forward(Fixed(u, u), "regression", image, faces.spec, flip=True)  # an un-mirrored flip would differ
    assert not torch.allclose(wrong, u, atol=1e-3)


def test_face_report_matches_metrics(faces):
    gt = faces.keypoints()
    rng = np.random.default_rng(0)
    pred = gt + rng.normal(0, 3, gt.shape)
    r = evaluate(pred, faces)
    e = nme(pred, gt, None, interocular(gt, faces.spec))
    assert r.kind == "face" and r.metric == "nme_interocular" and not r.higher_better
    assert r.value == pytest.approx(e.mean(), abs=1e-12)
    num, den = r.per_image
    assert num.sum() / den.sum() == pytest.approx(r.value, abs=1e-12)
    assert set(r.tables["nme_interocular"]) == {"all", "helen/trainset"}
    assert r.per_keypoint["nme_interocular"].shape == (68,)
    perfect = evaluate(gt, faces)
    assert perfect.value == 0 and perfect.tables["auc@0.08"]["all"] == 1 and perfect.tables["fr@0.08"]["all"] == 0
    assert "NME-io" in r.format() and r.to_dict()["subjects"] == 6


def _people(spec, n=40, headbox=False, seed=0):
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        kp = rng.uniform(50, 250, (spec.num_keypoints, 2))
        lab = rng.random(spec.num_keypoints) > 0.1
        lab[list(spec.torso or ())] = True
        kp[~lab] = np.nan
        hb = np.array([[100.0, 40.0], [130.0, 75.0]]) if headbox else None
        records.append(Annotation(image=Path(f"/nonexistent/{i}.jpg"), keypoints=kp, labelled=lab, visible=lab,
                                  center=np.array([150.0, 150.0]), scale=1.5, spec=spec, source=f"synthetic[{i}]",
                                  headbox=hb))  # fmt: skip
    return AnnotationSet(records, spec, f"synthetic-{spec.name}")


def test_body_and_mpii_reports_match_metrics():
    people = _people(LSP)
    gt, mask = people.keypoints(), people.labelled()
    pred = np.nan_to_num(gt) + np.random.default_rng(1).normal(0, 8, gt.shape)
    r = evaluate(pred, people)
    want = pck(pred, gt, mask, torso_size(gt, mask, LSP), 0.2)
    assert r.kind == "body" and r.value == pytest.approx(want.mean, abs=1e-12)
    assert r.per_image[0].sum() / r.per_image[1].sum() == pytest.approx(r.value, abs=1e-12)
    mp = _people(MPII, headbox=True)
    gt, mask = mp.keypoints(), mp.labelled()
    pred = np.nan_to_num(gt) + np.random.default_rng(2).normal(0, 8, gt.shape)
    r = evaluate(pred, mp)
    table = pckh_table(pred, gt, mask, np.stack([x.headbox for x in mp]), MPII, mean="weighted")
    assert r.kind == "mpii" and r.value == pytest.approx(table.means[0], abs=1e-12)
    assert r.tables["pckh@0.1_mean"] == pytest.approx(table.means[1], abs=1e-12)
    assert r.tables["mean_convention"] == "weighted" and "PCKh@0.5" in r.format()
    assert r.per_image[0].sum() / r.per_image[1].sum() == pytest.approx(r.value, abs=1e-12)


def test_evaluate_rejects_bad_predictions():
    people = _people(LSP, n=3)
    with pytest.raises(ValueError, match=r"shape \(3, 13, 2\) but synthetic-lsp needs \(3, 14, 2\)"):
        evaluate(np.zeros((3, 13, 2)), people)
    with pytest.raises(ValueError, match="NaN"):
        evaluate(np.full((3, 14, 2), np.nan), people)


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


def test_evaluation_set_defaults_and_missing_images(shared_data, tmp_path):
    root = shared_data("300w")
    cfg = TrainConfig(dataset="300w", data_root=str(root), train_split="fit", val_split="holdout")
    assert len(evaluation_set(cfg)) == 87
    held = evaluation_set(cfg.replace(val_split=None, val_fraction=0.1, train_split="afw"))
    assert len(held) == 34 and held.name.endswith("[held-out]")
    assert len(evaluation_set(cfg, split="afw", max_samples=5)) == 5
    with pytest.raises(ValueError, match="no validation split; pass --split"):
        evaluation_set(cfg.replace(val_split=None))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        evaluation_set(cfg, data_root=tmp_path / "nope")


def test_evaluation_set_missing_images(shared_data, caplog):
    root = shared_data("mpii")
    cfg = TrainConfig(dataset="mpii", data_root=str(root), val_split="valid")
    with pytest.raises(DataError, match=r"subjects of mpii.* have no image file, e.g. .*pass --missing-images warn"):
        evaluation_set(cfg)
    with caplog.at_level("WARNING", logger="hourglass.data"):
        subjects = evaluation_set(cfg, missing_images="warn")
    assert 0 < len(subjects) < 2958 and all(Path(r.image).exists() for r in subjects)
    assert "left out of the evaluation set" in caplog.text
