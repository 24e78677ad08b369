"""What is exported: the model to export (on the CPU) and the metadata stored with it.

:func:`export_metadata` builds the dict of keys the :mod:`hourglass.export` docstring lists;
:func:`decode_exported` decodes an export's output with that metadata, as the toolkit does;
``_Target`` resolves what the exporters are given (an ``nn.Module``, a loaded model, a model
path or shipped name) to the network to export.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from torch import nn

from hourglass.codec import decode_heatmaps
from hourglass.data.pipeline_config import IMAGENET_MEAN, IMAGENET_STD
from hourglass.export.graph import INPUT_NAME, OUTPUT_NAMES, InferenceWrapper, _kind_of
from hourglass.geometry import from_normalized, invert_affine, reduction_matrix, transform_points
from hourglass.keypoints import KeypointSpec
from hourglass.weights import LoadedModel, load_model

__all__ = ["decode_exported", "export_metadata"]


class _Target:
    """The model to export (on the CPU) plus what the metadata needs."""

    def __init__(self, model_or_loaded: Any, spec: KeypointSpec | None) -> None:
        if isinstance(model_or_loaded, (str, os.PathLike)):
            model_or_loaded = load_model(model_or_loaded, "cpu")
        if isinstance(model_or_loaded, LoadedModel):
            loaded = model_or_loaded
            self.model, self.spec = loaded.model, spec or loaded.spec
            self.name, self.sigma, self.source = loaded.name, loaded.sigma, loaded.path.name
            self.kind = _kind_of(self.model)
        elif isinstance(model_or_loaded, nn.Module):
            self.model, self.spec = model_or_loaded, spec
            self.kind = _kind_of(self.model)
            arch = getattr(self.model, "arch", None) or {}
            self.name, self.sigma, self.source = str(arch.get("name", type(self.model).__name__)), None, None
        else:
            raise TypeError(
                f"expected an nn.Module, a LoadedModel or a model path/name, got {type(model_or_loaded).__name__}"
            )
        if self.spec is not None and self.spec.num_keypoints != self.model.num_keypoints:
            raise ValueError(
                f"spec {self.spec.name!r} has {self.spec.num_keypoints} keypoints but the model predicts "
                f"{self.model.num_keypoints}; pass the spec the model was trained with"
            )
        params = list(self.model.parameters())
        if params and params[0].device.type != "cpu":
            import copy

            self.model = copy.deepcopy(self.model).cpu()  # export on the CPU, leave the caller's model alone

    @contextmanager
    def wrapper(self) -> Iterator[InferenceWrapper]:
        """The model wrapped, in eval mode; the model's own mode is restored afterwards."""
        was_training = self.model.training
        try:
            yield InferenceWrapper(self.model).eval()
        finally:
            self.model.train(was_training)


def export_metadata(model_or_loaded: Any, *, spec: KeypointSpec | None = None) -> dict[str, Any]:
    """The metadata stored with an export (:mod:`hourglass.export` docstring), as plain JSON-ready values.

    Args:
        model_or_loaded: an ``nn.Module``, a :class:`~hourglass.weights.LoadedModel`, or a path or
            shipped name for :func:`~hourglass.weights.load_model`.
        spec: keypoint spec; default the loaded model's (None for a bare module: no names).
    """
    from hourglass import __version__  # the package's front imports this module: read it when called

    t = model_or_loaded if isinstance(model_or_loaded, _Target) else _Target(model_or_loaded, spec)
    w, h = t.model.input_size
    heatmap = t.kind == "heatmap"
    hw, hh = tuple(t.model.heatmap_size) if heatmap else (None, None)
    coordinates = (
        f"heatmaps (B, K, {hh}, {hw}): heatmap pixel (column i, row j) is at input pixel "
        f"((i + 0.5) * {w} / {hw} - 0.5, (j + 0.5) * {h} / {hh} - 0.5); pixel centres at integer coordinates"
        if heatmap
        else f"coords (B, K, 2) normalised (u, v): input pixel x = u * {w} - 0.5, y = v * {h} - 0.5"
    )
    return {
        "name": t.name,
        "kind": t.kind,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAMES[t.kind],
        "input_size": [w, h],
        "input_format": "float32 (B, 3, H, W), RGB, (pixel / 255 - mean) / std",
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "heatmap_size": [hw, hh] if heatmap else None,
        "sigma": t.sigma if heatmap else None,
        "spec_name": t.spec.name if t.spec is not None else None,
        "keypoints": list(t.spec.names) if t.spec is not None else None,
        "spec": t.spec.to_dict() if t.spec is not None else None,
        "coordinates": coordinates,
        "arch": dict(getattr(t.model, "arch", None) or {}),
        "source": t.source,
        "toolkit": f"hourglass {__version__}",
    }


def decode_exported(output: Any, metadata: dict[str, Any], *, decoder: str = "dark") -> tuple[np.ndarray, np.ndarray]:
    """Keypoints in input pixels from an export's output, decoded as the toolkit's Predictor does.

    The decoding settings come from the model, through its metadata (:func:`export_metadata`,
    :func:`~hourglass.export.read_metadata`): DARK blurs with the training ``sigma`` (what
    ``decode_heatmaps(h, "dark")``'s fixed default of 2.0 does not know: decoding ``300w-hg2``,
    trained with 1.5, that way moved keypoints by up to 0.93 px), and heatmap pixels map to input
    pixels by the stored sizes.

    Args:
        output: the export's output, (B, K, h, w) heatmaps or (B, K, 2) normalised coords
            (numpy array or tensor).
        metadata: the export's metadata dict.
        decoder: a :data:`hourglass.codec.DECODE_METHODS` name (heatmap models).

    Returns:
        coords (B, K, 2) float64 (x, y) in input-image pixels (0-based pixel centres; map them
        to the original image through the inverse of the crop you cut) and scores (B, K):
        the heatmap maxima, NaN for regression models, which give no confidence.

    Raises:
        ValueError: metadata without the keys needed, or an output of another shape.
    """
    kind, (w, h) = metadata.get("kind"), metadata.get("input_size") or (None, None)
    out = np.asarray(output.detach().cpu().numpy() if hasattr(output, "detach") else output, dtype=np.float64)
    if kind == "regression":
        if out.ndim != 3 or out.shape[-1] != 2:
            raise ValueError(f"a regression export outputs (B, K, 2) coords, got shape {out.shape}")
        return from_normalized(out, (w, h)), np.full(out.shape[:2], np.nan)
    if kind != "heatmap" or not metadata.get("heatmap_size") or not metadata.get("sigma"):
        raise ValueError(
            f"metadata of kind {kind!r} without heatmap_size and sigma: pass the dict read_metadata(file) returns"
        )
    hw, hh = metadata["heatmap_size"]
    if out.ndim != 4 or out.shape[-2:] != (hh, hw) or w % hw or w // hw != h // hh:
        raise ValueError(f"heatmaps of shape {out.shape} do not fit the metadata's heatmap_size {[hw, hh]}")
    coords, scores = decode_heatmaps(out, decoder, blur_sigma=float(metadata["sigma"]))
    return transform_points(coords, invert_affine(reduction_matrix(w // hw))), scores
