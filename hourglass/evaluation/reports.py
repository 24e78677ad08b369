"""Evaluation: the standard report of predictions on an annotation set.

One path from a model to numbers, shared by training validation, ``tools/eval.py`` and
``tools/compare.py``: :func:`evaluation_set` picks the subjects (by default the model's own
held-out split), :func:`hourglass.evaluation.predict_dataset` predicts them, and
:func:`evaluate` computes the dataset's standard report:

- faces (specs with inter-ocular points): NME inter-ocular (outer eye corners) and
  inter-pupil per subset and overall, AUC@0.08 and FR@0.08 of the inter-ocular NME (AUC
  exact, :func:`hourglass.metrics.auc`), per-landmark mean error, and the CED curve.
  Headline: mean inter-ocular NME (lower is better).
- MPII (every subject has a PCKh head size, :func:`pckh_head_sizes`: 0.6 x its head-box
  diagonal, or the head size its source stores, as ``valid.h5``'s ``normalize``):
  :func:`hourglass.metrics.pckh_table` at 0.5 and 0.1 with the "weighted" Mean (the official
  "Total"), per joint, and the PCKh curve. Headline: PCKh@0.5 Mean.
- other bodies, MPII subjects without head sizes included: PCK@0.2 per joint and pooled,
  normalised by the torso (spec.torso; the bounding box of the labelled joints when the spec
  has no torso), and the PCK curve. Headline: PCK@0.2; the text report says it is not PCKh.

Every headline is ``sum(num) / sum(den)`` of per-image terms (``EvalReport.per_image``),
which is what :func:`hourglass.evaluation.bootstrap_difference` resamples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hourglass.evaluation.inference import Predictions
from hourglass.evaluation.overlap import overlap_warning
from hourglass.keypoints import MPII
from hourglass.metrics import (
    auc,
    bbox_size,
    body_tilt,
    ced_curve,
    failure_rate,
    head_size,
    interocular,
    interpupil,
    left_right_inversions,
    mirror_oracle,
    nme,
    pck,
    pck_curve,
    pck_per_image,
    pckh_table,
    torso_size,
)

__all__ = ["EvalReport", "evaluate", "headline", "pck_by_tilt", "pckh_head_sizes"]

FACE_THRESHOLD = 0.08
"""AUC and failure-rate threshold of the 300-W reports (inter-ocular NME)."""
BODY_THRESHOLD = 0.2
"""PCK threshold for bodies other than MPII (torso-normalised, the LSP convention)."""
CURVE_MAX = {"face": 0.10, "mpii": 0.5, "body": 0.5}
"""Largest threshold drawn on each kind's curve."""
TILT_BINS = ((0, 45), (45, 90), (90, 135), (135, 180))
"""Bins of the body reports' PCK by tilt from upright (degrees, :func:`hourglass.metrics.body_tilt`)."""


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

    def to_json(self) -> dict[str, Any]:
        """The dict the files people read hold (``metrics.json``, ``report.json``): fractions
        under names that say so (``value_fraction``, ``tables_fraction``,
        ``per_keypoint_fraction``, the curve's ``values_fraction``), the headline also as
        ``value_pct``, and a ``unit`` line. :meth:`to_dict` is the same data under the plain
        names that weights files store."""
        d = self.to_dict()
        curve = d.pop("curve")
        return {
            "dataset": d["dataset"], "kind": d["kind"], "subjects": d["subjects"], "metric": d["metric"],
            "unit": "fractions: *_fraction values are 0-1 (0.0482 means 4.82 %); value_pct is the headline in percent",
            "value_pct": 100 * self.value, "value_fraction": self.value, "higher_better": self.higher_better,
            "settings": d["settings"], "tables_fraction": d["tables"], "per_keypoint_fraction": d["per_keypoint"],
            "curve": {"x": curve["x"], "thresholds": curve["thresholds"], "values_fraction": curve["values"]},
        }  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (fractions, not percentages), as weights files store it."""
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
        if warning := overlap_warning(self.settings.get("training_overlap")):
            lines.append(warning)
        if self.kind == "face":
            subsets = list(self.tables["nme_interocular"])
            width = max(12, *(len(s) for s in subsets))
            pupils = "nme_interpupil" in self.tables  # a spec without pupils has no inter-pupil column
            lines.append(
                "subset".ljust(width) + "  NME-io %" + ("  NME-ip %" if pupils else "") + "  AUC@0.08 %  FR@0.08 %"
            )
            for s in subsets:
                ip = f"  {100 * self.tables['nme_interpupil'].get(s, math.nan):8.2f}" if pupils else ""
                auc_, fr = self.tables["auc@0.08"].get(s, math.nan), self.tables["fr@0.08"].get(s, math.nan)
                lines.append(
                    f"{s.ljust(width)}  {100 * self.tables['nme_interocular'][s]:8.2f}{ip}  "
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
            if "left_right_inversions" in t:
                inv = t["left_right_inversions"]
                lines.append(
                    "left/right inversions (wrong, but within the threshold of the other side's joint): "
                    f"{100 * inv['rate']:.2f}% of the evaluated joints, "
                    f"{100 * inv['share_of_misses']:.1f}% of the misses"
                )
            if "pck_by_tilt" in t:
                bt = t["pck_by_tilt"]
                cells = [
                    f"{b}: {'-' if v is None else f'{100 * v:.1f}%'} ({n})"
                    for b, v, n in zip(bt["bins"], bt["pck"], bt["people"])
                ]
                lines.append("PCK by tilt from upright (hips to shoulders, degrees; people): " + ", ".join(cells))
            if "mirror_oracle" in t:
                mo = t["mirror_oracle"]
                lines.append(
                    f"facing-direction oracle (each person's left/right labels swapped where that scores better; "
                    f"a diagnosis, not a score): PCK {100 * mo['mean']:.2f}%, "
                    f"{100 * mo['share_mirrored']:.1f}% of the people swapped"
                )
            if t.get("not_pckh"):
                lines.append(t["not_pckh"])
        return "\n".join(lines)


def _floats(v: Any) -> list[float | None]:
    return [None if not math.isfinite(float(x)) else float(x) for x in np.asarray(v, dtype=np.float64).ravel()]


def _face_report(pred: np.ndarray, annotations: Any) -> dict[str, Any]:
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


def pckh_head_sizes(annotations: Any) -> np.ndarray | None:
    """The PCKh head size (N,) of every subject, or None when a subject has none.

    A subject's head size is 0.6 x its head-box diagonal (:func:`hourglass.metrics.head_size`)
    when it has a ``headbox``, else ``extra["head_size"]``, the size a source stores without the
    box (MPII ``valid.h5``'s ``normalize``, read by :func:`hourglass.data.mpii_h5.load_mpii_h5`).

    Raises:
        ValueError: a stored ``extra["head_size"]`` is not a finite positive number.
    """
    sizes = np.empty(len(annotations))
    boxes: dict[int, Any] = {}  # subject index -> (2, 2) head box
    for i, r in enumerate(annotations):
        if r.headbox is not None:
            boxes[i] = np.asarray(r.headbox, dtype=np.float64)
            continue
        size = r.extra.get("head_size")
        if size is None:
            return None
        if isinstance(size, bool) or not isinstance(size, (int, float, np.number)) or not 0 < size < math.inf:
            raise ValueError(
                f"{r.source}: extra['head_size'] must be a finite positive PCKh head size (0.6 x head-box "
                f"diagonal), got {size!r}; fix the annotation or remove the key"
            )
        sizes[i] = size
    if boxes:
        sizes[list(boxes)] = head_size(np.stack(list(boxes.values())))
    return sizes


def _mpii_report(pred: np.ndarray, annotations: Any, norm: np.ndarray) -> dict[str, Any]:
    spec, gt, mask = annotations.spec, annotations.keypoints(), annotations.labelled()
    table = pckh_table(pred, gt, mask, spec=spec, thresholds=(0.5, 0.1), mean="weighted", head_sizes=norm)
    keep = np.ones(spec.num_keypoints, dtype=bool)
    keep[list(spec.eval_exclude)] = False
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


def pck_by_tilt(correct: np.ndarray, evaluated: np.ndarray, tilt: np.ndarray) -> dict[str, list]:
    """Pooled PCK of the people in each :data:`TILT_BINS` bin, and of those whose tilt is unknown.

    Args:
        correct, evaluated: (N,) per-person counts (:func:`hourglass.metrics.pck_per_image`).
        tilt: (N,) degrees from upright (:func:`hourglass.metrics.body_tilt`), NaN if unknown.

    Returns:
        ``{"bins": labels, "pck": fractions (None for an empty bin), "people": counts}``; a bin
        holds its lower edge, not its upper one, except the last, which holds 180. People
        without an evaluated joint are in no bin; the ``"unknown"`` bin is there only when
        someone is in it.
    """
    used = evaluated > 0
    bins, pcks, people = [], [], []
    for lo, hi in TILT_BINS:
        with np.errstate(invalid="ignore"):
            inside = used & (tilt >= lo) & ((tilt < hi) if hi < 180 else (tilt <= hi))
        bins.append(f"{lo}-{hi}")
        pcks.append(float(correct[inside].sum() / evaluated[inside].sum()) if inside.any() else None)
        people.append(int(inside.sum()))
    unknown = used & np.isnan(tilt)
    if unknown.any():  # joints evaluated, but no shoulders and hips to tell the tilt
        bins.append("unknown")
        pcks.append(float(correct[unknown].sum() / evaluated[unknown].sum()))
        people.append(int(unknown.sum()))
    return {"bins": bins, "pck": pcks, "people": people}


def _body_report(pred: np.ndarray, annotations: Any) -> dict[str, Any]:
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
    if any(i != k for k, i in enumerate(spec.flip_index)):
        inv = left_right_inversions(pred, gt, mask, norm, spec.flip_index, BODY_THRESHOLD)
        tables["left_right_inversions"] = {
            "rate": inv.mean, "share_of_misses": inv.share_of_misses,
            "per_joint": dict(zip(spec.names, _floats(inv.rate))),
        }  # fmt: skip
        oracle = mirror_oracle(pred, gt, mask, norm, spec.flip_index, BODY_THRESHOLD)
        tables["mirror_oracle"] = {
            "mean": oracle.mean, "share_mirrored": oracle.share_mirrored,
            "per_joint": dict(zip(spec.names, _floats(oracle.per_keypoint))),
        }  # fmt: skip
    if spec.torso is not None:
        tables["pck_by_tilt"] = pck_by_tilt(num, den, body_tilt(gt, mask, spec))
    if spec == MPII:  # an MPII set evaluated without PCKh: say so where the numbers are printed
        lacking = sum(r.headbox is None and r.extra.get("head_size") is None for r in annotations)
        tables["not_pckh"] = (
            f"this is torso PCK@{BODY_THRESHOLD:g}, not MPII PCKh: {lacking} of {len(annotations)} subjects have "
            "neither a head box nor a head size; PCKh needs one on every subject (valid.h5 stores the "
            "head sizes, detections_our_format.mat the head boxes)"
        )
    return dict(
        kind="body", metric=f"pck@{BODY_THRESHOLD:g}", value=result.mean, higher_better=True, tables=tables,
        per_keypoint={f"pck@{BODY_THRESHOLD:g}": result.per_keypoint}, per_image=(num, den),
        curve=(f"PCK threshold (x {norm_name} size)", curve.thresholds, curve.mean),
    )  # fmt: skip


def evaluate(pred: Any, annotations: Any, *, settings: dict[str, Any] | None = None) -> EvalReport:
    """The standard report of ``pred`` (N, K, 2) image coordinates on ``annotations``.

    The kind follows the data: a spec with inter-ocular points is a face set; a body set where
    every subject has a PCKh head size (:func:`pckh_head_sizes`) is evaluated as MPII (PCKh);
    other bodies get PCK@0.2.

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
    if spec.subject == "face":
        parts = _face_report(coords, annotations)
    elif (head_sizes := pckh_head_sizes(annotations)) is not None:
        parts = _mpii_report(coords, annotations, head_sizes)
    else:
        parts = _body_report(coords, annotations)
    return EvalReport(dataset=annotations.name, keypoint_names=spec.names, settings=dict(settings or {}), **parts)


def headline(pred: np.ndarray, annotations: Any) -> tuple[str, float]:
    """The headline metric name and value (the training validation metric)."""
    report = evaluate(pred, annotations)
    return report.metric, report.value
