"""Finding subjects without downloads: OpenCV's bundled face and people detectors, or given boxes.

A top-down model needs a crop (centre, scale) per subject. This module finds the subjects and
turns their boxes into crops framed like the training crops:

- faces: OpenCV's bundled Haar cascade (:class:`HaarFaceDetector`), and its profile cascade on the
  image and its mirror (:class:`ProfileFaceDetector`, a candidate source of the Predictor);
- people: OpenCV's bundled HOG + linear SVM people detector (:class:`HogPeopleDetector`), and
  people framed below the frontal faces Haar finds (:class:`FacePeopleDetector`, opt-in:
  ``Predictor(model, detector="person-face")``);
- boxes a user gives (:mod:`hourglass.boxes` reads ``--box x,y,w,h`` and files of boxes), or
  the whole image as one subject (:class:`WholeImageDetector`).

Both detectors ship inside ``opencv-python-headless`` (< 5; OpenCV 5 no longer bundles the
cascades), so nothing is downloaded. They are weak by today's standards (frontal faces only,
upright people only); any better detector can be plugged in, see :class:`Detector`.

Boxes
-----
Every box is ``(x0, y0, w, h)`` float64 in the library's pixel convention, as
:mod:`hourglass.boxes` describes; OpenCV's integer ``Rect(x, y, w, h)`` covers pixels
``x..x + w - 1`` and becomes ``(x - 0.5, y - 0.5, w, h)`` here.

Crops from boxes
----------------
A detector box is not the box the training crops were made from, so each built-in detector
has a calibrated conversion (:func:`face_box_to_center_scale`, :func:`person_box_to_center_scale`,
fitted on real data by ``benchmarks/calibrate_detectors.py``):

- Faces were cropped around the box of the 68 landmarks, ``scale = 1.25 * max(w, h) / 200``
  (:func:`hourglass.data.face_crop.landmark_center_scale`). A Haar box is a square of side ``s``
  that sits higher and is larger than the landmark box; the fit predicts the landmark box's
  centre ``haar centre + FACE_OFFSET * s`` and longer side ``FACE_SIZE_RATIO * s``.
- People (LSP/LSPET) were cropped around the box of the labelled joints,
  ``scale = 1.6 * max(w, h) / 200`` (:func:`hourglass.data.lsp.load_lsp`); the HOG box (a 1:2
  window with a margin around the person) is converted the same way with ``PERSON_OFFSET``
  and ``PERSON_SIZE_RATIO`` of ``sqrt(w * h)``.
- A person from a face (:func:`face_to_person_center_scale`): the joint box is predicted from
  the Haar face box with ``FACE_PERSON_OFFSET`` and ``FACE_PERSON_SIZE_RATIO`` of its side, for
  an upright person; a rough frame that the Predictor's refinement corrects.
- A user box or the whole image has no calibration: :func:`user_box_to_center_scale` treats
  it as the landmark / joint box and pads it like the training crops.

:func:`center_scale` picks the right conversion for a detector.
"""

from hourglass.detect.crops import (
    FACE_OFFSET,
    FACE_PADDING,
    FACE_PERSON_OFFSET,
    FACE_PERSON_SIZE_RATIO,
    FACE_SIZE_RATIO,
    PERSON_OFFSET,
    PERSON_PADDING,
    PERSON_SIZE_RATIO,
    center_scale,
    face_box_to_center_scale,
    face_to_person_center_scale,
    person_box_to_center_scale,
    user_box_to_center_scale,
)
from hourglass.detect.detectors import (
    DETECTORS,
    FacePeopleDetector,
    HaarFaceDetector,
    HogPeopleDetector,
    ProfileFaceDetector,
    WholeImageDetector,
    get_detector,
)
from hourglass.detect.protocol import Detections, Detector

__all__ = [
    "Detections",
    "Detector",
    "HaarFaceDetector",
    "ProfileFaceDetector",
    "HogPeopleDetector",
    "FacePeopleDetector",
    "WholeImageDetector",
    "get_detector",
    "DETECTORS",
    "center_scale",
    "face_box_to_center_scale",
    "face_to_person_center_scale",
    "person_box_to_center_scale",
    "user_box_to_center_scale",
    "FACE_PADDING",
    "PERSON_PADDING",
    "FACE_OFFSET",
    "FACE_SIZE_RATIO",
    "PERSON_OFFSET",
    "PERSON_SIZE_RATIO",
    "FACE_PERSON_OFFSET",
    "FACE_PERSON_SIZE_RATIO",
]
