"""Evaluation: a model's predictions on annotated subjects and the standard reports.

- :mod:`~hourglass.evaluation.inference`: the inference forward (flip test), decoding and the
  inverse crop; :func:`eval_pipeline`, the one un-augmented crop pipeline everything evaluates on;
- :mod:`~hourglass.evaluation.sets`: which subjects (by default the model's own held-out ones);
- :mod:`~hourglass.evaluation.overlap`: the subjects a model trained on, refused unless allowed;
- :mod:`~hourglass.evaluation.reports`: the standard report of one set of predictions;
- :mod:`~hourglass.evaluation.comparison`: models side by side with paired-bootstrap intervals.

:func:`evaluate_model` chains them: the one path from a model to numbers that ``tools/eval.py``,
``tools/pack_weights.py``, the comparison and the benchmarks call.
"""

from hourglass.evaluation.comparison import bootstrap_difference, compare_models, plot_curves, plot_per_keypoint
from hourglass.evaluation.inference import (
    FP32_MODELS,
    Predictions,
    crop_sizes,
    crop_to_image,
    eval_pipeline,
    forward,
    inference_precision,
    predict_dataset,
    prepare_model,
    to_image,
)
from hourglass.evaluation.model import Evaluation, evaluate_model
from hourglass.evaluation.overlap import TrainingOverlap, check_overlap, training_overlap, training_subjects
from hourglass.evaluation.reports import (
    BODY_THRESHOLD,
    CURVE_MAX,
    FACE_THRESHOLD,
    TILT_BINS,
    EvalReport,
    evaluate,
    headline,
    pck_by_tilt,
    pckh_head_sizes,
)
from hourglass.evaluation.sets import evaluation_set

__all__ = [
    "BODY_THRESHOLD",
    "CURVE_MAX",
    "FP32_MODELS",
    "FACE_THRESHOLD",
    "TILT_BINS",
    "TrainingOverlap",
    "EvalReport",
    "Evaluation",
    "Predictions",
    "bootstrap_difference",
    "check_overlap",
    "compare_models",
    "crop_sizes",
    "crop_to_image",
    "eval_pipeline",
    "evaluate",
    "evaluate_model",
    "evaluation_set",
    "forward",
    "headline",
    "inference_precision",
    "pck_by_tilt",
    "pckh_head_sizes",
    "plot_curves",
    "plot_per_keypoint",
    "predict_dataset",
    "prepare_model",
    "to_image",
    "training_overlap",
    "training_subjects",
]
