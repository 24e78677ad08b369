#!/usr/bin/env python
"""Keypoints on your own images and videos: draw them, print a summary, write JSON.

Examples:
    python tools/infer.py photo.jpg                           # -> photo.keypoints.png
    python tools/infer.py --sample                            # matplotlib's sample portrait -> outputs/
    python tools/infer.py photos/ 'more/*.jpg' --out results/ --json
    python tools/infer.py crop.png --model runs/face-hg --whole-image --heatmaps
    python tools/infer.py photo.jpg --model 300w-hg2 --box 120,80,200,220 --box 400,90,180,200
    python tools/infer.py --video clip.mp4 --out clip.keypoints.mp4 --json

Inputs are image files, folders (their images, sorted; sub-folders with --recursive) and
glob patterns (expanded here, so quoting them works). Earlier results in a folder
(*.keypoints.png, *.heatmaps.png) are not taken as inputs.

Models. --model names one model for every subject: a shipped name (weights/NAME.pt or
$HOURGLASS_WEIGHTS), a weights file, a training checkpoint or a run folder; subjects come
from --box / --boxes / --whole-image, else from the detector of its keypoints (OpenCV's Haar
faces for face models, HOG people otherwise). Without --model the shipped face model
(300w-hg2) runs on the Haar faces AND the shipped body model (lspet-hg2) on the HOG people;
when neither finds anyone, the whole image is taken as a person (as a face when only the face
model is shipped). A shipped model whose file is absent is left out with a note. Given boxes
go to the shipped model of --kind (default face).

Boxes are x,y,w,h in the upright image (EXIF orientation applied): top-left corner, width,
height, with pixel i covering [i - 0.5, i + 0.5] (a box tight around pixels 10..109 is x = 9.5,
w = 100; numbers read off an image viewer are at most half a pixel off, harmless for a crop).
--boxes reads a JSON file, {"photo.jpg": [[x, y, w, h], ...]} or [{"image": "photo.jpg",
"bbox": [x, y, w, h]}, ...]; an image it does not list is detected.

Outputs, for photo.jpg: photo.keypoints.png (the drawing; --out FILE for one input, --out
FOLDER for several), photo.keypoints.json with --json (beside the drawing; --json PATH.json
for one file: the image's entry, or a list of entries with several inputs; --json FOLDER for
one file per image), photo.heatmaps.png with --heatmaps. JSON per image: {"image", "width",
"height", "model", "subjects": [{"keypoints": [x, y, score] * K, "score", "bbox", "box_score",
"keypoint_names", "model", "source", ...}]}: (x, y) pixel centres, 0-based, in the upright
image; "bbox" in the convention of --box (COCO boxes have their corner half a pixel further,
at x + 0.5); the score is the heatmap peak (1.0 for regression models, which give none). A video
gives one JSON file {"video", "width", "height", "fps", "model", "frames": [{"frame", "time",
"subjects"}]}.

Exit status: 0 done; 1 some of several inputs failed (each reported, the others written);
2 a user error (bad option, missing or unreadable model, missing or unreadable input, no
subject found in the only input), each as one line "error: ..." on stderr.
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
"""Files taken from folders and globs (explicit paths are tried whatever their suffix)."""
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""Image formats --out may name."""
OUTPUT_TAGS = (".keypoints", ".heatmaps")
"""Name tags of this tool's outputs; such files in folders and globs are not inputs."""
NOUNS = {"face": ("face", "faces"), "person": ("person", "people")}


# --- command line ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    from hourglass.codec import DECODE_METHODS

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a("inputs", nargs="*", help="image files, folders or glob patterns")
    a("--sample", action="store_true", help="also run on matplotlib's sample portrait (default --out outputs/)")
    a("--video", help="a video file to process frame by frame (instead of images)")
    a("--recursive", action="store_true", help="also take images from sub-folders (and ** in globs)")
    a("--model", help="shipped model name, weights file, checkpoint or run folder (default: the shipped models)")
    a("--kind", choices=["face", "person"], help="without --model: the shipped model for given boxes (default face)")
    a("--box", action="append", default=[], metavar="X,Y,W,H", help="a subject box (repeatable), same for every input")
    a("--boxes", metavar="FILE.json", help="subject boxes per image from a JSON file")
    a("--whole-image", action="store_true", help="treat each image as one subject (an image cropped to it)")
    a("--flip", action="store_true", help="flip test: average with the mirrored crop's prediction")
    a("--decoder", choices=list(DECODE_METHODS), default="dark", help="heatmap decoder (default dark)")
    a("--min-score", type=float, default=0.0, help="draw only keypoints with a score >= this (default 0: all)")
    a("--out", help="output file (one input) or folder (several inputs); for --video the output video")
    a("--json", nargs="?", const=True, metavar="PATH", help="also write the keypoints as JSON (after the inputs)")
    a("--heatmaps", action="store_true", help="also write <image>.heatmaps.png, the heatmaps over the image")
    a("--device", default="cpu", help="cpu, cuda, cuda:N")
    a("--threads", type=int, help="torch CPU threads")
    a("--batch-size", type=int, default=16, help="subjects per forward pass")
    a("--no-progress", action="store_true", help="no progress bar for videos")
    return p


# --- models ----------------------------------------------------------------------------------
@dataclass
class Model:
    """A predictor and what the summary calls it."""

    predictor: Any
    name: str
    kind: str  # "face" or "person"


@dataclass
class Models:
    """The models of a run: ``fixed`` (--model) or the shipped ``face`` / ``person`` ones."""

    fixed: Model | None = None
    face: Model | None = None
    person: Model | None = None
    notes: list[str] = field(default_factory=list)

    def all(self) -> list[Model]:
        return [m for m in (self.fixed, self.face, self.person) if m is not None]

    @property
    def label(self) -> str:
        return "+".join(m.name for m in self.all())


def _model(path: Any, args: argparse.Namespace) -> Model:
    from hourglass.predictor import Predictor

    predictor = Predictor.from_checkpoint(
        path, device=args.device, flip=args.flip, decoder=args.decoder, batch_size=args.batch_size
    )
    return Model(predictor, predictor.loaded.name, predictor.kind)


def load_models(args: argparse.Namespace) -> Models:
    """The model given with --model, or the shipped face and body models that exist.

    Raises:
        FileNotFoundError: --model names nothing, or no shipped model exists and none was given.
        ValueError: a model file is unreadable or does not fit its stored architecture.
    """
    from hourglass.weights import DEFAULT_MODELS, resolve_weights, weights_dir

    if args.model:
        return Models(fixed=_model(args.model, args))
    models = Models()
    for kind in ("face", "person"):
        name = DEFAULT_MODELS[kind]
        try:
            path = resolve_weights(name)
        except FileNotFoundError:
            what = "faces" if kind == "face" else "people"
            models.notes.append(f"shipped {kind} model {name} is not in {weights_dir()}; {what} are skipped")
            continue
        setattr(models, kind, _model(path, args))
    if models.face is None and models.person is None:
        raise FileNotFoundError(
            f"no shipped model in {weights_dir()} ({', '.join(DEFAULT_MODELS.values())} are absent); "
            "pass --model with a weights file, checkpoint or run folder (e.g. --model runs/face-hg)"
        )
    if args.box or args.boxes or args.whole_image:
        kind = args.kind or "face"
        if getattr(models, kind) is None:
            raise FileNotFoundError(
                f"given subjects go to the shipped {kind} model {DEFAULT_MODELS[kind]}, which is not in "
                f"{weights_dir()}; pass --model, or --kind {'person' if kind == 'face' else 'face'}"
            )
    return models


# --- subjects and predictions ----------------------------------------------------------------
@dataclass
class Result:
    """One model's prediction on one image; ``note`` says how its subjects were found."""

    model: Model
    prediction: Any
    note: str = ""


def predict(
    models: Models,
    rgb: np.ndarray,
    *,
    boxes: np.ndarray | None = None,
    whole_image: bool = False,
    kind: str | None = None,
    heatmaps: bool = False,
    require: bool = True,
    note: str = "",
) -> list[Result]:
    """Keypoints of every subject of an (H, W, 3) RGB image, by the rules of the module docstring.

    Args:
        boxes: (N, 4) subject boxes (x, y, w, h), or None to detect (or ``whole_image``).
        kind: without --model, the shipped model given boxes go to (default face).
        require: with one model, raise when its detector finds nobody (still images).

    Raises:
        ValueError: ``require`` and no subject was found.
    """
    given = boxes is not None or whole_image
    if models.fixed is not None or given:
        model = models.fixed or getattr(models, kind or "face")
        pred = model.predictor(rgb, boxes, whole_image=whole_image, return_heatmaps=heatmaps)
        if require and not given and len(pred) == 0:
            what = NOUNS[model.kind][0]
            detector = "Haar face" if model.kind == "face" else "HOG people"
            raise ValueError(
                f"no {what} found by the {detector} detector; give the subject with --box x,y,w,h "
                "(or --boxes FILE.json), or use --whole-image if the image is cropped to it"
            )
        return [Result(model, pred, note or ("whole image" if whole_image else ""))]
    results = []
    for model in (models.face, models.person):
        if model is not None:
            pred = model.predictor(rgb, return_heatmaps=heatmaps)
            if len(pred):
                results.append(Result(model, pred, note))
    if results:
        return results
    model = models.person or models.face
    found = " or ".join(NOUNS[m.kind][0] for m in (models.face, models.person) if m is not None)
    pred = model.predictor(rgb, whole_image=True, return_heatmaps=heatmaps)
    return [Result(model, pred, f"whole image: no {found} detected")]


# --- results as text and JSON ----------------------------------------------------------------
def subjects_json(results: list[Result], image_id: Any) -> list[dict[str, Any]]:
    """COCO-style subject dicts (:meth:`Prediction.to_coco`) with names, model and source."""
    out = []
    for res in results:
        names = list(res.prediction.spec.names)
        for entry in res.prediction.to_coco(image_id):
            entry.update(keypoint_names=names, model=res.model.name, kind=res.model.kind,
                         source=res.prediction.source)  # fmt: skip
            if res.note:
                entry["note"] = res.note
            out.append(entry)
    return out


def describe(results: list[Result]) -> str:
    """'1 face (300w-hg2, 68 points, mean score 0.83)' for each model's subjects."""
    parts = []
    for res in results:
        pred, model = res.prediction, res.model
        n = len(pred)
        noun = NOUNS[model.kind][0 if n == 1 else 1]
        if model.predictor.loaded.kind == "regression":
            score = "regression, no scores"
        else:
            score = f"mean score {pred.scores.mean():.2f}" if n else "no scores"
        note = f"; {res.note}" if res.note else ""
        parts.append(f"{n} {noun} ({model.name}, {pred.spec.num_keypoints} points, {score}{note})")
    return ", ".join(parts) if parts else "no subjects"


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data) + "\n")
    os.replace(tmp, path)


def _write_image(path: Path, rgb: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)):
        raise ValueError(f"could not write {path}; check the folder is writable and the suffix an image format")


# --- inputs and where their outputs go ---------------------------------------------------------
@dataclass
class Input:
    """One input image: its path, or why the argument that named it gives no image."""

    label: str
    path: Path | None = None
    error: str | None = None
    folder: Path = Path()  # sub-folder below the folder argument it came from (--recursive)
    drawing: Path | None = None
    json: Path | None = None
    heatmaps: Path | None = None


def _is_output(path: Path) -> bool:
    return any(path.stem.endswith(tag) for tag in OUTPUT_TAGS)


def expand_inputs(items: list[str], recursive: bool = False) -> tuple[list[Input], list[str]]:
    """Image paths from files, folders and glob patterns, in the order given (folders sorted).

    Returns the inputs (an argument that names nothing becomes an :class:`Input` with its
    error, reported when it is processed) and notes (earlier outputs left out).
    """
    inputs: list[Input] = []
    notes: list[str] = []
    seen: set[Path] = set()

    def add(path: Path, root: Path | None = None) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            folder = path.parent.relative_to(root) if root is not None else Path()
            inputs.append(Input(str(path), path, folder=folder))

    def add_listed(paths: list[Path], where: str, root: Path | None = None) -> None:
        images = [p for p in paths if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
        outputs = [p for p in images if _is_output(p)]
        if outputs:
            notes.append(f"{where}: left out {len(outputs)} earlier output(s) (*.keypoints.*, *.heatmaps.*)")
        for p in images:
            if not _is_output(p):
                add(p, root)
        if len(images) == len(outputs):
            inputs.append(Input(where, error=f"{where}: no image files ({', '.join(IMAGE_SUFFIXES[:5])}, ...)"))

    for item in items:
        path = Path(item)
        if path.is_dir():
            listed = path.rglob("*") if recursive else path.iterdir()
            add_listed(sorted(listed), item, path)
        elif path.exists() or not glob.has_magic(item):
            add(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(item, recursive=recursive))
            if not matches:
                inputs.append(Input(item, error=f"no file matches {item!r}"))
            else:
                add_listed(matches, item)
    return inputs, notes


def _json_target(value: Any, what: str) -> Path | None:
    if value is None or value is True:
        return None
    path = Path(value)
    if path.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
        raise ValueError(
            f"--json took {value!r} as the path of its output; put --json after the {what}, or write --json=PATH.json"
        )
    return path


def plan_outputs(inputs: list[Input], args: argparse.Namespace) -> Path | None:
    """Fill each input's output paths (module docstring); return the one combined JSON file, if any.

    Raises:
        ValueError: --out or --json names a file for several inputs, two inputs would write the
            same file, or an output would overwrite an input.
    """
    good = [i for i in inputs if i.error is None]
    several = len(inputs) > 1
    out = Path(args.out) if args.out else None
    out_file = out is not None and out.suffix.lower() in WRITE_SUFFIXES
    if out is not None and not out_file and out.suffix.lower() in VIDEO_SUFFIXES:
        raise ValueError(f"--out {args.out} names a video; process a video with --video IN --out {args.out}")
    if out_file and several:
        raise ValueError(f"--out {args.out} names one image file but there are {len(inputs)} inputs; give a folder")
    json_path = _json_target(args.json, "inputs")
    combined = None
    if json_path is not None and json_path.suffix.lower() == ".json":
        combined = json_path
        json_path = None
    for item in good:
        stem = item.path.stem
        if out_file:  # photo.jpg --out result.png -> result.png, result.json, result.heatmaps.png
            item.drawing, default_json, item.heatmaps = out, out.with_suffix(".json"), out.with_suffix(".heatmaps.png")
        else:  # photo.jpg -> photo.keypoints.png, photo.keypoints.json, photo.heatmaps.png
            folder = out / item.folder if out is not None else item.path.parent
            item.drawing, default_json = folder / f"{stem}.keypoints.png", folder / f"{stem}.keypoints.json"
            item.heatmaps = folder / f"{stem}.heatmaps.png"
        if args.json is not None and combined is None:
            item.json = json_path / item.folder / f"{stem}.keypoints.json" if json_path else default_json
        if not args.heatmaps:
            item.heatmaps = None
    written: dict[Path, str] = {}
    sources = {i.path.resolve(): i.label for i in good}
    for item in good:
        for target in (item.drawing, item.json, item.heatmaps):
            if target is None:
                continue
            key = target.resolve()
            if key in sources:
                raise ValueError(f"{item.label}: its output {target} would overwrite the input {sources[key]}")
            if key in written:
                raise ValueError(
                    f"{written[key]} and {item.label} would both write {target}; process them in separate runs "
                    "or with separate --out folders"
                )
            written[key] = item.label
    return combined


# --- running ---------------------------------------------------------------------------------
@dataclass
class Subjects:
    """How subjects are given: fixed boxes, a table of boxes per image, the whole image, or detection."""

    boxes: np.ndarray | None = None
    table: dict[str, np.ndarray] | None = None
    table_name: str = ""
    whole_image: bool = False
    kind: str | None = None

    def for_image(self, path: Path) -> tuple[np.ndarray | None, str]:
        """(boxes or None to detect, note for the summary)."""
        from hourglass.boxes import lookup_boxes

        if self.table is None:
            return self.boxes, ""
        found = lookup_boxes(self.table, path)
        return (found, "") if found is not None else (None, f"not in {self.table_name}: detected")


def parse_subjects(args: argparse.Namespace) -> Subjects:
    """Check --box / --boxes / --whole-image / --kind together and read them."""
    from hourglass.boxes import load_boxes_json, parse_box

    given = [name for name, on in (("--box", args.box), ("--boxes", args.boxes), ("--whole-image", args.whole_image))
             if on]  # fmt: skip
    if len(given) > 1:
        raise ValueError(f"give only one of --box, --boxes and --whole-image, got {' and '.join(given)}")
    if args.kind and args.model:
        raise ValueError("--kind picks a shipped model for given boxes; with --model the model decides")
    if args.kind and not given:
        raise ValueError("--kind only says which shipped model given boxes go to; add --box, --boxes or --whole-image")
    subjects = Subjects(whole_image=bool(args.whole_image), kind=args.kind)
    if args.box:
        subjects.boxes = np.stack([parse_box(text) for text in args.box])
    if args.boxes:
        subjects.table = load_boxes_json(args.boxes)
        subjects.table_name = Path(args.boxes).name
    return subjects


def process_image(item: Input, models: Models, subjects: Subjects, args: argparse.Namespace) -> tuple[str, dict]:
    """Predict, draw and write one image; return its summary line and JSON entry.

    Raises:
        FileNotFoundError / DataError: the image is missing or unreadable.
        ValueError: no subject found (with --model), or an output cannot be written.
    """
    from hourglass.data import DataError
    from hourglass.predictor import as_rgb_image
    from hourglass.visualize import draw_predictions, heatmap_overlay

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
        models, rgb, boxes=boxes, whole_image=subjects.whole_image, kind=subjects.kind, heatmaps=args.heatmaps,
        note=note,
    )  # fmt: skip
    written = []
    _write_image(item.drawing, draw_predictions(rgb, [r.prediction for r in results], args.min_score))
    written.append(item.drawing)
    entry = {
        "image": item.label, "width": int(rgb.shape[1]), "height": int(rgb.shape[0]),
        "model": "+".join(dict.fromkeys(r.model.name for r in results)) or models.label,
        "subjects": subjects_json(results, item.path.name),
    }  # fmt: skip
    if item.json is not None:
        _write_json(item.json, entry)
        written.append(item.json)
    extra = ""
    if args.heatmaps:
        overlay = heatmap_overlay(rgb, [r.prediction for r in results])
        if overlay is None:
            extra = f" (no heatmaps: {'+'.join(r.model.name for r in results)} is a regression model)"
        else:
            _write_image(item.heatmaps, overlay)
            written.append(item.heatmaps)
    line = f"{item.label}: {describe(results)} -> {', '.join(str(p) for p in written)}{extra}"
    return line, entry


def process_video(models: Models, subjects: Subjects, args: argparse.Namespace) -> str:
    """Predict and draw every frame of ``args.video``; write the video (and JSON); return the summary.

    Raises:
        FileNotFoundError: the video does not exist. ValueError: it cannot be opened or read,
        or the output cannot be written.
    """
    import cv2
    from tqdm.auto import tqdm

    from hourglass.visualize import draw_predictions

    src = Path(args.video)
    if not src.is_file():
        raise FileNotFoundError(f"video file {src} does not exist" if not src.exists() else f"{src} is not a file")
    out = Path(args.out) if args.out else src.with_name(f"{src.stem}.keypoints.mp4")
    if out.suffix.lower() not in (".mp4", ".m4v", ".mov", ".avi"):
        raise ValueError(f"--out {out}: the output video must be .mp4, .mov or .avi (written with the mp4v codec)")
    if out.resolve() == src.resolve():
        raise ValueError(f"--out {out} would overwrite the input video")
    json_path = _json_target(args.json, "video")
    if args.json is True:
        json_path = out.with_suffix(".json")
    elif json_path is not None and json_path.suffix.lower() != ".json":
        json_path = json_path / f"{out.stem}.json"  # a folder
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # quiet: our error says it; set 16 to see FFmpeg's
    cap = cv2.VideoCapture(str(src))
    if not cap.isOpened():
        raise ValueError(f"cannot open video {src}: not a video OpenCV can read, or an unsupported codec")
    writer = None
    frames: list[dict[str, Any]] = []
    counts: dict[str, list[int]] = {}
    scores: list[float] = []
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if math.isfinite(fps) and fps > 0 else 25.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    size = (0, 0)
    index = 0
    try:
        with tqdm(total=total if total > 0 else None, unit="frame", desc=src.name, disable=args.no_progress) as bar:
            while True:
                ok, frame = cap.read()
                if not ok:
                    break
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                if writer is None:
                    size = (rgb.shape[1], rgb.shape[0])
                    out.parent.mkdir(parents=True, exist_ok=True)
                    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
                    if not writer.isOpened():
                        raise ValueError(f"cannot write video {out} with the mp4v codec; check the folder and suffix")
                results = predict(
                    models, rgb, boxes=subjects.boxes, whole_image=subjects.whole_image, kind=subjects.kind,
                    require=False,
                )  # fmt: skip
                for res in results:
                    key = f"{res.model.name}:{res.model.kind}"
                    counts.setdefault(key, [0, 0])
                    counts[key][0] += len(res.prediction)
                    counts[key][1] += bool(len(res.prediction))
                    if len(res.prediction) and res.model.predictor.loaded.kind == "heatmap":
                        scores.append(float(res.prediction.scores.mean()))
                drawing = draw_predictions(rgb, [r.prediction for r in results], args.min_score)
                writer.write(cv2.cvtColor(drawing, cv2.COLOR_RGB2BGR))
                if json_path is not None:
                    frames.append({"frame": index, "time": round(index / fps, 4),
                                   "subjects": subjects_json(results, index)})  # fmt: skip
                index += 1
                bar.update(1)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if index == 0:
        raise ValueError(f"cannot read any frame of video {src}: it is empty or its codec is unsupported")
    written = [out]
    if json_path is not None:
        data = {"video": str(src), "width": size[0], "height": size[1], "fps": fps, "model": models.label,
                "frames": frames}  # fmt: skip
        _write_json(json_path, data)
        written.append(json_path)
    found = ", ".join(
        f"{n} {NOUNS[key.split(':')[1]][0 if n == 1 else 1]} in {f} frames ({key.split(':')[0]})"
        for key, (n, f) in counts.items()
    )  # fmt: skip
    mean = f", mean score {np.mean(scores):.2f}" if scores else ""
    return f"{src}: {index} frames, {found or 'no subjects'}{mean} -> {', '.join(map(str, written))}"


def run(args: argparse.Namespace) -> int:
    """Do what the arguments say; return the exit status (user errors raise, see :func:`main`)."""
    from hourglass.data import DataError

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        import torch

        torch.set_num_threads(args.threads)
    if not math.isfinite(args.min_score):
        raise ValueError(f"--min-score must be a finite number, got {args.min_score}")
    if args.sample:
        import matplotlib.cbook

        args.inputs = [*args.inputs, str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))]
        if args.out is None:
            args.out = "outputs/grace_hopper.keypoints.png" if len(args.inputs) == 1 else "outputs"
    _json_target(args.json, "video" if args.video else "inputs")  # --json swallowed an input?
    if args.video and args.inputs:
        raise ValueError(f"give images or --video, not both (got {len(args.inputs)} image argument(s) too)")
    if not args.video and not args.inputs:
        raise ValueError("no input: give image files, folders or glob patterns, or --video FILE")
    if args.video and args.heatmaps:
        raise ValueError("--heatmaps is for images; a video gets its keypoints drawn only")
    if args.video and args.boxes:
        raise ValueError("--boxes names images; for a video give fixed boxes with --box")
    subjects = parse_subjects(args)
    if args.video:
        models = load_models(args)
        for note in models.notes:
            print(f"note: {note}", file=sys.stderr)
        print(process_video(models, subjects, args))
        return 0

    inputs, notes = expand_inputs(args.inputs, args.recursive)
    combined = plan_outputs(inputs, args)
    models = load_models(args)
    if subjects.table is not None:  # boxes for images that are not inputs are not dropped silently
        names = {i.path.name for i in inputs if i.path is not None}
        unused = [k for k in subjects.table if Path(k).name not in names]
        if unused:
            shown = ", ".join(unused[:3]) + (" ..." if len(unused) > 3 else "")
            notes.append(f"{len(unused)} image(s) in {subjects.table_name} are not among the inputs: {shown}")
    for note in models.notes + notes:
        print(f"note: {note}", file=sys.stderr)
    entries, failed = [], 0
    for item in inputs:
        start = time.perf_counter()
        try:
            line, entry = process_image(item, models, subjects, args)
        except (ValueError, TypeError, FileNotFoundError, DataError, OSError) as e:
            failed += 1
            print(f"error: {_message(e, item.label)}", file=sys.stderr)
            if len(inputs) == 1:
                return 2
            continue
        entries.append(entry)
        print(f"{line} ({time.perf_counter() - start:.2f} s)")
    if combined is not None and entries:
        _write_json(combined, entries[0] if len(inputs) == 1 else entries)
        print(f"wrote {combined} ({len(entries)} image(s))")
    if failed:
        print(f"error: {failed} of {len(inputs)} inputs failed", file=sys.stderr)
        return 1
    return 0


def _message(error: BaseException, label: str | None = None) -> str:
    """One line naming the input (when the message does not already)."""
    text = str(error.strerror if isinstance(error, OSError) and error.strerror and not str(error) else error)
    text = " ".join(text.split())
    if label and label not in text and (Path(label).name not in text):
        text = f"{label}: {text}"
    return text


def main(argv: list[str] | None = None) -> int:
    from hourglass.data import DataError

    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except (ValueError, TypeError, FileNotFoundError, DataError, OSError) as e:
        print(f"error: {_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
