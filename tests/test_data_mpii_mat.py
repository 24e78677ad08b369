"""MPII MATLAB files (hourglass.data.mpii_mat): the release's odd cases, bad people and bad files.

The release files are written here in the official ``RELEASE`` layout by the helpers of ``test_data_mpii``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from test_data_mpii import _person, _synthetic_release, write_release

from hourglass.data.mpii_mat import load_mpii_headboxes, load_mpii_mat
from hourglass.data.records import DataError


def test_release_mat_odd_cases(tmp_path, shared_data, caplog):
    mat = _synthetic_release(tmp_path, shared_data)
    one = load_mpii_mat(mat, tmp_path, split="train")[0]
    assert one.labelled.sum() == 1 and one.labelled[9] and not one.visible[9]
    np.testing.assert_allclose(one.keypoints[9], [29.5, 19.25])
    np.testing.assert_allclose(one.headbox, [[10, 20], [40, 60]])
    np.testing.assert_allclose(one.center, [30, 89 + 15 * 1.5])
    assert one.scale == pytest.approx(1.875)
    with caplog.at_level(logging.INFO, logger="hourglass.data"):
        test = load_mpii_mat(mat, tmp_path, split="test")
    assert "1 without keypoints" in caplog.text
    assert len(test) == 1 and not test[0].labelled.any() and test[0].headbox is None
    assert test[0].extra == {"image_index": 2, "person_index": 0, "img_train": False, "single_person": True}
    assert len(load_mpii_mat(mat, tmp_path, split="all")) == 7


def _one_person_release(tmp_path: Path, points, **person) -> Path:
    args = {"x1": 1, "y1": 1, "x2": 9, "y2": 9, "points": points, "scale": 1.0, "objpos": (5, 5), **person}
    return write_release(tmp_path / "r.mat", [{"name": "a.jpg", "train": True, "people": [_person(**args)]}])


@pytest.mark.parametrize(
    ("points", "person", "message"),
    [
        ([(3, 1, 1, 1), (3, 2, 2, 1)], {}, "joint id 3 is annotated twice"),
        ([(16, 1, 1, 1)], {}, "not an MPII joint id"),
        ([(3, 1, 1, 2)], {}, "is_visible of joint 3"),
        ([(3, 1, 1, "yes")], {}, "is_visible of joint 3"),
        ([(3, 1, 1, 1)], {"scale": None}, "without objpos or scale"),
    ],
)
def test_mat_bad_people(tmp_path, points, person, message):
    path = _one_person_release(tmp_path, points, **person)
    with pytest.raises(DataError, match=rf"annolist\[0\] \(a.jpg\) annorect\[0\]: .*{message}"):
        load_mpii_mat(path, tmp_path)
    assert len(load_mpii_mat(path, tmp_path, on_error="skip")) == 0


def test_mat_bad_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.mat"):
        load_mpii_mat(tmp_path / "absent.mat", tmp_path)
    scipy.io.savemat(tmp_path / "other.mat", {"joints": np.zeros((3, 14, 2))})
    with pytest.raises(DataError, match=r"no RELEASE struct.*\['joints'\]"):
        load_mpii_mat(tmp_path / "other.mat", tmp_path)
    (tmp_path / "junk.mat").write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(DataError, match="not a readable MATLAB file"):
        load_mpii_mat(tmp_path / "junk.mat", tmp_path)
    with pytest.raises(ValueError, match="split"):
        load_mpii_mat(tmp_path / "other.mat", tmp_path, split="valid")
    with pytest.raises(DataError, match="no 'headboxes_src'"):
        load_mpii_headboxes(tmp_path / "other.mat")
