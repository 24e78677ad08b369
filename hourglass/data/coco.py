"""COCO person keypoints: loading ``person_keypoints_*.json`` into records.

Writing results and OKS AP through pycocotools: :mod:`hourglass.data.coco_eval`; the JSON
parsing helpers shared with the custom format: :mod:`hourglass.data.coco_json`.

Coordinate convention at this boundary
--------------------------------------
COCO stores keypoints as pixel indices: a keypoint at (i, j) lies on the centre of pixel
column i, row j, which is exactly this library's convention (:mod:`hourglass.geometry`), so
keypoints are read and written **unchanged**. COCO boxes ``[x, y, w, h]`` are continuous, with
pixel i covering ``[i, i + 1]``; in this library pixel i covers ``[i - 0.5, i + 0.5]``, so a
box's corner becomes ``(x - 0.5, y - 0.5)`` and its size stays ``(w, h)``. That shift is made
in one place, :func:`coco_box_to_box`. OKS only compares keypoints with keypoints, so results
written by :func:`~hourglass.data.coco_eval.write_coco_results` are scored exactly as
pycocotools scores any other.

Visibility: ``v = 0`` not labelled (coordinates ignored, NaN in the record), ``v = 1``
labelled but not visible, ``v = 2`` labelled and visible.

Bad input raises :class:`~hourglass.data.records.DataError` naming the file and the
annotation (index in ``annotations`` and its ``id``); a missing file raises
``FileNotFoundError``. With ``on_error="skip"`` a malformed annotation or a missing image is
logged (logger ``hourglass.data``) and left out, and the number left out is logged.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
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
from hourglass.geometry import box_to_center_scale
from hourglass.keypoints import COCO

__all__ = ["load_coco", "coco_box_to_box"]

logger = logging.getLogger("hourglass.data")


def coco_box_to_box(bbox: np.ndarray) -> np.ndarray:
    """COCO boxes (..., 4) ``[x, y, w, h]`` (pixel i covers [i, i+1]) -> this library's convention.

    The corner moves by half a pixel, ``(x - 0.5, y - 0.5)``; the size is unchanged. The
    result is what :func:`hourglass.geometry.box_to_center_scale` expects.
    """
    b = np.array(bbox, dtype=np.float64)
    if b.shape[-1:] != (4,):
        raise ValueError(f"COCO boxes must have shape (..., 4) as [x, y, w, h], got {b.shape}")
    b[..., :2] -= 0.5  # the one COCO-box shift in the library (see the module docstring)
    return b


def _coco_name(name: Any) -> str:
    s = str(name)
    for long, short in (("left_", "l_"), ("right_", "r_")):
        if s.startswith(long):
            return short + s[len(long) :]
    return s


def _person_categories(categories: list, path: Path) -> set:
    persons = [c for c in categories if isinstance(c, dict) and c.get("name") == "person"]
    if not persons:
        names = [c.get("name") if isinstance(c, dict) else c for c in categories]
        raise DataError(
            f"{path}: no category named 'person' (categories: {names}); COCO keypoints are person instances. "
            "For another keypoint set use hourglass.data.custom.load_custom"
        )
    for c in persons:
        if "id" not in c:
            raise DataError(f"{path}: the 'person' category has no 'id'")
        kp = c.get("keypoints")
        if kp and tuple(_coco_name(n) for n in kp) != COCO.names:
            raise DataError(
                f"{path}: the person category's keypoints {list(kp)} are not COCO's 17 in COCO's order; "
                "load this file with hourglass.data.custom.load_custom and declare its keypoint spec"
            )
    return {c["id"] for c in persons}


@dataclass(frozen=True, eq=False)
class _CocoFile:
    """A COCO keypoints file that passed the file-level checks."""

    data: dict[str, Any]
    images: dict[Any, dict]  # image id -> image entry
    anns: list  # the 'annotations' list, entries not yet checked
    person_ids: set  # ids of the categories named 'person'


@dataclass(frozen=True, eq=False)
class _Instances:
    """Parsed person instances, indexed like the annotation order they were parsed in."""

    xy: np.ndarray  # (M, 17, 2), NaN where not labelled
    vis: np.ndarray  # (M, 17) int8 visibility
    boxes: np.ndarray  # (M, 4) COCO boxes [x, y, w, h]
    kept: list[int]  # positions of the instances kept
    crowd: int  # crowd instances left out
    few: int  # instances left out for too few labelled keypoints


def _read_coco_file(path: Path, root: Path, check_images: bool) -> _CocoFile:
    """Read ``path`` and run the file-level checks, which always raise."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: a COCO annotation file is a JSON object, got a {type(data).__name__}")
    images = image_table(require_list(data, "images", path), path)
    anns = require_list(data, "annotations", path)
    person_ids = _person_categories(require_list(data, "categories", path), path)
    if check_images and not root.is_dir():
        raise FileNotFoundError(f"image root {root} is not a folder; pass the folder holding {path.name}'s images")
    return _CocoFile(data, images, anns, person_ids)


def _person_annotations(f: _CocoFile, path: Path, problems: Problems) -> tuple[list[str], list[int]]:
    """Where each annotation is, and the indices of the structurally sound person annotations."""
    where = [f"{path} annotations[{i}]" for i in range(len(f.anns))]
    seen_ids: dict[Any, int] = {}
    person: list[int] = []
    for i, a in enumerate(f.anns):
        if not isinstance(a, dict):
            problems(where[i], f"an annotation must be an object, got {type(a).__name__}")
            continue
        if "id" in a:
            where[i] += f" (id {a['id']!r})"
        missing = [k for k in ("id", "image_id", "category_id") if k not in a]
        if missing:
            problems(where[i], f"missing the key(s) {missing} (keys present: {sorted(a)})")
            continue
        bad_id = next((key for key in ("id", "image_id", "category_id") if not is_id(a[key])), None)
        if bad_id is not None:
            problems(where[i], f"{bad_id} must be an integer or a string, got {a[bad_id]!r}")
            continue
        if a["id"] in seen_ids:
            raise DataError(f"{where[i]}: duplicate annotation id (also annotations[{seen_ids[a['id']]}])")
        seen_ids[a["id"]] = i
        if a["category_id"] not in f.person_ids:
            continue  # other categories (boxes without keypoints, say) are not this loader's business
        missing = [k for k in ("keypoints", "bbox") if k not in a]
        if missing:
            problems(where[i], f"a person annotation is missing the key(s) {missing} (keys present: {sorted(a)})")
            continue
        if a["image_id"] not in f.images:
            problems(where[i], f"image_id {a['image_id']!r} is not in the file's 'images'")
            continue
        person.append(i)
    return where, person


def _image_order(f: _CocoFile, person: list[int]) -> list[int]:
    """The ``person`` annotation indices in pycocotools' image order (its own prints silenced)."""
    from pycocotools.coco import COCO as CocoApi  # lazy: slow to import, and only needed here

    api = CocoApi()
    api.dataset = {
        "images": list(f.images.values()),
        "categories": f.data["categories"],
        "annotations": [f.anns[i] for i in person],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    index_of = {id(f.anns[i]): i for i in person}
    return [index_of[id(a)] for img_id in api.getImgIds() for a in api.imgToAnns.get(img_id, [])]


def _keep_instances(
    anns: list, order: list[int], where: list[str], problems: Problems, include_crowd: bool, min_keypoints: int
) -> _Instances:
    """Parse keypoints and boxes of the annotations ``order`` lists; leave out crowd, sparse and malformed ones."""
    xy, vis, reasons = parse_keypoints([anns[i]["keypoints"] for i in order], COCO.names)
    boxes, box_reasons = numeric_rows([anns[i]["bbox"] for i in order], 4, "bbox [x, y, w, h]")
    counts = {"crowd": 0, "few": 0}
    kept: list[int] = []  # positions in `order`
    for p, i in enumerate(order):
        a = anns[i]
        if reasons[p] is not None:
            problems(where[i], reasons[p])
            continue
        if a.get("iscrowd", 0) and not include_crowd:
            counts["crowd"] += 1
            continue
        if int(np.count_nonzero(vis[p])) < min_keypoints:
            counts["few"] += 1
            continue
        b = boxes[p]
        if box_reasons[p] is not None:
            problems(where[i], box_reasons[p])
            continue
        if not (np.all(np.isfinite(b)) and b[2] > 0 and b[3] > 0):
            problems(where[i], f"bbox {a['bbox']!r} must be finite with positive width and height")
            continue
        if area_problem(a.get("area")) is not None:
            problems(where[i], area_problem(a.get("area")))
            continue
        kept.append(p)
    return _Instances(xy, vis, boxes, kept, counts["crowd"], counts["few"])


def _person_records(
    f: _CocoFile,
    order: list[int],
    kept: list[int],
    inst: _Instances,
    root: Path,
    where: list[str],
    aspect_ratio: float,
    padding: float,
) -> list[Annotation]:
    """Records of the kept instances, cropped from their boxes in this library's convention."""
    kept_arr = np.asarray(kept, dtype=np.int64)
    box = coco_box_to_box(inst.boxes[kept_arr]) if kept else np.zeros((0, 4))
    center, scale = box_to_center_scale(box, aspect_ratio, padding) if kept else (np.zeros((0, 2)), np.zeros(0))
    return build_records(
        f.anns, [order[p] for p in kept], f.images, root, inst.xy[kept_arr], inst.vis[kept_arr], center, scale,
        list(box), COCO, where, crowd_flag=True,
    )  # fmt: skip


def load_coco(
    ann_json: str | os.PathLike,
    image_root: str | os.PathLike,
    *,
    min_keypoints: int = 1,
    include_crowd: bool = False,
    aspect_ratio: float = 1.0,
    padding: float = 1.25,
    check_images: bool = True,
    on_error: str = "raise",
) -> AnnotationSet:
    """Load the person instances of a COCO keypoints file (e.g. ``person_keypoints_val2017.json``).

    Args:
        ann_json: COCO annotation file.
        image_root: folder holding the images named by ``file_name`` (e.g. ``coco/val2017``).
        min_keypoints: keep instances with at least this many labelled (``v > 0``) keypoints;
            0 keeps every person, including those without keypoints (crop from the box).
        include_crowd: keep ``iscrowd`` instances (left out by default, as in training).
        aspect_ratio: W / H of the network input; the box is grown to it before padding.
            It must match the ``PipelineConfig.input_size`` the records are cropped with (the
            training engine's inputs are square: 1.0); nothing checks it, and a wrong
            ratio cuts wide or tall subjects off at the crop's sides.
        padding: box enlargement factor for the crop (1.25, as the common COCO recipes).
        check_images: report annotations whose image file is missing, or whose size (from
            its header) differs from the image entry's ``width`` x ``height``
            (:func:`hourglass.data.coco_json.check_image_files`).
        on_error: ``"raise"`` (default) or ``"skip"``: leave out, and log, malformed
            annotations and annotations of missing images. File-level problems (bad JSON,
            missing top-level keys, duplicate ids) always raise.

    Returns:
        An :class:`AnnotationSet` with spec :data:`hourglass.keypoints.COCO`, one record per
        kept instance, in the file's image order. Each record has ``box`` (x0, y0, w, h) in
        this library's convention, ``area`` (segment area, for OKS), ``image_id``, and
        ``extra = {"annotation_id", "iscrowd", "image_size" (W, H) or None}``. ``center`` and
        ``scale`` come from :func:`hourglass.geometry.box_to_center_scale`.

    Raises:
        FileNotFoundError: the annotation file or ``image_root`` does not exist.
        DataError: malformed file or annotation; the message names the file and the
            annotation's index and id.
    """
    path = Path(ann_json)
    root = Path(image_root)
    if isinstance(min_keypoints, bool) or not isinstance(min_keypoints, int) or min_keypoints < 0:
        raise ValueError(f"min_keypoints must be a non-negative integer, got {min_keypoints!r}")
    problems = Problems(on_error, path)
    f = _read_coco_file(path, root, check_images)
    where, person = _person_annotations(f, path, problems)  # structural checks, before pycocotools
    order = _image_order(f, person)
    inst = _keep_instances(f.anns, order, where, problems, include_crowd, min_keypoints)
    kept = inst.kept
    if check_images:
        missing = check_image_files(
            [(p, f.anns[order[p]]["image_id"]) for p in kept], f.images, root, [where[i] for i in order], problems
        )
        kept = [p for p in kept if p not in missing]
    records = _person_records(f, order, kept, inst, root, where, aspect_ratio, padding)
    problems.report(len(f.anns), "annotations")
    logger.info(
        "%s: %d person instances kept of %d (%d crowd, %d with fewer than %d labelled keypoints, %d skipped)",
        path, len(records), len(order), inst.crowd, inst.few, min_keypoints, problems.count,
    )  # fmt: skip
    return AnnotationSet(records, COCO, f"coco:{path.stem}")
