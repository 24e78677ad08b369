"""hourglass.models.hourglass: the stacked hourglass against the paper's sizes; shapes, depth, growing, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from _helpers import meta_model
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
)

# Paper sizes: 16 keypoints, 256 channels, one block, 256x256 input.
REFERENCE = {  # stacks: (parameters, conv GFLOP per image)
    1: (3.43e6, 10.3e9),
    2: (6.57e6, 16.7e9),
    4: (12.86e6, 29.4e9),
    8: (25.43e6, 54.9e9),
}


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


@pytest.mark.parametrize("stacks", sorted(REFERENCE))
def test_hourglass_parameters_and_flops_match_paper(stacks: int) -> None:
    model = meta_model(f"hourglass{stacks}")
    params, flops = REFERENCE[stacks]
    assert model.depth == 4
    assert model.heatmap_size == (64, 64)
    assert count_parameters(model) == pytest.approx(params, rel=0.005)
    assert count_flops(model, (256, 256)) == pytest.approx(flops, rel=0.01)


def test_hourglass8_default_output_shape() -> None:
    model = meta_model("hourglass8")
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


def _reference_residual(block: Residual, x: torch.Tensor) -> torch.Tensor:
    """The residual module written out of place (the original port's forward)."""
    y = block.conv1(F.relu(block.bn1(x)))
    y = block.conv2(F.relu(block.bn2(y)))
    y = block.conv3(F.relu(block.bn3(y)))
    return y + block.skip(x)


def _reference_sequence(blocks: nn.Module, x: torch.Tensor) -> torch.Tensor:
    for block in blocks:
        x = _reference_residual(block, x) if isinstance(block, Residual) else block(x)
    return x


def _reference_hourglass(hg: HourglassModule, x: torch.Tensor) -> torch.Tensor:
    upper = _reference_sequence(hg.upper, x)
    low = _reference_sequence(hg.down, F.max_pool2d(x, kernel_size=2, stride=2))
    low = (
        _reference_hourglass(hg.inner, low)
        if isinstance(hg.inner, HourglassModule)
        else _reference_sequence(hg.inner, low)
    )
    return upper + F.interpolate(_reference_sequence(hg.up, low), scale_factor=2.0, mode="nearest")


def _reference_forward(model: StackedHourglass, x: torch.Tensor) -> torch.Tensor:
    """StackedHourglass.forward with every add and ReLU out of place."""
    stem = model.stem  # conv, BN, ReLU, Residual, max-pool, Residual, Residual
    x = F.relu(stem[1](stem[0](x)))
    x = _reference_residual(stem[3], x)
    x = _reference_sequence(stem[5:], stem[4](x))
    heatmaps = []
    for i in range(model.num_stacks):
        f = model.features[i]
        features = F.relu(f[2](f[1](_reference_sequence(f[0], _reference_hourglass(model.hourglasses[i], x)))))
        heatmap = model.heads[i](features)
        heatmaps.append(heatmap)
        if i < model.num_stacks - 1:
            x = x + model.merge_features[i](features) + model.merge_heatmaps[i](heatmap)
    return torch.stack(heatmaps, dim=1)


@pytest.mark.parametrize("channels_last", [False, True])
def test_in_place_forward_matches_out_of_place_outputs_and_gradients(channels_last: bool) -> None:
    """The in-place adds and ReLUs change neither the outputs nor any gradient (training mode, 2 stacks)."""
    torch.manual_seed(0)
    model = StackedHourglass(num_stacks=2, channels=16, num_keypoints=5, input_size=64).double().train()
    x = torch.randn(2, 3, 64, 64, dtype=torch.double)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    target = torch.randn(2, 2, 5, 16, 16, dtype=torch.double)
    results = []
    for run in (model, lambda t: _reference_forward(model, t)):
        model.zero_grad()
        xi = x.clone().requires_grad_(True)
        out = run(xi)
        ((out - target) ** 2).mean().backward()
        results.append((out.detach(), xi.grad, [p.grad.clone() for p in model.parameters()]))
    (out, gx, grads), (ref, gx_ref, grads_ref) = results
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-10, atol=1e-12)
    for (name, _), g, g_ref in zip(model.named_parameters(), grads, grads_ref):
        torch.testing.assert_close(g, g_ref, rtol=1e-10, atol=1e-12, msg=name)
