"""The command line of ``tools/export.py``: its options, the exports, the verification, the exit status.

- :func:`build_parser`: the flags; the tool passes its usage text as the description.
- :class:`ExportOptions`: what the flags say, typed.
- :func:`output_paths`: where each format goes.
- :func:`run_export`: write the files, print a line for each (and the verification's), and
  return the exit status: 0 done, 1 ``verify`` found a difference above ``atol``, 2 a user error
  (missing or unreadable model, bad option, onnx not installed, output not writable), as one
  line ``error: ...`` on stderr.
- :func:`main`: parse, then :func:`run_export`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from hourglass._help import HelpFormatter
from hourglass.export.files import check_opset, export_onnx, export_torchscript
from hourglass.export.verify import onnx_max_difference, torchscript_max_difference
from hourglass.runtime import add_runtime_flags, tune_cpu
from hourglass.weights import LoadedModel, load_model

__all__ = ["ExportOptions", "build_parser", "main", "output_paths", "run_export"]

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
DEFAULT_NAMES = {"onnx": "{}.onnx", "torchscript": "{}.torchscript.pt"}


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The flags of ``tools/export.py``, with ``description`` (its usage text) above them in ``--help``."""
    p = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    a = p.add_argument
    a("model", help="checkpoint, run folder, weights file or shipped weights name")
    a("--format", choices=["onnx", "torchscript", "both"], default="onnx", help="default: %(default)s")
    a("--out", default="exports", help="output folder, or a file path for one format (default: %(default)s)")
    a("--opset", type=int, default=17, help="ONNX opset, 17 or higher (default: %(default)s)")
    a("--static-batch", action="store_true", help="ONNX: fix the batch size at 1 (default: dynamic batch axis)")
    a("--verify", action="store_true", help="compare each export with PyTorch on random inputs (batch 1 and 3)")
    a("--atol", type=float, default=1e-4, help="largest accepted difference for --verify (default: %(default)g)")
    a("--threads", type=int, help="torch CPU threads")
    a("--best", action="store_true", help="a run folder gives its best.pt (default: its last.pt)")
    add_runtime_flags(p, precision=False)  # verification compares float32 with float32
    return p


@dataclass(frozen=True)
class ExportOptions:
    """The flags of ``tools/export.py`` (see :func:`build_parser` for each)."""

    model: str
    format: str = "onnx"
    out: str = "exports"
    opset: int = 17
    static_batch: bool = False
    verify: bool = False
    atol: float = 1e-4
    threads: int | None = None
    best: bool = False
    no_tune_cpu: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ExportOptions:
        return cls(**vars(args))

    @property
    def formats(self) -> list[str]:
        return ["onnx", "torchscript"] if self.format == "both" else [self.format]


def output_paths(out: str, formats: list[str], name: str) -> dict[str, Path]:
    """Where each format goes: ``out`` itself when it names a file, else ``out/<name>.<ext>``."""
    path = Path(out)
    if path.suffix in (".onnx", ".pt") and not path.is_dir():
        if len(formats) > 1:
            raise ValueError(f"--out {out} is a file but --format both writes two files; pass a folder")
        (fmt,) = formats
        if path.suffix != SUFFIXES[fmt]:
            raise ValueError(f"--out {out}: a {fmt} file must end in {SUFFIXES[fmt]}")
        return {fmt: path}
    return {fmt: path / DEFAULT_NAMES[fmt].format(name) for fmt in formats}


def _size(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n >= 2**20 else f"{n / 2**10:.1f} KiB"


def run_export(options: ExportOptions) -> int:
    """Export (and verify) as ``options`` say; returns the exit status (see the module docstring)."""
    failed = False
    try:
        if options.threads is not None:
            torch.set_num_threads(options.threads)
        tune_cpu(enable=not options.no_tune_cpu)
        if "onnx" in options.formats:
            check_opset(options.opset)
        loaded = load_model(options.model, "cpu", best=options.best)
        print(f"model: {loaded.path}")
        for fmt, path in output_paths(options.out, options.formats, loaded.name).items():
            failed |= _export_one(options, loaded, fmt, path)
    except (ValueError, TypeError, ImportError, OSError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 1 if failed else 0


def _export_one(options: ExportOptions, loaded: LoadedModel, fmt: str, path: Path) -> bool:
    """Write ``loaded`` as ``fmt`` to ``path`` and print a line; with ``verify`` also compare. True: above ``atol``."""
    w, h = loaded.input_size
    k = loaded.spec.num_keypoints
    hm = loaded.heatmap_size
    out_shape = f"heatmaps (B, {k}, {hm[1]}, {hm[0]})" if hm is not None else f"coords (B, {k}, 2)"
    if fmt == "onnx":
        export_onnx(loaded, path, opset=options.opset, dynamic_batch=not options.static_batch)
        what = f"ONNX opset {options.opset}, {'batch 1' if options.static_batch else 'dynamic batch'}"
        batches = (1,) if options.static_batch else (1, 3)
    else:
        export_torchscript(loaded, path)
        what, batches = "TorchScript", (1, 3)
    print(f"wrote {path} ({_size(path.stat().st_size)}; {what}; image (B, 3, {h}, {w}) -> {out_shape})")
    if not options.verify:
        return False
    measure = onnx_max_difference if fmt == "onnx" else torchscript_max_difference
    diff = measure(path, loaded, batch_sizes=batches)
    verdict = "ok" if diff <= options.atol else f"FAILED (above --atol {options.atol:g})"
    runtime = "onnxruntime" if fmt == "onnx" else "TorchScript"
    sizes = ", ".join(map(str, batches))
    print(f"verify {path}: max |{runtime} - PyTorch| = {diff:.3g} at batch {sizes}: {verdict}")
    return diff > options.atol


def main(argv: list[str] | None = None, *, description: str | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) and :func:`run_export`; returns the exit status."""
    return run_export(ExportOptions.from_args(build_parser(description).parse_args(argv)))
