"""Model export for deployment: ONNX (onnxruntime, TensorRT, OpenVINO ...) and TorchScript.

Both formats hold the same graph, :class:`InferenceWrapper` around the trained network:

- input ``"image"``: (B, 3, H, W) float32, RGB, normalised as in training:
  ``(pixel / 255 - mean) / std`` with the ImageNet mean and std
  (:data:`hourglass.data.pipeline.IMAGENET_MEAN` / ``IMAGENET_STD``); (W, H) is the model's
  input size, the batch B is free (ONNX: a dynamic axis named ``"batch"`` unless exported with
  ``dynamic_batch=False``, then B = 1).
- output ``"heatmaps"`` (heatmap models): (B, K, h, w), the LAST stack's heatmaps, h = H / 4,
  w = W / 4. Heatmap pixel (column i, row j) lies at input pixel
  ``((i + 0.5) * W / w - 0.5, (j + 0.5) * H / h - 0.5)`` (pixel centres at integer
  coordinates, :mod:`hourglass.geometry`); decode with :func:`hourglass.codec.decode_heatmaps`
  or any argmax.
- output ``"coords"`` (regression models): (B, K, 2) normalised (x, y); input pixel
  ``x = u * W - 0.5``, ``y = v * H - 0.5``.

Everything a deployer needs to decode without this toolkit is stored in the file: ONNX
``metadata_props`` (text keys as plain strings, "" when unknown; the others as JSON), TorchScript
an extra file ``hourglass.json`` holding the same dict as one JSON object. Keys: ``name``, ``kind`` ("heatmap" |
"regression"), ``input_name``, ``output_name``, ``input_size`` ([W, H]), ``mean``, ``std``,
``input_format``, ``heatmap_size`` ([w, h] or null), ``sigma`` (training heatmap sigma in
heatmap pixels, or null), ``spec_name``, ``keypoints`` (K names), ``spec`` (the full
:meth:`KeypointSpec.to_dict`), ``coordinates`` (the decoding rule above), ``arch``,
``source``, ``toolkit``. :func:`read_metadata` reads them back from either format.

Exporters (torch 2.13): the ONNX file is written by torch's TorchScript-based exporter
(``torch.onnx.export(..., dynamo=False)``), which needs only ``onnx``; the newer
``torch.export``-based default also needs ``onnxscript``. The old exporter is deprecated
(a ``DeprecationWarning`` says so) and supports opsets up to 20 here. ``torch.jit.trace`` /
``save`` / ``load`` are deprecated in torch 2.13 too (``DeprecationWarning``) but work.
Adaptive average pooling to a size that does not divide the feature map (the VGG "fc" head,
7x7 from 8x8 at a 256 px input) has no ONNX form in that exporter; the wrapper pools such
maps by two fixed matrix products instead (the same bins as PyTorch), which changes nothing
numerically beyond float rounding.

Measured (``tests/test_export.py``, random weights and inputs): onnxruntime matches PyTorch
within 1e-6 for small hourglass and VGG models at batch 1 and 3; TorchScript matches exactly.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import math
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from hourglass.keypoints import KeypointSpec

__all__ = [
    "EXPORT_FORMATS",
    "INPUT_NAME",
    "METADATA_FILE",
    "MIN_OPSET",
    "InferenceWrapper",
    "export_metadata",
    "export_onnx",
    "export_torchscript",
    "check_opset",
    "max_opset",
    "onnx_max_difference",
    "read_metadata",
    "torchscript_max_difference",
]

EXPORT_FORMATS = ("onnx", "torchscript")
"""Formats :func:`export_onnx` / :func:`export_torchscript` write."""
INPUT_NAME = "image"
"""Name of the graph input."""
OUTPUT_NAMES = {"heatmap": "heatmaps", "regression": "coords"}
"""Name of the graph output for each model kind."""
MIN_OPSET = 17
"""Lowest ONNX opset accepted."""
METADATA_FILE = "hourglass.json"
"""Name of the extra file holding the metadata in a TorchScript archive."""

# Metadata keys stored as plain text in ONNX ("" when unknown), and those stored as JSON.
_STRING_KEYS = frozenset(
    ("name", "kind", "input_name", "output_name", "input_format", "coordinates", "toolkit", "spec_name", "source")
)
_JSON_KEYS = frozenset(("input_size", "mean", "std", "heatmap_size", "sigma", "keypoints", "spec", "arch"))

_INSTALL_HINT = 'install the optional export dependencies: pip install -e ".[export]" (onnx and onnxruntime)'
# TracerWarnings that the models' input-shape checks raise while being traced: the check is a
# Python `if` on the (fixed) input shape, so it becomes a constant, which is what we want.
_TRACED_CHECKS = r"hourglass\.models\.(hourglass|vgg)"


# --- the exported graph ------------------------------------------------------------------------
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
    from hourglass.models import StackedHourglass, VGGRegressor

    if isinstance(model, StackedHourglass):
        return "heatmap"
    if isinstance(model, VGGRegressor):
        return "regression"
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


# --- what is exported --------------------------------------------------------------------------
class _Target:
    """The model to export (on the CPU) plus what the metadata needs."""

    def __init__(self, model_or_loaded: Any, spec: KeypointSpec | None) -> None:
        from hourglass.weights import LoadedModel, load_model

        if isinstance(model_or_loaded, (str, os.PathLike)):
            model_or_loaded = load_model(model_or_loaded, "cpu")
        if isinstance(model_or_loaded, LoadedModel):
            loaded = model_or_loaded
            self.model, self.spec = loaded.model, spec or loaded.spec
            self.name, self.sigma, self.source = loaded.name, loaded.sigma, loaded.path.name
            self.kind = _kind_of(self.model)
            if loaded.kind != self.kind:
                raise ValueError(f"{loaded.path}: stored kind {loaded.kind!r} but the network is a {self.kind} model")
        elif isinstance(model_or_loaded, nn.Module):
            self.model, self.spec = model_or_loaded, spec
            self.kind = _kind_of(self.model)
            arch = getattr(self.model, "arch", None) or {}
            self.name, self.sigma, self.source = str(arch.get("name", type(self.model).__name__)), None, None
        else:
            raise TypeError(
                f"expected an nn.Module, a LoadedModel or a model path/name, got {type(model_or_loaded).__name__}"
            )
        if self.spec is not None and self.spec.num_keypoints != self.model.num_keypoints:
            raise ValueError(
                f"spec {self.spec.name!r} has {self.spec.num_keypoints} keypoints but the model predicts "
                f"{self.model.num_keypoints}; pass the spec the model was trained with"
            )
        params = list(self.model.parameters())
        if params and params[0].device.type != "cpu":
            import copy

            self.model = copy.deepcopy(self.model).cpu()  # export on the CPU, leave the caller's model alone

    @contextmanager
    def wrapper(self) -> Iterator[InferenceWrapper]:
        """The model wrapped, in eval mode; the model's own mode is restored afterwards."""
        was_training = self.model.training
        try:
            yield InferenceWrapper(self.model).eval()
        finally:
            self.model.train(was_training)


def export_metadata(model_or_loaded: Any, *, spec: KeypointSpec | None = None) -> dict[str, Any]:
    """The metadata stored with an export (module docstring), as plain JSON-ready values.

    Args:
        model_or_loaded: an ``nn.Module``, a :class:`~hourglass.weights.LoadedModel`, or a path or
            shipped name for :func:`~hourglass.weights.load_model`.
        spec: keypoint spec; default the loaded model's (None for a bare module: no names).
    """
    from hourglass import __version__
    from hourglass.data.pipeline import IMAGENET_MEAN, IMAGENET_STD

    t = model_or_loaded if isinstance(model_or_loaded, _Target) else _Target(model_or_loaded, spec)
    w, h = t.model.input_size
    heatmap = t.kind == "heatmap"
    hw, hh = (w // 4, h // 4) if heatmap else (None, None)
    coordinates = (
        f"heatmaps (B, K, {hh}, {hw}): heatmap pixel (column i, row j) is at input pixel "
        f"((i + 0.5) * {w} / {hw} - 0.5, (j + 0.5) * {h} / {hh} - 0.5); pixel centres at integer coordinates"
        if heatmap
        else f"coords (B, K, 2) normalised (u, v): input pixel x = u * {w} - 0.5, y = v * {h} - 0.5"
    )
    return {
        "name": t.name,
        "kind": t.kind,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAMES[t.kind],
        "input_size": [w, h],
        "input_format": "float32 (B, 3, H, W), RGB, (pixel / 255 - mean) / std",
        "mean": list(IMAGENET_MEAN),
        "std": list(IMAGENET_STD),
        "heatmap_size": [hw, hh] if heatmap else None,
        "sigma": t.sigma if heatmap else None,
        "spec_name": t.spec.name if t.spec is not None else None,
        "keypoints": list(t.spec.names) if t.spec is not None else None,
        "spec": t.spec.to_dict() if t.spec is not None else None,
        "coordinates": coordinates,
        "arch": dict(getattr(t.model, "arch", None) or {}),
        "source": t.source,
        "toolkit": f"hourglass {__version__}",
    }


# --- files -------------------------------------------------------------------------------------
def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{module} is not installed; {_INSTALL_HINT}") from None


def _output_path(path: str | os.PathLike, what: str) -> Path:
    """Check that ``path`` can be written (creating its folder); return it."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{what} output {path} is a folder; pass a file path such as {path / 'model.onnx'}")
    parent = path.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"cannot write {path}: {parent} exists and is not a folder") from None
    except OSError as e:
        raise OSError(f"cannot create the output folder {parent} for {path}: {e.strerror or e}") from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: folder {parent} is not writable; choose another output path")
    return path


def _write_atomic(data: bytes, path: Path) -> None:
    """Write to a temporary file beside ``path``, then move it over ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(f"cannot write {path}: {e.strerror or e}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def max_opset() -> int:
    """Highest ONNX opset the installed torch's TorchScript-based exporter supports (20 in torch 2.13)."""
    from torch.onnx import _constants

    return int(getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", getattr(_constants, "ONNX_MAX_OPSET", 17)))


def check_opset(opset: int) -> int:
    """Return ``opset`` if this toolkit can export it (:data:`MIN_OPSET` to :func:`max_opset`), else raise."""
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise TypeError(f"opset must be an int, got {opset!r}")
    top = max_opset()
    if not MIN_OPSET <= opset <= top:
        raise ValueError(
            f"ONNX opset {opset} is not supported: use {MIN_OPSET} to {top} "
            f"({MIN_OPSET} is the lowest this toolkit exports, {top} the highest torch {torch.__version__}'s "
            "TorchScript-based exporter writes)"
        )
    return opset


def export_onnx(
    model_or_loaded: Any,
    path: str | os.PathLike,
    *,
    opset: int = MIN_OPSET,
    dynamic_batch: bool = True,
    check: bool = True,
    spec: KeypointSpec | None = None,
) -> Path:
    """Write the :class:`InferenceWrapper` graph of a model to an ONNX file, with metadata.

    Args:
        model_or_loaded: an ``nn.Module``, a :class:`~hourglass.weights.LoadedModel`, or a path or
            shipped name for :func:`~hourglass.weights.load_model`.
        path: the ``.onnx`` file to write (its folder is created; written atomically).
        opset: ONNX opset, :data:`MIN_OPSET` (17) up to :func:`max_opset`.
        dynamic_batch: batch axis named ``"batch"`` and free; False fixes B = 1.
        check: run ``onnx.checker.check_model(full_check=True)`` (with shape inference).
        spec: keypoint spec for the metadata (default: the loaded model's).

    Returns:
        the written path.

    Raises:
        ValueError: opset out of range. TypeError: not an exportable model.
        ImportError: onnx not installed (the message says how to install it).
        OSError: the output cannot be written (PermissionError / NotADirectoryError /
            IsADirectoryError, naming the path).
    """
    check_opset(opset)
    onnx = _require("onnx")
    target = _Target(model_or_loaded, spec)
    path = _output_path(path, "ONNX")
    w, h = target.model.input_size
    example = torch.zeros(2 if dynamic_batch else 1, 3, h, w)  # batch 2: nothing specialises on B = 1
    out_name = OUTPUT_NAMES[target.kind]
    axes = {INPUT_NAME: {0: "batch"}, out_name: {0: "batch"}} if dynamic_batch else None
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    buffer = io.BytesIO()
    with target.wrapper() as wrapper, torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=_TRACED_CHECKS)
        torch.onnx.export(
            wrapper, (example,), buffer, input_names=[INPUT_NAME], output_names=[out_name],
            opset_version=opset, dynamic_axes=axes, do_constant_folding=True, **legacy,
        )  # fmt: skip
    proto = onnx.load_model_from_string(buffer.getvalue())
    meta = export_metadata(target)
    del proto.metadata_props[:]
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = (value or "") if key in _STRING_KEYS else json.dumps(value)
    proto.doc_string = f"{meta['name']}: {INPUT_NAME} -> {out_name}. {meta['coordinates']}"
    if check:
        onnx.checker.check_model(proto, full_check=True)
    _write_atomic(proto.SerializeToString(), path)
    return path


def export_torchscript(model_or_loaded: Any, path: str | os.PathLike, *, spec: KeypointSpec | None = None) -> Path:
    """Write the traced :class:`InferenceWrapper` to a TorchScript archive with metadata.

    Load with ``torch.jit.load(path, _extra_files={"hourglass.json": ""})``; the batch size is
    free. Arguments as :func:`export_onnx`.

    Returns:
        the written path.

    Raises:
        TypeError: not an exportable model. ValueError: a spec that does not fit the model.
        OSError: the output cannot be written (naming the path).
    """
    target = _Target(model_or_loaded, spec)
    path = _output_path(path, "TorchScript")
    w, h = target.model.input_size
    example = torch.zeros(2, 3, h, w)
    with target.wrapper() as wrapper, torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning, module=_TRACED_CHECKS)
        # No check_trace (it re-traces and re-runs, 4x the time): torchscript_max_difference checks.
        traced = torch.jit.trace(wrapper, (example,), check_trace=False)
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer, _extra_files={METADATA_FILE: json.dumps(export_metadata(target))})
    _write_atomic(buffer.getvalue(), path)
    return path


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The metadata of an exported ``.onnx`` file or TorchScript archive (JSON values decoded).

    Keys written by another tool are kept as their raw strings.

    Raises:
        FileNotFoundError: no such file. ValueError: not an export of this toolkit.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"exported model {path} does not exist")
    if path.suffix == ".onnx":
        onnx = _require("onnx")
        try:
            props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        except Exception as e:  # noqa: BLE001 - protobuf raises several kinds for a bad file
            raise ValueError(f"cannot read ONNX file {path}: {type(e).__name__}: {e}") from None
        try:
            meta = {k: json.loads(v) if k in _JSON_KEYS else (v or None) for k, v in props.items()}
        except ValueError as e:
            raise ValueError(f"{path}: metadata is not valid JSON ({e}); the file was edited") from None
    else:
        extra = {METADATA_FILE: ""}
        try:
            torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
            meta = json.loads(extra[METADATA_FILE]) if extra[METADATA_FILE] else {}
        except Exception as e:  # noqa: BLE001 - torch raises several kinds for a bad file
            raise ValueError(f"cannot read TorchScript file {path}: {type(e).__name__}: {e}") from None
    if not isinstance(meta, dict) or "kind" not in meta:
        raise ValueError(f"{path} holds no hourglass metadata; it was not written by hourglass.export")
    return meta


# --- verification ------------------------------------------------------------------------------
def _max_difference(
    path: Path, model_or_loaded: Any, run: Callable[[Tensor], Tensor], batch_sizes: Sequence[int], seed: int
) -> float:
    """Max |run(x) - InferenceWrapper(x)| over seeded normal inputs x (B, 3, H, W), one per batch size.

    inf when either side holds NaN or inf, so a broken export never looks equal.
    """
    if not batch_sizes or any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in batch_sizes):
        raise ValueError(f"batch_sizes must be positive ints, got {batch_sizes!r}")
    target = _Target(model_or_loaded, None)
    w, h = target.model.input_size
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    with target.wrapper() as wrapper, torch.no_grad():
        for b in batch_sizes:
            x = torch.randn(b, 3, h, w, generator=gen)  # like normalised images
            ref, out = wrapper(x), run(x)
            if out.shape != ref.shape:
                raise ValueError(
                    f"{path} returns {tuple(out.shape)} for input {tuple(x.shape)}, PyTorch {tuple(ref.shape)}"
                )
            d = float((out - ref).abs().max())
            worst = max(worst, d if math.isfinite(d) else math.inf)
    return worst


def onnx_max_difference(
    path: str | os.PathLike,
    model_or_loaded: Any,
    *,
    batch_sizes: Sequence[int] = (1, 3),
    seed: int = 0,
) -> float:
    """Max |onnxruntime - PyTorch| over random normal inputs (B, 3, H, W), one per batch size.

    The ONNX file runs on onnxruntime's CPU provider (default graph optimisations), PyTorch runs
    :class:`InferenceWrapper` in eval mode. A file exported with a fixed batch accepts only that
    batch size. ``model_or_loaded`` as in :func:`export_onnx`.

    Raises:
        ImportError: onnxruntime not installed. FileNotFoundError: no such file.
        ValueError: a batch size the file does not accept, or an output shape that differs.
    """
    ort = _require("onnxruntime")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ONNX file {path} does not exist")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    if isinstance(inp.shape[0], int) and any(b != inp.shape[0] for b in batch_sizes):
        raise ValueError(f"{path} was exported with a fixed batch of {inp.shape[0]}; use batch_sizes=({inp.shape[0]},)")
    run = lambda x: torch.from_numpy(session.run(None, {inp.name: x.numpy()})[0])  # noqa: E731
    return _max_difference(path, model_or_loaded, run, batch_sizes, seed)


def torchscript_max_difference(
    path: str | os.PathLike,
    model_or_loaded: Any,
    *,
    batch_sizes: Sequence[int] = (1, 3),
    seed: int = 0,
) -> float:
    """Max |TorchScript - PyTorch| over random normal inputs, one per batch size (as :func:`onnx_max_difference`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"TorchScript file {path} does not exist")
    return _max_difference(path, model_or_loaded, torch.jit.load(str(path), map_location="cpu"), batch_sizes, seed)
