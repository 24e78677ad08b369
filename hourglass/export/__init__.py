"""Model export for deployment: ONNX (onnxruntime, TensorRT, OpenVINO ...) and TorchScript.

Both formats hold the same graph, :class:`InferenceWrapper` around the trained network:

- input ``"image"``: (B, 3, H, W) float32, RGB, normalised as in training:
  ``(pixel / 255 - mean) / std`` with the ImageNet mean and std
  (:data:`hourglass.data.pipeline_config.IMAGENET_MEAN` / ``IMAGENET_STD``); (W, H) is the model's
  input size, the batch B is free (ONNX: a dynamic axis named ``"batch"`` unless exported with
  ``dynamic_batch=False``, then B = 1).
- output ``"heatmaps"`` (heatmap models): (B, K, h, w), the LAST stack's heatmaps, h = H / 4,
  w = W / 4. Heatmap pixel (column i, row j) lies at input pixel
  ``((i + 0.5) * W / w - 0.5, (j + 0.5) * H / h - 0.5)`` (pixel centres at integer
  coordinates, :mod:`hourglass.geometry`); decode with :func:`decode_exported` (the
  metadata's sigma and sizes, as the Predictor decodes) or any argmax.
- output ``"coords"`` (regression models): (B, K, 2) normalised (x, y); input pixel
  ``x = u * W - 0.5``, ``y = v * H - 0.5``.

Everything a deployer needs to decode without this toolkit is stored in the file: ONNX
``metadata_props`` (text keys as plain strings, "" when unknown; the others as JSON), TorchScript
an extra file ``hourglass.json`` holding the same dict as one JSON object. Keys: ``name``, ``kind`` ("heatmap" |
"regression"), ``input_name``, ``output_name``, ``input_size`` ([W, H]), ``mean``, ``std``,
``input_format``, ``heatmap_size`` ([w, h] or null), ``sigma`` (training heatmap sigma in
heatmap pixels, or null), ``spec_name``, ``keypoints`` (K names), ``spec`` (the full
:meth:`KeypointSpec.to_dict`), ``coordinates`` (the decoding rule above), ``arch``,
``source``, ``toolkit``. :func:`read_metadata` reads them back from either format.

Exporters (torch 2.13): the ONNX file is written by torch's TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``), which needs only ``onnx``; the newer
``torch.export``-based default also needs ``onnxscript``. The old exporter is deprecated
(a ``DeprecationWarning`` says so) and supports opsets up to 20 here. ``torch.jit.trace`` /
``save`` / ``load`` are deprecated in torch 2.13 too (``DeprecationWarning``) but work.
Adaptive average pooling to a size that does not divide the feature map (the VGG "fc" head,
7x7 from 8x8 at a 256 px input) has no ONNX form in that exporter; the wrapper pools such
maps by two fixed matrix products instead (the same bins as PyTorch), which changes nothing
numerically beyond float rounding.

Measured (``tests/test_export_verify.py``, random weights and inputs): onnxruntime matches PyTorch
within 1e-6 for small hourglass and VGG models at batch 1 and 3; TorchScript matches exactly.
"""

from hourglass.export.files import (
    EXPORT_FORMATS,
    METADATA_FILE,
    MIN_OPSET,
    check_opset,
    export_onnx,
    export_torchscript,
    max_opset,
    read_metadata,
)
from hourglass.export.graph import INPUT_NAME, InferenceWrapper
from hourglass.export.metadata import decode_exported, export_metadata
from hourglass.export.verify import onnx_max_difference, torchscript_max_difference

__all__ = [
    "EXPORT_FORMATS",
    "INPUT_NAME",
    "METADATA_FILE",
    "MIN_OPSET",
    "InferenceWrapper",
    "export_metadata",
    "export_onnx",
    "export_torchscript",
    "check_opset",
    "decode_exported",
    "max_opset",
    "onnx_max_difference",
    "read_metadata",
    "torchscript_max_difference",
]
