"""Export files: :func:`export_onnx`, :func:`export_torchscript` and :func:`read_metadata`.

Also the opset checks (:func:`check_opset`, :func:`max_opset`) and the atomic writing of the
output; the :mod:`hourglass.export` docstring describes the files and the exporters used.
"""

from __future__ import annotations

import importlib
import inspect
import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import torch

from hourglass.export.graph import INPUT_NAME, OUTPUT_NAMES
from hourglass.export.metadata import _Target, export_metadata
from hourglass.keypoints import KeypointSpec

__all__ = [
    "EXPORT_FORMATS",
    "METADATA_FILE",
    "MIN_OPSET",
    "check_opset",
    "export_onnx",
    "export_torchscript",
    "max_opset",
    "read_metadata",
]

EXPORT_FORMATS = ("onnx", "torchscript")
"""Formats :func:`export_onnx` / :func:`export_torchscript` write."""
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
