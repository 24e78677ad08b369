"""The main-job demo runs end to end (a few steps; its accuracy is reported, not asserted)."""

import math
import subprocess
import sys

import pytest
from conftest import REPO

from hourglass.demo import run_demo, synthetic_scenes


def test_demo_runs_and_draws(tmp_path):
    out = tmp_path / "demo.png"
    r = run_demo(out, steps=2, batch_size=2, log=lambda _: None)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert math.isfinite(r.mean_error_px) and r.mean_error_px >= 0 and 0 <= r.pck_2px <= 1


def test_synthetic_scenes_put_keypoints_on_disc_centres():
    import numpy as np

    images, points = synthetic_scenes(8, np.random.default_rng(0))
    colours = np.array([[230, 40, 40], [40, 200, 40], [50, 90, 240], [240, 220, 30]])
    checked = 0
    for img, pts in zip(images, points):
        dist = np.linalg.norm(pts[:, None] - pts[None], axis=-1) + np.eye(len(pts)) * 1e9
        for k in np.flatnonzero(dist.min(axis=1) > 11):  # discs of radius 5 that overlap no other
            x, y = np.round(pts[k]).astype(int)
            assert np.array_equal(img[y, x], colours[k])
            checked += 1
    assert checked >= 16


def test_demo_rejects_bad_arguments():
    with pytest.raises(ValueError, match="steps and batch_size must be positive"):
        run_demo(None, steps=0)
    cmd = [sys.executable, str(REPO / "tools" / "demo.py"), "--steps", "0"]
    res = subprocess.run(cmd, capture_output=True, text=True)
    assert res.returncode == 2 and "error: steps and batch_size must be positive" in res.stderr
