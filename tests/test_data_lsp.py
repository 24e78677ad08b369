"""LSP / LSPET loader: both joints.mat layouts, visibility, crops, splits, MPII mapping, bad input."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from hourglass.data.lsp import load_lsp, lsp_to_mpii, lspet_split, split_indices
from hourglass.data.records import DataError
from hourglass.keypoints import LSP, MPII


def _dataset(tmp_path: Path, joints: np.ndarray | None, *, digits: int = 5, images: int | None = None) -> Path:
    """A dataset folder with joints.mat (unless None) and empty image files im0..1.jpg."""
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    if joints is not None:
        scipy.io.savemat(root / "joints.mat", {"joints": joints})
        n = joints.shape[-1] if images is None else images
        for i in range(n):
            (root / "images" / f"im{i + 1:0{digits}d}.jpg").touch()
    return root


def _lspet(n: int = 3) -> np.ndarray:
    """(14, 3, n) LSPET joints: joint k of person i at 1-based (10 + 5k + i, 20 + 3k), all visible."""
    k = np.arange(14)[:, None]
    i = np.arange(n)[None, :]
    return np.stack([10.0 + 5 * k + i, 20.0 + 3 * k + 0 * i, np.ones((14, n))], axis=1)


# --- real data --------------------------------------------------------------------------------


def test_lspet_real(shared_data):
    root = shared_data("lspet")
    raw = scipy.io.loadmat(root / "joints.mat")["joints"]  # (14, 3, N), N = 9500 in the shared copy
    n = raw.shape[2]
    people = load_lsp(root)
    assert len(people) == n >= 5000 and people.spec == LSP
    visible = np.stack([a.visible for a in people])
    labelled = people.labelled()
    assert visible.sum() == (raw[:, 2] == 1).sum()
    assert (raw[:, 2, :5000] == 1).sum() == 61577  # the first 5000 people, as counted when the copy held them alone
    np.testing.assert_array_equal(labelled, visible)  # flag 0 carries no location in LSPET
    # The finding behind that rule: every flag-0 joint sits at x <= 0 and y <= 0 (8423 in the first 5000).
    hidden = raw[:, 2] == 0
    assert (raw[:, 2, :5000] == 0).sum() == 8423
    assert np.all(raw[:, 0][hidden] <= 0) and np.all(raw[:, 1][hidden] <= 0)
    for i in (0, 1, 2468, 4999, n - 1):
        a = people[i]
        assert a.image == root / "images" / f"im{i + 1:05d}.jpg" and a.image.is_file() and a.image_id == i + 1
        np.testing.assert_array_equal(a.visible, raw[:, 2, i] == 1)
        np.testing.assert_allclose(a.keypoints[a.labelled], raw[:, :2, i][a.labelled] - 1, rtol=0, atol=1e-12)
        assert np.all(np.isnan(a.keypoints[~a.labelled]))
    # Person 0: right ankle not annotated (stored as (0, -26.1), flag 0); crop from the box by hand.
    a = people[0]
    assert not a.labelled[0] and a.labelled[1:].all()
    xy = raw[1:, :2, 0] - 1
    lo, hi = xy.min(0), xy.max(0)
    np.testing.assert_allclose(a.center, (lo + hi) / 2)
    assert a.scale == pytest.approx(1.6 * (hi - lo).max() / 200)
    np.testing.assert_allclose(a.box, [*lo, *(hi - lo)])


def test_lspet_real_split_and_mpii(shared_data):
    root = shared_data("lspet")
    train = load_lsp(root, split="train", to_mpii=True)
    val = load_lsp(root, split="val", to_mpii=True)
    n = scipy.io.loadmat(root / "joints.mat")["joints"].shape[2]
    assert (len(train), len(val)) == (n - 500, 500) and val.spec == MPII
    ids = {a.image_id for a in train}
    assert not ids & {a.image_id for a in val} and len(ids | {a.image_id for a in val}) == n
    # the same 500 people as when the copy held 5000 images: fixed by image number
    np.testing.assert_array_equal([a.image_id - 1 for a in val], split_indices(5000, 0.1, 0)[1])
    assert all(a.image_id <= 5000 for a in val) and {i + 1 for i in range(5000, n)} <= ids


def test_lspet_split_fixed_by_image_number():
    held = split_indices(5000, 0.1, seed=0)[1]
    for n in (0, 40, 4999, 5000, 9500, 10000):
        train, val = lspet_split(n, 0.1, seed=0)
        np.testing.assert_array_equal(val, held[held < n])  # the same image numbers, whatever n
        assert not set(train.tolist()) & set(val.tolist())  # disjoint by image number
        np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(n))
    assert lspet_split(9500)[0][-4500:].tolist() == list(range(5000, 9500))  # new images only train
    # independent of the formula: 500 held out once the folder holds the first 5000, images 1, 4, 34 first
    assert len(lspet_split(5000)[1]) == len(lspet_split(9500)[1]) == 500
    assert (lspet_split(9500)[1][:3] + 1).tolist() == [1, 4, 34] and len(lspet_split(40)[1]) == 4
    np.testing.assert_array_equal(lspet_split(300, 0.3, seed=2)[1], (h := split_indices(5000, 0.3, 2)[1])[h < 300])
    with pytest.raises(ValueError, match="non-negative"):
        lspet_split(-1)


def test_lspet_loader_split_on_a_grown_file(tmp_path):
    """A folder holding more people than 5000 holds out the same image numbers as one holding 5000."""
    root = tmp_path / "lspet"
    root.mkdir()
    scipy.io.savemat(root / "joints.mat", {"joints": _lspet(5200)})
    val = load_lsp(root, split="val", check_images=False)
    train = load_lsp(root, split="train", check_images=False)
    np.testing.assert_array_equal([a.image_id - 1 for a in val], split_indices(5000, 0.1, 0)[1])
    assert len(train) == 4700 and not {a.image_id for a in train} & {a.image_id for a in val}


# --- splits and the MPII mapping --------------------------------------------------------------


def test_split_indices():
    train, val = split_indices(5000, 0.1, seed=0)
    assert len(val) == 500 and len(train) == 4500
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(5000))
    # Pinned: the held-out set must never change (published weights depend on it).
    np.testing.assert_array_equal(val[:10], [0, 3, 33, 34, 42, 43, 44, 54, 95, 96])
    np.testing.assert_array_equal(split_indices(10, 0.3, seed=0)[1], [0, 3, 5])
    np.testing.assert_array_equal(split_indices(5000, 0.1, seed=0)[1], val)  # deterministic
    assert not np.array_equal(split_indices(5000, 0.1, seed=1)[1], val)
    assert len(split_indices(7, 0.0)[1]) == 0 and len(split_indices(0, 0.5)[0]) == 0
    for bad in [dict(n=-1, val_fraction=0.1), dict(n=10, val_fraction=1.0), dict(n=10, val_fraction=0.1, seed=-2)]:
        with pytest.raises(ValueError):
            split_indices(**bad)


def test_lsp_to_mpii_by_hand():
    kp = np.arange(28, dtype=np.float64).reshape(14, 2)  # joint k at (2k, 2k + 1)
    lab = np.ones(14, bool)
    vis = np.ones(14, bool)
    lab[3] = False  # l_hip unlabelled -> pelvis unlabelled
    vis[9] = False  # l_shoulder occluded -> thorax labelled but not visible
    out, out_lab, out_vis = lsp_to_mpii(kp, lab, vis)
    assert out.shape == (16, 2)
    names = MPII.names
    np.testing.assert_array_equal(out[names.index("thorax")], (kp[8] + kp[9]) / 2)
    np.testing.assert_array_equal(out[names.index("upper_neck")], kp[12])
    np.testing.assert_array_equal(out[names.index("head_top")], kp[13])
    np.testing.assert_array_equal(out[names.index("l_wrist")], kp[11])
    np.testing.assert_array_equal(out[names.index("r_ankle")], kp[0])
    assert np.all(np.isnan(out[names.index("pelvis")])) and not out_lab[names.index("pelvis")]
    assert not out_lab[names.index("l_hip")]
    assert out_lab[names.index("thorax")] and not out_vis[names.index("thorax")]
    assert out_lab.sum() == 14 and out_vis.sum() == 12  # l_shoulder and thorax invisible
    batch = lsp_to_mpii(np.stack([kp, kp]), np.stack([lab, lab]), np.stack([vis, vis]))
    assert batch[0].shape == (2, 16, 2)
    with pytest.raises(ValueError, match=r"\(\.\.\., 14, 2\)"):
        lsp_to_mpii(kp[:13], lab[:13], vis[:13])


# --- both layouts, synthetic ------------------------------------------------------------------


def test_lsp_layout_flags_inverted(tmp_path):
    joints = _lspet(3).transpose(1, 0, 2).copy()  # (3, 14, N)
    joints[2] = 0.0  # LSP: 0 = visible
    joints[2, 5, 1] = 1.0  # person 1's l_ankle occluded but located
    people = load_lsp(_dataset(tmp_path, joints, digits=4))
    assert people.name == "lsp:all" and len(people) == 3 and people[0].subset == "lsp"
    assert people[0].image.name == "im0001.jpg"
    assert people[1].labelled.all() and not people[1].visible[5] and people[1].visible.sum() == 13
    np.testing.assert_allclose(people[1].keypoints[5], [10 + 25 + 1 - 1, 20 + 15 - 1])
    # Joint k at 0-based (9 + 5k + i, 19 + 3k): box 65 x 39 px -> square crop of 1.6 x 65 px.
    np.testing.assert_allclose(people[2].center, [11 + 65 / 2, 19 + 39 / 2])
    assert people[2].scale == pytest.approx(1.6 * 65 / 200)
    assert load_lsp(people[0].image.parents[1], padding=1.0)[2].scale == pytest.approx(65 / 200)
    with pytest.raises(DataError, match=r"the 'lsp' layout, but layout='lspet'"):
        load_lsp(people[0].image.parents[1], layout="lspet")


def test_lsp_standard_halves(tmp_path):
    joints = np.zeros((3, 14, 2000))
    joints[:2] = np.arange(14.0)[None, :, None] + 1
    root = _dataset(tmp_path, joints, digits=4, images=0)
    test = load_lsp(root, split="test", check_images=False)
    assert [a.image_id for a in test[:2]] == [1001, 1002] and len(test) == 1000
    assert len(load_lsp(root, split="train", check_images=False)) == 900
    assert len(load_lsp(root, split="train", val_fraction=0.0, check_images=False)) == 1000
    with pytest.raises(FileNotFoundError, match="im0001.jpg does not exist"):
        load_lsp(root)


def test_lspet_synthetic_visibility(tmp_path):
    joints = _lspet(2)
    joints[0, :, 1] = [0.0, -12.5, 0.0]  # the LSPET placeholder of an unannotated joint
    people = load_lsp(_dataset(tmp_path, joints))
    assert people.name == "lspet:all" and people[1].image.name == "im00002.jpg"
    assert not people[1].labelled[0] and not people[1].visible[0] and np.isnan(people[1].keypoints[0]).all()
    assert people[0].labelled.all()
    with pytest.raises(ValueError, match="LSPET has no test set"):
        load_lsp(people[0].image.parents[1], split="test")


# --- bad input --------------------------------------------------------------------------------


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="joints.mat does not exist"):
        load_lsp(_dataset(tmp_path, None))
    root = _dataset(tmp_path / "b", _lspet(2))
    for f in (root / "images").iterdir():
        f.unlink()
    (root / "images").rmdir()
    with pytest.raises(FileNotFoundError, match="image folder .*images does not exist"):
        load_lsp(root)
    assert len(load_lsp(root, check_images=False)) == 2


def test_missing_key_and_bad_shape(tmp_path):
    root = tmp_path / "a"
    root.mkdir()
    scipy.io.savemat(root / "joints.mat", {"points": _lspet(2)})
    with pytest.raises(DataError, match=r"no variable 'joints' \(variables: \['points'\]\)"):
        load_lsp(root)
    for shape in [(14, 2, 5), (3, 16, 5), (14, 3)]:
        scipy.io.savemat(root / "joints.mat", {"joints": np.zeros(shape)})
        with pytest.raises(DataError, match=r"expected \(3, 14, N\) \(LSP\) or \(14, 3, N\) \(LSPET\)"):
            load_lsp(root)
    (root / "joints.mat").write_bytes(b"garbage" * 30)
    with pytest.raises(DataError, match="not a readable MATLAB file"):
        load_lsp(root)


def test_nan_and_bad_flags(tmp_path, caplog):
    joints = _lspet(4)
    joints[3, 0, 1] = np.nan
    joints[5, 2, 2] = 0.5
    root = _dataset(tmp_path, joints)
    with pytest.raises(DataError, match=r"joints.mat\[1\] \(im00002.jpg\): non-finite"):
        load_lsp(root)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        people = load_lsp(root, on_error="skip")
    assert [a.image_id for a in people] == [1, 4]
    assert "visibility flags must be 0 or 1, got [0.5, 1.0]" in caplog.text
    assert "skipped 2 of 4 people" in caplog.text


def test_missing_image_and_degenerate_person(tmp_path, caplog):
    joints = _lspet(3)
    joints[:, 2, 2] = 0.0
    joints[0, 2, 2] = 1.0  # one labelled joint: no box
    root = _dataset(tmp_path, joints)
    (root / "images" / "im00002.jpg").unlink()
    with pytest.raises(FileNotFoundError, match=r"joints.mat\[1\] \(im00002.jpg\): image file .* does not exist"):
        load_lsp(root)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        people = load_lsp(root, on_error="skip")
    assert len(people) == 1 and "fewer than two distinct labelled joints" in caplog.text
    assert "skipped 2 of 3" in caplog.text


def test_bad_arguments(tmp_path):
    root = _dataset(tmp_path, _lspet(2))
    for kwargs, match in [
        ({"layout": "coco"}, "layout"),
        ({"split": "valid"}, "split"),
        ({"on_error": "warn"}, "on_error"),
        ({"padding": 0}, "padding"),
    ]:
        with pytest.raises(ValueError, match=match):
            load_lsp(root, **kwargs)
