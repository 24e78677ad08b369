"""The command line of ``tools/infer.py``: its options, the run, the exit status.

- :func:`build_parser`: the options; the tool passes its usage text as the description.
- :func:`options_from_args`: the parsed arguments as one :class:`AnnotateOptions`
  (``--sample`` becomes an input), checked together.
- :func:`run`: process the images one after another (an input that fails is reported and the
  others still run) or the one video, printing a summary line for each to stdout and notes
  to stderr.
- :func:`main`: parse, run, and turn a user error into one line ``error: ...`` on stderr.
  Exit status: 0 done; 1 some of several inputs failed; 2 a user error (bad option, missing
  or unreadable model or input, no subject found in the only input); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from hourglass._help import HelpFormatter
from hourglass.annotate.inputs import expand_inputs, plan_outputs
from hourglass.annotate.options import KINDS, AnnotateOptions
from hourglass.annotate.process import process_image, process_video, write_json
from hourglass.annotate.subjects import load_models, parse_subjects
from hourglass.codec import DECODE_METHODS
from hourglass.data import DataError
from hourglass.predictor import REFINE
from hourglass.runtime import add_runtime_flags, tune_cpu

__all__ = ["NOBODY_STATUS", "build_parser", "options_from_args", "run", "main"]


def build_parser(description: str | None = None) -> argparse.ArgumentParser:
    """The options of ``tools/infer.py``, with ``description`` (its usage text) above them in ``--help``."""
    p = argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)
    a = p.add_argument
    a("inputs", nargs="*", help="image files, folders or glob patterns")
    a("--sample", action="store_true", help="also run on matplotlib's sample portrait (default --out outputs/)")
    a("--video", help="a video file to process frame by frame (instead of images)")
    a("--recursive", action="store_true", help="also take images from sub-folders (and ** in globs)")
    a("--model", help="shipped model name, weights file, checkpoint or run folder (default: the shipped models)")
    a("--kind", choices=list(KINDS), help="without --model: the shipped model for given boxes (default face)")
    a("--box", action="append", default=[], metavar="X,Y,W,H", help="a subject box (repeatable), same for every input")
    a("--boxes", metavar="FILE.json", help="subject boxes per image from a JSON file")
    a("--whole-image", action="store_true", help="treat each image as one subject (an image cropped to it)")
    a("--flip", action="store_true", help="flip test: average with the mirrored crop's prediction")
    a("--decoder", choices=list(DECODE_METHODS), default="dark", help="heatmap decoder (default dark)")
    refine = f"re-crop each subject from its predicted keypoints, predict again; N passes (default {REFINE}, 0 off)"
    a("--refine", type=int, default=REFINE, metavar="N", help=refine)
    a("--min-score", type=float, default=0.0, help="draw only keypoints with a score >= this (default 0: all)")
    a("--out", help="output file (one input) or folder (several inputs); for --video the output video")
    a("--json", nargs="?", const=True, metavar="PATH", help="also write the keypoints as JSON (after the inputs)")
    a("--heatmaps", action="store_true", help="also write <image>.heatmaps.png, the heatmaps over the image")
    a("--device", default="cpu", help="cpu, cuda, cuda:N")
    a("--threads", type=int, help="torch CPU threads")
    a("--batch-size", type=int, default=16, help="subjects per forward pass")
    a("--no-progress", action="store_true", help="no progress bar for videos")
    a("--no-smooth", dest="smooth", action="store_false", help="video: draw raw keypoints, not One-Euro smoothed")
    a("--smooth-min-cutoff", type=float, default=1.0, help="video smoothing: One-Euro cutoff in Hz (default 1.0)")
    a("--smooth-beta", type=float, default=0.05, help="video smoothing: One-Euro speed coefficient (default 0.05)")
    every = "video: look for subjects afresh every N frames; in between, crops follow the keypoints (default 10)"
    a("--detect-every", type=int, default=10, metavar="N", help=every)
    add_runtime_flags(p)
    return p


def options_from_args(args: argparse.Namespace) -> AnnotateOptions:
    """The arguments of :func:`build_parser` as options; ``--sample`` adds matplotlib's sample portrait.

    Raises:
        ValueError: the options do not go together (:class:`AnnotateOptions`).
    """
    inputs, out = list(args.inputs), args.out
    if args.sample:
        import matplotlib.cbook  # only for --sample: no need to import matplotlib for every run

        inputs.append(str(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
        if out is None:
            out = "outputs/grace_hopper.keypoints.png" if len(inputs) == 1 else "outputs"
    return AnnotateOptions(
        inputs=tuple(inputs), video=args.video, recursive=args.recursive, model=args.model, kind=args.kind,
        box=tuple(args.box), boxes=args.boxes, whole_image=args.whole_image, flip=args.flip, decoder=args.decoder,
        min_score=args.min_score, refine=args.refine, out=out, json=args.json, heatmaps=args.heatmaps,
        device=args.device, threads=args.threads, batch_size=args.batch_size, no_progress=args.no_progress,
        smooth=args.smooth, smooth_min_cutoff=args.smooth_min_cutoff, smooth_beta=args.smooth_beta,
        detect_every=args.detect_every,
        precision=args.precision, no_tune_cpu=args.no_tune_cpu,
    )  # fmt: skip


NOBODY_STATUS = 3
"""Exit status of a run that went well but found nobody in any input image."""


def run(options: AnnotateOptions) -> int:
    """Do what the options say; return the exit status (user errors raise, see :func:`main`)."""
    if options.threads is not None:
        torch.set_num_threads(options.threads)
    tune_cpu(enable=not options.no_tune_cpu)
    subjects = parse_subjects(options)
    if options.video:
        models = load_models(options)
        for note in models.notes:
            print(f"note: {note}", file=sys.stderr)
        print(process_video(models, subjects, options))
        return 0

    inputs, notes = expand_inputs(list(options.inputs), options.recursive)
    combined = plan_outputs(inputs, out=options.out, json=options.json, heatmaps=options.heatmaps)
    models = load_models(options)
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
            line, entry = process_image(item, models, subjects, options)
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
    return NOBODY_STATUS if entries and not any(e["subjects"] for e in entries) else 0


def _message(error: BaseException, label: str | None = None) -> str:
    """One line naming the input (when the message does not already)."""
    text = str(error.strerror if isinstance(error, OSError) and error.strerror and not str(error) else error)
    text = " ".join(text.split())
    if label and label not in text and (Path(label).name not in text):
        text = f"{label}: {text}"
    return text


def main(argv: list[str] | None = None, *, description: str | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``) into options, :func:`run`, and return the exit status.

    A user error (ValueError, TypeError, FileNotFoundError, DataError, OSError) prints one
    line ``error: ...`` on stderr and returns 2; Ctrl-C prints ``interrupted`` and returns 130.
    ``description`` is the usage text ``--help`` shows above the options.
    """
    args = build_parser(description).parse_args(argv)
    try:
        return run(options_from_args(args))
    except (ValueError, TypeError, FileNotFoundError, DataError, OSError) as e:
        print(f"error: {_message(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
