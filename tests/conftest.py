"""Shared fixtures and helpers. Real data is read from ../shared/data (or $HOURGLASS_DATA) and never copied."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
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


@pytest.fixture
def some_lspet(shared_data, tmp_path):
    """An LSPET root with joints.mat and only 40 training images (links to the real ones), none
    of the held-out ones: a compact copy's situation (datasets/compact_lspet.py --only-split train)."""
    from hourglass.data.lsp import lspet_split

    src = shared_data("lspet")
    root = tmp_path / "lspet"
    (root / "images").mkdir(parents=True)
    (root / "joints.mat").symlink_to(src / "joints.mat")
    train, _ = lspet_split(9500, 0.1, seed=0)
    for i in train[:40]:
        name = f"im{i + 1:05d}.jpg"
        (root / "images" / name).symlink_to(src / "images" / name)
    return root


@pytest.fixture
def holdout_faces(shared_data):
    """The first 6 faces of the 300-W holdout split (real data; skips where it is absent)."""
    from hourglass.data import load_dataset

    return load_dataset("300w", shared_data("300w"), "holdout")[:6]


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

    from hourglass.checkpoint import save_checkpoint
    from hourglass.config import TrainConfig
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


# ----------------------------------------------------------------------------- 300-W .pts files

POINTS = np.round(np.random.default_rng(300).uniform(20, 180, (68, 2)), 3)  # 1-based file coordinates


def pts_text(points=POINTS, header=True, n_points=None, newline="\n") -> str:
    body = [f"{x} {y}" for x, y in points]
    if header:
        n = len(points) if n_points is None else n_points
        body = ["version: 1", f"n_points:  {n}", "{", *body, "}"]
    return newline.join(body) + newline


def with_point_line(k: int, line: str) -> str:
    """A header .pts whose point k (file line 4 + k) reads ``line``."""
    text = pts_text().split("\n")
    text[3 + k] = line
    return "\n".join(text)


def write_face(folder: Path, name: str, text: str | None = None, image: str | None = ".jpg") -> Path:
    """A .pts (and an image file, which the loader never opens) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    pts = folder / f"{name}.pts"
    pts.write_text(pts_text() if text is None else text, newline="")
    if image:
        (folder / f"{name}{image}").write_bytes(b"\xff\xd8\xff\xd9")
    return pts


def frozen(*arrays):
    """Read-only copies: a function that writes into its input raises."""
    out = []
    for a in arrays:
        a = np.array(a)
        a.setflags(write=False)
        out.append(a)
    return out


@pytest.fixture
def one_thread():
    """One torch thread (deterministic, friendly to shared CPUs), restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_mpii_config(root, out, **kw):
    """A 1-stack, 16-channel, 64-px run on the 5 people of ``test_mpii``: batch 2, so 2 batches
    per epoch, and 2 epochs = 4 steps; no validation, a checkpoint every step."""
    from hourglass.engine import TrainConfig

    base = dict(
        stacks=1, channels=16, input_size=64, dataset="mpii", data_root=str(root), train_split="test_mpii",
        val_split=None, batch_size=2, epochs=2, out=str(out), log_every=1, ckpt_every_steps=1, optimizer="adam",
    )  # fmt: skip
    base.update(kw)
    return TrainConfig(**base)


# ----------------------------------------------------------------------------- export


@pytest.fixture
def ort():
    """onnxruntime; skips the test where onnx or onnxruntime is absent (the optional ``[export]`` extra)."""
    pytest.importorskip("onnx", reason='onnx is not installed (optional: pip install -e ".[export]")')
    return pytest.importorskip(
        "onnxruntime", reason='onnxruntime is not installed (optional: pip install -e ".[export]")'
    )


@pytest.fixture(scope="session")
def export_checkpoints(tmp_path_factory):
    """A checkpoint of each small model of ``_helpers.MODELS`` (toy5 spec), by key; shared, read only."""
    from _helpers import MODELS, write_checkpoint

    root = tmp_path_factory.mktemp("ckpt")
    return {key: write_checkpoint(root / f"{key}.pt", key) for key in MODELS}
