"""One image or one video through the models: the drawing, the JSON, the summary line.

- :func:`process_image`: read the image upright (EXIF orientation applied), predict
  (:func:`hourglass.annotate.subjects.predict`), write the drawing
  (:func:`hourglass.visualize.draw_predictions`), the JSON entry when planned and the heatmap
  overlay when asked for (a regression model has none: said in the summary line, nothing
  written). The entry is ``{"image", "width", "height", "model", "subjects"}``, each subject a
  COCO-style dict (:meth:`hourglass.predictor.Prediction.to_coco`: keypoints [x, y, score] * K
  as 0-based pixel centres in the upright image, "bbox" in the library's box convention)
  with ``keypoint_names``, ``model``, ``kind``, ``source`` and the ``note`` of how it was found.
- :func:`process_video`: every frame drawn into an mp4v video (``clip.keypoints.mp4`` beside
  the input by default), a progress bar, and optionally one JSON file
  ``{"video", "width", "height", "fps", "model", "frames": [{"frame", "time", "subjects"}]}``.
  A frame with nobody in it is not an error.
- :func:`write_json` (atomic: a temporary file then a rename) and :func:`write_image`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hourglass.annotate.inputs import VIDEO_SUFFIXES, Input, json_target
from hourglass.annotate.options import AnnotateOptions
from hourglass.annotate.subjects import NOUNS, Models, Result, Subjects, describe, predict, subjects_json
from hourglass.boxes import keypoint_boxes
from hourglass.data import DataError
from hourglass.predictor import as_rgb_image
from hourglass.smoothing import OneEuroFilter
from hourglass.visualize import draw_predictions, heatmap_overlay

# OpenCV (``cv2``) is imported inside the functions that read and write images and videos, as
# everywhere in the library: importing hourglass.annotate (``tools/infer.py --help``, a bad
# option) then does not pay for loading OpenCV.

__all__ = ["NOBODY", "write_json", "write_image", "process_image", "process_video"]

NOBODY = "nobody found"
"""The summary of an image where the models' calibrated presence scores found no subject."""


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as one line of JSON, through a temporary file so no half-written file is left."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data) + "\n")
    os.replace(tmp, path)


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write an (H, W, 3) RGB image, its folder created; ValueError when OpenCV cannot."""
    import cv2  # lazy: see the note at the top of the module

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise ValueError(f"could not write {path}; check the folder is writable and the suffix an image format")


def process_image(item: Input, models: Models, subjects: Subjects, options: AnnotateOptions) -> tuple[str, dict]:
    """Predict, draw and write one image; return its summary line and JSON entry.

    Raises:
        FileNotFoundError / DataError: the image is missing or unreadable.
        ValueError: no subject found (with --model), or an output cannot be written.
    """
    if item.error is not None:
        raise FileNotFoundError(item.error)
    assert item.path is not None and item.drawing is not None
    if not item.path.exists():
        raise FileNotFoundError(f"{item.path} does not exist")
    try:
        rgb = as_rgb_image(item.path)
    except DataError as e:
        if item.path.suffix.lower() in VIDEO_SUFFIXES:
            raise DataError(f"{item.path} is a video; process it with --video {item.path} --out OUT.mp4") from None
        raise e
    boxes, note = subjects.for_image(item.path)
    results = predict(
        models, rgb, boxes=boxes, whole_image=subjects.whole_image, kind=subjects.kind, heatmaps=options.heatmaps,
        note=note,
    )  # fmt: skip
    written = []
    if not results:  # nobody here: no drawing of guesses, and none of an earlier run left behind
        removed = [p for p in (item.drawing, item.heatmaps, *item.stale) if p and p.is_file() and not p.unlink()]
        entry = {"image": item.label, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
                 "model": models.label, "subjects": []}  # fmt: skip
        if item.json is not None:
            write_json(item.json, entry)
            written.append(item.json)
        gone = f" (removed {', '.join(map(str, removed))} of an earlier run)" if removed else ""
        wrote = f" -> {', '.join(map(str, written))}" if written else ""
        return f"{item.label}: {NOBODY} ({models.label}){wrote}{gone}", entry
    write_image(item.drawing, draw_predictions(rgb, [r.prediction for r in results], options.min_score))
    written.append(item.drawing)
    removed = [p for p in item.stale if p.is_file() and not p.unlink()]  # an earlier run's, now stale
    entry = {
        "image": item.label, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
        "model": "+".join(dict.fromkeys(r.model.name for r in results)) or models.label,
        "subjects": subjects_json(results, item.path.name),
    }  # fmt: skip
    if item.json is not None:
        write_json(item.json, entry)
        written.append(item.json)
    extra = ""
    if options.heatmaps:
        overlay = heatmap_overlay(rgb, [r.prediction for r in results])
        if overlay is None:
            extra = f" (no heatmaps: {'+'.join(r.model.name for r in results)} is a regression model)"
        else:
            write_image(item.heatmaps, overlay)
            written.append(item.heatmaps)
    if removed:
        extra += f" (removed {', '.join(map(str, removed))} of an earlier run)"
    line = f"{item.label}: {describe(results)} -> {', '.join(str(p) for p in written)}{extra}"
    return line, entry


def process_video(models: Models, subjects: Subjects, options: AnnotateOptions) -> str:
    """Predict and draw every frame of ``options.video``; write the video (and JSON); return the summary.

    Raises:
        FileNotFoundError: the video does not exist. ValueError: it cannot be opened or read,
        or the output cannot be written.
    """
    import cv2  # lazy: see the note at the top of the module

    src, out, json_path = _video_paths(options)
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # quiet: our error says it; set 16 to see FFmpeg's
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {src}: not a video OpenCV can read, or an unsupported codec")
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if math.isfinite(fps) and fps > 0 else 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    tally = _VideoTally(fps, keep_frames=json_path is not None)
    try:
        with tqdm(total=total if total > 0 else None, unit="frame", desc=src.name, disable=options.no_progress) as bar:
            smoother = _VideoSmoother(options) if options.smooth else None
            given = subjects.boxes is not None or subjects.whole_image
            tracker = None if given or options.detect_every == 1 else _VideoTracker(models, options.detect_every)
            _draw_frames(cap, out, models, subjects, options.min_score, tally, bar, smoother, tracker)
    finally:
        cap.release()
    if tally.index == 0:
        raise ValueError(f"cannot read any frame of video {src}: it is empty or its codec is unsupported")
    written = [out]
    if json_path is not None:
        data = {"video": str(src), "width": tally.size[0], "height": tally.size[1], "fps": fps, "model": models.label,
                "frames": tally.frames}  # fmt: skip
        write_json(json_path, data)
        written.append(json_path)
    return f"{src}: {tally.index} frames, {tally.found()} -> {', '.join(map(str, written))}"


def _video_paths(options: AnnotateOptions) -> tuple[Path, Path, Path | None]:
    """The input video, the output video and the JSON file (None: no JSON) of ``options``, checked."""
    src = Path(options.video)
    if not src.is_file():
        raise FileNotFoundError(f"video file {src} does not exist" if not src.exists() else f"{src} is not a file")
    out = Path(options.out) if options.out else src.with_name(f"{src.stem}.keypoints.mp4")
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov", ".avi"):
        raise ValueError(f"--out {out}: the output video must be .mp4, .mov or .avi (written with the mp4v codec)")
    if out.resolve() == src.resolve():
        raise ValueError(f"--out {out} would overwrite the input video")
    json_path = json_target(options.json, "video")
    if options.json is True:
        json_path = out.with_suffix(".json")
    elif json_path is not None and json_path.suffix.lower() != ".json":
        json_path = json_path / f"{out.stem}.json"  # a folder
    return src, out, json_path


@dataclass
class _VideoTally:
    """What the frames of a video held so far: the summary's counts and scores, the JSON frames."""

    fps: float
    keep_frames: bool  # collect the JSON frames
    index: int = 0  # frames seen
    size: tuple[int, int] = (0, 0)  # (W, H) of the frames
    counts: dict[str, list[int]] = field(default_factory=dict)  # "name:kind" -> [subjects, frames with any]
    scores: list[float] = field(default_factory=list)  # mean keypoint score per frame and heatmap model
    frames: list[dict[str, Any]] = field(default_factory=list)

    def add(self, results: list[Result]) -> None:
        """Count one frame's results (and keep its JSON frame)."""
        for res in results:
            key = f"{res.model.name}:{res.model.kind}"
            self.counts.setdefault(key, [0, 0])
            self.counts[key][0] += len(res.prediction)
            self.counts[key][1] += bool(len(res.prediction))
            if len(res.prediction) and res.model.predictor.loaded.output_kind == "heatmap":
                self.scores.append(float(res.prediction.scores.mean()))
        if self.keep_frames:
            self.frames.append({"frame": self.index, "time": round(self.index / self.fps, 4),
                                "subjects": subjects_json(results, self.index)})  # fmt: skip
        self.index += 1

    def found(self) -> str:
        """'4 faces in 4 frames (tiny), mean score 0.50' or 'no subjects'."""
        found = ", ".join(
            f"{n} {NOUNS[key.split(':')[1]][0 if n == 1 else 1]} in {f} frames ({key.split(':')[0]})"
            for key, (n, f) in self.counts.items()
        )  # fmt: skip
        mean = f", mean score {np.mean(self.scores):.2f}" if self.scores else ""
        return f"{found or 'no subjects'}{mean}"


class _VideoTracker:
    """Subjects that follow themselves from frame to frame.

    Every ``detect_every`` frames, and whenever nobody is being followed, each model looks for
    its subjects afresh (:func:`~hourglass.annotate.subjects.predict`: detectors, whole image,
    presence). In the frames between, each subject is predicted from the box of its previous
    frame's keypoints (before smoothing), refined as usual; when one leaves the frame, collapses
    or its presence falls under its model's calibrated threshold, the frame looks afresh.
    """

    def __init__(self, models: Models, detect_every: int) -> None:
        self.models = models
        self.detect_every = detect_every
        self.previous: list[Result] = []

    def __call__(self, rgb: np.ndarray, index: int) -> list[Result]:
        """The frame's results: followed from the previous frame, or found afresh."""
        results, lost = self._follow(rgb) if self.previous and index % self.detect_every else ([], True)
        if lost:  # time to look afresh, or a subject left, faded or collapsed: this frame looks afresh
            results = predict(self.models, rgb, require=False)
        # the raw keypoints: the smoother replaces the results' own in place
        self.previous = [Result(r.model, r.prediction.take(np.arange(len(r.prediction))), r.note)
                         for r in results]  # fmt: skip
        return results

    def _follow(self, rgb: np.ndarray) -> tuple[list[Result], bool]:
        """Each previous subject from the box of its keypoints; whether one was lost."""
        results, lost = [], False
        h, w = rgb.shape[:2]
        for res in self.previous:
            boxes = keypoint_boxes(res.prediction.keypoints)
            usable = np.isfinite(boxes).all(1) & (boxes[:, 2:] >= 1).all(1)
            usable &= (boxes[:, 0] < w - 0.5) & (boxes[:, 1] < h - 0.5) & (boxes[:, :2] + boxes[:, 2:] > -0.5).all(1)
            lost = lost or not usable.all()  # a subject that left the frame or collapsed: look afresh
            if not usable.any():
                continue
            pred = res.model.predictor(rgb, boxes[usable])
            threshold = res.model.predictor.presence_threshold
            keep = np.ones(len(pred), bool) if threshold is None else pred.presence >= threshold
            lost = lost or not keep.all()
            if keep.any():
                results.append(Result(res.model, pred.take(np.flatnonzero(keep)), "tracked"))
        return results, lost


class _VideoSmoother:
    """One :class:`~hourglass.smoothing.OneEuroFilter` per model, over its subjects' keypoints.

    Detectors list a frame's subjects in their own order, so each frame's subjects are matched
    to the previous frame's by the nearest keypoint centre (one to one, within the larger side
    of the subject's keypoint box); the filter's rows follow them, and a subject with no match
    starts its own row afresh.
    """

    def __init__(self, options: AnnotateOptions) -> None:
        self.options = options
        self.filters: dict[str, OneEuroFilter] = {}
        self.centers: dict[str, np.ndarray] = {}  # model name -> (N, 2) previous frame's keypoint centres

    def __call__(self, results: list[Result], time: float) -> None:
        """Replace each result's keypoints by their smoothed values at ``time`` (seconds)."""
        for res in results:
            kp = res.prediction.keypoints  # (N, K, 2)
            name = res.model.name
            f = self.filters.setdefault(name, OneEuroFilter(self.options.smooth_min_cutoff, self.options.smooth_beta))
            centers = np.nanmean(kp, axis=1) if len(kp) else np.zeros((0, 2))  # (N, 2)
            reach = np.nanmax(np.nanmax(kp, axis=1) - np.nanmin(kp, axis=1), axis=1) if len(kp) else np.zeros(0)
            if f.shape is not None:
                f.follow(_match(self.centers[name], centers, reach))
            self.centers[name] = centers
            res.prediction.keypoints = f(kp, time)


def _match(before: np.ndarray, now: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """For each centre of ``now`` (N, 2), the index of its one-to-one nearest in ``before`` (M, 2),
    or -1 when none is within its ``reach`` (N,) pixels."""
    from scipy.optimize import linear_sum_assignment  # lazy: only videos with smoothing need it

    order = np.full(len(now), -1, dtype=np.int64)
    if len(now) and len(before):
        dist = np.linalg.norm(now[:, None] - before[None], axis=-1)  # (N, M)
        rows, cols = linear_sum_assignment(dist)
        near = dist[rows, cols] <= reach[rows]
        order[rows[near]] = cols[near]
    return order


def _draw_frames(
    cap: Any,
    out: Path,
    models: Models,
    subjects: Subjects,
    min_score: float,
    tally: _VideoTally,
    bar: Any,
    smoother: _VideoSmoother | None = None,
    tracker: _VideoTracker | None = None,
) -> None:
    """Read every frame of ``cap``, predict and draw it into the video ``out``, and count it in ``tally``."""
    import cv2  # lazy: see the note at the top of the module

    writer = None
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            if writer is None:
                tally.size = (rgb.shape[1], rgb.shape[0])
                out.parent.mkdir(parents=True, exist_ok=True)
                writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), tally.fps, tally.size)
                if not writer.isOpened():
                    raise ValueError(f"cannot write video {out} with the mp4v codec; check the folder and suffix")
            if tracker is not None:
                results = tracker(rgb, tally.index)
            else:
                results = predict(
                    models, rgb, boxes=subjects.boxes, whole_image=subjects.whole_image, kind=subjects.kind,
                    require=False,
                )  # fmt: skip
            if smoother is not None:
                smoother(results, tally.index / tally.fps)
            tally.add(results)
            drawing = draw_predictions(rgb, [r.prediction for r in results], min_score)
            writer.write(cv2.cvtColor(drawing, cv2.COLOR_RGB2BGR))
            bar.update(1)
    finally:
        if writer is not None:
            writer.release()
