#!/usr/bin/env python
"""The end-to-end demo, no data needed: train a small stacked hourglass on synthetic scenes.

Each scene is a noisy image with coloured discs whose centres are the keypoints. The demo trains
for --steps steps (about a minute on two CPU cores), decodes the heatmaps of 64 held-out scenes,
prints their error in image pixels and draws a figure of predictions and heatmaps to --out.

Example:
    python tools/demo.py --steps 300 --out outputs/demo.png
"""

from __future__ import annotations

import argparse
import sys

from hourglass._help import HelpFormatter
from hourglass.demo import run_demo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--out", default="outputs/demo.png", help="figure path (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=300, help="training steps (default: %(default)s)")
    parser.add_argument("--batch-size", type=int, default=16, help="scenes per step (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    try:
        r = run_demo(args.out, steps=args.steps, batch_size=args.batch_size, seed=args.seed, threads=args.threads)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        f"decoded {r.steps}-step model on 64 held-out scenes: mean error {r.mean_error_px:.2f} px, "
        f"median {r.median_error_px:.2f} px, {100 * r.pck_2px:.1f}% within 2 px ({r.seconds:.0f} s); "
        f"figure: {r.figure}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
