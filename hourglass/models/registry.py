"""Flat registry of model builders: name -> keyword-only builder function.

Every builder stores the architecture on the model it returns as a small JSON-serialisable
dict, ``model.arch = {"name": <registered name>, **<builder kwargs, resolved>}``, so a
checkpoint can save it and the same model can be rebuilt with
``build_model(arch["name"], **{k: v for k, v in arch.items() if k != "name"})``.

Built-in models:

- ``hourglass1``, ``hourglass2``, ``hourglass4``, ``hourglass8``: :class:`StackedHourglass`
  with 1/2/4/8 stacks (fixed by the name; ``num_stacks`` is not accepted), other
  constructor arguments overridable.
- ``vgg16_gap``, ``vgg16_fc``: :class:`VGGRegressor` with the ``"gap"`` / ``"fc"`` head.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from .hourglass import StackedHourglass
from .vgg import VGGRegressor

__all__ = ["build_model", "list_models", "register_model"]

ModelBuilder = Callable[..., nn.Module]
_BuilderT = TypeVar("_BuilderT", bound=ModelBuilder)

_MODELS: dict[str, ModelBuilder] = {}


def register_model(builder: _BuilderT) -> _BuilderT:
    """Decorator registering ``builder`` under its function name.

    Raises:
        ValueError: if a model of that name is already registered.
    """
    name = builder.__name__
    if name in _MODELS:
        raise ValueError(f"a model named {name!r} is already registered; choose another function name")
    _MODELS[name] = builder
    return builder


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_MODELS)


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Build the registered model ``name`` with keyword arguments passed to its builder.

    Raises:
        ValueError: if ``name`` is not registered (the message lists the available names).
        TypeError: if the builder does not accept one of ``kwargs``.
    """
    try:
        builder = _MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; available models: {', '.join(list_models())}") from None
    return builder(**kwargs)


def _json_ready(value: Any) -> Any:
    return [_json_ready(v) for v in value] if isinstance(value, (tuple, list)) else value


def _set_arch(model: nn.Module, name: str, **kwargs: Any) -> None:
    model.arch = {"name": name, **{k: _json_ready(v) for k, v in kwargs.items()}}


def _stacked_hourglass(
    name: str,
    *,
    num_stacks: int,
    num_blocks: int,
    channels: int,
    num_keypoints: int,
    input_size: int | tuple[int, int],
    depth: int | None,
) -> StackedHourglass:
    model = StackedHourglass(
        num_stacks=num_stacks,
        num_blocks=num_blocks,
        channels=channels,
        num_keypoints=num_keypoints,
        input_size=input_size,
        depth=depth,
    )
    _set_arch(
        model,
        name,
        num_blocks=model.num_blocks,
        channels=model.channels,
        num_keypoints=model.num_keypoints,
        input_size=model.input_size,
        depth=model.depth,
    )
    return model


@register_model
def hourglass1(
    *,
    num_blocks: int = 1,
    channels: int = 256,
    num_keypoints: int = 16,
    input_size: int | tuple[int, int] = 256,
    depth: int | None = None,
) -> StackedHourglass:
    """Single hourglass (3.43 M parameters at the defaults)."""
    return _stacked_hourglass(
        "hourglass1", num_stacks=1, num_blocks=num_blocks, channels=channels,
        num_keypoints=num_keypoints, input_size=input_size, depth=depth,
    )  # fmt: skip


@register_model
def hourglass2(
    *,
    num_blocks: int = 1,
    channels: int = 256,
    num_keypoints: int = 16,
    input_size: int | tuple[int, int] = 256,
    depth: int | None = None,
) -> StackedHourglass:
    """Two stacked hourglasses (6.57 M parameters at the defaults)."""
    return _stacked_hourglass(
        "hourglass2", num_stacks=2, num_blocks=num_blocks, channels=channels,
        num_keypoints=num_keypoints, input_size=input_size, depth=depth,
    )  # fmt: skip


@register_model
def hourglass4(
    *,
    num_blocks: int = 1,
    channels: int = 256,
    num_keypoints: int = 16,
    input_size: int | tuple[int, int] = 256,
    depth: int | None = None,
) -> StackedHourglass:
    """Four stacked hourglasses (12.86 M parameters at the defaults)."""
    return _stacked_hourglass(
        "hourglass4", num_stacks=4, num_blocks=num_blocks, channels=channels,
        num_keypoints=num_keypoints, input_size=input_size, depth=depth,
    )  # fmt: skip


@register_model
def hourglass8(
    *,
    num_blocks: int = 1,
    channels: int = 256,
    num_keypoints: int = 16,
    input_size: int | tuple[int, int] = 256,
    depth: int | None = None,
) -> StackedHourglass:
    """Eight stacked hourglasses, the paper's model (25.43 M parameters at the defaults)."""
    return _stacked_hourglass(
        "hourglass8", num_stacks=8, num_blocks=num_blocks, channels=channels,
        num_keypoints=num_keypoints, input_size=input_size, depth=depth,
    )  # fmt: skip


def _vgg16(
    name: str,
    *,
    head: str,
    num_keypoints: int,
    input_size: int | tuple[int, int],
    width: float,
    dropout: float,
) -> VGGRegressor:
    model = VGGRegressor(num_keypoints=num_keypoints, input_size=input_size, head=head, width=width, dropout=dropout)
    _set_arch(
        model,
        name,
        num_keypoints=model.num_keypoints,
        input_size=model.input_size,
        width=model.width,
        dropout=float(dropout),
    )
    return model


@register_model
def vgg16_gap(
    *,
    num_keypoints: int = 16,
    input_size: int | tuple[int, int] = 256,
    width: float = 1.0,
    dropout: float = 0.5,
) -> VGGRegressor:
    """VGG-16-BN regressor with global-average-pool head."""
    return _vgg16(
        "vgg16_gap", head="gap", num_keypoints=num_keypoints, input_size=input_size,
        width=width, dropout=dropout,
    )  # fmt: skip


@register_model
def vgg16_fc(
    *,
    num_keypoints: int = 16,
    input_size: int | tuple[int, int] = 256,
    width: float = 1.0,
    dropout: float = 0.5,
) -> VGGRegressor:
    """VGG-16-BN regressor with the classic 7x7-pool + 4096-4096 fully connected head."""
    return _vgg16(
        "vgg16_fc", head="fc", num_keypoints=num_keypoints, input_size=input_size,
        width=width, dropout=dropout,
    )  # fmt: skip
