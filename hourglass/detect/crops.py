"""Crops from boxes: detector or user boxes -> (center, scale) framed like the training crops.

Holds the training paddings and the detector calibration constants (fitted by
``benchmarks/calibrate_detectors.py``), the calibrated conversions for the built-in detectors
and the uncalibrated one for user boxes; the :mod:`hourglass.detect` docstring explains them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hourglass.boxes import _as_boxes
from hourglass.detect.protocol import KINDS, Detector
from hourglass.geometry import PIXEL_STD, box_to_center_scale

__all__ = [
    "FACE_OFFSET",
    "FACE_PADDING",
    "FACE_PERSON_OFFSET",
    "FACE_PERSON_SIZE_RATIO",
    "FACE_SIZE_RATIO",
    "PERSON_OFFSET",
    "PERSON_PADDING",
    "PERSON_SIZE_RATIO",
    "center_scale",
    "face_box_to_center_scale",
    "face_to_person_center_scale",
    "person_box_to_center_scale",
    "user_box_to_center_scale",
]

FACE_PADDING = 1.25
"""Face crop side / landmark-box longer side (``hourglass.data.face_crop.landmark_center_scale``)."""
PERSON_PADDING = 1.6
"""Person crop side / joint-box longer side (``hourglass.data.lsp.load_lsp``)."""

# Fitted by `python -m benchmarks.calibrate_detectors --data-root /work/shared/data` (medians
# over the matched detections, default detector settings). Faces: 300-W train (AFW + HELEN
# trainset, 1207 faces), Haar detection rate 0.882; per-face dx +0.0068 (1.4826 MAD 0.078),
# dy +0.1455 (0.037), size ratio 0.8757 (0.084). People: 1000 LSPET people, HOG detection rate
# 0.239; dx -0.0096 (0.153), dy -0.0475 (0.123), size ratio 0.9819 (0.276). dx is set to 0 for
# both: faces and people are mirror-symmetric and the fitted dx is far inside its spread.
# With these constants the predicted crop's centre is off the true crop's centre by a median
# 0.063 (p95 0.154; 98.5 % under 0.2) of the crop side for faces, its scale is 0.81-1.14 (p5-p95)
# of the true scale and the crop IoU a median 0.81 (0.65 for the uncalibrated Haar box). People:
# centre error median 0.11 (p95 0.30), scale 0.63-1.63, IoU median 0.60 (0.46 uncalibrated).
# A two-fold check (fit on even subjects, test on odd) gives the same errors.
FACE_OFFSET = (0.0, 0.1455)
"""(dx, dy): landmark-box centre - Haar box centre, in units of the Haar box side."""
FACE_SIZE_RATIO = 0.8757
"""Landmark-box longer side / Haar box side."""
PERSON_OFFSET = (0.0, -0.0475)
"""(dx, dy): joint-box centre - HOG box centre, in units of ``sqrt(w * h)`` of the HOG box."""
PERSON_SIZE_RATIO = 0.9819
"""Joint-box longer side / ``sqrt(w * h)`` of the HOG box."""
# People from their faces: `python -m benchmarks.calibrate_detectors --skip-faces --skip-people
# --face-people 4000` (4000 LSPET people evenly spaced; Haar frontal faces at min_size_fraction 0.03,
# matched to a person whose joint box holds the face centre): found for 2.5 % of them (99; an
# athlete's face is small, turned or blurred), dx -0.069 (1.4826 MAD 0.26, set to 0 by symmetry),
# dy +0.879 (0.77), size ratio 3.50 (1.61). Calibrated crop IoU with the true crop: median 0.51
# (0.08 for the face box padded as a person box); two-fold check 0.49.
FACE_PERSON_OFFSET = (0.0, 0.8791)
"""(dx, dy): joint-box centre - Haar face box centre, in units of the face box side."""
FACE_PERSON_SIZE_RATIO = 3.4962
"""Joint-box longer side / Haar face box side."""


def _check_padding(padding: float) -> None:
    if isinstance(padding, bool) or not isinstance(padding, (int, float)) or not (np.isfinite(padding) and padding > 0):
        raise ValueError(f"padding must be a positive number, got {padding!r}")


def _calibrated(
    boxes: np.ndarray, offset: Sequence[float], ratio: float, padding: float
) -> tuple[np.ndarray, np.ndarray]:
    _check_padding(padding)
    b = _as_boxes(boxes)
    if not np.all(np.isfinite(b)) or np.any(b[:, 2:] <= 0):
        raise ValueError("boxes must be finite with positive width and height")
    size = np.sqrt(b[:, 2] * b[:, 3])  # (N,) the box side for a square box
    center = b[:, :2] + b[:, 2:] / 2.0 + np.asarray(offset, dtype=np.float64) * size[:, None]
    return center, ratio * size * padding / PIXEL_STD


def face_box_to_center_scale(boxes: np.ndarray, padding: float = FACE_PADDING) -> tuple[np.ndarray, np.ndarray]:
    """Haar face boxes -> face crops framed like the 300-W training crops.

    The landmark box is predicted from the Haar box of side ``s = sqrt(w * h)``: centre
    ``box centre + FACE_OFFSET * s``, longer side ``FACE_SIZE_RATIO * s``
    (:mod:`hourglass.detect` docstring); the crop is that predicted box enlarged by
    ``padding`` (1.25, the training rule).

    Args:
        boxes: (N, 4) Haar boxes (x0, y0, w, h).
        padding: crop side / landmark-box longer side.

    Returns:
        center (N, 2) and scale (N,) in units of 200 px, float64.
    """
    return _calibrated(boxes, FACE_OFFSET, FACE_SIZE_RATIO, padding)


def person_box_to_center_scale(boxes: np.ndarray, padding: float = PERSON_PADDING) -> tuple[np.ndarray, np.ndarray]:
    """HOG people boxes -> person crops framed like the LSP/LSPET training crops.

    The box of the labelled joints is predicted from the HOG box (``s = sqrt(w * h)``):
    centre ``box centre + PERSON_OFFSET * s``, longer side ``PERSON_SIZE_RATIO * s``; the crop
    is that box enlarged by ``padding`` (1.6, the LSP loader's rule).

    Args:
        boxes: (N, 4) HOG boxes (x0, y0, w, h).
        padding: crop side / joint-box longer side.

    Returns:
        center (N, 2) and scale (N,) in units of 200 px, float64.
    """
    return _calibrated(boxes, PERSON_OFFSET, PERSON_SIZE_RATIO, padding)


def face_to_person_center_scale(boxes: np.ndarray, padding: float = PERSON_PADDING) -> tuple[np.ndarray, np.ndarray]:
    """Haar face boxes -> crops of the people they belong to, framed like LSP/LSPET's.

    The person's joint box is predicted from the face box (``s = sqrt(w * h)``): centre
    ``face centre + FACE_PERSON_OFFSET * s`` (below the face: an upright person), longer side
    ``FACE_PERSON_SIZE_RATIO * s``; the crop is that box enlarged by ``padding``. A rough
    guess for people HOG misses; :class:`hourglass.Predictor` refines it from the keypoints.

    Args:
        boxes: (N, 4) Haar face boxes (x0, y0, w, h).
        padding: crop side / joint-box longer side.

    Returns:
        center (N, 2) and scale (N,) in units of 200 px, float64.
    """
    return _calibrated(boxes, FACE_PERSON_OFFSET, FACE_PERSON_SIZE_RATIO, padding)


def user_box_to_center_scale(boxes: np.ndarray, kind: str, aspect_ratio: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Boxes a user gave (or the whole image) -> crops, with no calibration.

    The box is taken to be what the training crops were built from (the landmark box of a
    face, the box of a person's joints): centre = box centre, and
    :func:`hourglass.geometry.box_to_center_scale` grows it to ``aspect_ratio`` (W / H of the
    network input) and by the training padding, :data:`FACE_PADDING` (1.25) for faces,
    :data:`PERSON_PADDING` (1.6) for people. A box drawn loosely around a face (hair, chin,
    ears) therefore gives a larger crop than training saw; draw it around the features.

    Args:
        boxes: (N, 4) boxes (x0, y0, w, h).
        kind: ``"face"`` or ``"person"``.
        aspect_ratio: W / H of the crop.

    Returns:
        center (N, 2) and scale (N,) in units of 200 px, float64.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    padding = FACE_PADDING if kind == "face" else PERSON_PADDING
    return box_to_center_scale(_as_boxes(boxes), aspect_ratio=aspect_ratio, padding=padding)


def center_scale(detector: Detector, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Crops (center (N, 2), scale (N,)) for boxes (N, 4) found by ``detector``.

    Uses the detector's own ``center_scale`` method when it has one (the built-in detectors'
    calibrated conversions), else :func:`user_box_to_center_scale` with the detector's kind.
    """
    own = getattr(detector, "center_scale", None)
    if callable(own):
        return own(boxes)
    return user_box_to_center_scale(boxes, detector.kind)
