"""Warm starts from a smaller stacked hourglass: more stacks or a larger input (:func:`grow_depth`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from torch import Tensor, nn

from hourglass.models.hourglass import _check_positive_int, _residuals

__all__ = ["grow_depth", "grow_stacks"]


_PER_STACK = re.compile(r"^(hourglasses|features|heads|merge_features|merge_heatmaps)\.(\d+)\.(.+)$")


def grow_stacks(state: Mapping[str, Tensor], num_stacks: int) -> dict[str, Tensor]:
    """The state dict of a :class:`StackedHourglass` with more stacks, from a trained one's.

    The stem and the S trained stacks are kept. Every new stack (hourglass, features, head)
    is a copy of the last trained one, and every new merge between stacks a copy of the last
    trained merge, so each new stack starts as one more refinement step of the kind the last
    stack learned. From a single stack, which has no merge to copy, the new merges are zero:
    the second stack then sees the first one's input and starts as its exact copy.

    Args:
        state: a StackedHourglass state dict (S stacks; other sizes are read from it).
        num_stacks: stacks of the network to load it into, at least S.

    Returns:
        A new dict (the tensors are copies) that the ``num_stacks`` network loads strictly.

    Raises:
        ValueError: ``state`` holds no stacked hourglass, or ``num_stacks`` is below its S.
    """
    stacks = {int(m.group(2)) for key in state if (m := _PER_STACK.match(key)) and m.group(1) == "heads"}
    if not stacks or stacks != set(range(len(stacks))):
        raise ValueError("the state dict holds no StackedHourglass (no heads.0, heads.1, ... keys)")
    have = len(stacks)
    if num_stacks < have:
        raise ValueError(f"cannot grow {have} stacks into {num_stacks}; give at least {have} stacks")
    grown = {key: value.clone() for key, value in state.items()}
    for key, value in state.items():
        m = _PER_STACK.match(key)
        if m is None:
            continue
        part, index, rest = m.group(1), int(m.group(2)), m.group(3)
        merge = part.startswith("merge_")
        last = have - 2 if merge else have - 1
        if index != last:
            continue
        for new in range(index + 1, num_stacks - 1 if merge else num_stacks):
            grown[f"{part}.{new}.{rest}"] = value.clone()
    if have == 1 and num_stacks > 1:
        channels, keypoints = state["heads.0.weight"].shape[1], state["heads.0.weight"].shape[0]
        for new in range(num_stacks - 1):
            for part, inputs in (("merge_features", channels), ("merge_heatmaps", keypoints)):
                grown[f"{part}.{new}.weight"] = state["heads.0.weight"].new_zeros(channels, inputs, 1, 1)
                grown[f"{part}.{new}.bias"] = state["heads.0.bias"].new_zeros(channels)
    return grown


_HOURGLASS_KEY = re.compile(r"^hourglasses\.(\d+)\.(.+)$")


def _hourglass_depth(state: Mapping[str, Tensor]) -> int:
    """The hourglass depth of a :class:`StackedHourglass` state dict: the most ``inner.`` levels
    in a key of stack 0 (the bottleneck's keys have ``depth`` of them).

    Raises:
        ValueError: ``state`` holds no stacked hourglass.
    """
    rests = [m.group(2) for key in state if (m := _HOURGLASS_KEY.match(key)) and m.group(1) == "0"]
    if not rests:
        raise ValueError("the state dict holds no StackedHourglass (no hourglasses.0. keys)")
    return max(len(re.match(r"^(?:inner\.)*", rest).group(0)) // len("inner.") for rest in rests)


def grow_depth(state: Mapping[str, Tensor], depth: int) -> dict[str, Tensor]:
    """The state dict of a :class:`StackedHourglass` with deeper hourglasses, from a trained one's.

    For a larger input at the same bottleneck: a network trained at 128 px (32x32 heatmaps,
    depth 3, 4x4 bottleneck) grows into one at 256 px (64x64 heatmaps, depth 4, 4x4 bottleneck).
    Each trained hourglass becomes the inner part of the new one, so it runs at the resolutions
    it was trained at (32x32 down to 4x4); the new outer levels (``depth - d`` of them, each an
    ``upper``, ``down`` and ``up`` stage of residual modules) are freshly initialised from
    torch's current random state, with the last convolution of every new residual module
    zeroed, so each starts as the identity: a new level passes its input on unchanged and adds
    the skip ``upper(x) = x`` at its resolution. The stem, the heads and the merges between
    stacks are 1x1 or resolution-free convolutions and are kept as they are. The grown network
    is not the trained one's function (its stem sees a finer image), so fine-tune it: on the
    first 200 of its held-out people the shipped 128-px ``lspet-hg4`` scores 63.86 % PCK@0.2,
    grown to 256 px before any training 35.22 % (``python -m benchmarks.grown_start lspet-hg4
    --input-size 256 --sigma 2 --max-samples 200``).

    Args:
        state: a StackedHourglass state dict of depth d (other sizes are read from it).
        depth: the new depth, at least d.

    Returns:
        A new dict (the tensors are copies) that the deeper network loads strictly; for the
        same depth a plain copy.

    Raises:
        ValueError: ``state`` holds no stacked hourglass, or ``depth`` is below its d.
    """
    have = _hourglass_depth(state)
    _check_positive_int("depth", depth)
    if depth < have:
        raise ValueError(f"cannot grow hourglasses of depth {have} into depth {depth}; give at least {have}")
    added = depth - have
    grown: dict[str, Tensor] = {}
    stacks: set[str] = set()
    for key, value in state.items():
        m = _HOURGLASS_KEY.match(key)
        if m is None:
            grown[key] = value.clone()
        else:
            stacks.add(m.group(1))
            grown[f"hourglasses.{m.group(1)}.{'inner.' * added}{m.group(2)}"] = value.clone()
    if added == 0:
        return grown
    channels = state["heads.0.weight"].shape[1]
    blocks = len({k.split(".")[3] for k in state if k.startswith("hourglasses.0.upper.")})
    dtype = state["heads.0.weight"].dtype
    for stack in sorted(stacks, key=int):
        for level in range(added):
            prefix = f"hourglasses.{stack}.{'inner.' * level}"
            for stage in ("upper", "down", "up"):
                fresh = _residuals(channels, blocks)
                for block in fresh:
                    nn.init.zeros_(block.conv3.weight)
                    nn.init.zeros_(block.conv3.bias)
                for name, value in fresh.state_dict().items():
                    grown[f"{prefix}{stage}.{name}"] = value.to(dtype)
    return grown
