"""read_image: uint8 RGB out, or an error naming the file."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest

from hourglass.data.io import read_image
from hourglass.data.records import DataError


def _write(path, image, ext=None):
    ok, buf = cv2.imencode(ext or path.suffix, image)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


@pytest.fixture
def photo():
    """A smooth BGR test image (JPEG-friendly), 37 x 50 (H x W)."""
    y, x = np.mgrid[0:37, 0:50]
    return np.stack([x * 5, y * 6, (x + y) * 3], axis=-1).astype(np.uint8)


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "nope.jpg"
    with pytest.raises(FileNotFoundError, match="nope.jpg"):
        read_image(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.jpg.*empty"):
        read_image(path)


def test_text_file_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("this is not an image\n")
    with pytest.raises(DataError, match=r"notes\.jpg.*not a readable image"):
        read_image(path)


def test_truncated_jpeg(tmp_path, photo):
    ok, buf = cv2.imencode(".jpg", photo)
    data = buf.tobytes()
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.jpg.*truncated JPEG"):
        read_image(path)


def test_truncated_png(tmp_path, photo):
    ok, buf = cv2.imencode(".png", photo)
    data = buf.tobytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.png.*truncated PNG"):
        read_image(path)


@pytest.mark.parametrize("ext", [".jpg", ".png"])
def test_grayscale_becomes_three_equal_channels(tmp_path, photo, ext):
    gray = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    img = read_image(_write(tmp_path / f"gray{ext}", gray))
    assert img.shape == (37, 50, 3) and img.dtype == np.uint8
    np.testing.assert_array_equal(img[..., 0], img[..., 1])
    np.testing.assert_array_equal(img[..., 0], img[..., 2])
    if ext == ".png":  # lossless: exact values
        np.testing.assert_array_equal(img[..., 0], gray)


def test_rgba_png_drops_alpha_keeps_rgb(tmp_path, photo):
    alpha = np.full(photo.shape[:2], 17, np.uint8)
    img = read_image(_write(tmp_path / "rgba.png", np.dstack([photo, alpha])))
    assert img.shape == (37, 50, 3)
    np.testing.assert_array_equal(img, photo[..., ::-1])


def test_16bit_png_scaled_by_257_not_truncated(tmp_path):
    values = np.array([0, 128, 129, 200, 257, 2770, 65278, 65535], np.uint16)
    expected = np.array([0, 0, 1, 1, 1, 11, 254, 255], np.uint8)  # round(v / 257)
    # v >> 8 would give [0, 0, 0, 0, 1, 10, ...] and v & 255 [0, 128, 129, 200, 1, 210, ...].
    bgr = np.stack([values, values[::-1], np.roll(values, 1)], axis=-1)[None]  # (1, 8, 3) B, G, R
    img = read_image(_write(tmp_path / "deep.png", bgr))
    assert img.dtype == np.uint8 and img.shape == (1, 8, 3)
    np.testing.assert_array_equal(img[0, :, 0], np.roll(expected, 1))  # R
    np.testing.assert_array_equal(img[0, :, 1], expected[::-1])  # G
    np.testing.assert_array_equal(img[0, :, 2], expected)  # B
    gray = read_image(_write(tmp_path / "deep_gray.png", values[None]))
    np.testing.assert_array_equal(gray[0], np.repeat(expected[:, None], 3, axis=1))
    # The reduced decode rounds the same way (2x2 blocks of one value reduce exactly).
    block = np.repeat(np.repeat(values[None], 2, axis=0), 2, axis=1)  # (2, 16)
    small = read_image(_write(tmp_path / "deep_block.png", block), reduce=2)
    assert small.shape == (1, 8, 3)
    np.testing.assert_array_equal(small[0, :, 0], expected)


def test_bgr_to_rgb(tmp_path):
    red_bgr = np.zeros((4, 6, 3), np.uint8)
    red_bgr[..., 2] = 255
    for ext in (".png", ".jpg"):
        img = read_image(_write(tmp_path / f"red{ext}", red_bgr))
        np.testing.assert_allclose(img[0, 0], (255, 0, 0), atol=2)
    np.testing.assert_array_equal(read_image(tmp_path / "red.png")[0, 0], (255, 0, 0))


@pytest.mark.parametrize("reduce", [1, 2, 4])
def test_reduce_shape(tmp_path, reduce):
    img = np.zeros((64, 96, 3), np.uint8)
    path = _write(tmp_path / "big.jpg", img)
    assert read_image(path, reduce=reduce).shape == (64 // reduce, 96 // reduce, 3)


def test_reduce_rejects_other_factors(tmp_path, photo):
    with pytest.raises(ValueError, match="reduce must be"):
        read_image(_write(tmp_path / "a.jpg", photo), reduce=3)


def test_exif_orientation_ignored_at_every_reduce(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    rgb = np.zeros((20, 40, 3), np.uint8)
    rgb[:, :10] = 255  # white left quarter of a landscape image
    im = pil.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=exif.tobytes())
    path = tmp_path / "rotated.jpg"
    path.write_bytes(buf.getvalue())
    full = read_image(path)
    half = read_image(path, reduce=2)
    assert full.shape == (20, 40, 3)  # the stored grid, not the displayed (40, 20)
    assert half.shape == (10, 20, 3)
    assert half[:, :4].mean() > 200 and half[:, 6:].mean() < 50  # same content, same orientation


def test_jpeg_with_data_after_the_end_marker_reads(tmp_path, photo):
    # Phones and editors append trailers after the EOI marker; that is not truncation.
    ok, buf = cv2.imencode(".jpg", photo)
    path = tmp_path / "trailer.jpg"
    path.write_bytes(buf.tobytes() + b"\x00" * 100 + b"TRAILER" * 20)
    assert read_image(path).shape == photo.shape


def test_reduce_png_is_an_exact_block_average(tmp_path):
    # Odd sizes: the last row/column is dropped so the factor stays exactly 2.
    img = np.arange(7 * 5 * 3, dtype=np.uint8).reshape(7, 5, 3) * 2
    path = tmp_path / "odd.png"
    cv2.imwrite(str(path), img)
    out = read_image(path, reduce=2)
    assert out.shape == (3, 2, 3)
    rgb = img[:, :, ::-1].astype(np.float64)
    expected = rgb[:6, :4].reshape(3, 2, 2, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(out, expected, atol=0.5 + 1e-9)
