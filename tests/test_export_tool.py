"""tools/export.py: writing and verifying exports from a checkpoint, option errors, a corrupt model file.

The tool is run in-process (its ``main(argv)``) and once as a real process. The verifying test
skips when onnx or onnxruntime is absent (the optional ``[export]`` extra).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from _helpers import EXPORT_WARNINGS
from conftest import REPO

pytestmark = EXPORT_WARNINGS


def _tool():
    spec = importlib.util.spec_from_file_location("export_tool", REPO / "tools" / "export.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_and_verifies(ort, tmp_path, export_checkpoints, capsys):
    out = tmp_path / "exports"
    rc = _tool().main([str(export_checkpoints["hourglass"]), "--format", "both", "--out", str(out), "--verify"])
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    assert (out / "hourglass.onnx").is_file() and (out / "hourglass.torchscript.pt").is_file()
    assert stdout.count("wrote ") == 2 and stdout.count(": ok") == 2
    assert "image (B, 3, 64, 64) -> heatmaps (B, 5, 16, 16)" in stdout
    assert "KiB" in stdout and "max |onnxruntime - PyTorch|" in stdout


def test_cli_single_file_and_option_errors(tmp_path, export_checkpoints, capsys):
    tool = _tool()
    target = tmp_path / "face.pt"
    assert tool.main([str(export_checkpoints["vgg_gap"]), "--format", "torchscript", "--out", str(target)]) == 0
    assert target.is_file() and f"wrote {target}" in capsys.readouterr().out
    for args, message in [
        (["--format", "both", "--out", str(tmp_path / "x.onnx")], "--format both writes two files"),
        (["--format", "onnx", "--out", str(tmp_path / "x.pt")], "must end in .onnx"),
        (["--opset", "16"], "opset 16 is not supported"),
    ]:
        assert tool.main([str(export_checkpoints["vgg_gap"]), *args]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_cli_missing_and_corrupt_model(tmp_path, capsys):
    tool = _tool()
    assert tool.main([str(tmp_path / "nope.pt"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no model") and err.count("\n") == 1
    # A few random bytes, run as a real process: exit 2, one line, no traceback.
    bad = tmp_path / "corrupt.pt"
    bad.write_bytes(bytes([0x8F, 0x03, 0xA1, 0x00, 0x7E, 0xFF, 0x10, 0x42]))
    r = subprocess.run(
        [sys.executable, str(REPO / "tools" / "export.py"), str(bad), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=REPO,
        env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": ""},
    )  # fmt: skip
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith(f"error: cannot read model file {bad}") and r.stderr.count("\n") == 1
    assert "Traceback" not in r.stderr and not list(tmp_path.glob("*.onnx"))
