"""Calibrating the presence score: the threshold under which a crop holds nobody.

:func:`hourglass.codec.presence_score` turns a crop's keypoint maxima into one number per
subject. :func:`calibrate_presence` measures it on held-out subjects, each from its own crop
(positives), and on as many background crops cut from the same images away from every
annotated subject (negatives, :class:`hourglass.data.negatives.WithNegatives`, un-augmented),
and sets the threshold that keeps :data:`KEEP` of the positives. ``tools/pack_weights.py``
stores the result with a weights file (``metrics["presence"]``), where
:class:`hourglass.Predictor` reads the threshold (``LoadedModel.presence_threshold``).

:func:`calibrate_keypoints` does the same for single keypoints: on partial views of the
held-out subjects (zoomed in and moved as ``PipelineConfig.partial_prob`` draws them, no other
augmentation) it scores the labelled keypoints in view (positives) and those the crop leaves
out (negatives), by their argmax peaks without flip test (float32 by default), and sets the
keypoint threshold that keeps :data:`KEEP_KEYPOINTS` of the positives: a keypoint scoring
below it is taken as out of view and is not drawn (``Prediction.in_view``). Only a model
trained with absent targets (``--partial-views``) can score the two apart; :func:`calibrate`
stores the threshold only where the AUC reaches :data:`MIN_KEYPOINT_AUC`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hourglass.codec import decode_heatmaps, presence_score
from hourglass.data import KeypointDataset, PipelineConfig, TopDownPipeline
from hourglass.data.negatives import WithNegatives
from hourglass.evaluation.inference import crop_sizes, eval_pipeline, forward, inference_precision, prepare_model

__all__ = ["KEEP", "KEEP_KEYPOINTS", "MIN_KEYPOINT_AUC", "calibrate", "calibrate_keypoints", "calibrate_presence"]

KEEP = 0.98
"""Share of held-out positives (ground-truth crops) the calibrated threshold keeps."""
KEEP_KEYPOINTS = 0.95
"""Share of held-out keypoints in view (of partial views) the calibrated keypoint threshold keeps."""
MIN_KEYPOINT_AUC = 0.9
"""A keypoint threshold is stored only where the scores tell keypoints in and out of view apart at
least this well (a model trained without absent targets does not: 0.69 for stage 5's lspet-hg4)."""


def _prepare(loaded: Any, subjects: Any, keep: float, precision: str, what: str) -> str:
    """Check ``keep`` and ``subjects`` (ValueError naming them), ready the model; the precision to run in."""
    if not 0 < keep < 1:
        raise ValueError(f"keep must be a share in (0, 1), got {keep!r}")
    if len(subjects) == 0:
        raise ValueError(f"{subjects.name} holds no subjects to calibrate the {what} on")
    prepare_model(loaded.model, loaded.device)
    return inference_precision(loaded, precision)


def calibrate_presence(
    loaded: Any, subjects: Any, *, keep: float = KEEP, batch_size: int = 32, precision: str = "fp32", seed: int = 0
) -> dict[str, Any] | None:
    """The presence threshold of a heatmap model, measured on ``subjects`` (module docstring).

    Returns:
        ``{"threshold", "keep", "positives", "negatives", "positives_kept", "negatives_passed",
        "auc", "score"}`` (fractions), or None for a regression model (no heatmaps, no score).

    Raises:
        ValueError: ``keep`` outside (0, 1), or no subjects.
    """
    if loaded.output_kind != "heatmap":
        return None
    precision = _prepare(loaded, subjects, keep, precision, "presence score")
    data = WithNegatives(KeypointDataset(subjects, eval_pipeline(loaded.model, loaded.spec, loaded.sigma),
                                         progress=False), 0.5, seed=seed)  # fmt: skip
    scores = []
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            x = torch.stack([data[(0, i)].image for i in range(start, min(len(data), start + batch_size))])
            out = forward(loaded.model, "heatmap", x.to(loaded.device), loaded.spec, precision=precision)
            _, peaks = decode_heatmaps(out.float().cpu(), "argmax")
            scores.append(presence_score(peaks.numpy()))
    score = np.concatenate(scores)
    n = len(subjects)
    pos, neg = score[:n], score[n:]
    threshold = float(np.quantile(pos, 1 - keep))
    auc = _auc(pos, neg)
    return {
        "threshold": threshold, "keep": keep, "positives": n, "negatives": int(neg.size),
        "positives_kept": float((pos >= threshold).mean()), "negatives_passed": float((neg >= threshold).mean()),
        "auc": auc, "score": "mean of the larger half of the keypoint maxima (hourglass.codec.presence_score)",
    }  # fmt: skip


def _auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """Probability that a positive scores above a negative (ties count half), by ranks: memory
    linear in the counts (tens of thousands of keypoints a side)."""
    neg = np.sort(np.asarray(neg, dtype=np.float64))
    pos = np.asarray(pos, dtype=np.float64)
    below = np.searchsorted(neg, pos, side="left")  # negatives strictly under each positive
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below.sum() + 0.5 * ties.sum()) / (pos.size * neg.size))


def calibrate_keypoints(
    loaded: Any,
    subjects: Any,
    *,
    keep: float = KEEP_KEYPOINTS,
    batch_size: int = 32,
    precision: str = "fp32",
    seed: int = 0,
) -> dict[str, Any] | None:
    """The keypoint threshold of a heatmap model, measured on partial views of ``subjects``
    (module docstring).

    Returns:
        ``{"threshold", "keep", "in_view", "out_of_view", "in_view_kept", "out_of_view_passed",
        "auc"}`` (counts of keypoints, fractions), or None for a regression model.

    Raises:
        ValueError: ``keep`` outside (0, 1), or no subjects.
    """
    if loaded.output_kind != "heatmap":
        return None
    precision = _prepare(loaded, subjects, keep, precision, "keypoint score")
    size, hm = crop_sizes(loaded.model)
    views = PipelineConfig(input_size=size, heatmap_size=hm, sigma=loaded.sigma, partial_prob=1.0, rotation_prob=0.0,
                           flip_prob=0.0, color_prob=0.0, blur_prob=0.0, noise_prob=0.0, dropout_prob=0.0)  # fmt: skip
    data = KeypointDataset(subjects, TopDownPipeline(views, loaded.spec), seed=seed, progress=False)
    scores, inside, labelled = [], [], []
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            batch = [data[(0, i)] for i in range(start, min(len(data), start + batch_size))]
            x = torch.stack([b.image for b in batch])
            out = forward(loaded.model, "heatmap", x.to(loaded.device), loaded.spec, precision=precision)
            scores.append(decode_heatmaps(out.float().cpu(), "argmax")[1].numpy())
            inside.append(np.stack([b.coord_weight.numpy() > 0 for b in batch]))
            labelled.append(np.stack([b.labelled.numpy() for b in batch]))
    score, inside, labelled = np.concatenate(scores), np.concatenate(inside), np.concatenate(labelled)
    pos, neg = score[inside], score[labelled & ~inside]
    if pos.size == 0:
        raise ValueError(f"no labelled keypoint of {subjects.name} is in view in its partial views to calibrate on")
    threshold = float(np.quantile(pos, 1 - keep, method="lower"))  # keeps at least ``keep``
    return {
        "threshold": threshold, "keep": keep, "in_view": int(pos.size), "out_of_view": int(neg.size),
        "in_view_kept": float((pos >= threshold).mean()),
        "out_of_view_passed": float((neg >= threshold).mean()) if neg.size else float("nan"),
        "auc": _auc(pos, neg) if neg.size else float("nan"),
    }  # fmt: skip


def calibrate(loaded: Any, subjects: Any) -> tuple[dict[str, Any], list[str]]:
    """The calibrations ``tools/pack_weights.py`` stores with a weights file (``{"presence": ...,
    "keypoints": ...}``, each only where measured and useful) and one line on each."""
    out: dict[str, Any] = {}
    lines = []
    if presence := calibrate_presence(loaded, subjects):
        out["presence"] = presence
        lines.append(
            f"presence threshold {presence['threshold']:.4f}: keeps {100 * presence['positives_kept']:.1f} % of "
            f"{presence['positives']} held-out subjects, passes {100 * presence['negatives_passed']:.1f} % of "
            f"{presence['negatives']} background crops (AUC {presence['auc']:.3f})"
        )
    keypoints = calibrate_keypoints(loaded, subjects)
    if keypoints and keypoints["auc"] >= MIN_KEYPOINT_AUC:
        out["keypoints"] = keypoints
        lines.append(
            f"keypoint threshold {keypoints['threshold']:.4f}: keeps {100 * keypoints['in_view_kept']:.1f} % of "
            f"{keypoints['in_view']} keypoints in view, passes {100 * keypoints['out_of_view_passed']:.1f} % of "
            f"{keypoints['out_of_view']} out of view in partial views (AUC {keypoints['auc']:.3f})"
        )
    elif keypoints and keypoints["out_of_view"] == 0:
        lines.append("no keypoint threshold: no labelled keypoint fell out of view to calibrate against")
    elif keypoints:
        lines.append(
            f"no keypoint threshold: the scores tell keypoints in and out of view apart with AUC "
            f"{keypoints['auc']:.3f}, below {MIN_KEYPOINT_AUC} (train with --partial-views); every keypoint is drawn"
        )
    return out, lines
