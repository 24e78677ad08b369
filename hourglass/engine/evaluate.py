"""Evaluation: predictions for an annotation set, the standard tables, curves, comparisons.

One path from a model to numbers, shared by training validation, ``tools/eval.py`` and
``tools/compare.py``:

1. :func:`forward` runs the network on normalised crops, optionally with the flip test
   (heatmaps: :func:`hourglass.codec.flip_test`; regression: the mirrored prediction's x
   reflected, ``u -> 1 - u``, and its keypoints permuted by ``spec.flip_index``), and
   :func:`to_image` decodes the output (heatmaps with the chosen decoder, DARK by default
   with the training sigma as blur) and maps it back to original image coordinates through
   the inverse of the crop.
2. :func:`predict_dataset` does that for every subject of an :class:`AnnotationSet`, using the
   un-augmented crops of :class:`~hourglass.data.TopDownPipeline` (``train=False``).
3. :func:`evaluate` computes the dataset's standard report:

   - faces (specs with inter-ocular points): NME inter-ocular (outer eye corners) and
     inter-pupil per subset and overall, AUC@0.08 and FR@0.08 of the inter-ocular NME (AUC
     exact, :func:`hourglass.metrics.auc`), per-landmark mean error, and the CED curve.
     Headline: mean inter-ocular NME (lower is better).
   - MPII (every subject has a head box): :func:`hourglass.metrics.pckh_table` at 0.5 and 0.1
     with the "weighted" Mean (the official "Total"), per joint, and the PCKh curve.
     Headline: PCKh@0.5 Mean.
   - other bodies: PCK@0.2 per joint and pooled, normalised by the torso (spec.torso; the
     bounding box of the labelled joints when the spec has no torso), and the PCK curve.
     Headline: PCK@0.2.

   Every headline is ``sum(num) / sum(den)`` of per-image terms (``EvalReport.per_image``),
   which is what :func:`bootstrap_difference` resamples.
4. :func:`plot_curves` draws the CED or PCK curves of one or more reports on one plot.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

__all__ = [
    "EvalReport",
    "Predictions",
    "evaluation_set",
    "bootstrap_difference",
    "evaluate",
    "forward",
    "plot_curves",
    "plot_per_keypoint",
    "predict_dataset",
    "to_image",
]

FACE_THRESHOLD = 0.08
"""AUC and failure-rate threshold of the 300-W reports (inter-ocular NME)."""
BODY_THRESHOLD = 0.2
"""PCK threshold for bodies other than MPII (torso-normalised, the LSP convention)."""
CURVE_MAX = {"face": 0.10, "mpii": 0.5, "body": 0.5}
"""Largest threshold drawn on each kind's curve."""


# --- which subjects ------------------------------------------------------------------------
def evaluation_set(
    config: Any,
    *,
    data_root: str | Path | None = None,
    dataset: str | None = None,
    split: str | None = None,
    max_samples: int | None = None,
    missing_images: str = "error",
) -> Any:
    """The annotation set to evaluate a model on, by default its own validation subjects.

    Args:
        config: the model's :class:`~hourglass.engine.TrainConfig` (``LoadedModel.config``).
        data_root: dataset folder; default the one the model was trained with.
        dataset: dataset name; default the model's.
        split: a split name; default the model's ``val_split``, or, when it held out a share
            of its training split (``val_fraction``), exactly those held-out subjects
            (:func:`hourglass.data.split_indices` with the model's seed).
        max_samples: keep only the first N subjects.
        missing_images: ``"error"`` (default): a subject whose image file is missing raises
            ``DataError`` naming the count and the first paths; ``"warn"``: such subjects are
            dropped and a warning names how many.

    Raises:
        ValueError / FileNotFoundError / DataError: no data root, an unknown split, no split
            to default to, or missing images (see above).
    """
    from hourglass.data import AnnotationSet, drop_missing_images, load_dataset, split_indices

    if missing_images not in ("error", "warn"):
        raise ValueError(f"missing_images must be 'error' or 'warn', got {missing_images!r}")
    dataset = dataset or config.dataset
    root = data_root if data_root is not None else config.data_root
    if root is None:
        raise ValueError(f"no data root for dataset {dataset!r}; pass --data-root DIR")
    if not Path(root).exists():
        raise FileNotFoundError(f"data root {root} does not exist; pass the folder holding the {dataset} data")

    def load(name: str) -> Any:
        subjects = load_dataset(dataset, root, name)
        return drop_missing_images(subjects, missing_images, split="evaluation", data_root=root)[0]

    if split is not None:
        subjects = load(split)
    elif dataset != config.dataset:
        raise ValueError(f"the model was trained on {config.dataset!r}, not {dataset!r}; pass --split for {dataset!r}")
    elif config.val_split is not None:
        subjects = load(config.val_split)
    elif config.val_fraction > 0:  # the training run's held-out subjects, chosen as the trainer does
        full = load(config.train_split)
        _, held = split_indices(len(full), config.val_fraction, config.seed)
        records = list(full)
        subjects = AnnotationSet([records[i] for i in held], full.spec, f"{full.name}[held-out]")
    else:
        raise ValueError("the model's training run had no validation split; pass --split to choose one")
    if max_samples is not None:
        subjects = subjects[:max_samples]
    if len(subjects) == 0:
        raise ValueError(f"{subjects.name} holds no subjects to evaluate")
    return subjects


# --- model -> image coordinates --------------------------------------------------------------
def forward(model: nn.Module, kind: str, images: Tensor, spec: Any, *, flip: bool = False) -> Tensor:
    """Network output for a batch of normalised crops, optionally with the flip test.

    Args:
        model: a stacked hourglass (``kind="heatmap"``) or a regressor (``"regression"``).
        images: (B, 3, H, W) normalised crops on the model's device.
        spec: the keypoint spec (its ``flip_index`` un-mirrors the flipped prediction).
        flip: average with the prediction for the mirrored crops.

    Returns:
        float32 (B, K, h, w) heatmaps of the last stack, or (B, K, 2) normalised coordinates.
    """
    if kind not in ("heatmap", "regression"):
        raise ValueError(f"kind must be 'heatmap' or 'regression', got {kind!r}")
    out = model(images)
    out = (out[:, -1] if kind == "heatmap" else out).float()
    if not flip:
        return out
    mirrored = model(torch.flip(images, dims=[-1]))
    mirrored = (mirrored[:, -1] if kind == "heatmap" else mirrored).float()
    if kind == "heatmap":
        from hourglass.codec import flip_test

        return flip_test(out, mirrored, spec)
    back = mirrored[:, list(spec.flip_index)].clone()
    back[..., 0] = 1.0 - back[..., 0]  # u = (x + 0.5) / W and x -> W - 1 - x give u -> 1 - u
    return 0.5 * (out + back)


def to_image(
    kind: str,
    output: Tensor,
    center: Any,
    scale: Any,
    rotation: Any = 0.0,
    *,
    input_size: Sequence[int],
    sigma: float = 2.0,
    decoder: str = "dark",
) -> tuple[np.ndarray, np.ndarray]:
    """Decode :func:`forward`'s output and map it to original image coordinates.

    Args:
        output: (B, K, h, w) heatmaps or (B, K, 2) normalised coordinates.
        center: (B, 2) crop centres; scale: (B,) crop scales (200-px units); rotation: (B,) or
            scalar degrees; all as used to cut the (unflipped) crops.
        input_size: (W, H) of the network input (heatmaps are input / 4).
        sigma: training heatmap sigma (DARK's blur sigma).
        decoder: one of :data:`hourglass.codec.DECODE_METHODS` (heatmaps only).

    Returns:
        coords (B, K, 2) float64 image coordinates, scores (B, K) float64: the decoded heatmap
        maximum for heatmap models; 1.0 for regression models, which give no confidence.
    """
    from hourglass.codec import decode_heatmaps, heatmap_to_image
    from hourglass.geometry import crop_matrix, from_normalized, invert_affine, transform_points

    output = output.detach().float().cpu()
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    rotation = np.broadcast_to(np.asarray(rotation, dtype=np.float64), scale.shape)
    if kind == "heatmap":
        hm_size = (output.shape[-1], output.shape[-2])
        coords, scores = decode_heatmaps(output, decoder, blur_sigma=sigma)
        image = heatmap_to_image(coords.numpy().astype(np.float64), center, scale, hm_size, rotation)
        return np.asarray(image), scores.numpy().astype(np.float64)
    crop = from_normalized(output.numpy().astype(np.float64), tuple(input_size))  # (B, K, 2)
    image = transform_points(crop, invert_affine(crop_matrix(center, scale, tuple(input_size), rotation)))
    return np.asarray(image), np.ones(crop.shape[:2])


class Predictions(NamedTuple):
    """Predictions for N subjects: ``coords`` (N, K, 2) image coordinates, ``scores`` (N, K)."""

    coords: np.ndarray
    scores: np.ndarray


def predict_dataset(
    loaded: Any,
    annotations: Any,
    *,
    flip: bool = False,
    decoder: str = "dark",
    batch_size: int = 32,
    workers: int = 0,
    progress: bool = True,
) -> Predictions:
    """Predict every subject of an annotation set from its un-augmented crop.

    Args:
        loaded: a :class:`hourglass.weights.LoadedModel` (see :func:`hourglass.weights.load_model`).
        annotations: an :class:`~hourglass.data.AnnotationSet` with the model's keypoint spec.
        flip, decoder: as :func:`forward` and :func:`to_image`.
        batch_size, workers: DataLoader settings.
        progress: show a tqdm progress bar.

    Raises:
        ValueError: the annotation set's spec differs from the model's.
    """
    from tqdm.auto import tqdm

    from hourglass.data import KeypointDataset, PipelineConfig, TopDownPipeline

    if annotations.spec != loaded.spec:
        raise ValueError(
            f"{annotations.name} has keypoint spec {annotations.spec.name!r} ({annotations.spec.num_keypoints} "
            f"points) but model {loaded.path} predicts {loaded.spec.name!r} ({loaded.spec.num_keypoints}); "
            "evaluate it on a dataset of its own keypoints"
        )
    size = loaded.input_size
    hm = loaded.heatmap_size or (size[0] // 4, size[1] // 4)
    pipe = TopDownPipeline(
        PipelineConfig(input_size=size, heatmap_size=hm, sigma=loaded.sigma, train=False), loaded.spec
    )
    ds = KeypointDataset(annotations, pipe)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=workers)
    coords, scores = [], []
    with torch.inference_mode():
        for batch in tqdm(loader, desc=f"predict {annotations.name}", unit="batch", disable=not progress):
            out = forward(loaded.model, loaded.kind, batch.image.to(loaded.device), loaded.spec, flip=flip)
            c, s = to_image(
                loaded.kind, out, batch.center.numpy(), batch.scale.numpy(), batch.rotation.numpy(),
                input_size=size, sigma=loaded.sigma, decoder=decoder,
            )  # fmt: skip
            coords.append(c)
            scores.append(s)
    k = loaded.spec.num_keypoints
    if not coords:
        return Predictions(np.zeros((0, k, 2)), np.zeros((0, k)))
    return Predictions(np.concatenate(coords), np.concatenate(scores))


# --- reports ---------------------------------------------------------------------------------
@dataclass
class EvalReport:
    """The standard evaluation of one set of predictions (see the module docstring).

    Attributes:
        dataset: the annotation set's name; kind: ``"face"``, ``"mpii"`` or ``"body"``.
        metric: headline metric name; value: its value (a fraction); higher_better.
        tables: JSON-ready tables (fractions), e.g. ``{"nme_interocular": {"all": ..., subset: ...}}``.
        keypoint_names: K names; per_keypoint: name -> (K,) values (per-landmark mean NME,
            or per-joint PCK).
        per_image: ``(num (N,), den (N,))`` with ``value == num.sum() / den.sum()``.
        curve: ``(x label, thresholds (T,), values (T,))``: CED (faces) or PCK vs threshold.
        settings: how the predictions were made (flip, decoder, model), for the JSON.
    """

    dataset: str
    kind: str
    metric: str
    value: float
    higher_better: bool
    tables: dict[str, Any]
    keypoint_names: tuple[str, ...]
    per_keypoint: dict[str, np.ndarray]
    per_image: tuple[np.ndarray, np.ndarray]
    curve: tuple[str, np.ndarray, np.ndarray]
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def num_subjects(self) -> int:
        return int(self.per_image[0].shape[0])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (fractions, not percentages)."""
        return {
            "dataset": self.dataset,
            "kind": self.kind,
            "subjects": self.num_subjects,
            "metric": self.metric,
            "value": self.value,
            "higher_better": self.higher_better,
            "settings": self.settings,
            "tables": self.tables,
            "per_keypoint": {name: dict(zip(self.keypoint_names, _floats(v))) for name, v in self.per_keypoint.items()},
            "curve": {"x": self.curve[0], "thresholds": _floats(self.curve[1]), "values": _floats(self.curve[2])},
        }

    def format(self) -> str:
        """The tables as text, in percent, the way papers print them."""
        lines = [f"{self.dataset}: {self.num_subjects} subjects, headline {self.metric} = {100 * self.value:.2f}%"]
        if self.kind == "face":
            subsets = list(self.tables["nme_interocular"])
            width = max(12, *(len(s) for s in subsets))
            lines.append("subset".ljust(width) + "  NME-io %  NME-ip %  AUC@0.08 %  FR@0.08 %")
            for s in subsets:
                ip = self.tables.get("nme_interpupil", {}).get(s, math.nan)
                auc_, fr = self.tables["auc@0.08"].get(s, math.nan), self.tables["fr@0.08"].get(s, math.nan)
                lines.append(
                    f"{s.ljust(width)}  {100 * self.tables['nme_interocular'][s]:8.2f}  {100 * ip:8.2f}  "
                    f"{100 * auc_:10.2f}  {100 * fr:9.2f}"
                )
        elif self.kind == "mpii":
            lines.append(self.tables["pckh_text"])
        else:
            t = self.tables
            lines.append(f"PCK@{t['threshold']:g} ({t['normalizer']}-normalised), per joint in %:")
            per = t["per_joint"]
            lines.append("  ".join(f"{k}={100 * v:.1f}" for k, v in per.items()))
            lines.append(f"mean (pooled over labelled joints): {100 * t['mean']:.2f}")
        return "\n".join(lines)


def _floats(v: Any) -> list[float | None]:
    return [None if not math.isfinite(float(x)) else float(x) for x in np.asarray(v, dtype=np.float64).ravel()]


def _face_report(pred: np.ndarray, annotations: Any) -> dict[str, Any]:
    from hourglass.metrics import auc, ced_curve, failure_rate, interocular, interpupil, nme

    spec, gt, mask = annotations.spec, annotations.keypoints(), annotations.labelled()
    io = interocular(gt, spec, mask)
    e_io = nme(pred, gt, mask, io)
    e_ip = nme(pred, gt, mask, interpupil(gt, spec, mask)) if spec.pupils is not None else None
    subsets = np.array([r.subset or "all" for r in annotations], dtype=object)
    groups = {"all": np.ones(len(subsets), dtype=bool)}
    if len(set(subsets)) > 1 or "all" not in set(subsets):
        groups |= {str(s): subsets == s for s in sorted(set(subsets))}
    ok = ~np.isnan(e_io)
    tables: dict[str, Any] = {"nme_interocular": {}, "auc@0.08": {}, "fr@0.08": {}}
    if e_ip is not None:
        tables["nme_interpupil"] = {}
    for name, sel in groups.items():
        e = e_io[sel & ok]
        tables["nme_interocular"][name] = float(e.mean()) if e.size else math.nan
        tables["auc@0.08"][name] = auc(e, FACE_THRESHOLD) if e.size else math.nan
        tables["fr@0.08"][name] = failure_rate(e, FACE_THRESHOLD) if e.size else math.nan
        if e_ip is not None:
            ip = e_ip[sel & ~np.isnan(e_ip)]
            tables["nme_interpupil"][name] = float(ip.mean()) if ip.size else math.nan
    dist = np.linalg.norm(pred - np.nan_to_num(gt), axis=-1) / io[:, None]
    dist = np.where(mask & ok[:, None], dist, np.nan)
    per_kp = np.nanmean(dist, axis=0) if ok.any() else np.full(spec.num_keypoints, np.nan)
    thresholds, values = ced_curve(e_io[ok], CURVE_MAX["face"], 201)
    return dict(
        kind="face", metric="nme_interocular", value=tables["nme_interocular"]["all"], higher_better=False,
        tables=tables, per_keypoint={"nme_interocular": per_kp},
        per_image=(np.where(ok, e_io, 0.0), ok.astype(np.float64)),
        curve=("NME (inter-ocular)", thresholds, values),
    )  # fmt: skip


def _mpii_report(pred: np.ndarray, annotations: Any) -> dict[str, Any]:
    from hourglass.metrics import head_size, pck_curve, pck_per_image, pckh_table

    spec, gt, mask = annotations.spec, annotations.keypoints(), annotations.labelled()
    headboxes = np.stack([np.asarray(r.headbox, dtype=np.float64) for r in annotations])
    table = pckh_table(pred, gt, mask, headboxes, spec, thresholds=(0.5, 0.1), mean="weighted")
    keep = np.ones(spec.num_keypoints, dtype=bool)
    keep[list(spec.eval_exclude)] = False
    norm = head_size(headboxes)
    num, den = pck_per_image(pred, gt, mask & keep, norm, 0.5)
    curve = pck_curve(pred, gt, mask, norm, np.linspace(0, CURVE_MAX["mpii"], 51))
    tables = {
        "pckh@0.5": table.as_dict(),
        "pckh@0.1_mean": table.means[1],
        "mean_convention": table.mean_convention,
        "pckh_text": table.format(),
    }
    return dict(
        kind="mpii", metric="pckh@0.5", value=table.means[0], higher_better=True, tables=tables,
        per_keypoint={"pckh@0.5": table.per_keypoint[0], "pckh@0.1": table.per_keypoint[1]},
        per_image=(num, den), curve=("PCKh threshold (x head size)", curve.thresholds, curve.mean),
    )  # fmt: skip


def _body_report(pred: np.ndarray, annotations: Any) -> dict[str, Any]:
    from hourglass.metrics import bbox_size, pck, pck_curve, pck_per_image, torso_size

    spec, gt, mask = annotations.spec, annotations.keypoints(), annotations.labelled()
    if spec.torso is not None:
        norm, norm_name = torso_size(gt, mask, spec), "torso"
    else:
        norm, norm_name = bbox_size(gt, mask), "bbox"
    result = pck(pred, gt, mask, norm, BODY_THRESHOLD)
    num, den = pck_per_image(pred, gt, mask, norm, BODY_THRESHOLD)
    curve = pck_curve(pred, gt, mask, norm, np.linspace(0, CURVE_MAX["body"], 51))
    tables = {
        "threshold": BODY_THRESHOLD,
        "normalizer": norm_name,
        "per_joint": dict(zip(spec.names, _floats(result.per_keypoint))),
        "mean": result.mean,
        "subjects_without_normalizer": int(np.isnan(norm).sum()),
    }
    return dict(
        kind="body", metric=f"pck@{BODY_THRESHOLD:g}", value=result.mean, higher_better=True, tables=tables,
        per_keypoint={f"pck@{BODY_THRESHOLD:g}": result.per_keypoint}, per_image=(num, den),
        curve=(f"PCK threshold (x {norm_name} size)", curve.thresholds, curve.mean),
    )  # fmt: skip


def evaluate(pred: Any, annotations: Any, *, settings: dict[str, Any] | None = None) -> EvalReport:
    """The standard report of ``pred`` (N, K, 2) image coordinates on ``annotations``.

    The kind follows the data: a spec with inter-ocular points is a face set; a body set where
    every subject has a head box is evaluated as MPII (PCKh); other bodies get PCK@0.2.

    Raises:
        ValueError: ``pred`` does not have one (K, 2) row per subject, or holds NaN/inf.
    """
    coords = pred.coords if isinstance(pred, Predictions) else pred
    coords = np.asarray(coords, dtype=np.float64)
    spec = annotations.spec
    if coords.shape != (len(annotations), spec.num_keypoints, 2):
        raise ValueError(
            f"predictions have shape {coords.shape} but {annotations.name} needs "
            f"({len(annotations)}, {spec.num_keypoints}, 2)"
        )
    if not np.isfinite(coords).all():
        raise ValueError("predictions hold NaN or infinite coordinates")
    if len(annotations) == 0:
        raise ValueError(f"{annotations.name} holds no subjects to evaluate")
    if spec.interocular is not None:
        parts = _face_report(coords, annotations)
    elif all(r.headbox is not None for r in annotations):
        parts = _mpii_report(coords, annotations)
    else:
        parts = _body_report(coords, annotations)
    return EvalReport(dataset=annotations.name, keypoint_names=spec.names, settings=dict(settings or {}), **parts)


def headline(pred: np.ndarray, annotations: Any) -> tuple[str, float]:
    """The headline metric name and value (the training validation metric)."""
    report = evaluate(pred, annotations)
    return report.metric, report.value


# --- comparison ------------------------------------------------------------------------------
def bootstrap_difference(
    a: EvalReport, b: EvalReport, *, resamples: int = 2000, confidence: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Paired bootstrap of ``a.value - b.value`` over the subjects (the same resample for both).

    Returns:
        ``{"difference", "low", "high", "confidence", "resamples", "p_other_sign"}``: the observed
        difference, the percentile interval, and the share of resamples whose difference has
        the opposite sign (or is zero), a one-sided bootstrap p-value.

    Raises:
        ValueError: the reports are not on the same subjects or metric.
    """
    (na, da), (nb, db) = a.per_image, b.per_image
    if a.metric != b.metric or na.shape != nb.shape:
        raise ValueError(
            f"reports differ ({a.dataset} {a.metric} on {na.shape[0]} subjects vs {b.dataset} {b.metric} on "
            f"{nb.shape[0]}); compare predictions on the same annotation set"
        )
    if not 0 < confidence < 1 or resamples < 10:
        raise ValueError(f"need 0 < confidence < 1 and resamples >= 10, got {confidence}, {resamples}")
    rng = np.random.default_rng(seed)
    n = na.shape[0]
    diffs = np.empty(resamples)
    chunk = max(1, 2_000_000 // max(n, 1))
    for start in range(0, resamples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, resamples - start), n))
        va = na[idx].sum(axis=1) / np.maximum(da[idx].sum(axis=1), 1e-12)
        vb = nb[idx].sum(axis=1) / np.maximum(db[idx].sum(axis=1), 1e-12)
        diffs[start : start + idx.shape[0]] = va - vb
    observed = a.value - b.value
    alpha = (1 - confidence) / 2
    low, high = np.quantile(diffs, [alpha, 1 - alpha])
    other = np.mean(diffs <= 0) if observed > 0 else np.mean(diffs >= 0)
    return {
        "difference": float(observed),
        "low": float(low),
        "high": float(high),
        "confidence": float(confidence),
        "resamples": int(resamples),
        "p_other_sign": float(other),
    }


# --- plots -----------------------------------------------------------------------------------
def _figure(size: tuple[float, float]):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    return fig


def plot_curves(reports: Sequence[tuple[str, EvalReport]], path: str | Path, *, title: str | None = None) -> Path:
    """CED (faces) or PCK-vs-threshold (bodies) of each ``(label, report)`` on one plot, as a PNG."""
    if not reports:
        raise ValueError("no reports to plot")
    kinds = {r.kind for _, r in reports}
    if len(kinds) != 1:
        raise ValueError(f"cannot draw different kinds of report on one plot: {sorted(kinds)}")
    fig = _figure((6.4, 4.8))
    ax = fig.subplots()
    kind = kinds.pop()
    for label, r in reports:
        x_label, xs, ys = r.curve
        if kind == "face":
            legend = f"{label}: NME {100 * r.value:.2f}%, AUC@0.08 {100 * r.tables['auc@0.08']['all']:.1f}%"
        else:
            legend = f"{label}: {r.metric} {100 * r.value:.1f}%"
        ax.plot(100 * xs if kind == "face" else xs, 100 * ys, label=legend, linewidth=2)
    first = reports[0][1]
    if kind == "face":
        ax.axvline(100 * FACE_THRESHOLD, color="gray", linestyle=":", linewidth=1)
        ax.set(xlabel=f"{first.curve[0]} (%)", ylabel="images (%)", xlim=(0, 100 * CURVE_MAX["face"]))
        default_title = f"CED on {first.dataset} ({first.num_subjects} faces)"
    else:
        ax.set(xlabel=first.curve[0], ylabel="correct keypoints (%)", xlim=(0, CURVE_MAX[kind]))
        default_title = f"{'PCKh' if kind == 'mpii' else 'PCK'} on {first.dataset} ({first.num_subjects} people)"
    ax.set(ylim=(0, 100), title=title or default_title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def plot_per_keypoint(reports: Sequence[tuple[str, EvalReport]], path: str | Path) -> Path:
    """Grouped bars of each report's per-keypoint headline measure (error or PCK), as a PNG."""
    if not reports:
        raise ValueError("no reports to plot")
    names = reports[0][1].keypoint_names
    key = next(iter(reports[0][1].per_keypoint))
    k = len(names)
    fig = _figure((max(6.4, 0.16 * k * len(reports) + 2), 4.0))
    ax = fig.subplots()
    width = 0.8 / len(reports)
    x = np.arange(k)
    for i, (label, r) in enumerate(reports):
        ax.bar(x + (i - (len(reports) - 1) / 2) * width, 100 * r.per_keypoint[key], width, label=label)
    ax.set_xticks(x)
    ax.set_xticklabels(names if k <= 20 else [str(i) for i in range(k)], rotation=90 if k <= 20 else 0, fontsize=7)
    ax.set(ylabel=f"{key} (%)", xlabel="keypoint" if k <= 20 else "keypoint index", title=f"per keypoint: {key}")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path
