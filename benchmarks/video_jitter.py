"""Keypoint jitter in video, with and without the One-Euro filter, on a still photo moved by known shifts.

The video: the matplotlib portrait (or ``--image``) translated by a known sub-pixel motion,
``s(t) = (A sin(2 pi f t), A/2 sin(2 pi f t + 1))`` pixels, ``--frames`` frames at ``--fps``
(bilinear resampling, edges replicated). Every frame is predicted by the shipped face model
from the box of the previous frame's keypoints, raw or smoothed, as a tracker does (``--box
fixed``: in the first frame's detector box, as ``tools/infer.py --video --box`` does; ``--box
detect``: from the detector in every frame, as ``--video`` does without boxes). Raw and
smoothed are two runs. Since the scene only moves,
``prediction(t) - s(t)`` would be constant for a perfect model; its spread is the jitter:

- lag: the delay d (ms) for which a track is closest to ``s(t - d)`` plus a constant (searched
  over 0-500 ms in 1 ms steps with the known motion), for the raw predictions and after
  :class:`hourglass.smoothing.OneEuroFilter`;
- jitter: RMS over frames and keypoints of ``prediction(t) - s(t - d)`` minus its mean over
  frames (pixels), at the track's own lag d; and at d = 0, which also counts the lag as error.

    python -m benchmarks.video_jitter
    python -m benchmarks.video_jitter --min-cutoff 1.0 --beta 0.05 --frames 150 --fps 30
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

import cv2
import numpy as np


def shifts(t: np.ndarray, amplitude: float, freq: float) -> np.ndarray:
    """(T, 2) known motion s(t) in pixels."""
    w = 2.0 * math.pi * freq
    return np.stack([amplitude * np.sin(w * t), 0.5 * amplitude * np.sin(w * t + 1.0)], axis=1)


def jitter(track: np.ndarray, motion: np.ndarray) -> float:
    """RMS of ``track (T, K, 2) - motion (T, 1, 2)`` about its mean over frames, in pixels."""
    residual = track - motion[:, None, :]
    return float(np.sqrt(np.mean((residual - residual.mean(axis=0)) ** 2)))


def lag_ms(track: np.ndarray, t: np.ndarray, amplitude: float, freq: float) -> float:
    """The delay (ms, 0-500) that makes ``track`` closest to the known motion delayed, up to a constant."""
    delays = np.arange(0, 501) / 1000.0
    errors = [jitter(track, shifts(t - d, amplitude, freq)) for d in delays]
    return float(1000.0 * delays[int(np.argmin(errors))])


def run(predictor: Any, still: np.ndarray, motion: np.ndarray, t: np.ndarray, mode: str, smoother: Any) -> Any:
    """(T, K, 2) keypoints of the first face in each moved frame (smoothed when ``smoother``); None: no face.

    ``mode`` frames each crop: ``"fixed"`` the first frame's detector box, ``"track"`` the box of
    the previous frame's (smoothed, with a smoother) keypoints, ``"detect"`` the detector's.
    """
    track, box = [], None
    for i, (dx, dy) in enumerate(motion):
        frame = cv2.warpAffine(still, np.array([[1.0, 0, dx], [0, 1.0, dy]]), still.shape[1::-1],
                               flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        pred = predictor(frame, box)
        if len(pred.keypoints) == 0:
            return None
        k = pred.keypoints[0] if smoother is None else smoother(pred.keypoints[0], t[i])
        if mode == "track":
            lo, hi = k.min(axis=0), k.max(axis=0)
            box = np.concatenate([lo, hi - lo])  # the next frame's crop: the box of these keypoints
        elif mode == "fixed" and box is None:
            box = pred.boxes[:1]  # every later frame: the first frame's detector box
        track.append(k)
    return np.stack(track)


def main(argv: list[str] | None = None) -> int:
    from matplotlib import cbook

    from hourglass.predictor import REFINE, Predictor
    from hourglass.smoothing import OneEuroFilter

    p = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--model", default="300w-hg2", help="a face model: shipped name, weights file or checkpoint")
    p.add_argument("--image", help="a photo with one face (default: matplotlib's grace_hopper.jpg)")
    p.add_argument("--frames", type=int, default=150, help="frames in the video")
    p.add_argument("--fps", type=float, default=30.0, help="frames per second")
    p.add_argument("--amplitude", type=float, default=6.0, help="motion amplitude A in pixels")
    p.add_argument("--freq", type=float, default=0.25, help="motion frequency f in Hz")
    p.add_argument("--min-cutoff", type=float, default=1.0, help="One-Euro min_cutoff (Hz)")
    p.add_argument("--beta", type=float, default=0.05, help="One-Euro beta (1/pixel)")
    p.add_argument("--d-cutoff", type=float, default=1.0, help="One-Euro d_cutoff (Hz)")
    p.add_argument("--box", choices=["fixed", "track", "detect"], default="track",
                   help="each frame's crop: the first frame's detector box, the box of the previous frame's "
                        "keypoints, or the detector's")  # fmt: skip
    p.add_argument("--refine", type=int, default=REFINE, help="Predictor refinement passes per frame")
    args = p.parse_args(argv)
    if args.frames < 10 or args.fps <= 0:
        p.error("--frames must be >= 10 and --fps positive")
    path = args.image or cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    still = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    predictor = Predictor.from_checkpoint(args.model, refine=args.refine)
    t = np.arange(args.frames) / args.fps
    motion = shifts(t, args.amplitude, args.freq)
    raw = run(predictor, still, motion, t, args.box, None)
    smooth = run(predictor, still, motion, t, args.box, OneEuroFilter(args.min_cutoff, args.beta, args.d_cutoff))
    if raw is None or smooth is None:
        print("error: the detector found no face in the first frame", file=sys.stderr)
        return 1
    raw, smooth = raw[1:], smooth[1:]  # frame 0 was framed by the detector
    t, motion = t[1:], motion[1:]
    rows = []
    for name, track in (("raw", raw), ("smoothed", smooth)):
        d = lag_ms(track, t, args.amplitude, args.freq)
        at_lag = jitter(track, shifts(t - d / 1000.0, args.amplitude, args.freq))
        rows.append((name, d, at_lag, jitter(track, motion)))
    print(f"{args.frames} frames at {args.fps:g} fps, motion amplitude {args.amplitude:g} px at {args.freq:g} Hz, "
          f"model {args.model}; One-Euro min_cutoff {args.min_cutoff:g} Hz, beta {args.beta:g}, "
          f"d_cutoff {args.d_cutoff:g} Hz")  # fmt: skip
    for name, d, at_lag, at_zero in rows:
        print(f"{name:9s} lag {d:4.0f} ms, jitter {at_lag:.3f} px at that lag, {at_zero:.3f} px counting the lag")
    print(f"jitter reduced {rows[0][2] / rows[1][2]:.2f}x at each track's lag, "
          f"{rows[0][3] / rows[1][3]:.2f}x counting the lag; lag added {rows[1][1] - rows[0][1]:.0f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
