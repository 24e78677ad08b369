"""From a model to image coordinates: the network on crops, the flip test, decoding, the inverse crop.

- :func:`forward` runs the network on normalised crops, optionally with the flip test
  (heatmaps: :func:`hourglass.codec.flip_test`; regression: the mirrored prediction's x
  reflected, ``u -> 1 - u``, and its keypoints permuted by ``spec.flip_index``);
- :func:`to_image` decodes the output (heatmaps with the chosen decoder, DARK by default with
  the training sigma as blur) and maps it back to original image coordinates through the
  inverse of the crop;
- :func:`predict_dataset` does both for every subject of an
  :class:`~hourglass.data.AnnotationSet`, from the un-augmented crops of
  :class:`~hourglass.data.TopDownPipeline` (``train=False``).

Speed on the CPU (docs/performance.md): :func:`prepare_model` puts the network in channels-last
memory, :func:`forward` gives it channels-last input and, for ``precision="bf16"``, runs it under
bfloat16 autocast; its output, and all decoding, stay float32. :func:`inference_precision`
resolves ``"auto"``: bf16 on a CPU with native bf16 (:func:`hourglass.runtime.resolve_precision`)
unless the model is in :data:`FP32_MODELS`, whose held-out metrics move by more than the
tolerance in bf16.

Training validation, :class:`hourglass.Predictor` and ``tools/eval.py`` all go through these.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from hourglass.codec import decode_heatmaps, flat_heatmap_warning, flip_test
from hourglass.data import KeypointDataset, PipelineConfig, TopDownPipeline
from hourglass.geometry import crop_matrix, from_normalized, invert_affine, to_normalized, transform_points
from hourglass.runtime import autocast, resolve_precision

__all__ = [
    "FP32_MODELS",
    "Predictions",
    "crop_sizes",
    "eval_pipeline",
    "forward",
    "inference_precision",
    "predict_dataset",
    "prepare_model",
    "to_image",
]

FP32_MODELS: frozenset[str] = frozenset({"300w-hg2", "lspet-hg2"})
"""Model names (:attr:`~hourglass.weights.LoadedModel.name`) that ``precision="auto"`` runs in float32.

The rule for the shipped models: bf16 is the default only where it keeps the held-out metrics
within 0.02 NME points (faces, 300-W holdout) or 0.1 PCK points (bodies, LSPET val) of float32.
Measured (weights/README.md): ``300w-hg2`` NME io 4.83 -> 5.07 % and ``lspet-hg2`` PCK@0.2
61.78 -> 61.55 % miss it; ``300w-vgg`` (+0.002) and ``lspet-hg4`` (-0.06) keep it."""

logger = logging.getLogger("hourglass.evaluation")


# --- model -> image coordinates --------------------------------------------------------------
def prepare_model(model: nn.Module, device: Any) -> nn.Module:
    """Put ``model`` in channels-last memory when it runs on the CPU (faster convolutions,
    max-pools and upsampling there); returns it. GPU models are left as they are."""
    if torch.device(device).type == "cpu":
        model.to(memory_format=torch.channels_last)
    return model


def inference_precision(loaded: Any, precision: str = "auto") -> str:
    """``"fp32"`` or ``"bf16"`` for a :class:`~hourglass.weights.LoadedModel` (module docstring)."""
    if precision == "auto" and loaded.name in FP32_MODELS:
        return "fp32"
    return resolve_precision(precision, loaded.device)


def _channels_last(model: nn.Module) -> bool:
    first = next((p for p in model.parameters() if p.ndim == 4), None)
    return first is not None and first.is_contiguous(memory_format=torch.channels_last)


def forward(
    model: nn.Module, kind: str, images: Tensor, spec: Any, *, flip: bool = False, precision: str | None = None
) -> Tensor:
    """Network output for a batch of normalised crops, optionally with the flip test.

    Args:
        model: a stacked hourglass (``kind="heatmap"``) or a regressor (``"regression"``).
        images: (B, 3, H, W) normalised crops on the model's device; made channels-last when the
            model's convolutions are (:func:`prepare_model`).
        spec: the keypoint spec (its ``flip_index`` un-mirrors the flipped prediction).
        flip: average with the prediction for the mirrored crops.
        precision: ``"fp32"`` or ``"bf16"`` (autocast around the network), ``"auto"``
            (:func:`hourglass.runtime.resolve_precision`), or None: the caller's autocast, if any.

    Returns:
        float32 (B, K, h, w) heatmaps of the last stack, or (B, K, 2) normalised coordinates.
    """
    if kind not in ("heatmap", "regression"):
        raise ValueError(f"kind must be 'heatmap' or 'regression', got {kind!r}")
    if _channels_last(model):
        images = images.contiguous(memory_format=torch.channels_last)
    device = images.device
    context = autocast(resolve_precision(precision, device), device) if precision else contextlib.nullcontext()
    with context:
        out = model(images)
        mirrored = model(torch.flip(images, dims=[-1])) if flip else None
    out = (out[:, -1] if kind == "heatmap" else out).float()
    if mirrored is None:
        return out
    mirrored = (mirrored[:, -1] if kind == "heatmap" else mirrored).float()
    if kind == "heatmap":
        return flip_test(out, mirrored, spec)
    back = mirrored[:, list(spec.flip_index)].clone()
    back[..., 0] = 1.0 - back[..., 0]  # u = (x + 0.5) / W and x -> W - 1 - x give u -> 1 - u
    return 0.5 * (out + back)


def to_image(
    kind: str,
    output: Tensor,
    center: Any,
    scale: Any,
    rotation: Any = 0.0,
    *,
    input_size: Sequence[int],
    sigma: float = 2.0,
    decoder: str = "dark",
) -> tuple[np.ndarray, np.ndarray]:
    """Decode :func:`forward`'s output and map it to original image coordinates.

    Args:
        output: (B, K, h, w) heatmaps or (B, K, 2) normalised coordinates.
        center: (B, 2) crop centres; scale: (B,) crop scales (200-px units); rotation: (B,) or
            scalar degrees; all as used to cut the (unflipped) crops.
        input_size: (W, H) of the network input.
        sigma: training heatmap sigma (DARK's blur sigma).
        decoder: one of :data:`hourglass.codec.DECODE_METHODS` (heatmaps only).

    Returns:
        as :func:`crop_to_image`, whose crop matrix this builds from the crop's parameters.
    """
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    rotation = np.broadcast_to(np.asarray(rotation, dtype=np.float64), scale.shape)
    center = np.asarray(center, dtype=np.float64).reshape(-1, 2)
    matrix = crop_matrix(center, scale, tuple(input_size), rotation)  # (B, 2, 3) image -> input
    return crop_to_image(kind, output, matrix, input_size=input_size, sigma=sigma, decoder=decoder)


def crop_to_image(
    kind: str, output: Tensor, matrix: Any, *, input_size: Sequence[int], sigma: float = 2.0, decoder: str = "dark"
) -> tuple[np.ndarray, np.ndarray]:
    """Decode :func:`forward`'s output and map it through the inverse of the crop's own matrix.

    Args:
        output: (B, K, h, w) heatmaps or (B, K, 2) normalised coordinates.
        matrix: (B, 2, 3) affine from the original image to the network input, the one the crops
            were cut with (a :class:`~hourglass.data.pipeline.Sample`'s ``matrix``).
        input_size: (W, H) of the network input; heatmaps cover the same crop at (w, h).
        sigma, decoder: as :func:`to_image`.

    Returns:
        coords (B, K, 2) float64 image coordinates, scores (B, K) float64: the decoded heatmap
        maximum for heatmap models; NaN for regression models, which give no confidence.
    """
    output = output.detach().float().cpu()
    if kind == "heatmap":
        coords, scores = decode_heatmaps(output, decoder, blur_sigma=sigma)
        hm_size = (output.shape[-1], output.shape[-2])
        # heatmap and input are two samplings of one crop: equal normalised coordinates
        crop = from_normalized(to_normalized(coords.numpy().astype(np.float64), hm_size), tuple(input_size))
        scores = scores.numpy().astype(np.float64)
    else:
        crop = from_normalized(output.numpy().astype(np.float64), tuple(input_size))  # (B, K, 2)
        scores = np.full(crop.shape[:2], np.nan)  # no confidence: not a made-up 1.0
    matrix = np.asarray(matrix, dtype=np.float64).reshape(-1, 2, 3)
    return np.asarray(transform_points(crop, invert_affine(matrix))), scores


def crop_sizes(model: nn.Module) -> tuple[tuple[int, int], tuple[int, int]]:
    """(input size, target heatmap size), both (W, H), of the samples a network trains and evaluates on.

    Both come from the network itself; a regressor has no heatmaps, and its samples carry small
    unused targets at its trunk's stride.
    """
    size = tuple(model.input_size)
    return size, tuple(model.heatmap_size or (s // model.stride for s in size))


def eval_pipeline(model: nn.Module, spec: Any, sigma: float) -> TopDownPipeline:
    """The un-augmented crop pipeline of a network: its input size, heatmap size, the spec and sigma.

    The one place an evaluation pipeline is built: :func:`predict_dataset`, the
    :class:`~hourglass.Predictor`, training validation and the benchmarks all call it, so
    their crops, normalisation and targets cannot drift apart.

    Args:
        model: the network (its ``input_size``, ``heatmap_size`` and ``stride``).
        spec: its keypoint spec; sigma: its training heatmap sigma.
    """
    size, hm = crop_sizes(model)
    return TopDownPipeline(PipelineConfig(input_size=size, heatmap_size=hm, sigma=sigma, train=False), spec)


class Predictions(NamedTuple):
    """Predictions for N subjects: ``coords`` (N, K, 2) image coordinates, ``scores`` (N, K)."""

    coords: np.ndarray
    scores: np.ndarray


def predict_dataset(
    loaded: Any,
    annotations: Any,
    *,
    flip: bool = False,
    decoder: str = "dark",
    batch_size: int = 32,
    workers: int = 0,
    progress: bool = True,
    precision: str = "auto",
) -> Predictions:
    """Predict every subject of an annotation set from its un-augmented crop.

    Args:
        loaded: a :class:`hourglass.weights.LoadedModel` (see :func:`hourglass.weights.load_model`).
        annotations: an :class:`~hourglass.data.AnnotationSet` with the model's keypoint spec.
        flip, decoder: as :func:`forward` and :func:`to_image`.
        batch_size, workers: DataLoader settings.
        progress: show a tqdm progress bar (only when stderr is a terminal).
        precision: ``"auto"``, ``"fp32"`` or ``"bf16"`` (:func:`inference_precision`).

    Logs a warning when the heatmaps are flat (:func:`hourglass.codec.flat_heatmap_warning`).

    Raises:
        ValueError: the annotation set's spec differs from the model's.
    """
    if annotations.spec != loaded.spec:
        raise ValueError(
            f"{annotations.name} has keypoint spec {annotations.spec.name!r} ({annotations.spec.num_keypoints} "
            f"points) but model {loaded.path} predicts {loaded.spec.name!r} ({loaded.spec.num_keypoints}); "
            "evaluate it on a dataset of its own keypoints"
        )
    size = loaded.input_size
    precision = inference_precision(loaded, precision)
    prepare_model(loaded.model, loaded.device)
    ds = KeypointDataset(annotations, eval_pipeline(loaded.model, loaded.spec, loaded.sigma))
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, shuffle=False, num_workers=workers)
    coords, scores = [], []
    with torch.inference_mode():
        for batch in tqdm(
            loader, desc=f"predict {annotations.name}", unit="batch", disable=not (progress and sys.stderr.isatty())
        ):
            out = forward(
                loaded.model,
                loaded.output_kind,
                batch.image.to(loaded.device),
                loaded.spec,
                flip=flip,
                precision=precision,
            )
            c, s = crop_to_image(  # through the crops' own matrices
                loaded.output_kind, out, batch.matrix.numpy(), input_size=size, sigma=loaded.sigma, decoder=decoder
            )
            coords.append(c)
            scores.append(s)  # heatmaps: each map's maximum (decode_heatmaps' score)
    peaks = np.concatenate(scores) if scores and loaded.output_kind == "heatmap" else []
    flat = flat_heatmap_warning(peaks, where=f"{loaded.path} on {annotations.name}")
    if flat is not None:
        logger.warning(flat)
    k = loaded.spec.num_keypoints
    if not coords:
        return Predictions(np.zeros((0, k, 2)), np.zeros((0, k)))
    return Predictions(np.concatenate(coords), np.concatenate(scores))
