"""Parsing helpers for COCO-style annotation JSON, shared by the COCO and custom formats.

Used by :mod:`hourglass.data.coco`, :mod:`hourglass.data.coco_eval` and
:mod:`hourglass.data.custom`: reading the file and its top-level lists, the ``images`` table,
flat ``[x, y, v] * K`` keypoint lists, per-annotation problems (raise or skip and log), and the
:class:`~hourglass.data.records.Annotation` records built from the parsed arrays.

Visibility: ``v = 0`` not labelled (coordinates ignored, NaN in the record), ``v = 1``
labelled but not visible, ``v = 2`` labelled and visible.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.records import Annotation, DataError
from hourglass.keypoints import KeypointSpec

__all__ = [
    "read_json",
    "require_list",
    "check_on_error",
    "Problems",
    "numeric_rows",
    "parse_keypoints",
    "is_id",
    "plain_id",
    "image_table",
    "check_image_files",
    "area_problem",
    "image_size",
    "build_records",
]

logger = logging.getLogger("hourglass.data")

_VISIBILITY_HELP = "it must be 0 (not labelled), 1 (labelled, not visible) or 2 (labelled and visible)"


def read_json(path: Path) -> Any:
    """Parse a JSON file; errors name the file (and line and column for bad JSON)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"annotation file {path} does not exist; check the path") from None
    except IsADirectoryError:
        raise DataError(f"{path} is a directory; pass the annotation JSON file inside it") from None
    except json.JSONDecodeError as e:
        raise DataError(
            f"{path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg}); fix the file or re-download it"
        ) from None
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start}); is it really a JSON file?") from None


def require_list(data: Mapping[str, Any], key: str, path: Path) -> list:
    """``data[key]``, which must be a JSON list."""
    if key not in data:
        raise DataError(f"{path}: missing the top-level key {key!r} (keys present: {sorted(data)})")
    value = data[key]
    if not isinstance(value, list):
        raise DataError(f"{path}: {key!r} must be a list, got {type(value).__name__}")
    return value


def check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


class Problems:
    """Collects per-record problems: raises on the first with ``on_error="raise"``, else logs."""

    def __init__(self, on_error: str, path: Path) -> None:
        check_on_error(on_error)
        self.on_error = on_error
        self.path = path
        self.count = 0

    def __call__(self, where: str, reason: str) -> None:
        if self.on_error == "raise":
            raise DataError(f"{where}: {reason} (or load with on_error='skip' to leave such records out)")
        self.count += 1
        logger.warning("skipping %s: %s", where, reason)

    def report(self, total: int, what: str) -> None:
        if self.count:
            logger.warning("%s: skipped %d of %d %s (see the messages above)", self.path, self.count, total, what)


def numeric_rows(rows: Sequence[Any], length: int, what: str) -> tuple[np.ndarray, list[str | None]]:
    """Rows of JSON numbers -> (M, length) float64 array and a reason (or None) per row.

    ``null`` becomes NaN (callers decide where NaN is allowed). Vectorised for well-formed
    input; falls back to one row at a time only to name the bad row.
    """
    m = len(rows)
    out = np.full((m, length), np.nan)
    reasons: list[str | None] = [None] * m
    good = []
    for i, r in enumerate(rows):
        if not isinstance(r, (list, tuple)):
            reasons[i] = f"{what} must be a list of {length} numbers, got {type(r).__name__}"
        elif len(r) != length:
            reasons[i] = f"{what} has {len(r)} values, expected {length}"
        else:
            good.append(i)
    if good:
        try:
            out[good] = np.array([rows[i] for i in good], dtype=np.float64)
        except (TypeError, ValueError):
            for i in good:
                try:
                    out[i] = np.asarray(rows[i], dtype=np.float64)
                except (TypeError, ValueError):
                    reasons[i] = f"{what} contains a value that is not a number: {rows[i]!r}"
    return out, reasons


def parse_keypoints(rows: Sequence[Any], names: Sequence[str]) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
    """Flat ``[x, y, v] * K`` lists (M rows) -> keypoints, visibility, problems.

    Returns:
        xy (M, K, 2) float64 with NaN where ``v == 0``; v (M, K) int8 in {0, 1, 2}; and per row
        None or the reason it is malformed (wrong length, non-numeric, ``v`` not in {0, 1, 2},
        a labelled keypoint with a NaN/null/infinite coordinate). Rows with a problem have
        ``v = 0`` everywhere. Coordinates of ``v == 0`` keypoints are ignored (may be null).
    """
    k = len(names)
    flat, reasons = numeric_rows(rows, 3 * k, f"keypoints (K = {k} triplets [x, y, v])")
    arr = flat.reshape(len(rows), k, 3)
    v = arr[..., 2]
    bad_v = ~np.isin(v, (0.0, 1.0, 2.0))  # NaN is not in the set
    labelled = v > 0
    bad_xy = labelled & ~np.all(np.isfinite(arr[..., :2]), axis=-1)
    for i in np.flatnonzero(np.any(bad_v | bad_xy, axis=1)):
        if reasons[i] is not None:
            continue
        j = int(np.flatnonzero(bad_v[i] | bad_xy[i])[0])
        if bad_v[i, j]:
            reasons[i] = f"keypoint {j} ({names[j]!r}) has visibility {_number(v[i, j])}; {_VISIBILITY_HELP}"
        else:
            reasons[i] = (
                f"keypoint {j} ({names[j]!r}) is labelled (v = {int(v[i, j])}) but its coordinates are "
                f"({_number(arr[i, j, 0])}, {_number(arr[i, j, 1])}); give finite numbers or set v = 0"
            )
    bad_row = np.array([r is not None for r in reasons], dtype=bool)
    vis = np.where(bad_row[:, None] | bad_v, 0, v).astype(np.int8)
    xy = np.where((vis > 0)[..., None], arr[..., :2], np.nan)
    return xy, vis, reasons


def _number(x: float) -> str:
    return "NaN or null" if np.isnan(x) else repr(float(x))


def is_id(value: Any) -> bool:
    """A JSON id: an integer or a string (never a bool or a float)."""
    return isinstance(value, (int, str)) and not isinstance(value, bool)


def plain_id(value: Any) -> Any:
    """``value`` with numpy scalars (ids taken from arrays) turned into Python ones."""
    return value.item() if isinstance(value, np.generic) else value


def image_table(images: list, path: Path) -> dict[Any, dict]:
    """``images`` entries by id; duplicate or malformed entries always raise."""
    table: dict[Any, dict] = {}
    for i, img in enumerate(images):
        where = f"{path} images[{i}]"
        if not isinstance(img, dict):
            raise DataError(f"{where}: must be an object with 'id' and 'file_name', got {type(img).__name__}")
        for key in ("id", "file_name"):
            if key not in img:
                raise DataError(f"{where}: missing the key {key!r} (keys present: {sorted(img)})")
        if not is_id(img["id"]):
            raise DataError(f"{where}: id must be an integer or a string, got {img['id']!r}")
        if not isinstance(img["file_name"], str) or not img["file_name"]:
            raise DataError(f"{where}: file_name must be a non-empty string, got {img['file_name']!r}")
        for key in ("width", "height"):
            value = img.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
                raise DataError(f"{where}: {key} must be a positive integer, got {value!r}")
        if img["id"] in table:
            raise DataError(
                f"{where}: duplicate image id {img['id']!r} (also used by {table[img['id']]['file_name']!r}); "
                "image ids must be unique"
            )
        table[img["id"]] = img
    return table


def check_image_files(
    records: Iterable[tuple[int, Any]], images: Mapping[Any, dict], root: Path, where: Sequence[str], problems: Problems
) -> set[int]:
    """Indices (of ``(index, image_id)`` pairs) whose image file is missing or disagrees with its
    ``images`` entry, reported per annotation.

    Where the entry gives ``width`` and ``height``, the file's header must say the same size.
    A file whose EXIF orientation turns it by 90 degrees and whose upright size is the declared
    one was annotated upright, but the loaders read the stored pixels (as every pose toolkit
    does), so its keypoints would be rotated against the image: that is an error saying how to
    rotate the file. A header that cannot be read is left to the image reader.
    """
    bad: set[int] = set()
    why: dict[Any, str | None] = {}
    for i, image_id in records:
        if image_id not in why:
            why[image_id] = _image_file_problem(root / images[image_id]["file_name"], image_size(images[image_id]))
        if why[image_id] is not None:
            problems(where[i], why[image_id])
            bad.add(i)
    return bad


def _image_file_problem(path: Path, declared: tuple[int, int] | None) -> str | None:
    if not path.is_file():
        return (
            f"image file {path} does not exist; check image_root and file_name "
            "(or pass check_images=False to load annotations without the images)"
        )
    if declared is None:
        return None
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # only the header is read
            with Image.open(path) as im:
                size, orientation = im.size, im.getexif().get(0x0112, 1)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None  # unreadable here: the image reader names the file when the sample is loaded
    if size == declared:
        return None
    if orientation in (5, 6, 7, 8) and size[::-1] == declared:
        return (
            f"image file {path} is stored {size[0]}x{size[1]} with EXIF orientation {orientation} (turned by 90 "
            f"degrees), and its entry says {declared[0]}x{declared[1]}: it was annotated upright, but images are "
            "read as stored; rotate the file's pixels upright (e.g. exiftran -ai or mogrify -auto-orient)"
        )
    return (
        f"image file {path} is {size[0]}x{size[1]} but its entry says {declared[0]}x{declared[1]}; "
        "the annotations belong to another version of the image"
    )


def area_problem(area: Any) -> str | None:
    """Why an annotation's optional ``area`` is unusable, or None when it is absent or fine."""
    if area is None or (isinstance(area, (int, float)) and not isinstance(area, bool) and area >= 0):
        return None
    return f"area must be a non-negative number, got {area!r}"


def image_size(img: Mapping[str, Any]) -> tuple[int, int] | None:
    """(W, H) of an ``images`` entry, or None when it does not say."""
    if img.get("width") is None or img.get("height") is None:
        return None
    return int(img["width"]), int(img["height"])


def build_records(
    anns: list[dict[str, Any]],
    picks: list[int],
    images: dict[Any, dict[str, Any]],
    root: Path,
    keypoints: np.ndarray,
    vis: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    boxes: list[np.ndarray | None],
    spec: KeypointSpec,
    where: list[str],
    *,
    crowd_flag: bool,
) -> list[Annotation]:
    """One :class:`Annotation` per picked COCO-style annotation (shared with the custom format).

    ``picks`` (M,) are indices into ``anns``; ``keypoints`` (M, K, 2), ``vis`` (M, K) flags
    0/1/2, ``centers`` (M, 2), ``scales`` (M,) and ``boxes`` (M entries) are aligned with it.
    ``crowd_flag`` adds COCO's ``iscrowd`` to each record's ``extra``.
    """
    paths: dict[Any, Path] = {}  # one Path per image
    records = []
    for n, i in enumerate(picks):
        a = anns[i]
        img = images[a["image_id"]]
        path = paths.setdefault(a["image_id"], root / img["file_name"])
        extra = {"annotation_id": a.get("id"), "image_size": image_size(img)}
        if crowd_flag:
            extra["iscrowd"] = bool(a.get("iscrowd", 0))
        records.append(
            Annotation(
                image=path,
                keypoints=keypoints[n],
                labelled=vis[n] > 0,
                visible=vis[n] == 2,
                center=centers[n],
                scale=float(scales[n]),
                spec=spec,
                source=where[i],
                box=boxes[n],
                area=None if a.get("area") is None else float(a["area"]),
                image_id=a["image_id"],
                extra=extra,
            )
        )
    return records
