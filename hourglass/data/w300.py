"""300-W face landmarks: the split loader over the ``.pts`` folder tree and the face crop rule.

The ``.pts`` reader is :mod:`hourglass.data.pts`; COCO-style face JSON (MMPose's 300-W file) is
:mod:`hourglass.data.face_json`.

Coordinates
-----------
300-W ``.pts`` files are 1-based (MATLAB style: the centre of the top-left pixel is (1, 1)).
:func:`~hourglass.data.pts.read_pts` returns the file's numbers untouched; the loaders convert
them once with :func:`hourglass.geometry.from_one_based`, so every
:class:`~hourglass.data.records.Annotation` holds 0-based pixel-centre coordinates (see
:mod:`hourglass.geometry`).

Crop rule (faces)
-----------------
:func:`~hourglass.data.face_crop.landmark_center_scale`: the landmark box enlarged 1.25x.
No loader here opens an image.

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

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from hourglass.data.face_crop import _check_crop_options, _landmark_boxes, landmark_center_scale
from hourglass.data.pts import read_pts
from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.geometry import from_one_based
from hourglass.keypoints import W300

__all__ = [
    "load_300w",
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
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".ppm", ".pgm", ".bmp", ".tif", ".tiff", ".webp")
"""Image files beside a ``.pts`` (any case): every suffix OpenCV reads, as ``tools/infer.py`` does."""
_ON_ERROR = ("raise", "skip")


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


class _FaceFile(NamedTuple):
    """One face of a split: its subset, landmark file and image."""

    subset: str
    pts: Path
    image: Path


def _present_subsets(root: Path, canonical: str, name: str) -> list[tuple[str, Path]]:
    """The split's subsets found under ``root``, with their folders; DataError when none is."""
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
    return present


def _read_faces(
    root: Path, canonical: str, present: list[tuple[str, Path]], name: str, on_error: str
) -> tuple[list[np.ndarray], list[_FaceFile]]:
    """The (68, 2) 1-based landmarks and files of every good face; bad files raise or are logged and skipped."""
    points: list[np.ndarray] = []
    files: list[_FaceFile] = []
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
                tried = ", ".join(pts.stem + x for x in _IMAGE_SUFFIXES)
                fail(DataError(f"{pts}: no image beside it (tried {tried}, any case); restore it or remove the .pts"))
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
            files.append(_FaceFile(subset, pts, candidates[0]))
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
    return points, files


def _split_holdout(
    canonical: str, points: list[np.ndarray], files: list[_FaceFile], root: Path
) -> tuple[list[np.ndarray], list[_FaceFile]]:
    """For ``fit`` and ``holdout``, the faces of that side of :func:`holdout_mask`; other splits unchanged."""
    if canonical not in ("fit", "holdout"):
        return points, files
    in_pool = np.array([m.subset == HOLDOUT_SUBSET for m in files])
    held = np.zeros(len(files), dtype=bool)
    held[in_pool] = holdout_mask([m.image.stem for m, p in zip(files, in_pool) if p])
    keep = held if canonical == "holdout" else ~held
    points = [p for p, k in zip(points, keep) if k]
    files = [m for m, k in zip(files, keep) if k]
    if not points:
        raise DataError(f"300-W split {canonical!r} is empty: no HELEN trainset faces under {root} to hold out")
    return points, files


def _face_records(
    points: list[np.ndarray], files: list[_FaceFile], root: Path, padding: float, center_shift: float
) -> list[Annotation]:
    """One record per face, keypoints converted to 0-based and cropped by the landmark rule."""
    kps = from_one_based(np.stack(points))  # (N, 68, 2), 1-based file -> 0-based pixel centres
    center, scale = landmark_center_scale(kps, padding=padding, center_shift=center_shift)
    boxes = _landmark_boxes(kps)
    ones = np.ones(W300.num_keypoints, dtype=bool)
    return [
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
        for i, (subset, pts, image) in enumerate(files)
    ]


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
    present = _present_subsets(root, canonical, name)
    points, files = _read_faces(root, canonical, present, name, on_error)
    points, files = _split_holdout(canonical, points, files, root)
    out = AnnotationSet(_face_records(points, files, root, padding, center_shift), W300, name)
    logger.info(
        "%s: %d faces from %s (official: %s)",
        name,
        len(out),
        out.subsets(),
        {s: OFFICIAL_COUNTS[s] for s, _ in present},
    )
    return out
