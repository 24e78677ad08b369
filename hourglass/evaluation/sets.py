"""Which subjects a model is evaluated on: by default its own held-out subjects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hourglass.data import drop_missing_images, hold_out, load_dataset

__all__ = ["HELD_OUT_SPLITS", "evaluation_set"]

HELD_OUT_SPLITS: dict[str, str] = {"300w": "holdout", "lsp": "test", "lspet": "val", "mpii": "valid", "coco": "val2017"}
"""Each dataset's split of subjects its training split leaves out, named in the hints below."""


def _split_hint(dataset: str) -> str:
    """``--split NAME`` for ``dataset``: its held-out split, or what a split means for a custom file."""
    if dataset in HELD_OUT_SPLITS:
        return f"pass --split {HELD_OUT_SPLITS[dataset]} ({dataset}'s held-out split) or another of its splits"
    return (
        f"pass --split all ({dataset} files have no splits: that evaluates every subject in the file, "
        "so subjects the model trained on need --allow-overlap too)"
    )


def evaluation_set(
    config: Any,
    *,
    data_root: str | Path | None = None,
    dataset: str | None = None,
    split: str | None = None,
    max_samples: int | None = None,
    missing_images: str = "error",
) -> Any:
    """The annotation set to evaluate a model on, by default its own validation subjects.

    Args:
        config: the model's :class:`~hourglass.engine.TrainConfig` (``LoadedModel.config``).
        data_root: dataset folder; default the one the model was trained with.
        dataset: dataset name; default the model's.
        split: a split name; default the model's ``val_split``, or, when it held out a share
            of its training split (``val_fraction``), exactly those held-out subjects
            (:func:`hourglass.data.split_indices` with the model's seed).
        max_samples: keep only the first N subjects.
        missing_images: ``"error"`` (default): a subject whose image file is missing raises
            ``DataError`` naming the count and the first paths; ``"warn"``: such subjects are
            dropped and a warning names how many.

    Raises:
        ValueError / FileNotFoundError / DataError: no data root, an unknown split, no split
            to default to, or missing images (see above).
    """
    if missing_images not in ("error", "warn"):
        raise ValueError(f"missing_images must be 'error' or 'warn', got {missing_images!r}")
    dataset = dataset or config.dataset
    root = data_root if data_root is not None else config.data_root
    if root is None:
        raise ValueError(f"no data root for dataset {dataset!r}; pass --data-root DIR")
    if not Path(root).exists():
        raise FileNotFoundError(f"data root {root} does not exist; pass the folder holding the {dataset} data")

    def load(name: str) -> Any:
        subjects = load_dataset(dataset, root, name, **config.loader_options(dataset))
        return drop_missing_images(subjects, missing_images, split="evaluation", data_root=root)[0]

    if split is not None:
        subjects = load(split)
    elif dataset != config.dataset:
        raise ValueError(f"the model was trained on {config.dataset!r}, not {dataset!r}; {_split_hint(dataset)}")
    elif config.val_split is not None:
        subjects = load(config.val_split)
    elif config.val_fraction > 0:  # the training run's held-out subjects, chosen as the trainer does
        _, subjects = hold_out(load(config.train_split), config.val_fraction, config.seed)
    else:
        raise ValueError(f"the model's training run had no validation split; {_split_hint(dataset)}")
    if max_samples is not None:
        subjects = subjects[:max_samples]
    if len(subjects) == 0:
        raise ValueError(f"{subjects.name} holds no subjects to evaluate; {_split_hint(dataset)}")
    return subjects
