"""Leeds Sports Pose (LSP, 2000 images) and LSP Extended (LSPET): one :class:`Annotation` per image.

Both datasets hold one person per image, in ``ROOT/joints.mat`` (variable ``joints``) and
``ROOT/images/``. Coordinates are 1-based (MATLAB) and converted with
:func:`hourglass.geometry.from_one_based`. The two layouts differ:

============  ================  ==========================  ==================================
layout        ``joints`` shape  third value                 images
============  ================  ==========================  ==================================
``"lsp"``     (3, 14, N)        0 = visible, 1 = occluded   ``images/im0001.jpg`` (4 digits)
``"lspet"``   (14, 3, N)        1 = visible, 0 = no label   ``images/im00001.jpg`` (5 digits)
============  ================  ==========================  ==================================

- **LSP**: every joint has a location (occluded joints were placed where the annotator judged
  them to be), so all are ``labelled``; ``visible`` = flag 0.
- **LSPET**: joints with flag 0 carry no location. In the first 5000 people of the real
  ``joints.mat`` (8423 such joints) every one has x <= 0 and y <= 0 (5137 with x = 0, the rest negative, down
  to -294), i.e. a placeholder, never a point in the image. So ``labelled = visible = flag 1``
  and the placeholder coordinates are dropped (NaN). Flag-1 joints can lie just outside the
  image (4 have a negative coordinate, the lowest y = -1.17): they stay labelled.

Crop (no person box is given; people are about 150 px tall): the box of the labelled
keypoints, centre = its centre, ``scale = padding * max(width, height) / 200``. The default
padding 1.6 matches MPII's framing: on ``valid.h5`` the crop-ready MPII scale is a median
1.59 x the longer side of the person's labelled-keypoint box (quartiles 1.31 and 2.16).

Splits: original LSP uses images 1-1000 for training and 1001-2000 for testing. LSPET is
training data only; its held-out set is defined by image number, whatever the folder holds:
``split_indices(LSPET_SPLIT_POOL, val_fraction, seed)`` of images 1-5000 (:data:`LSPET_SPLIT_POOL`),
so with the defaults the same 500 people that were held out when the copy held 5000 images.
Every other image, including ``im05001`` onwards, is training data (:func:`lspet_split`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.data.splits import split_indices
from hourglass.geometry import PIXEL_STD, from_one_based
from hourglass.keypoints import LSP, MPII, KeypointSpec

__all__ = ["load_lsp", "split_indices", "lspet_split", "LSPET_SPLIT_POOL", "lsp_to_mpii", "LSP_TO_MPII"]

logger = logging.getLogger("hourglass.data")

_LAYOUTS = {
    # layout: (shape of one person's slice in the file, visible flag value, image name digits)
    "lsp": ((3, 14), 0, 4),
    "lspet": ((14, 3), 1, 5),
}

LSP_TO_MPII: tuple[tuple[int, ...], ...] = (
    (0,), (1,), (2,), (3,), (4,), (5,),  # legs: r_ankle .. l_ankle
    (2, 3),  # pelvis = midpoint of the hips
    (8, 9),  # thorax = midpoint of the shoulders
    (12,),  # upper_neck = LSP neck
    (13,),  # head_top
    (6,), (7,), (8,), (9,), (10,), (11,),  # arms: r_wrist .. l_wrist
)  # fmt: skip
"""For each MPII joint, the LSP joints it is the mean of."""

LSPET_SPLIT_POOL = 5000
"""LSPET's held-out people are drawn from images 1 to this number (the size of the first copy),
so the held-out set never changes when more images are added."""


def lspet_split(n: int, val_fraction: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """LSPET's train / held-out partition of ``range(n)`` (0-based image numbers), fixed by image number.

    The held-out people are ``split_indices(LSPET_SPLIT_POOL, val_fraction, seed)[1]``: the same
    image numbers however many images a folder holds (those at or beyond ``n`` are simply absent).
    Every other index below ``n`` is training data, so images added after the first 5000 only
    ever join the training set. With the defaults 500 people are held out of the first 5000.

    Returns:
        ``(train, val)``: sorted int64 index arrays, disjoint, together ``range(n)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    _, held = split_indices(LSPET_SPLIT_POOL, val_fraction, seed)
    is_val = np.zeros(n, dtype=bool)
    is_val[held[held < n]] = True
    return np.flatnonzero(~is_val).astype(np.int64), np.flatnonzero(is_val).astype(np.int64)


def lsp_to_mpii(
    keypoints: np.ndarray, labelled: np.ndarray, visible: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map LSP's 14 joints to MPII's 16 (see :data:`LSP_TO_MPII`).

    Pelvis and thorax are the midpoints of the hips and of the shoulders; each is labelled
    (visible) only when both of its sources are. upper_neck takes LSP's neck.

    Args:
        keypoints: (..., 14, 2) LSP keypoints (values where not labelled are ignored).
        labelled: (..., 14) bool.
        visible: (..., 14) bool.

    Returns:
        keypoints (..., 16, 2) with NaN where not labelled, labelled (..., 16), visible (..., 16).
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    lab = np.asarray(labelled, dtype=bool)
    vis = np.asarray(visible, dtype=bool) & lab
    if kp.shape[-2:] != (14, 2) or lab.shape != kp.shape[:-1] or vis.shape != kp.shape[:-1]:
        raise ValueError(f"expected keypoints (..., 14, 2) and masks (..., 14), got {kp.shape}, {lab.shape}")
    weight = np.zeros((MPII.num_keypoints, LSP.num_keypoints))  # (16, 14) averaging matrix
    for m, sources in enumerate(LSP_TO_MPII):
        weight[m, list(sources)] = 1.0 / len(sources)
    uses = weight > 0
    out = np.einsum("mk,...kd->...md", weight, np.where(lab[..., None], kp, 0.0))
    # A target is labelled (visible) when none of its sources is unlabelled (invisible).
    out_lab = np.einsum("mk,...k->...m", uses.astype(np.int64), (~lab).astype(np.int64)) == 0
    out_vis = np.einsum("mk,...k->...m", uses.astype(np.int64), (~vis).astype(np.int64)) == 0
    return np.where(out_lab[..., None], out, np.nan), out_lab, out_vis


@dataclass(frozen=True, eq=False)
class _People:
    """Every person of a ``joints`` array, 0-based, with the keypoint box of the crop (N people)."""

    points: np.ndarray  # (N, K, 2), NaN where not labelled (K = 14, or 16 with to_mpii)
    labelled: np.ndarray  # (N, K) bool
    visible: np.ndarray  # (N, K) bool
    flag: np.ndarray  # (N, 14) the file's third values
    finite: np.ndarray  # (N,) bool, every value of the person is finite
    good_flag: np.ndarray  # (N,) bool, every flag is 0 or 1
    lo: np.ndarray  # (N, 2) keypoint box corner (x0, y0), from the LSP joints
    hi: np.ndarray  # (N, 2) keypoint box corner (x1, y1)
    size: np.ndarray  # (N,) longer side of the keypoint box
    center: np.ndarray  # (N, 2) crop centre
    scale: np.ndarray  # (N,) crop scale (200-px units)


def _check_lsp_options(on_error: str, split: str, padding: float) -> None:
    """ValueError naming a bad ``on_error``, ``split`` or ``padding``."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    if split not in ("all", "train", "val", "test"):
        raise ValueError(f"split must be 'all', 'train', 'val' or 'test', got {split!r}")
    if not padding > 0:
        raise ValueError(f"padding must be positive, got {padding!r}")


def _people(joints: np.ndarray, layout: str, padding: float, to_mpii: bool) -> _People:
    """(N, 14, 3) ``joints`` (x, y, flag, 1-based) -> masks, 0-based points and crops of every person."""
    visible_flag = _LAYOUTS[layout][1]
    xy, flag = joints[..., :2], joints[..., 2]
    finite = np.isfinite(joints).all(axis=(1, 2))
    good_flag = np.all((flag == 0) | (flag == 1), axis=1)
    visible = flag == visible_flag
    labelled = np.ones_like(visible) if layout == "lsp" else visible.copy()
    points = np.where(labelled[..., None], from_one_based(xy), np.nan)  # (N, 14, 2)
    with np.errstate(invalid="ignore"):  # people without labelled joints get NaN and are rejected later
        lo = np.min(np.where(labelled[..., None], points, np.inf), axis=1)  # (N, 2) keypoint box corners
        hi = np.max(np.where(labelled[..., None], points, -np.inf), axis=1)
        size = np.max(hi - lo, axis=-1)  # (N,) longer side of the keypoint box
        center = (lo + hi) / 2.0
    scale = padding * size / PIXEL_STD
    if to_mpii:
        points, labelled, visible = lsp_to_mpii(points, labelled, visible)
    return _People(points, labelled, visible, flag, finite, good_flag, lo, hi, size, center, scale)


def _person_problem(people: _People, i: int, image: Path, present: set[str] | None) -> str | None:
    """Why person ``i`` cannot be loaded, or None."""
    if not people.finite[i]:
        return "non-finite (NaN or infinite) values"
    if not people.good_flag[i]:
        return f"visibility flags must be 0 or 1, got {sorted(set(people.flag[i].tolist()))}"
    if not people.size[i] > 0:
        return "fewer than two distinct labelled joints; no crop can be derived"
    if present is not None and image.name not in present:
        return f"image file {image} does not exist"
    return None


def _person_record(people: _People, i: int, image: Path, spec: KeypointSpec, mat_path: Path, layout: str) -> Annotation:
    """The record of person ``i`` (0-based index in the file)."""
    return Annotation(
        image=image,
        keypoints=people.points[i],
        labelled=people.labelled[i],
        visible=people.visible[i],
        center=people.center[i],
        scale=float(people.scale[i]),
        spec=spec,
        source=f"{mat_path}[{i}]",
        box=np.concatenate([people.lo[i], people.hi[i] - people.lo[i]]),
        image_id=int(i) + 1,
        subset=layout,
    )


def load_lsp(
    root: str | Path,
    *,
    layout: str = "auto",
    split: str = "all",
    val_fraction: float = 0.1,
    seed: int = 0,
    to_mpii: bool = False,
    padding: float = 1.6,
    check_images: bool = True,
    on_error: str = "raise",
) -> AnnotationSet:
    """Read LSP or LSPET from ``root`` (``joints.mat`` + ``images/``).

    Args:
        root: the dataset folder.
        layout: ``"lsp"``, ``"lspet"`` or ``"auto"`` (from the shape of ``joints``).
        split: ``"all"``; ``"train"`` / ``"val"``: for LSPET the partition of
            :func:`lspet_split` (held-out people fixed by image number among images 1-5000,
            every other image training data), for LSP a :func:`split_indices` partition of its
            training half (both with ``val_fraction`` and ``seed``);
            ``"test"``: LSP's test half (images 1001-2000). Indices refer to the file, so a
            skipped person never shifts the split.
        val_fraction, seed: the held-out partition for ``"train"`` / ``"val"``.
        to_mpii: return MPII's 16 joints (:func:`lsp_to_mpii`) instead of LSP's 14.
        padding: crop side = padding x the longer side of the labelled-keypoint box.
        check_images: check that every referenced image file exists.
        on_error: ``"raise"`` or ``"skip"`` people with bad values or a missing image, logging
            each (logger ``hourglass.data``) and the count.

    Returns:
        :class:`AnnotationSet` (spec LSP or MPII), in file order; ``subset`` is the layout,
        ``image_id`` the 1-based image number, ``box`` the keypoint box (x0, y0, w, h).
    """
    _check_lsp_options(on_error, split, padding)
    root = Path(root)
    mat_path = root / "joints.mat"
    joints, layout = _read_joints(mat_path, layout)  # (N, 14, 3) as x, y, flag
    n = len(joints)
    digits = _LAYOUTS[layout][2]
    names = [f"im{i + 1:0{digits}d}.jpg" for i in range(n)]
    selected = _select(split, n, layout, val_fraction, seed, mat_path)
    people = _people(joints, layout, padding, to_mpii)
    spec = MPII if to_mpii else LSP

    present = _list_images(root / "images") if check_images else None
    records, skipped = [], 0
    for i in selected:
        reason = _person_problem(people, i, root / "images" / names[i], present)
        if reason is None:
            records.append(_person_record(people, i, root / "images" / names[i], spec, mat_path, layout))
            continue
        where = f"{mat_path}[{i}] ({names[i]})"
        if on_error == "raise":
            error = FileNotFoundError if reason.startswith("image file") else DataError
            raise error(f"{where}: {reason}; fix the data or pass on_error='skip'")
        logger.warning("skipped %s: %s", where, reason)
        skipped += 1
    if skipped:
        logger.warning("%s: skipped %d of %d people", mat_path, skipped, len(selected))
    return AnnotationSet(records, spec, f"{layout}:{split}")


def _read_joints(path: Path, layout: str) -> tuple[np.ndarray, str]:
    """``joints`` as (N, 14, 3) float64 (x, y, flag) and the layout."""
    import scipy.io  # lazy: slow to import, and only needed here

    if layout not in ("auto", *_LAYOUTS):
        raise ValueError(f"layout must be 'auto', 'lsp' or 'lspet', got {layout!r}")
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist; expected ROOT/joints.mat and ROOT/images/ (see datasets/lsp.md)"
        )
    try:
        m = scipy.io.loadmat(path)
    except NotImplementedError:
        raise DataError(f"{path}: MATLAB v7.3 (HDF5) file; re-save it with `save -v7` in MATLAB") from None
    except (ValueError, TypeError, OSError) as e:
        raise DataError(f"{path}: not a readable MATLAB file ({e})") from None
    if "joints" not in m:
        keys = sorted(k for k in m if not k.startswith("__"))
        raise DataError(f"{path}: no variable 'joints' (variables: {keys}); is this an LSP/LSPET joints.mat?")
    j = m["joints"]
    if not np.issubdtype(j.dtype, np.number):
        raise DataError(f"{path}: 'joints' must be numeric, got {j.dtype}")
    found = next((name for name, (shape, _, _) in _LAYOUTS.items() if j.ndim == 3 and j.shape[:2] == shape), None)
    if found is None:
        raise DataError(f"{path}: 'joints' has shape {j.shape}; expected (3, 14, N) (LSP) or (14, 3, N) (LSPET)")
    if layout not in ("auto", found):
        raise DataError(f"{path}: 'joints' has shape {j.shape}, the {found!r} layout, but layout={layout!r} was given")
    j = j.astype(np.float64)
    # (3, 14, N) -> (N, 14, 3); (14, 3, N) -> (N, 14, 3)
    return np.ascontiguousarray(j.transpose(2, 1, 0) if found == "lsp" else j.transpose(2, 0, 1)), found


def _select(split: str, n: int, layout: str, val_fraction: float, seed: int, path: Path) -> np.ndarray:
    if split == "all":
        return np.arange(n)
    if layout == "lsp":
        if n != 2000:
            raise ValueError(f"{path}: LSP's train/test halves need 2000 people, found {n}; use split='all'")
        if split == "test":
            return np.arange(1000, 2000)
        pool = np.arange(1000)
    else:
        if split == "test":
            raise ValueError(f"{path}: LSPET has no test set; use split='val' for a held-out set")
        train, val = lspet_split(n, val_fraction, seed)
        return train if split == "train" else val
    train, val = split_indices(len(pool), val_fraction, seed)
    return pool[train if split == "train" else val]


def _list_images(folder: Path) -> set[str]:
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist; expected ROOT/images/ (see datasets/lsp.md)")
    with os.scandir(folder) as it:
        return {e.name for e in it}
