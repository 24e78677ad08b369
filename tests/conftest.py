"""Shared fixtures. Real data is read from ../shared/data (or $HOURGLASS_DATA) and never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """Where the real datasets live: $HOURGLASS_DATA, else ../shared/data beside the repo."""
    return Path(os.environ.get("HOURGLASS_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data():
    """Path of a file or folder under the shared data root; skips the test when it is absent."""

    def get(relative: str) -> Path:
        path = data_root() / relative
        if not path.exists():
            pytest.skip(f"real data {path} is not present (set HOURGLASS_DATA to the shared data folder)")
        return path

    return get


def make_checkpoint(
    path: Path,
    *,
    model: str = "hourglass",
    spec_name: str = "300w",
    input_size: int = 64,
    channels: int = 16,
    seed: int = 0,
    **config,
) -> Path:
    """A tiny random-weight model saved as a training checkpoint that ``load_model`` reads."""
    import torch

    from hourglass.engine.checkpoint import save_checkpoint
    from hourglass.engine.config import TrainConfig
    from hourglass.keypoints import get_spec
    from hourglass.models import build_model

    spec = get_spec(spec_name)
    torch.manual_seed(seed)
    if model == "hourglass":
        net = build_model("hourglass1", channels=channels, num_keypoints=spec.num_keypoints, input_size=input_size)
        cfg = TrainConfig(
            model="hourglass", stacks=1, channels=channels, input_size=input_size, dataset=spec_name, **config
        )
    else:
        net = build_model("vgg16_gap", num_keypoints=spec.num_keypoints, input_size=input_size, width=0.125)
        cfg = TrainConfig(model="vgg", vgg_width=0.125, input_size=input_size, dataset=spec_name, **config)
    state = {"model": net.state_dict(), "arch": net.arch, "spec": spec.to_dict(), "config": cfg.to_dict(), "step": 3}
    return save_checkpoint(state, path)
