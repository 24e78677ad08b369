"""The built-in detectors: OpenCV's Haar faces and HOG people, the whole image, and :func:`get_detector`.

OpenCV is imported when a detector is built or run, not when this module is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.boxes import nms
from hourglass.detect.crops import face_box_to_center_scale, face_to_person_center_scale, person_box_to_center_scale
from hourglass.detect.protocol import KINDS, Detections, Detector, _empty

__all__ = [
    "DETECTORS",
    "FacePeopleDetector",
    "HaarFaceDetector",
    "HogPeopleDetector",
    "ProfileFaceDetector",
    "WholeImageDetector",
    "get_detector",
]


def _gray(image: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB or (H, W) uint8 gray -> (H, W) uint8 gray, with a clear error otherwise."""
    import cv2

    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a numpy array (H, W, 3) uint8 RGB, got {type(image).__name__}")
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise ValueError(
            f"image must be uint8 RGB (H, W, 3) as read by hourglass.data.io.read_image, "
            f"got {image.dtype} {image.shape}"
        )
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ValueError(f"image is empty, shape {image.shape}")
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _working_copy(gray: np.ndarray, max_side: int, min_side: int) -> tuple[np.ndarray, float, float]:
    """Resize so the longer side is at most ``max_side`` and, if that allows, the shorter at least ``min_side``.

    Returns the resized image and the factors (sx, sy) = full size / working size per axis.
    """
    import cv2

    h, w = gray.shape
    f = min(1.0, max_side / max(h, w))
    if f == 1.0 and min(h, w) < min_side:
        f = min(min_side / min(h, w), max_side / max(h, w))
    if f == 1.0:
        return gray, 1.0, 1.0
    size = (max(1, round(w * f)), max(1, round(h * f)))
    out = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_LINEAR)
    return out, w / size[0], h / size[1]


def _rects_to_boxes(rects: np.ndarray, sx: float, sy: float, shift: Sequence[float] = (0, 0)) -> np.ndarray:
    """OpenCV integer rects (N, 4) in the working copy -> full-resolution boxes (N, 4).

    Rect (x, y, w, h) covers working pixels x..x+w-1, i.e. corner (x - 0.5, y - 0.5); the
    resize maps working coordinate u to full ``(u + 0.5) * s - 0.5``, so the corner goes to
    ``(x - shift) * s - 0.5`` and the size to ``w * s``. ``shift`` removes a border added
    around the working copy.
    """
    r = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
    s = np.array([sx, sy])
    corner = (r[:, :2] - np.asarray(shift, dtype=np.float64)) * s - 0.5
    return np.concatenate([corner, r[:, 2:] * s], axis=1)


def _check_positive_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_range(value: Any, name: str, lo: float, hi: float, *, open_lo: bool = False) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and np.isfinite(value)
    ok = ok and (value > lo if open_lo else value >= lo) and value <= hi
    if not ok:
        raise ValueError(f"{name} must be a number in {'(' if open_lo else '['}{lo}, {hi}], got {value!r}")
    return float(value)


def _cv2_data_dir() -> Path:
    import cv2

    data = getattr(cv2, "data", None)
    folder = getattr(data, "haarcascades", None)
    if folder is None:
        raise ImportError(
            f"this OpenCV ({cv2.__version__}) has no bundled cascades (cv2.data.haarcascades is missing); "
            "install opencv-python-headless>=4.8,<5 (OpenCV 5 no longer ships them)"
        )
    return Path(folder)


class HaarFaceDetector:
    """Frontal faces with OpenCV's bundled Viola-Jones Haar cascade.

    The image is converted to gray and downscaled so its longer side is at most ``max_side``
    (a 6000 x 4000 photo costs as much as a 1024 x 683 one); boxes are mapped back to full
    resolution. Faces smaller than ``min_size_fraction`` of the working copy's shorter side
    (and than the cascade's 24 px window) are not searched for. Scores are the cascade's final
    stage sums (``detectMultiScale3`` level weights, typically 0 to 8), or the number of merged
    neighbour windows when OpenCV gives no usable weights. Overlapping detections are reduced by
    :func:`nms`. Convert boxes to crops with :meth:`center_scale`.

    Args:
        cascade: file name under ``cv2.data.haarcascades`` or a path to a cascade XML.
        max_side: longest side of the working copy in pixels.
        min_size_fraction: smallest face side searched, as a fraction of the working copy's shorter side.
        scale_factor: scale step between pyramid levels (> 1; smaller is slower and finds more).
        min_neighbors: overlapping raw windows a face needs (higher: fewer false positives).
        nms_threshold: IoU above which the lower-scoring of two detections is dropped.
    """

    kind = "face"

    def __init__(
        self,
        cascade: str | Path = "haarcascade_frontalface_default.xml",
        max_side: int = 1024,
        min_size_fraction: float = 0.05,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        nms_threshold: float = 0.3,
    ) -> None:
        import cv2

        self.max_side = _check_positive_int(max_side, "max_side", 24)
        self.min_size_fraction = _check_range(min_size_fraction, "min_size_fraction", 0.0, 1.0)
        self.scale_factor = _check_range(scale_factor, "scale_factor", 1.0, 4.0, open_lo=True)
        self.min_neighbors = _check_positive_int(min_neighbors, "min_neighbors", 0)
        self.nms_threshold = _check_range(nms_threshold, "nms_threshold", 0.0, 1.0)
        path = Path(cascade)
        if not path.is_file() and path.parent == Path("."):
            path = _cv2_data_dir() / path
        if not path.is_file():
            raise FileNotFoundError(
                f"Haar cascade {path} does not exist; pass a file under cv2.data.haarcascades "
                "(opencv-python-headless>=4.8,<5 bundles them) or a path to a cascade XML"
            )
        self.cascade_path = path
        try:
            self._cascade = cv2.CascadeClassifier(str(path))
        except (cv2.error, SystemError):  # OpenCV raises on some malformed XML, returns empty on others
            self._cascade = cv2.CascadeClassifier()
        if self._cascade.empty():
            raise ValueError(f"{path}: OpenCV could not load it as a Haar cascade; is it a cascade XML file?")
        self._window = int(min(self._cascade.getOriginalWindowSize()) or 24)

    def __repr__(self) -> str:
        return (
            f"HaarFaceDetector(cascade={self.cascade_path.name!r}, max_side={self.max_side}, "
            f"min_size_fraction={self.min_size_fraction}, scale_factor={self.scale_factor}, "
            f"min_neighbors={self.min_neighbors})"
        )

    def __call__(self, image: np.ndarray) -> Detections:
        """Find faces in ``image`` (H, W, 3) uint8 RGB; boxes in its full-resolution coordinates."""
        work, sx, sy = _working_copy(_gray(image), self.max_side, 0)
        min_size = max(self._window, int(round(self.min_size_fraction * min(work.shape))))
        if min(work.shape) < min_size:
            return _empty(self.kind)
        rects, neighbours, weights = self._cascade.detectMultiScale3(
            work,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(min_size, min_size),
            outputRejectLevels=True,
        )
        if len(rects) == 0:
            return _empty(self.kind)
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if weights.shape == (len(rects),) and np.all(np.isfinite(weights)):
            scores = weights
        else:  # pragma: no cover  (OpenCV builds that report no level weights)
            scores = np.asarray(neighbours, dtype=np.float64).reshape(-1)
        boxes = _rects_to_boxes(rects, sx, sy)
        keep = nms(boxes, scores, self.nms_threshold)
        return Detections(boxes[keep], scores[keep], self.kind)

    @staticmethod
    def center_scale(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crops for this detector's boxes: :func:`face_box_to_center_scale`."""
        return face_box_to_center_scale(boxes)


class HogPeopleDetector:
    """Upright people with OpenCV's bundled HOG + linear SVM detector (Dalal and Triggs).

    The gray working copy is downscaled so its longer side is at most ``max_side``, or
    upscaled so its shorter side is at least ``min_side`` (the detector's window is 64 x 128
    and finds people about 96 px tall), then padded on each side by ``border`` times its
    width / height (edge pixels replicated) so a person filling the frame still fits a
    window with its margin. Boxes (1:2 windows with a margin around the person) are mapped
    back to full resolution and may reach outside the image; overlaps are reduced by
    :func:`nms`. Scores are the SVM margins. Convert boxes to crops with :meth:`center_scale`.

    Args:
        max_side: longest side of the working copy in pixels.
        hit_threshold: SVM margin a window needs (lower finds more, with more false positives).
        win_stride: (x, y) window step in pixels.
        padding: (x, y) padding OpenCV adds around each window.
        scale: scale step between pyramid levels (> 1).
        min_side: shorter side small images are upscaled to.
        border: border added on each side, as a fraction of the working copy's width / height.
        nms_threshold: IoU above which the lower-scoring of two detections is dropped.
    """

    kind = "person"

    def __init__(
        self,
        max_side: int = 1024,
        hit_threshold: float = 0.0,
        win_stride: tuple[int, int] = (8, 8),
        padding: tuple[int, int] = (8, 8),
        scale: float = 1.05,
        min_side: int = 160,
        border: float = 0.15,
        nms_threshold: float = 0.3,
    ) -> None:
        import cv2

        self.max_side = _check_positive_int(max_side, "max_side", 128)
        self.hit_threshold = _check_range(hit_threshold, "hit_threshold", -np.inf, np.inf)
        self.win_stride = self._pair(win_stride, "win_stride", 1)
        self.padding = self._pair(padding, "padding", 0)
        self.scale = _check_range(scale, "scale", 1.0, 4.0, open_lo=True)
        self.min_side = _check_positive_int(min_side, "min_side", 1)
        self.border = _check_range(border, "border", 0.0, 1.0)
        self.nms_threshold = _check_range(nms_threshold, "nms_threshold", 0.0, 1.0)
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self._window = (64, 128)  # (W, H) of the default people detector

    @staticmethod
    def _pair(value: Any, name: str, minimum: int) -> tuple[int, int]:
        try:
            a, b = value
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an (x, y) pair of integers >= {minimum}, got {value!r}") from None
        return _check_positive_int(a, name, minimum), _check_positive_int(b, name, minimum)

    def __repr__(self) -> str:
        return (
            f"HogPeopleDetector(max_side={self.max_side}, hit_threshold={self.hit_threshold}, "
            f"win_stride={self.win_stride}, padding={self.padding}, scale={self.scale}, "
            f"min_side={self.min_side}, border={self.border})"
        )

    def __call__(self, image: np.ndarray) -> Detections:
        """Find people in ``image`` (H, W, 3) uint8 RGB; boxes in its full-resolution coordinates."""
        import cv2

        work, sx, sy = _working_copy(_gray(image), self.max_side, self.min_side)
        bx, by = round(self.border * work.shape[1]), round(self.border * work.shape[0])
        if bx or by:
            work = cv2.copyMakeBorder(work, by, by, bx, bx, cv2.BORDER_REPLICATE)
        if work.shape[1] < self._window[0] or work.shape[0] < self._window[1]:
            return _empty(self.kind)
        rects, weights = self._hog.detectMultiScale(
            work, hitThreshold=self.hit_threshold, winStride=self.win_stride, padding=self.padding, scale=self.scale
        )
        if len(rects) == 0:
            return _empty(self.kind)
        scores = np.asarray(weights, dtype=np.float64).reshape(-1)
        boxes = _rects_to_boxes(rects, sx, sy, shift=(bx, by))
        keep = nms(boxes, scores, self.nms_threshold)
        return Detections(boxes[keep], scores[keep], self.kind)

    @staticmethod
    def center_scale(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crops for this detector's boxes: :func:`person_box_to_center_scale`."""
        return person_box_to_center_scale(boxes)


class WholeImageDetector:
    """The whole image as one subject: one box ``(-0.5, -0.5, W, H)`` with score 1.

    For images that are already crops around one face or person. Crops come from
    :func:`user_box_to_center_scale` (the box padded like the training crops; the image is
    taken to be the tight subject box).
    """

    def __init__(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        self.kind = kind

    def __repr__(self) -> str:
        return f"WholeImageDetector({self.kind!r})"

    def __call__(self, image: np.ndarray) -> Detections:
        """One box covering ``image`` (H, W[, C])."""
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or 0 in image.shape[:2]:
            raise ValueError(f"image must be a non-empty (H, W[, C]) array, got {getattr(image, 'shape', image)!r}")
        h, w = image.shape[:2]
        return Detections(np.array([[-0.5, -0.5, w, h]], dtype=np.float64), np.ones(1), self.kind)


class ProfileFaceDetector:
    """Faces turned to either side: OpenCV's bundled profile cascade on the image and on its
    mirror (the cascade knows one side only), boxes mapped back and merged by :func:`nms`.
    Crops as :class:`HaarFaceDetector`'s (:func:`face_box_to_center_scale`: calibrated on
    frontal faces, so a profile crop is roughly framed; :class:`hourglass.Predictor` refines it).
    """

    kind = "face"

    def __init__(self, min_neighbors: int = 3, nms_threshold: float = 0.3, **kwargs: Any) -> None:
        self._haar = HaarFaceDetector("haarcascade_profileface.xml", min_neighbors=min_neighbors, **kwargs)
        self.nms_threshold = _check_range(nms_threshold, "nms_threshold", 0.0, 1.0)

    def __repr__(self) -> str:
        return f"ProfileFaceDetector({self._haar!r})"

    def __call__(self, image: np.ndarray) -> Detections:
        """Profile faces in ``image`` (H, W, 3) uint8 RGB, looking either way."""
        a = self._haar(image)
        b = self._haar(np.ascontiguousarray(image[:, ::-1]))
        mirrored = b.boxes.copy()
        mirrored[:, 0] = image.shape[1] - 1 - (b.boxes[:, 0] + b.boxes[:, 2])  # x -> W - 1 - x, corner to corner
        boxes = np.concatenate([a.boxes, mirrored])
        scores = np.concatenate([a.scores, b.scores])
        if not len(boxes):
            return _empty(self.kind)
        keep = nms(boxes, scores, self.nms_threshold)
        return Detections(boxes[keep], scores[keep], self.kind)

    @staticmethod
    def center_scale(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crops for its boxes: :func:`face_box_to_center_scale`."""
        return face_box_to_center_scale(boxes)


class FacePeopleDetector:
    """People found by their frontal faces (OpenCV's Haar cascade, :class:`HaarFaceDetector`):
    for the people HOG misses (it knows upright walkers; LSPET's athletes are found by it about
    a quarter of the time). Its boxes are the face boxes, with kind ``"person"``; crops come
    from :func:`face_to_person_center_scale` (an upright person below the face, calibrated on
    LSPET), a rough frame that :class:`hourglass.Predictor` refines from the keypoints. Not a
    default candidate source (``Predictor(model, detector="person-face")``): a head-and-shoulders
    portrait gets a whole-body skeleton with legs on the chest.

    Args:
        min_size_fraction: smallest face side searched, as a fraction of the working copy's
            shorter side (smaller than a face detector's default: a whole person's face is small).
        max_faces: at most this many faces (highest scores) per image.
        **kwargs: further :class:`HaarFaceDetector` options.
    """

    kind = "person"

    def __init__(self, min_size_fraction: float = 0.03, max_faces: int = 5, **kwargs: Any) -> None:
        self._haar = HaarFaceDetector(min_size_fraction=min_size_fraction, **kwargs)
        self.max_faces = _check_positive_int(max_faces, "max_faces")

    def __repr__(self) -> str:
        return f"FacePeopleDetector({self._haar!r}, max_faces={self.max_faces})"

    def __call__(self, image: np.ndarray) -> Detections:
        """The face boxes of the people in ``image`` (H, W, 3) uint8 RGB, best first."""
        det = self._haar(image)
        top = np.argsort(-det.scores, kind="stable")[: self.max_faces]
        return Detections(det.boxes[top], det.scores[top], self.kind)

    @staticmethod
    def center_scale(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Person crops for its face boxes: :func:`face_to_person_center_scale`."""
        return face_to_person_center_scale(boxes)


DETECTORS: dict[str, Any] = {
    "face": HaarFaceDetector,
    "face-profile": ProfileFaceDetector,
    "person": HogPeopleDetector,
    "person-face": FacePeopleDetector,
    "whole-face": lambda: WholeImageDetector("face"),
    "whole-person": lambda: WholeImageDetector("person"),
}
"""Detector name -> constructor (keyword options for ``face`` and ``person``)."""


def get_detector(kind: str, **kwargs: Any) -> Detector:
    """Build a detector by name: ``face`` (:class:`HaarFaceDetector`), ``face-profile``
    (:class:`ProfileFaceDetector`), ``person`` (:class:`HogPeopleDetector`), ``person-face``
    (:class:`FacePeopleDetector`), ``whole-face`` / ``whole-person`` (:class:`WholeImageDetector`).

    Keyword arguments go to the detector's constructor (the whole-image ones take none).
    """
    if kind not in DETECTORS:
        raise ValueError(f"unknown detector {kind!r}; choose one of {', '.join(DETECTORS)}")
    if kind.startswith("whole-") and kwargs:
        raise ValueError(f"detector {kind!r} takes no options, got {sorted(kwargs)}")
    return DETECTORS[kind](**kwargs)
