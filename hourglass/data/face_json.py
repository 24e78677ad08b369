"""COCO-style face landmark JSON (MMPose's 300-W/WFLW/COFW files): :func:`load_face_coco_json`.

Coordinates
-----------
300-W ``.pts`` files are 1-based (see :mod:`hourglass.data.pts`).

The COCO-style face JSON of :func:`load_face_coco_json` (MMPose's ``face_landmarks_300w``
conversion, via HRNet's 300-W tables) carries the ``.pts`` values unchanged: its ``bbox`` is
the landmark box grown 1.2x about its centre and its ``center``/``scale`` are the centre and
larger side / 200 of the landmark box rounded outwards to whole numbers, all computed from the
same numbers as the keypoints. We therefore read the JSON as 1-based too (``one_based=True``)
and shift keypoints, ``bbox`` corner and ``center`` by the same -1 (an assumption: no image of
the shared JSON sample has a ``.pts`` to compare with). Pass ``one_based=False`` for a JSON
already in 0-based pixel centres.

The crop (``crop_from``, ``padding``, ``center_shift``) follows the face crop rule of
:mod:`hourglass.data.w300`. No loader here opens an image.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.coco_json import read_json
from hourglass.data.face_crop import _check_crop_options, landmark_center_scale
from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.data.w300 import _check_on_error
from hourglass.geometry import box_to_center_scale, from_one_based
from hourglass.keypoints import W300, KeypointSpec

__all__ = ["load_face_coco_json"]

logger = logging.getLogger("hourglass.data")


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


@dataclass(frozen=True, eq=False)
class _FaceOptions:
    """The checked per-annotation options of :func:`load_face_coco_json`."""

    spec: KeypointSpec
    one_based: bool
    flags: np.ndarray  # the v values meaning "visible"
    crop_from: str
    padding: float
    center_shift: float
    check_images: bool


@dataclass(frozen=True, eq=False)
class _FaceFields:
    """One annotation's checked values, still in the file's coordinate convention."""

    xy: np.ndarray  # (K, 2), NaN where v = 0
    v: np.ndarray  # (K,) visibility flags
    labelled: np.ndarray  # (K,) bool
    box: np.ndarray | None  # (4,) x0, y0, w, h
    center: np.ndarray | None  # (2,)
    raw_scale: Any  # the JSON scale (200-px units), or None
    area: Any  # the JSON area, or None


def _face_options(
    spec: KeypointSpec,
    one_based: bool,
    visible_flags: Sequence[int],
    crop_from: str,
    padding: float,
    center_shift: float,
    check_images: bool,
    on_error: str,
) -> _FaceOptions:
    """Check the loader's options (ValueError naming the bad one) and bundle them."""
    _check_on_error(on_error)
    if crop_from not in ("auto", "center_scale", "landmarks", "bbox"):
        raise ValueError(f"crop_from must be 'auto', 'center_scale', 'landmarks' or 'bbox', got {crop_from!r}")
    _check_crop_options(padding, center_shift)
    flags = np.asarray(list(visible_flags))
    if flags.size == 0 or not np.all(np.isin(flags, (1, 2))):
        raise ValueError(f"visible_flags must be a non-empty subset of (1, 2), got {visible_flags!r}")
    return _FaceOptions(spec, one_based, flags, crop_from, padding, center_shift, check_images)


def _read_face_json(json_path: Path) -> dict[str, Any]:
    """The JSON object, checked to hold 'images' and 'annotations' lists."""
    data = read_json(json_path)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("images"), list)
        or not isinstance(data.get("annotations"), list)
    ):
        raise DataError(f"{json_path}: expected a COCO-style object with 'images' and 'annotations' lists")
    return data


def _image_paths(entries: list, json_path: Path, image_root: Path) -> dict[Any, Path]:
    """Image id -> image path, from the file's 'images' entries (DataError for a bad or repeated one)."""
    images: dict[Any, Path] = {}
    for j, img in enumerate(entries):
        where = f"{json_path}:images[{j}]"
        if not isinstance(img, dict) or "id" not in img or not isinstance(img.get("file_name"), str):
            raise DataError(f"{where}: an image entry needs 'id' and 'file_name'")
        if img["id"] in images:
            raise DataError(f"{where}: image id {img['id']!r} appears twice")
        images[img["id"]] = image_root / img["file_name"]
    return images


def _parse_face(ann: dict[str, Any], spec: KeypointSpec) -> _FaceFields:
    """Keypoints, bbox, center, scale and area of one annotation; ValueError for a bad value."""
    k = spec.num_keypoints
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
    return _FaceFields(xy, v, labelled, box, center, raw_scale, area)


def _face_crop(
    xy: np.ndarray, box: np.ndarray | None, center: np.ndarray | None, raw_scale: Any, opts: _FaceOptions, where: str
) -> tuple[np.ndarray, float]:
    """Crop centre (2,) and scale from 0-based values by ``opts.crop_from``; DataError naming ``where``."""
    if opts.crop_from == "center_scale" and center is None:
        raise DataError(f"{where}: no 'center'/'scale' (crop_from='center_scale'); use crop_from='auto'")
    if opts.crop_from in ("auto", "center_scale") and center is not None:
        return center, float(raw_scale) * opts.padding
    if opts.crop_from == "bbox":
        if box is None or np.any(box[2:] <= 0):
            raise DataError(f"{where}: crop_from='bbox' needs a bbox with positive width and height, got {box}")
        center, scale_arr = box_to_center_scale(box, padding=opts.padding)
        return center, float(scale_arr)
    try:
        center, scale_arr = landmark_center_scale(xy, padding=opts.padding, center_shift=opts.center_shift)
    except ValueError as e:
        raise DataError(f"{where}: cannot take a crop from the landmarks: {e}") from None
    return center, float(scale_arr)


def _face_record(
    ann: Any, where: str, images: dict[Any, Path], exists: dict[Path, bool], opts: _FaceOptions
) -> Annotation:
    """One annotation -> Annotation; DataError naming ``where`` for anything wrong."""
    if not isinstance(ann, dict):
        raise DataError(f"{where}: an annotation must be an object, got {type(ann).__name__}")
    image_id = ann.get("image_id")
    if image_id not in images:
        raise DataError(f"{where}: image_id {image_id!r} is not among the file's images")
    image = images[image_id]
    if opts.check_images:
        if image not in exists:
            exists[image] = image.is_file()
        if not exists[image]:
            raise DataError(f"{where}: image file {image} does not exist; pass image_root= the folder of the images")
    try:
        f = _parse_face(ann, opts.spec)
    except ValueError as e:
        raise DataError(f"{where}: {e}") from None
    xy, box, center = f.xy, f.box, f.center
    if opts.one_based:
        xy = from_one_based(xy)
        if box is not None:
            box = np.concatenate([from_one_based(box[:2]), box[2:]])
        if center is not None:
            center = from_one_based(center)
    center, scale = _face_crop(xy, box, center, f.raw_scale, opts, where)
    return Annotation(
        image=image,
        keypoints=xy,
        labelled=f.labelled,
        visible=f.labelled & np.isin(f.v, opts.flags),
        center=np.asarray(center, dtype=np.float64),
        scale=scale,
        spec=opts.spec,
        source=where,
        box=box,
        area=None if f.area is None else float(f.area),
        image_id=image_id,
        extra={"annotation_id": ann.get("id")},
    )


def _face_records(
    json_path: Path, annotations: list, images: dict[Any, Path], opts: _FaceOptions, on_error: str, name: str
) -> list[Annotation]:
    """A record per usable annotation, in file order; bad ones raise or, with ``"skip"``, are logged."""
    records: list[Annotation] = []
    exists: dict[Path, bool] = {}
    skipped = 0
    for i, ann in enumerate(annotations):
        where = f"{json_path}:annotations[{i}]"
        try:
            records.append(_face_record(ann, where, images, exists, opts))
        except DataError as e:
            if on_error == "raise":
                raise
            skipped += 1
            logger.warning("%s: skipped: %s", name, e)
    if skipped:
        logger.warning(
            "%s: skipped %d of %d annotations in %s (reasons above)", name, skipped, len(annotations), json_path
        )
    return records


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
            :mod:`hourglass.data.w300`) or ``"bbox"`` (the ``bbox`` grown by ``padding``).
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
    opts = _face_options(spec, one_based, visible_flags, crop_from, padding, center_shift, check_images, on_error)
    json_path = Path(json_path)
    image_root = json_path.parent if image_root is None else Path(image_root)
    data = _read_face_json(json_path)
    images = _image_paths(data["images"], json_path, image_root)
    name = f"{spec.name}:{json_path.name}"
    records = _face_records(json_path, data["annotations"], images, opts, on_error, name)
    if not records:
        raise DataError(f"{json_path}: no usable face annotations (of {len(data['annotations'])})")
    return AnnotationSet(records, spec, name)
