"""The one path from a model to numbers: :func:`evaluate_model`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NamedTuple

from hourglass.evaluation.inference import Predictions, inference_precision, predict_dataset
from hourglass.evaluation.overlap import TrainingOverlap, check_overlap, training_overlap
from hourglass.evaluation.reports import EvalReport, evaluate
from hourglass.evaluation.sets import evaluation_set
from hourglass.weights import LoadedModel, load_model

__all__ = ["Evaluation", "evaluate_model"]


class Evaluation(NamedTuple):
    """What :func:`evaluate_model` returns: the report, the predictions and the subjects they are of."""

    report: EvalReport
    predictions: Predictions
    subjects: Any


def evaluate_model(
    model: LoadedModel | str | os.PathLike,
    subjects: Any = None,
    *,
    data_root: str | Path | None = None,
    dataset: str | None = None,
    split: str | None = None,
    max_samples: int | None = None,
    missing_images: str = "error",
    flip: bool = False,
    decoder: str = "dark",
    batch_size: int = 32,
    workers: int = 0,
    device: str = "cpu",
    progress: bool = True,
    allow_overlap: bool = False,
    overlap: TrainingOverlap | None = None,
    best: bool = False,
    precision: str = "auto",
) -> Evaluation:
    """Evaluate a model: load it, pick its subjects, predict them from their crops, report.

    Args:
        model: a :class:`~hourglass.weights.LoadedModel`, or a checkpoint, run folder, weights
            file or shipped name (loaded on ``device``; a run folder gives its last.pt, or its
            best.pt with ``best``).
        subjects: the annotation set to evaluate on; None picks it with
            :func:`~hourglass.evaluation.evaluation_set` (``data_root``, ``dataset``, ``split``,
            ``max_samples``, ``missing_images``), by default the model's own held-out subjects.
        flip, decoder, batch_size, workers, progress, precision: as
            :func:`~hourglass.evaluation.predict_dataset` (``precision`` ``"auto"``, ``"fp32"`` or ``"bf16"``).
        allow_overlap: score subjects the model trained on (:mod:`hourglass.evaluation.overlap`)
            instead of raising; the report's settings and text flag them.
        overlap: the :func:`~hourglass.evaluation.overlap.training_overlap` of these subjects,
            when already counted (:func:`~hourglass.evaluation.compare_models` checks every model
            first).

    Returns:
        :class:`Evaluation` ``(report, predictions, subjects)``; the report's settings name the
        model file, the flip test, the output kind, the decoder used and the training overlap.

    Raises:
        ValueError: some subjects are in the model's training data and not ``allow_overlap``
            (one line: the count, the model, its training split).
    """
    loaded = model if isinstance(model, LoadedModel) else load_model(model, device=device, best=best)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if subjects is None:
        subjects = evaluation_set(
            loaded.config, data_root=data_root, dataset=dataset, split=split,
            max_samples=max_samples, missing_images=missing_images,
        )  # fmt: skip
    if overlap is None:
        overlap = training_overlap(loaded.config, subjects, data_root=data_root, dataset=dataset)
    leak = check_overlap(overlap, str(loaded.path), allow_overlap=allow_overlap)
    precision = inference_precision(loaded, precision)
    pred = predict_dataset(
        loaded, subjects, flip=flip, decoder=decoder, batch_size=batch_size, workers=workers, progress=progress,
        precision=precision,
    )  # fmt: skip
    settings = {
        "model": str(loaded.path),
        "flip": bool(flip),
        "kind": loaded.output_kind,
        "decoder": decoder if loaded.output_kind == "heatmap" else None,
        "training_overlap": leak,
        "precision": precision,
    }
    return Evaluation(evaluate(pred, subjects, settings=settings), pred, subjects)
