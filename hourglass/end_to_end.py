"""What a user gets on whole images: :func:`evaluate_end_to_end`.

The ground-truth-crop figures of :func:`hourglass.evaluation.evaluate_model` are a property of
the model: each subject is cut from its annotated keypoints, as in training. Here the model
meets each annotated image as ``tools/infer.py`` does, with no ground truth used: the
:class:`~hourglass.predictor.Predictor` finds the subjects among its candidates (the
detector's and the whole image's crops, refined, kept by the calibrated presence score; a model
without a calibrated threshold takes its detector's, else the whole image, as the tool falls
back). Then each
annotated subject is matched to a predicted one:

- a subject is **found** when a predicted skeleton's centre (the centre of its keypoints' box)
  lies in the subject's annotated keypoint box; of several, the nearest to the box centre, and
  each prediction serves one subject at most (nearest pairs first);
- the metric is reported **on the found subjects** and **with misses counted as failures**:
  for faces FR@0.08 with every missed face a failure, for bodies PCK with every labelled joint
  of a missed person wrong;
- beside the ground-truth-crop figures of the same model on the same subjects.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hourglass._array import json_floats
from hourglass.boxes import keypoint_boxes
from hourglass.data.io import read_image
from hourglass.data.records import AnnotationSet
from hourglass.evaluation import (
    EvalReport,
    bootstrap_difference,
    compare_models,
    evaluate,
    evaluate_model,
    evaluation_set,
)
from hourglass.evaluation.reports import FACE_THRESHOLD
from hourglass.predictor import REFINE, Predictor
from hourglass.visualize import contact_sheet, draw_predictions
from hourglass.weights import LoadedModel, load_model

__all__ = ["SHEET", "EndToEnd", "compare_end_to_end", "end_to_end_to_folder", "evaluate_end_to_end", "match_subjects"]

SHEET = 16
"""Images drawn for the contact sheet of an end-to-end evaluation."""


@dataclass
class EndToEnd:
    """End-to-end results on N annotated subjects (module docstring).

    Attributes:
        found: (N,) bool, the subjects a prediction was matched to.
        keypoints: (N, K, 2) the matched predictions (NaN for misses), image pixels.
        on_found: the standard report on the found subjects (None when none was found).
        ground_truth_crops: the report of the same model from ground-truth crops.
        with_misses: faces: FR@0.08 with misses as failures; bodies: the PCK with every labelled
            joint of a missed subject wrong (fractions).
        sources: per origin of the subjects (detector, whole-image, nobody), how many images had one.
        predicted: subjects predicted over all images (matched or not).
        settings: refine passes, flip, model.
        subjects: the annotation set evaluated; images: how many images it spans.
        drawings: the first :data:`SHEET` images drawn (every predicted subject, the annotated
            keypoint boxes in green) with a caption each, for the contact sheet.
    """

    found: np.ndarray
    keypoints: np.ndarray
    on_found: EvalReport | None
    ground_truth_crops: EvalReport
    with_misses: float
    sources: dict[str, int]
    predicted: int
    settings: dict[str, Any] = field(default_factory=dict)
    subjects: Any = None
    images: int = 0
    drawings: list = field(default_factory=list)

    @property
    def found_share(self) -> float:
        return float(self.found.mean()) if self.found.size else math.nan

    @property
    def with_misses_name(self) -> str:
        return f"fr@{FACE_THRESHOLD:g} with misses" if self.ground_truth_crops.kind == "face" else (
            f"{self.ground_truth_crops.metric} with misses")  # fmt: skip

    def format(self) -> str:
        """A few lines in percent: found share, metric on found, with misses, from ground-truth crops."""
        gt = self.ground_truth_crops
        n, f = self.found.size, int(self.found.sum())
        metric = gt.metric.upper() if gt.kind != "face" else "NME-io"
        on_found = f"{100 * self.on_found.value:.2f} %" if self.on_found is not None else "n/a"
        sources = ", ".join(f"{k} {v}" for k, v in sorted(self.sources.items()))
        lines = [
            f"end to end on {gt.dataset}: {n} subjects in {self.images} images "
            f"(refine {self.settings.get('refine')}, flip {'on' if self.settings.get('flip') else 'off'}); "
            f"images with subjects from: {sources}",
            f"found: {f} of {n} ({100 * self.found_share:.1f} %); {self.predicted} subjects predicted in all",
            f"{metric} on the found: {on_found}   {self.with_misses_name}: {100 * self.with_misses:.2f} %",
            f"{metric} from ground-truth crops (same model, same subjects): {100 * gt.value:.2f} %",
        ]
        if gt.kind == "face":
            lines.append(f"FR@{FACE_THRESHOLD:g} from ground-truth crops: {100 * gt.tables['fr@0.08']['all']:.2f} %")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """Fractions under names that say so, as ``metrics.json``."""
        gt = self.ground_truth_crops
        return {
            "dataset": gt.dataset, "metric": gt.metric, "subjects": int(self.found.size),
            "unit": "fractions: *_fraction values are 0-1 (0.0482 means 4.82 %)",
            "images": self.images, "found": int(self.found.sum()), "found_fraction": self.found_share,
            "predicted": self.predicted,
            "sources": dict(self.sources), "settings": self.settings,
            "on_found_fraction": None if self.on_found is None else self.on_found.value,
            "with_misses": self.with_misses_name, "with_misses_fraction": self.with_misses,
            "ground_truth_crops_fraction": gt.value,
            "on_found": None if self.on_found is None else self.on_found.to_json(),
            "ground_truth_crops": gt.to_json(),
        }  # fmt: skip


def match_subjects(truth_boxes: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """For each annotated keypoint box (M, 4) as (x0, y0, w, h) (:func:`hourglass.boxes.keypoint_boxes`),
    the index of the predicted subject (P, K, 2) matched to it, or -1 (module docstring's rule)."""
    m = len(truth_boxes)
    out = np.full(m, -1)
    if m == 0 or len(predicted) == 0:
        return out
    pred = keypoint_boxes(predicted)
    centres = pred[:, :2] + pred[:, 2:] / 2  # (P, 2); NaN for a subject without points: never matches
    b = np.asarray(truth_boxes, dtype=np.float64)
    lo, hi = b[:, None, :2], b[:, None, :2] + b[:, None, 2:]
    inside = ((centres[None] >= lo) & (centres[None] <= hi)).all(-1)  # (M, P)
    dist = np.linalg.norm(centres[None] - (lo + hi) / 2, axis=-1)
    dist = np.where(inside, dist, np.inf)
    used = np.zeros(len(pred), bool)
    for flat in np.argsort(dist, axis=None):
        i, j = np.unravel_index(flat, dist.shape)
        if not np.isfinite(dist[i, j]):
            break
        if out[i] < 0 and not used[j]:
            out[i], used[j] = j, True
    return out


def evaluate_end_to_end(
    model: LoadedModel | str | os.PathLike,
    subjects: Any = None,
    *,
    refine: int = REFINE,
    flip: bool = False,
    progress: bool = True,
    precision: str = "auto",
    decoder: str = "dark",
    device: str = "cpu",
    best: bool = False,
    **options: Any,
) -> EndToEnd:
    """Evaluate ``model`` on the whole images of its evaluation subjects, as a user meets it.

    Args:
        model: a loaded model, or a checkpoint, run folder, weights file or shipped name.
        subjects: the annotation set; None: :func:`~hourglass.evaluation.evaluation_set` by
            ``options`` (``data_root``, ``dataset``, ``split``, ``max_samples``,
            ``missing_images``), the model's held-out subjects by default.
        refine: :class:`~hourglass.predictor.Predictor` refinement passes.
        flip, precision, decoder: as :class:`~hourglass.predictor.Predictor` (and the
            ground-truth-crop evaluation beside it).
        device, best: where and which file to load (:func:`~hourglass.weights.load_model`).
        options: also ``allow_overlap`` and ``batch_size`` (as
            :func:`~hourglass.evaluation.evaluate_model`).

    Raises:
        ValueError: as :func:`~hourglass.evaluation.evaluate_model` (e.g. subjects the model
            trained on without ``allow_overlap``).
    """
    loaded = model if isinstance(model, LoadedModel) else load_model(model, device=device, best=best)
    crops = evaluate_model(loaded, subjects, flip=flip, progress=progress, precision=precision, decoder=decoder,
                           **options)  # fmt: skip
    subjects = crops.subjects
    predictor = Predictor(loaded, flip=flip, decoder=decoder, refine=refine, precision=precision)
    by_image: dict[Path, list[int]] = {}
    for i, r in enumerate(subjects):
        by_image.setdefault(Path(r.image), []).append(i)
    k = subjects.spec.num_keypoints
    keypoints = np.full((len(subjects), k, 2), np.nan)
    sources: Counter[str] = Counter()
    predicted = 0
    drawings: list[tuple[np.ndarray, str]] = []
    bar = tqdm(by_image.items(), desc="end to end", unit="image", disable=not (progress and sys.stderr.isatty()))
    for image, rows in bar:
        rgb = read_image(image, orient=False)  # annotations are in the stored pixel grid
        pred = predictor(rgb)
        if len(pred) == 0 and predictor.presence_threshold is None:  # tools/infer.py's fallback, uncalibrated
            pred = predictor(rgb, whole_image=True)
        for origin in dict.fromkeys(pred.origins) if len(pred) else ["nobody"]:
            sources[origin.split(":")[0]] += 1
        predicted += len(pred)
        truth = keypoint_boxes(subjects.keypoints()[rows])  # labelled keypoints only (the others are NaN)
        match = match_subjects(truth, pred.keypoints)
        for row, j in zip(rows, match):
            if j >= 0:
                keypoints[row] = pred.keypoints[j]
        if len(drawings) < SHEET:
            drawings.append(_drawing(rgb, pred, truth, match))
    found = np.isfinite(keypoints).all(axis=(1, 2))
    on_found, with_misses = _scores(keypoints, found, subjects, crops.report)
    gt = crops.report
    settings = {"model": str(loaded.path), "refine": refine, "flip": bool(flip), "decoder": decoder,
                "precision": predictor.precision, "fallback": "whole image when the detector finds nobody"}  # fmt: skip
    return EndToEnd(
        found, keypoints, on_found, gt, float(with_misses), dict(sources), predicted, settings, subjects,
        len(by_image), drawings,
    )  # fmt: skip


def _scores(keypoints: np.ndarray, found: np.ndarray, subjects: Any, gt: EvalReport) -> tuple[Any, float]:
    """(the report on the found subjects or None, the metric with misses as failures: module docstring)."""
    on_found = None
    if found.any():
        kept = AnnotationSet([subjects[i] for i in np.flatnonzero(found)], subjects.spec, subjects.name)
        on_found = evaluate(keypoints[found], kept, settings=dict(gt.settings))
    if gt.kind == "face":
        errors = on_found.per_image[0][on_found.per_image[1] > 0] if on_found is not None else np.zeros(0)
        misses = int((~found).sum())
        return on_found, (int((errors > FACE_THRESHOLD).sum()) + misses) / max(1, errors.size + misses)
    num = on_found.per_image[0].sum() if on_found is not None else 0.0
    return on_found, float(num / gt.per_image[1].sum())


def _drawing(rgb: np.ndarray, pred: Any, truth: np.ndarray, match: np.ndarray) -> tuple[np.ndarray, str]:
    """The image with every predicted subject drawn and each annotated keypoint box in green; a caption."""
    import cv2

    out = draw_predictions(rgb, [pred]) if len(pred) else rgb.copy()
    for x, y, w, h in truth:
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 200, 0), 2)
    found = int((match >= 0).sum())
    return out, f"{found}/{len(match)} found, {len(pred)} predicted"


def end_to_end_to_folder(model: str | os.PathLike, *, out: str | os.PathLike | None = None, **options: Any) -> dict:
    """:func:`evaluate_end_to_end` written to ``out`` (default ``eval/<model>-<split>-end-to-end``):
    ``end_to_end.json`` (:meth:`EndToEnd.to_json`), ``predictions.json`` (per subject: image,
    found, keypoints or null) and ``sheet.png`` (the first :data:`SHEET` images drawn); prints
    :meth:`EndToEnd.format`. Returns the JSON written."""
    loaded = load_model(model, device=options.pop("device", "cpu"), best=options.pop("best", False))
    print(f"model: {loaded.path}")
    result = evaluate_end_to_end(loaded, **options)
    split = options.get("split") or loaded.config.val_split or "held-out"
    folder = Path(out) if out else Path("eval") / f"{loaded.name}-{split.replace('/', '_')}-end-to-end"
    folder.mkdir(parents=True, exist_ok=True)
    data = result.to_json()
    (folder / "end_to_end.json").write_text(json.dumps(data, indent=2) + "\n")
    entries = [{"image": str(r.image), "found": bool(f), "keypoints": json_floats(kp, 2) if f else None}
               for r, f, kp in zip(result.subjects, result.found, result.keypoints)]  # fmt: skip
    (folder / "predictions.json").write_text(json.dumps(entries) + "\n")
    written = [folder / "end_to_end.json", folder / "predictions.json"]
    if result.drawings:
        images, captions = zip(*result.drawings)
        written.append(contact_sheet(images, captions, folder / "sheet.png"))
    print(result.format())
    print(f"wrote {', '.join(map(str, written))}")
    return data


_SUBJECT_OPTIONS = ("dataset", "data_root", "split", "max_samples", "missing_images")


def compare_end_to_end(
    models: Any, *, out: str | os.PathLike = "compare", refine: int = REFINE, log: Any = print, **options: Any
) -> dict[str, Any]:
    """:func:`~hourglass.evaluation.compare_models` (ground-truth crops) with an end-to-end
    section: each model on the same subjects' whole images (:func:`evaluate_end_to_end`, same
    flip test, decoder and precision), found share, metric on the found, metric with misses,
    and the paired-bootstrap difference of the headline metric vs the first model on the
    subjects every model found. Appended to ``report.md``; ``report.json`` gains
    ``"end_to_end"``. Returns the JSON written."""
    result = compare_models(models, out=out, log=log, **options)
    first = load_model(models[0], device=options.get("device", "cpu"), best=options.get("best", False))
    subjects = evaluation_set(first.config, **{k: options[k] for k in _SUBJECT_OPTIONS if k in options})
    same = {k: options[k] for k in ("flip", "decoder", "precision", "device", "best", "allow_overlap", "batch_size")
            if k in options}  # fmt: skip
    labels = [row["label"] for row in result["models"]]
    runs = [evaluate_end_to_end(row["model"], subjects, refine=refine, progress=options.get("progress", True), **same)
            for row in result["models"]]  # fmt: skip
    both = np.logical_and.reduce([r.found for r in runs])
    common = AnnotationSet([subjects[i] for i in np.flatnonzero(both)], subjects.spec, subjects.name)
    scored = [evaluate(r.keypoints[both], common) for r in runs] if both.any() else []
    diffs = {label: bootstrap_difference(rep, scored[0], resamples=options.get("bootstrap", 2000),
                                         confidence=options.get("confidence", 0.95))
             for label, rep in zip(labels[1:], scored[1:])}  # fmt: skip
    result["end_to_end"] = {"refine": refine, "found_by_all": int(both.sum()), "differences_vs_first_on_found_by_all":
                            diffs, "models": {label: r.to_json() for label, r in zip(labels, runs)}}  # fmt: skip
    md = _end_to_end_section(labels, runs, diffs, int(both.sum()), refine)
    folder = Path(out)
    with open(folder / "report.md", "a") as f:
        f.write("\n" + md + "\n")
    (folder / "report.json").write_text(json.dumps(result, indent=2) + "\n")
    log(md)
    return result


def _end_to_end_section(labels: list[str], runs: list[EndToEnd], diffs: dict, both: int, refine: int) -> str:
    """The markdown of :func:`compare_end_to_end`'s section."""
    gt = runs[0].ground_truth_crops
    metric = "NME io" if gt.kind == "face" else gt.metric.upper()
    lines = [
        "## End to end: whole images, no ground truth",
        "",
        f"Each model finds its own subjects on the {runs[0].images} whole images as `tools/infer.py` does (its "
        f"candidates, {refine} refinement passes, its presence threshold); a subject is found when a predicted "
        "skeleton's centre lies in its annotated keypoint box (`hourglass.end_to_end`).",
        "",
        f"| model | precision | found % | {metric} % on the found | {runs[0].with_misses_name} % "
        f"| {metric} % on ground-truth crops |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for label, r in zip(labels, runs):
        on_found = f"{100 * r.on_found.value:.2f}" if r.on_found is not None else "n/a"
        lines.append(f"| {label} | {r.settings['precision']} | {100 * r.found_share:.1f} | {on_found} | "
                     f"{100 * r.with_misses:.2f} | {100 * r.ground_truth_crops.value:.2f} |")  # fmt: skip
    lines += ["", f"Difference in {gt.metric} against {labels[0]} on the {both} subjects every model found "
              "(paired bootstrap over subjects, percentage points):", ""]  # fmt: skip
    for label, d in diffs.items():
        interval = f"[{100 * d['low']:+.2f}, {100 * d['high']:+.2f}]"
        lines.append(f"- {label} - {labels[0]}: {100 * d['difference']:+.2f} {interval}; "
                     f"share of resamples with the other sign: {d['p_other_sign']:.4f}")  # fmt: skip
    return "\n".join(lines)
