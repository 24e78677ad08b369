#!/usr/bin/env python
"""Export a trained model to ONNX and/or TorchScript: a thin wrapper over hourglass.export.

MODEL is a training checkpoint, a run folder (its last.pt; --best: its best.pt), a weights file or the
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

import sys

from hourglass.export import cli


def main(argv: list[str] | None = None) -> int:
    """Run on ``argv`` (default ``sys.argv[1:]``): :func:`hourglass.export.cli.main` with this usage text."""
    return cli.main(argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
