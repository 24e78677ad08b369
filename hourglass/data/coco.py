"""COCO person keypoints: loading, writing results, and OKS AP through pycocotools.

Coordinate convention at this boundary
--------------------------------------
COCO stores keypoints as pixel indices: a keypoint at (i, j) lies on the centre of pixel
column i, row j, which is exactly this library's convention (:mod:`hourglass.geometry`), so
keypoints are read and written **unchanged**. COCO boxes ``[x, y, w, h]`` are continuous, with
pixel i covering ``[i, i + 1]``; in this library pixel i covers ``[i - 0.5, i + 0.5]``, so a
box's corner becomes ``(x - 0.5, y - 0.5)`` and its size stays ``(w, h)``. That shift is made
in one place, :func:`coco_box_to_box`. OKS only compares keypoints with keypoints, so results
written by :func:`write_coco_results` are scored exactly as pycocotools scores any other.

Visibility: ``v = 0`` not labelled (coordinates ignored, NaN in the record), ``v = 1``
labelled but not visible, ``v = 2`` labelled and visible.

Bad input raises :class:`~hourglass.data.records.DataError` naming the file and the
annotation (index in ``annotations`` and its ``id``); a missing file raises
``FileNotFoundError``. With ``on_error="skip"`` a malformed annotation or a missing image is
logged (logger ``hourglass.data``) and left out, and the number left out is logged.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.records import Annotation, AnnotationSet, DataError
from hourglass.geometry import box_to_center_scale
from hourglass.keypoints import COCO, KeypointSpec

__all__ = [
    "load_coco",
    "coco_box_to_box",
    "coco_results",
    "write_coco_results",
    "coco_keypoint_ap",
    "KeypointAP",
    "COCO_KEYPOINT_STATS",
]

logger = logging.getLogger("hourglass.data")

COCO_KEYPOINT_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
"""Names of the 10 numbers of ``COCOeval.summarize()`` for keypoints, in its order."""

_VISIBILITY_HELP = "it must be 0 (not labelled), 1 (labelled, not visible) or 2 (labelled and visible)"


# --- shared parsing helpers (also used by hourglass.data.custom) ------------------------------


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
    """Indices (of ``(index, image_id)`` pairs) whose image file is missing, reported per annotation."""
    missing: set[int] = set()
    exists: dict[Any, bool] = {}
    for i, image_id in records:
        if image_id not in exists:
            exists[image_id] = (root / images[image_id]["file_name"]).is_file()
        if not exists[image_id]:
            problems(
                where[i],
                f"image file {root / images[image_id]['file_name']} does not exist; check image_root and file_name "
                "(or pass check_images=False to load annotations without the images)",
            )
            missing.add(i)
    return missing


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


# --- loading --------------------------------------------------------------------------------


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
        padding: box enlargement factor for the crop (1.25, as the common COCO recipes).
        check_images: report annotations whose image file is missing.
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
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(f"{path}: a COCO annotation file is a JSON object, got a {type(data).__name__}")
    images = image_table(require_list(data, "images", path), path)
    anns = require_list(data, "annotations", path)
    person_ids = _person_categories(require_list(data, "categories", path), path)
    if check_images and not root.is_dir():
        raise FileNotFoundError(f"image root {root} is not a folder; pass the folder holding {path.name}'s images")

    # Structural checks per annotation, before pycocotools indexes them.
    where = [f"{path} annotations[{i}]" for i in range(len(anns))]
    seen_ids: dict[Any, int] = {}
    person: list[int] = []
    for i, a in enumerate(anns):
        if not isinstance(a, dict):
            problems(where[i], f"an annotation must be an object, got {type(a).__name__}")
            continue
        if "id" in a:
            where[i] += f" (id {a['id']!r})"
        missing = [k for k in ("id", "image_id", "category_id", "keypoints", "bbox") if k not in a]
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
        if a["category_id"] not in person_ids:
            continue
        if a["image_id"] not in images:
            problems(where[i], f"image_id {a['image_id']!r} is not in the file's 'images'")
            continue
        person.append(i)

    # Index the clean person annotations with pycocotools (its own prints are silenced).
    from pycocotools.coco import COCO as CocoApi

    api = CocoApi()
    api.dataset = {
        "images": list(images.values()),
        "categories": data["categories"],
        "annotations": [anns[i] for i in person],
    }
    with contextlib.redirect_stdout(io.StringIO()):
        api.createIndex()
    index_of = {id(anns[i]): i for i in person}
    order = [index_of[id(a)] for img_id in api.getImgIds() for a in api.imgToAnns.get(img_id, [])]

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
    if check_images:
        missing = check_image_files(
            [(p, anns[order[p]]["image_id"]) for p in kept], images, root, [where[i] for i in order], problems
        )
        kept = [p for p in kept if p not in missing]

    kept_arr = np.asarray(kept, dtype=np.int64)
    box = coco_box_to_box(boxes[kept_arr]) if kept else np.zeros((0, 4))
    center, scale = box_to_center_scale(box, aspect_ratio, padding) if kept else (np.zeros((0, 2)), np.zeros(0))
    records = build_records(
        anns, [order[p] for p in kept], images, root, xy[kept_arr], vis[kept_arr], center, scale,
        list(box), COCO, where, crowd_flag=True,
    )  # fmt: skip
    problems.report(len(anns), "annotations")
    logger.info(
        "%s: %d person instances kept of %d (%d crowd, %d with fewer than %d labelled keypoints, %d skipped)",
        path, len(records), len(order), counts["crowd"], counts["few"], min_keypoints, problems.count,
    )  # fmt: skip
    return AnnotationSet(records, COCO, f"coco:{path.stem}")


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


# --- results --------------------------------------------------------------------------------


def coco_results(
    image_ids: Sequence[Any],
    keypoints: Any,
    scores: Any,
    instance_scores: Any,
    category_id: int = 1,
) -> list[dict[str, Any]]:
    """Predictions -> COCO keypoint results (a list of dicts, ready for ``json.dump``).

    Args:
        image_ids: N COCO image ids (int or str), one per predicted instance.
        keypoints: (N, K, 2) predicted keypoints (x, y), image coordinates in this library's
            convention, which for keypoints is COCO's (written unchanged).
        scores: (N, K) per-keypoint confidences (written as the third value of each triplet).
        instance_scores: (N,) instance scores used to rank detections.
        category_id: COCO category of the predictions (1 = person).

    Returns:
        N dicts ``{"image_id", "category_id", "keypoints": [x, y, score] * K, "score"}``.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (N, K, 2), got {kp.shape}")
    n, k = kp.shape[:2]
    sc = np.asarray(scores, dtype=np.float64)
    inst = np.asarray(instance_scores, dtype=np.float64)
    if sc.shape != (n, k):
        raise ValueError(f"scores must have shape (N, K) = ({n}, {k}), got {sc.shape}")
    if inst.shape != (n,):
        raise ValueError(f"instance_scores must have shape (N,) = ({n},), got {inst.shape}")
    ids = list(image_ids)
    if len(ids) != n:
        raise ValueError(f"got {len(ids)} image ids for {n} predicted instances")
    for name, arr in (("keypoints", kp), ("scores", sc), ("instance_scores", inst)):
        if not np.all(np.isfinite(arr)):
            bad = np.argwhere(~np.isfinite(arr))[0].tolist()
            raise ValueError(f"{name} must be finite; entry {bad} is {arr[tuple(bad)]}")
    ids = [i.item() if isinstance(i, np.generic) else i for i in ids]
    for i in ids:
        if not is_id(i):
            raise ValueError(f"image ids must be integers or strings, got {i!r}")
    flat = np.concatenate([kp, sc[..., None]], axis=-1).reshape(n, 3 * k)  # (N, K*3) as [x, y, s] * K
    return [
        {"image_id": ids[i], "category_id": int(category_id), "keypoints": flat[i].tolist(), "score": float(inst[i])}
        for i in range(n)
    ]


def write_coco_results(
    path: str | os.PathLike,
    image_ids: Sequence[Any],
    keypoints: Any,
    scores: Any,
    instance_scores: Any,
    category_id: int = 1,
) -> Path:
    """Write predictions as a COCO keypoint results JSON (see :func:`coco_results` for the arguments).

    The file is written to a temporary file beside ``path`` and renamed into place, so a
    crash never leaves a half-written results file. Parent folders are created. Returns the path.
    """
    results = coco_results(image_ids, keypoints, scores, instance_scores, category_id)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(results, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return out


# --- evaluation -----------------------------------------------------------------------------


class KeypointAP(dict):
    """The 10 COCO keypoint numbers by name (:data:`COCO_KEYPOINT_STATS`), as floats in [0, 1].

    A number is NaN where pycocotools prints -1 (no ground truth in that area range). The
    ``text`` attribute holds pycocotools' printed summary table.
    """

    text: str = ""


def _load_results(results: Any) -> tuple[list, str]:
    if isinstance(results, (str, os.PathLike)):
        path = Path(results)
        data = read_json(path)
        if not isinstance(data, list):
            raise DataError(f"{path}: COCO results are a JSON list of detections, got a {type(data).__name__}")
        return data, str(path)
    if not isinstance(results, list):
        raise TypeError(f"results must be a JSON file path or a list of dicts, got {type(results).__name__}")
    return copy.deepcopy(results), "results"


def coco_keypoint_ap(
    ann_json: str | os.PathLike,
    results: Any,
    *,
    category_id: int = 1,
    sigmas: Any = None,
) -> KeypointAP:
    """OKS-based keypoint AP/AR with pycocotools' ``COCOeval`` (iouType ``"keypoints"``).

    Args:
        ann_json: COCO ground-truth file (annotations need ``keypoints``, ``bbox``, ``area``;
            where absent, ``num_keypoints`` is the count of ``v > 0`` and ``iscrowd`` is 0).
        results: a results JSON file (e.g. from :func:`write_coco_results`) or the list of
            dicts from :func:`coco_results`; not modified.
        category_id: the category evaluated.
        sigmas: (K,) OKS constants; default :data:`hourglass.keypoints.COCO` ``.oks_sigmas``
            (pycocotools' own), required when K != 17.

    Returns:
        :class:`KeypointAP`: ``{"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75",
        "ARm", "ARl"}`` and ``.text``, the summary table pycocotools would print. Its prints
        are captured, never shown; the progress lines go to the ``hourglass.data`` debug log.
    """
    from pycocotools.coco import COCO as CocoApi
    from pycocotools.cocoeval import COCOeval

    gt_path = Path(ann_json)
    gt = read_json(gt_path)
    if not isinstance(gt, dict):
        raise DataError(f"{gt_path}: a COCO annotation file is a JSON object, got a {type(gt).__name__}")
    gt_images = image_table(require_list(gt, "images", gt_path), gt_path)
    gt_anns = []
    gt_ids: dict[Any, int] = {}
    gt_where: list[str] = []
    k = None
    for i, a in enumerate(require_list(gt, "annotations", gt_path)):
        if not isinstance(a, dict) or a.get("category_id") != category_id:
            continue
        where = f"{gt_path} annotations[{i}] (id {a.get('id')!r})"
        missing = [key for key in ("id", "image_id", "keypoints", "bbox", "area") if key not in a]
        if missing:
            raise DataError(f"{where}: missing the key(s) {missing} needed by COCOeval")
        if not is_id(a["image_id"]) or a["image_id"] not in gt_images:
            raise DataError(f"{where}: image_id {a['image_id']!r} is not in the file's 'images'")
        if not isinstance(a["keypoints"], list) or len(a["keypoints"]) % 3 or (k and len(a["keypoints"]) != 3 * k):
            raise DataError(f"{where}: keypoints must be a flat [x, y, v] * K list, the same K for every annotation")
        k = len(a["keypoints"]) // 3
        if a["id"] in gt_ids:
            raise DataError(f"{where}: duplicate annotation id (also annotations[{gt_ids[a['id']]}])")
        gt_ids[a["id"]] = i
        gt_anns.append(a)
        gt_where.append(where)
    if k is None:
        raise DataError(f"{gt_path}: no annotation with category_id {category_id}; nothing to evaluate")
    names = COCO.names if k == COCO.num_keypoints else tuple(str(j) for j in range(k))
    _, gt_vis, gt_why = parse_keypoints([a["keypoints"] for a in gt_anns], names)
    for where, why in zip(gt_where, gt_why, strict=True):
        if why is not None:
            raise DataError(f"{where}: {why}")
    # COCOeval needs num_keypoints (it ignores ground truths with 0) and iscrowd; fill them in
    # where the file omits them: the count of v > 0, and not crowd.
    gt_anns = [
        {"num_keypoints": int(np.count_nonzero(v)), "iscrowd": 0, **a} for a, v in zip(gt_anns, gt_vis, strict=True)
    ]
    if sigmas is None:
        if k != COCO.num_keypoints:
            raise ValueError(f"{gt_path} has K = {k} keypoints; pass sigmas (K,) for its OKS constants")
        sigmas = COCO.oks_sigmas
    sig = np.asarray(sigmas, dtype=np.float64)
    if sig.shape != (k,) or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"sigmas must be K = {k} positive numbers, got {sigmas!r}")

    dets, source = _load_results(results)
    for i, d in enumerate(dets):
        if not isinstance(d, dict) or any(key not in d for key in ("image_id", "keypoints", "score")):
            raise DataError(
                f"{source}[{i}]: a detection is an object with 'image_id', 'keypoints' and 'score', got {d!r:.200}"
            )
        if not is_id(d["image_id"]) or d["image_id"] not in gt_images:
            raise DataError(
                f"{source}[{i}]: image_id {d['image_id']!r} is not in {gt_path}; results must use its image ids"
            )
        d.setdefault("category_id", category_id)
    values, why = numeric_rows([d["keypoints"] for d in dets], 3 * k, "keypoints [x, y, score] * K")
    det_scores, score_why = numeric_rows([[d["score"]] for d in dets], 1, "score")
    finite = np.all(np.isfinite(values), axis=1) & np.isfinite(det_scores[:, 0])
    for i in np.flatnonzero(~finite):
        reason = why[i] or score_why[i] or f"keypoints and score must be finite numbers, got {dets[i]!r:.200}"
        raise DataError(f"{source}[{i}]: {reason}")

    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        coco_gt = CocoApi()
        coco_gt.dataset = {
            "images": list(gt_images.values()),
            "categories": gt.get("categories", []),
            "annotations": gt_anns,
        }
        coco_gt.createIndex()
        if dets:
            coco_dt = coco_gt.loadRes(dets)
        else:  # loadRes cannot take an empty list; no detections scores 0
            coco_dt = CocoApi()
            coco_dt.dataset = {
                "images": list(gt_images.values()),
                "categories": gt.get("categories", []),
                "annotations": [],
            }
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = sig
        ev.params.catIds = [category_id]
        ev.evaluate()
        ev.accumulate()
        before = log.tell()
        ev.summarize()
    text = log.getvalue()
    logger.debug("pycocotools output:\n%s", text[:before])
    out = KeypointAP(
        {name: (float("nan") if v == -1 else float(v)) for name, v in zip(COCO_KEYPOINT_STATS, ev.stats, strict=True)}
    )
    out.text = text[before:]
    return out
