"""What a body model draws on head-and-shoulders photos: the 87 held-out 300-W face images.

Most 300-W images are portraits cut around a face: a body model should draw the head, neck and
shoulders it sees and nothing below, or nobody. Runs the body model alone as ``tools/infer.py
--model`` does (its candidates, refinement, calibrated presence threshold), and ``tools/infer.py``'s
default pipeline (the shipped face and body models, where a person no bigger than a face found
in the same image is dropped: ``hourglass.annotate.subjects.BODY_FACE_RATIO``), on each image,
and counts the images with a person kept, and among their people the joints drawn
(``Prediction.in_view``; all 14 for a model without a keypoint threshold), split into the
upper body (head, neck, shoulders, elbows, wrists) and the legs (hips, knees, ankles). Contact
sheets of the images with a person drawn go to ``--out`` (look at them).

    python -m benchmarks.bodies_on_faces lspet-hg4 --data-root ../shared/data/300w --out /tmp/bodies
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from hourglass import Predictor
from hourglass.data import load_dataset
from hourglass.data.io import read_image
from hourglass.visualize import contact_sheet, draw_predictions

LEGS = ("r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle")
"""The LSP joints below the waist."""


def _count(images: list[str], run: Any, label: str) -> tuple[int, list]:
    """Run ``run`` (RGB image -> Predictions) on each image; print the counts; (images with a person, sheet)."""
    with_person, drawn_upper, drawn_legs, sheet = 0, [], [], []
    for name in images:
        rgb = read_image(name)
        preds = run(rgb)
        people = [p for p in preds if p.spec.subject == "person" and len(p)]
        if not people:
            continue
        with_person += 1
        legs = np.array([n in LEGS for n in people[0].spec.names])
        shown = np.concatenate([p.in_view if p.in_view is not None else np.ones(p.scores.shape, bool) for p in people])
        drawn_upper.append(int(shown[:, ~legs].sum()))
        drawn_legs.append(int(shown[:, legs].sum()))
        sheet.append((draw_predictions(rgb, preds), f"{Path(name).stem}: legs {drawn_legs[-1]}"))
    n = len(images)
    print(f"{label} on {n} images: a person kept in {with_person} ({100 * with_person / n:.1f} %)")
    if with_person:
        legged = sum(v > 0 for v in drawn_legs)
        print(f"  joints drawn on them: upper body {sum(drawn_upper)} (mean {np.mean(drawn_upper):.1f} per image), "
              f"legs {sum(drawn_legs)} (mean {np.mean(drawn_legs):.1f}); images with a leg joint drawn: "
              f"{legged} ({100 * legged / n:.1f} % of {n})")  # fmt: skip
    return with_person, sheet


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="lspet-hg4", help="body model alone (default lspet-hg4)")
    parser.add_argument("--data-root", default="../shared/data/300w", help="the 300-W folder")
    parser.add_argument("--split", default="holdout")
    parser.add_argument("--out", help="folder for sheet0.png (alone) and sheet1.png (default): images with a person")
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)
    from hourglass.annotate import AnnotateOptions, load_models, predict

    faces = load_dataset("300w", args.data_root, split=args.split)
    alone = Predictor.from_checkpoint(args.model, precision=args.precision)
    default = load_models(AnnotateOptions(inputs=("unused.jpg",), precision=args.precision))
    images = sorted({str(r.image) for r in faces})
    runs = {
        f"{args.model} alone": lambda rgb: [alone(rgb)],
        f"default pipeline ({default.label})": lambda rgb: [r.prediction for r in predict(default, rgb, require=False)],
    }
    for i, (label, run) in enumerate(runs.items()):
        people, sheet = _count(images, run, label)
        if args.out and sheet:
            Path(args.out).mkdir(parents=True, exist_ok=True)
            print(f"wrote {contact_sheet(*zip(*sheet), Path(args.out) / f'sheet{i}.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
