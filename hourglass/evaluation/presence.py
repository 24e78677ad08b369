"""Calibrating the presence score: the threshold under which a crop holds nobody.

:func:`hourglass.codec.presence_score` turns a crop's keypoint maxima into one number per
subject. :func:`calibrate_presence` measures it on held-out subjects, each from its own crop
(positives), and on as many background crops cut from the same images away from every
annotated subject (negatives, :class:`hourglass.data.negatives.WithNegatives`, un-augmented),
and sets the threshold that keeps :data:`KEEP` of the positives. ``tools/pack_weights.py``
stores the result with a weights file (``metrics["presence"]``), where
:class:`hourglass.Predictor` reads the threshold (``LoadedModel.presence_threshold``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from hourglass.codec import decode_heatmaps, presence_score
from hourglass.data import KeypointDataset
from hourglass.data.negatives import WithNegatives
from hourglass.evaluation.inference import eval_pipeline, forward, inference_precision, prepare_model

__all__ = ["KEEP", "calibrate_presence"]

KEEP = 0.98
"""Share of held-out positives (ground-truth crops) the calibrated threshold keeps."""


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
    if not 0 < keep < 1:
        raise ValueError(f"keep must be a share in (0, 1), got {keep!r}")
    if len(subjects) == 0:
        raise ValueError(f"{subjects.name} holds no subjects to calibrate the presence score on")
    precision = inference_precision(loaded, precision)
    prepare_model(loaded.model, loaded.device)
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
    auc = float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())
    return {
        "threshold": threshold, "keep": keep, "positives": n, "negatives": int(neg.size),
        "positives_kept": float((pos >= threshold).mean()), "negatives_passed": float((neg >= threshold).mean()),
        "auc": auc, "score": "mean of the larger half of the keypoint maxima (hourglass.codec.presence_score)",
    }  # fmt: skip
