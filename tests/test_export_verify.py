"""hourglass.export.verify: the exported ONNX and TorchScript models equal PyTorch, at several batch sizes.

The ONNX test skips when onnx or onnxruntime is absent (the optional ``[export]`` extra).
"""

from __future__ import annotations

import json

import pytest
import torch
from _helpers import EXPORT_WARNINGS, MODELS, SPEC, small_model

from hourglass.export import (
    export_metadata,
    export_onnx,
    export_torchscript,
    onnx_max_difference,
    read_metadata,
    torchscript_max_difference,
)
from hourglass.weights import load_model

pytestmark = EXPORT_WARNINGS


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


@pytest.mark.parametrize("key", ["hourglass", "vgg_fc"])
def test_torchscript_matches_pytorch(tmp_path, export_checkpoints, key):
    loaded = load_model(export_checkpoints[key])
    path = export_torchscript(loaded, tmp_path / "m.pt")
    assert torchscript_max_difference(path, loaded, batch_sizes=(1, 3)) < 1e-5  # measured: 0
    extra = {"hourglass.json": ""}
    scripted = torch.jit.load(str(path), _extra_files=extra)
    assert json.loads(extra["hourglass.json"]) == export_metadata(loaded) == read_metadata(path)
    assert not scripted.training
