"""Training engine: configuration and presets, checkpoints, the training loop.

The loop is :func:`train` (:mod:`.trainer`), built from a run's state and set-up
(:mod:`.run_state`) and its epochs and steps (:mod:`.loop`). The command lines of
``tools/train.py`` and ``tools/budget_train.py`` are :mod:`.cli` and :mod:`.budget`.
"""

from hourglass.checkpoint import (
    BEST,
    LAST,
    check_architecture,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from hourglass.config import DEFAULT_LR, TrainConfig
from hourglass.engine.build import build_model_from_config
from hourglass.engine.presets import PRESETS, list_presets, resolve_config
from hourglass.engine.trainer import TrainingDiverged, TrainResult, train

__all__ = [
    "BEST",
    "DEFAULT_LR",
    "LAST",
    "PRESETS",
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "build_model_from_config",
    "check_architecture",
    "latest_checkpoint",
    "list_presets",
    "load_checkpoint",
    "resolve_config",
    "save_checkpoint",
    "train",
]
