"""MPII Human Pose: three readers of the same annotations, one :class:`Annotation` per person.

Sources (all hold the same people; the readers give identical records for them):

- :func:`load_mpii_json`: the community JSON (HRNet, MMPose, pytorch-pose): a list of
  ``{image, joints (16 x 2), joints_vis (16), center (2), scale}``.
- :func:`load_mpii_h5`: the original stacked-hourglass HDF5 (``annot/train.h5``, ``valid.h5``).
- :func:`load_mpii_mat`: the official release ``mpii_human_pose_v1_u12_1.mat`` (``RELEASE``).

Conventions, verified on the shared data (``valid.h5`` rows 0-4 = ``test_mpii.json``; the
2958 ``valid.h5`` rows against ``eval/detections.mat`` and ``eval/detections_our_format.mat``):

- **Every MPII file is 1-based (MATLAB).** The JSON's ``joints`` are *not* 0-based: they equal
  the official evaluation ground truth ``pos_gt_src`` (1-based) to 4e-5 px and the release's
  ``annopoints`` exactly; the JSON's ``center`` is the release's ``objpos``, also 1-based (HRNet
  subtracts 1 from both on loading). ``valid.h5``'s ``part`` is the release's points truncated
  to integers (``part == trunc(x)`` for all 2958 people), so upper_neck and head_top, the only
  non-integer MPII points, lose up to 1 px there. All readers apply
  :func:`hourglass.geometry.from_one_based` once.
- **Missing joints**: absent from the release's point list; (-1, -1) with ``joints_vis`` 0 in
  the JSON; (0, 0) with ``visible`` 0 in the HDF5. ``labelled`` marks annotated joints.
  ``visible`` = annotated and marked visible (``is_visible``). The release leaves
  ``is_visible`` empty for upper_neck and head_top (derived from the head box); those count
  as visible, as in ``valid.h5`` (all 5862 such points have ``visible`` 1 there). The
  community JSON has no occlusion flag (its ``joints_vis`` is the annotated flag), so there
  ``visible == labelled`` unless the file carries the extra ``is_visible`` key written by
  :func:`write_mpii_json`.
- **Crop convention (applied exactly once)**: records hold crop-ready ``center``/``scale``.
  From the raw MPII ``objpos`` and ``scale`` (person height / 200): centre y += 15 * scale, then
  scale *= 1.25 (:func:`mpii_crop_center_scale`). ``valid.h5`` stores them already applied
  (``center == objpos + (0, 15 s)``, ``scale == 1.25 s`` to 0 error); the JSON and the release
  store the raw values.
- **Head boxes**: the release's ``x1, y1, x2, y2`` become ``headbox = [[x1, y1], [x2, y2]] - 1``
  (0-based). ``valid.h5`` has no box, only ``normalize`` = 0.6 x the box diagonal (the PCKh
  head size, not the diagonal; relative error < 4e-7 over 2958 rows), kept as
  ``extra["head_size"]``. :func:`load_mpii_headboxes` reads ``headboxes_src`` of the evaluation
  file, which is in ``valid.h5``'s row order.
- ``extra`` holds ``image_index`` / ``person_index`` (0-based into ``RELEASE.annolist`` and the
  image's ``annorect``; ``valid.h5``'s ``index``/``person``) where the source has them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.geometry import from_one_based, to_one_based
from hourglass.keypoints import MPII

__all__ = [
    "load_mpii_json",
    "load_mpii_h5",
    "load_mpii_mat",
    "load_mpii_headboxes",
    "write_mpii_json",
    "split_by_reference",
    "mpii_crop_center_scale",
    "mpii_raw_center_scale",
    "CENTER_SHIFT",
    "SCALE_PADDING",
]

logger = logging.getLogger("hourglass.data")

CENTER_SHIFT = 15.0
"""The crop centre moves down by ``CENTER_SHIFT * raw_scale`` pixels (original hourglass code)."""
SCALE_PADDING = 1.25
"""The crop scale is ``SCALE_PADDING * raw_scale``."""

K = MPII.num_keypoints  # 16


def mpii_crop_center_scale(objpos: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw MPII person position (..., 2) and scale (...) -> crop-ready centre (..., 2), scale (...).

    Coordinates keep their convention (pass 0-based ``objpos`` to get a 0-based centre).
    """
    objpos = np.asarray(objpos, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    center = objpos + np.stack([np.zeros_like(scale), CENTER_SHIFT * scale], axis=-1)
    return center, SCALE_PADDING * scale


def mpii_raw_center_scale(center: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`mpii_crop_center_scale`: crop-ready centre, scale -> raw objpos, scale."""
    raw = np.asarray(scale, dtype=np.float64) / SCALE_PADDING
    center = np.asarray(center, dtype=np.float64)
    return center - np.stack([np.zeros_like(raw), CENTER_SHIFT * raw], axis=-1), raw


# --- shared helpers ---------------------------------------------------------------------------


def _check_on_error(on_error: str) -> None:
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


class _Collector:
    """Builds records; a bad person raises, or with on_error='skip' is logged and counted."""

    def __init__(self, path: Path, on_error: str) -> None:
        _check_on_error(on_error)
        self.path, self.on_error = path, on_error
        self.records: list[Annotation] = []
        self.skipped = 0

    def fail(self, message: str) -> None:
        if self.on_error == "raise":
            raise DataError(f"{message}; fix the file or pass on_error='skip'") from None
        logger.warning("skipped: %s", message)
        self.skipped += 1

    def finish(self, name: str) -> AnnotationSet:
        if self.skipped:
            logger.warning("%s: skipped %d of %d people", self.path, self.skipped, self.skipped + len(self.records))
        return AnnotationSet(self.records, MPII, name)


def _record(
    image_root: Path,
    name: str,
    points: np.ndarray,
    labelled: np.ndarray,
    visible: np.ndarray,
    center: np.ndarray,
    scale: float,
    source: str,
    headbox: np.ndarray | None = None,
    extra: dict[str, Any] | None = None,
) -> Annotation:
    """An MPII record from 0-based points (16, 2) (ignored where not labelled), crop-ready centre."""
    keypoints = np.where(labelled[:, None], points, np.nan)
    return Annotation(
        image=image_root / name,
        keypoints=keypoints,
        labelled=labelled.copy(),
        visible=visible & labelled,
        center=np.array(center, dtype=np.float64),
        scale=float(scale),
        spec=MPII,
        source=source,
        headbox=headbox,
        image_id=name,
        extra=extra or {},
    )


def _number_array(value: Any, shape: tuple[int, ...], what: str, where: str) -> np.ndarray:
    """A float64 array of the given shape from JSON data, or DataError naming the value."""
    arr = None
    if not isinstance(value, (bool, str)):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            pass
    if arr is None or arr.shape != shape:
        raise DataError(f"{where}: {what} must be numbers of shape {shape}, got {str(value)[:80]}")
    return arr


def _flags(value: Any, what: str, where: str) -> np.ndarray:
    arr = _number_array(value, (K,), what, where)
    if not np.all((arr == 0) | (arr == 1)):
        raise DataError(f"{where}: {what} must be 16 flags of 0 or 1, got {value}")
    return arr == 1


# --- community JSON ---------------------------------------------------------------------------


def load_mpii_json(
    json_path: str | Path, image_root: str | Path, *, one_based: bool = True, on_error: str = "raise"
) -> AnnotationSet:
    """Read the community MPII JSON (HRNet / MMPose ``annot/{train,valid,test}.json``).

    Each entry: ``image`` (file name under ``image_root``), ``center`` (2) and ``scale`` (raw MPII
    objpos and person scale), and, except in test files, ``joints`` (16 x 2) with ``joints_vis``
    (16 flags, 1 = annotated; coordinates of 0-flagged joints are ignored). Optional keys
    written by :func:`write_mpii_json`: ``is_visible`` (16 flags), ``headbox``
    ([[x1, y1], [x2, y2]]), ``image_index``, ``person_index``.

    Args:
        json_path: the JSON file.
        image_root: folder holding the images (not opened here).
        one_based: the file's coordinates are MATLAB 1-based, as in every community MPII file
            (see the module docstring); pass False only for a file you wrote 0-based.
        on_error: ``"raise"`` (default) or ``"skip"`` bad entries, logging each.

    Returns:
        :class:`AnnotationSet` of N people, spec MPII, in file order, crop-ready centre/scale.
    """
    path = Path(json_path)
    collector = _Collector(path, on_error)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"MPII annotation file {path} does not exist; see datasets/mpii.md") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    if not isinstance(data, list):
        raise DataError(f"{path}: expected a JSON list of people, got {type(data).__name__}")
    offset = 1.0 if one_based else 0.0
    root = Path(image_root)
    for i, entry in enumerate(data):
        where = f"{path}[{i}]"
        try:
            collector.records.append(_json_entry(entry, where, root, offset))
        except DataError as e:
            collector.fail(str(e))
    return collector.finish(f"mpii:{path.stem}")


def _json_entry(entry: Any, where: str, root: Path, offset: float) -> Annotation:
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected an object, got {type(entry).__name__}")
    missing = [k for k in ("image", "center", "scale") if k not in entry]
    if missing:
        raise DataError(f"{where}: missing keys {missing} (keys present: {sorted(entry)})")
    name = entry["image"]
    if not isinstance(name, str) or not name:
        raise DataError(f"{where}: 'image' must be a file name, got {name!r}")
    objpos = _number_array(entry["center"], (2,), "'center'", where)
    scale = _number_array(entry["scale"], (), "'scale'", where)
    if np.all(objpos == -1):
        raise DataError(f"{where}: center is [-1, -1], i.e. the person has no position")
    if not (np.all(np.isfinite(objpos)) and np.isfinite(scale) and scale > 0):
        raise DataError(f"{where}: center must be finite and scale positive, got {objpos.tolist()}, {float(scale)}")
    if ("joints" in entry) != ("joints_vis" in entry):
        raise DataError(f"{where}: 'joints' and 'joints_vis' must be given together")
    if "joints" in entry:
        joints = _number_array(entry["joints"], (K, 2), "'joints'", where)
        labelled = _flags(entry["joints_vis"], "'joints_vis'", where)
        if not np.all(np.isfinite(joints[labelled])):
            raise DataError(f"{where}: annotated joints must have finite coordinates")
    else:
        joints, labelled = np.zeros((K, 2)), np.zeros(K, dtype=bool)
    visible = labelled
    if "is_visible" in entry:
        visible = _flags(entry["is_visible"], "'is_visible'", where)
        if np.any(visible & ~labelled):
            raise DataError(f"{where}: 'is_visible' marks joints that 'joints_vis' says are not annotated")
    headbox = None
    if entry.get("headbox") is not None:
        headbox = _number_array(entry["headbox"], (2, 2), "'headbox'", where) - offset
    extra = {k: int(entry[k]) for k in ("image_index", "person_index") if isinstance(entry.get(k), int)}
    center, crop_scale = mpii_crop_center_scale(objpos - offset, scale)
    return _record(root, name, joints - offset, labelled, visible, center, crop_scale, where, headbox, extra)


def write_mpii_json(annotations: Iterable[Annotation], json_path: str | Path) -> Path:
    """Write MPII records in the community JSON layout (1-based, raw centre and scale).

    The inverse of :func:`load_mpii_json`: missing joints are written as (-1, -1) with
    ``joints_vis`` 0; the extra keys ``is_visible``, ``headbox`` (when known), ``image_index`` and
    ``person_index`` (when in ``extra``) keep what the plain layout loses. Other readers of the
    layout ignore them. Returns the path written.
    """
    out = []
    for a in annotations:
        if a.spec != MPII:
            raise ValueError(f"{a.source}: write_mpii_json writes MPII records, got spec {a.spec.name!r}")
        objpos, scale = mpii_raw_center_scale(a.center, a.scale)
        joints = np.where(a.labelled[:, None], to_one_based(a.keypoints), -1.0)
        entry: dict[str, Any] = {
            "image": a.image.name,
            "center": to_one_based(objpos).tolist(),
            "scale": float(scale),
            "joints": joints.tolist(),
            "joints_vis": a.labelled.astype(int).tolist(),
            "is_visible": a.visible.astype(int).tolist(),
        }
        if a.headbox is not None:
            entry["headbox"] = to_one_based(np.asarray(a.headbox, dtype=np.float64)).tolist()
        entry.update({k: int(a.extra[k]) for k in ("image_index", "person_index") if k in a.extra})
        out.append(entry)
    path = Path(json_path)
    path.write_text(json.dumps(out), encoding="utf-8")
    return path


def split_by_reference(
    people: Sequence[Annotation], reference: Sequence[Annotation], *, allow_missing: bool = False
) -> tuple[list[Annotation], list[Annotation]]:
    """Separate the people of ``reference`` (e.g. ``valid.h5``) from ``people`` (e.g. the release).

    People are matched by ``extra["image_index"]`` and ``extra["person_index"]`` (the release's
    annolist / annorect indices, which ``valid.h5`` stores as ``index`` / ``person``), and the
    image names must agree.

    Returns:
        ``(matched, rest)``: the matched people in ``reference``'s order, and the others in
        ``people``'s order.

    Raises:
        ValueError: a record lacks the indices, a matched image name differs, or (unless
            ``allow_missing``, which logs a warning instead) a reference person is not found.
    """

    def key(a: Annotation) -> tuple[int, int]:
        if "image_index" not in a.extra or "person_index" not in a.extra:
            raise ValueError(f"{a.source}: record has no image_index/person_index to match people by")
        return int(a.extra["image_index"]), int(a.extra["person_index"])

    by_key = {key(a): a for a in people}
    matched, missing = [], []
    for ref in reference:
        a = by_key.get(key(ref))
        if a is None:
            missing.append(ref)
            continue
        if a.image.name != ref.image.name:
            raise ValueError(
                f"{ref.source} is image {ref.image.name!r} but {a.source} is {a.image.name!r}: the two files "
                "come from different MPII releases"
            )
        matched.append(a)
    if missing:
        message = f"{len(missing)} of {len(reference)} reference people not found (first: {missing[0].source})"
        if not allow_missing:
            raise ValueError(f"{message}; pass allow_missing=True to keep the others")
        logger.warning("%s", message)
    taken = {id(a) for a in matched}
    return matched, [a for a in people if id(a) not in taken]


# --- stacked-hourglass HDF5 ---------------------------------------------------------------------


def load_mpii_h5(
    h5_path: str | Path,
    image_root: str | Path,
    *,
    headboxes: np.ndarray | None = None,
    on_error: str = "raise",
) -> AnnotationSet:
    """Read the original stacked-hourglass MPII HDF5 (``annot/train.h5``, ``annot/valid.h5``).

    Datasets used: ``imgname`` (N), ``center`` (N, 2) and ``scale`` (N) already crop-ready,
    ``part`` (N, 16, 2) 1-based with missing joints at (0, 0), ``visible`` (N, 16); optional
    ``normalize`` (N, head size = 0.6 x head-box diagonal -> ``extra["head_size"]``), ``index``
    and ``person`` (-> ``extra["image_index"]``, ``extra["person_index"]``). A joint annotated
    exactly at 1-based (0, 0) would read as missing; none is in valid.h5.

    Args:
        h5_path: the HDF5 file (needs ``h5py``: ``pip install h5py`` or ``hourglass[hdf5]``).
        image_root: folder holding the images (not opened here).
        headboxes: optional (N, 2, 2) 0-based head boxes in the file's row order (e.g.
            :func:`load_mpii_headboxes` of ``detections_our_format.mat`` for ``valid.h5``);
            checked against ``normalize`` so a different order raises.
        on_error: ``"raise"`` or ``"skip"`` rows with bad values, logging each.

    Returns:
        :class:`AnnotationSet` of N people, spec MPII, in file order.
    """
    try:
        import h5py
    except ImportError as e:
        raise ImportError("load_mpii_h5 needs h5py: `pip install h5py` (or install the `hourglass[hdf5]` extra)") from e
    path = Path(h5_path)
    collector = _Collector(path, on_error)
    if not path.is_file():
        raise FileNotFoundError(f"MPII HDF5 file {path} does not exist; see datasets/mpii.md")
    try:
        with h5py.File(path, "r") as f:
            needed = ("imgname", "center", "scale", "part", "visible")
            absent = [k for k in needed if k not in f]
            if absent:
                raise DataError(
                    f"{path}: missing datasets {absent} (present: {sorted(f)}); is this an MPII annot file?"
                )
            d = {k: f[k][()] for k in (*needed, "normalize", "index", "person") if k in f}
    except OSError as e:
        raise DataError(f"{path}: not a readable HDF5 file ({e})") from None
    n = len(d["imgname"])
    shapes = {"center": (n, 2), "scale": (n,), "part": (n, K, 2), "visible": (n, K)}
    shapes.update({k: (n,) for k in ("normalize", "index", "person")})
    for key, arr in d.items():
        if key != "imgname" and np.shape(arr) != shapes[key]:
            raise DataError(f"{path}: dataset {key!r} has shape {np.shape(arr)}, expected {shapes[key]}")
    part = np.asarray(d["part"], dtype=np.float64)
    vis = np.asarray(d["visible"], dtype=np.float64)
    center = np.asarray(d["center"], dtype=np.float64)
    scale = np.asarray(d["scale"], dtype=np.float64)
    labelled = np.any(part != 0, axis=-1)  # (N, K); missing joints are stored as (0, 0)
    bad = {
        "non-finite values": ~(np.isfinite(part).all((1, 2)) & np.isfinite(center).all(1) & np.isfinite(vis).all(1)),
        "scale not positive": ~(scale > 0),
        "visible flags not 0/1": ~np.all((vis == 0) | (vis == 1), axis=1),
        "a joint at (0, 0) (missing) marked visible": np.any((vis == 1) & ~labelled, axis=1),
    }
    head_size = d.get("normalize")
    if headboxes is not None:
        headboxes = _check_headboxes(headboxes, n, head_size, path)
    points = from_one_based(part)
    center = from_one_based(center)
    for i in range(n):
        where = f"{path}[{i}]"
        reasons = [reason for reason, mask in bad.items() if mask[i]]
        if reasons:
            collector.fail(f"{where}: {', '.join(reasons)}")
            continue
        extra: dict[str, Any] = {}
        for key, field in (("image_index", "index"), ("person_index", "person")):
            if field in d:
                extra[key] = int(d[field][i])
        if head_size is not None:
            extra["head_size"] = float(head_size[i])
        name = d["imgname"][i]
        name = name.decode("ascii") if isinstance(name, bytes) else str(name)
        hb = None if headboxes is None else headboxes[i].copy()
        collector.records.append(
            _record(Path(image_root), name, points[i], labelled[i], vis[i] == 1, center[i], scale[i], where, hb, extra)
        )
    return collector.finish(f"mpii:{path.stem}")


def _check_headboxes(headboxes: np.ndarray, n: int, head_size: np.ndarray | None, path: Path) -> np.ndarray:
    boxes = np.asarray(headboxes, dtype=np.float64)
    if boxes.shape != (n, 2, 2):
        raise ValueError(f"headboxes must have shape ({n}, 2, 2) for the {n} rows of {path}, got {boxes.shape}")
    if head_size is not None:
        size = 0.6 * np.linalg.norm(boxes[:, 1] - boxes[:, 0], axis=-1)
        wrong = np.nonzero(np.abs(size - head_size) > 1e-3 * np.maximum(head_size, 1.0))[0]
        if wrong.size:
            i = int(wrong[0])
            raise ValueError(
                f"headboxes do not match {path}: row {i} has 0.6 x diagonal {size[i]:.3f} but normalize "
                f"{head_size[i]:.3f} ({wrong.size} rows differ); pass head boxes in the file's row order"
            )
    return boxes


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


# --- official release ---------------------------------------------------------------------------


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
    and empty (= visible, see the module docstring).

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
