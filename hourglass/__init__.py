"""hourglass: stacked hourglass and VGG-regression models, heatmap codec and metrics for
human pose estimation and face alignment.

Submodules (import what you need; importing this package has no side effects):

- :mod:`hourglass.geometry`: the pixel convention, affine crops, point transforms.
- :mod:`hourglass.keypoints`: keypoint specs (MPII, LSP, 300-W, COCO, custom).
- :mod:`hourglass.codec`: Gaussian heatmap encoding, decoding (argmax, quarter, DARK,
  soft-argmax), flip test.
- :mod:`hourglass.models`: ``StackedHourglass``, ``VGGRegressor``, ``build_model``.
- :mod:`hourglass.losses`: heatmap MSE, L1, smooth-L1, Wing.
- :mod:`hourglass.metrics`: PCK, MPII PCKh, NME, AUC, failure rate, CED, OKS.
- :mod:`hourglass.data`: dataset loaders, the training-sample pipeline, the torch dataset.
- :mod:`hourglass.visualize`: drawing keypoints, skeletons, predictions and heatmap overlays.
- :mod:`hourglass.predictor`: ``Predictor``, keypoints on any image.
- :mod:`hourglass.detect`, :mod:`hourglass.boxes`: bundled face and people detectors; boxes.
- :mod:`hourglass.weights`, :mod:`hourglass.export`: shipped weights; ONNX and TorchScript.
- :mod:`hourglass.annotate`: keypoints on a user's images and videos (behind ``tools/infer.py``).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "geometry",
    "keypoints",
    "codec",
    "models",
    "losses",
    "metrics",
    "data",
    "visualize",
    "demo",
    "weights",
    "predictor",
    "detect",
    "boxes",
    "export",
    "annotate",
)
_EXPORTS = {
    "KeypointSpec": "keypoints",
    "get_spec": "keypoints",
    "crop_matrix": "geometry",
    "transform_points": "geometry",
    "encode_heatmaps": "codec",
    "decode_heatmaps": "codec",
    "flip_test": "codec",
    "Predictor": "predictor",
    "load_model": "weights",
    "heatmap_to_image": "codec",
    "build_model": "models",
    "list_models": "models",
    "StackedHourglass": "models",
    "VGGRegressor": "models",
}
__all__ = ["__version__", *_SUBMODULES, *_EXPORTS]


def __getattr__(name: str) -> Any:
    # Lazy: `import hourglass` stays cheap; torch loads only when a torch module is used.
    if name in _SUBMODULES:
        return importlib.import_module(f"hourglass.{name}")
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"hourglass.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'hourglass' has no attribute {name!r}")
