"""Boxes: the (x0, y0, w, h) convention, overlap, suppression, and boxes a user gives.

Every box is ``(x0, y0, w, h)`` float64 in the library's pixel convention
(:mod:`hourglass.geometry`): pixel (i, j) has its centre at (i, j) and covers
``[i - 0.5, i + 0.5]``, ``(x0, y0)`` is the box's top-left *corner*, so a box tightly around
pixels ``i0..i1`` has ``x0 = i0 - 0.5`` and ``w = i1 - i0 + 1``, exactly as
:func:`hourglass.geometry.box_to_center_scale` reads it. Boxes given by a user (``--box``,
the JSON file) are read in this same convention; COCO files put pixel i on ``[i, i + 1]`` and
are half a pixel off (convert with :func:`hourglass.data.coco.coco_box_to_box`).

- :func:`box_iou`, :func:`nms`, :func:`boxes_inside`: overlap, greedy suppression, clipping.
- :func:`keypoint_boxes`: the tight box of each subject's (finite) keypoints.
- :func:`parse_box` (``--box x,y,w,h``), :func:`load_boxes_json` (a file of boxes per image)
  and :func:`lookup_boxes` (an image's entry in that file).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["box_iou", "nms", "boxes_inside", "keypoint_boxes", "parse_box", "load_boxes_json", "lookup_boxes"]


# ----------------------------------------------------------------------------- box helpers


def _as_boxes(boxes: Any, what: str = "boxes") -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim == 1 and b.shape == (4,):
        b = b[None]
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{what} must have shape (N, 4) as (x0, y0, w, h), got {b.shape}")
    return b


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every pair of boxes.

    Args:
        a: (N, 4) boxes (x0, y0, w, h).
        b: (M, 4) boxes (x0, y0, w, h).

    Returns:
        (N, M) float64 IoU; 0 where a box has no area.
    """
    a, b = _as_boxes(a, "a"), _as_boxes(b, "b")
    lo = np.maximum(a[:, None, :2], b[None, :, :2])  # (N, M, 2)
    hi = np.minimum(a[:, None, :2] + a[:, None, 2:], b[None, :, :2] + b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0.0, None), axis=-1)  # (N, M)
    union = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> np.ndarray:
    """Greedy non-maximum suppression.

    Boxes are visited from the highest score down (ties keep input order); a box is kept
    unless its IoU with an already kept box exceeds ``iou_threshold``.

    Args:
        boxes: (N, 4) boxes (x0, y0, w, h).
        scores: (N,) scores.
        iou_threshold: overlap above which the lower-scoring box is dropped, in [0, 1].

    Returns:
        (M,) int64 indices into ``boxes`` of the kept boxes, highest score first.
    """
    boxes = _as_boxes(boxes)
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(boxes),):
        raise ValueError(f"scores must have shape ({len(boxes)},) to match the boxes, got {scores.shape}")
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold!r}")
    order = np.argsort(-scores, kind="stable")
    over = box_iou(boxes[order], boxes[order]) > iou_threshold  # (N, N) in score order
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):  # one vectorised row per kept box; N is a handful of detections
        if not suppressed[i]:
            keep.append(i)
            suppressed |= over[i]
    return order[np.asarray(keep, dtype=np.int64)]


def keypoint_boxes(points: Any) -> np.ndarray:
    """The box (x0, y0, w, h) spanning each subject's finite keypoints, corner to corner.

    Args:
        points: (N, K, 2) keypoints (x, y); NaN rows (unlabelled or missing) are left out.

    Returns:
        (N, 4) float64: ``(min x, min y, max x - min x, max y - min y)``; NaN for a subject
        without a finite keypoint. (This is the keypoint box that training crops are framed on:
        as a given box, :func:`hourglass.detect.user_box_to_center_scale` frames it so.)
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 3 or p.shape[-1] != 2:
        raise ValueError(f"points must have shape (N, K, 2), got {p.shape}")
    finite = np.isfinite(p).all(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        lo = np.where(finite, p, np.inf).min(axis=1)
        hi = np.where(finite, p, -np.inf).max(axis=1)
        out = np.concatenate([lo, hi - lo], axis=1)
    return np.where(np.isfinite(out).all(axis=1, keepdims=True), out, np.nan)


def boxes_inside(boxes: np.ndarray, image_size: Sequence[int]) -> np.ndarray:
    """Clip boxes (N, 4) to an image of size (W, H), i.e. to ``[-0.5, W - 0.5] x [-0.5, H - 0.5]``.

    Returns (N, 4) float64 boxes; a box entirely outside gets zero width or height.
    """
    b = _as_boxes(boxes)
    w, h = (float(v) for v in image_size)
    lo = np.array([-0.5, -0.5])
    hi = np.array([w - 0.5, h - 0.5])
    x0 = np.clip(b[:, :2], lo, hi)
    x1 = np.clip(b[:, :2] + b[:, 2:], lo, hi)
    return np.concatenate([x0, x1 - x0], axis=1)


# ----------------------------------------------------------------------------- user boxes

_BOX_FORM = "'x,y,w,h' (four numbers separated by commas, e.g. '120,80,200,260': top-left corner, width, height)"


def _check_box_values(values: np.ndarray) -> str | None:
    """Why a (4,) box is unusable, or None."""
    if not np.all(np.isfinite(values)):
        return "every value must be a finite number"
    if values[2] <= 0 or values[3] <= 0:
        return f"width and height must be > 0, got w={values[2]:g}, h={values[3]:g}"
    return None


def parse_box(text: str) -> np.ndarray:
    """Parse a box given as text, ``"x,y,w,h"`` (spaces allowed around the numbers).

    Returns:
        (4,) float64 ``(x0, y0, w, h)`` in the module's pixel convention.

    Raises:
        ValueError: not four comma-separated numbers, a non-finite value, or ``w``/``h`` <= 0;
            the message quotes the text and shows the expected form.
    """
    if not isinstance(text, str):
        raise TypeError(f"a box is given as text {_BOX_FORM}, got {type(text).__name__}")
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"box {text!r}: expected {_BOX_FORM}, got {len(parts)} value(s)")
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        bad = next(p for p in parts if not _is_float(p))
        raise ValueError(f"box {text!r}: {bad!r} is not a number; expected {_BOX_FORM}") from None
    why = _check_box_values(values)
    if why:
        raise ValueError(f"box {text!r}: {why}; expected {_BOX_FORM}")
    return values


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _json_box(value: Any, where: str) -> np.ndarray:
    if (
        not isinstance(value, (list, tuple))
        or len(value) != 4
        or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value)
    ):
        raise ValueError(f"{where}: a box must be a list of four numbers [x, y, w, h], got {value!r:.120}")
    arr = np.asarray(value, dtype=np.float64)
    why = _check_box_values(arr)
    if why:
        raise ValueError(f"{where}: box {value!r}: {why}")
    return arr


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice; give all boxes of an image in one list")
        out[key] = value
    return out


def load_boxes_json(path: str | Path) -> dict[str, np.ndarray]:
    """Read subject boxes per image from a JSON file.

    Two layouts are accepted (boxes ``[x, y, w, h]`` in the module's pixel convention)::

        {"photo1.jpg": [[10, 20, 100, 120], [200, 30, 90, 110]], "photo2.jpg": []}

        [{"image": "photo1.jpg", "bbox": [10, 20, 100, 120]},
         {"image": "photo1.jpg", "bbox": [200, 30, 90, 110], "score": 0.9}]

    Image names are kept as written (a path or a base name); look them up with
    :func:`lookup_boxes`. In the list layout other keys (``score``, ...) are ignored.

    Returns:
        image name -> (N, 4) float64 boxes (N may be 0 in the object layout), in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: invalid JSON, another layout, an entry that is not a list of boxes, a box
            that is not four numbers or has a size <= 0, a repeated image key; the message
            names the file and the entry.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"box file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{path}: cannot read the file as UTF-8 text ({e})") from None
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None

    out: dict[str, np.ndarray] = {}
    if isinstance(data, dict):
        for name, boxes in data.items():
            where = f"{path}: entry {name!r}"
            if not isinstance(boxes, list):
                raise ValueError(f"{where}: expected a list of boxes [[x, y, w, h], ...], got {boxes!r:.120}")
            if len(boxes) == 4 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in boxes):
                raise ValueError(f"{where}: {boxes!r} is one box, not a list of boxes; write [{boxes!r}]")
            out[name] = np.array([_json_box(b, f"{where}[{i}]") for i, b in enumerate(boxes)]).reshape(-1, 4)
        return out
    if isinstance(data, list):
        lists: dict[str, list[np.ndarray]] = {}
        for i, entry in enumerate(data):
            where = f"{path}: entry [{i}]"
            if not isinstance(entry, dict) or not isinstance(entry.get("image"), str) or "bbox" not in entry:
                raise ValueError(
                    f'{where}: expected an object {{"image": "<file name>", "bbox": [x, y, w, h]}}, got {entry!r:.120}'
                )
            lists.setdefault(entry["image"], []).append(_json_box(entry["bbox"], f"{where} ({entry['image']!r})"))
        return {name: np.stack(boxes) for name, boxes in lists.items()}
    raise ValueError(
        f"{path}: expected an object mapping image names to lists of [x, y, w, h] boxes, or a list of "
        f'{{"image": ..., "bbox": [x, y, w, h]}} objects; got a JSON {type(data).__name__}'
    )


def lookup_boxes(table: dict[str, np.ndarray], image: str | Path) -> np.ndarray | None:
    """The boxes of ``image`` in a :func:`load_boxes_json` table, or None when it has none.

    Tried in order: the path as given, then its base name, then keys whose base name equals
    the image's base name (one such key only).

    Raises:
        ValueError: several keys share the image's base name (the file must use paths).
    """
    image = Path(image)
    for key in (str(image), image.as_posix(), image.name):
        if key in table:
            return table[key]
    same = [k for k in table if Path(k).name == image.name]
    if len(same) > 1:
        raise ValueError(f"boxes for {image} are ambiguous: keys {same} share its base name; use the full path")
    return table[same[0]] if same else None
