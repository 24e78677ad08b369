"""Configuration of the top-down training-sample pipeline: :class:`PipelineConfig`, ImageNet statistics.

:class:`PipelineConfig` is a frozen dataclass of plain numbers that checks and normalises its
fields when it is built (pairs become tuples of int or float, probabilities become floats). It
configures :class:`~hourglass.data.pipeline.TopDownPipeline`; what each setting does, and where
the defaults come from, is written in :mod:`hourglass.data.pipeline`. This module imports
neither torch nor OpenCV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "PipelineConfig"]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""RGB mean of ImageNet images in [0, 1] (torchvision's pretrained models)."""
IMAGENET_STD = (0.229, 0.224, 0.225)
"""RGB standard deviation of ImageNet images in [0, 1]."""

_SAMPLING = ("normal", "uniform")


def _pair(cfg: Any, name: str, kind: type, *, positive: bool = False, ordered: bool = True) -> None:
    """Normalise field ``name`` of a frozen config to a 2-tuple of ``kind`` and check it."""
    value = getattr(cfg, name)
    try:
        a, b = value
        pair = (kind(a), kind(b))
        ok = all(math.isfinite(v) for v in pair) and (kind is float or (a, b) == pair)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"PipelineConfig.{name} must be a pair of {kind.__name__}s, got {value!r}")
    if positive and min(pair) <= 0:
        raise ValueError(f"PipelineConfig.{name} must be positive, got {value!r}")
    if ordered and pair[0] > pair[1]:
        raise ValueError(f"PipelineConfig.{name} must be (low, high) with low <= high, got {value!r}")
    object.__setattr__(cfg, name, pair)


@dataclass(frozen=True)
class PipelineConfig:
    """Configuration of :class:`~hourglass.data.pipeline.TopDownPipeline` (sizes are (W, H); angles in degrees).

    Attributes:
        input_size: (W, H) of the network input crop.
        heatmap_size: (W, H) of the target heatmaps; same aspect ratio as ``input_size``.
        sigma: Gaussian standard deviation of the targets, in heatmap pixels.
        train: random augmentation on (True) or off (False: the plain crop, no photometric).
        scale_factor: (low, high) range of the random crop-scale multiplier.
        rotation: largest absolute rotation in degrees (0 to 180).
        rotation_prob: probability that a sample is rotated at all.
        sampling: ``"normal"``: scale and angle drawn as ``clip(mid + half N(0, 1))`` over
            their ranges (mid and half-width of the range; the hourglass recipes' truncated
            normal), or ``"uniform"`` over the ranges.
        shift: largest shift of the crop centre along each image axis, as a fraction of the crop
            side (uniform in [-shift, shift]; 0 to 0.5): the framing error of a detector's box,
            which training crops centred on the annotation never show (0: no shift, and no
            random numbers drawn for it, so older recipes draw exactly what they drew).
        partial_prob: share of samples cropped as partial views: zoomed in (scale multiplier
            uniform in ``partial_scale``) and moved (centre shift uniform up to ``partial_shift``
            of the crop side), so that parts of the subject fall outside the crop, as a
            head-and-shoulders photo shows a body (0: none, and no random numbers drawn for it).
        partial_scale: (low, high) scale multiplier of a partial view.
        partial_shift: largest centre shift of a partial view, as a fraction of the crop side.
        absent_targets: labelled keypoints outside the crop keep weight 1 with an all-zero
            target, so that the model learns that a keypoint out of view is absent (the original
            hourglass code's MSE covers every map); False: weight 0, the keypoint is not learnt.
        flip_prob: probability of a horizontal flip.
        color_scale: (low, high) range of the per-channel colour multiplier.
        color_prob: probability of the colour augmentation.
        blur_sigma: (low, high) range of the Gaussian blur's sigma in input pixels.
        blur_prob: probability of the blur.
        noise_std: (low, high) range of the Gaussian noise's std as a fraction of 255.
        noise_prob: probability of the noise.
        dropout_holes: (low, high) number of occluding rectangles.
        dropout_size: (low, high) side of each rectangle as a fraction of the crop side.
        dropout_prob: probability of the coarse dropout.
        mean: RGB mean subtracted after scaling the image to [0, 1].
        std: RGB std the image is divided by after subtracting the mean.
    """

    input_size: tuple[int, int] = (256, 256)
    heatmap_size: tuple[int, int] = (64, 64)
    sigma: float = 2.0
    train: bool = True
    scale_factor: tuple[float, float] = (0.75, 1.25)
    rotation: float = 30.0
    rotation_prob: float = 0.4
    sampling: str = "normal"
    shift: float = 0.0
    partial_prob: float = 0.0
    partial_scale: tuple[float, float] = (0.35, 0.7)
    partial_shift: float = 0.35
    absent_targets: bool = False
    flip_prob: float = 0.5
    color_scale: tuple[float, float] = (0.6, 1.4)
    color_prob: float = 1.0
    blur_sigma: tuple[float, float] = (0.5, 1.5)
    blur_prob: float = 0.1
    noise_std: tuple[float, float] = (0.01, 0.05)
    noise_prob: float = 0.1
    dropout_holes: tuple[int, int] = (1, 1)
    dropout_size: tuple[float, float] = (0.2, 0.4)
    dropout_prob: float = 0.2
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        for name in ("input_size", "heatmap_size"):
            _pair(self, name, int, positive=True, ordered=False)
        (w, h), (hw, hh) = self.input_size, self.heatmap_size
        if w * hh != hw * h:
            raise ValueError(
                f"PipelineConfig: heatmap_size {self.heatmap_size} must have the aspect ratio of input_size "
                f"{self.input_size} (both sample the same crop), e.g. input (256, 256) with heatmaps (64, 64)"
            )
        for name in ("train", "absent_targets"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"PipelineConfig.{name} must be True or False, got {getattr(self, name)!r}")
        if self.sampling not in _SAMPLING:
            raise ValueError(f"PipelineConfig.sampling must be one of {list(_SAMPLING)}, got {self.sampling!r}")
        for name in ("sigma", "rotation") + tuple(f.name for f in fields(self) if f.name.endswith("_prob")):
            value = getattr(self, name)
            try:
                v = float(value)
            except (TypeError, ValueError):
                v = math.nan
            bad = not math.isfinite(v) or isinstance(value, bool)
            if name == "sigma":
                bad = bad or v <= 0
            elif name == "rotation":
                bad = bad or not 0 <= v <= 180
            else:
                bad = bad or not 0 <= v <= 1
            if bad:
                need = {"sigma": "a positive number", "rotation": "in [0, 180] degrees"}.get(name, "in [0, 1]")
                raise ValueError(f"PipelineConfig.{name} must be {need}, got {value!r}")
            object.__setattr__(self, name, v)
        _pair(self, "scale_factor", float, positive=True)
        _pair(self, "partial_scale", float, positive=True)
        for name in ("shift", "partial_shift"):
            value = getattr(self, name)
            try:
                shift = float(value)
            except (TypeError, ValueError):
                shift = math.nan
            if isinstance(value, bool) or not 0 <= shift <= 0.5:
                raise ValueError(
                    f"PipelineConfig.{name} must be in [0, 0.5] (fraction of the crop side), got {value!r}"
                )
            object.__setattr__(self, name, shift)
        _pair(self, "color_scale", float)
        _pair(self, "blur_sigma", float, positive=True)
        _pair(self, "noise_std", float)
        _pair(self, "dropout_holes", int, positive=True)
        _pair(self, "dropout_size", float, positive=True)
        if self.color_scale[0] < 0:
            raise ValueError(f"PipelineConfig.color_scale must be non-negative, got {self.color_scale!r}")
        if not (0 <= self.noise_std[0] and self.noise_std[1] <= 1):
            raise ValueError(f"PipelineConfig.noise_std must lie in [0, 1] (fraction of 255), got {self.noise_std!r}")
        if self.dropout_size[1] > 1:
            raise ValueError(
                f"PipelineConfig.dropout_size must lie in (0, 1] (fraction of the crop), got {self.dropout_size!r}"
            )
        for name in ("mean", "std"):
            value = getattr(self, name)
            try:
                triple = tuple(float(v) for v in value)
            except (TypeError, ValueError):
                triple = ()
            if len(triple) != 3 or not all(math.isfinite(v) for v in triple):
                raise ValueError(
                    f"PipelineConfig.{name} must be three RGB numbers (image scaled to [0, 1]), got {value!r}"
                )
            if name == "std" and min(triple) <= 0:
                raise ValueError(f"PipelineConfig.std must be positive, got {value!r}")
            object.__setattr__(self, name, triple)

    @property
    def max_scale_factor(self) -> float:
        """Largest crop-scale multiplier a sample can get (1 when ``train`` is False)."""
        high = max(self.scale_factor[1], self.partial_scale[1]) if self.partial_prob > 0 else self.scale_factor[1]
        return high if self.train else 1.0

    @property
    def min_scale_factor(self) -> float:
        """Smallest crop-scale multiplier a sample can get (1 when ``train`` is False)."""
        low = min(self.scale_factor[0], self.partial_scale[0]) if self.partial_prob > 0 else self.scale_factor[0]
        return low if self.train else 1.0

    @property
    def max_shift(self) -> float:
        """Largest centre shift a sample can get, as a fraction of the crop side (0 when ``train`` is False)."""
        shift = max(self.shift, self.partial_shift) if self.partial_prob > 0 else self.shift
        return shift if self.train else 0.0

    @property
    def max_rotation(self) -> float:
        """Largest absolute rotation in degrees a sample can get (0 when not rotating)."""
        return self.rotation if self.train and self.rotation_prob > 0 else 0.0
