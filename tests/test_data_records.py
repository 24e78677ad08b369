"""hourglass.data.records.Annotation: every malformed record is a DataError naming its source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hourglass.data.records import Annotation, DataError
from hourglass.keypoints import LSP


def record(**change):
    kp = np.arange(28, dtype=np.float64).reshape(14, 2)
    fields = dict(
        image=Path("im.jpg"), keypoints=kp, labelled=np.ones(14, bool), visible=np.ones(14, bool),
        center=np.array([10.0, 20.0]), scale=1.0, spec=LSP, source="joints.mat person 7",
    )  # fmt: skip
    fields.update(change)
    return Annotation(**fields)


def test_a_good_record_is_read_only():
    r = record()
    with pytest.raises(ValueError, match="read-only"):
        r.keypoints[0, 0] = 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (dict(keypoints=np.zeros((13, 2))), r"expected 14 keypoints of \(x, y\), got shape \(13, 2\)"),
        (dict(labelled=np.ones(13, bool)), r"visibility masks must have shape \(14,\)"),
        (dict(labelled=np.ones(14, np.int64)), r"labelled must be a bool mask, got dtype int64; pass v > 0"),
        (dict(visible=np.zeros(14, np.uint8)), r"visible must be a bool mask, got dtype uint8"),
        (dict(labelled=np.arange(14) > 0), "marked visible but has no annotated location"),
        (dict(keypoints=np.full((14, 2), np.nan)), "labelled keypoints contain NaN"),
        (dict(center=np.array([np.inf, 0.0])), "centre must be two finite numbers"),
        (dict(scale=0.0), r"scale must be positive \(units of 200 px\), got 0\.0"),
    ],
)
def test_malformed_records(change, message):
    with pytest.raises(DataError, match=message) as info:
        record(**change)
    assert str(info.value).startswith("joints.mat person 7: ")


def test_an_int_mask_would_have_hidden_a_nan_keypoint():
    """With 0/1 ints, keypoints[labelled] picks rows 0 and 1 and misses the NaN in row 5."""
    kp = np.arange(28, dtype=np.float64).reshape(14, 2)
    kp[5] = np.nan
    ints = np.ones(14, np.int64)
    assert np.isfinite(kp[ints]).all()  # the trap
    with pytest.raises(DataError, match="bool mask"):
        record(keypoints=kp, labelled=ints, visible=np.zeros(14, bool))
