"""Which images a run reads, and which files it writes for each.

- :func:`expand_inputs`: image files, folders (their images, sorted; sub-folders when
  recursive) and glob patterns (expanded here, so a quoted pattern works) become
  :class:`Input` s in the order given, each path once. An argument that names nothing becomes
  an Input carrying its error, reported when it is processed, so the other inputs still run.
  Files tagged as earlier outputs (``*.keypoints.*``, ``*.heatmaps.*``) found in folders and
  globs are left out with a note; an explicit path is always tried, whatever its suffix.
- :func:`plan_outputs`: for ``photo.jpg`` the drawing ``photo.keypoints.png``, the JSON
  ``photo.keypoints.json`` and the overlay ``photo.heatmaps.png``, under :data:`DEFAULT_OUT`
  (``outputs/``, never into the data folder) or ``--out FOLDER`` (keeping the sub-folders of
  a recursive folder); in those folders an earlier run's ``.keypoints.json`` or ``.heatmaps.png``
  of the same drawing that this run does not write (nor reads) is marked stale and removed when
  the drawing is written (never with ``--out FILE``, whose neighbours may be the user's);
  ``--out FILE`` for a single input names the drawing and the others take its stem. ``--json PATH.json`` is one
  combined file, ``--json FOLDER`` one file per image there. Before anything runs it refuses
  a plan in which two inputs write the same file or an output overwrites an input.
- :func:`json_target`: the path ``--json`` was given, refusing one that is clearly an input
  that ``--json`` swallowed.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "WRITE_SUFFIXES",
    "OUTPUT_TAGS",
    "DEFAULT_OUT",
    "Input",
    "expand_inputs",
    "json_target",
    "plan_outputs",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
"""Files taken from folders and globs (explicit paths are tried whatever their suffix)."""
DEFAULT_OUT = Path("outputs")
"""Where drawings go without ``--out`` (relative to the working folder)."""
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")
WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
"""Image formats --out may name."""
OUTPUT_TAGS = (".keypoints", ".heatmaps")
"""Name tags of this tool's outputs; such files in folders and globs are not inputs."""


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
    stale: tuple[Path, ...] = ()  # files of an earlier run beside this drawing that this run does not write


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


def json_target(value: Any, what: str) -> Path | None:
    """The path of ``--json PATH`` (None for a bare ``--json`` or none).

    Raises:
        ValueError: the path is an image or a video: ``--json`` took an input (``what`` names
            the inputs, for the message) as its value.
    """
    if value is None or value is True:
        return None
    path = Path(value)
    if path.suffix.lower() in IMAGE_SUFFIXES + VIDEO_SUFFIXES:
        raise ValueError(
            f"--json took {value!r} as the path of its output; put --json after the {what}, or write --json=PATH.json"
        )
    return path


def plan_outputs(
    inputs: list[Input], *, out: str | None = None, json: bool | str | None = None, heatmaps: bool = False
) -> Path | None:
    """Fill each input's output paths (module docstring); return the one combined JSON file, if any.

    ``out``, ``json`` and ``heatmaps`` are those of :class:`hourglass.annotate.options.AnnotateOptions`:
    ``--out``, ``--json`` (None: no JSON, True: beside each drawing, else a path) and ``--heatmaps``.

    Raises:
        ValueError: --out or --json names a file for several inputs, two inputs would write the
            same file, or an output would overwrite an input.
    """
    good = [i for i in inputs if i.error is None]
    several = len(inputs) > 1
    out_path = Path(out) if out else None
    out_file = out_path is not None and out_path.suffix.lower() in WRITE_SUFFIXES
    if out_path is not None and not out_file and out_path.suffix.lower() in VIDEO_SUFFIXES:
        raise ValueError(f"--out {out} names a video; process a video with --video IN --out {out}")
    if out_file and several:
        raise ValueError(f"--out {out} names one image file but there are {len(inputs)} inputs; give a folder")
    json_path = json_target(json, "inputs")
    combined = None
    if json_path is not None and json_path.suffix.lower() == ".json":
        combined = json_path
        json_path = None
    for item in good:
        stem = item.path.stem
        if out_file:  # photo.jpg --out result.png -> result.png, result.json, result.heatmaps.png
            item.drawing, item.heatmaps = out_path, out_path.with_suffix(".heatmaps.png")
            default_json = out_path.with_suffix(".json")
        else:  # photo.jpg -> photo.keypoints.png, photo.keypoints.json, photo.heatmaps.png
            folder = (out_path if out_path is not None else DEFAULT_OUT) / item.folder
            item.drawing, default_json = folder / f"{stem}.keypoints.png", folder / f"{stem}.keypoints.json"
            item.heatmaps = folder / f"{stem}.heatmaps.png"
        if json is not None and combined is None:
            item.json = json_path / item.folder / f"{stem}.keypoints.json" if json_path else default_json
        if not out_file:  # an earlier run's tagged files beside the new drawing that no longer match it
            kept = {p.resolve() for p in (item.json, item.heatmaps if heatmaps else None) if p is not None}
            item.stale = tuple(p for p in (default_json, item.heatmaps) if p.resolve() not in kept)
        if not heatmaps:
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
    for item in good:  # never remove an input, nor what this run writes
        item.stale = tuple(p for p in item.stale if p.resolve() not in sources and p.resolve() not in written)
    return combined
