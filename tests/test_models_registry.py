"""hourglass.models.registry: every registered model forward and backward, its stored architecture, errors."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from hourglass.models import StackedHourglass, VGGRegressor, build_model, list_models, register_model

# Small, fast variants of every registered model (forward + backward on CPU).
SMALL_KWARGS: dict[str, dict] = {
    "hourglass1": {"channels": 16, "num_keypoints": 5, "input_size": 64},
    "hourglass2": {"channels": 16, "num_keypoints": 5, "input_size": 64},
    "hourglass4": {"channels": 16, "num_keypoints": 5, "input_size": 64},
    "hourglass8": {"channels": 16, "num_keypoints": 5, "input_size": (64, 96)},
    "vgg16_gap": {"num_keypoints": 5, "input_size": 64, "width": 0.125},
    "vgg16_fc": {"num_keypoints": 5, "input_size": (64, 96), "width": 0.0625},
}


def test_every_registered_model_has_small_kwargs() -> None:
    assert sorted(SMALL_KWARGS) == list_models()


@pytest.mark.parametrize("name", list_models())
def test_forward_backward(name: str) -> None:
    torch.manual_seed(0)
    kwargs = SMALL_KWARGS[name]
    model = build_model(name, **kwargs)
    w_in, h_in = model.input_size
    x = torch.randn(2, 3, h_in, w_in)
    out = model.train()(x)

    if isinstance(model, StackedHourglass):
        w, h = model.heatmap_size
        assert (w, h) == (w_in // 4, h_in // 4)
        assert out.shape == (2, model.num_stacks, 5, h, w)
        assert model.num_stacks == int(name.removeprefix("hourglass"))
    else:
        assert isinstance(model, VGGRegressor)
        assert out.shape == (2, 5, 2)
    assert torch.isfinite(out).all()

    (out**2).mean().backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: parameter {pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{name}: parameter {pname} has a non-finite gradient"

    # The stored architecture is JSON-serialisable and rebuilds the same model.
    arch = json.loads(json.dumps(model.arch))
    assert arch["name"] == name
    rebuilt = build_model(arch.pop("name"), **arch)
    assert rebuilt.arch == model.arch
    assert [(k, v.shape) for k, v in rebuilt.state_dict().items()] == [
        (k, v.shape) for k, v in model.state_dict().items()
    ]


def test_registry_errors() -> None:
    with pytest.raises(ValueError, match="unknown model 'hourglass3'.*hourglass1.*vgg16_gap"):
        build_model("hourglass3")
    with pytest.raises(TypeError, match="num_stacks"):
        build_model("hourglass8", num_stacks=2)

    def hourglass8() -> nn.Module:  # same name as a built-in
        return nn.Identity()

    with pytest.raises(ValueError, match="already registered"):
        register_model(hourglass8)
    assert list_models() == sorted(SMALL_KWARGS)
