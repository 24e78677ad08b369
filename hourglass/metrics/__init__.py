"""Evaluation metrics for body pose and face alignment: PCK, MPII PCKh, NME, AUC, CED, OKS.

Conventions (the whole package)
-------------------------------
- Pure numpy functions on batches; inputs are never modified. Shapes use N samples,
  K keypoints, T thresholds; points are (x, y) in any pixel unit shared by prediction and
  ground truth (only differences are used, so the 0-/1-based offset cancels).
- Missing or unlabelled keypoints travel as a boolean ``mask`` (N, K), True = labelled.
  Coordinates under False are ignored and may hold anything (NaN, 0). ``mask=None`` means
  every keypoint is labelled. A non-finite coordinate under True raises ``ValueError``.
- Results are fractions in [0, 1] (PCK, NME, AUC, failure rate, OKS). Papers print
  percentages: :meth:`PCKhTable.format` does, nothing else converts.
- Normalisers are (N,) arrays. A normaliser that cannot be computed for a sample (its
  defining points are missing) is NaN; :func:`pck` then leaves the sample out (its keypoints
  are not counted) and :func:`nme` returns NaN for it. A zero, negative or infinite
  normaliser on a sample that has labelled keypoints raises ``ValueError``.
- A keypoint is correct when ``error / normaliser <= threshold``. ``<=`` is what the official
  MPII MATLAB script (``computePCK``), HRNet and MMPose use; the PyTorch re-implementation's
  ``eval_PCKh.py`` uses ``<`` (the ``<`` written in the project's REFERENCE notes).
  ``inclusive=False`` selects ``<``. The two differ only on exact ties.

MPII PCKh (:func:`pckh_table`)
------------------------------
Normaliser: 0.6 x the head-box diagonal (:func:`head_size`), or that head size given directly
(``head_sizes=``, MPII ``valid.h5``'s ``normalize``). Per joint, PCKh is the share of
the samples where the joint is labelled that are correct. Group rows (Head, Shoulder, ...) are
the plain average of their joints' PCKh, as every published script does. Three "Mean"s are in
use, all over the joints outside ``spec.eval_exclude`` (pelvis, thorax) except the last:

- ``"weighted"``: joint-count-weighted mean of the per-joint PCKh, which equals the share of
  correct joints pooled over those 14 joints. HRNet and MMPose compute it with ``jnt_ratio``;
  the official MATLAB script's "Total" is the same number (``computePCK`` pools its 14-joint
  matrix, NaN for missing joints).
- ``"unweighted"``: plain mean of the 14 per-joint PCKh (``np.mean`` of the masked array in
  the PyTorch re-implementation's ``eval_PCKh.py``).
- ``"pooled16"``: share of correct joints pooled over all K (16) joints, pelvis and thorax
  included (the 16-joint figures of PyTorch re-implementations).

Two details of the published tables: the MATLAB script's Head is the mean of upper neck and
head top while the Python ports (and ``MPII.groups``) use head top alone -- pass ``groups=`` to
choose; and HRNet's "Mean@0.1" reads ``pckAll[11]`` of ``arange(0, 0.51, 0.01)``, which is the
threshold 0.11 (MMPose 1.x reads index 10): pass ``thresholds=(0.5, 0.11)`` to reproduce it.

Faces
-----
NME per image is the mean over its labelled points of error / normaliser (:func:`interocular`,
:func:`interpupil` or :func:`bbox_size` with ``mode="sqrt_area"``). :func:`auc` integrates the
cumulative error distribution exactly; :func:`failure_rate` and :func:`ced_curve` complete the
usual 300-W report.

Layout
------
Everything public is re-exported here; import it from :mod:`hourglass.metrics`.
:mod:`~hourglass.metrics.normalizers` holds the keypoint errors and the normalisers,
:mod:`~hourglass.metrics.body` PCK, COCO OKS and the diagnoses of body misses (left/right
inversions, the facing-direction oracle, the tilt from upright), :mod:`~hourglass.metrics.pckh`
the MPII table, :mod:`~hourglass.metrics.faces` NME, AUC, failure rate and CED; ``_common``
holds the input checks and the error arithmetic they share.
"""

from __future__ import annotations

from hourglass.metrics.body import (
    InversionResult,
    MirrorOracleResult,
    PCKCurve,
    PCKResult,
    body_tilt,
    left_right_inversions,
    mirror_oracle,
    oks,
    pck,
    pck_curve,
    pck_per_image,
)
from hourglass.metrics.faces import auc, ced_curve, failure_rate, nme
from hourglass.metrics.normalizers import bbox_size, head_size, interocular, interpupil, keypoint_errors, torso_size
from hourglass.metrics.pckh import MEAN_CONVENTIONS, PCKhTable, pckh_table

__all__ = [
    "keypoint_errors",
    "bbox_size",
    "torso_size",
    "head_size",
    "interocular",
    "interpupil",
    "PCKResult",
    "PCKCurve",
    "pck",
    "pck_curve",
    "pck_per_image",
    "body_tilt",
    "InversionResult",
    "left_right_inversions",
    "MirrorOracleResult",
    "mirror_oracle",
    "PCKhTable",
    "MEAN_CONVENTIONS",
    "pckh_table",
    "nme",
    "auc",
    "failure_rate",
    "ced_curve",
    "oks",
]
