"""hourglass.export.files: ONNX and TorchScript files written, opsets, static batch, refused paths, specs.

Small random models (tests/_helpers.py: hourglass 16 channels, VGG width 1/8, 64 px input, 5
keypoints). The ONNX tests skip when onnx or onnxruntime is absent (the optional ``[export]`` extra).
"""

from __future__ import annotations

import sys

import pytest
from _helpers import EXPORT_WARNINGS, small_model

from hourglass.export import export_onnx, export_torchscript, onnx_max_difference
from hourglass.keypoints import KeypointSpec

pytestmark = EXPORT_WARNINGS


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
