"""Calibrate the bundled detectors' boxes to the training crops, on real annotated data.

A Haar face box or a HOG person box is framed differently from the box the training crops
were made from (the 68-landmark box of a 300-W face, the joint box of an LSP person). This
script runs each detector (:mod:`hourglass.detect`) on real images, matches each annotated
subject to a detection (the detection with the best IoU with the subject's box among those
whose centre lies inside it) and fits, with medians::

    subject-box centre      = detection centre + (dx, dy) * s
    subject-box longer side = ratio * s                       s = sqrt(w * h) of the detection

It prints the detection rate, the fitted constants with their spread (1.4826 x MAD and the
5-95 % range), and how the crop predicted from a detection compares with the true training
crop: centre error / true crop side, predicted / true scale and the IoU of the two square
crops, for the calibrated conversion (``face_box_to_center_scale`` /
``person_box_to_center_scale`` with the constants currently in ``hourglass/detect/crops.py``,
and with the constants just fitted) and for the uncalibrated one (the detection box padded like
a user box). A two-fold check fits on even-numbered subjects and evaluates on odd ones.

    python -m benchmarks.calibrate_detectors --data-root /work/shared/data   # ~4 min on 2 cores
    python -m benchmarks.calibrate_detectors --faces 200 --people 100        # quicker
    python -m benchmarks.calibrate_detectors --skip-faces --skip-people --face-people 4000   # people from faces

Faces: every 300-W train face present (1207 on the shared copy; its images are crops 2.2x the
landmark box, so the faces fill about half the image). People: 1000 LSPET people evenly spaced
(HOG finds about a quarter of these sports poses, so fewer than 300 give a noisy fit). People
from their faces (``FacePeopleDetector``: a person framed below each Haar frontal face): Haar
finds the face of only 2.5 % of LSPET's athletes, so that fit wants ``--face-people 4000`` (99
matches, about 7 minutes; off by default). The fit
is in-sample; the two-fold check shows how much that matters. Copy the printed constants into
``hourglass/detect/crops.py``. Nothing is written to disk.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from hourglass import detect
from hourglass.boxes import box_iou
from hourglass.data import load_dataset
from hourglass.data.io import read_image
from hourglass.geometry import PIXEL_STD

REPO = Path(__file__).resolve().parents[1]


def match(detections: np.ndarray, subject: np.ndarray) -> int | None:
    """Index of the detection (N, 4) matching the subject box (4,), or None.

    Among detections whose centre lies inside the subject box, the one with the best IoU.
    """
    if len(detections) == 0:
        return None
    c = detections[:, :2] + detections[:, 2:] / 2
    inside = np.all((c >= subject[:2]) & (c <= subject[:2] + subject[2:]), axis=1)
    if not inside.any():
        return None
    iou = np.where(inside, box_iou(detections, subject[None])[:, 0], -1.0)
    return int(np.argmax(iou))


def fit(boxes: np.ndarray, subjects: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Median offset (2,) and size ratio from detections (M, 4) and subject boxes (M, 4).

    Also returns the per-subject offsets (M, 2) and ratios (M,) the medians were taken of.
    """
    s = np.sqrt(boxes[:, 2] * boxes[:, 3])  # (M,)
    offsets = ((subjects[:, :2] + subjects[:, 2:] / 2) - (boxes[:, :2] + boxes[:, 2:] / 2)) / s[:, None]
    ratios = np.max(subjects[:, 2:], axis=1) / s
    return np.median(offsets, axis=0), float(np.median(ratios)), offsets, ratios


def square_iou(c1: np.ndarray, s1: np.ndarray, c2: np.ndarray, s2: np.ndarray) -> np.ndarray:
    """Elementwise IoU (M,) of square crops with centres (M, 2) and scales (M,)."""
    h1, h2 = (PIXEL_STD * s1 / 2)[:, None], (PIXEL_STD * s2 / 2)[:, None]
    side = np.clip(np.minimum(c1 + h1, c2 + h2) - np.maximum(c1 - h1, c2 - h2), 0, None)
    inter = side[:, 0] * side[:, 1]
    return inter / ((2 * h1[:, 0]) ** 2 + (2 * h2[:, 0]) ** 2 - inter)


def crop_errors(center: np.ndarray, scale: np.ndarray, true_c: np.ndarray, true_s: np.ndarray) -> dict[str, str]:
    """Summaries of predicted vs true crops, as printable strings."""
    err = np.linalg.norm(center - true_c, axis=1) / (PIXEL_STD * true_s)
    ratio = scale / true_s
    iou = square_iou(center, scale, true_c, true_s)
    q = np.percentile
    return {
        "centre err / crop side": f"median {np.median(err):.3f}  p90 {q(err, 90):.3f}  p95 {q(err, 95):.3f}  "
        f"max {err.max():.3f}  share < 0.1: {np.mean(err < 0.1):.3f}  < 0.2: {np.mean(err < 0.2):.3f}  "
        f"< 0.3: {np.mean(err < 0.3):.3f}",
        "scale pred / true": f"median {np.median(ratio):.3f}  p5 {q(ratio, 5):.3f}  p95 {q(ratio, 95):.3f}",
        "crop IoU": f"median {np.median(iou):.3f}  p5 {q(iou, 5):.3f}  min {iou.min():.3f}",
    }


def spread(values: np.ndarray) -> str:
    mad = 1.4826 * np.median(np.abs(values - np.median(values)))
    lo, hi = np.percentile(values, [5, 95])
    return f"median {np.median(values):+.4f}  1.4826*MAD {mad:.4f}  5-95% [{lo:+.4f}, {hi:+.4f}]"


def calibrate(name: str, records: list, detector: detect.Detector, padding: float, current) -> None:
    """Run ``detector`` on every record's image, fit the mapping and print the report."""
    found, subjects, true_c, true_s = [], [], [], []
    no_det = off_subject = 0
    t0 = time.perf_counter()
    for r in tqdm(records, desc=name, unit="img", file=sys.stderr):
        det = detector(read_image(r.image))
        i = match(det.boxes, r.box)
        if i is None:
            no_det += len(det.boxes) == 0
            off_subject += len(det.boxes) > 0
            continue
        found.append(det.boxes[i])
        subjects.append(r.box)
        true_c.append(r.center)
        true_s.append(r.scale)
    seconds = time.perf_counter() - t0
    n = len(records)
    m = len(found)
    print(f"\n== {name}: {detector!r}")
    print(f"images {n}, {seconds / n * 1000:.0f} ms per image")
    print(f"detection rate {m / n:.3f} ({m} matched; {no_det} with no detection, {off_subject} only elsewhere)")
    if m < 10:
        print("too few matches to fit")
        return
    boxes, subjects = np.array(found), np.array(subjects)
    true_c, true_s = np.array(true_c), np.array(true_s)
    offset, ratio, offsets, ratios = fit(boxes, subjects)
    print(f"fitted: OFFSET = ({offset[0]:.4f}, {offset[1]:.4f}), SIZE_RATIO = {ratio:.4f}")
    print(f"  dx     {spread(offsets[:, 0])}")
    print(f"  dy     {spread(offsets[:, 1])}")
    print(f"  ratio  {spread(ratios)}")

    s = np.sqrt(boxes[:, 2] * boxes[:, 3])
    fitted_c = boxes[:, :2] + boxes[:, 2:] / 2 + offset * s[:, None]
    fitted_s = ratio * s * padding / PIXEL_STD
    rows = {
        "calibrated (hourglass.detect constants)": current(boxes),
        "calibrated (fitted now)": (fitted_c, fitted_s),
        "uncalibrated (box padded as a user box)": detect.user_box_to_center_scale(boxes, detector.kind),
    }
    for label, (c, sc) in rows.items():
        print(f"  crop vs true crop, {label}:")
        for k, v in crop_errors(c, sc, true_c, true_s).items():
            print(f"    {k:24s} {v}")
    even, odd = slice(0, None, 2), slice(1, None, 2)
    off_e, ratio_e, _, _ = fit(boxes[even], subjects[even])
    c = boxes[odd, :2] + boxes[odd, 2:] / 2 + off_e * s[odd, None]
    errs = crop_errors(c, ratio_e * s[odd] * padding / PIXEL_STD, true_c[odd], true_s[odd])
    print(f"  two-fold check (fit on even: OFFSET ({off_e[0]:.4f}, {off_e[1]:.4f}), RATIO {ratio_e:.4f}; odd):")
    for k, v in errs.items():
        print(f"    {k:24s} {v}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, default=REPO.parent / "shared" / "data", help="shared data folder")
    parser.add_argument("--faces", type=int, default=0, help="use this many 300-W train faces (0: all)")
    parser.add_argument("--people", type=int, default=1000, help="use this many LSPET people, evenly spaced")
    parser.add_argument("--skip-faces", action="store_true")
    parser.add_argument("--skip-people", action="store_true")
    parser.add_argument(
        "--face-people", type=int, default=0, help="also fit people from their faces on this many LSPET people (0: no)"
    )
    args = parser.parse_args(argv)

    if not args.skip_faces:
        faces = list(load_dataset("300w", args.data_root / "300w", "train"))
        if args.faces:
            faces = [faces[i] for i in np.linspace(0, len(faces) - 1, min(args.faces, len(faces))).astype(int)]
        calibrate("300-W train faces", faces, detect.HaarFaceDetector(), detect.FACE_PADDING,
                  detect.face_box_to_center_scale)  # fmt: skip
    if not args.skip_people:
        people = load_dataset("lspet", args.data_root / "lspet", "all")
        idx = np.linspace(0, len(people) - 1, min(args.people, len(people))).astype(int)
        calibrate("LSPET people", [people[i] for i in idx], detect.HogPeopleDetector(), detect.PERSON_PADDING,
                  detect.person_box_to_center_scale)  # fmt: skip
    if args.face_people:
        people = load_dataset("lspet", args.data_root / "lspet", "all")
        idx = np.linspace(0, len(people) - 1, min(args.face_people, len(people))).astype(int)
        calibrate("LSPET people from their faces", [people[i] for i in idx], detect.FacePeopleDetector(),
                  detect.PERSON_PADDING, detect.face_to_person_center_scale)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
