"""The custom dataset format: COCO-style JSON that declares its own keypoint spec.

One JSON file describes the keypoint set, the images and the annotations. The full
specification, with a worked example, is in ``datasets/README.md`` ("Custom datasets");
``datasets/custom_example/`` is a small complete dataset in this format. In short::

    {
      "coordinate_origin": "zero_based_pixel_centers",      # or "one_based"; optional
      "keypoint_spec": {"name": "cartoon_face",
                        "keypoints": ["l_eye", "r_eye", "nose", "l_mouth", "r_mouth"],
                        "flip_pairs": [["l_eye", "r_eye"], ["l_mouth", "r_mouth"]],
                        "skeleton": [["l_eye", "nose"], ["r_eye", "nose"]]},
      "images": [{"id": 1, "file_name": "face_01.png", "width": 160, "height": 120}],
      "annotations": [{"id": 1, "image_id": 1, "keypoints": [x, y, v, ...],
                       "bbox": [x0, y0, w, h]}]                # or "center" + "scale"
    }

Instead of ``keypoint_spec`` a file may describe its keypoints the COCO way, in
``categories[0]``: ``keypoints`` (names), ``skeleton`` (1-based indices, as COCO) and
``flip_pairs`` (keypoint names only, so no index convention can be mistaken).

Coordinates (keypoints, the box corner, the centre) are all in the frame named by
``coordinate_origin`` and converted once, here: ``"zero_based_pixel_centers"`` is this
library's convention (pixel (i, j) centred at (i, j), see :mod:`hourglass.geometry`);
``"one_based"`` is MATLAB's (top-left pixel centre at (1, 1)) and goes through
:func:`hourglass.geometry.from_one_based`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.coco_json import (
    Problems,
    area_problem,
    build_records,
    check_image_files,
    image_table,
    is_id,
    numeric_rows,
    parse_keypoints,
    read_json,
    require_list,
)
from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.geometry import box_to_center_scale, from_one_based
from hourglass.keypoints import KeypointSpec

__all__ = ["load_custom", "spec_from_file", "COORDINATE_ORIGINS"]

logger = logging.getLogger("hourglass.data")

COORDINATE_ORIGINS = ("zero_based_pixel_centers", "one_based")
"""Accepted values of the file's ``coordinate_origin`` (the first is the default)."""

# Optional keys of a COCO category passed on to KeypointSpec.from_dict: those naming keypoints
# (names only, so no index convention can be mistaken) and plain per-keypoint values.
_NAMED_KEYS = ("groups", "eval_exclude", "interocular", "pupils", "torso")
_VALUE_KEYS = ("oks_sigmas", "colors")
# What KeypointSpec.from_dict raises for malformed declarations.
_SPEC_ERRORS = (TypeError, ValueError, AttributeError, KeyError, IndexError)


def _has_index(value: Any) -> bool:
    """Whether a (nested) JSON value holds an integer keypoint index."""
    if isinstance(value, dict):
        return any(_has_index(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_index(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool)


def _check_names(names: Any, where: str) -> None:
    """Keypoint names must be unique strings (checked before pairs and edges refer to them)."""
    if names is None:
        return  # KeypointSpec.from_dict names the missing key
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise DataError(f"{where}: 'keypoints' must be a non-empty list of keypoint names, got {names!r:.200}")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise DataError(f"{where}: duplicate keypoint names {dup}; every keypoint needs its own name")


def _spec_from_category(cat: Mapping[str, Any], path: Path) -> KeypointSpec:
    where = f"{path} categories[0]"
    names = cat.get("keypoints")
    _check_names(names, where)
    if "flip_pairs" not in cat:
        raise DataError(
            f'{where}: missing \'flip_pairs\', the left/right keypoint pairs by name (e.g. [["l_eye", "r_eye"]]); '
            "write [] if no keypoint has a mirror partner"
        )
    if not isinstance(cat["flip_pairs"], list):
        raise DataError(f"{where}: 'flip_pairs' must be a list of [name, name] pairs, got {cat['flip_pairs']!r:.200}")
    for pair in cat["flip_pairs"]:
        if not isinstance(pair, list) or not all(isinstance(n, str) for n in pair):
            raise DataError(
                f"{where}: flip pair {pair!r} must name its keypoints (COCO has no convention for flip indices); "
                "use names, or a top-level 'keypoint_spec' with 0-based indices"
            )
    skeleton = []
    for edge in cat.get("skeleton", []):
        if not isinstance(edge, list) or len(edge) != 2:
            raise DataError(f"{where}: skeleton edge {edge!r} must be a pair")
        ends = []
        for e in edge:
            if isinstance(e, str):
                ends.append(e)
            elif isinstance(e, int) and not isinstance(e, bool) and 1 <= e <= len(names):
                ends.append(names[e - 1])  # COCO skeletons are 1-based
            else:
                raise DataError(
                    f"{where}: skeleton edge {edge!r}: {e!r} is not a keypoint name or a 1-based index in "
                    f"[1, {len(names)}] (COCO category skeletons are 1-based)"
                )
        skeleton.append(ends)
    d: dict[str, Any] = {"name": cat.get("name", path.stem), "keypoints": names, "flip_pairs": cat["flip_pairs"]}
    d["skeleton"] = skeleton
    for key in _NAMED_KEYS:
        if key in cat and _has_index(cat[key]):
            raise DataError(
                f"{where}: {key!r} must refer to keypoints by name in a COCO category (only 'skeleton' takes "
                f"COCO's 1-based indices), got {cat[key]!r:.200}"
            )
    d.update({key: cat[key] for key in _NAMED_KEYS + _VALUE_KEYS if key in cat})
    try:
        return KeypointSpec.from_dict(d)
    except _SPEC_ERRORS as e:
        raise DataError(f"{where}: {e}") from None


def spec_from_file(data: Mapping[str, Any], path: Path) -> KeypointSpec:
    """The keypoint spec a custom-format file declares (``keypoint_spec`` or ``categories[0]``).

    Raises :class:`DataError` naming the file for an unknown name in ``flip_pairs`` or
    ``skeleton``, a flip that is not an involution, duplicate names, or a missing declaration.
    """
    categories = data.get("categories")
    cat = categories[0] if isinstance(categories, list) and categories and isinstance(categories[0], dict) else None
    if "keypoint_spec" in data:
        d = data["keypoint_spec"]
        if not isinstance(d, dict):
            raise DataError(f"{path}: 'keypoint_spec' must be an object, got {type(d).__name__}")
        _check_names(d.get("keypoints"), f"{path} keypoint_spec")
        if "flip_pairs" not in d and "flip_index" not in d:
            raise DataError(
                f"{path} keypoint_spec: missing 'flip_pairs', the left/right keypoint pairs (names or 0-based "
                "indices); write [] if no keypoint has a mirror partner"
            )
        try:
            spec = KeypointSpec.from_dict(d)
        except _SPEC_ERRORS as e:
            raise DataError(f"{path} keypoint_spec: {e}") from None
        if cat is not None and cat.get("keypoints") and tuple(cat["keypoints"]) != spec.names:
            raise DataError(
                f"{path}: categories[0].keypoints {cat['keypoints']!r:.200} differ from keypoint_spec.keypoints "
                f"{list(spec.names)!r:.200}; make them equal or drop one"
            )
        return spec
    if cat is not None and cat.get("keypoints"):
        return _spec_from_category(cat, path)
    raise DataError(
        f"{path}: no keypoint declaration; add a top-level 'keypoint_spec' (name, keypoints, flip_pairs, skeleton) "
        "or a COCO 'categories' entry with 'keypoints', 'skeleton' and 'flip_pairs' (see datasets/README.md)"
    )


@dataclass(frozen=True, eq=False)
class _CustomFile:
    """A custom-format file that passed the file-level checks."""

    origin: str  # its coordinate_origin
    spec: KeypointSpec
    images: dict[Any, dict]  # image id -> image entry
    anns: list  # the 'annotations' list, entries not yet checked


@dataclass(frozen=True, eq=False)
class _Fields:
    """Parsed fields of the usable annotations, indexed like their list ``ok``; file coordinates."""

    xy: np.ndarray  # (M, K, 2), NaN where not labelled
    vis: np.ndarray  # (M, K) int8 visibility
    has_box: np.ndarray  # (M,) bool, a bbox is given
    has_cs: np.ndarray  # (M,) bool, a center and a scale are given
    boxes: np.ndarray  # (M, 4) [x0, y0, w, h], a placeholder row where absent
    centers: np.ndarray  # (M, 2), a placeholder row where absent
    scales: np.ndarray  # (M, 1), a placeholder row where absent
    reasons: list[str | None]  # why the keypoints, bbox, center or scale are malformed, or None
    bad_box: np.ndarray  # (M,) bool, a given bbox is not finite with positive size
    bad_cs: np.ndarray  # (M,) bool, a given center/scale is not finite with a positive scale


def _read_custom_file(path: Path, root: Path, check_images: bool) -> _CustomFile:
    """Read ``path`` and run the file-level checks, which always raise."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: the custom format is a JSON object, got a {type(data).__name__}")
    origin = data.get("coordinate_origin", COORDINATE_ORIGINS[0])
    if origin not in COORDINATE_ORIGINS:
        raise DataError(f"{path}: coordinate_origin must be one of {list(COORDINATE_ORIGINS)}, got {origin!r}")
    spec = spec_from_file(data, path)
    images = image_table(require_list(data, "images", path), path)
    anns = require_list(data, "annotations", path)
    if check_images and not root.is_dir():
        raise FileNotFoundError(f"image root {root} is not a folder; pass the folder holding {path.name}'s images")
    return _CustomFile(origin, spec, images, anns)


def _usable_annotations(f: _CustomFile, path: Path, problems: Problems) -> tuple[list[str], list[int]]:
    """Where each annotation is, and the indices of those with the keys a record needs."""
    where = [f"{path} annotations[{i}]" for i in range(len(f.anns))]
    seen: dict[Any, int] = {}
    ok: list[int] = []
    for i, a in enumerate(f.anns):
        if not isinstance(a, dict):
            problems(where[i], f"an annotation must be an object, got {type(a).__name__}")
            continue
        if "id" in a:
            where[i] += f" (id {a['id']!r})"
            if not is_id(a["id"]):
                problems(where[i], f"id must be an integer or a string, got {a['id']!r}")
                continue
            if a["id"] in seen:
                raise DataError(f"{where[i]}: duplicate annotation id (also annotations[{seen[a['id']]}])")
            seen[a["id"]] = i
        missing = [key for key in ("image_id", "keypoints") if key not in a]
        if missing:
            problems(where[i], f"missing the key(s) {missing} (keys present: {sorted(a)})")
        elif not is_id(a["image_id"]) or a["image_id"] not in f.images:
            problems(where[i], f"image_id {a['image_id']!r} is not in the file's 'images'")
        elif a.get("bbox") is None and (a.get("center") is None or a.get("scale") is None):
            given = [f"{k}: null" for k in ("bbox", "center", "scale") if k in a and a[k] is None]
            problems(
                where[i],
                "give the subject's 'bbox' [x0, y0, w, h], or 'center' [x, y] and 'scale' (200-px units)"
                + (f" (the file has {', '.join(given)})" if given else ""),
            )
        else:
            ok.append(i)
    return where, ok


def _parse_fields(anns: list, ok: list[int], spec: KeypointSpec) -> _Fields:
    """Parse keypoints, bbox, center and scale of the annotations ``ok`` lists."""
    xy, vis, reasons = parse_keypoints([anns[i]["keypoints"] for i in ok], spec.names)
    has_box = np.array([anns[i].get("bbox") is not None for i in ok], dtype=bool)
    has_cs = np.array([anns[i].get("center") is not None and anns[i].get("scale") is not None for i in ok], dtype=bool)
    # Absent fields parse a placeholder row, so every array is indexed like `ok`.
    boxes, box_why = numeric_rows(
        [anns[i]["bbox"] if b else [1, 1, 1, 1] for i, b in zip(ok, has_box, strict=True)], 4, "bbox"
    )
    centers, center_why = numeric_rows(
        [anns[i]["center"] if c else [0, 0] for i, c in zip(ok, has_cs, strict=True)], 2, "center"
    )
    scales, scale_why = numeric_rows(
        [[anns[i]["scale"]] if c else [1] for i, c in zip(ok, has_cs, strict=True)], 1, "scale"
    )
    bad_box = has_box & ~(np.all(np.isfinite(boxes), axis=1) & (boxes[:, 2] > 0) & (boxes[:, 3] > 0))
    bad_cs = has_cs & ~(np.all(np.isfinite(centers), axis=1) & np.isfinite(scales[:, 0]) & (scales[:, 0] > 0))
    why = [r or b or c or s for r, b, c, s in zip(reasons, box_why, center_why, scale_why, strict=True)]
    return _Fields(xy, vis, has_box, has_cs, boxes, centers, scales, why, bad_box, bad_cs)


def _kept_annotations(anns: list, ok: list[int], fields: _Fields, where: list[str], problems: Problems) -> list[int]:
    """Positions in ``ok`` of the well-formed annotations; each malformed one goes to ``problems``."""
    kept: list[int] = []  # positions in `ok`
    for p, i in enumerate(ok):
        a = anns[i]
        why = fields.reasons[p]
        if why is None and fields.bad_box[p]:
            why = f"bbox {a['bbox']!r} must be finite [x0, y0, w, h] with positive width and height"
        if why is None and fields.bad_cs[p]:
            why = f"center {a['center']!r} must be two finite numbers and scale {a['scale']!r} a positive number"
        why = why or area_problem(a.get("area"))
        if why is not None:
            problems(where[i], why)
            continue
        kept.append(p)
    return kept


def _custom_records(
    f: _CustomFile,
    ok: list[int],
    kept: list[int],
    fields: _Fields,
    root: Path,
    where: list[str],
    aspect_ratio: float,
    padding: float,
) -> list[Annotation]:
    """Records of the kept annotations, their coordinates converted to this library's convention."""
    # The one conversion of the file's coordinates into the library's convention.
    kept_arr = np.asarray(kept, dtype=np.int64)
    xy, boxes, centers = fields.xy[kept_arr], fields.boxes[kept_arr], fields.centers[kept_arr]
    if f.origin == "one_based":
        xy = from_one_based(xy)
        boxes[:, :2] = from_one_based(boxes[:, :2])
        centers = from_one_based(centers)
    use_box = fields.has_box[kept_arr] & ~fields.has_cs[kept_arr]  # an explicit centre and scale win over the box
    scale = fields.scales[kept_arr, 0]
    centers[use_box], scale[use_box] = box_to_center_scale(boxes[use_box], aspect_ratio, padding)

    box_list = [boxes[n] if fields.has_box[p] else None for n, p in enumerate(kept)]
    return build_records(
        f.anns, [ok[p] for p in kept], f.images, root, xy, fields.vis[kept_arr], centers, scale, box_list, f.spec,
        where, crowd_flag=False,
    )  # fmt: skip


def load_custom(
    json_path: str | os.PathLike,
    image_root: str | os.PathLike | None = None,
    *,
    aspect_ratio: float = 1.0,
    padding: float = 1.25,
    check_images: bool = True,
    on_error: str = "raise",
) -> AnnotationSet:
    """Load a dataset in the custom JSON format (specified in ``datasets/README.md``).

    Args:
        json_path: the annotation file.
        image_root: folder the images' ``file_name`` are relative to; default the JSON's folder.
        aspect_ratio: W / H of the network input; a ``bbox`` is grown to it before padding.
            It must match the ``PipelineConfig.input_size`` the records are cropped with (the
            training engine's inputs are square: 1.0); nothing checks it, and a wrong
            ratio cuts wide or tall subjects off at the crop's sides.
        padding: ``bbox`` enlargement factor for the crop. Annotations that give ``center``
            and ``scale`` use them as they are.
        check_images: report annotations whose image file is missing, or whose size (from
            its header) differs from the image entry's ``width`` x ``height``
            (:func:`hourglass.data.coco_json.check_image_files`).
        on_error: ``"raise"`` (default) or ``"skip"``: leave out, and log (logger
            ``hourglass.data``), malformed annotations and annotations of missing images.
            File-level problems (bad JSON, bad keypoint spec, duplicate image or annotation
            ids, a bad ``coordinate_origin``) always raise.

    Returns:
        An :class:`AnnotationSet` with the spec the file declares, one record per annotation,
        in file order; ``name`` is ``"custom:<spec name>"``. Records carry ``image_id``,
        ``area`` (when given), ``box`` (when ``bbox`` is given, in this library's convention)
        and ``extra = {"annotation_id", "image_size" (W, H) or None}``.

    Raises:
        FileNotFoundError: the JSON file or ``image_root`` does not exist.
        DataError: anything malformed; the message names the file and the annotation's
            index and id (or the image entry, or the spec field).
    """
    path = Path(json_path)
    root = path.parent if image_root is None else Path(image_root)
    problems = Problems(on_error, path)
    f = _read_custom_file(path, root, check_images)
    where, ok = _usable_annotations(f, path, problems)
    fields = _parse_fields(f.anns, ok, f.spec)
    kept = _kept_annotations(f.anns, ok, fields, where, problems)
    if check_images:
        missing_img = check_image_files(
            [(p, f.anns[ok[p]]["image_id"]) for p in kept], f.images, root, [where[i] for i in ok], problems
        )
        kept = [p for p in kept if p not in missing_img]
    records = _custom_records(f, ok, kept, fields, root, where, aspect_ratio, padding)
    problems.report(len(f.anns), "annotations")
    logger.info("%s: %d annotations loaded (%d skipped), spec %r", path, len(records), problems.count, f.spec.name)
    return AnnotationSet(records, f.spec, f"custom:{f.spec.name}")
