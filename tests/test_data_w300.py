"""300-W: split loader over both layouts, the face crop rule."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from conftest import POINTS, pts_text, with_point_line, write_face

from hourglass.data.records import DataError
from hourglass.data.w300 import OFFICIAL_COUNTS, SPLITS, landmark_center_scale, load_300w


def plain_parse(path: Path) -> np.ndarray:
    """Independent reference: the 68 lines between '{' and '}' of a header .pts file."""
    lines = path.read_text().splitlines()
    body = lines[lines.index("{") + 1 : lines.index("}")]
    return np.array([[float(v) for v in line.split()] for line in body])


# ----------------------------------------------------------------------------- real data


def test_shared_300w_train_is_every_pts_minus_one(shared_data):
    root = shared_data("300w")
    faces = load_300w(root, "train")
    assert len(faces) == 1207
    assert faces.subsets() == {"afw": 337, "helen/trainset": 870}
    files = sorted((root / "afw").glob("*.pts")) + sorted((root / "helen/trainset").glob("*.pts"))
    assert [Path(r.source) for r in faces] == files  # sorted within each subset, split order
    for r, pts in zip(faces, files, strict=True):
        np.testing.assert_array_equal(r.keypoints, plain_parse(pts) - 1.0)
        assert r.image == pts.with_suffix(".jpg") and r.image.exists()
        assert r.labelled.all() and r.visible.all()
    # The documented crop rule, recomputed independently for every face.
    kp = faces.keypoints()
    lo, hi = kp.min(axis=1), kp.max(axis=1)
    np.testing.assert_allclose([r.center for r in faces], (lo + hi) / 2, atol=1e-12)
    np.testing.assert_allclose([r.scale for r in faces], (hi - lo).max(axis=1) * 1.25 / 200, rtol=1e-12)
    assert len(load_300w(root, "afw")) == 337 and len(load_300w(root, "HELEN/trainset")) == 870


@pytest.mark.parametrize("split", ["common", "challenge", "full", "test"])
def test_shared_300w_absent_splits_are_empty(shared_data, split):
    with pytest.raises(DataError, match=f"split '{split}' is empty.*looked for"):
        load_300w(shared_data("300w"), split)


# where each subset lives in the {train,test}/ layout of 300w-original, listed independently
ORIGINAL = {
    "afw": "train/afw",
    "helen/trainset": "train/helen",
    "lfpw/trainset": "train/lfpw",
    "helen/testset": "test/helen",
    "lfpw/testset": "test/lfpw",
    "ibug": "test/ibug",
    "300W_indoor": "train/300W_indoor",
    "300W_outdoor": "train/300W_outdoor",
}


def test_shared_300w_original_every_split(shared_data):
    root = shared_data("300w-original")
    counts = {s: len(list((root / rel).glob("*.pts"))) for s, rel in ORIGINAL.items() if (root / rel).is_dir()}
    assert sum(counts.values()) == 30 and len(counts) == 8
    for split in [
        "train",
        "common",
        "challenge",
        "full",
        "test",
        "helen",
        "lfpw",
        *ORIGINAL,
        "01_Indoor",
        "02_Outdoor",
    ]:
        faces = load_300w(root, split)
        subsets = SPLITS[{"01_Indoor": "300W_indoor", "02_Outdoor": "300W_outdoor"}.get(split, split)]
        assert faces.subsets() == {s: counts[s] for s in subsets}, split
        for r in faces:
            np.testing.assert_array_equal(r.keypoints, plain_parse(Path(r.source)) - 1.0)
            assert r.image.exists() and r.image.stem == Path(r.source).stem
            assert r.image_id == r.image.relative_to(root).as_posix()
    # Images without a .pts (one in test/helen, one in test/ibug) are not annotations.
    for rel in ("test/helen", "test/ibug"):
        images = [p for p in (root / rel).iterdir() if p.suffix in (".jpg", ".png")]
        assert len(images) == counts[{"test/helen": "helen/testset", "test/ibug": "ibug"}[rel]] + 1
    # The same file name in train/lfpw and test/lfpw is two different faces.
    full = load_300w(root, "lfpw")
    ids = [r.image_id for r in full]
    assert "train/lfpw/image_0001.png" in ids and "test/lfpw/image_0001.png" in ids


# ----------------------------------------------------------------------------- load_300w


def test_loader_standard_layout_and_keywords(tmp_path):
    write_face(tmp_path / "helen/trainset", "b", pts_text(newline="\r\n"))  # CRLF loads fine
    write_face(tmp_path / "afw", "z", pts_text(header=False), image=".png")
    write_face(tmp_path / "afw", "a")
    write_face(tmp_path / "afw", "unlabelled_photo", image=".jpg").unlink()  # an image alone: ignored
    faces = load_300w(tmp_path)
    assert [(r.subset, r.image.name) for r in faces] == [
        ("afw", "a.jpg"),
        ("afw", "z.png"),
        ("helen/trainset", "b.jpg"),
    ]
    np.testing.assert_array_equal(faces.keypoints(), np.broadcast_to(POINTS - 1.0, (3, 68, 2)))
    # center_shift moves the centre up by a fraction of the landmark-box height; padding scales.
    lo, hi = POINTS.min(0) - 1, POINTS.max(0) - 1
    shifted = load_300w(tmp_path, "afw", center_shift=0.12, padding=1.5)[0]
    np.testing.assert_allclose(shifted.center, [(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2 - 0.12 * (hi[1] - lo[1])])
    assert shifted.scale == pytest.approx((hi - lo).max() * 1.5 / 200)
    np.testing.assert_allclose(shifted.box, [lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])


def test_loader_indoor_aliases(tmp_path):
    write_face(tmp_path / "01_Indoor", "indoor_001", image=".png")
    for split in ("test", "01_Indoor", "300w_indoor"):
        assert load_300w(tmp_path, split).subsets() == {"300W_indoor": 1}


def test_pts_without_image_names_the_file(tmp_path):
    pts = write_face(tmp_path / "ibug", "lonely", image=None)
    with pytest.raises(
        DataError, match=r"no image beside it \(tried lonely.jpg, lonely.jpeg, lonely.png, lonely.ppm"
    ) as err:
        load_300w(tmp_path, "challenge")
    assert str(pts) in str(err.value) and "lonely.webp" in str(err.value)


@pytest.mark.parametrize("suffix", [".ppm", ".PGM", ".bmp", ".tif", ".tiff", ".webp", ".jpeg"])
def test_every_image_suffix_opencv_reads_is_found(tmp_path, suffix):
    """takeo.pts beside takeo.ppm loads (tools/infer.py reads .ppm; the loader used to want .jpg or .png)."""
    write_face(tmp_path / "afw", "takeo", image=suffix)
    (face,) = load_300w(tmp_path, "afw")
    assert face.image.name == f"takeo{suffix}"


def test_bad_pts_in_loader_names_file_and_line(tmp_path):
    pts = write_face(tmp_path / "afw", "bad", pts_text(POINTS[:67], n_points=68))
    with pytest.raises(DataError, match="n_points: 68 but 67") as err:
        load_300w(tmp_path, "afw")
    assert str(err.value).startswith(f"{pts}:2: ")


def test_two_images_for_one_pts(tmp_path):
    write_face(tmp_path / "afw", "twice")
    (tmp_path / "afw/twice.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"twice\.pts: several images"):
        load_300w(tmp_path, "afw")


def test_empty_split_lists_folders(tmp_path):
    with pytest.raises(DataError, match="split 'challenge' is empty") as err:
        load_300w(tmp_path, "challenge")
    assert str(tmp_path / "ibug") in str(err.value) and str(tmp_path / "test/ibug") in str(err.value)
    (tmp_path / "afw").mkdir()
    with pytest.raises(DataError, match="hold no .pts files"):
        load_300w(tmp_path, "train")


def test_unknown_split_lists_valid_ones(tmp_path):
    with pytest.raises(ValueError, match=r"unknown 300-W split 'val'.*'train', 'common', 'challenge', 'full', 'test'"):
        load_300w(tmp_path, "val")


def test_bad_options(tmp_path):
    write_face(tmp_path / "afw", "a")
    with pytest.raises(ValueError, match="on_error"):
        load_300w(tmp_path, on_error="ignore")
    with pytest.raises(ValueError, match="padding"):
        load_300w(tmp_path, padding=0)
    with pytest.raises(FileNotFoundError, match="not a folder"):
        load_300w(tmp_path / "nowhere")


def test_both_layouts_at_once_is_an_error(tmp_path):
    write_face(tmp_path / "afw", "a")
    write_face(tmp_path / "train/afw", "a")
    with pytest.raises(DataError, match="'afw' exists in 2 places"):
        load_300w(tmp_path, "afw")


def test_on_error_skip_logs_each_file_and_the_count(tmp_path, caplog):
    write_face(tmp_path / "afw", "good1")
    write_face(tmp_path / "afw", "good2")
    nan = write_face(tmp_path / "afw", "nan", with_point_line(0, "nan 3"))
    lonely = write_face(tmp_path / "afw", "lonely", image=None)
    with caplog.at_level(logging.WARNING, logger="hourglass.data"):
        faces = load_300w(tmp_path, "afw", on_error="skip")
    assert [r.image.stem for r in faces] == ["good1", "good2"]
    messages = [r.getMessage() for r in caplog.records if r.name == "hourglass.data"]
    assert any(f"{nan}:4: point 0 is not finite" in m for m in messages)
    assert any(str(lonely) in m and "no image" in m for m in messages)
    assert any("skipped 2 of 4 .pts files" in m for m in messages)


def test_everything_skipped_is_an_error(tmp_path):
    write_face(tmp_path / "afw", "lonely", image=None)
    with pytest.raises(DataError, match="all 1 .pts files.*skipped"):
        load_300w(tmp_path, "afw", on_error="skip")


def test_official_counts_add_up():
    total = {s: sum(OFFICIAL_COUNTS[x] for x in SPLITS[s]) for s in ("train", "common", "challenge", "full", "test")}
    assert total == {"train": 3148, "common": 554, "challenge": 135, "full": 689, "test": 600}


# ----------------------------------------------------------------------------- crop rule


def test_landmark_center_scale_by_hand():
    pts = np.array([[[10.0, 20.0], [30.0, 60.0], [np.nan, np.nan]]])  # box 20 x 40, NaN ignored
    c, s = landmark_center_scale(pts)
    np.testing.assert_allclose(c, [[20.0, 40.0]])
    np.testing.assert_allclose(s, [40 * 1.25 / 200])
    c, s = landmark_center_scale(pts[0], padding=1.0, center_shift=0.25)
    np.testing.assert_allclose(c, [20.0, 30.0])
    assert s == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"entry \[1\]: all landmarks lie at one point"):
        landmark_center_scale(np.stack([pts[0], np.ones((3, 2))]))
    with pytest.raises(ValueError, match="no labelled landmark"):
        landmark_center_scale(np.full((3, 2), np.nan))


def test_fit_and_holdout_partition_train(shared_data):
    from hourglass.data.w300 import holdout_mask

    root = shared_data("300w")
    train, fit, held = (load_300w(root, s) for s in ("train", "fit", "holdout"))
    names = {s: {str(r.image) for r in d} for s, d in (("train", train), ("fit", fit), ("holdout", held))}
    assert names["fit"] & names["holdout"] == set() and names["fit"] | names["holdout"] == names["train"]
    helen = [r for r in train if r.subset == "helen/trainset"]
    assert len(held) == round(0.1 * len(helen)) == 87 and held.subsets() == {"helen/trainset": 87}
    # chosen by name alone: the same faces whatever the order or the other files present
    stems = [r.image.stem for r in helen]
    mask = holdout_mask(stems)
    assert {s for s, m in zip(stems, mask) if m} == {r.image.stem for r in held}
    order = np.random.default_rng(0).permutation(len(stems))
    assert np.array_equal(holdout_mask([stems[i] for i in order]), mask[order])
