"""hourglass.detect.protocol: a plugged-in detector is a Detector and gets its own or the user box conversion."""

from __future__ import annotations

import numpy as np

from hourglass import detect
from hourglass.detect import Detections, HaarFaceDetector


def test_plugged_in_detector_uses_its_own_or_the_user_box_conversion():
    class Mine:
        kind = "person"

        def __call__(self, image):
            return Detections(np.array([[0.0, 0.0, 10.0, 20.0]]), np.ones(1), self.kind)

    mine = Mine()
    assert isinstance(mine, detect.Detector)
    boxes = mine(np.zeros((5, 5, 3), np.uint8)).boxes
    for got, want in zip(detect.center_scale(mine, boxes), detect.user_box_to_center_scale(boxes, "person")):
        np.testing.assert_allclose(got, want)
    mine.center_scale = lambda b: (np.zeros((len(b), 2)), np.ones(len(b)))
    np.testing.assert_array_equal(detect.center_scale(mine, boxes)[1], [1.0])
    assert isinstance(HaarFaceDetector(), detect.Detector)
