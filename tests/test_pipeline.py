"""Top-down pipeline and dataset: geometry to a tenth of a pixel, targets, determinism, loading."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from hourglass.codec import decode_heatmaps, flip_heatmaps, heatmap_to_image
from hourglass.data.dataset import KeypointDataset
from hourglass.data.io import read_image
from hourglass.data.pipeline import Augmentation, PipelineConfig, Sample, TopDownPipeline
from hourglass.data.records import Annotation, AnnotationSet
from hourglass.geometry import (
    cache_geometry,
    compose_affine,
    crop_matrix,
    from_normalized,
    invert_affine,
    reduce_factor,
    reduction_matrix,
    transform_points,
    warp_image,
)
from hourglass.keypoints import LSP, MPII
from hourglass.visualize import save_sample_grid

K = MPII.num_keypoints
NO_PHOTO = dict(color_prob=0.0, blur_prob=0.0, noise_prob=0.0, dropout_prob=0.0)
# Every geometric augmentation on (rotation always), plus the centroid-preserving colour and blur.
FULL_GEOMETRY = dict(rotation_prob=1.0, color_prob=1.0, blur_prob=1.0, noise_prob=0.0, dropout_prob=0.0)


def dot_scene(width=480, height=400, sigma=2.5, spacing=40.0, seed=0):
    """An image with one Gaussian dot per MPII keypoint; dot k has its own peak height.

    Returns image (H, W, 3) uint8, keypoints (K, 2), peak heights (K,), centre, scale.
    """
    rng = np.random.default_rng(seed)
    gx, gy = np.meshgrid(np.arange(4), np.arange(4))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1) * spacing  # 4 x 4 dots, row-major
    keypoints = grid - grid.mean(axis=0) + [width / 2, height / 2] + rng.uniform(-5, 5, (K, 2))
    peaks = 60.0 + 8.0 * np.arange(K)  # <= 180, so x1.4 colour scaling does not clip
    yy, xx = np.mgrid[0:height, 0:width]
    img = np.zeros((height, width))
    for (x, y), a in zip(keypoints, peaks):
        img += a * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))
    image = np.repeat(np.round(img).astype(np.uint8)[:, :, None], 3, axis=2)
    return image, keypoints, peaks, np.array([width / 2, height / 2]), 1.2


def intensity(sample: Sample, config: PipelineConfig) -> np.ndarray:
    """(H, W) de-normalised intensity summed over RGB (0 on the black background)."""
    mean = np.asarray(config.mean).reshape(3, 1, 1)
    std = np.asarray(config.std).reshape(3, 1, 1)
    return (sample.image.numpy() * std + mean).sum(axis=0)


def dot_at(img: np.ndarray, x: float, y: float, radius: int = 8) -> tuple[np.ndarray, float] | None:
    """Centroid (x, y) and mass of the dot in the window around (x, y); None near the border."""
    h, w = img.shape
    i, j = int(round(x)), int(round(y))
    if not (radius <= i < w - radius and radius <= j < h - radius):
        return None
    win = img[j - radius : j + radius + 1, i - radius : i + radius + 1]
    gy, gx = np.mgrid[j - radius : j + radius + 1, i - radius : i + radius + 1]
    mass = win.sum()
    return np.array([(win * gx).sum() / mass, (win * gy).sum() / mass]), mass


def annotation(path, keypoints, center, scale, spec=MPII) -> Annotation:
    k = spec.num_keypoints
    return Annotation(
        image=Path(path),
        keypoints=np.asarray(keypoints, dtype=np.float64),
        labelled=np.ones(k, bool),
        visible=np.ones(k, bool),
        center=np.asarray(center, dtype=np.float64),
        scale=float(scale),
        spec=spec,
        source=f"{path}:1",
    )


def assert_same_geometry(a: Sample, b: Sample) -> None:
    for name in ("heatmaps", "target_weight", "coords", "coords_normalized", "coord_weight", "labelled"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    np.testing.assert_array_equal(a.matrix, b.matrix)
    assert (a.scale, a.rotation, a.flip) == (b.scale, b.rotation, b.flip)


# --- THE drawn-sample check -------------------------------------------------------------------
def test_drawn_sample_keypoints_land_on_their_dots(tmp_path):
    """Output keypoint k sits on the dot of input keypoint flip_index[k] (flipped) or k, to 0.1 px."""
    image, keypoints, peaks, center, scale = dot_scene()
    config = PipelineConfig(**FULL_GEOMETRY)
    pipeline = TopDownPipeline(config, MPII)
    flips, samples = set(), []
    for seed in range(8):
        s = pipeline(image, keypoints, np.ones(K, bool), center, scale, np.random.default_rng(seed))
        samples.append(s)
        flips.add(s.flip)
        assert s.rotation != 0.0
        img = intensity(s, config)
        source = np.asarray(MPII.flip_index) if s.flip else np.arange(K)
        # Heatmap peaks (DARK) in input pixels, through the heatmap and input crop matrices.
        heat_to_input = compose_affine(
            s.matrix, invert_affine(crop_matrix(s.center, s.scale, config.heatmap_size, s.rotation, s.flip))
        )
        peak, _ = decode_heatmaps(s.heatmaps.numpy(), "dark", blur_sigma=config.sigma)
        peak_input = transform_points(peak.astype(np.float64), heat_to_input)
        found, masses, expected = 0, [], []
        for k in range(K):
            x, y = s.coords[k].tolist()
            measured = dot_at(img, x, y)
            if measured is None:
                continue
            centroid, mass = measured
            assert np.abs(centroid - [x, y]).max() < 0.1, (seed, k, centroid, (x, y))
            hx, hy = s.coords_normalized[k].tolist()
            hx, hy = hx * 64 - 0.5, hy * 64 - 0.5  # heatmap pixels
            if 7 <= hx <= 56 and 7 <= hy <= 56:  # DARK's blur is biased at the map border
                assert np.abs(peak_input[k] - centroid).max() < 0.1, (seed, k, peak_input[k], centroid)
            masses.append(mass)
            expected.append(peaks[source[k]])
            found += 1
        assert found >= 12
        # Identity: dot masses scale with their peak heights (the colour gain is common to all).
        estimate = np.array(masses) * np.sum(expected) / np.sum(masses)
        np.testing.assert_allclose(estimate, expected, atol=4.0)  # peaks are 8 apart
    assert flips == {True, False}

    out = save_sample_grid(samples[:4], MPII, tmp_path / "grid.png")
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    grid = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert grid is not None and grid.shape[0] > 400 and grid.std() > 0


def test_noise_and_dropout_change_pixels_not_geometry():
    image, keypoints, _, center, scale = dot_scene()
    plain = TopDownPipeline(PipelineConfig(**NO_PHOTO), MPII)
    noisy = TopDownPipeline(PipelineConfig(**{**NO_PHOTO, "noise_prob": 1.0, "dropout_prob": 1.0}), MPII)
    a = plain(image, keypoints, np.ones(K, bool), center, scale, np.random.default_rng(3))
    b = noisy(image, keypoints, np.ones(K, bool), center, scale, np.random.default_rng(3))
    assert_same_geometry(a, b)
    assert not torch.equal(a.image, b.image)
    raw = (b.image.numpy() * np.reshape(noisy.config.std, (3, 1, 1)) + np.reshape(noisy.config.mean, (3, 1, 1))) * 255
    np.testing.assert_allclose(raw, np.round(raw), atol=1e-3)  # uint8 until normalisation


# --- determinism, eval mode --------------------------------------------------------------------
def test_same_seed_same_sample_and_different_seed_differs():
    image, keypoints, _, center, scale = dot_scene()
    pipeline = TopDownPipeline(PipelineConfig(noise_prob=0.5, dropout_prob=0.5), MPII)
    args = (image, keypoints, np.ones(K, bool), center, scale)
    a, b = pipeline(*args, np.random.default_rng(11)), pipeline(*args, np.random.default_rng(11))
    assert_same_geometry(a, b)
    assert torch.equal(a.image, b.image)
    c = pipeline(*args, np.random.default_rng(12))
    assert not torch.equal(a.image, c.image) and not torch.equal(a.heatmaps, c.heatmaps)


def test_eval_mode_is_the_plain_crop():
    image, keypoints, _, center, scale = dot_scene()
    config = PipelineConfig(train=False)
    pipeline = TopDownPipeline(config, MPII)
    rng = np.random.default_rng(5)
    a = pipeline(image, keypoints, np.ones(K, bool), center, scale, rng)
    b = pipeline(image, keypoints, np.ones(K, bool), center, scale, np.random.default_rng(99))
    assert_same_geometry(a, b)
    assert torch.equal(a.image, b.image)
    assert (a.scale, a.rotation, a.flip) == (scale, 0.0, False)
    np.testing.assert_array_equal(a.matrix, crop_matrix(center, scale, (256, 256)))
    crop = warp_image(image, a.matrix, (256, 256)).astype(np.float64) / 255
    expected = (crop.transpose(2, 0, 1) - np.reshape(config.mean, (3, 1, 1))) / np.reshape(config.std, (3, 1, 1))
    np.testing.assert_allclose(a.image.numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(a.coords.numpy(), transform_points(keypoints, a.matrix), atol=1e-4)


# --- targets -----------------------------------------------------------------------------------
def test_keypoints_outside_the_crop_or_unlabelled_get_weight_zero():
    image, keypoints, _, center, scale = dot_scene()
    keypoints = keypoints.copy()
    keypoints[2] = (-400.0, 50.0)  # far outside the crop
    keypoints[9] = np.nan  # not labelled
    labelled = np.ones(K, bool)
    labelled[9] = False
    pipeline = TopDownPipeline(PipelineConfig(train=False), MPII)
    s = pipeline(image, keypoints, labelled, center, scale, np.random.default_rng(0))
    assert s.target_weight[2] == 0 and s.coord_weight[2] == 0 and s.heatmaps[2].abs().max() == 0
    assert s.coords[2, 0] < 0 and bool(s.labelled[2])
    assert s.target_weight[9] == 0 and s.coord_weight[9] == 0 and not bool(s.labelled[9])
    assert torch.isfinite(s.coords).all() and torch.isfinite(s.coords_normalized).all()
    assert s.target_weight.sum() == K - 2


def test_regression_targets_agree_with_heatmap_targets():
    image, keypoints, _, center, scale = dot_scene()
    config = PipelineConfig()
    pipeline = TopDownPipeline(config, MPII)
    seen_flip = set()
    for seed in range(6):
        s = pipeline(image, keypoints, np.ones(K, bool), center, scale, np.random.default_rng(seed))
        assert torch.equal(s.coord_weight, s.target_weight)
        heat = transform_points(keypoints, crop_matrix(s.center, s.scale, (64, 64), s.rotation, s.flip))
        if s.flip:
            heat = heat[list(MPII.flip_index)]
        from_regression = from_normalized(s.coords_normalized.double().numpy(), (64, 64))
        np.testing.assert_allclose(from_regression, heat, atol=1e-4)
        decoded, _ = decode_heatmaps(s.heatmaps.numpy(), "dark", blur_sigma=config.sigma)
        interior = ((heat > 7) & (heat < 56)).all(axis=1)
        np.testing.assert_allclose(decoded[interior], heat[interior], atol=0.02)
        # The metadata maps back to the image: through the matrix, or heatmap_to_image unflipped.
        source = keypoints[list(MPII.flip_index)] if s.flip else keypoints
        back = transform_points(s.coords.double().numpy(), invert_affine(s.matrix))
        np.testing.assert_allclose(back, source, atol=1e-3)
        if not s.flip:
            image_xy = heatmap_to_image(decoded.astype(np.float64), s.center, s.scale, (64, 64), s.rotation)
            np.testing.assert_allclose(image_xy[interior], keypoints[interior], atol=0.02 * 200 * s.scale / 64)
        seen_flip.add(s.flip)
    assert seen_flip == {True, False}


def test_flip_swaps_left_and_right():
    image, keypoints, _, center, scale = dot_scene()
    fixed = dict(scale_factor=(1.0, 1.0), rotation_prob=0.0, **NO_PHOTO)
    args = (image, keypoints, np.ones(K, bool), center, scale, np.random.default_rng(0))
    plain = TopDownPipeline(PipelineConfig(flip_prob=0.0, **fixed), MPII)(*args)
    args = args[:-1] + (np.random.default_rng(0),)
    flipped = TopDownPipeline(PipelineConfig(flip_prob=1.0, **fixed), MPII)(*args)
    assert flipped.flip and not plain.flip
    left, right = MPII.index("l_wrist"), MPII.index("r_wrist")
    # The mirrored left wrist is the flipped sample's right wrist.
    np.testing.assert_allclose(flipped.coords[right, 0], 255 - plain.coords[left, 0], atol=1e-4)
    np.testing.assert_allclose(flipped.coords[right, 1], plain.coords[left, 1], atol=1e-4)
    perm = list(MPII.flip_index)
    np.testing.assert_allclose(flipped.coords[:, 0], 255 - plain.coords[perm, 0], atol=1e-4)
    np.testing.assert_allclose(flip_heatmaps(flipped.heatmaps.numpy(), MPII), plain.heatmaps.numpy(), atol=1e-6)
    np.testing.assert_allclose(flipped.image.flip(-1).numpy(), plain.image.numpy(), atol=0.04)  # 2 grey levels


# --- loading: reduced decode, cache, dataset ----------------------------------------------------
@pytest.mark.parametrize("reduce", [2, 4])
def test_reduced_png_decode_follows_reduction_matrix(tmp_path, reduce):
    """A linear ramp read at 1/r equals the ramp at x_orig = r x_red + (r - 1) / 2, to rounding."""
    yy, xx = np.mgrid[0:48, 0:100]
    ramp = 2.0 * xx + yy
    path = tmp_path / "ramp.png"
    cv2.imwrite(str(path), np.repeat(ramp.astype(np.uint8)[:, :, None], 3, axis=2))
    reduced = read_image(path, reduce=reduce)[:, :, 0].astype(np.float64)
    h, w = reduced.shape
    gy, gx = np.mgrid[0:h, 0:w]
    orig = transform_points(np.stack([gx, gy], axis=-1).astype(np.float64), invert_affine(reduction_matrix(reduce)))
    np.testing.assert_allclose(reduced, 2.0 * orig[..., 0] + orig[..., 1], atol=1.0)


@pytest.mark.parametrize("reduce", [2, 4])
def test_reduced_jpeg_decode_keeps_dot_centroids(tmp_path, reduce):
    """libjpeg's DCT downscaling is close to a box filter: dot centroids move < 0.15 px."""
    image, keypoints, *_ = dot_scene(width=640, height=480, sigma=6.0, spacing=100.0)
    path = tmp_path / "dots.jpg"
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    reduced = read_image(path, reduce=reduce).astype(np.float64).sum(axis=2)
    expected = transform_points(keypoints, reduction_matrix(reduce))
    errors = []
    for x, y in expected:
        centroid, _ = dot_at(reduced, x, y, radius=int(np.ceil(24 / reduce)))
        errors.append((centroid - [x, y]) * reduce)  # in original pixels
    errors = np.abs(np.array(errors))
    assert errors.max() < 0.15 and errors.mean() < 0.03, errors


def dot_dataset(tmp_path, name="dots.jpg", shift=0.0, textured=False, **kwargs):
    image, keypoints, peaks, center, scale = dot_scene(width=1200, height=900, sigma=6.0, spacing=110.0)
    if textured:  # a background that differs from the black a crop gets beyond the cache region
        yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
        image = np.maximum(image, (40 + 30 * np.sin(xx / 23.0) + 30 * np.cos(yy / 17.0))[..., None].astype(np.uint8))
    path = tmp_path / name
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    records = AnnotationSet([annotation(path, keypoints, center, 3.2)], MPII, "dots")
    config = PipelineConfig(rotation_prob=1.0, shift=shift, **NO_PHOTO)
    return KeypointDataset(records, TopDownPipeline(config, MPII), progress=False, **kwargs), config


@pytest.mark.parametrize("name", ["dots.jpg", "dots.png"])  # PNG: decoded whole, then r x r block means
def test_dataset_reduced_decode_composes_into_the_warp(tmp_path, name, monkeypatch):
    import hourglass.data.dataset as dataset_module

    reads = []
    real_read = dataset_module.read_image

    def recording_read(path, reduce=1, **kw):
        reads.append(reduce)
        return real_read(path, reduce=reduce, **kw)

    monkeypatch.setattr(dataset_module, "read_image", recording_read)
    reduced, config = dot_dataset(tmp_path, name=name, reduced_decode=True)
    full, _ = dot_dataset(tmp_path, name=name, reduced_decode=False)
    used = set()
    for epoch in range(4):
        reduced.set_epoch(epoch)
        full.set_epoch(epoch)
        a, b = reduced[0], full[0]
        assert_same_geometry(a, b)
        used.add(reduce_factor(a.scale, config.input_size))
        img = intensity(a, config)
        for k in range(K):
            measured = dot_at(img, *a.coords[k].tolist())
            if measured is not None:
                assert np.abs(measured[0] - a.coords[k].numpy()).max() < 0.1, (epoch, k)
    assert 2 in used and 2 in reads  # the dataset did read the image reduced


def test_shifted_crops_move_the_frame_not_the_keypoints():
    """A crop shift moves the crop centre by shift x crop side; keypoints still land on their dots;
    without shift, a seed draws exactly what it drew before the option existed."""
    image, keypoints, _, center, scale = dot_scene()
    plain = TopDownPipeline(PipelineConfig(**FULL_GEOMETRY), MPII)
    shifted = TopDownPipeline(PipelineConfig(shift=0.25, **FULL_GEOMETRY), MPII)
    for seed in range(6):
        a, b = plain.draw(np.random.default_rng(seed)), shifted.draw(np.random.default_rng(seed))
        assert a.shift == (0.0, 0.0) and 0 < max(abs(v) for v in b.shift) <= 0.25
        assert (a.scale_factor, a.rotation, a.flip, a.seed) == (b.scale_factor, b.rotation, b.flip, b.seed)
        s = shifted(image, keypoints, np.ones(K, bool), center, scale, np.random.default_rng(seed))
        side = 200 * s.scale
        np.testing.assert_allclose(s.center, center + np.array(b.shift) * side, atol=1e-9)
        img = intensity(s, shifted.config)
        found = 0
        for k in range(K):
            measured = dot_at(img, *s.coords[k].tolist())
            if measured is not None:
                assert np.abs(measured[0] - s.coords[k].numpy()).max() < 0.1, (seed, k)
                found += 1
        assert found >= 8
    with pytest.raises(ValueError, match="shift must be in"):
        PipelineConfig(shift=0.6)
    assert PipelineConfig(shift=0.3, train=False).max_shift == 0.0


def test_cache_holds_shifted_crops(tmp_path):
    """The cache crop grows by the shift: cached and uncached shifted samples agree."""
    cached, config = dot_dataset(tmp_path, shift=0.3, textured=True, cache_dir=tmp_path / "cache")
    plain, _ = dot_dataset(tmp_path, shift=0.3, textured=True)
    for epoch in range(8):
        cached.set_epoch(epoch)
        plain.set_epoch(epoch)
        a, b = cached[0], plain[0]
        assert_same_geometry(a, b)
        assert (a.image - b.image).abs().mean() < 0.03
    c = config
    args = (plain.annotations[0].center, 3.2, c.input_size, c.min_scale_factor, c.max_scale_factor, c.max_rotation)
    assert cache_geometry(*args, 0.3)[1] > cache_geometry(*args)[1]


def test_cache_matches_the_uncached_sample_and_follows_the_source(tmp_path):
    cached, config = dot_dataset(tmp_path, cache_dir=tmp_path / "cache")
    plain, _ = dot_dataset(tmp_path)
    files = sorted(p.suffix for p in (tmp_path / "cache").iterdir())
    assert files == [".jpg", ".json"]
    c = config
    _, size = cache_geometry(
        plain.annotations[0].center, 3.2, c.input_size, c.min_scale_factor, c.max_scale_factor, c.max_rotation
    )
    assert size <= 2.4 * 256
    again, _ = dot_dataset(tmp_path, cache_dir=tmp_path / "cache")  # rewrites the same source
    for epoch in range(3):
        cached.set_epoch(epoch)
        plain.set_epoch(epoch)
        a, b = cached[0], plain[0]
        assert_same_geometry(a, b)
        assert (a.image - b.image).abs().mean() < 0.03  # JPEG tolerance, normalised units
        img = intensity(a, config)
        for k in range(K):
            measured = dot_at(img, *a.coords[k].tolist())
            if measured is not None:
                assert np.abs(measured[0] - a.coords[k].numpy()).max() < 0.1, (epoch, k)
    assert again.build_cache(progress=False) == 0

    # Replace the source image: the cached crop is rebuilt on the next read.
    source = cached.annotations[0].image
    before = cached[0].image
    bright = np.minimum(cv2.imread(str(source)).astype(np.int32) * 2, 255).astype(np.uint8)
    cv2.imwrite(str(source), bright, [cv2.IMWRITE_JPEG_QUALITY, 95])
    st = os.stat(source)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    after, fresh = cached[0], plain[0]
    assert not torch.equal(before, after.image)
    assert (after.image - fresh.image).abs().mean() < 0.03
    meta = json.loads(next((tmp_path / "cache").glob("*.json")).read_text())
    assert meta["source_mtime_ns"] == os.stat(source).st_mtime_ns

    # A source deleted after caching is an error naming the record's image, not a stale crop.
    source.unlink()
    with pytest.raises(FileNotFoundError, match=r"dots\.jpg does not exist; check the dataset root"):
        cached[0]


def test_dataset_is_reproducible_per_epoch_and_picklable(tmp_path):
    image, keypoints, _, center, scale = dot_scene()
    path = tmp_path / "dots.png"
    cv2.imwrite(str(path), image)
    records = AnnotationSet([annotation(path, keypoints, center, scale)] * 2, MPII, "dots")
    pipeline = TopDownPipeline(PipelineConfig(noise_prob=0.5), MPII)
    ds = KeypointDataset(records, pipeline, seed=7)
    a = ds[1]
    copy = pickle.loads(pickle.dumps(ds))  # what a spawned DataLoader worker gets
    assert torch.equal(copy[1].image, a.image)
    assert torch.equal(KeypointDataset(records, pipeline, seed=7)[1].image, a.image)  # a fresh worker
    assert not torch.equal(ds[0].image, a.image)  # same subject, different index
    ds.set_epoch(1)
    b = ds[1]
    assert not torch.equal(b.image, a.image)
    # (epoch, i) pairs name the epoch themselves (what persistent DataLoader workers receive)
    assert torch.equal(ds[(0, 1)].image, a.image) and torch.equal(copy[(1, 1)].image, b.image)
    ds.set_epoch(0)
    assert torch.equal(ds[-1].image, a.image) and torch.equal(ds[(1, -1)].image, b.image)
    for bad, message in (((1, 2, 3), "must be a subject number or an"), ((-1, 0), "the epoch must be non-negative"),
                         ((0, 2), "out of range")):  # fmt: skip
        with pytest.raises(IndexError, match=message):
            ds[bad]
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert isinstance(batch, Sample) and batch.image.shape == (2, 3, 256, 256) and batch.matrix.shape == (2, 2, 3)


# --- errors ------------------------------------------------------------------------------------
def test_bad_pipeline_inputs_are_rejected(tmp_path):
    image, keypoints, _, center, scale = dot_scene()
    pipeline = TopDownPipeline(PipelineConfig(), MPII)
    ok = np.ones(K, bool)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"keypoints must have shape \(16, 2\)"):
        pipeline(image, keypoints[:14], ok, center, scale, rng)
    with pytest.raises(ValueError, match=r"keypoints must have shape"):
        pipeline(image, keypoints.T, ok, center, scale, rng)
    with pytest.raises(TypeError, match="uint8"):
        pipeline(image.astype(np.float32), keypoints, ok, center, scale, rng)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        pipeline(image[:, :, 0], keypoints, ok, center, scale, rng)
    with pytest.raises(TypeError, match="bool"):
        pipeline(image, keypoints, ok.astype(int), center, scale, rng)
    nan = keypoints.copy()
    nan[4] = np.nan
    with pytest.raises(ValueError, match=r"\[4\]"):
        pipeline(image, nan, ok, center, scale, rng)
    with pytest.raises(ValueError, match="scale"):
        pipeline(image, keypoints, ok, center, -1.0, rng)
    with pytest.raises(TypeError, match="Generator"):
        pipeline(image, keypoints, ok, center, scale, 0)
    with pytest.raises(TypeError, match="Augmentation"):
        pipeline.apply(image, keypoints, ok, center, scale, None)
    with pytest.raises(ValueError, match="spec"):
        KeypointDataset(AnnotationSet([], LSP, "lsp"), pipeline)
    records = AnnotationSet([annotation(tmp_path / "missing.jpg", keypoints, center, scale)], MPII, "x")
    with pytest.raises(ValueError, match="seed"):
        KeypointDataset(records, pipeline, seed=-1)
    ds = KeypointDataset(records, pipeline)
    with pytest.raises(IndexError, match="out of range"):
        ds[1]
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        ds[0]
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        KeypointDataset(records, pipeline, cache_dir=tmp_path / "cache", progress=False)
    with pytest.raises(ValueError, match="reduce"):
        reduction_matrix(3)
    assert Augmentation() == Augmentation(1.0, 0.0, False, None)


def test_partial_views_zoom_in_and_out_of_view_keypoints_are_learnt_absent():
    """A partial view replaces scale and shift (rotation, flip and photometric seed as drawn
    before); with absent targets a labelled keypoint out of view keeps weight 1 with an all-zero
    map (the coordinate weight stays 0); without, it has weight 0. No partial views: the same
    draws as before the option existed."""
    image, keypoints, _, center, scale = dot_scene()
    labelled = np.ones(K, bool)
    plain = TopDownPipeline(PipelineConfig(**FULL_GEOMETRY), MPII)
    assert [plain.draw(np.random.default_rng(s)) for s in range(5)] == [
        TopDownPipeline(PipelineConfig(partial_prob=0.0, **FULL_GEOMETRY), MPII).draw(np.random.default_rng(s))
        for s in range(5)
    ]
    partial = TopDownPipeline(PipelineConfig(partial_prob=0.5, absent_targets=True, **FULL_GEOMETRY), MPII)
    views = out_of_view = 0
    for seed in range(40):
        a, b = plain.draw(np.random.default_rng(seed)), partial.draw(np.random.default_rng(seed))
        assert (a.rotation, a.flip, a.seed) == (b.rotation, b.flip, b.seed)
        if b.scale_factor != a.scale_factor:
            views += 1
            assert 0.35 <= b.scale_factor <= 0.7 and max(abs(v) for v in b.shift) <= 0.35
        else:
            assert b.shift == a.shift == (0.0, 0.0)
        s = partial.apply(image, keypoints, labelled, center, scale, b)
        inside = s.coord_weight.numpy() > 0
        assert (s.target_weight.numpy() == 1).all()
        assert (s.heatmaps.numpy()[~inside] == 0).all() and (s.heatmaps.numpy()[inside].max(axis=(1, 2)) > 0.5).all()
        old = TopDownPipeline(PipelineConfig(partial_prob=0.5, **FULL_GEOMETRY), MPII).apply(
            image, keypoints, labelled, center, scale, b
        )
        np.testing.assert_array_equal(old.target_weight.numpy(), inside.astype(np.float32))
        out_of_view += int((~inside).sum())
    assert 10 <= views <= 30 and out_of_view > 40
    c = PipelineConfig(partial_prob=0.1, scale_factor=(0.75, 1.25), shift=0.1)
    assert (c.min_scale_factor, c.max_scale_factor, c.max_shift) == (0.35, 1.25, 0.35)  # the cache holds them


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("partial_shift", 0.6, "partial_shift must be in"),
        ("partial_scale", (0.7, 0.3), "partial_scale must be"),
        ("partial_prob", 1.5, "partial_prob must be in"),
        ("absent_targets", 1, "absent_targets must be True or False"),
    ],
)
def test_partial_view_settings_are_checked(field, value, match):
    with pytest.raises(ValueError, match=match):
        PipelineConfig(**{field: value})
