"""What a run of ``tools/infer.py`` is asked to do: :class:`AnnotateOptions`.

Built once from the command line (:func:`hourglass.annotate.cli.options_from_args`, where
``--sample`` has already become an input) and read by every step of the run; frozen, so no
step changes what a later one sees. Construction checks the options that concern the run as
a whole and raises ``ValueError`` naming the option; the subject options are checked together
with the boxes they read (:func:`hourglass.annotate.subjects.parse_subjects`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hourglass.annotate.inputs import json_target
from hourglass.codec import DECODE_METHODS
from hourglass.predictor import REFINE
from hourglass.runtime import PRECISIONS

__all__ = ["KINDS", "AnnotateOptions"]

KINDS = ("face", "person")
"""Values of ``kind``: the shipped model given subjects go to."""


def _strings(value: Sequence[str], name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"{name} must be a sequence of strings, not one string {value!r}; wrap it in a list")
    return tuple(value)


@dataclass(frozen=True)
class AnnotateOptions:
    """The options of one run; the names are those of ``tools/infer.py``'s flags.

    Raises:
        ValueError: ``threads`` below 1, ``min_score`` not finite, ``json`` an image or video
            path (an input ``--json`` swallowed), both or neither of images and ``video``,
            ``heatmaps`` or ``boxes`` with a video, ``kind`` or ``decoder`` unknown.
        TypeError: ``inputs`` or ``box`` is one string instead of a sequence of them.
    """

    inputs: tuple[str, ...] = ()
    """Image files, folders and glob patterns (empty with ``video``)."""
    video: str | None = None
    """A video to process frame by frame instead of images."""
    recursive: bool = False
    """Also take images from sub-folders (and ``**`` in globs)."""
    model: str | None = None
    """One model for every subject: a shipped name, weights file, checkpoint or run folder; None: the shipped models."""
    kind: str | None = None
    """Without ``model``: the shipped model (one of :data:`KINDS`) that given subjects go to; None: face."""
    box: tuple[str, ...] = ()
    """Subject boxes as ``"x,y,w,h"`` texts, the same for every input."""
    boxes: str | None = None
    """A JSON file of subject boxes per image."""
    whole_image: bool = False
    """Each image is one subject (an image cropped to it)."""
    flip: bool = False
    """Flip test: average with the mirrored crop's prediction."""
    decoder: str = "dark"
    """Heatmap decoder, one of :data:`hourglass.codec.DECODE_METHODS`."""
    min_score: float = 0.0
    """Draw only keypoints with a score at least this (0: all)."""
    refine: int = REFINE
    """Passes that re-crop each subject from its own predicted keypoints (:class:`hourglass.Predictor`)."""
    out: str | None = None
    """Output file (one input) or folder (several); with ``video`` the output video.
    None: ``outputs/`` (a video: beside it)."""
    json: bool | str | None = None
    """None: no JSON; True: one JSON file beside each drawing; a path: one ``.json`` file, or a folder."""
    heatmaps: bool = False
    """Also write each image's heatmaps over it (images only)."""
    device: str = "cpu"
    """Torch device of the models: ``cpu``, ``cuda``, ``cuda:N``."""
    threads: int | None = None
    """Torch CPU threads; None: torch's default."""
    batch_size: int = 16
    """Subjects per forward pass."""
    no_progress: bool = False
    """No progress bar for videos."""
    smooth: bool = True
    """Video: smooth each subject's keypoints over time (:class:`hourglass.smoothing.OneEuroFilter`)."""
    smooth_min_cutoff: float = 1.0
    """Video smoothing: the One-Euro cutoff (Hz) of a still keypoint; lower is smoother, with more lag."""
    smooth_beta: float = 0.05
    detect_every: int = 10
    """Video: look for subjects afresh (detectors, whole image) every this many frames; in between
    each subject's crop follows its previous frame's keypoints (1: every frame)."""
    """Video smoothing: how fast the cutoff opens with speed (1 / pixel); higher lags less on fast motion."""
    precision: str = "auto"
    """Network precision: ``auto``, ``fp32`` or ``bf16`` (:class:`hourglass.Predictor`)."""
    no_tune_cpu: bool = False
    """Leave glibc malloc untuned (by default it is tuned at start-up: :func:`hourglass.runtime.tune_cpu`)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "inputs", _strings(self.inputs, "inputs"))
        object.__setattr__(self, "box", _strings(self.box, "box"))
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {self.threads}")
        if isinstance(self.refine, bool) or not isinstance(self.refine, int) or self.refine < 0:
            raise ValueError(f"--refine must be a whole number of passes >= 0, got {self.refine!r}")
        if not math.isfinite(self.min_score):
            raise ValueError(f"--min-score must be a finite number, got {self.min_score}")
        json_target(self.json, "video" if self.video else "inputs")  # --json swallowed an input?
        if self.video and self.inputs:
            raise ValueError(f"give images or --video, not both (got {len(self.inputs)} image argument(s) too)")
        if not self.video and not self.inputs:
            raise ValueError("no input: give image files, folders or glob patterns, or --video FILE")
        if self.video and self.heatmaps:
            raise ValueError("--heatmaps is for images; a video gets its keypoints drawn only")
        if self.video and self.boxes:
            raise ValueError("--boxes names images; for a video give fixed boxes with --box")
        if self.kind is not None and self.kind not in KINDS:
            raise ValueError(f"--kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not (math.isfinite(self.smooth_min_cutoff) and self.smooth_min_cutoff > 0):
            raise ValueError(f"--smooth-min-cutoff must be a positive number (Hz), got {self.smooth_min_cutoff}")
        if isinstance(self.detect_every, bool) or not isinstance(self.detect_every, int) or self.detect_every < 1:
            raise ValueError(f"--detect-every must be a whole number of frames >= 1, got {self.detect_every!r}")
        if not (math.isfinite(self.smooth_beta) and self.smooth_beta >= 0):
            raise ValueError(f"--smooth-beta must be a finite number >= 0, got {self.smooth_beta}")
        if self.decoder not in DECODE_METHODS:
            raise ValueError(f"--decoder must be one of {', '.join(DECODE_METHODS)}, got {self.decoder!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"--precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
