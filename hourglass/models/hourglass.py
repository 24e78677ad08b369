"""Stacked hourglass network (Newell, Yang, Deng, ECCV 2016).

The layer layout follows the original Torch code (``hg.lua``) exactly, so parameter
counts match its models (16 keypoints, 256 channels, one residual per stage, 256x256 input:
1/2/4/8 stacks = 3.43 / 6.57 / 12.86 / 25.43 M learnable parameters; the state dict, which
adds the BatchNorm running statistics, holds 25.56 M values for 8 stacks, the "25.6 M"
often quoted):

- ``Residual``: pre-activation bottleneck BN-ReLU-conv1x1(C/2) -> BN-ReLU-conv3x3(C/2)
  -> BN-ReLU-conv1x1(C) plus a skip that is the identity, or a 1x1 conv only when the
  channel count changes. All convs carry a bias, as Torch's ``SpatialConvolution``.
- Stem: conv7x7/2 (3 -> 64) + BN + ReLU -> Residual(64 -> 128) -> maxpool/2
  -> Residual(128 -> 128) -> Residual(128 -> C). The heatmaps are 1/4 of the input size.
- ``HourglassModule`` of depth n, recursive: ``upper = Res(x)``;
  ``lower = maxpool(x) -> Res -> (hourglass of depth n-1, or Res at n = 1) -> Res``;
  ``out = upper + nearest_upsample_x2(lower)``.
- After each hourglass: Res -> conv1x1 + BN + ReLU (features) -> conv1x1 to K heatmaps.
  Between stacks (not after the last): ``x = x + conv1x1(features) + conv1x1(heatmaps)``.

"Res" above stands for ``num_blocks`` residual modules in sequence.

:func:`grow_stacks` turns the state dict of a trained network into one for a deeper stack
(warm-starting a 4-stack model from a 2-stack one); :func:`grow_depth` into one for a larger
input (a 256-px, depth-4 model from a 128-px, depth-3 one).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["HourglassModule", "Residual", "StackedHourglass", "auto_depth"]

# Smallest side the bottleneck may have when the depth is chosen automatically.
_MIN_BOTTLENECK = 4


def _check_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int >= 1 (bool excluded), else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _as_size(name: str, value: object) -> tuple[int, int]:
    """Normalise an int or a (W, H) pair of ints to a (W, H) tuple of positive ints."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise TypeError(f"{name} must be an int or a (W, H) pair of ints, got {value!r}")
    w = _check_positive_int(f"{name}[0] (width)", value[0])
    h = _check_positive_int(f"{name}[1] (height)", value[1])
    return w, h


def auto_depth(heatmap_size: tuple[int, int]) -> int:
    """Hourglass depth for a heatmap of size ``(W, H)``.

    The largest depth ``d >= 1`` such that both sides are divisible by ``2**d`` and the
    bottleneck (the map at the deepest level, ``(W / 2**d, H / 2**d)``) keeps both sides
    >= 4. For square power-of-two maps the bottleneck is exactly 4x4, as in the paper:
    64x64 -> depth 4, 32x32 -> depth 3. A 48x64 map gets depth 3 (bottleneck 6x8).

    Raises:
        ValueError: if no depth >= 1 qualifies (a side is odd or smaller than 8).
    """
    w, h = heatmap_size
    depth = 0
    while w % 2 ** (depth + 1) == 0 and h % 2 ** (depth + 1) == 0 and min(w, h) // 2 ** (depth + 1) >= _MIN_BOTTLENECK:
        depth += 1
    if depth == 0:
        raise ValueError(
            f"cannot choose an hourglass depth for a {w}x{h} (WxH) heatmap: both sides must be "
            f"even and at least {2 * _MIN_BOTTLENECK}; use an input size divisible by 32 "
            f"(heatmaps are input / 4), or pass depth explicitly"
        )
    return depth


def _residuals(channels: int, num_blocks: int) -> nn.Sequential:
    """``num_blocks`` channel-preserving residual modules in sequence."""
    return nn.Sequential(*(Residual(in_channels=channels, out_channels=channels) for _ in range(num_blocks)))


class Residual(nn.Module):
    """Pre-activation bottleneck residual module of the hourglass network.

    ``BN-ReLU-conv1x1(out/2) -> BN-ReLU-conv3x3(out/2) -> BN-ReLU-conv1x1(out)`` plus a skip:
    the identity when ``in_channels == out_channels``, otherwise a 1x1 conv (no skip conv
    is allocated when it would be unused).

    Args:
        in_channels: channels of the input, C_in.
        out_channels: channels of the output, C_out; must be even.

    Shapes:
        forward(x (B, C_in, H, W)) -> (B, C_out, H, W)
    """

    def __init__(self, *, in_channels: int, out_channels: int) -> None:
        super().__init__()
        _check_positive_int("in_channels", in_channels)
        _check_positive_int("out_channels", out_channels)
        if out_channels % 2:
            raise ValueError(f"out_channels must be even (the bottleneck has out_channels / 2), got {out_channels}")
        mid = out_channels // 2
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, mid, kernel_size=1)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, kernel_size=3, padding=1)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, out_channels, kernel_size=1)
        self.skip: nn.Module = (
            nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, kernel_size=1)
        )

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C_in, H, W) -> (B, C_out, H, W)."""
        # In place where autograd allows: BatchNorm saves its input, not its output, so the ReLU
        # may overwrite it; a conv needs only its input, so its output may take the skip.
        y = self.conv1(F.relu_(self.bn1(x)))
        y = self.conv2(F.relu_(self.bn2(y)))
        y = self.conv3(F.relu_(self.bn3(y)))
        return y.add_(self.skip(x))


class HourglassModule(nn.Module):
    """One hourglass of the given depth (recursive).

    ``upper = Res(x)``; ``lower = maxpool2(x) -> Res -> inner -> Res`` where ``inner`` is an
    hourglass of depth - 1, or ``Res`` at depth 1 (the bottleneck); output
    ``upper + nearest_upsample_x2(lower)``. Each "Res" is ``num_blocks`` residual modules.

    Args:
        depth: number of 2x downsamplings, >= 1. H and W of the input must be divisible
            by ``2**depth``.
        channels: feature channels C (even).
        num_blocks: residual modules per stage.

    Shapes:
        forward(x (B, C, H, W)) -> (B, C, H, W)
    """

    def __init__(self, *, depth: int, channels: int, num_blocks: int) -> None:
        super().__init__()
        self.depth = _check_positive_int("depth", depth)
        self.upper = _residuals(channels, num_blocks)
        self.down = _residuals(channels, num_blocks)
        self.inner: nn.Module = (
            HourglassModule(depth=depth - 1, channels=channels, num_blocks=num_blocks)
            if depth > 1
            else _residuals(channels, num_blocks)
        )
        self.up = _residuals(channels, num_blocks)

    @property
    def bottleneck(self) -> nn.Module:
        """The residual modules at the deepest level, run on a (B, C, H / 2**depth, W / 2**depth) map."""
        level: nn.Module = self
        while isinstance(level, HourglassModule):
            level = level.inner
        return level

    def forward(self, x: Tensor) -> Tensor:
        """x (B, C, H, W) -> (B, C, H, W)."""
        upper = self.upper(x)  # a residual's own output: free to be added to in place
        lower = self.up(self.inner(self.down(F.max_pool2d(x, kernel_size=2, stride=2))))
        return upper.add_(F.interpolate(lower, scale_factor=2.0, mode="nearest"))


class StackedHourglass(nn.Module):
    """Stacked hourglass network producing the heatmaps of every stack.

    Args:
        num_stacks: number of hourglasses S.
        num_blocks: residual modules per stage (1 in the paper).
        channels: feature channels C (256 in the paper); must be even.
        num_keypoints: heatmap channels K.
        input_size: input image size, an int or a (W, H) pair. Heatmaps are input / 4.
        depth: hourglass depth (number of 2x downsamplings). ``None`` chooses it from the
            heatmap size with :func:`auto_depth` (bottleneck 4x4 for square power-of-two
            maps: depth 4 at 64x64, 3 at 32x32). Both input sides must be divisible by
            ``4 * 2**depth``.

    Attributes:
        input_size: (W_in, H_in).
        heatmap_size: (W, H) = (W_in / 4, H_in / 4).
        stride: 4, input pixels per heatmap pixel (class attribute).
        output_kind: ``"heatmap"`` (class attribute): the output is (B, S, K, H, W) heatmaps.
        depth, num_stacks, num_keypoints, channels, num_blocks: as built.

    Shapes:
        forward(x (B, 3, H_in, W_in)) -> heatmaps (B, S, K, H, W), stack order; the last
        stack's heatmaps are the prediction, all of them get the loss.
    """

    stride = 4
    output_kind = "heatmap"

    def __init__(
        self,
        *,
        num_stacks: int = 8,
        num_blocks: int = 1,
        channels: int = 256,
        num_keypoints: int = 16,
        input_size: int | tuple[int, int] = 256,
        depth: int | None = None,
    ) -> None:
        super().__init__()
        self.num_stacks = _check_positive_int("num_stacks", num_stacks)
        self.num_blocks = _check_positive_int("num_blocks", num_blocks)
        self.channels = _check_positive_int("channels", channels)
        self.num_keypoints = _check_positive_int("num_keypoints", num_keypoints)
        if channels % 2:
            raise ValueError(f"channels must be even (residual bottlenecks use channels / 2), got {channels}")
        self.input_size = _as_size("input_size", input_size)
        w_in, h_in = self.input_size
        if w_in % 4 or h_in % 4:
            raise ValueError(
                f"input_size {w_in}x{h_in} (WxH) must be divisible by 4 in both sides "
                f"(heatmaps are input / 4); use e.g. 256 or (192, 256)"
            )
        self.heatmap_size = (w_in // self.stride, h_in // self.stride)
        if depth is None:
            depth = auto_depth(self.heatmap_size)
        else:
            _check_positive_int("depth", depth)
            factor = 4 * 2**depth
            if w_in % factor or h_in % factor:
                raise ValueError(
                    f"input_size {w_in}x{h_in} (WxH) must be divisible by 4 * 2**depth = {factor} "
                    f"in both sides for depth={depth}; use a smaller depth or depth=None"
                )
        self.depth = depth

        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3),
            nn.BatchNorm2d(64),
            nn.ReLU(inplace=True),
            Residual(in_channels=64, out_channels=128),
            nn.MaxPool2d(kernel_size=2, stride=2),
            Residual(in_channels=128, out_channels=128),
            Residual(in_channels=128, out_channels=channels),
        )
        self.hourglasses = nn.ModuleList(
            HourglassModule(depth=depth, channels=channels, num_blocks=num_blocks) for _ in range(num_stacks)
        )
        self.features = nn.ModuleList(
            nn.Sequential(
                _residuals(channels, num_blocks),
                nn.Conv2d(channels, channels, kernel_size=1),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            )
            for _ in range(num_stacks)
        )
        self.heads = nn.ModuleList(nn.Conv2d(channels, num_keypoints, kernel_size=1) for _ in range(num_stacks))
        # Re-injection of features and heatmaps into the next stack (none after the last).
        self.merge_features = nn.ModuleList(nn.Conv2d(channels, channels, kernel_size=1) for _ in range(num_stacks - 1))
        self.merge_heatmaps = nn.ModuleList(
            nn.Conv2d(num_keypoints, channels, kernel_size=1) for _ in range(num_stacks - 1)
        )

    def _check_input(self, x: Tensor) -> None:
        w_in, h_in = self.input_size
        if x.ndim != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (h_in, w_in):
            raise ValueError(
                f"StackedHourglass expects images of shape (B, 3, {h_in}, {w_in}) "
                f"(input_size={w_in}x{h_in} WxH), got {tuple(x.shape)}; resize or crop the "
                f"input, or build the model with the matching input_size"
            )
        if not x.is_floating_point():
            raise TypeError(f"StackedHourglass expects a floating-point input, got {x.dtype}")

    def forward(self, x: Tensor) -> Tensor:
        """x (B, 3, H_in, W_in) -> heatmaps (B, S, K, H, W) with H = H_in / 4, W = W_in / 4."""
        self._check_input(x)
        x = self.stem(x)  # (B, C, H, W)
        heatmaps: list[Tensor] = []
        for i in range(self.num_stacks):
            features = self.features[i](self.hourglasses[i](x))  # (B, C, H, W)
            heatmap = self.heads[i](features)  # (B, K, H, W)
            heatmaps.append(heatmap)
            if i < self.num_stacks - 1:
                # x itself is saved by this stack's first BatchNorm and max-pool: add into a conv output
                merged = self.merge_features[i](features)
                x = merged.add_(self.merge_heatmaps[i](heatmap)).add_(x)
        return torch.stack(heatmaps, dim=1)  # (B, S, K, H, W)
