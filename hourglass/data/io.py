"""Reading images robustly: every failure names the file and says what is wrong.

:func:`read_image` always returns an 8-bit RGB array (H, W, 3). Other layouts are converted
explicitly, never guessed: grayscale is replicated to three channels, an alpha channel is
dropped (composited onto black would change colours; a photo's alpha is almost always
opaque), and 16-bit images are scaled to 8 bits by their full range (value / 257), not
truncated. EXIF orientation tags are ignored by default: the array is the stored pixel grid,
whatever ``reduce`` is (annotations refer to it); ``orient=True`` applies them (inference on
phone photos). A missing file raises ``FileNotFoundError``; a file
that is not an image, or a JPEG or PNG whose end is missing (a truncated download), raises
:class:`DataError`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hourglass.data.records import DataError

__all__ = ["read_image", "check_image_bytes"]

_JPEG_SOI = b"\xff\xd8"
_JPEG_EOI = b"\xff\xd9"
_JPEG_SOS = b"\xff\xda"
_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def check_image_bytes(data: bytes, path: Path | str) -> None:
    """Raise :class:`DataError` when JPEG/PNG bytes are visibly truncated or empty."""
    if not data:
        raise DataError(f"{path}: the file is empty; re-download or re-extract it")
    if data.startswith(_JPEG_SOI):
        # A complete JPEG has an end-of-image marker after its last start-of-scan. Phones and
        # editors may append data after the EOI, so the marker need not be the last bytes.
        last_scan = data.rfind(_JPEG_SOS)
        if last_scan < 0 or data.rfind(_JPEG_EOI) < last_scan:
            raise DataError(f"{path}: truncated JPEG (no end-of-image marker); re-download or re-extract it")
    elif data.startswith(_PNG_SIG):
        if b"IEND" not in data[-32:]:
            raise DataError(f"{path}: truncated PNG (no IEND chunk); re-download or re-extract it")


def read_image(path: str | Path, *, reduce: int = 1, orient: bool = False) -> np.ndarray:
    """Read an image file as uint8 RGB (H, W, 3).

    Args:
        path: image file (any format OpenCV reads: JPEG, PNG, BMP, TIFF, ...).
        reduce: 1, 2, 4 or 8; decode at 1/reduce resolution (fast for JPEG, which decodes
            at reduced size natively). The caller must scale coordinates by the factor.
        orient: apply the EXIF orientation tag (a phone's portrait photo comes out upright).
            Off by default: dataset annotations refer to the stored pixels, which is what
            ``orient=False`` returns. Only with ``reduce=1``.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is empty, truncated or not an image.
    """
    import cv2

    path = Path(path)
    if reduce not in (1, 2, 4, 8):
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce}")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"image file {path} does not exist; check the dataset root and layout") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror})") from None
    check_image_bytes(data, path)
    buf = np.frombuffer(data, np.uint8)
    if orient and reduce != 1:
        raise ValueError("orient=True needs reduce=1")
    if orient:
        img = cv2.imdecode(buf, cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)  # IMREAD_COLOR applies EXIF orientation
    elif reduce == 1 or not data.startswith(_JPEG_SOI):
        img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    else:
        flag = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4, 8: cv2.IMREAD_REDUCED_COLOR_8}[reduce]
        # Same pixels as reduce=1: keep 16 bits for the rounding below (cv2 would truncate them)
        # and ignore EXIF orientation as IMREAD_UNCHANGED does (cv2 would rotate reduced decodes only).
        img = cv2.imdecode(buf, flag | cv2.IMREAD_ANYDEPTH | cv2.IMREAD_IGNORE_ORIENTATION)
    if img is not None and reduce > 1 and not data.startswith(_JPEG_SOI):
        # Other formats have no native reduced decode, and OpenCV's would round odd sizes down
        # inexactly. Average exact r x r blocks instead, so x_orig = r * x_red + (r - 1) / 2 holds.
        h, w = (img.shape[0] // reduce) * reduce, (img.shape[1] // reduce) * reduce
        if h == 0 or w == 0:
            raise DataError(f"{path}: image of {img.shape[1]}x{img.shape[0]} px is too small to reduce by {reduce}")
        img = cv2.resize(img[:h, :w], (w // reduce, h // reduce), interpolation=cv2.INTER_AREA)
    if img is None or img.size == 0:
        raise DataError(f"{path}: not a readable image (unknown format or corrupt data)")
    if img.dtype == np.uint16:
        img = ((img.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise DataError(f"{path}: unsupported pixel type {img.dtype}; convert the image to 8 or 16 bits")
    # cv2.cvtColor is ~100x faster than a reversed-stride copy on a full photo.
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)  # alpha dropped
    if img.shape[2] != 3:
        raise DataError(f"{path}: unsupported channel count {img.shape[2]}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
