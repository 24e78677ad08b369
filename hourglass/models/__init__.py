"""Models: stacked hourglass (heatmaps) and VGG-16 (direct regression), with a registry."""

from .complexity import count_flops, count_parameters, measure_latency
from .growth import grow_depth, grow_stacks
from .hourglass import HourglassModule, Residual, StackedHourglass, auto_depth
from .registry import build_model, list_models, register_model
from .vgg import VGG16_LAYERS, VGGRegressor

__all__ = [
    "VGG16_LAYERS",
    "HourglassModule",
    "Residual",
    "StackedHourglass",
    "VGGRegressor",
    "auto_depth",
    "build_model",
    "count_flops",
    "count_parameters",
    "grow_depth",
    "grow_stacks",
    "list_models",
    "measure_latency",
    "register_model",
]
