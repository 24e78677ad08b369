"""Training-sample throughput: the one-warp pipeline against a multi-pass baseline.

Measured on ONE core (``torch.set_num_threads(1)``, ``cv2.setNumThreads(1)``, one process)
for 256 x 256 inputs with the default training augmentation (scale, rotation, flip, colour,
blur, noise, dropout at their default probabilities) and 64 x 64 targets:

(a) from an already decoded image: :class:`~hourglass.data.pipeline.TopDownPipeline` against
    the multi-pass approach of the popular PyTorch pose repositories, written out below
    (whole image to float, flip the whole image, rotate the whole image with
    ``cv2.warpAffine``, crop with zero padding, ``cv2.resize`` to the input size, colour in
    float, one Gaussian per keypoint in a Python loop at integer-rounded centres);
(b) end to end from full-size image files, decode included:
    :class:`~hourglass.data.dataset.KeypointDataset` with full decode, with reduced-resolution
    JPEG decode and with the crop cache (after its one-time build, which is timed too),
    against the baseline reading every image in full. The files are synthetic 1280 x 720
    JPEGs with a stick-figure person about a third of the image high (16 MPII keypoints,
    generated into a temp dir), and the 300-W originals in ``--w300`` (68 landmarks, JPEG and
    PNG, up to 1481 x 1200) when that folder exists.

Each figure is the best of ``--repeats`` runs (other processes share the CPU); the spread
column gives the slowest and fastest run. Exit status 2 with ``--strict`` when a target is
missed (not by default: timings on a shared machine are noisy).

    python -m benchmarks.bench_pipeline            # from the repository root
    python -m benchmarks.bench_pipeline --quick    # fewer samples
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch

from hourglass.data.dataset import KeypointDataset
from hourglass.data.pipeline import PipelineConfig, TopDownPipeline
from hourglass.data.records import Annotation, AnnotationSet
from hourglass.geometry import box_to_center_scale
from hourglass.keypoints import MPII, W300, KeypointSpec

TARGET_DECODED = 500.0  # samples/s, (a)
TARGET_END_TO_END = 150.0  # samples/s, (b)
W300_ORIGINALS = Path(__file__).resolve().parents[2] / "shared" / "data" / "300w-original"

# A standing person, MPII joint order, in units of the person's height (x right, y down).
_POSE = np.array([
    [-0.10, 1.00], [-0.09, 0.76], [-0.08, 0.52], [0.08, 0.52], [0.09, 0.76], [0.10, 1.00],  # legs
    [0.00, 0.52], [0.00, 0.22], [0.00, 0.16], [0.00, 0.00],  # pelvis, thorax, neck, head top
    [-0.30, 0.50], [-0.24, 0.36], [-0.14, 0.22], [0.14, 0.22], [0.24, 0.36], [0.30, 0.50],  # arms
])  # fmt: skip


# --- synthetic data ------------------------------------------------------------------------------
def make_person_images(folder: Path, count: int, size=(1280, 720), seed: int = 0) -> AnnotationSet:
    """``count`` textured JPEGs, each with one stick-figure person a third of the image high."""
    rng = np.random.default_rng(seed)
    w, h = size
    records = []
    for n in range(count):
        base = cv2.resize(rng.uniform(30, 220, (18, 32, 3)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        detail = cv2.resize(rng.normal(0, 25, (90, 160, 3)).astype(np.float32), (w, h))
        img = np.clip(base + detail + rng.normal(0, 6, (h, w, 3)), 0, 255).astype(np.uint8)
        height = h / 3 * rng.uniform(0.9, 1.1)
        top_left = rng.uniform([0.1 * w, 0.1 * h], [0.9 * w - 0.3 * height, 0.9 * h - height])
        keypoints = top_left + (_POSE + [0.3, 0.0]) * height
        for a, b in MPII.skeleton:
            pa, pb = (tuple(int(round(v)) for v in keypoints[i]) for i in (a, b))
            cv2.line(img, pa, pb, tuple(int(v) for v in rng.integers(0, 255, 3)), max(3, int(height / 25)), cv2.LINE_AA)
        path = folder / f"person_{n:02d}.jpg"
        cv2.imwrite(str(path), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        lo, hi = keypoints.min(axis=0), keypoints.max(axis=0)
        center, scale = box_to_center_scale(np.r_[lo, hi - lo], padding=1.25)
        records.append(
            Annotation(
                image=path,
                keypoints=keypoints,
                labelled=np.ones(16, bool),
                visible=np.ones(16, bool),
                center=center,
                scale=float(scale),
                spec=MPII,
                source=f"{path}:synthetic",
            )
        )
    return AnnotationSet(records, MPII, "synthetic-people")


def load_w300_originals(root: Path) -> AnnotationSet | None:
    if not root.is_dir():
        return None
    from hourglass.data.w300 import load_300w

    records = [r for split in ("train", "common", "challenge", "test") for r in load_300w(root, split)]
    return AnnotationSet(records, W300, "300w-original")


# --- the baseline: multi-pass, as the popular PyTorch pose repositories do ------------------------
class MultiPassBaseline:
    """Flip, rotate, crop and resize as separate passes over float images; a loop per keypoint."""

    def __init__(self, config: PipelineConfig, spec: KeypointSpec) -> None:
        import albumentations as A

        self.config, self.spec = config, spec
        c = config
        self.photometric = A.Compose([
            A.GaussianBlur(blur_limit=0, sigma_limit=c.blur_sigma, p=c.blur_prob),
            A.GaussNoise(std_range=c.noise_std, per_channel=False, p=c.noise_prob),
            A.CoarseDropout(num_holes_range=c.dropout_holes, hole_height_range=c.dropout_size,
                            hole_width_range=c.dropout_size, fill=0, p=c.dropout_prob),
        ], seed=0)  # fmt: skip
        self.mean = np.asarray(c.mean, np.float32)
        self.std = np.asarray(c.std, np.float32)

    @staticmethod
    def _transform(point, center, scale, res, rot):
        """One point into the crop (the per-point 3x3 matrix product of those repositories)."""
        h = 200.0 * scale
        t = np.zeros((3, 3))
        t[0, 0], t[1, 1] = res / h, res / h
        t[0, 2] = res * (-center[0] / h + 0.5)
        t[1, 2] = res * (-center[1] / h + 0.5)
        t[2, 2] = 1
        if rot != 0:
            a = -np.deg2rad(rot)
            r = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
            move, back = np.eye(3), np.eye(3)
            move[:2, 2] = -res / 2
            back[:2, 2] = res / 2
            t = back @ r @ move @ t
        p = t @ np.array([point[0], point[1], 1.0])
        return p[:2]

    @staticmethod
    def _draw_gaussian(heatmap, point, sigma):
        h, w = heatmap.shape
        x0, y0 = int(point[0] + 0.5), int(point[1] + 0.5)
        r = int(3 * sigma)
        if x0 - r >= w or y0 - r >= h or x0 + r < 0 or y0 + r < 0:
            return 0.0
        size = 2 * r + 1
        x = np.arange(size, dtype=np.float32)
        g = np.exp(-((x - r) ** 2 + ((x - r) ** 2)[:, None]) / (2 * sigma**2))
        gx0, gx1 = max(0, r - x0), min(size, w - x0 + r)
        gy0, gy1 = max(0, r - y0), min(size, h - y0 + r)
        ix0, ix1 = max(0, x0 - r), min(w, x0 + r + 1)
        iy0, iy1 = max(0, y0 - r), min(h, y0 + r + 1)
        heatmap[iy0:iy1, ix0:ix1] = g[gy0:gy1, gx0:gx1]
        return 1.0

    def __call__(self, image, keypoints, labelled, center, scale, rng):
        c = self.config
        img = image.astype(np.float32) / 255.0  # the whole image to float
        height, width = img.shape[:2]
        pts, center = keypoints.copy(), np.array(center, dtype=np.float64)
        s = scale * min(max(1 + 0.25 * rng.standard_normal(), 0.75), 1.25)
        r = min(max(30 * rng.standard_normal(), -30.0), 30.0) if rng.random() < c.rotation_prob else 0.0
        vis = labelled.copy()
        if rng.random() < c.flip_prob:  # flip the whole image, mirror and swap the joints
            img = np.ascontiguousarray(img[:, ::-1])
            pts[:, 0] = width - 1 - pts[:, 0]
            center[0] = width - 1 - center[0]
            for i, j in enumerate(self.spec.flip_index):
                if i < j:
                    pts[[i, j]] = pts[[j, i]]
                    vis[[i, j]] = vis[[j, i]]
        if r != 0:  # rotate the whole image about the crop centre
            m = cv2.getRotationMatrix2D((float(center[0]), float(center[1])), r, 1.0)
            img = cv2.warpAffine(img, m, (width, height), flags=cv2.INTER_LINEAR)
        side = int(round(200 * s))
        x0, y0 = int(round(center[0] - side / 2)), int(round(center[1] - side / 2))
        crop = np.zeros((side, side, 3), np.float32)  # crop with zero padding
        sx0, sy0, sx1, sy1 = max(0, x0), max(0, y0), min(width, x0 + side), min(height, y0 + side)
        if sx1 > sx0 and sy1 > sy0:
            crop[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = img[sy0:sy1, sx0:sx1]
        inp = cv2.resize(crop, c.input_size, interpolation=cv2.INTER_LINEAR)
        for ch in range(3):  # colour, per channel, in float
            inp[:, :, ch] = np.clip(inp[:, :, ch] * rng.uniform(*c.color_scale), 0, 1)
        inp = self.photometric(image=inp)["image"]
        tensor = torch.from_numpy(((inp - self.mean) / self.std).transpose(2, 0, 1).copy())
        k = len(pts)
        target = np.zeros((k, c.heatmap_size[1], c.heatmap_size[0]), np.float32)
        weight = np.zeros(k, np.float32)
        for i in range(k):  # one keypoint at a time
            if vis[i]:
                p = self._transform(pts[i], center, s, c.heatmap_size[0], r)
                weight[i] = self._draw_gaussian(target[i], p, c.sigma)
        return tensor, torch.from_numpy(target), torch.from_numpy(weight)


# --- timing --------------------------------------------------------------------------------------
def rates(run_one: Callable[[int], object], samples: int, repeats: int) -> list[float]:
    """samples/s of ``repeats`` runs of ``samples`` calls ``run_one(i)`` (after one warm-up call)."""
    run_one(0)
    out = []
    for rep in range(repeats):
        start = time.perf_counter()
        for i in range(samples):
            run_one(rep * samples + i)
        out.append(samples / (time.perf_counter() - start))
    return out


def epoch_runner(dataset: KeypointDataset) -> Callable[[int], object]:
    n = len(dataset)

    def run(i: int) -> object:
        dataset.set_epoch(1 + i // n)
        return dataset[i % n]

    return run


def row(table, method, values, target=None):
    best, worst = max(values), min(values)
    table.append((method, best, worst, target))
    verdict = "" if target is None else ("PASS" if best >= target else "FAIL")
    spread = f"{worst:.0f}-{best:.0f}"
    goal = "" if target is None else f">= {target:.0f}"
    print(f"  {method:58s} {best:8.1f} {spread:>11s} {goal:>8s} {verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=8, help="synthetic 1280x720 JPEGs to generate")
    parser.add_argument("--samples", type=int, default=300, help="samples per timed run of the fast methods")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--w300", type=Path, default=W300_ORIGINALS, help="300-W originals folder (skipped if absent)")
    parser.add_argument("--quick", action="store_true", help="a third of the samples, two repeats")
    parser.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    args = parser.parse_args(argv)
    if args.quick:
        args.samples, args.repeats = max(30, args.samples // 3), 2
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    fast, slow, reps = args.samples, max(20, args.samples // 8), args.repeats

    config = PipelineConfig()
    all_on = PipelineConfig(
        rotation_prob=1.0, flip_prob=1.0, color_prob=1.0, blur_prob=1.0, noise_prob=1.0, dropout_prob=1.0
    )
    table: list = []
    header = f"  {'method':58s} {'samples/s':>8s} {'spread':>11s} {'target':>8s}"
    with tempfile.TemporaryDirectory(prefix="bench_pipeline_") as tmp:
        people = make_person_images(Path(tmp), args.images)
        print(f"{len(people)} synthetic 1280x720 JPEGs, person ~240 px high (crop scale ~{people[0].scale:.2f}); "
              f"one core; best of {reps} runs")  # fmt: skip
        decoded = [cv2.cvtColor(cv2.imread(str(r.image)), cv2.COLOR_BGR2RGB) for r in people]
        n = len(people)

        def from_decoded(method):
            def run(i):
                r = people[i % n]
                return method(decoded[i % n], r.keypoints, r.labelled, r.center, r.scale, np.random.default_rng(i))

            return run

        print("\n(a) from an already decoded image\n" + header)
        row(table, "multi-pass baseline (full-image flip/rotate, crop, resize)",
            rates(from_decoded(MultiPassBaseline(config, MPII)), slow, reps))  # fmt: skip
        row(table, "TopDownPipeline, one warp (default augmentation)",
            rates(from_decoded(TopDownPipeline(config, MPII)), fast, reps), TARGET_DECODED)  # fmt: skip
        row(table, "TopDownPipeline, every augmentation on every sample",
            rates(from_decoded(TopDownPipeline(all_on, MPII)), fast, reps))  # fmt: skip

        def decode_only(records):
            def run(i):
                return cv2.cvtColor(cv2.imread(str(records[i % len(records)].image)), cv2.COLOR_BGR2RGB)

            return run

        def decode_baseline(records, spec):
            base = MultiPassBaseline(config, spec)

            def run(i):
                r = records[i % len(records)]
                img = cv2.cvtColor(cv2.imread(str(r.image)), cv2.COLOR_BGR2RGB)
                return base(img, r.keypoints, r.labelled, r.center, r.scale, np.random.default_rng(i))

            return run

        sets = [("synthetic 1280x720", people)]
        w300 = load_w300_originals(args.w300)
        if w300 is not None:
            sets.append((f"300-W originals ({len(w300)} faces)", w300))
        for label, records in sets:
            pipeline = TopDownPipeline(config, records.spec)
            print(f"\n(b) end to end from image files, decode included: {label}\n" + header)
            row(table, "decode only: cv2.imread + cvtColor (reference)", rates(decode_only(records), slow, reps))
            row(table, "multi-pass baseline, full decode", rates(decode_baseline(records, records.spec), slow, reps))
            row(table, "KeypointDataset, full decode (read_image)",
                rates(epoch_runner(KeypointDataset(records, pipeline, reduced_decode=False)), slow, reps))  # fmt: skip
            row(table, "KeypointDataset, reduced-resolution JPEG decode",
                rates(epoch_runner(KeypointDataset(records, pipeline)), slow, reps))  # fmt: skip
            cache_dir = Path(tmp) / f"cache_{len(table)}"
            start = time.perf_counter()
            cached = KeypointDataset(records, pipeline, cache_dir=cache_dir, progress=False)
            build = len(records) / (time.perf_counter() - start)
            row(table, "crop cache: one-time build (crops/s)", [build])
            row(table, "KeypointDataset, crop cache (later epochs)",
                rates(epoch_runner(cached), fast // 2, reps), TARGET_END_TO_END)  # fmt: skip
            sizes = [int(np.sqrt(cv2.imread(str(p)).size / 3)) for p in sorted(cache_dir.glob("*.jpg"))[:3]]
            kb = sum(p.stat().st_size for p in cache_dir.iterdir()) / len(records) / 1024
            print(f"  (cache crops {sizes} px; {kb:.0f} KB per subject)")

    missed = [m for m, best, _, target in table if target is not None and best < target]
    print("\nall targets met" if not missed else f"\ntargets missed: {missed}")
    return 2 if (missed and args.strict) else 0


if __name__ == "__main__":
    sys.exit(main())
