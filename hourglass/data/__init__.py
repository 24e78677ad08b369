"""Dataset loaders, the training-sample pipeline and the torch dataset.

Every loader returns an :class:`AnnotationSet` of :class:`Annotation` records in the library's
pixel convention. :func:`load_dataset` picks the loader by name from a dataset root laid out as
``datasets/README.md`` describes; the per-format loaders take explicit file paths.
Submodules load lazily, so importing this package is cheap and has no side effects.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from hourglass.data.records import Annotation, AnnotationSet, DataError, drop_missing_images

_EXPORTS = {
    "read_image": "io",
    "load_300w": "w300",
    "load_face_coco_json": "face_json",
    "read_pts": "pts",
    "load_mpii_json": "mpii",
    "load_mpii_h5": "mpii_h5",
    "load_mpii_mat": "mpii_mat",
    "load_mpii_headboxes": "mpii_mat",
    "load_lsp": "lsp",
    "split_indices": "splits",
    "hold_out": "splits",
    "lspet_split": "lsp",
    "load_coco": "coco",
    "write_coco_results": "coco_eval",
    "coco_keypoint_ap": "coco_eval",
    "load_custom": "custom",
    "PipelineConfig": "pipeline_config",
    "TopDownPipeline": "pipeline",
    "KeypointDataset": "dataset",
}
DATASETS = ("300w", "mpii", "lsp", "lspet", "coco", "custom")

__all__ = ["Annotation", "AnnotationSet", "DataError", "DATASETS", "drop_missing_images", "load_dataset", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"hourglass.data.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'hourglass.data' has no attribute {name!r}")


def _one_of(root: Path, candidates: list[str], what: str) -> Path:
    for c in candidates:
        if (root / c).is_file():
            return root / c
    raise FileNotFoundError(f"no {what} under {root}: looked for {', '.join(candidates)} (see datasets/README.md)")


def load_dataset(name: str, root: str | Path, split: str, **kwargs: Any) -> AnnotationSet:
    """Load a dataset split from its root folder.

    Args:
        name: one of ``300w``, ``mpii``, ``lsp``, ``lspet``, ``coco``, ``custom``.
        root: the dataset folder (for ``custom``: the annotation JSON file).
        split: the split name: 300-W ``train``/``common``/``challenge``/``full``/``test`` or a
            subset; MPII the stem of ``annot/<split>.json`` or ``annot/<split>.h5`` (e.g. ``valid``);
            LSP ``all``/``train``/``val``/``test``; COCO the ``<split>`` of
            ``annotations/person_keypoints_<split>.json`` with images in ``<split>/``;
            custom ignores it.
        kwargs: passed to the format's loader.

    Raises:
        FileNotFoundError: the root or the split's annotation file does not exist.
        ValueError: unknown dataset name or split.
    """
    key = name.lower()
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"dataset root {root} does not exist; pass the folder holding the {name} data")
    # Each loader is imported when its dataset is asked for, as the lazy names above: importing
    # hourglass.data stays cheap, and h5py / pycocotools load only for the formats that need them.
    if key == "300w":
        from hourglass.data.w300 import load_300w

        return load_300w(root, split, **kwargs)
    if key in ("lsp", "lspet"):
        from hourglass.data.lsp import load_lsp

        return load_lsp(root, split=split, **kwargs)
    if key == "mpii":
        from hourglass.data.mpii import load_mpii_json
        from hourglass.data.mpii_h5 import load_mpii_h5

        ann = _one_of(root, [f"annot/{split}.json", f"annot/{split}.h5"], f"MPII split {split!r}")
        loader = load_mpii_json if ann.suffix == ".json" else load_mpii_h5
        return loader(ann, root / "images", **kwargs)
    if key == "coco":
        from hourglass.data.coco import load_coco

        ann = _one_of(root, [f"annotations/person_keypoints_{split}.json"], f"COCO split {split!r}")
        return load_coco(ann, root / split, **kwargs)
    from hourglass.data.custom import load_custom

    return load_custom(root, **kwargs)
