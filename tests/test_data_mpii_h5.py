"""MPII in the original stacked-hourglass HDF5 files (hourglass.data.mpii_h5): h5py optional, bad files."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest

from hourglass.data.mpii_h5 import load_mpii_h5
from hourglass.data.records import DataError


def test_h5_needs_h5py(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"pip install h5py.*hourglass\[hdf5\]"):
        load_mpii_h5(tmp_path / "valid.h5", tmp_path)


def _write_h5(path: Path, n: int = 2, **override) -> Path:
    import h5py

    part = np.tile(np.arange(1, 33, dtype=np.float64).reshape(16, 2), (n, 1, 1))
    data = {"imgname": np.array([b"a.jpg"] * n), "center": np.full((n, 2), 50.0), "scale": np.ones(n),
            "part": part, "visible": np.ones((n, 16))}  # fmt: skip
    data.update(override)
    with h5py.File(path, "w") as f:
        for k, v in data.items():
            if v is not None:
                f[k] = v
    return path


def test_h5_bad_input(tmp_path, caplog):
    with pytest.raises(FileNotFoundError, match="absent.h5"):
        load_mpii_h5(tmp_path / "absent.h5", tmp_path)
    with pytest.raises(DataError, match=r"missing datasets \['part'\]"):
        load_mpii_h5(_write_h5(tmp_path / "a.h5", part=None), tmp_path)
    with pytest.raises(DataError, match=r"'visible' has shape \(2, 14\)"):
        load_mpii_h5(_write_h5(tmp_path / "b.h5", visible=np.ones((2, 14))), tmp_path)
    part = np.tile(np.arange(1, 33, dtype=np.float64).reshape(16, 2), (2, 1, 1))
    part[1, 3] = 0  # missing joint, but visible = 1
    path = _write_h5(tmp_path / "c.h5", part=part)
    with pytest.raises(DataError, match=r"c.h5\[1\]: a joint at \(0, 0\)"):
        load_mpii_h5(path, tmp_path)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        kept = load_mpii_h5(path, tmp_path, on_error="skip")
    assert len(kept) == 1 and "skipped 1 of 2" in caplog.text
    np.testing.assert_array_equal(kept[0].keypoints, np.arange(32.0).reshape(16, 2))  # 1-based -> 0-based


def test_h5_bad_normalize(tmp_path, caplog):
    path = _write_h5(tmp_path / "n.h5", normalize=np.array([20.0, np.nan]))
    with pytest.raises(DataError, match=r"n.h5\[1\]: normalize \(head size\) not finite and positive"):
        load_mpii_h5(path, tmp_path)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        kept = load_mpii_h5(_write_h5(tmp_path / "z.h5", normalize=np.array([0.0, 20.0])), tmp_path, on_error="skip")
    assert len(kept) == 1 and kept[0].extra["head_size"] == 20.0


def test_valid_h5_head_sizes_are_the_pckh_normalisers(shared_data):
    """valid.h5's normalize, kept per record, is 0.6 x the diagonal of the official evaluation's head box."""
    import scipy.io

    from hourglass.data import load_dataset

    people = load_dataset("mpii", shared_data("mpii"), "valid")
    boxes = scipy.io.loadmat(shared_data("mpii/eval/detections_our_format.mat"))["headboxes_src"]  # (2, 2, N)
    want = 0.6 * np.linalg.norm(boxes[1] - boxes[0], axis=0)
    got = np.array([r.extra["head_size"] for r in people])
    assert len(people) == 2958 and all(r.headbox is None for r in people)
    # Measured: at most 3.2e-7 relative (float32 arithmetic stored as float64); the diagonal itself is 1/0.6 off.
    np.testing.assert_allclose(got, want, rtol=5e-7, atol=0)
