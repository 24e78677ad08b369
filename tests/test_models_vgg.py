"""hourglass.models.vgg: the VGG-16 regressor's sizes, width, head, initial prediction and errors."""

from __future__ import annotations

import pytest
import torch
from _helpers import meta_model

from hourglass.models import VGGRegressor, count_flops, count_parameters


def test_vgg_sizes() -> None:
    gap = meta_model("vgg16_gap")
    fc = meta_model("vgg16_fc")
    trunk = 14_714_688 + 2 * (64 * 2 + 128 * 2 + 256 * 3 + 512 * 6)  # VGG-16 convs + BN affine
    assert count_parameters(gap) == trunk + 512 * 32 + 32
    assert count_parameters(fc) == trunk + (512 * 49 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 32 + 32)
    # VGG-16 convs at 224x224 are the well-known 15.4 G MACs.
    assert count_flops(meta_model("vgg16_gap", input_size=224)) == pytest.approx(2 * 15.36e9, rel=0.01)
    assert gap.features(torch.zeros(1, 3, 256, 192, device="meta")).shape == (1, 512, 8, 6)


def test_vgg_width_and_initial_prediction_at_crop_centre() -> None:
    torch.manual_seed(0)
    model = VGGRegressor(num_keypoints=4, input_size=(64, 96), head="fc", width=0.25).eval()
    assert model.num_features == 128
    assert model.head[2].out_features == 1024
    features = model.forward_features(torch.randn(3, 3, 96, 64))
    assert features.shape == (3, 128, 3, 2)
    coords = model.forward_head(features)
    assert coords.shape == (3, 4, 2)
    assert torch.allclose(coords, torch.full_like(coords, 0.5), atol=0.05)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"head": "mlp"}, "head must be 'gap' or 'fc', got 'mlp'"),
        ({"width": 0}, "width must be a positive number"),
        ({"dropout": 1.0}, "dropout must be a probability"),
        ({"input_size": 16}, "too small"),
    ],
)
def test_vgg_constructor_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VGGRegressor(num_keypoints=3, **kwargs)
