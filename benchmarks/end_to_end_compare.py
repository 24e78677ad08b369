"""Two models end to end on the same whole images, with a paired bootstrap of their difference.

Runs :func:`hourglass.end_to_end.evaluate_end_to_end` for each model (same subjects: the first
model's held-out split unless ``--split``), then scores both on the subjects both found and
bootstraps the difference of the headline metric over those subjects
(:func:`hourglass.evaluation.bootstrap_difference`, paired resamples). Misses are reported per
model beside it.

    python -m benchmarks.end_to_end_compare 300w-hg2 300w-vgg --data-root ../shared/data/300w
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from hourglass.data.records import AnnotationSet
from hourglass.end_to_end import evaluate_end_to_end
from hourglass.evaluation import bootstrap_difference, evaluate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs=2, help="two shipped names, weights files or run folders")
    parser.add_argument("--data-root", help="dataset folder (default: the first model's)")
    parser.add_argument("--split", help="split (default: the first model's held-out subjects)")
    parser.add_argument("--resamples", type=int, default=2000)
    parser.add_argument("--precision", default="fp32", help="network precision of both (default fp32)")
    args = parser.parse_args(argv)
    runs = []
    for model in args.models:
        r = evaluate_end_to_end(model, data_root=args.data_root, split=args.split, progress=False,
                                precision=args.precision)  # fmt: skip
        print(f"--- {model}\n{r.format()}", flush=True)
        runs.append(r)
    a, b = runs
    both = a.found & b.found
    subjects = a.subjects
    common = AnnotationSet([subjects[i] for i in np.flatnonzero(both)], subjects.spec, subjects.name)
    ra, rb = evaluate(a.keypoints[both], common), evaluate(b.keypoints[both], common)
    d = bootstrap_difference(rb, ra, resamples=args.resamples)
    interval = f"[{100 * d['low']:+.2f}, {100 * d['high']:+.2f}]"
    print(f"on the {int(both.sum())} subjects both found: {ra.metric} {100 * ra.value:.2f} % ({args.models[0]}) "
          f"vs {100 * rb.value:.2f} % ({args.models[1]}); difference {100 * d['difference']:+.2f} points, "
          f"{100 * d['confidence']:g} % paired-bootstrap interval {interval}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
