"""Inference cost on this CPU: per-image latency by stage, and a 6000 x 4000 photo end to end.

(1) The matplotlib portrait (512 x 600, one face): reading the file (EXIF orientation
    applied), Haar face detection with the calibrated crop, the crop, the network, decoding
    and mapping back, then :class:`hourglass.predictor.Predictor` end to end from the path,
    without and with the flip test. Median (and min-max) of ``--runs`` runs after one warm-up.
(2) A 6000 x 4000 JPEG made from the portrait (scaled to 4000 px high with cv2, edges
    replicated to 6000 px wide, quality 90) in a temp folder, processed from its path in a
    FRESH process each time, so the resident-set high-water mark (``resource.getrusage``
    ``ru_maxrss``) belongs to that run: once ``Predictor(path)`` alone, once the whole tool
    (``tools/infer.py`` with --json --heatmaps: draw, write the PNGs and the JSON). Before the
    run (after imports, and the model for the predictor) the resident set (VmRSS) and the
    high-water mark are printed, then the high-water mark after it: the peak. Loading torch
    and the model leave a high-water mark above the resident set, so a run's own cost is
    peak - RSS. Target: peak under 2 GB.
(3) The portrait's subjects through the ``Predictor`` with their boxes given (detection left out:
    it did not change), plain (NCHW float32 network, glibc malloc untuned) against the default
    path (channels-last, tuned malloc, ``precision="auto"``), alternating in one process
    (``benchmarks/_paired.py``), with the ratio plain / default, page faults and kernel time.

    python -m benchmarks.bench_infer                          # the shipped face model
    python -m benchmarks.bench_infer --model runs/face-hg/best.pt --threads 1 --keep out/

Timings on a shared machine are noisy; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import torch

REPO = Path(__file__).resolve().parents[1]
PEAK_TARGET_MB = 2048.0
BIG_SIZE = (6000, 4000)  # (W, H)


def portrait_path() -> str:
    from matplotlib import cbook

    return str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))


def make_big_photo(path: Path, size: tuple[int, int] = BIG_SIZE) -> Path:
    """The portrait scaled to ``size[1]`` px high and edge-padded to ``size[0]`` px wide, as JPEG."""
    image = cv2.imread(portrait_path(), cv2.IMREAD_COLOR)
    h, w = image.shape[:2]
    width = round(w * size[1] / h)
    scaled = cv2.resize(image, (width, size[1]), interpolation=cv2.INTER_CUBIC)
    left = (size[0] - width) // 2
    big = cv2.copyMakeBorder(scaled, 0, 0, left, size[0] - width - left, cv2.BORDER_REPLICATE)
    if not cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise OSError(f"could not write {path}")
    return path


def _median_ms(times: list[float]) -> str:
    ms = [1000 * t for t in times]
    return f"{statistics.median(ms):9.1f}   ({min(ms):.1f}-{max(ms):.1f})"


def latency(model: str, runs: int) -> list[tuple[str, list[float]]]:
    """Stage timings (seconds per run) for the portrait, as (label, times)."""
    from hourglass.data.io import read_image
    from hourglass.detect import center_scale
    from hourglass.evaluation import forward, to_image
    from hourglass.predictor import Predictor

    path = portrait_path()
    predictor = Predictor.from_checkpoint(model)
    flipped = Predictor(predictor.loaded, flip=True)
    lm, spec = predictor.loaded, predictor.spec
    stages: dict[str, list[float]] = {k: [] for k in ("read", "detect", "crop", "network", "decode", "total", "flip")}
    for run in range(runs + 1):  # run 0 warms up
        t0 = time.perf_counter()
        rgb = read_image(path, orient=True)
        t1 = time.perf_counter()
        det = predictor.detector(rgb)
        center, scale = center_scale(predictor.detector, det.boxes)
        t2 = time.perf_counter()
        if not len(center):  # e.g. HOG finds no person in the portrait: nothing to time in stages
            return []
        x = torch.stack([predictor.crop(rgb, center[i], scale[i]) for i in range(len(center))])
        t3 = time.perf_counter()
        with torch.inference_mode():
            out = forward(lm.model, lm.output_kind, x.to(lm.device), spec)
        t4 = time.perf_counter()
        to_image(
            lm.output_kind, out, center, scale, input_size=lm.input_size, sigma=lm.sigma, decoder=predictor.decoder
        )
        t5 = time.perf_counter()
        pred = predictor(path)
        t6 = time.perf_counter()
        flipped(path)
        t7 = time.perf_counter()
        if run:
            for key, dt in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)):
                stages[key].append(dt)
    n = len(pred)
    labels = {
        "read": "read file (+ EXIF)", "detect": f"detect (Haar, {n} face{'s' * (n != 1)})",
        "crop": "crop", "network": f"network ({lm.model.arch['name']}, {lm.input_size[0]} px)",
        "decode": f"decode ({predictor.decoder}) + map back",
        "total": f"end to end from the path ({predictor.refine} refinement passes)",
        "flip": "end to end, flip test",
    }  # fmt: skip
    return [(labels[k], v) for k, v in stages.items()]


_CHILD = r"""
import json, resource, sys, time
mode, model, path, out, threads = sys.argv[1:6]
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux -> MiB
def current():
    with open("/proc/self/status") as f:  # VmRSS: resident now, in kB
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024.0
import torch
if threads != "default":
    torch.set_num_threads(int(threads))
import cv2, numpy
import hourglass.predictor, hourglass.detect, hourglass.evaluation, hourglass.visualize
if mode == "predictor":
    predictor = hourglass.predictor.Predictor.from_checkpoint(model)
    before, now = rss(), current()
    t = time.perf_counter()
    n = len(predictor(path))
    dt = time.perf_counter() - t
else:
    import importlib.util
    spec = importlib.util.spec_from_file_location("infer_tool", sys.argv[6])
    infer = importlib.util.module_from_spec(spec)
    sys.modules["infer_tool"] = infer
    spec.loader.exec_module(infer)
    before, now = rss(), current()
    t = time.perf_counter()
    argv = [path, "--model", model, "--out", out, "--json", "--heatmaps"]
    if threads != "default":
        argv += ["--threads", threads]
    status = infer.main(argv)
    dt = time.perf_counter() - t
    n = len(json.load(open(out.rsplit(".", 1)[0] + ".json"))["subjects"]) if status == 0 else -1
print(json.dumps({"before": before, "now": now, "peak": rss(), "time": dt, "subjects": n}))
"""


def big_photo(model: str, folder: Path, threads: str) -> list[tuple[str, dict]]:
    """Fresh-process runs on the 6000 x 4000 photo: (label, {before, peak, time, subjects, wall})."""
    path = make_big_photo(folder / "big.jpg")
    rows = []
    for mode, label in (("predictor", "Predictor(path)"), ("tool", "tools/infer.py --json --heatmaps")):
        out = folder / "big.keypoints.png"
        argv = [
            sys.executable,
            "-c",
            _CHILD,
            mode,
            model,
            str(path),
            str(out),
            threads,
            str(REPO / "tools" / "infer.py"),
        ]
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{label} failed:\n{done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append((label, dict(result, wall=wall)))
    return rows


def paired(model: str, runs: int) -> list[str]:
    """(3): printed rows for the plain and the default Predictor on the portrait's detected boxes."""
    from benchmarks._paired import Case, alternate, line
    from hourglass.data.io import read_image
    from hourglass.predictor import Predictor
    from hourglass.weights import load_model

    rgb = read_image(portrait_path(), orient=True)
    default = Predictor(load_model(model))
    plain = Predictor(load_model(model), precision="fp32")
    plain.loaded.model.to(memory_format=torch.contiguous_format)  # back to NCHW: forward keeps the input so
    boxes = default(rgb).boxes
    given = {"boxes": boxes} if len(boxes) else {"whole_image": True}  # nobody detected: the whole portrait
    found = alternate(
        [Case("plain (NCHW fp32)", False, lambda: plain(rgb, **given)),
         Case(f"default ({default.precision})", True, lambda: default(rgb, **given))],
        rounds=runs,
    )  # fmt: skip
    base = found["plain (NCHW fp32)"]
    return [f"{max(len(boxes), 1)} subject(s)"] + [line(name, r, base) for name, r in found.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="300w-hg2", help="shipped name, weights file, checkpoint or run folder")
    parser.add_argument("--runs", type=int, default=10, help="timed runs for (1) (median)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's own)")
    parser.add_argument("--keep", help="keep the big photo and its outputs in this folder")
    args = parser.parse_args(argv)

    from hourglass.weights import load_model

    try:
        loaded = load_model(args.model)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}\n(pass --model with a checkpoint, e.g. --model runs/face-hg/best.pt)", file=sys.stderr)
        return 2
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    model = str(loaded.path)
    params = sum(p.numel() for p in loaded.model.parameters()) / 1e6
    print(f"model {loaded.name} ({model}): {loaded.model.arch['name']}, {params:.2f} M parameters, "
          f"input {loaded.input_size[0]}x{loaded.input_size[1]}, spec {loaded.spec.name}")  # fmt: skip
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), opencv {cv2.__version__}, "
          f"{os.cpu_count()} CPU(s), load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}")  # fmt: skip

    print(f"\n(1) portrait 512x600, median of {args.runs} runs")
    print(f"{'stage':<38} {'ms':>9}   (min-max)")
    rows = latency(model, args.runs)
    for label, times in rows:
        print(f"{label:<38} {_median_ms(times)}")
    if not rows:
        print("(the model's detector finds no subject in the portrait: stages not timed)")

    print(f"\n(2) {BIG_SIZE[0]}x{BIG_SIZE[1]} JPEG from its path, fresh process each")
    threads = "default" if args.threads is None else str(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        rows = big_photo(model, folder, threads)
        size_mb = (folder / "big.jpg").stat().st_size / 1e6
    print(f"(file {size_mb:.1f} MB; before the run: resident and high-water mark; peak: high-water mark after)")
    print(f"{'run':<34} {'time s':>7} {'wall s':>7} {'RSS MB':>7} {'max MB':>7} {'peak MB':>8} {'subjects':>9}")
    worst = 0.0
    for label, r in rows:
        worst = max(worst, r["peak"])
        print(
            f"{label:<34} {r['time']:7.2f} {r['wall']:7.2f} {r['now']:7.0f} {r['before']:7.0f} {r['peak']:8.0f} "
            f"{r['subjects']:9d}"
        )
    verdict = "met" if worst < PEAK_TARGET_MB else "MISSED"
    print(f"peak memory target < {PEAK_TARGET_MB:.0f} MB: {verdict} ({worst:.0f} MB)")
    print(f"\n(3) portrait, given boxes: plain against the default path, {args.runs} alternating rounds")
    for row in paired(model, args.runs):
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
