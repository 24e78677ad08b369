"""Does a body model do better on people turned upright? A diagnosis on the held-out people.

Sports sets hold many people far from upright, and a model scores lower on them. This asks
whether that is the turn itself: it predicts the model's validation subjects as
``tools/eval.py`` does, then predicts again the people whose ground-truth tilt
(:func:`hourglass.metrics.body_tilt`) is at least ``--min-tilt`` degrees, twice through the same
loop: on their crop as cut (a control, which must match the first predictions) and on a crop
turned so that they stand upright (``--turn tilt``: by their own signed tilt, which may cut
joints off the square crop; ``--turn 180``: by exactly 180 degrees, which cuts nothing off).
Each pass is mapped back to the image and scored; the headline and PCK-by-tilt lines are
printed. The ground truth chooses the turn, so this is an oracle: it bounds what a second pass
turned by the first pass's own estimate could gain.

    python -m benchmarks.turned_crops lspet-hg4 --data-root ../shared/data/lspet --min-tilt 135 --turn 180
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import torch


def main(argv: list[str] | None = None) -> int:
    from tqdm.auto import tqdm

    from hourglass.data import read_image
    from hourglass.data.pipeline import Augmentation
    from hourglass.evaluation import eval_pipeline, evaluate, evaluate_model, forward, to_image
    from hourglass.metrics import body_tilt
    from hourglass.weights import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a body model: shipped name, weights file, checkpoint or run folder")
    parser.add_argument("--data-root", help="dataset folder (default: the one the model was trained on)")
    parser.add_argument("--min-tilt", type=float, default=135.0, help="re-predict people turned at least this far")
    parser.add_argument("--turn", choices=("tilt", "180"), default="180", help="turn the crop by the tilt or by 180")
    parser.add_argument("--flip", action="store_true", help="flip test in both passes")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = parser.parse_args(argv)
    if not 0 <= args.min_tilt <= 180:
        parser.error(f"--min-tilt must be between 0 and 180 degrees, got {args.min_tilt}")
    if args.threads:
        torch.set_num_threads(args.threads)
    loaded = load_model(args.model)
    spec = loaded.spec
    if spec.torso is None:
        parser.error(f"{args.model} predicts {spec.name!r} keypoints, which have no shoulders and hips to tilt")
    _, first, people = evaluate_model(loaded, data_root=args.data_root, flip=args.flip)
    gt, mask = people.keypoints(), people.labelled()
    tilt = body_tilt(gt, mask, spec, signed=True)
    chosen = np.flatnonzero(np.isfinite(tilt) & (np.abs(tilt) >= args.min_tilt))
    pipe = eval_pipeline(loaded.model, spec, loaded.sigma)

    def again(turns: np.ndarray, desc: str) -> np.ndarray:
        coords = first.coords.copy()
        with torch.inference_mode():
            for i, turn in zip(tqdm(chosen, desc=desc, unit="person"), turns):
                r = people[int(i)]
                s = pipe.apply(
                    read_image(r.image), np.nan_to_num(r.keypoints), r.labelled.copy(), r.center, r.scale,
                    Augmentation(rotation=float(turn)),
                )  # fmt: skip
                out = forward(loaded.model, loaded.output_kind, s.image[None].to(loaded.device), spec, flip=args.flip)
                c, _ = to_image(
                    loaded.output_kind, out, s.center[None], np.array([s.scale]), np.array([s.rotation]),
                    input_size=loaded.input_size, sigma=loaded.sigma,
                )  # fmt: skip
                coords[i] = c[0]
        return coords

    control = again(np.zeros(len(chosen)), "as cut, again")
    gap = float(np.nanmax(np.abs(control - first.coords), initial=0.0))
    if gap > 0.5:
        print(f"warning: the control pass differs from the first predictions by up to {gap:.2f} px")
    turns = tilt[chosen] if args.turn == "tilt" else np.full(len(chosen), 180.0)
    turned = again(turns, "turned")
    for label, pred in (("as cut", control), (f"{len(chosen)} people turned by {args.turn}", turned)):
        report = evaluate(pred, people)
        tilt_line = next(line for line in report.format().splitlines() if line.startswith("PCK by tilt"))
        print(f"{label}: PCK@0.2 {100 * report.value:.2f}%\n  {tilt_line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
