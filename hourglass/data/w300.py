"""300-W face landmarks: the ``.pts`` reader, the split loader and COCO-style face JSON.

Coordinates
-----------
300-W ``.pts`` files are 1-based (MATLAB style: the centre of the top-left pixel is (1, 1)).
:func:`read_pts` returns the file's numbers untouched; the loaders convert them once with
:func:`hourglass.geometry.from_one_based`, so every :class:`~hourglass.data.records.Annotation`
holds 0-based pixel-centre coordinates (see :mod:`hourglass.geometry`).

The COCO-style face JSON of :func:`load_face_coco_json` (MMPose's ``face_landmarks_300w``
conversion, via HRNet's 300-W tables) carries the ``.pts`` values unchanged: its ``bbox`` is
the landmark box grown 1.2x about its centre and its ``center``/``scale`` are the centre and
larger side / 200 of the landmark box rounded outwards to whole numbers, all computed from the
same numbers as the keypoints. We therefore read the JSON as 1-based too (``one_based=True``)
and shift keypoints, ``bbox`` corner and ``center`` by the same -1 (an assumption: no image of
the shared JSON sample has a ``.pts`` to compare with). Pass ``one_based=False`` for a JSON
already in 0-based pixel centres.

Crop rule (faces)
-----------------
The landmark box is the axis-aligned box spanned by the labelled points, from
``(x_min, y_min)`` to ``(x_max, y_max)`` (the points' extent; no half pixel added), with
``w = x_max - x_min`` and ``h = y_max - y_min``. Then::

    center = ((x_min + x_max) / 2, (y_min + y_max) / 2 - center_shift * h)
    scale  = max(w, h) * padding / 200

with ``padding = 1.25`` (the 1.25x enlargement of HRNet and FAN) and ``center_shift = 0``
(FAN moves the centre up by ``0.12 * h``; pass ``center_shift=0.12`` to match). A JSON
``scale`` is the un-enlarged size (MMPose multiplies it by its 1.25 padding), so the JSON
loader uses ``scale * padding``; for the 300-W sample this agrees with the landmark rule to
within 0.5 %. No loader here opens an image.

Layouts and splits
------------------
:func:`load_300w` finds each subset under ``root`` in either layout (see
``datasets/300w.md``)::

    standard (ibug download)         alternative ({train,test}/ tree)
    afw/                             train/afw/
    helen/trainset/  helen/testset/  train/helen/  test/helen/
    lfpw/trainset/   lfpw/testset/   train/lfpw/   test/lfpw/
    ibug/                            test/ibug/
    01_Indoor/ or 300W_indoor/       train/300W_indoor/ (or test/300W_indoor/)
    02_Outdoor/ or 300W_outdoor/     train/300W_outdoor/ (or test/300W_outdoor/)

Splits (official sizes in :data:`OFFICIAL_COUNTS`): ``train`` = AFW + HELEN trainset + LFPW
trainset (3148); ``common`` = HELEN testset + LFPW testset (554); ``challenge`` = iBUG (135);
``full`` = common + challenge (689); ``test`` = 300-W indoor + outdoor (600); ``helen`` and
``lfpw`` = both halves; and every single subset by name (``01_Indoor`` is ``300W_indoor``).

Held-out split (this toolkit's, not official): ``holdout`` is a fixed 10 % of HELEN trainset and
``fit`` is ``train`` without it, for training and validating without touching a test set. A
face is held out when the SHA-256 of its image name (``"100032540_1"``, no folder, no suffix)
ranks among the ``round(0.1 * n)`` smallest of the HELEN trainset faces present, so the
choice depends only on the file names (no random generator) and is the same on every machine;
on the shared 870-face copy it holds out 87 faces. The shipped face weights were validated on it.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.geometry import PIXEL_STD, box_to_center_scale, from_one_based
from hourglass.keypoints import W300, KeypointSpec

__all__ = [
    "read_pts",
    "load_300w",
    "load_face_coco_json",
    "landmark_center_scale",
    "SPLITS",
    "SUBSET_FOLDERS",
    "OFFICIAL_COUNTS",
    "holdout_mask",
]

logger = logging.getLogger("hourglass.data")

SUBSET_FOLDERS: dict[str, tuple[str, ...]] = {
    "afw": ("afw", "train/afw"),
    "helen/trainset": ("helen/trainset", "train/helen"),
    "helen/testset": ("helen/testset", "test/helen"),
    "lfpw/trainset": ("lfpw/trainset", "train/lfpw"),
    "lfpw/testset": ("lfpw/testset", "test/lfpw"),
    "ibug": ("ibug", "test/ibug"),
    "300W_indoor": ("01_Indoor", "300W_indoor", "300W/01_Indoor", "train/300W_indoor", "test/300W_indoor"),
    "300W_outdoor": ("02_Outdoor", "300W_outdoor", "300W/02_Outdoor", "train/300W_outdoor", "test/300W_outdoor"),
}
"""Each 300-W subset and the folders (relative to the root) where it may live."""

OFFICIAL_COUNTS: dict[str, int] = {
    "afw": 337,
    "helen/trainset": 2000,
    "helen/testset": 330,
    "lfpw/trainset": 811,
    "lfpw/testset": 224,
    "ibug": 135,
    "300W_indoor": 300,
    "300W_outdoor": 300,
}
"""Faces per subset in the complete official release."""

SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("afw", "helen/trainset", "lfpw/trainset"),
    "common": ("helen/testset", "lfpw/testset"),
    "challenge": ("ibug",),
    "full": ("helen/testset", "lfpw/testset", "ibug"),
    "test": ("300W_indoor", "300W_outdoor"),
    "helen": ("helen/trainset", "helen/testset"),
    "lfpw": ("lfpw/trainset", "lfpw/testset"),
    **{name: (name,) for name in SUBSET_FOLDERS},
    "fit": ("afw", "helen/trainset", "lfpw/trainset"),
    "holdout": ("helen/trainset",),
}
"""Split name -> the subsets it joins, in load order."""

HOLDOUT_SUBSET = "helen/trainset"
HOLDOUT_FRACTION = 0.1
"""The ``holdout`` split: this fraction of this subset (module docstring)."""

_SPLIT_ALIASES = {"01_indoor": "300W_indoor", "02_outdoor": "300W_outdoor"}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
_ON_ERROR = ("raise", "skip")


# ----------------------------------------------------------------------------- .pts files


def _pts_error(path: Path, line: int | str, message: str) -> DataError:
    return DataError(f"{path}:{line}: {message}")


def read_pts(path: str | Path, num_points: int | None = 68) -> np.ndarray:
    """Read a landmark ``.pts`` file as written by the 300-W annotation tools.

    Accepted: the header form (``version: 1`` / ``n_points: N`` / ``{`` / N lines ``x y`` /
    ``}``), a bare list of ``x y`` lines, or a bare list between ``{`` and ``}``; any line
    endings (LF, CRLF, CR), blank lines and surrounding whitespace.

    Args:
        path: the ``.pts`` file.
        num_points: expected number of points (68 for 300-W), or None for any count.

    Returns:
        (P, 2) float64 points (x, y) exactly as written: 300-W files are 1-based, convert with
        :func:`hourglass.geometry.from_one_based`.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is malformed; the message names the file and line: a point count
            that disagrees with ``n_points`` or ``num_points``, a non-numeric, NaN or infinite
            value, a line without exactly two numbers, a missing ``{`` or ``}``.
    """
    path = Path(path)
    if num_points is not None and (isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < 1):
        raise ValueError(f"num_points must be a positive integer or None, got {num_points!r}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"landmark file {path} does not exist; check the dataset root and layout") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a text file (byte {e.start} is not UTF-8); a .pts file is plain text") from None
    # Number lines the way an editor does, whatever the line endings; keep only non-blank ones.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    items = [(i + 1, s.strip()) for i, s in enumerate(lines) if s.strip()]
    if not items:
        raise DataError(f"{path}: the file is empty; re-download or re-extract it")

    pos = 0
    n_declared: int | None = None
    n_line = 0
    open_line: int | None = None
    if ":" in items[0][1]:  # header "key: value" lines up to "{"
        seen: set[str] = set()
        while pos < len(items) and ":" in items[pos][1]:
            ln, s = items[pos]
            key, _, value = (part.strip() for part in s.partition(":"))
            key = key.lower()
            if key in seen:
                raise _pts_error(path, ln, f"header key {key!r} appears twice")
            seen.add(key)
            if key == "version":
                if value != "1":
                    raise _pts_error(path, ln, f"unsupported .pts version {value!r}; only 'version: 1' is known")
            elif key == "n_points":
                try:
                    n_declared = int(value)
                except ValueError:
                    raise _pts_error(path, ln, f"n_points must be an integer, got {value!r}") from None
                if n_declared < 0:
                    raise _pts_error(path, ln, f"n_points must not be negative, got {n_declared}")
                n_line = ln
            else:
                raise _pts_error(
                    path, ln, f"unexpected header line {s!r}; expected 'version: 1', 'n_points: N' or '{{'"
                )
            pos += 1
        if n_declared is None:
            raise _pts_error(path, items[0][0], "the header has no 'n_points: N' line; add it or remove the header")
        if pos == len(items):
            raise _pts_error(path, items[-1][0], "the file ends after the header: missing '{' and the points")
        if items[pos][1] != "{":
            ln, s = items[pos]
            raise _pts_error(
                path, ln, f"missing '{{' after the header: expected '{{' to open the point list, got {s!r}"
            )
        open_line = items[pos][0]
        pos += 1
    elif items[0][1] == "{":
        open_line = items[0][0]
        pos = 1

    point_items: list[tuple[int, str]] = []
    close_line: int | None = None
    while pos < len(items):
        ln, s = items[pos]
        pos += 1
        if s == "}":
            if open_line is None:
                raise _pts_error(path, ln, "'}' without an opening '{'")
            close_line = ln
            break
        if s == "{":
            raise _pts_error(path, ln, "unexpected second '{'")
        point_items.append((ln, s))
    if open_line is not None and close_line is None:
        raise _pts_error(
            path,
            items[-1][0],
            f"missing '}}' closing the point list opened on line {open_line}; the file may be truncated",
        )
    if pos < len(items):
        ln, s = items[pos]
        raise _pts_error(path, ln, f"unexpected content after the closing '}}': {s!r}")

    rows = [s.split() for _, s in point_items]
    for (ln, s), row in zip(point_items, rows, strict=True):
        if len(row) != 2:
            raise _pts_error(path, ln, f"expected two numbers 'x y' separated by whitespace, got {len(row)} in {s!r}")
    try:
        points = np.array(rows, dtype=np.float64).reshape(len(rows), 2)
    except ValueError:
        for (ln, _), row in zip(point_items, rows, strict=True):  # error path only: find the offending line
            for token in row:
                try:
                    float(token)
                except ValueError:
                    raise _pts_error(
                        path, ln, f"{token!r} is not a number; fix the value or re-download the file"
                    ) from None
        raise  # pragma: no cover  (numpy and float() accept the same numbers)
    bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))
    if bad.size:
        ln, s = point_items[bad[0]]
        raise _pts_error(path, ln, f"point {bad[0]} is not finite ({s!r}); every landmark needs a position")

    n = len(points)
    last = point_items[-1][0] if point_items else (close_line or items[-1][0])
    if n_declared is not None and n != n_declared:
        raise _pts_error(
            path,
            n_line,
            f"the header says n_points: {n_declared} but {n} point lines were read (up to line {last}); "
            "the file is truncated or its header is wrong",
        )
    if num_points is not None and n != num_points:
        raise _pts_error(
            path,
            n_line or last,
            f"{n} points, expected {num_points}; this is not a {num_points}-point file "
            "(300-W has 68 landmarks; pass num_points= for another landmark set)",
        )
    if n == 0:
        raise _pts_error(path, last, "the file holds no points")
    return points


# ----------------------------------------------------------------------------- crop rule


def landmark_center_scale(
    points: np.ndarray, *, padding: float = 1.25, center_shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Crop centre and scale from landmarks (the face crop rule of this module's docstring).

    Args:
        points: (..., K, 2) landmarks (x, y); NaN rows (unlabelled points) are ignored.
        padding: enlargement of the landmark box's larger side (1.25: HRNet, FAN).
        center_shift: move the centre up by this fraction of the box height (FAN: 0.12).

    Returns:
        center (..., 2) and scale (...) in units of 200 px, float64.

    Raises:
        ValueError: a bad ``padding``/``center_shift``, or an entry whose labelled points are
            all missing or all at one position (zero-size box); the message gives its index.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., K, 2), got {p.shape}")
    _check_crop_options(padding, center_shift)
    present = np.all(np.isfinite(p), axis=-1)  # (..., K)
    empty = ~np.any(present, axis=-1)
    if np.any(empty):
        raise ValueError(f"{_first(empty)}has no labelled landmark to take a box from")
    lo = np.min(np.where(present[..., None], p, np.inf), axis=-2)  # (..., 2)
    hi = np.max(np.where(present[..., None], p, -np.inf), axis=-2)
    size = hi - lo  # (..., 2) = (w, h)
    longer = np.max(size, axis=-1)
    flat = longer <= 0
    if np.any(flat):
        raise ValueError(f"{_first(flat)}all landmarks lie at one point (zero-size box)")
    center = (lo + hi) / 2.0
    center[..., 1] -= center_shift * size[..., 1]
    return center, longer * padding / PIXEL_STD


def _check_crop_options(padding: float, center_shift: float) -> None:
    if isinstance(padding, bool) or not isinstance(padding, (int, float)) or not (np.isfinite(padding) and padding > 0):
        raise ValueError(f"padding must be a positive number, got {padding!r}")
    if isinstance(center_shift, bool) or not isinstance(center_shift, (int, float)) or not np.isfinite(center_shift):
        raise ValueError(f"center_shift must be a finite number, got {center_shift!r}")


def _first(mask: np.ndarray) -> str:
    """'entry [i, ...] ' naming the first True of a batched mask ('' when unbatched)."""
    return f"entry {np.argwhere(mask)[0].tolist()}: " if mask.ndim else ""


def _landmark_boxes(points: np.ndarray) -> np.ndarray:
    """(N, K, 2) fully labelled points -> (N, 4) boxes (x0, y0, w, h) of their extent."""
    lo = points.min(axis=1)
    return np.concatenate([lo, points.max(axis=1) - lo], axis=1)


# ----------------------------------------------------------------------------- split loader


def _check_on_error(on_error: str) -> None:
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


def _resolve_split(split: str) -> str:
    if isinstance(split, str):
        key = split.strip().strip("/").replace("\\", "/")
        lookup = {name.lower(): name for name in SPLITS}
        lookup.update(_SPLIT_ALIASES)
        if key.lower() in lookup:
            return lookup[key.lower()]
    valid = list(SPLITS) + sorted({"01_Indoor", "02_Outdoor"})
    raise ValueError(f"unknown 300-W split {split!r}; valid splits are {valid}")


def holdout_mask(names: Sequence[str], fraction: float = HOLDOUT_FRACTION) -> np.ndarray:
    """Which of ``names`` (image stems) are held out: the ``round(fraction * n)`` smallest SHA-256s.

    Deterministic and independent of order: the same names give the same choice anywhere.
    """
    import hashlib

    keys = [hashlib.sha256(str(n).encode("utf-8")).hexdigest() for n in names]
    order = np.argsort(np.array(keys, dtype=object), kind="stable")
    mask = np.zeros(len(names), dtype=bool)
    mask[order[: int(round(len(names) * fraction))]] = True
    return mask


def _find_subset_folder(root: Path, subset: str) -> Path | None:
    found = [root / rel for rel in SUBSET_FOLDERS[subset] if (root / rel).is_dir()]
    if len(found) > 1:
        raise DataError(
            f"300-W subset {subset!r} exists in {len(found)} places under {root}: "
            f"{[str(f) for f in found]}; keep one layout so no face is loaded twice"
        )
    return found[0] if found else None


def _list_subset(folder: Path) -> tuple[list[Path], dict[str, list[Path]]]:
    """Sorted .pts files of one folder and the image files by stem (no recursion)."""
    pts: list[Path] = []
    images: dict[str, list[Path]] = {}
    with os.scandir(folder) as it:
        for entry in it:
            stem, suffix = os.path.splitext(entry.name)
            suffix = suffix.lower()
            if suffix == ".pts" and entry.is_file():
                pts.append(Path(entry.path))
            elif suffix in _IMAGE_SUFFIXES and entry.is_file():
                images.setdefault(stem, []).append(Path(entry.path))
    pts.sort(key=lambda p: p.name)
    return pts, images


def load_300w(
    root: str | Path,
    split: str = "train",
    *,
    on_error: str = "raise",
    padding: float = 1.25,
    center_shift: float = 0.0,
) -> AnnotationSet:
    """Load a 300-W split from a folder tree of ``NAME.pts`` + ``NAME.jpg``/``NAME.png`` files.

    Either layout of the module docstring is found; subsets of the split that are absent are
    left out (``AnnotationSet.subsets()`` says what was loaded), so partial copies work. Images
    are not opened: each ``.pts`` needs an image of the same name beside it, and images
    without a ``.pts`` are not annotations and are ignored.

    Args:
        root: dataset root (the folder holding ``afw/``, ``helen/``, ... or ``train/``/``test/``).
        split: ``train``, ``common``, ``challenge``, ``full``, ``test``, ``helen``, ``lfpw``, or
            one subset (``afw``, ``helen/trainset``, ``ibug``, ``300W_indoor``, ``01_Indoor``, ...);
            case-insensitive.
        on_error: ``"raise"`` on the first bad file, or ``"skip"``: log each bad file
            (logger ``hourglass.data``) and the number skipped, and load the rest.
        padding: enlargement of the landmark box for the crop scale (module docstring).
        center_shift: move the crop centre up by this fraction of the landmark-box height.

    Returns:
        N faces, ordered by subset (in the split's order) then file name. Each record: (68, 2)
        0-based keypoints, all labelled and visible, centre/scale by the landmark rule,
        ``box`` the landmark box, ``subset`` the canonical subset name, ``image_id`` the image
        path relative to ``root`` and ``source`` the ``.pts`` path.

    Raises:
        ValueError: an unknown split or option.
        FileNotFoundError: ``root`` is not a folder.
        DataError: no folder of the split exists (the message lists those looked for), the
            split's folders hold no ``.pts``, a subset exists in both layouts, or (with
            ``on_error="raise"``) a malformed ``.pts`` or one without its image.
    """
    _check_on_error(on_error)
    canonical = _resolve_split(split)
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(
            f"300-W root {root} is not a folder; pass the folder holding afw/, helen/, ... or train/"
        )
    _check_crop_options(padding, center_shift)
    name = f"300w:{canonical}"

    folders = [(s, _find_subset_folder(root, s)) for s in SPLITS[canonical]]
    present = [(s, f) for s, f in folders if f is not None]
    if not present:
        looked = [str(root / rel) for s in SPLITS[canonical] for rel in SUBSET_FOLDERS[s]]
        raise DataError(
            f"300-W split {canonical!r} is empty: none of its folders exists under {root}; looked for {looked}. "
            "Point root at the 300-W folder (see datasets/300w.md)"
        )
    missing = [s for s, f in folders if f is None]
    if missing:
        logger.info("%s: subsets %s are not under %s; loading %s", name, missing, root, [s for s, _ in present])

    points: list[np.ndarray] = []
    meta: list[tuple[str, Path, Path]] = []  # (subset, pts, image)
    n_files = 0
    skipped = 0

    def fail(err: DataError) -> None:
        nonlocal skipped
        if on_error == "raise":
            raise err
        skipped += 1
        logger.warning("%s: skipped: %s", name, err)

    for subset, folder in present:
        pts_files, images = _list_subset(folder)
        n_files += len(pts_files)
        for pts in pts_files:
            candidates = sorted(images.get(pts.stem, ()))
            if not candidates:
                fail(DataError(f"{pts}: no image {pts.stem}.jpg or .png beside it; restore it or remove the .pts"))
                continue
            if len(candidates) > 1:
                fail(DataError(f"{pts}: several images share its name ({[c.name for c in candidates]}); keep one"))
                continue
            try:
                p = read_pts(pts, num_points=W300.num_keypoints)
            except DataError as e:
                fail(e)
                continue
            if np.ptp(p, axis=0).max() <= 0:
                fail(DataError(f"{pts}: all 68 landmarks lie at one point; the file is corrupt"))
                continue
            points.append(p)
            meta.append((subset, pts, candidates[0]))
        unannotated = len(images.keys() - {p.stem for p in pts_files})
        if unannotated:
            logger.debug("%s: %d images without .pts in %s are not annotations", name, unannotated, folder)

    if n_files == 0:
        raise DataError(
            f"300-W split {canonical!r} is empty: its folders {[str(f) for _, f in present]} hold no .pts files"
        )
    if skipped:
        logger.warning("%s: skipped %d of %d .pts files under %s (reasons above)", name, skipped, n_files, root)
    if not points:
        raise DataError(f"300-W split {canonical!r}: all {n_files} .pts files under {root} were skipped as bad")

    if canonical in ("fit", "holdout"):
        in_pool = np.array([m[0] == HOLDOUT_SUBSET for m in meta])
        held = np.zeros(len(meta), dtype=bool)
        held[in_pool] = holdout_mask([m[2].stem for m, p in zip(meta, in_pool) if p])
        keep = held if canonical == "holdout" else ~held
        points = [p for p, k in zip(points, keep) if k]
        meta = [m for m, k in zip(meta, keep) if k]
        if not points:
            raise DataError(f"300-W split {canonical!r} is empty: no HELEN trainset faces under {root} to hold out")

    kps = from_one_based(np.stack(points))  # (N, 68, 2), 1-based file -> 0-based pixel centres
    center, scale = landmark_center_scale(kps, padding=padding, center_shift=center_shift)
    boxes = _landmark_boxes(kps)
    ones = np.ones(W300.num_keypoints, dtype=bool)
    records = [
        Annotation(
            image=image,
            keypoints=kps[i],
            labelled=ones,
            visible=ones,
            center=center[i],
            scale=float(scale[i]),
            spec=W300,
            source=str(pts),
            box=boxes[i],
            image_id=image.relative_to(root).as_posix(),
            subset=subset,
        )
        for i, (subset, pts, image) in enumerate(meta)
    ]
    out = AnnotationSet(records, W300, name)
    logger.info(
        "%s: %d faces from %s (official: %s)",
        name,
        len(out),
        out.subsets(),
        {s: OFFICIAL_COUNTS[s] for s, _ in present},
    )
    return out


# ----------------------------------------------------------------------------- COCO-style JSON


def _number_list(value: Any, length: int, what: str) -> np.ndarray:
    if not isinstance(value, (list, tuple)) or len(value) != length:
        got = f"{len(value)} values" if isinstance(value, (list, tuple)) else repr(value)
        raise ValueError(f"{what} must be a list of {length} numbers, got {got}")
    if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
        raise ValueError(
            f"{what} must hold numbers only, got {[v for v in value if not isinstance(v, (int, float))][:3]}"
        )
    arr = np.asarray(value, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} holds NaN or infinite values")
    return arr


def load_face_coco_json(
    json_path: str | Path,
    image_root: str | Path | None = None,
    spec: KeypointSpec = W300,
    *,
    one_based: bool = True,
    visible_flags: Sequence[int] = (1, 2),
    crop_from: str = "auto",
    padding: float = 1.25,
    center_shift: float = 0.0,
    check_images: bool = True,
    on_error: str = "raise",
) -> AnnotationSet:
    """Load face landmarks from a COCO-style JSON (MMPose's 300-W/WFLW/COFW files).

    The file holds ``images`` (``id``, ``file_name``) and ``annotations`` (``image_id``,
    ``keypoints`` as a flat ``[x, y, v] * K`` list, optional ``bbox`` (x0, y0, w, h),
    ``area``, ``center``, ``scale``). ``v = 0`` marks an unlabelled point (its coordinates
    are ignored and become NaN).

    Args:
        json_path: the JSON file.
        image_root: folder the ``file_name`` entries are relative to; default the JSON's folder.
        spec: keypoint spec of the file (K must match).
        one_based: the coordinates use the ``.pts`` 1-based convention (true of MMPose's 300-W
            JSON, see the module docstring); keypoints, ``bbox`` corners and ``center`` are
            converted with :func:`~hourglass.geometry.from_one_based`. False: already 0-based.
        visible_flags: ``v`` values meaning "visible". The default (1, 2) treats every
            labelled point as visible: 300-W and WFLW files write ``v = 1`` for all points.
            Pass ``(2,)`` for files following COCO's ``1 = labelled but occluded`` (COFW).
        crop_from: ``"auto"`` (``center``/``scale`` when present, else the landmark rule),
            ``"center_scale"`` (required in every annotation), ``"landmarks"`` (the rule of
            the module docstring) or ``"bbox"`` (the ``bbox`` grown by ``padding``).
        padding: enlargement applied to the JSON ``scale``, the landmark box or the bbox.
        center_shift: landmark rule only: move the centre up by this fraction of the box height.
        check_images: require every referenced image file to exist (the files are not opened).
        on_error: ``"raise"`` or ``"skip"`` (log each bad annotation and the count).

    Returns:
        One record per annotation, in file order; ``source`` is ``"<json>:annotations[i]"``.

    Raises:
        FileNotFoundError: the JSON does not exist.
        DataError: invalid JSON or structure, an annotation with the wrong number of keypoint
            values, non-numeric or non-finite values, an unknown ``image_id``, a missing image
            (each message names the file and the annotation index).
    """
    _check_on_error(on_error)
    if crop_from not in ("auto", "center_scale", "landmarks", "bbox"):
        raise ValueError(f"crop_from must be 'auto', 'center_scale', 'landmarks' or 'bbox', got {crop_from!r}")
    _check_crop_options(padding, center_shift)
    flags = np.asarray(list(visible_flags))
    if flags.size == 0 or not np.all(np.isin(flags, (1, 2))):
        raise ValueError(f"visible_flags must be a non-empty subset of (1, 2), got {visible_flags!r}")
    json_path = Path(json_path)
    image_root = json_path.parent if image_root is None else Path(image_root)
    try:
        text = json_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"annotation file {json_path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{json_path}: cannot read the file as UTF-8 text ({e})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{json_path}:{e.lineno}: not valid JSON ({e.msg}); re-download or re-export it") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("images"), list)
        or not isinstance(data.get("annotations"), list)
    ):
        raise DataError(f"{json_path}: expected a COCO-style object with 'images' and 'annotations' lists")

    images: dict[Any, Path] = {}
    for j, img in enumerate(data["images"]):
        where = f"{json_path}:images[{j}]"
        if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
            raise DataError(f"{where}: an image entry needs 'id' and 'file_name'")
        if img["id"] in images:
            raise DataError(f"{where}: image id {img['id']!r} appears twice")
        images[img["id"]] = image_root / img["file_name"]

    k = spec.num_keypoints
    name = f"{spec.name}:{json_path.name}"
    records: list[Annotation] = []
    exists: dict[Path, bool] = {}
    skipped = 0

    def face(ann: Any, where: str) -> Annotation:
        """One annotation -> Annotation; DataError naming ``where`` for anything wrong."""
        if not isinstance(ann, dict):
            raise DataError(f"{where}: an annotation must be an object, got {type(ann).__name__}")
        image_id = ann.get("image_id")
        if image_id not in images:
            raise DataError(f"{where}: image_id {image_id!r} is not among the file's images")
        image = images[image_id]
        if check_images:
            if image not in exists:
                exists[image] = image.is_file()
            if not exists[image]:
                raise DataError(
                    f"{where}: image file {image} does not exist; pass image_root= the folder of the images"
                )
        try:
            kp = _number_list(ann.get("keypoints"), 3 * k, f"keypoints ([x, y, v] x {k} for spec {spec.name!r})")
            kp = kp.reshape(k, 3)
            v = kp[:, 2]
            if not np.all(np.isin(v, (0, 1, 2))):
                raise ValueError(f"visibility flags must be 0, 1 or 2, got {sorted(set(v.tolist()) - {0.0, 1.0, 2.0})}")
            labelled = v > 0
            if not labelled.any():
                raise ValueError("no keypoint is labelled (every v is 0)")
            xy = np.where(labelled[:, None], kp[:, :2], np.nan)
            box = None if ann.get("bbox") is None else _number_list(ann["bbox"], 4, "bbox (x0, y0, w, h)")
            center = None if ann.get("center") is None else _number_list(ann["center"], 2, "center (x, y)")
            raw_scale = ann.get("scale")
            if raw_scale is not None and (
                isinstance(raw_scale, bool)
                or not isinstance(raw_scale, (int, float))
                or not np.isfinite(raw_scale)
                or raw_scale <= 0
            ):
                raise ValueError(f"scale must be a positive number (units of 200 px), got {raw_scale!r}")
            if (center is None) != (raw_scale is None):
                raise ValueError("has one of 'center' and 'scale' without the other")
            area = ann.get("area")
            if area is not None and (isinstance(area, bool) or not isinstance(area, (int, float))):
                raise ValueError(f"area must be a number, got {area!r}")
        except ValueError as e:
            raise DataError(f"{where}: {e}") from None

        if one_based:
            xy = from_one_based(xy)
            if box is not None:
                box = np.concatenate([from_one_based(box[:2]), box[2:]])
            if center is not None:
                center = from_one_based(center)
        if crop_from == "center_scale" and center is None:
            raise DataError(f"{where}: no 'center'/'scale' (crop_from='center_scale'); use crop_from='auto'")
        if crop_from in ("auto", "center_scale") and center is not None:
            scale = float(raw_scale) * padding
        elif crop_from == "bbox":
            if box is None or np.any(box[2:] <= 0):
                raise DataError(f"{where}: crop_from='bbox' needs a bbox with positive width and height, got {box}")
            center, scale_arr = box_to_center_scale(box, padding=padding)
            scale = float(scale_arr)
        else:
            try:
                center, scale_arr = landmark_center_scale(xy, padding=padding, center_shift=center_shift)
            except ValueError as e:
                raise DataError(f"{where}: cannot take a crop from the landmarks: {e}") from None
            scale = float(scale_arr)
        return Annotation(
            image=image,
            keypoints=xy,
            labelled=labelled,
            visible=labelled & np.isin(v, flags),
            center=np.asarray(center, dtype=np.float64),
            scale=scale,
            spec=spec,
            source=where,
            box=box,
            area=None if area is None else float(area),
            image_id=image_id,
            extra={"annotation_id": ann.get("id")},
        )

    for i, ann in enumerate(data["annotations"]):
        where = f"{json_path}:annotations[{i}]"
        try:
            records.append(face(ann, where))
        except DataError as e:
            if on_error == "raise":
                raise
            skipped += 1
            logger.warning("%s: skipped: %s", name, e)
    if skipped:
        logger.warning(
            "%s: skipped %d of %d annotations in %s (reasons above)", name, skipped, len(data["annotations"]), json_path
        )
    if not records:
        raise DataError(f"{json_path}: no usable face annotations (of {len(data['annotations'])})")
    return AnnotationSet(records, spec, name)
