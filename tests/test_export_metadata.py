"""hourglass.export.metadata: what an exported file says about its model, and reading it back.

Skips when onnx or onnxruntime is absent (the optional ``[export]`` extra).
"""

from __future__ import annotations

import json

import pytest
from _helpers import EXPORT_WARNINGS, SPEC

from hourglass.data.pipeline import IMAGENET_MEAN, IMAGENET_STD
from hourglass.export import export_metadata, export_onnx, onnx_max_difference, read_metadata
from hourglass.weights import load_model

pytestmark = EXPORT_WARNINGS


def test_onnx_metadata(ort, tmp_path, export_checkpoints):
    import onnx

    loaded = load_model(export_checkpoints["hourglass"])
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

    vgg = export_onnx(load_model(export_checkpoints["vgg_gap"]), tmp_path / "vgg.onnx")
    meta = read_metadata(vgg)
    assert meta["kind"] == "regression" and meta["output_name"] == "coords"
    assert meta["heatmap_size"] is None and meta["sigma"] is None
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(bytes([0x8F, 0x03, 0xA1, 0x00, 0x7E, 0xFF, 0x10, 0x42]))
    with pytest.raises(ValueError, match="cannot read ONNX file|no hourglass metadata"):
        read_metadata(bad)
