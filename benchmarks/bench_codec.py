"""Speed of the heatmap codec, side by side with a per-keypoint loop that checks its results.

For each operation (encode, and decoding by argmax, quarter, DARK and soft-argmax) the
vectorised ``hourglass.codec`` function and a straightforward loop over every (batch,
keypoint) in numpy / OpenCV are timed on the same input: B x K sub-pixel Gaussian maps
(``--sigma``, a few keypoints invisible or just outside the map, so their maps are pure
noise) with a little uniform noise. The table gives the median milliseconds per batch of
each, the speed-up, the largest absolute difference between their results and the speed
target. The difference is taken over all heatmaps for encode, and over the coordinates
decoded from maps that hold a keypoint: on a pure-noise map DARK's Hessian is close to
singular, and two float implementations (even float32 and float64 runs of one) differ there
by more than the tolerance. The exit status is 1 when a result
differs from the loop's by more than ``--tolerance``, and 2 with ``--strict`` when a speed
target is missed (timings on a shared machine are noisy, hence not by default).

    python -m benchmarks.bench_codec                      # CPU, 2 threads, numpy inputs
    python -m benchmarks.bench_codec --input torch --threads 1
    python -m benchmarks.bench_codec --device cuda        # tensors on the GPU

(run from the repository root, or ``python benchmarks/bench_codec.py`` once the package is
installed with ``pip install -e .``).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import torch

from hourglass.codec import decode_heatmaps, encode_heatmaps

# ms per batch for B=256, K=16, 64x64 on the 2-core development CPU.
TARGETS_MS = {"encode": 25.0, "quarter": 10.0, "dark": 40.0}
LOG_EPS = 1e-10


# --- the reference: one (batch, keypoint) at a time ---------------------------------------------
def encode_loop(points: np.ndarray, visible: np.ndarray, size: tuple[int, int], sigma: float) -> np.ndarray:
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    out = np.zeros(points.shape[:2] + (h, w), dtype=np.float32)
    for b in range(points.shape[0]):
        for k in range(points.shape[1]):
            x, y = points[b, k]
            if visible[b, k] and -0.5 <= x < w - 0.5 and -0.5 <= y < h - 0.5:
                out[b, k] = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return out


def _peak(m: np.ndarray) -> tuple[int, int]:
    y, x = np.unravel_index(np.argmax(m), m.shape)
    return int(x), int(y)


def argmax_loop(maps: np.ndarray) -> np.ndarray:
    out = np.zeros(maps.shape[:2] + (2,))
    for b in range(maps.shape[0]):
        for k in range(maps.shape[1]):
            out[b, k] = _peak(maps[b, k])
    return out


def quarter_loop(maps: np.ndarray) -> np.ndarray:
    h, w = maps.shape[2:]
    out = np.zeros(maps.shape[:2] + (2,))
    for b in range(maps.shape[0]):
        for k in range(maps.shape[1]):
            m = maps[b, k]
            x, y = _peak(m)
            px, py = float(x), float(y)
            if 0 < x < w - 1:
                px += 0.25 * np.sign(m[y, x + 1] - m[y, x - 1])
            if 0 < y < h - 1:
                py += 0.25 * np.sign(m[y + 1, x] - m[y - 1, x])
            out[b, k] = px, py
    return out


def dark_loop(maps: np.ndarray, sigma: float) -> np.ndarray:
    h, w = maps.shape[2:]
    r = math.ceil(3 * sigma)
    out = np.zeros(maps.shape[:2] + (2,))
    for b in range(maps.shape[0]):
        for k in range(maps.shape[1]):
            m = maps[b, k]
            x, y = _peak(m)
            out[b, k] = x, y
            if not (0 < x < w - 1 and 0 < y < h - 1):
                continue
            blurred = cv2.GaussianBlur(m, (2 * r + 1, 2 * r + 1), sigma, borderType=cv2.BORDER_CONSTANT)
            lg = np.log(np.maximum(blurred.astype(np.float64), LOG_EPS))
            grad = np.array([lg[y, x + 1] - lg[y, x - 1], lg[y + 1, x] - lg[y - 1, x]]) / 2
            hxx = lg[y, x + 1] - 2 * lg[y, x] + lg[y, x - 1]
            hyy = lg[y + 1, x] - 2 * lg[y, x] + lg[y - 1, x]
            hxy = (lg[y + 1, x + 1] - lg[y + 1, x - 1] - lg[y - 1, x + 1] + lg[y - 1, x - 1]) / 4
            hessian = np.array([[hxx, hxy], [hxy, hyy]])
            if hxx < 0 and np.linalg.det(hessian) > 0:
                step = -np.linalg.solve(hessian, grad)
                if np.all(np.abs(step) <= 1.0):  # a step leaving the 3x3 neighbourhood is not trusted
                    out[b, k] += step
    return out


def soft_argmax_loop(maps: np.ndarray, beta: float, window: int) -> np.ndarray:
    h, w = maps.shape[2:]
    out = np.zeros(maps.shape[:2] + (2,))
    for b in range(maps.shape[0]):
        for k in range(maps.shape[1]):
            m = maps[b, k]
            x, y = _peak(m)
            x0, x1, y0, y1 = max(x - window, 0), min(x + window + 1, w), max(y - window, 0), min(y + window + 1, h)
            e = np.exp(beta * (m[y0:y1, x0:x1].astype(np.float64) - m[y, x]))
            e /= e.sum()
            out[b, k] = (e.sum(0) * np.arange(x0, x1)).sum(), (e.sum(1) * np.arange(y0, y1)).sum()
    return out


# --- timing -------------------------------------------------------------------------------------
def _time(fn: Callable[[], Any], repeats: int, device: torch.device) -> tuple[float, Any]:
    """Median milliseconds of ``repeats`` calls after one untimed call, and the last result."""
    result = fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        result = fn()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3, result


def _host(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda; cuda implies --input torch")
    parser.add_argument("--input", choices=("numpy", "torch"), default="numpy", help="kind of the codec's inputs")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--keypoints", type=int, default=16)
    parser.add_argument("--size", type=int, nargs=2, default=(64, 64), metavar=("W", "H"))
    parser.add_argument("--sigma", type=float, default=2.0, help="Gaussian sigma of the maps and DARK's blur")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls of the vectorised functions")
    parser.add_argument("--loop-repeats", type=int, default=3, help="timed calls of the loop reference")
    parser.add_argument("--tolerance", type=float, default=1e-5, help="largest accepted difference from the loop")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a speed target is missed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    w, h = args.size
    b, k = args.batch, args.keypoints
    rng = np.random.default_rng(args.seed)
    margin = 2.0  # mostly interior points, a few next to the border
    points = np.stack([rng.uniform(-margin, w - 1 + margin, (b, k)), rng.uniform(-margin, h - 1 + margin, (b, k))], -1)
    points = points.astype(np.float32)
    visible = rng.random((b, k)) > 0.05
    maps, weights = encode_heatmaps(points, visible, (w, h), args.sigma)
    holds_keypoint = weights > 0
    maps += rng.uniform(0.0, 0.01, maps.shape).astype(np.float32)  # ties broken, DARK sees noise

    def to_input(a: np.ndarray) -> Any:
        return torch.from_numpy(a).to(device) if args.input == "torch" or device.type == "cuda" else a

    points_in, visible_in, maps_in = to_input(points), to_input(visible), to_input(maps)
    soft = {"beta": 10.0, "window": 4}
    cases = [
        ("encode", lambda: encode_heatmaps(points_in, visible_in, (w, h), args.sigma)[0],
         lambda: encode_loop(points, visible, (w, h), args.sigma)),
        ("argmax", lambda: decode_heatmaps(maps_in, "argmax")[0], lambda: argmax_loop(maps)),
        ("quarter", lambda: decode_heatmaps(maps_in, "quarter")[0], lambda: quarter_loop(maps)),
        ("dark", lambda: decode_heatmaps(maps_in, "dark", blur_sigma=args.sigma)[0],
         lambda: dark_loop(maps, args.sigma)),
        ("soft-argmax", lambda: decode_heatmaps(maps_in, "soft-argmax", **soft)[0],
         lambda: soft_argmax_loop(maps, **soft)),
    ]  # fmt: skip

    print(
        f"codec, B={b} K={k} {w}x{h} sigma={args.sigma}, {args.input if device.type == 'cpu' else 'torch'} inputs "
        f"on {device}, {torch.get_num_threads()} torch threads, median of {args.repeats} (loop: {args.loop_repeats})"
    )
    print(f"{'method':<12} {'vectorised ms':>13} {'loop ms':>9} {'speed-up':>9} {'max abs diff':>13}", end="")
    print(f" {'target ms':>10}  result")
    mismatch = missed = False
    for name, fast, loop in cases:
        fast_ms, fast_out = _time(fast, args.repeats, device)
        loop_ms, loop_out = _time(loop, args.loop_repeats, torch.device("cpu"))
        diff = np.abs(_host(fast_out).astype(np.float64) - loop_out)
        diff = float(np.max(diff if name == "encode" else diff[holds_keypoint], initial=0.0))
        target = TARGETS_MS.get(name) if (b, k, w, h) == (256, 16, 64, 64) and device.type == "cpu" else None
        ok_diff = diff <= args.tolerance
        ok_time = target is None or fast_ms <= target
        mismatch |= not ok_diff
        missed |= not ok_time
        status = "PASS" if ok_diff and ok_time else "FAIL" + (" (results differ)" if not ok_diff else " (slow)")
        target_text = f"{target:.0f}" if target is not None else "-"
        print(
            f"{name:<12} {fast_ms:>13.2f} {loop_ms:>9.1f} {loop_ms / fast_ms:>8.1f}x {diff:>13.2e} "
            f"{target_text:>10}  {status}"
        )
    if mismatch:
        return 1
    return 2 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
