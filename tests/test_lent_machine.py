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


STUB = """#!/usr/bin/env bash
echo "python3 $*" >> "$STUB_LOG"
if [[ " $* " == *" tools/budget_train.py "* ]]; then
    args=("$@")
    for ((i = 0; i < ${#args[@]}; i++)); do [[ ${args[i]} == --out ]] && out=${args[i + 1]}; done
    mkdir -p "$out" && echo "epoch,step" > "$out/log.csv" && echo "{}" > "$out/summary.json"
    exit 3
fi
"""


def test_train_runs_the_recipe_and_passes_on_the_status(tmp_path):
    """With a stub python3: the wheels, the data link, the loader timing, budget_train, the copies."""
    import tarfile

    repo = tmp_path / "repo"
    (repo / ".devdata" / "lspet").mkdir(parents=True)
    (repo / ".devdata" / "lspet" / "joints.mat").write_bytes(b"")
    with tarfile.open(repo / ".devdata" / "lspet.tgz", "w:gz") as tar:
        tar.add(repo / ".devdata" / "lspet", arcname="lspet")
    (repo / ".whl").mkdir()
    (repo / ".whl" / "albumentations-2.0.8-py3-none-any.whl").write_bytes(b"")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(STUB)
    (bin_dir / "python3").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin", "STUB_LOG": str(tmp_path / "calls.log"), "OUT": str(tmp_path / "out"),
        "HOME": str(tmp_path),
    }  # fmt: skip
    cmd = ["bash", str(SCRIPT), "train", "300", "body", "--preset=lspet-hg-cpu", "--batch-size", "32"]
    r = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr  # budget_train's status: stopped at the deadline
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert calls[0].startswith("python3 -m pip install") and "--target /tmp/site" in calls[0]
    assert "--preset lspet-hg-cpu" in calls[1] and "--batch-size 32" in calls[1]  # the loader timing
    assert calls[2] == (
        f"python3 tools/budget_train.py --budget-s 300 --out runs/body --export {tmp_path}/out/body.pt -- "
        "--data-root ../shared/data/lspet --preset=lspet-hg-cpu --batch-size 32"
    )
    assert (tmp_path / "shared" / "data" / "lspet").resolve() == (repo / ".devdata" / "lspet").resolve()
    assert (tmp_path / "out" / "log.csv").read_text() == "epoch,step\n"
    assert (tmp_path / "out" / "summary.json").is_file()
    again = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "runs/body already exists: choose another NAME" in again.stderr
