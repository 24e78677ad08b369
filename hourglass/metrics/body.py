"""Body-pose metrics: PCK with any normaliser (one threshold, a curve, per-image counts), COCO OKS,
and diagnoses of the misses (left/right inversions, the facing-direction oracle, the body's tilt).

The MPII PCKh table, which builds on the same counts, is in :mod:`hourglass.metrics.pckh`; the
conventions (masks, normalisers, ``<=``) are in :mod:`hourglass.metrics`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from hourglass.keypoints import KeypointSpec
from hourglass.metrics._common import (
    _check_finite,
    _correct_counts,
    _mask,
    _normalizer,
    _pair,
    _points,
    _ratio,
    _scaled_errors,
    _spec_size,
    _threshold,
    _thresholds,
)


# --- PCK -------------------------------------------------------------------------------------
class PCKResult(NamedTuple):
    """PCK at one threshold. ``per_keypoint`` (K,) is NaN where a keypoint is never labelled;
    ``counts`` (K,) are the labelled keypoints evaluated; ``mean`` pools all of them."""

    per_keypoint: np.ndarray
    counts: np.ndarray
    mean: float
    threshold: float


class PCKCurve(NamedTuple):
    """PCK against threshold: ``thresholds`` (T,), ``per_keypoint`` (T, K), ``mean`` (T,), ``counts`` (K,)."""

    thresholds: np.ndarray
    per_keypoint: np.ndarray
    mean: np.ndarray
    counts: np.ndarray


def pck_curve(pred: Any, gt: Any, mask: Any, normalizer: Any, thresholds: Any, *, inclusive: bool = True) -> PCKCurve:
    """PCK for several thresholds at once (for PCK-vs-threshold plots).

    Args:
        pred, gt: (N, K, 2) predicted and ground-truth points.
        mask: (N, K) bool, True where the ground truth is labelled (None: all).
        normalizer: (N,) per-sample normaliser (:func:`torso_size`, :func:`bbox_size`,
            :func:`head_size`); NaN leaves the sample out.
        thresholds: (T,) non-negative thresholds on error / normaliser.
        inclusive: count ``<=`` (default) or ``<`` as correct.
    """
    ts = _thresholds(thresholds)
    scaled, used = _scaled_errors(pred, gt, mask, normalizer)
    correct = _correct_counts(scaled, used, ts, inclusive)  # (T, K)
    counts = used.sum(axis=0)
    return PCKCurve(ts, _ratio(correct, counts), _ratio(correct.sum(axis=1), counts.sum()), counts)


def pck(pred: Any, gt: Any, mask: Any, normalizer: Any, threshold: float = 0.2, *, inclusive: bool = True) -> PCKResult:
    """Percentage of correct keypoints (as a fraction) at one threshold.

    A labelled keypoint is correct when ``||pred - gt|| / normalizer <= threshold``. Arguments
    as :func:`pck_curve`. ``mean`` pools every evaluated keypoint (NaN when there is none).
    """
    t = _threshold(threshold)
    c = pck_curve(pred, gt, mask, normalizer, [t], inclusive=inclusive)
    return PCKResult(c.per_keypoint[0], c.counts, float(c.mean[0]), t)


def pck_per_image(
    pred: Any, gt: Any, mask: Any, normalizer: Any, threshold: float = 0.2, *, inclusive: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Per-image correct and evaluated keypoint counts at one threshold.

    The terms behind :func:`pck`: ``correct.sum() / evaluated.sum()`` equals ``pck(...).mean``,
    so resampling images (a bootstrap over the test set) resamples these pairs. Arguments as
    :func:`pck_curve`; leave keypoints out of the count (MPII's pelvis and thorax) by clearing
    their column of ``mask``.

    Returns:
        correct (N,) and evaluated (N,), float64.
    """
    t = _threshold(threshold)
    scaled, used = _scaled_errors(pred, gt, mask, normalizer)
    hit = used & ((scaled <= t) if inclusive else (scaled < t))
    return hit.sum(axis=1).astype(np.float64), used.sum(axis=1).astype(np.float64)


# --- body orientation ------------------------------------------------------------------------
def body_tilt(gt: Any, mask: Any, spec: KeypointSpec, *, signed: bool = False) -> np.ndarray:
    """How far each person is turned from upright (N,), in degrees: 0 upright, 180 upside down.

    The angle between the image's up direction and the line from the middle of the hips to the
    middle of the shoulders. Those four points come from ``spec.torso`` (a shoulder and the
    opposite hip, as every body spec here declares) and their left/right partners
    (``spec.flip_index``), so a left/right mix-up does not change the tilt. NaN where any of
    the four is unlabelled or the two middles coincide (closer than 1e-9 of the coordinates'
    magnitude). Sports sets are far from upright, and PCK stratified by this angle (the body
    reports of :func:`hourglass.evaluation.evaluate`) shows what that costs.

    Args:
        gt: (N, K, 2) ground-truth points, y pointing down as in images.
        mask: (N, K) bool, True where labelled (None: all).
        spec: the keypoint spec of the points; must declare ``torso``.
        signed: return -180 to 180, positive for a person leaning clockwise (to the right of
            image-up), which is the crop rotation (counter-clockwise positive, as
            :func:`hourglass.geometry.crop_matrix`) that stands them upright.
    """
    if spec.torso is None:
        raise ValueError(f"keypoint spec {spec.name!r} declares no torso points, so it has no shoulders and hips")
    g = _points(gt, "gt")
    _spec_size(g, spec)
    m = _mask(mask, g.shape[:2])
    _check_finite(g, m, "gt")
    shoulder, hip = spec.torso
    four = [shoulder, spec.flip_index[shoulder], hip, spec.flip_index[hip]]
    defined = m[:, four].all(axis=1)
    p = np.where(defined[:, None, None], g[:, four], 0.0)  # (N, 4, 2), unused samples zeroed
    up = (p[:, 0] + p[:, 1]) / 2 - (p[:, 2] + p[:, 3]) / 2  # hips -> shoulders
    defined &= np.hypot(up[:, 0], up[:, 1]) > 1e-9 * (1.0 + np.abs(p).max(axis=(1, 2)))
    angle = np.degrees(np.arctan2(up[:, 0] if signed else np.abs(up[:, 0]), -up[:, 1]))  # 0 along -y
    return np.where(defined, angle, np.nan)


# --- left/right inversions -------------------------------------------------------------------
def _flip_permutation(flip_index: Any, k: int) -> np.ndarray:
    flip = np.asarray(flip_index)
    if flip.shape != (k,) or not np.issubdtype(flip.dtype, np.integer) or sorted(flip.tolist()) != list(range(k)):
        raise ValueError(f"flip_index must be a permutation of 0..{k - 1}, got {flip_index!r}")
    return flip


class InversionResult(NamedTuple):
    """Left/right inversions at one threshold (fractions; NaN where nothing was evaluated).

    ``rate`` (K,) and ``mean``: inversions over evaluated keypoints (so PCK + rate <= 1);
    ``share_of_misses``: inversions over the keypoints PCK counts as wrong; ``counts`` (K,):
    inversions per keypoint.
    """

    rate: np.ndarray
    counts: np.ndarray
    mean: float
    share_of_misses: float
    threshold: float


def _mirror_setup(
    pred: Any, gt: Any, mask: Any, normalizer: Any, flip_index: Any, threshold: float
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The checked inputs of the left/right diagnostics.

    Returns the threshold, the scaled errors and their ``used`` mask (as :func:`pck`), the
    paired float points ``p`` and ``g``, the checked (N, K) mask and the (K,) flip permutation.
    """
    t = _threshold(threshold)
    scaled, used = _scaled_errors(pred, gt, mask, normalizer)
    p, g = _pair(pred, gt)
    return t, scaled, used, p, g, _mask(mask, p.shape[:2]), _flip_permutation(flip_index, p.shape[1])


def left_right_inversions(
    pred: Any, gt: Any, mask: Any, normalizer: Any, flip_index: Any, threshold: float = 0.2, *, inclusive: bool = True
) -> InversionResult:
    """How many keypoints are wrong because they went to the other side's joint.

    A keypoint is an *inversion* (Ronchi and Perona's term, ICCV 2017) when PCK counts it as
    wrong (``||pred - gt|| / normalizer`` above ``threshold``) but it lies within the threshold
    of the ground truth of its left/right counterpart (``flip_index[k]``, which must be
    labelled too): a left wrist placed on the right wrist. Keypoints without a counterpart
    (``flip_index[k] == k``: neck, head) are never inversions but count as evaluated.

    Args:
        pred, gt, mask, normalizer, threshold, inclusive: as :func:`pck`.
        flip_index: (K,) the counterpart of each keypoint (``KeypointSpec.flip_index``).
    """
    t, scaled, used, p, g, m, flip = _mirror_setup(pred, gt, mask, normalizer, flip_index, threshold)
    paired = flip != np.arange(p.shape[1])  # keypoints with a left/right counterpart
    mirrored, mirrored_used = _scaled_errors(p, g[:, flip], m & m[:, flip] & paired[None, :], normalizer)

    def within(e: np.ndarray) -> np.ndarray:
        return (e <= t) if inclusive else (e < t)

    with np.errstate(invalid="ignore"):
        miss = used & ~within(scaled)
        inverted = miss & mirrored_used & within(mirrored)
    counts, evaluated = inverted.sum(axis=0), used.sum(axis=0)
    return InversionResult(
        _ratio(counts, evaluated), counts, float(_ratio(counts.sum(), evaluated.sum())),
        float(_ratio(inverted.sum(), miss.sum())), t,
    )  # fmt: skip


class MirrorOracleResult(NamedTuple):
    """PCK with each sample's left and right labels swapped wherever that scores better.

    ``per_keypoint`` (K,) and ``mean`` as :class:`PCKResult`; ``mirrored`` (N,) bool: the
    samples whose swapped prediction has strictly more correct keypoints; ``share_mirrored``:
    their share of the samples with at least one evaluated keypoint (NaN when there is none).
    """

    per_keypoint: np.ndarray
    mean: float
    mirrored: np.ndarray
    share_mirrored: float
    threshold: float


def mirror_oracle(
    pred: Any, gt: Any, mask: Any, normalizer: Any, flip_index: Any, threshold: float = 0.2, *, inclusive: bool = True
) -> MirrorOracleResult:
    """What telling which way each person faces is worth: PCK if an oracle fixed it.

    A model that takes a person seen from behind for one facing the camera puts every left
    joint where the right one is, and the other way round: its skeleton is right, its labels
    are mirrored. This relabels each sample's prediction left-for-right (``pred[:, flip_index]``,
    no point moves) when that makes more of its keypoints correct, and scores the result. The
    gap to :func:`pck` is the most that resolving the facing direction alone could gain, an upper
    bound for diagnosis and never a score to report as the model's.

    Args:
        pred, gt, mask, normalizer, threshold, inclusive: as :func:`pck`.
        flip_index: (K,) the counterpart of each keypoint (``KeypointSpec.flip_index``).
    """
    t, scaled, used, p, g, m, flip = _mirror_setup(pred, gt, mask, normalizer, flip_index, threshold)
    norm = np.broadcast_to(_normalizer(normalizer, m)[:, None], used.shape)
    # a NaN relabelled point (its counterpart unlabelled and left NaN) is a miss
    dist = np.linalg.norm(p[:, flip] - g, axis=-1)
    swapped = np.divide(dist, norm, out=np.full(dist.shape, np.nan), where=used)
    with np.errstate(invalid="ignore"):
        hit = used & ((scaled <= t) if inclusive else (scaled < t))
        hit_m = used & ((swapped <= t) if inclusive else (swapped < t))
    mirrored = hit_m.sum(axis=1) > hit.sum(axis=1)
    best = np.where(mirrored[:, None], hit_m, hit)
    counts = used.sum(axis=0)
    return MirrorOracleResult(
        _ratio(best.sum(axis=0), counts), float(_ratio(best.sum(), counts.sum())), mirrored,
        float(_ratio(mirrored.sum(), used.any(axis=1).sum())), t,
    )  # fmt: skip


# --- COCO OKS --------------------------------------------------------------------------------
def oks(pred: Any, gt: Any, gt_visible: Any, area: Any, sigmas: Any) -> np.ndarray:
    """Object keypoint similarity (N,) of each prediction with its ground truth, as COCO defines it.

    ``e = d^2 / ((2 sigma)^2 * (area + eps) * 2)``, OKS = mean of ``exp(-e)`` over the labelled
    ground-truth keypoints (eps = ``np.spacing(1)``, as pycocotools).

    Args:
        pred, gt: (N, K, 2) points.
        gt_visible: (N, K) bool, True where the ground truth is labelled (COCO ``v > 0``).
        area: (N,) ground-truth object areas (segment area in COCO), non-negative.
        sigmas: (K,) per-keypoint constants, e.g. ``COCO.oks_sigmas`` (already divided by 10).

    Returns NaN for a sample without labelled keypoints (pycocotools then measures the distance
    to the box instead; that case and the matching belong to COCOeval).
    """
    p, g = _pair(pred, gt)
    m = _mask(gt_visible, p.shape[:2], "gt_visible")
    _check_finite(g, m, "gt")
    _check_finite(p, m, "pred")
    a = np.asarray(area, dtype=np.float64)
    if a.shape != (p.shape[0],) or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ValueError(f"area must be finite, non-negative and of shape (N,) = ({p.shape[0]},), got {a!r}")
    s = np.asarray(sigmas, dtype=np.float64)
    if s.shape != (p.shape[1],) or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"sigmas must be finite, positive and of shape (K,) = ({p.shape[1]},), got {s!r}")
    variances = (2.0 * s) ** 2
    d2 = np.where(m, ((p - g) ** 2).sum(axis=-1), 0.0)
    e = d2 / variances / (a[:, None] + np.spacing(1)) / 2.0  # (N, K), operation order of pycocotools
    return _ratio(np.where(m, np.exp(-e), 0.0).sum(axis=1), m.sum(axis=1))
