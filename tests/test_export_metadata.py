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


def _exported_outputs(path, crops):
    """The export's output for the crops (B, 3, H, W): onnxruntime for .onnx, torch.jit otherwise."""
    import torch

    if path.suffix == ".onnx":
        import onnxruntime

        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return session.run(None, {"image": crops.numpy()})[0]
    with torch.no_grad():
        return torch.jit.load(str(path))(crops).numpy()


@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_decode_exported_matches_the_predictor(fmt, tmp_path, shared_data):
    """300w-hg2 (trained with sigma 1.5) exported: its output decoded with the metadata lands on
    the Predictor's keypoints to 1e-3 px; decode_heatmaps' fixed default sigma 2.0 did not."""
    import cv2
    import numpy as np
    import torch

    from hourglass import Predictor
    from hourglass.codec import decode_heatmaps
    from hourglass.data import load_dataset
    from hourglass.export import decode_exported, export_torchscript
    from hourglass.geometry import crop_matrix, invert_affine, transform_points

    if fmt == "onnx":
        pytest.importorskip("onnxruntime", reason='onnxruntime is not installed (optional: pip install -e ".[export]")')
    faces = load_dataset("300w", shared_data("300w"), "holdout")[:3]
    predictor = Predictor.from_checkpoint("300w-hg2")
    loaded = predictor.loaded
    path = (export_onnx if fmt == "onnx" else export_torchscript)(loaded, tmp_path / f"m.{fmt}")
    metadata = read_metadata(path)
    assert metadata["sigma"] == 1.5
    for face in faces:
        image = cv2.cvtColor(cv2.imread(str(face.image)), cv2.COLOR_BGR2RGB)
        box = np.concatenate([np.nanmin(face.keypoints, 0), np.ptp(face.keypoints, 0)])
        expected = predictor(image, box)
        center, scale = expected.center, expected.scale
        crops = torch.stack([predictor.crop(image, center[0], scale[0])])
        heatmaps = _exported_outputs(path, crops)
        coords, scores = decode_exported(heatmaps, metadata)
        to_image = invert_affine(crop_matrix(center, scale, loaded.input_size))
        np.testing.assert_allclose(transform_points(coords, to_image), expected.keypoints, atol=1e-3)
        np.testing.assert_allclose(scores, expected.scores, atol=1e-4)
        naive, _ = decode_heatmaps(heatmaps, "dark")  # blur sigma 2.0: not the model's
        assert np.abs(naive * 4 + 1.5 - coords).max() > 1e-2


def test_decode_exported_regression_has_no_scores_and_checks_its_metadata():
    import numpy as np

    from hourglass.export import decode_exported

    meta = {"kind": "regression", "input_size": [64, 48]}
    coords, scores = decode_exported(np.array([[[0.5, 0.25]]]), meta)
    np.testing.assert_allclose(coords, [[[31.5, 11.5]]])
    assert np.isnan(scores).all()
    with pytest.raises(ValueError, match="without heatmap_size and sigma"):
        decode_exported(np.zeros((1, 2, 16, 16)), {"kind": "heatmap", "input_size": [64, 64], "sigma": None})
    with pytest.raises(ValueError, match="do not fit the metadata's heatmap_size"):
        decode_exported(np.zeros((1, 2, 8, 8)), {"kind": "heatmap", "input_size": [64, 64], "heatmap_size": [16, 16],
                                                 "sigma": 1.5})  # fmt: skip
