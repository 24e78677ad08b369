"""The command line of ``tools/infer.py``: its options, the run, the exit status.

- :func:`build_parser`: the options; the tool passes its usage text as the description.
- :func:`run`: check the options together, then process the images one after another (an
  input that fails is reported and the others still run) or the one video, printing a
  summary line for each to stdout and notes to stderr.
- :func:`main`: parse, run, and turn a user error into one line ``error: ...`` on stderr.
  Exit status: 0 done; 1 some of several inputs failed; 2 a user error (bad option, missing
  or unreadable model or input, no subject found in the only input); 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from hourglass.annotate.inputs import expand_inputs, json_target, plan_outputs
from hourglass.annotate.process import process_image, process_video, write_json
from hourglass.annotate.subjects import load_models, parse_subjects

__all__ = ["build_parser", "run", "main"]


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``tools/infer.py``, with ``description`` (its usage text) above them in ``--help``."""
    from hourglass.codec import DECODE_METHODS

    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    json_target(args.json, "video" if args.video else "inputs")  # --json swallowed an input?
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
        write_json(combined, entries[0] if len(inputs) == 1 else entries)
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


def main(argv: list[str] | None = None, *, description: str | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), :func:`run`, and return the exit status.

    A user error (ValueError, TypeError, FileNotFoundError, DataError, OSError) prints one
    line ``error: ...`` on stderr and returns 2; Ctrl-C prints ``interrupted`` and returns 130.
    ``description`` is the usage text ``--help`` shows above the options.
    """
    from hourglass.data import DataError

    args = build_parser(description).parse_args(argv)
    try:
        return run(args)
    except (ValueError, TypeError, FileNotFoundError, DataError, OSError) as e:
        print(f"error: {_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
