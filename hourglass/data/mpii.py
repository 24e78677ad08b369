"""MPII Human Pose: the conventions, the community JSON reader and writer, shared record helpers.

Three readers of the same annotations give one :class:`Annotation` per person; the HDF5
reader is in :mod:`hourglass.data.mpii_h5`, the MATLAB readers in :mod:`hourglass.data.mpii_mat`.

Sources (all hold the same people; the readers give identical records for them):

- :func:`load_mpii_json`: the community JSON (HRNet, MMPose, pytorch-pose): a list of
  ``{image, joints (16 x 2), joints_vis (16), center (2), scale}``.
- :func:`~hourglass.data.mpii_h5.load_mpii_h5`: the original stacked-hourglass HDF5
  (``annot/train.h5``, ``valid.h5``).
- :func:`~hourglass.data.mpii_mat.load_mpii_mat`: the official release
  ``mpii_human_pose_v1_u12_1.mat`` (``RELEASE``).

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
  ``extra["head_size"]``. :func:`~hourglass.data.mpii_mat.load_mpii_headboxes` reads
  ``headboxes_src`` of the evaluation file, which is in ``valid.h5``'s row order.
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
from hourglass.geometry import to_one_based
from hourglass.keypoints import MPII

__all__ = [
    "load_mpii_json",
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
