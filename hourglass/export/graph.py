"""The exported graph: :class:`InferenceWrapper` around a trained network.

Also the graph's input and output names, and the ONNX-friendly replacement for an adaptive
average pool to a size that does not divide the feature map (the VGG "fc" head); the
:mod:`hourglass.export` docstring describes the graph's inputs and outputs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from hourglass.models import StackedHourglass, VGGRegressor

__all__ = ["INPUT_NAME", "OUTPUT_NAMES", "InferenceWrapper"]

INPUT_NAME = "image"
"""Name of the graph input."""
OUTPUT_NAMES = {"heatmap": "heatmaps", "regression": "coords"}
"""Name of the graph output for each model kind."""


def _adaptive_pool_matrix(n_in: int, n_out: int) -> Tensor:
    """(n_out, n_in) averaging matrix with PyTorch's adaptive-pool bins.

    Bin i covers ``[floor(i * n_in / n_out), ceil((i + 1) * n_in / n_out))``.
    """
    i = torch.arange(n_out)
    start = torch.div(i * n_in, n_out, rounding_mode="floor")
    end = -torch.div(-(i + 1) * n_in, n_out, rounding_mode="floor")  # ceil
    cols = torch.arange(n_in)
    inside = (cols[None, :] >= start[:, None]) & (cols[None, :] < end[:, None])  # (n_out, n_in)
    return inside.float() / (end - start).float()[:, None]


class _MatrixAdaptivePool(nn.Module):
    """Adaptive average pooling of a fixed (h, w) map as ``P_h @ x @ P_w^T`` (ONNX-friendly)."""

    def __init__(self, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> None:
        super().__init__()
        self.register_buffer("rows", _adaptive_pool_matrix(in_hw[0], out_hw[0]), persistent=False)
        self.register_buffer("cols_t", _adaptive_pool_matrix(in_hw[1], out_hw[1]).t().contiguous(), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, h, w) -> (B, C, out_h, out_w)."""
        return torch.matmul(torch.matmul(self.rows, x), self.cols_t)


def _kind_of(model: nn.Module) -> str:
    """The model's own ``output_kind`` (``"heatmap"`` or ``"regression"``)."""
    if isinstance(model, (StackedHourglass, VGGRegressor)):
        return model.output_kind
    raise TypeError(
        f"cannot export a {type(model).__name__}: expected a StackedHourglass or a VGGRegressor "
        "(build it with hourglass.models.build_model or load it with hourglass.weights.load_model)"
    )


def _vgg_prepool(model: nn.Module) -> nn.Module:
    """Pre-pooling that makes the VGG head's adaptive pool exportable (identity when not needed)."""
    head_pool = model.head[0]
    if not isinstance(head_pool, nn.AdaptiveAvgPool2d):
        return nn.Identity()
    w_in, h_in = model.input_size
    h, w = h_in, w_in
    for m in model.features:  # the trunk halves the map at each 2x2 max pool (floor)
        if isinstance(m, nn.MaxPool2d):
            h, w = h // 2, w // 2
    size = head_pool.output_size
    out_h, out_w = (size, size) if isinstance(size, int) else size
    out_h, out_w = out_h or h, out_w or w  # None keeps that side
    if h % out_h == 0 and w % out_w == 0:
        return nn.Identity()
    # Pool to exactly (out_h, out_w): the head's own adaptive pool is then the identity.
    return _MatrixAdaptivePool((h, w), (out_h, out_w))


class InferenceWrapper(nn.Module):
    """The graph that is exported: image in, what deployment needs out.

    Args:
        model: a :class:`~hourglass.models.StackedHourglass` or
            :class:`~hourglass.models.VGGRegressor` (weights shared, not copied).

    Attributes:
        kind: ``"heatmap"`` or ``"regression"``.
        input_size: (W, H) of the input.
        input_name: ``"image"``; output_name: ``"heatmaps"`` or ``"coords"``.

    Shapes:
        forward(image (B, 3, H, W) float32, normalised with the ImageNet mean/std) ->
        heatmaps (B, K, H / 4, W / 4) of the last stack, or coords (B, K, 2) normalised (x, y).
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.kind = _kind_of(model)
        self.model = model
        self.input_size: tuple[int, int] = tuple(model.input_size)
        self.input_name = INPUT_NAME
        self.output_name = OUTPUT_NAMES[self.kind]
        self.prepool = _vgg_prepool(model) if self.kind == "regression" else nn.Identity()

    def forward(self, image: Tensor) -> Tensor:
        """image (B, 3, H, W) -> heatmaps (B, K, h, w) or coords (B, K, 2)."""
        if self.kind == "heatmap":
            return self.model(image)[:, -1]  # (B, S, K, h, w) -> last stack (B, K, h, w)
        return self.model.forward_head(self.prepool(self.model.forward_features(image)))
