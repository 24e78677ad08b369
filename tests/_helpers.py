"""Helpers shared by test files of one package: model builders, the export tests' toy models.

Fixtures built on these live in tests/conftest.py.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hourglass.checkpoint import save_checkpoint
from hourglass.config import TrainConfig
from hourglass.keypoints import KeypointSpec
from hourglass.models import build_model


# --- hourglass.models --------------------------------------------------------------------------
def meta_model(name: str, **kwargs) -> nn.Module:
    """Build a model on the meta device: shapes only, no memory or compute."""
    with torch.device("meta"):
        return build_model(name, **kwargs)


# --- hourglass.export --------------------------------------------------------------------------
# torch 2.13 deprecates both exporters used here (see hourglass/export/__init__.py); they still work.
EXPORT_WARNINGS = [
    pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript-based ONNX export:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The feature will be removed:DeprecationWarning"),
    pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"),
]
"""``pytestmark`` of the test files that export."""

SPEC = KeypointSpec.from_dict(
    {"name": "toy5", "keypoints": ["nose", "l_eye", "r_eye", "l_ear", "r_ear"], "flip_pairs": [[1, 2], [3, 4]]}
)
MODELS = {
    "hourglass": ("hourglass2", dict(channels=16, num_keypoints=5, input_size=64)),
    "vgg_gap": ("vgg16_gap", dict(num_keypoints=5, input_size=64, width=0.125)),
    # 64 px -> 2x2 features -> the fc head's 7x7 adaptive pool needs the wrapper's matrix pooling
    "vgg_fc": ("vgg16_fc", dict(num_keypoints=5, input_size=64, width=0.125)),
}


def small_model(key: str) -> torch.nn.Module:
    """The model ``MODELS[key]`` with seeded random weights, left in train mode."""
    torch.manual_seed(0)
    name, kw = MODELS[key]
    model = build_model(name, **kw)
    # Non-trivial BatchNorm statistics, so eval vs train mode would show.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model


def write_checkpoint(path, key: str):
    """:func:`small_model` ``(key)`` saved as a training checkpoint with the toy5 spec."""
    model = small_model(key)
    config = (
        TrainConfig(model="hourglass", stacks=2, channels=16, input_size=64, sigma=1.5)
        if key == "hourglass"
        else TrainConfig(model="vgg", vgg_width=0.125, vgg_head=key[4:], input_size=64)
    )
    ckpt = {"model": model.state_dict(), "arch": model.arch, "spec": SPEC.to_dict(), "config": config.to_dict()}
    return save_checkpoint(ckpt, path)
