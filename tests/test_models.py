"""Tests for hourglass.models: every registered model, sizes, FLOPs, shapes and errors."""

from __future__ import annotations

import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hourglass.models import (
    HourglassModule,
    Residual,
    StackedHourglass,
    VGGRegressor,
    auto_depth,
    build_model,
    count_flops,
    count_parameters,
    grow_depth,
    grow_stacks,
    list_models,
    register_model,
)

# Small, fast variants of every registered model (forward + backward on CPU).
SMALL_KWARGS: dict[str, dict] = {
    "hourglass1": {"channels": 16, "num_keypoints": 5, "input_size": 64},
    "hourglass2": {"channels": 16, "num_keypoints": 5, "input_size": 64},
    "hourglass4": {"channels": 16, "num_keypoints": 5, "input_size": 64},
    "hourglass8": {"channels": 16, "num_keypoints": 5, "input_size": (64, 96)},
    "vgg16_gap": {"num_keypoints": 5, "input_size": 64, "width": 0.125},
    "vgg16_fc": {"num_keypoints": 5, "input_size": (64, 96), "width": 0.0625},
}

# Paper sizes: 16 keypoints, 256 channels, one block, 256x256 input.
REFERENCE = {  # stacks: (parameters, conv GFLOP per image)
    1: (3.43e6, 10.3e9),
    2: (6.57e6, 16.7e9),
    4: (12.86e6, 29.4e9),
    8: (25.43e6, 54.9e9),
}


def _meta_model(name: str, **kwargs) -> nn.Module:
    """Build a model on the meta device: shapes only, no memory or compute."""
    with torch.device("meta"):
        return build_model(name, **kwargs)


def _bottleneck_shape(model: StackedHourglass, x: torch.Tensor) -> tuple[int, ...]:
    shapes: list[tuple[int, ...]] = []
    hourglass = model.hourglasses[0]
    assert isinstance(hourglass, HourglassModule)
    handle = hourglass.bottleneck.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape)))
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        handle.remove()
    assert len(shapes) == 1
    return shapes[0]


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


@pytest.mark.parametrize("stacks", sorted(REFERENCE))
def test_hourglass_parameters_and_flops_match_paper(stacks: int) -> None:
    model = _meta_model(f"hourglass{stacks}")
    params, flops = REFERENCE[stacks]
    assert model.depth == 4
    assert model.heatmap_size == (64, 64)
    assert count_parameters(model) == pytest.approx(params, rel=0.005)
    assert count_flops(model, (256, 256)) == pytest.approx(flops, rel=0.01)


def test_hourglass8_default_output_shape() -> None:
    model = _meta_model("hourglass8")
    out = model(torch.zeros(2, 3, 256, 256, device="meta"))
    assert out.shape == (2, 8, 16, 64, 64)


def test_residual_skip_conv_only_when_channels_change() -> None:
    same = Residual(in_channels=32, out_channels=32)
    assert isinstance(same.skip, nn.Identity)
    assert count_parameters(same) == (2 * 32 + 32 * 16 + 16) + (2 * 16 + 16 * 16 * 9 + 16) + (2 * 16 + 16 * 32 + 32)
    changed = Residual(in_channels=16, out_channels=32)
    assert isinstance(changed.skip, nn.Conv2d)
    assert changed(torch.randn(1, 16, 8, 8)).shape == (1, 32, 8, 8)


@pytest.mark.parametrize(("input_size", "depth"), [(256, 4), (128, 3)])
def test_bottleneck_is_4x4(input_size: int, depth: int) -> None:
    model = StackedHourglass(num_stacks=1, channels=16, num_keypoints=3, input_size=input_size)
    assert model.depth == depth
    shape = _bottleneck_shape(model, torch.zeros(1, 3, input_size, input_size))
    assert shape == (1, 16, 4, 4)


def test_non_square_input() -> None:
    model = StackedHourglass(num_stacks=2, channels=16, num_keypoints=3, input_size=(192, 256))
    assert model.input_size == (192, 256)
    assert model.heatmap_size == (48, 64)
    assert model.depth == 3  # 48 / 2**4 = 3 would be below 4
    x = torch.zeros(1, 3, 256, 192)
    assert _bottleneck_shape(model, x) == (1, 16, 8, 6)
    assert model(x).shape == (1, 2, 3, 64, 48)

    deep = StackedHourglass(num_stacks=1, channels=16, num_keypoints=3, input_size=(192, 256), depth=4)
    assert _bottleneck_shape(deep, x) == (1, 16, 4, 3)


def test_auto_depth() -> None:
    assert auto_depth((64, 64)) == 4
    assert auto_depth((32, 32)) == 3
    assert auto_depth((48, 64)) == 3
    assert auto_depth((8, 8)) == 1
    with pytest.raises(ValueError, match="depth"):
        auto_depth((25, 25))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"input_size": 250}, ValueError, "divisible by 4"),
        ({"input_size": (256, 100)}, ValueError, "cannot choose an hourglass depth"),
        ({"input_size": 64, "depth": 5}, ValueError, "divisible by 4 \\* 2\\*\\*depth = 128"),
        ({"input_size": (1, 2, 3)}, TypeError, "input_size"),
        ({"channels": 15}, ValueError, "channels must be even .* got 15"),
        ({"num_stacks": 0}, ValueError, "num_stacks must be >= 1, got 0"),
        ({"num_keypoints": 2.0}, TypeError, "num_keypoints must be an int"),
        ({"depth": True}, TypeError, "depth must be an int"),
    ],
)
def test_hourglass_constructor_errors(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        StackedHourglass(**{"channels": 16, **kwargs})


def test_forward_rejects_wrong_input_shape() -> None:
    model = StackedHourglass(num_stacks=1, channels=16, num_keypoints=3, input_size=64)
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\).*\(1, 3, 64, 32\)"):
        model(torch.zeros(1, 3, 64, 32))
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\)"):
        model(torch.zeros(1, 1, 64, 64))
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\)"):
        model(torch.zeros(3, 64, 64))
    vgg = VGGRegressor(num_keypoints=3, input_size=64, width=0.0625)
    with pytest.raises(ValueError, match=r"\(B, 3, 64, 64\)"):
        vgg(torch.zeros(1, 3, 32, 32))


def test_vgg_sizes() -> None:
    gap = _meta_model("vgg16_gap")
    fc = _meta_model("vgg16_fc")
    trunk = 14_714_688 + 2 * (64 * 2 + 128 * 2 + 256 * 3 + 512 * 6)  # VGG-16 convs + BN affine
    assert count_parameters(gap) == trunk + 512 * 32 + 32
    assert count_parameters(fc) == trunk + (512 * 49 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 32 + 32)
    # VGG-16 convs at 224x224 are the well-known 15.4 G MACs.
    assert count_flops(_meta_model("vgg16_gap", input_size=224)) == pytest.approx(2 * 15.36e9, rel=0.01)
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


def test_count_flops_restores_mode_and_needs_size() -> None:
    model = VGGRegressor(num_keypoints=2, input_size=32, width=0.0625).train()
    model.head.eval()
    count_flops(model)
    assert model.training and model.features.training and not model.head.training
    with pytest.raises(ValueError, match="pass input_size"):
        count_flops(nn.Sequential(nn.Conv2d(3, 4, 3)))
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 8 * 6, 5))
    assert count_flops(conv, (6, 8)) == 2 * (4 * 8 * 6 * 3 * 9) + 2 * (5 * 4 * 8 * 6)


@pytest.mark.parametrize("have, grow", [(2, 4), (1, 2), (1, 4), (2, 2)])
def test_grow_stacks_keeps_trained_stacks_and_copies_the_last(have: int, grow: int) -> None:
    torch.manual_seed(have * 10 + grow)
    small = build_model(f"hourglass{have}", channels=16, num_keypoints=5, input_size=64).eval()
    for p in small.parameters():  # non-zero everywhere, so a copy cannot pass by chance
        p.data.normal_(0.0, 0.2)
    state = small.state_dict()
    big = build_model(f"hourglass{grow}", channels=16, num_keypoints=5, input_size=64).eval()
    big.load_state_dict(grow_stacks(state, grow))  # strict: every key is there
    for name, value in big.state_dict().items():
        part, _, rest = name.partition(".")
        if part in ("hourglasses", "features", "heads", "merge_features", "merge_heatmaps"):
            index, _, tail = rest.partition(".")
            merge = part.startswith("merge_")
            source = min(int(index), have - (2 if merge else 1))
            if merge and have == 1:
                assert not value.any(), name  # nothing to copy: zero merges
                continue
            assert torch.equal(value, state[f"{part}.{source}.{tail}"]), name
        else:
            assert torch.equal(value, state[name]), name
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before, after = small(x), big(x)
    torch.testing.assert_close(after[:, :have], before, rtol=0, atol=0)  # the trained stacks are unchanged
    if have == 1:  # zero merges: every new stack sees the first one's input
        for i in range(1, grow):
            torch.testing.assert_close(after[:, i], before[:, 0], rtol=0, atol=0)


@pytest.mark.parametrize("blocks, added", [(1, 1), (2, 1), (1, 2)])
def test_grow_depth_keeps_the_trained_hourglass_inside_and_starts_new_levels_as_the_identity(
    blocks: int, added: int
) -> None:
    torch.manual_seed(blocks * 10 + added)
    small = build_model("hourglass2", num_blocks=blocks, channels=16, num_keypoints=5, input_size=64).eval()
    for p in small.parameters():  # non-zero everywhere, so a copy cannot pass by chance
        p.data.normal_(0.0, 0.2)
    for b in small.modules():
        if isinstance(b, nn.BatchNorm2d):  # trained-looking statistics, not the fresh 0 / 1
            b.running_mean.normal_(0.0, 0.1)
            b.running_var.uniform_(0.5, 2.0)
    state = small.state_dict()
    size, depth = 64 * 2**added, small.depth + added
    big = build_model("hourglass2", num_blocks=blocks, channels=16, num_keypoints=5, input_size=size).eval()
    assert big.depth == depth
    grown = grow_depth(state, depth)
    big.load_state_dict(grown)  # strict: every key is there, and no other
    inner = "inner." * added
    for name, value in big.state_dict().items():
        if not name.startswith("hourglasses."):
            assert torch.equal(value, state[name]), name  # stem, features, heads, merges
            continue
        stack, _, rest = name[len("hourglasses.") :].partition(".")
        if rest.startswith(inner):
            assert torch.equal(value, state[f"hourglasses.{stack}.{rest[len(inner) :]}"]), name
        elif ".conv3." in name:
            assert not value.any(), name  # every new residual module ends in a zero convolution
    # a new outer level is the identity skip plus the trained hourglass one octave down
    x = torch.randn(2, 16, size // 4, size // 4)
    with torch.no_grad():
        for old, new in zip(small.hourglasses, big.hourglasses):
            expect = old(F.max_pool2d(x, 2**added))
            for level in reversed(range(added)):  # from the innermost new level out
                # each adds its own input (x pooled to its resolution) to its upsampled inside
                level_in = F.max_pool2d(x, 2**level) if level else x
                expect = level_in + F.interpolate(expect, scale_factor=2.0, mode="nearest")
            torch.testing.assert_close(new(x), expect, rtol=0, atol=0)  # exact: the new modules add zeros
    assert all(torch.equal(v, state[k]) for k, v in grow_depth(state, small.depth).items())  # same depth: a copy


def test_growing_errors() -> None:
    state = build_model("hourglass2", channels=16, num_keypoints=5, input_size=64).state_dict()
    with pytest.raises(ValueError, match="cannot grow 2 stacks into 1; give at least 2"):
        grow_stacks(state, 1)
    with pytest.raises(ValueError, match="cannot grow hourglasses of depth 2 into depth 1; give at least 2"):
        grow_depth(state, 1)
    vgg = build_model("vgg16_gap", num_keypoints=5, input_size=64, width=0.25).state_dict()
    for grow in (grow_stacks, grow_depth):
        with pytest.raises(ValueError, match="holds no StackedHourglass"):
            grow(vgg, 3)
