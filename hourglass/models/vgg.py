"""VGG-16 (configuration D, with BatchNorm) for direct keypoint regression.

The convolutional trunk is VGG-16 "D" (Simonyan & Zisserman, 2015) with BatchNorm after
every conv (as torchvision's ``vgg16_bn``), written here from the layer spec
:data:`VGG16_LAYERS`. The head regresses K keypoints as normalised crop coordinates
(x, y): 0 is the left/top edge of the crop, 1 the right/bottom edge (conversion to pixels:
``hourglass.geometry``). Predictions are not squashed, so a keypoint outside the crop can
be predicted outside [0, 1]. The final linear layer starts with bias 0.5 and tiny weights,
so initial predictions sit at the crop centre.
"""

from __future__ import annotations

from typing import Literal

from torch import Tensor, nn

from .hourglass import _as_size, _check_positive_int

__all__ = ["VGG16_LAYERS", "VGGRegressor"]

# VGG-16 configuration D: output channels of each conv3x3 layer, "M" = 2x2 max pool.
VGG16_LAYERS: tuple[int | str, ...] = (
    64, 64, "M",
    128, 128, "M",
    256, 256, 256, "M",
    512, 512, 512, "M",
    512, 512, 512, "M",
)  # fmt: skip

_FC_HIDDEN = 4096
_FC_POOL = 7
# Smallest input side: the trunk halves the resolution five times.
_MIN_INPUT = 32


def _scaled(channels: int, width: float) -> int:
    return max(1, int(round(channels * width)))


def _make_trunk(layers: tuple[int | str, ...], width: float) -> tuple[nn.Sequential, int]:
    """Build conv3x3-BN-ReLU / maxpool layers from a spec; return them and the output channels."""
    modules: list[nn.Module] = []
    in_channels = 3
    for spec in layers:
        if spec == "M":
            modules.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            out_channels = _scaled(int(spec), width)
            modules += [
                nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            ]
            in_channels = out_channels
    return nn.Sequential(*modules), in_channels


class VGGRegressor(nn.Module):
    """VGG-16-BN trunk plus a head regressing normalised keypoint coordinates.

    Args:
        num_keypoints: number of keypoints K.
        input_size: input image size, an int or a (W, H) pair; both sides >= 32.
        head: ``"gap"``: global average pool -> dropout -> Linear(512w, 2K);
            ``"fc"``: the classic VGG classifier, adaptive average pool to 7x7 ->
            Linear(512w * 49, 4096w) -> ReLU -> Dropout -> Linear(4096w, 4096w) -> ReLU
            -> Dropout -> Linear(4096w, 2K).
        width: multiplier w > 0 on every conv width and on the fc hidden size (1.0 is
            VGG-16; e.g. 0.25 gives a small CPU-trainable variant).
        dropout: dropout probability in the head, in [0, 1). 0.5 (VGG's classifier value, this
            toolkit's choice for the ``gap`` head; MMPose's DeepPose head has none) is what
            the shipped ``300w-vgg`` was trained with.

    Attributes:
        num_keypoints, input_size ((W_in, H_in)), head_type, width, num_features (trunk
        output channels).
        output_kind: ``"regression"`` (class attribute): the output is (B, K, 2) coordinates.
        heatmap_size: None (no heatmaps); stride: 32, input pixels per trunk output pixel.

    Shapes:
        forward_features(x (B, 3, H_in, W_in)) -> (B, 512w, H_in / 32, W_in / 32)
        forward_head(features) -> coordinates (B, K, 2), (x, y) in crop units
        forward(x (B, 3, H_in, W_in)) -> coordinates (B, K, 2)
    """

    output_kind = "regression"
    heatmap_size = None
    stride = 32

    def __init__(
        self,
        *,
        num_keypoints: int,
        input_size: int | tuple[int, int] = 256,
        head: Literal["gap", "fc"] = "gap",
        width: float = 1.0,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.num_keypoints = _check_positive_int("num_keypoints", num_keypoints)
        self.input_size = _as_size("input_size", input_size)
        if min(self.input_size) < _MIN_INPUT:
            raise ValueError(
                f"input_size {self.input_size[0]}x{self.input_size[1]} (WxH) is too small: "
                f"VGG halves the resolution five times, both sides must be >= {_MIN_INPUT}"
            )
        if head not in ("gap", "fc"):
            raise ValueError(f"head must be 'gap' or 'fc', got {head!r}")
        if isinstance(width, bool) or not isinstance(width, (int, float)) or not width > 0:
            raise ValueError(f"width must be a positive number (1.0 = VGG-16), got {width!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        self.head_type = head
        self.width = float(width)

        self.features, self.num_features = _make_trunk(VGG16_LAYERS, self.width)
        out_dim = 2 * num_keypoints
        if head == "gap":
            self.head = nn.Sequential(
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Dropout(dropout),
                nn.Linear(self.num_features, out_dim),
            )
        else:
            hidden = _scaled(_FC_HIDDEN, self.width)
            self.head = nn.Sequential(
                nn.AdaptiveAvgPool2d(_FC_POOL),
                nn.Flatten(),
                nn.Linear(self.num_features * _FC_POOL * _FC_POOL, hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(hidden, hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(dropout),
                nn.Linear(hidden, out_dim),
            )
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, mean=0.0, std=0.01)
                nn.init.zeros_(m.bias)
        # Start every prediction at the crop centre (0.5, 0.5).
        final = self.head[-1]
        assert isinstance(final, nn.Linear)
        nn.init.normal_(final.weight, mean=0.0, std=1e-3)
        nn.init.constant_(final.bias, 0.5)

    def _check_input(self, x: Tensor) -> None:
        w_in, h_in = self.input_size
        if x.ndim != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (h_in, w_in):
            raise ValueError(
                f"VGGRegressor expects images of shape (B, 3, {h_in}, {w_in}) "
                f"(input_size={w_in}x{h_in} WxH), got {tuple(x.shape)}; resize or crop the "
                f"input, or build the model with the matching input_size"
            )
        if not x.is_floating_point():
            raise TypeError(f"VGGRegressor expects a floating-point input, got {x.dtype}")

    def forward_features(self, x: Tensor) -> Tensor:
        """x (B, 3, H_in, W_in) -> trunk features (B, 512w, H_in / 32, W_in / 32)."""
        self._check_input(x)
        return self.features(x)

    def forward_head(self, features: Tensor) -> Tensor:
        """features (B, 512w, h, w) -> normalised coordinates (B, K, 2) as (x, y)."""
        out = self.head(features)  # (B, 2K)
        return out.view(out.shape[0], self.num_keypoints, 2)

    def forward(self, x: Tensor) -> Tensor:
        """x (B, 3, H_in, W_in) -> normalised coordinates (B, K, 2) as (x, y)."""
        return self.forward_head(self.forward_features(x))
