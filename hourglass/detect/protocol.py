"""The detector interface: what a detector returns (:class:`Detections`) and is (:class:`Detector`).

The built-in detectors are in :mod:`hourglass.detect.detectors`; the :mod:`hourglass.detect`
docstring gives the box convention.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

__all__ = ["Detections", "Detector"]

KINDS = ("face", "person")


class Detections(NamedTuple):
    """What a detector found in one image.

    Attributes:
        boxes: (N, 4) float64 boxes (x0, y0, w, h) in the image's full-resolution pixel
            convention (:mod:`hourglass.detect` docstring), best first.
        scores: (N,) float64 detector confidences (higher is better; detector-specific scale).
        kind: ``"face"`` or ``"person"``.
    """

    boxes: np.ndarray
    scores: np.ndarray
    kind: str


def _empty(kind: str) -> Detections:
    return Detections(np.zeros((0, 4)), np.zeros(0), kind)


@runtime_checkable
class Detector(Protocol):
    """Anything that finds subjects: an object with a ``kind`` and ``__call__(image) -> Detections``.

    To plug in another detector, write any callable object with these two members, e.g.::

        class MyFaceDetector:
            kind = "face"

            def __call__(self, image):  # (H, W, 3) uint8 RGB
                boxes = my_model(image)  # (N, 4) x0, y0, w, h in hourglass.detect's convention
                return Detections(boxes, scores, "face")

    Its boxes are turned into crops by :func:`center_scale`: if the object also has a method
    ``center_scale(boxes) -> (center (N, 2), scale (N,))`` that is used (do this when the boxes
    are framed differently from the training crops, as the built-in detectors do), otherwise
    :func:`user_box_to_center_scale` treats them as tight subject boxes. No registration is
    needed: pass the object wherever a detector is taken.
    """

    kind: str

    def __call__(self, image: np.ndarray) -> Detections: ...
