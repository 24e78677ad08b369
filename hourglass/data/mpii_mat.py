"""MPII Human Pose: the MATLAB files, the official release and the evaluation file's head boxes.

:func:`load_mpii_mat` reads the official release ``mpii_human_pose_v1_u12_1.mat``;
:func:`load_mpii_headboxes` reads ``headboxes_src`` of the evaluation file
``detections_our_format.mat``. The conventions are those of :mod:`hourglass.data.mpii`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.mpii import K, _Collector, _record, mpii_crop_center_scale
from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.geometry import from_one_based

__all__ = ["load_mpii_mat", "load_mpii_headboxes"]

logger = logging.getLogger("hourglass.data")


def load_mpii_headboxes(mat_path: str | Path) -> np.ndarray:
    """Head boxes (N, 2, 2) ``[[x0, y0], [x1, y1]]``, 0-based, from the MPII evaluation file.

    Reads ``headboxes_src`` (2, 2, N) of ``detections_our_format.mat`` (the MATLAB PCKh script's
    ground truth); its N = 2958 people are in ``valid.h5``'s row order (0.6 x diagonal equals
    ``normalize`` for every row). PCKh's normaliser is ``0.6 * ||box[1] - box[0]||``.
    """
    import scipy.io

    path = Path(mat_path)
    m = _loadmat(path, scipy.io, squeeze_me=False)
    if "headboxes_src" not in m:
        keys = sorted(k for k in m if not k.startswith("__"))
        raise DataError(f"{path}: no 'headboxes_src' variable (variables: {keys}); expected detections_our_format.mat")
    boxes = np.asarray(m["headboxes_src"], dtype=np.float64)
    if boxes.ndim != 3 or boxes.shape[:2] != (2, 2):
        raise DataError(f"{path}: headboxes_src has shape {boxes.shape}, expected (2, 2, N)")
    if not np.all(np.isfinite(boxes)):
        raise DataError(f"{path}: headboxes_src contains non-finite values")
    return from_one_based(np.ascontiguousarray(boxes.transpose(2, 0, 1)))  # (2, 2, N) -> (N, corner, xy)


def _loadmat(path: Path, scipy_io: Any, **kwargs: Any) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"MATLAB file {path} does not exist; see datasets/mpii.md")
    try:
        return scipy_io.loadmat(path, **kwargs)
    except NotImplementedError:
        raise DataError(f"{path}: MATLAB v7.3 (HDF5) file; re-save it with `save -v7` in MATLAB") from None
    except (ValueError, TypeError, OSError) as e:
        raise DataError(f"{path}: not a readable MATLAB file ({e})") from None


def load_mpii_mat(
    mat_path: str | Path, image_root: str | Path, *, split: str = "train", on_error: str = "raise"
) -> AnnotationSet:
    """Read the official MPII release ``mpii_human_pose_v1_u12_1.mat``.

    The file holds ``RELEASE`` with ``annolist`` (one entry per image: ``image.name``,
    ``annorect``, one struct per person with head box ``x1, y1, x2, y2``,
    ``annopoints.point`` (``x, y`` 1-based, ``id`` 0-15 in MPII order, ``is_visible``),
    ``scale`` and ``objpos.x/y``), ``img_train`` (1 = training image), ``single_person`` (per
    image, 1-based indices of separated people), ``act``, ``video_list``. It is read with
    ``scipy.io.loadmat(squeeze_me=True, struct_as_record=False)``: structs become attribute
    objects and 1-element arrays scalars, so a one-person ``annorect`` or one-point list is a
    single struct, normalised to a list here. ``is_visible`` occurs as 0/1, as '0'/'1' strings
    and empty (= visible, see :mod:`hourglass.data.mpii`).

    Selection: ``split="train"``: every person with at least one annotated point in a training
    image (test images carry no points); ``"test"``: every person with ``objpos`` and ``scale``
    in a test image (no keypoints, for predictions); ``"all"``: both. People not selected are
    counted in an INFO log message. Order: image order, then person order.

    Args:
        mat_path: the release .mat file.
        image_root: folder holding the images (not opened here).
        split: ``"train"``, ``"test"`` or ``"all"``.
        on_error: ``"raise"`` or ``"skip"`` malformed people, logging each.

    Returns:
        :class:`AnnotationSet` of N people, spec MPII; ``extra`` has ``image_index``,
        ``person_index`` (0-based), ``img_train`` and ``single_person`` (bool, None if unknown).
    """
    import scipy.io

    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    path = Path(mat_path)
    collector = _Collector(path, on_error)
    m = _loadmat(path, scipy.io, squeeze_me=True, struct_as_record=False)
    release = m.get("RELEASE")
    if release is None or not hasattr(release, "annolist") or not hasattr(release, "img_train"):
        keys = sorted(k for k in m if not k.startswith("__"))
        raise DataError(
            f"{path}: no RELEASE struct with annolist and img_train (variables: {keys}); "
            "expected the official mpii_human_pose_v1_u12_1.mat"
        )
    annolist = _as_list(release.annolist)
    img_train = np.atleast_1d(np.asarray(release.img_train)).ravel()
    if img_train.shape != (len(annolist),):
        raise DataError(f"{path}: img_train has {img_train.size} entries for {len(annolist)} images")
    single = _single_person(getattr(release, "single_person", None), len(annolist))
    root = Path(image_root)
    left_out = 0
    for i, entry in enumerate(annolist):
        train = bool(img_train[i])
        if split != "all" and train != (split == "train"):
            continue
        name = getattr(getattr(entry, "image", None), "name", None)
        if not isinstance(name, str) or not name:
            collector.fail(f"{path}: annolist[{i}] has no image.name (got {name!r})")
            continue
        for r, rect in enumerate(_as_list(getattr(entry, "annorect", None))):
            where = f"{path}: annolist[{i}] ({name}) annorect[{r}]"
            points = _as_list(getattr(getattr(rect, "annopoints", None), "point", None))
            unplaced = _empty(getattr(rect, "objpos", None)) or _empty(getattr(rect, "scale", None))
            if (train and not points) or (not train and unplaced):
                left_out += 1
                continue
            alone = None if single is None else (r + 1) in single[i]
            extra = {"image_index": i, "person_index": r, "img_train": train, "single_person": alone}
            try:
                collector.records.append(_mat_person(rect, points, root, name, where, extra))
            except DataError as e:
                collector.fail(str(e))
    what = "keypoints (training images) or position (test images)"
    kept = len(collector.records)
    logger.info("%s: %d people in split %r; %d without %s left out", path, kept, split, left_out, what)
    return collector.finish(f"mpii:{split}")


def _as_list(x: Any) -> list[Any]:
    """A squeezed MATLAB array (struct, object array, empty array or None) as a list."""
    if x is None:
        return []
    if isinstance(x, np.ndarray):
        return list(x.ravel()) if x.size else []
    return [x]


def _empty(x: Any) -> bool:
    return x is None or (isinstance(x, np.ndarray) and x.size == 0)


def _number(x: Any, what: str, where: str) -> float:
    if isinstance(x, np.ndarray) and x.size == 1:
        x = x.item()
    if isinstance(x, (bool, str, bytes)) or not isinstance(x, (int, float, np.number)) or not np.isfinite(x):
        raise DataError(f"{where}: {what} must be a finite number, got {x!r}")
    return float(x)


def _single_person(value: Any, n: int) -> list[set[int]] | None:
    """Per image, the set of 1-based person indices in ``single_person``; None if absent."""
    if not isinstance(value, np.ndarray) or value.dtype != object or value.size != n:
        return None
    return [{int(v) for v in np.atleast_1d(np.asarray(e, dtype=np.float64)).ravel()} for e in value.ravel()]


def _mat_person(rect: Any, points: Sequence[Any], root: Path, name: str, where: str, extra: dict) -> Annotation:
    objpos = getattr(rect, "objpos", None)
    if _empty(objpos) or _empty(getattr(rect, "scale", None)):
        raise DataError(f"{where}: annotated person without objpos or scale")
    raw_center = np.array([_number(getattr(objpos, c, None), f"objpos.{c}", where) for c in "xy"])
    raw_scale = _number(rect.scale, "scale", where)
    if raw_scale <= 0:
        raise DataError(f"{where}: scale must be positive, got {raw_scale}")
    xy = np.zeros((K, 2))
    labelled = np.zeros(K, dtype=bool)
    visible = np.zeros(K, dtype=bool)
    for p in points:
        k = _number(getattr(p, "id", None), "point id", where)
        if k != int(k) or not 0 <= k < K:
            raise DataError(f"{where}: point id {k:g} is not an MPII joint id 0-15")
        k = int(k)
        if labelled[k]:
            raise DataError(f"{where}: joint id {k} is annotated twice")
        xy[k] = [_number(getattr(p, c, None), f"point {k} {c}", where) for c in "xy"]
        labelled[k] = True
        visible[k] = _visible_flag(getattr(p, "is_visible", None), k, where)
    headbox = None
    corners = [getattr(rect, c, None) for c in ("x1", "y1", "x2", "y2")]
    if not any(_empty(c) for c in corners):
        headbox = from_one_based(np.array([_number(c, "head box", where) for c in corners]).reshape(2, 2))
    center, scale = mpii_crop_center_scale(from_one_based(raw_center), raw_scale)
    return _record(root, name, from_one_based(xy), labelled, visible, center, scale, where, headbox, extra)


def _visible_flag(v: Any, k: int, where: str) -> bool:
    if _empty(v):
        return True  # left empty for upper_neck/head_top; the original code counts them visible
    if isinstance(v, np.ndarray) and v.size == 1:
        v = v.item()
    if isinstance(v, (str, bytes)):
        v = v.strip()
        v = {"0": 0, "1": 1, b"0": 0, b"1": 1}.get(v, v)
    if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and v in (0, 1):
        return bool(v)
    raise DataError(f"{where}: is_visible of joint {k} must be 0, 1 or empty, got {v!r}")
