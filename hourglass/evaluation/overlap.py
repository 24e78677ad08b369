"""Train/test leaks: the subjects of an evaluation set a model was trained on.

A model's :class:`~hourglass.config.TrainConfig` says what it trained on (``dataset``,
``data_root``, ``train_split``, ``val_split``, ``val_fraction``, ``seed``, ``max_train_samples``):
:func:`training_subjects` loads that split again with the same loader and the same held-out
rule as training (:func:`hourglass.data.hold_out`), and :func:`training_overlap` counts the
evaluation subjects among them. :func:`~hourglass.evaluation.evaluate_model` refuses to score a
model on subjects it trained on unless told to (``allow_overlap``), and then flags the report.

Subjects are compared by identity: the image file name (not its folder, so a copy of the data
elsewhere still matches) and the keypoints rounded to 0.01 px, so two people in one image, or
two images of the same name in different subsets, stay distinct.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from hourglass.data import drop_missing_images, hold_out, load_dataset

__all__ = [
    "TrainingOverlap",
    "check_overlap",
    "overlap_warning",
    "subject_key",
    "training_overlap",
    "training_subjects",
]

logger = logging.getLogger("hourglass.evaluation")


class TrainingOverlap(NamedTuple):
    """How many of the evaluated subjects a model trained on.

    Attributes:
        count: evaluated subjects found among the training subjects (0 when not checked).
        subjects: evaluated subjects.
        training: the training subjects' description, e.g. ``"split 'fit' of 300w"``.
        checked: False when the training data could not be read (``note`` says why).
        note: why it was not checked, else "".
    """

    count: int
    subjects: int
    training: str
    checked: bool = True
    note: str = ""

    def to_dict(self, allowed: bool) -> dict[str, Any]:
        """The report's ``settings["training_overlap"]`` entry."""
        out = {"subjects": self.count, "of": self.subjects, "training": self.training, "checked": self.checked}
        return out | ({"allowed": allowed} if self.count else {}) | ({"note": self.note} if self.note else {})


def subject_key(record: Any) -> tuple[str, bytes]:
    """A subject's identity: its image file name and its keypoints rounded to 0.01 px (NaN kept)."""
    points = np.round(np.asarray(record.keypoints, dtype=np.float64), 2) + 0.0  # + 0.0: no -0.0
    return Path(record.image).name, np.nan_to_num(points, nan=-1e9).tobytes()


def _describe(config: Any) -> str:
    held = f" less its {config.val_fraction:g} held-out share (seed {config.seed})" if _holds_out(config) else ""
    return f"split {config.train_split!r} of {config.dataset}{held}"


def _holds_out(config: Any) -> bool:
    return config.val_split is None and config.val_fraction > 0


def training_subjects(config: Any, data_root: str | Path | None = None) -> Any:
    """The subjects a model with training config ``config`` trained on, read as training read them.

    Args:
        config: the model's :class:`~hourglass.config.TrainConfig`.
        data_root: where to read its training split; default ``config.data_root``.

    Raises:
        FileNotFoundError / ValueError / DataError: the split cannot be read there.
    """
    root = data_root if data_root is not None else config.data_root
    if root is None or not Path(root).exists():
        raise FileNotFoundError(f"the training data root {root} does not exist")
    options = config.loader_options()
    if config.dataset in ("lsp", "lspet"):
        options["check_images"] = False  # as training: a missing image is dropped, not an error
    subjects = load_dataset(config.dataset, root, config.train_split, **options)
    # as training (hourglass.engine.build.load_sets): subjects without images leave before the split
    subjects = drop_missing_images(subjects, "warn", data_root=root, log=False)[0]
    if _holds_out(config):
        subjects = hold_out(subjects, config.val_fraction, config.seed)[0]
    if config.max_train_samples is not None:
        subjects = subjects[: config.max_train_samples]
    return subjects


def training_overlap(
    config: Any, subjects: Any, *, data_root: str | Path | None = None, dataset: str | None = None
) -> TrainingOverlap:
    """Count the ``subjects`` a model with training config ``config`` trained on.

    The training split is read from ``config.data_root``; where that folder is absent (a model
    trained on another machine) and ``subjects`` are of the model's dataset (``dataset`` None or
    ``config.dataset``), from ``data_root`` (the evaluation's). Where neither can be read, the
    result says so (``checked`` False) instead of raising: an evaluation on another dataset's
    data is not a leak of this one.
    """
    described = _describe(config)
    root = config.data_root
    same_data = dataset is None or dataset == config.dataset
    if (root is None or not Path(root).exists()) and data_root is not None and same_data:
        root = data_root
    try:
        seen = {subject_key(r) for r in training_subjects(config, root)}
    except (OSError, ValueError) as e:  # DataError is a ValueError
        note = f"could not read the model's training subjects ({' '.join(str(e).split())})"
        logger.warning("training overlap not checked: %s", note)
        return TrainingOverlap(0, len(subjects), described, checked=False, note=note)
    count = sum(subject_key(r) in seen for r in subjects)
    return TrainingOverlap(count, len(subjects), described)


def check_overlap(overlap: TrainingOverlap, model: str, *, allow_overlap: bool = False) -> dict[str, Any]:
    """Raise when the evaluated subjects include training subjects, unless ``allow_overlap``.

    Returns:
        the report's ``settings["training_overlap"]`` entry.

    Raises:
        ValueError: ``overlap.count > 0`` and not ``allow_overlap``: one line naming the count,
            the model and its training split, and what to do.
    """
    if overlap.count and not allow_overlap:
        raise ValueError(
            f"{overlap.count} of the {overlap.subjects} evaluation subjects are in the training data of {model} "
            f"({overlap.training}); its score on them would measure fit, not generalisation: evaluate on subjects "
            "it did not train on (its own held-out split, or --split), or pass --allow-overlap to score them anyway "
            "(the report flags it)"
        )
    return overlap.to_dict(allow_overlap)


def overlap_warning(entry: dict[str, Any] | None) -> str | None:
    """The line a report prints for a ``settings["training_overlap"]`` entry with overlap, else None."""
    if not entry or not entry.get("subjects"):
        return None
    return (
        f"WARNING: {entry['subjects']} of these {entry['of']} subjects are in the model's training data "
        f"({entry['training']}); scored anyway (--allow-overlap): the numbers measure fit, not generalisation"
    )
