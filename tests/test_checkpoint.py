"""hourglass.checkpoint: atomic writes, the one reader, and the RNG state kept beside it."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from hourglass.engine import (
    TrainConfig,
    build_model_from_config,
    check_architecture,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from hourglass.engine.checkpoint import rng_state, set_rng_state


def test_checkpoint_atomic_weights_only_and_rng(tmp_path):
    model = build_model_from_config(TrainConfig(stacks=1, channels=16, input_size=64), 5)
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    rng = rng_state()
    expect = (random.random(), np.random.rand(), torch.rand(1).item())
    path = save_checkpoint(
        {"model": model.state_dict(), "arch": model.arch, "rng": rng, "best": None}, tmp_path / "c.pt"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left behind
    torch.load(path, weights_only=True)
    ckpt = load_checkpoint(path)
    set_rng_state(ckpt["rng"])
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expect
    check_architecture(ckpt, model)
    other = build_model_from_config(TrainConfig(stacks=2, channels=16, input_size=64), 5)
    with pytest.raises(ValueError, match="hourglass1.*hourglass2"):
        check_architecture(ckpt, other)
    assert latest_checkpoint(tmp_path) is None


def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt")
