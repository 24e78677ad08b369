"""tools/lent_machine.sh: the lent-machine recipe's argument checks (the full run is a device job)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "lent_machine.sh"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_usage_without_a_command():
    r = run()
    assert r.returncode == 2
    assert "lent_machine.sh prepare [LSPET_ROOT]" in r.stderr and "train BUDGET_S NAME" in r.stderr


def test_train_checks_its_arguments_and_the_carried_files(tmp_path):
    r = run("train", "12x", "body")
    assert r.returncode == 2 and "BUDGET_S must be whole seconds, got '12x'" in r.stderr
    r = run("train", "300", cwd=tmp_path)  # no NAME
    assert r.returncode == 2 and "train BUDGET_S NAME" in r.stderr
    r = run("train", "300", "body", cwd=tmp_path)  # nothing carried into this folder
    assert r.returncode == 2 and ".devdata/lspet.tgz is missing: carry it" in r.stderr
    (tmp_path / ".devdata").mkdir()
    (tmp_path / ".devdata" / "lspet.tgz").write_bytes(b"")
    r = run("train", "300", "body", cwd=tmp_path)
    assert r.returncode == 2 and "no wheels in .whl/" in r.stderr


def test_prepare_names_a_missing_dataset(tmp_path):
    r = run("prepare", str(tmp_path / "nowhere"))
    assert r.returncode == 2 and f"no LSPET at {tmp_path / 'nowhere'} (joints.mat missing)" in r.stderr
