"""COCO keypoint results files and OKS AP/AR through pycocotools' ``COCOeval``.

:func:`coco_results` and :func:`write_coco_results` turn predictions into COCO's results
format. Keypoints are written unchanged: COCO's keypoint convention is this library's (see
:mod:`hourglass.data.coco`), and OKS only compares keypoints with keypoints, so results written
here are scored exactly as pycocotools scores any other. :func:`coco_keypoint_ap` scores a
results file or list against a ground-truth file.

Bad input raises :class:`~hourglass.data.records.DataError` naming the file and the entry; a
missing file raises ``FileNotFoundError``.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.coco_json import (
    image_table,
    is_id,
    numeric_rows,
    parse_keypoints,
    plain_id,
    read_json,
    require_list,
)
from hourglass.data.records import DataError
from hourglass.keypoints import COCO

__all__ = [
    "coco_results",
    "write_coco_results",
    "coco_keypoint_ap",
    "KeypointAP",
    "COCO_KEYPOINT_STATS",
]

logger = logging.getLogger("hourglass.data")

COCO_KEYPOINT_STATS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")
"""Names of the 10 numbers of ``COCOeval.summarize()`` for keypoints, in its order."""


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
    ids = [plain_id(i) for i in ids]
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


@dataclass(frozen=True, eq=False)
class _GroundTruth:
    """A checked ground-truth file: what :func:`coco_keypoint_ap` scores against."""

    path: Path
    data: dict[str, Any]  # the whole file (its 'categories' go to COCOeval)
    images: dict[Any, Any]  # image id -> image entry
    anns: list[dict[str, Any]]  # the category's annotations, with num_keypoints and iscrowd filled in
    k: int  # keypoints per annotation


def _gt_annotations(
    anns: list, gt_path: Path, gt_images: dict[Any, Any], category_id: int
) -> tuple[list[dict[str, Any]], list[str], int | None]:
    """The category's annotations, where each is, and K (None: none); DataError for a malformed one."""
    gt_anns = []
    gt_ids: dict[Any, int] = {}
    gt_where: list[str] = []
    k = None
    for i, a in enumerate(anns):
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
    return gt_anns, gt_where, k


def _read_ground_truth(gt_path: Path, category_id: int) -> _GroundTruth:
    """Read and check a ground-truth file; DataError naming the file and the annotation."""
    gt = read_json(gt_path)
    if not isinstance(gt, dict):
        raise DataError(f"{gt_path}: a COCO annotation file is a JSON object, got a {type(gt).__name__}")
    gt_images = image_table(require_list(gt, "images", gt_path), gt_path)
    gt_anns, gt_where, k = _gt_annotations(require_list(gt, "annotations", gt_path), gt_path, gt_images, category_id)
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
    return _GroundTruth(gt_path, gt, gt_images, gt_anns, k)


def _oks_sigmas(sigmas: Any, k: int, gt_path: Path) -> np.ndarray:
    """(K,) OKS constants: ``sigmas``, or COCO's for K = 17; ValueError otherwise."""
    if sigmas is None:
        if k != COCO.num_keypoints:
            raise ValueError(f"{gt_path} has K = {k} keypoints; pass sigmas (K,) for its OKS constants")
        sigmas = COCO.oks_sigmas
    sig = np.asarray(sigmas, dtype=np.float64)
    if sig.shape != (k,) or not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise ValueError(f"sigmas must be K = {k} positive numbers, got {sigmas!r}")
    return sig


def _check_detections(dets: list, source: str, gt: _GroundTruth, category_id: int) -> None:
    """Check every detection (DataError naming ``source[i]``) and give it ``category_id`` where it has none."""
    for i, d in enumerate(dets):
        if not isinstance(d, dict) or any(key not in d for key in ("image_id", "keypoints", "score")):
            raise DataError(
                f"{source}[{i}]: a detection is an object with 'image_id', 'keypoints' and 'score', got {d!r:.200}"
            )
        if not is_id(d["image_id"]) or d["image_id"] not in gt.images:
            raise DataError(
                f"{source}[{i}]: image_id {d['image_id']!r} is not in {gt.path}; results must use its image ids"
            )
        d.setdefault("category_id", category_id)
    values, why = numeric_rows([d["keypoints"] for d in dets], 3 * gt.k, "keypoints [x, y, score] * K")
    det_scores, score_why = numeric_rows([[d["score"]] for d in dets], 1, "score")
    finite = np.all(np.isfinite(values), axis=1) & np.isfinite(det_scores[:, 0])
    for i in np.flatnonzero(~finite):
        reason = why[i] or score_why[i] or f"keypoints and score must be finite numbers, got {dets[i]!r:.200}"
        raise DataError(f"{source}[{i}]: {reason}")


def _select_people(
    gt: _GroundTruth, dets: list, annotation_ids: Any, image_ids: Any
) -> tuple[list[dict[str, Any]], list | None]:
    """The ground truths and image ids to evaluate (see :func:`coco_keypoint_ap`); DataError for unknown ids."""
    gt_anns = gt.anns
    if annotation_ids is not None:
        wanted = {plain_id(i) for i in annotation_ids}
        unknown = sorted(map(str, wanted - {a["id"] for a in gt_anns}))
        if not wanted:
            raise DataError(f"annotation_ids is empty: no person of {gt.path} to evaluate")
        if unknown:
            raise DataError(f"annotation_ids {unknown[:5]} are not people of {gt.path} ({len(unknown)} in all)")
        kept_images = {a["image_id"] for a in gt_anns if a["id"] in wanted}
        gt_anns = [a for a in gt_anns if a["id"] in wanted or (a["iscrowd"] and a["image_id"] in kept_images)]
        image_ids = list(kept_images) if image_ids is None else image_ids
    if image_ids is not None:
        image_ids = list(dict.fromkeys(plain_id(i) for i in image_ids))  # unique, in order
        if not image_ids:
            raise DataError(f"image_ids is empty: nothing of {gt.path} to evaluate (pycocotools would take all)")
        unknown = [i for i in image_ids if not is_id(i) or i not in gt.images]
        if unknown:
            raise DataError(f"image_ids {unknown[:5]!r} are not in {gt.path} ({len(unknown)} in all)")
    else:
        with_people = {a["image_id"] for a in gt_anns if not a["iscrowd"] and a["num_keypoints"] > 0}
        unseen = with_people - {d["image_id"] for d in dets}
        if unseen:
            logger.warning(
                "%d of the %d images with people in %s have no results: their people count as missed "
                "(pass image_ids= to evaluate only the images predicted on)", len(unseen), len(with_people), gt.path,
            )  # fmt: skip
    return gt_anns, image_ids


def _run_cocoeval(
    coco_api: type,
    cocoeval: type,
    gt: _GroundTruth,
    gt_anns: list[dict[str, Any]],
    dets: list,
    sig: np.ndarray,
    category_id: int,
    image_ids: list | None,
) -> KeypointAP:
    """Score checked inputs with pycocotools' ``COCO`` and ``COCOeval`` classes (``coco_api``, ``cocoeval``)."""
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        coco_gt = coco_api()
        coco_gt.dataset = {
            "images": list(gt.images.values()),
            "categories": gt.data.get("categories", []),
            "annotations": gt_anns,
        }
        coco_gt.createIndex()
        if dets:
            coco_dt = coco_gt.loadRes(dets)
        else:  # loadRes cannot take an empty list; no detections scores 0
            coco_dt = coco_api()
            coco_dt.dataset = {
                "images": list(gt.images.values()),
                "categories": gt.data.get("categories", []),
                "annotations": [],
            }
            coco_dt.createIndex()
        ev = cocoeval(coco_gt, coco_dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = sig
        ev.params.catIds = [category_id]
        if image_ids is not None:
            ev.params.imgIds = image_ids
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


def coco_keypoint_ap(
    ann_json: str | os.PathLike,
    results: Any,
    *,
    category_id: int = 1,
    sigmas: Any = None,
    image_ids: Any = None,
    annotation_ids: Any = None,
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
        image_ids: evaluate these images only (pycocotools' ``params.imgIds``), e.g. the ones
            predicted on; None: every image of ``ann_json``, as the official evaluation does,
            where people in images without results count as missed (a warning says how many
            images that is).
        annotation_ids: score against these ground-truth people only (and the crowd regions of
            their images), e.g. the subjects predicted on when a held-out split or a sample cut
            takes some people of an image and not others; ``image_ids`` then defaults to their
            images.

    Returns:
        :class:`KeypointAP`: ``{"AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75",
        "ARm", "ARl"}`` and ``.text``, the summary table pycocotools would print. Its prints
        are captured, never shown; the progress lines go to the ``hourglass.data`` debug log.
    """
    # lazy: pycocotools is slow to import and only needed here; imported first so that a broken
    # install fails before any file is read
    from pycocotools.coco import COCO as CocoApi
    from pycocotools.cocoeval import COCOeval

    gt = _read_ground_truth(Path(ann_json), category_id)
    sig = _oks_sigmas(sigmas, gt.k, gt.path)
    dets, source = _load_results(results)
    _check_detections(dets, source, gt, category_id)
    gt_anns, image_ids = _select_people(gt, dets, annotation_ids, image_ids)
    return _run_cocoeval(CocoApi, COCOeval, gt, gt_anns, dets, sig, category_id, image_ids)
