"""hourglass.export and tools/export.py: ONNX / TorchScript equal PyTorch, metadata, user errors.

Small random models (hourglass 16 channels, VGG width 1/8, 64 px input, 5 keypoints). The
ONNX tests skip when onnx or onnxruntime is absent (the optional ``[export]`` extra).
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO

from hourglass.data.pipeline import IMAGENET_MEAN, IMAGENET_STD
from hourglass.checkpoint import save_checkpoint
from hourglass.config import TrainConfig
from hourglass.export import (
    InferenceWrapper,
    export_metadata,
    export_onnx,
    export_torchscript,
    onnx_max_difference,
    read_metadata,
    torchscript_max_difference,
)
from hourglass.export.graph import _adaptive_pool_matrix
from hourglass.keypoints import KeypointSpec
from hourglass.models import build_model
from hourglass.weights import load_model

# torch 2.13 deprecates both exporters used here (see hourglass/export/__init__.py); they still work.
pytestmark = [
    pytest.mark.filterwarnings("ignore:You are using the legacy TorchScript-based ONNX export:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The feature will be removed:DeprecationWarning"),
    pytest.mark.filterwarnings(r"ignore:`torch\.jit\.\w+` is deprecated:DeprecationWarning"),
]

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
    model = small_model(key)
    config = (
        TrainConfig(model="hourglass", stacks=2, channels=16, input_size=64, sigma=1.5)
        if key == "hourglass"
        else TrainConfig(model="vgg", vgg_width=0.125, vgg_head=key[4:], input_size=64)
    )
    ckpt = {"model": model.state_dict(), "arch": model.arch, "spec": SPEC.to_dict(), "config": config.to_dict()}
    return save_checkpoint(ckpt, path)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckpt")
    return {key: write_checkpoint(root / f"{key}.pt", key) for key in MODELS}


@pytest.fixture
def ort():
    pytest.importorskip("onnx", reason='onnx is not installed (optional: pip install -e ".[export]")')
    return pytest.importorskip(
        "onnxruntime", reason='onnxruntime is not installed (optional: pip install -e ".[export]")'
    )


# --- the wrapped graph -------------------------------------------------------------------------
def test_adaptive_pool_matrix_by_hand_and_against_torch():
    # 3 -> 2 bins: [0, 2) and [1, 3)
    expected = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    assert torch.equal(_adaptive_pool_matrix(3, 2), expected)
    x = torch.randn(2, 4, 8, 13)
    for out in [(7, 7), (7, 5), (3, 13), (16, 20)]:  # shrinking, non-dividing, identity, growing
        pooled = _adaptive_pool_matrix(8, out[0]) @ x @ _adaptive_pool_matrix(13, out[1]).T
        torch.testing.assert_close(pooled, F.adaptive_avg_pool2d(x, out), atol=1e-6, rtol=0)


@pytest.mark.parametrize("key", list(MODELS))
def test_inference_wrapper_output(key):
    model = small_model(key).eval()
    wrapper = InferenceWrapper(model)
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        full, out = model(x), wrapper(x)
    if key == "hourglass":
        assert (wrapper.kind, wrapper.output_name) == ("heatmap", "heatmaps")
        assert out.shape == (3, 5, 16, 16) and torch.equal(out, full[:, -1])
    else:
        assert (wrapper.kind, wrapper.output_name) == ("regression", "coords")
        assert out.shape == (3, 5, 2)
        torch.testing.assert_close(out, full, atol=1e-6, rtol=0)


def test_wrapper_rejects_other_modules():
    with pytest.raises(TypeError, match="StackedHourglass or a VGGRegressor"):
        InferenceWrapper(torch.nn.Conv2d(3, 5, 1))


# --- ONNX --------------------------------------------------------------------------------------
@pytest.mark.parametrize("key", list(MODELS))
def test_onnx_matches_pytorch_dynamic_batch(ort, tmp_path, key):
    import onnx

    model = small_model(key)  # left in train mode: the export must use eval mode and restore it
    path = export_onnx(model, tmp_path / "m.onnx", spec=SPEC)
    assert model.training
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == 17
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "image" and out.name == ("heatmaps" if key == "hourglass" else "coords")
    assert inp.type.tensor_type.shape.dim[0].dim_param == "batch"
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim[1:]] == [3, 64, 64]
    diff = onnx_max_difference(path, model, batch_sizes=(1, 3))
    assert diff < 1e-4  # measured: <= 4e-7
    assert model.training


def test_onnx_metadata(ort, tmp_path, checkpoints):
    import onnx

    loaded = load_model(checkpoints["hourglass"])
    path = export_onnx(loaded, tmp_path / "hg.onnx", opset=18)
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["kind"] == "heatmap" and props["name"] == "hourglass"
    assert props["spec_name"] == "toy5" and props["output_name"] == "heatmaps"
    assert json.loads(props["keypoints"]) == list(SPEC.names)
    assert json.loads(props["input_size"]) == [64, 64] and json.loads(props["heatmap_size"]) == [16, 16]
    assert json.loads(props["mean"]) == list(IMAGENET_MEAN) and json.loads(props["std"]) == list(IMAGENET_STD)
    assert json.loads(props["sigma"]) == 1.5
    assert json.loads(props["spec"])["flip_index"] == [0, 2, 1, 4, 3]
    assert json.loads(props["arch"])["name"] == "hourglass2"
    assert read_metadata(path) == export_metadata(loaded)
    assert onnx_max_difference(path, loaded) < 1e-4

    vgg = export_onnx(load_model(checkpoints["vgg_gap"]), tmp_path / "vgg.onnx")
    meta = read_metadata(vgg)
    assert meta["kind"] == "regression" and meta["output_name"] == "coords"
    assert meta["heatmap_size"] is None and meta["sigma"] is None
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(bytes([0x8F, 0x03, 0xA1, 0x00, 0x7E, 0xFF, 0x10, 0x42]))
    with pytest.raises(ValueError, match="cannot read ONNX file|no hourglass metadata"):
        read_metadata(bad)


def test_onnx_static_batch(ort, tmp_path):
    import onnx

    model = small_model("vgg_gap")
    path = export_onnx(model, tmp_path / "m.onnx", dynamic_batch=False, check=False)
    assert onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    assert onnx_max_difference(path, model, batch_sizes=(1,)) < 1e-4
    with pytest.raises(ValueError, match="fixed batch of 1"):
        onnx_max_difference(path, model, batch_sizes=(1, 3))


@pytest.mark.parametrize("opset", [16, 11, 99])
def test_unsupported_opset_rejected(tmp_path, opset):
    with pytest.raises(ValueError, match=f"opset {opset} is not supported"):
        export_onnx(small_model("vgg_gap"), tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


def test_missing_onnx_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx -> ImportError
    with pytest.raises(ImportError, match=r'pip install -e "\.\[export\]"'):
        export_onnx(small_model("vgg_gap"), tmp_path / "m.onnx")


def test_bad_output_paths_and_spec(tmp_path):
    model = small_model("vgg_gap")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        export_torchscript(model, tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="not a folder"):
        export_torchscript(model, tmp_path / "file" / "m.pt")
    wrong = KeypointSpec.from_dict({"name": "three", "keypoints": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="spec 'three' has 3 keypoints but the model predicts 5"):
        export_torchscript(model, tmp_path / "m.pt", spec=wrong)


# --- TorchScript -------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["hourglass", "vgg_fc"])
def test_torchscript_matches_pytorch(tmp_path, checkpoints, key):
    loaded = load_model(checkpoints[key])
    path = export_torchscript(loaded, tmp_path / "m.pt")
    assert torchscript_max_difference(path, loaded, batch_sizes=(1, 3)) < 1e-5  # measured: 0
    extra = {"hourglass.json": ""}
    scripted = torch.jit.load(str(path), _extra_files=extra)
    assert json.loads(extra["hourglass.json"]) == export_metadata(loaded) == read_metadata(path)
    assert not scripted.training


# --- tools/export.py ---------------------------------------------------------------------------
def _tool():
    spec = importlib.util.spec_from_file_location("export_tool", REPO / "tools" / "export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_and_verifies(ort, tmp_path, checkpoints, capsys):
    out = tmp_path / "exports"
    rc = _tool().main([str(checkpoints["hourglass"]), "--format", "both", "--out", str(out), "--verify"])
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    assert (out / "hourglass.onnx").is_file() and (out / "hourglass.torchscript.pt").is_file()
    assert stdout.count("wrote ") == 2 and stdout.count(": ok") == 2
    assert "image (B, 3, 64, 64) -> heatmaps (B, 5, 16, 16)" in stdout
    assert "KiB" in stdout and "max |onnxruntime - PyTorch|" in stdout


def test_cli_single_file_and_option_errors(tmp_path, checkpoints, capsys):
    tool = _tool()
    target = tmp_path / "face.pt"
    assert tool.main([str(checkpoints["vgg_gap"]), "--format", "torchscript", "--out", str(target)]) == 0
    assert target.is_file() and f"wrote {target}" in capsys.readouterr().out
    for args, message in [
        (["--format", "both", "--out", str(tmp_path / "x.onnx")], "--format both writes two files"),
        (["--format", "onnx", "--out", str(tmp_path / "x.pt")], "must end in .onnx"),
        (["--opset", "16"], "opset 16 is not supported"),
    ]:
        assert tool.main([str(checkpoints["vgg_gap"]), *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_missing_and_corrupt_model(tmp_path, capsys):
    tool = _tool()
    assert tool.main([str(tmp_path / "nope.pt"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no model") and err.count("\n") == 1
    # A few random bytes, run as a real process: exit 2, one line, no traceback.
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(bytes([0x8F, 0x03, 0xA1, 0x00, 0x7E, 0xFF, 0x10, 0x42]))
    r = subprocess.run(
        [sys.executable, str(REPO / "tools" / "export.py"), str(bad), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": ""},
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: cannot read model file {bad}") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr and not list(tmp_path.glob("*.onnx"))
