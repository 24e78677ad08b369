"""The annotation record every loader produces, and the error type for bad data.

Every loader converts its dataset's conventions at the boundary (1-based coordinates,
inverted visibility flags, missing joints stored as (0, 0) or -1) into one record per
subject, in the library's pixel convention (see :mod:`hourglass.geometry`). Missing
keypoints travel as a boolean mask, never as magic coordinates.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hourglass.keypoints import KeypointSpec

__all__ = ["DataError", "Annotation", "AnnotationSet", "drop_missing_images"]


class DataError(ValueError):
    """A dataset file is missing, unreadable or malformed.

    The message always names the file (and line or record index where there is one) and what
    to do about it.
    """


@dataclass(frozen=True, eq=False)
class Annotation:
    """One annotated subject (a face or a person) in one image.

    Attributes:
        image: path of the image file.
        keypoints: (K, 2) float64 image coordinates (x, y), 0-based pixel centres. Entries
            where ``labelled`` is False are NaN.
        labelled: (K,) bool, the keypoint's location is annotated (training targets and
            metrics use this mask).
        visible: (K,) bool, annotated and marked visible (not occluded); a subset of labelled.
        center: (2,) crop centre (x, y) in image coordinates.
        scale: crop scale in units of 200 px (see :func:`hourglass.geometry.crop_matrix`).
        spec: the keypoint spec of ``keypoints``.
        source: where the record came from, for messages: ``"file:line"`` or ``"file[index]"``.
        headbox: (2, 2) MPII head box ``[[x0, y0], [x1, y1]]`` for PCKh, or None.
        box: (4,) subject box (x0, y0, w, h) in continuous coordinates, or None.
        area: segment area (COCO OKS), or None.
        image_id: dataset image identifier, or None.
        subset: dataset subset (e.g. ``"afw"``, ``"helen/trainset"``), or None.
    """

    image: Path
    keypoints: np.ndarray
    labelled: np.ndarray
    visible: np.ndarray
    center: np.ndarray
    scale: float
    spec: KeypointSpec
    source: str
    headbox: np.ndarray | None = None
    box: np.ndarray | None = None
    area: float | None = None
    image_id: Any = None
    subset: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        k = self.spec.num_keypoints
        where = f"{self.source}: "
        if self.keypoints.shape != (k, 2):
            raise DataError(f"{where}expected {k} keypoints of (x, y), got shape {self.keypoints.shape}")
        if self.labelled.shape != (k,) or self.visible.shape != (k,):
            raise DataError(f"{where}visibility masks must have shape ({k},)")
        for name in ("labelled", "visible"):
            if getattr(self, name).dtype != bool:  # an int 0/1 mask would index rows 0 and 1
                raise DataError(f"{where}{name} must be a bool mask, got dtype {getattr(self, name).dtype}; pass v > 0")
        if np.any(self.visible & ~self.labelled):
            raise DataError(f"{where}a keypoint is marked visible but has no annotated location")
        if not np.all(np.isfinite(self.keypoints[self.labelled])):
            raise DataError(f"{where}labelled keypoints contain NaN or infinite coordinates")
        if self.center.shape != (2,) or not np.all(np.isfinite(self.center)):
            raise DataError(f"{where}centre must be two finite numbers, got {self.center}")
        if not (np.isfinite(self.scale) and self.scale > 0):
            raise DataError(f"{where}scale must be positive (units of 200 px), got {self.scale}")
        for arr in (self.keypoints, self.labelled, self.visible, self.center):
            arr.flags.writeable = False


class AnnotationSet(Sequence[Annotation]):
    """An ordered, read-only list of annotations sharing one keypoint spec.

    Args:
        records: the annotations.
        spec: their keypoint spec.
        name: dataset and split, for messages (e.g. ``"300w:train"``).
    """

    def __init__(self, records: Sequence[Annotation], spec: KeypointSpec, name: str) -> None:
        self._records = tuple(records)
        self.spec = spec
        self.name = name
        for r in self._records:
            if r.spec != spec:
                raise DataError(f"{r.source}: keypoint spec {r.spec.name!r} differs from the set's {spec.name!r}")

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return AnnotationSet(self._records[i], self.spec, self.name)
        return self._records[i]

    def __iter__(self) -> Iterator[Annotation]:
        return iter(self._records)

    def __repr__(self) -> str:
        return f"AnnotationSet({self.name!r}, {len(self)} subjects, spec={self.spec.name!r})"

    def keypoints(self) -> np.ndarray:
        """(N, K, 2) float64 keypoints of all subjects (NaN where not labelled)."""
        if not self._records:
            return np.zeros((0, self.spec.num_keypoints, 2))
        return np.stack([r.keypoints for r in self._records])

    def labelled(self) -> np.ndarray:
        """(N, K) bool labelled masks."""
        if not self._records:
            return np.zeros((0, self.spec.num_keypoints), bool)
        return np.stack([r.labelled for r in self._records])

    def subsets(self) -> dict[str, int]:
        """Number of subjects per subset."""
        out: dict[str, int] = {}
        for r in self._records:
            out[r.subset or ""] = out.get(r.subset or "", 0) + 1
        return out


def drop_missing_images(
    annotations: Any, policy: str = "warn", *, split: str = "training", data_root: Any = None, log: bool = True
) -> tuple[Any, int]:
    """Leave out (``policy="warn"``) or reject (``"error"``) the subjects whose image file is missing.

    Each distinct image path is checked once with ``os.path.exists``.

    Args:
        annotations: an :class:`~hourglass.data.AnnotationSet`.
        policy: ``"warn"``: drop those subjects and log a warning (logger ``hourglass.data``)
            with their number and the first three paths; ``"error"``: raise.
        split: which split this is, for messages (``"training"``, ``"validation"``,
            ``"evaluation"``); unless it is ``"validation"``, a set whose images are ALL missing
            always raises, naming ``data_root`` and an example path.
        log: emit the warning (False on the ranks other than 0 of a distributed run).

    Returns:
        the annotation set without the missing subjects, and how many were left out.

    Raises:
        DataError: ``policy="error"`` and an image is missing, or no training image exists.
    """
    if policy not in ("warn", "error"):
        raise ValueError(f"policy must be 'warn' or 'error', got {policy!r}")
    exists = {p: os.path.exists(p) for p in {str(r.image) for r in annotations}}
    missing = [r for r in annotations if not exists[str(r.image)]]
    if not missing:
        return annotations, 0
    files: dict[str, str] = {}  # missing file -> its first record, in record order
    for r in missing:
        files.setdefault(str(r.image), r.source)
    first = [f"{path} ({source})" for path, source in list(files.items())[:3]]
    what = f"{len(missing)} of {len(annotations)} subjects of {annotations.name} ({len(files)} image files)"
    if len(missing) == len(annotations) and split != "validation":
        raise DataError(
            f"none of the {len(exists)} image files of the {split} split {annotations.name} exists, e.g. "
            f"{first[0]}; the data root {data_root} is most likely wrong: pass the folder that holds the "
            f"dataset's images and annotations with --data-root"
        )
    if policy == "error":
        raise DataError(
            f"{what} have no image file, e.g. {', '.join(first)}; restore the images, or pass "
            f"--missing-images warn to go on without those subjects"
        )
    if log:
        logging.getLogger("hourglass.data").warning(
            "%s have no image file and are left out of the %s set, e.g. %s",
            what, split, ", ".join(first),
        )  # fmt: skip
    kept = [r for r in annotations if exists[str(r.image)]]
    return AnnotationSet(kept, annotations.spec, annotations.name), len(missing)
