#!/usr/bin/env python
"""Export a trained model to ONNX and/or TorchScript: a thin wrapper over hourglass.export.

MODEL is a training checkpoint, a run folder (its best.pt, else last.pt), a weights file or the
name of a shipped weights file. The exported graph takes "image" (B, 3, H, W), float32 RGB
normalised with the ImageNet mean/std, and returns "heatmaps" (B, K, H/4, W/4; the last stack)
or "coords" (B, K, 2; normalised x, y); the decoding facts are stored in the file's metadata.

Examples:
    python tools/export.py runs/300w-hg --format both --verify      # -> exports/300w-hg.onnx, .torchscript.pt
    python tools/export.py 300w-hg2 --out deploy/face.onnx --static-batch

--out is a folder (default exports/; files <name>.onnx and <name>.torchscript.pt) or, for one
format, a file path ending in .onnx / .pt. Exit status: 0 done, 1 --verify found a difference
above --atol, 2 a user error (missing or unreadable model, bad option, onnx not installed,
output not writable).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
DEFAULT_NAMES = {"onnx": "{}.onnx", "torchscript": "{}.torchscript.pt"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("model", help="checkpoint, run folder, weights file or shipped weights name")
    a("--format", choices=["onnx", "torchscript", "both"], default="onnx", help="default: %(default)s")
    a("--out", default="exports", help="output folder, or a file path for one format (default: %(default)s)")
    a("--opset", type=int, default=17, help="ONNX opset, 17 or higher (default: %(default)s)")
    a("--static-batch", action="store_true", help="ONNX: fix the batch size at 1 (default: dynamic batch axis)")
    a("--verify", action="store_true", help="compare each export with PyTorch on random inputs (batch 1 and 3)")
    a("--atol", type=float, default=1e-4, help="largest accepted difference for --verify (default: %(default)g)")
    a("--threads", type=int, help="torch CPU threads")
    return p


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    formats = ["onnx", "torchscript"] if args.format == "both" else [args.format]
    failed = False
    try:
        import torch

        from hourglass import export
        from hourglass.weights import load_model

        if args.threads is not None:
            torch.set_num_threads(args.threads)
        if "onnx" in formats:
            export.check_opset(args.opset)
        loaded = load_model(args.model, "cpu")
        w, h = loaded.input_size
        k = loaded.spec.num_keypoints
        out_shape = f"heatmaps (B, {k}, {h // 4}, {w // 4})" if loaded.kind == "heatmap" else f"coords (B, {k}, 2)"
        for fmt, path in output_paths(args.out, formats, loaded.name).items():
            if fmt == "onnx":
                export.export_onnx(loaded, path, opset=args.opset, dynamic_batch=not args.static_batch)
                what = f"ONNX opset {args.opset}, {'batch 1' if args.static_batch else 'dynamic batch'}"
                batches = (1,) if args.static_batch else (1, 3)
            else:
                export.export_torchscript(loaded, path)
                what, batches = "TorchScript", (1, 3)
            print(f"wrote {path} ({_size(path.stat().st_size)}; {what}; image (B, 3, {h}, {w}) -> {out_shape})")
            if args.verify:
                measure = export.onnx_max_difference if fmt == "onnx" else export.torchscript_max_difference
                diff = measure(path, loaded, batch_sizes=batches)
                verdict = "ok" if diff <= args.atol else f"FAILED (above --atol {args.atol:g})"
                runtime = "onnxruntime" if fmt == "onnx" else "TorchScript"
                sizes = ", ".join(map(str, batches))
                print(f"verify {path}: max |{runtime} - PyTorch| = {diff:.3g} at batch {sizes}: {verdict}")
                failed |= diff > args.atol
    except (ValueError, TypeError, ImportError, OSError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
