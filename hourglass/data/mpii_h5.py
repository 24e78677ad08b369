"""MPII Human Pose: the original stacked-hourglass HDF5 files (``annot/train.h5``, ``valid.h5``).

The conventions (1-based points, missing joints, crop-ready centre and scale, head sizes) are
those of :mod:`hourglass.data.mpii`; the records equal the other readers' for the same people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hourglass.data.mpii import K, _Collector, _record
from hourglass.data.records import AnnotationSet, DataError
from hourglass.geometry import from_one_based

__all__ = ["load_mpii_h5"]


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
    ``normalize`` (N, head size = 0.6 x head-box diagonal -> ``extra["head_size"]``, the PCKh
    normaliser that :func:`hourglass.evaluation.evaluate` uses when a record has no head
    box), ``index`` and ``person`` (-> ``extra["image_index"]``, ``extra["person_index"]``). A
    joint annotated exactly at 1-based (0, 0) would read as missing; none is in valid.h5.

    Args:
        h5_path: the HDF5 file (needs ``h5py``: ``pip install h5py`` or ``hourglass[hdf5]``).
        image_root: folder holding the images (not opened here).
        headboxes: optional (N, 2, 2) 0-based head boxes in the file's row order (e.g.
            :func:`~hourglass.data.mpii_mat.load_mpii_headboxes` of ``detections_our_format.mat``
            for ``valid.h5``); checked against ``normalize`` so a different order raises.
        on_error: ``"raise"`` or ``"skip"`` rows with bad values, logging each.

    Returns:
        :class:`AnnotationSet` of N people, spec MPII, in file order.
    """
    try:
        import h5py  # optional dependency (the hdf5 extra)
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
    n = _check_shapes(d, path)
    part = np.asarray(d["part"], dtype=np.float64)
    vis = np.asarray(d["visible"], dtype=np.float64)
    center = np.asarray(d["center"], dtype=np.float64)
    scale = np.asarray(d["scale"], dtype=np.float64)
    labelled = np.any(part != 0, axis=-1)  # (N, K); missing joints are stored as (0, 0)
    head_size = d.get("normalize")
    bad = _bad_rows(part, vis, center, scale, labelled, head_size)
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
        extra = _row_extra(d, i)
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


def _check_shapes(d: dict[str, Any], path: Path) -> int:
    """N, the number of rows; DataError naming a dataset whose shape does not fit it."""
    n = len(d["imgname"])
    shapes = {"center": (n, 2), "scale": (n,), "part": (n, K, 2), "visible": (n, K)}
    shapes.update({k: (n,) for k in ("normalize", "index", "person")})
    for key, arr in d.items():
        if key != "imgname" and np.shape(arr) != shapes[key]:
            raise DataError(f"{path}: dataset {key!r} has shape {np.shape(arr)}, expected {shapes[key]}")
    return n


def _bad_rows(
    part: np.ndarray,
    vis: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    labelled: np.ndarray,
    head_size: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Reason -> (N,) bool mask of the rows it rules out (part (N, K, 2), vis and labelled (N, K))."""
    bad = {
        "non-finite values": ~(np.isfinite(part).all((1, 2)) & np.isfinite(center).all(1) & np.isfinite(vis).all(1)),
        "scale not positive": ~(scale > 0),
        "visible flags not 0/1": ~np.all((vis == 0) | (vis == 1), axis=1),
        "a joint at (0, 0) (missing) marked visible": np.any((vis == 1) & ~labelled, axis=1),
    }
    if head_size is not None:
        size = np.asarray(head_size, dtype=np.float64)
        bad["normalize (head size) not finite and positive"] = ~(np.isfinite(size) & (size > 0))
    return bad


def _row_extra(d: dict[str, Any], i: int) -> dict[str, Any]:
    """``extra`` of row ``i``: image and person index and head size, where the file has them."""
    extra: dict[str, Any] = {}
    for key, field in (("image_index", "index"), ("person_index", "person")):
        if field in d:
            extra[key] = int(d[field][i])
    if "normalize" in d:
        extra["head_size"] = float(d["normalize"][i])
    return extra
