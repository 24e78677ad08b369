"""hourglass.runtime: malloc tuning, the precision rule, usage counters; importing the library calls no mallopt."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from conftest import REPO

from hourglass import runtime


def test_resolve_precision():
    assert runtime.resolve_precision("fp32") == "fp32"
    assert runtime.resolve_precision("bf16", "cpu") == "bf16"
    assert runtime.resolve_precision("auto", "cpu") == ("bf16" if runtime.native_bf16() else "fp32")
    assert runtime.resolve_precision("auto", torch.device("cuda", 0)) == "fp32"  # GPU defaults unchanged
    with pytest.raises(ValueError, match=r"precision must be one of .*'fp16'"):
        runtime.resolve_precision("fp16")


def test_autocast_runs_bf16_and_rejects_auto():
    conv = torch.nn.Conv2d(3, 4, 1)
    with runtime.autocast("bf16", "cpu"):
        assert conv(torch.randn(1, 3, 2, 2)).dtype == torch.bfloat16
    with runtime.autocast("fp32", "cpu"):
        assert conv(torch.randn(1, 3, 2, 2)).dtype == torch.float32
    with pytest.raises(ValueError, match="resolve 'auto' first"):
        runtime.autocast("auto")


def test_tune_cpu_applies_restores_and_honours_the_opt_out(monkeypatch):
    runtime.tune_cpu(enable=False)  # a tool run in this process before may have tuned it
    monkeypatch.setenv("HOURGLASS_NO_TUNE", "1")
    assert runtime.tune_cpu() is False and not runtime.tuned()
    monkeypatch.delenv("HOURGLASS_NO_TUNE")
    glibc = runtime._glibc() is not None
    try:
        assert runtime.tune_cpu() is glibc and runtime.tuned() is glibc
        big = torch.empty(64 << 20, dtype=torch.uint8)  # a 64 MiB block: from the heap now, not a mapping
        big.fill_(1)
        del big
    finally:
        assert runtime.tune_cpu(enable=False) is False
    assert not runtime.tuned()


def test_tune_cpu_without_glibc_logs_and_does_nothing(monkeypatch, caplog):
    runtime.tune_cpu(enable=False)
    monkeypatch.setattr(runtime, "_glibc", lambda: None)
    with caplog.at_level("INFO", logger="hourglass.runtime"):
        assert runtime.tune_cpu() is False
    assert "not glibc" in caplog.text and not runtime.tuned()


def test_usage_counts_faults_and_kernel_time():
    import mmap

    before = runtime.usage()
    pages = mmap.mmap(-1, 256 * mmap.PAGESIZE)  # fresh anonymous pages: touching each one faults it in
    for i in range(0, len(pages), mmap.PAGESIZE):
        pages[i] = 1
    delta = runtime.usage() - before
    pages.close()
    assert delta.minflt >= 256 and delta.stime >= 0 and delta.utime > 0


def test_fp32_switches_an_enclosing_autocast_off():
    layer = torch.nn.Linear(4, 4)
    x = torch.randn(2, 4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert layer(x).dtype == torch.bfloat16
        with runtime.autocast("fp32"):
            assert layer(x).dtype == torch.float32
        with runtime.autocast("bf16"):
            assert layer(x).dtype == torch.bfloat16


def test_importing_the_library_calls_no_mallopt():
    """Every subpackage imported in a fresh process, with ctypes watched: mallopt is never looked up."""
    code = """
import ctypes, pkgutil, importlib
seen = []
real = ctypes.CDLL.__getattr__
def watch(self, name):
    seen.append(name)
    return real(self, name)
ctypes.CDLL.__getattr__ = watch
import hourglass
for m in pkgutil.walk_packages(hourglass.__path__, "hourglass."):
    importlib.import_module(m.name)
import hourglass.runtime as r
assert "mallopt" not in seen and not r.tuned(), seen
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "ok" in out.stdout, out.stderr[-2000:]
