"""What ``tools/eval.py`` writes: one model evaluated into a folder (metrics, plots, predictions)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from hourglass._array import json_floats
from hourglass.data.coco_json import plain_id
from hourglass.evaluation.comparison import plot_curves, plot_per_keypoint
from hourglass.evaluation.model import Evaluation, evaluate_model
from hourglass.weights import load_model

__all__ = ["evaluate_to_folder"]


def evaluate_to_folder(
    model: str | os.PathLike,
    *,
    out: str | os.PathLike | None = None,
    dataset: str | None = None,
    data_root: str | os.PathLike | None = None,
    split: str | None = None,
    predictions: bool = False,
    device: str = "cpu",
    best: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Evaluate ``model`` (:func:`~hourglass.evaluation.evaluate_model`) and write the results.

    Writes to ``out`` (default ``eval/<model>-<split>``): metrics.json (every table, as fractions under
    ``*_fraction`` names, the headline also as ``value_pct``: :meth:`EvalReport.to_json`),
    ced.png (faces) or pck.png (bodies), per_keypoint.png, and with ``predictions``
    predictions.json (one entry per subject: image, keypoints [x, y, score] * K in image
    pixels). COCO splits also get OKS AP through pycocotools. Prints the report.

    Args:
        best: a run folder gives its best.pt instead of its last.pt (the file used is printed).
        options: ``flip``, ``decoder``, ``max_samples``, ``missing_images``, ``batch_size``,
            ``progress``, ``allow_overlap`` of :func:`~hourglass.evaluation.evaluate_model`.

    Returns:
        the JSON written to metrics.json.
    """
    loaded = load_model(model, device=device, best=best)
    print(f"model: {loaded.path}")
    ev = evaluate_model(loaded, dataset=dataset, data_root=data_root, split=split, **options)
    split_name = split or (loaded.config.val_split or "held-out")
    folder = Path(out) if out else Path("eval") / f"{loaded.name}-{split_name.replace('/', '_')}"
    folder.mkdir(parents=True, exist_ok=True)
    result = ev.report.to_json()
    if (dataset or loaded.config.dataset) == "coco":
        root = Path(data_root or loaded.config.data_root)
        # The held-out part of a training split lives in the training split's file.
        ann_split = split or loaded.config.val_split or loaded.config.train_split
        _add_coco_oks(result, ev, root / "annotations" / f"person_keypoints_{ann_split}.json")
    curve_name = "ced.png" if ev.report.kind == "face" else "pck.png"
    plot_curves([(loaded.name, ev.report)], folder / curve_name)
    plot_per_keypoint([(loaded.name, ev.report)], folder / "per_keypoint.png")
    written = [folder / "metrics.json", folder / curve_name, folder / "per_keypoint.png"]
    if predictions:
        (folder / "predictions.json").write_text(json.dumps(_prediction_entries(ev)) + "\n")
        written.append(folder / "predictions.json")
    (folder / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    print(ev.report.format())
    print(f"wrote {', '.join(map(str, written))}")
    return result


def _prediction_entries(ev: Evaluation) -> list[dict[str, Any]]:
    """One JSON entry per subject: image, image id, subset, keypoints [x, y, score] * K (score
    ``null`` for a regression model, which gives none)."""
    return [
        {"image": str(r.image), "image_id": plain_id(r.image_id), "subset": r.subset,
         "keypoints": json_floats(np.concatenate([c, s[:, None]], 1).ravel(), 4)}
        for r, c, s in zip(ev.subjects, ev.predictions.coords, ev.predictions.scores)
    ]  # fmt: skip


def _add_coco_oks(result: dict[str, Any], ev: Evaluation, annotations: Path) -> None:
    """COCO OKS keypoint AP of the predicted people (ground-truth boxes) into ``result``, printed."""
    from hourglass.data.coco_eval import coco_keypoint_ap, coco_results  # optional: pycocotools

    ids = [r.image_id for r in ev.subjects]
    # Only the people predicted on: a held-out part or max_samples is not the whole file.
    people = [r.extra["annotation_id"] for r in ev.subjects]
    pred = ev.predictions
    # A regressor gives no confidences (NaN): the triplets carry 0 (OKS ignores them) and every
    # person ranks equal (score 1), which AP then treats as one tie.
    scores = np.nan_to_num(pred.scores, nan=0.0)
    ranks = np.ones(len(ids)) if np.isnan(pred.scores).all() else scores.mean(axis=1)
    ap = coco_keypoint_ap(annotations, coco_results(ids, pred.coords, scores, ranks), annotation_ids=people)
    result["tables_fraction"]["coco_oks"] = dict(ap)
    result["settings"]["coco_oks"] = {"boxes": "ground truth", "images": len(set(ids)), "annotations": str(annotations)}
    print(f"COCO OKS keypoint AP on {len(set(ids))} images, with ground-truth person boxes "
          "(published COCO AP uses a person detector's boxes):")  # fmt: skip
    print(ap.text)
