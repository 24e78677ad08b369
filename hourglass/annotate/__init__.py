"""Keypoints on a user's own images and videos: drawings, summary lines, JSON.

This is the library behind ``tools/infer.py`` (whose docstring, shown by ``--help``, is the
user's manual); the tool only calls :func:`main`. A run reads its inputs, plans every output
path before the first model loads, loads the models, then processes each input in turn:

- :mod:`hourglass.annotate.options`: what the run is asked to do, one frozen
  :class:`AnnotateOptions` built from the command line and read by every step below.
- :mod:`hourglass.annotate.inputs`: files, folders and glob patterns to :class:`Input` s,
  and the drawing / JSON / heatmap paths of each (:func:`expand_inputs`, :func:`plan_outputs`).
- :mod:`hourglass.annotate.subjects`: the model given, or the shipped face and body models,
  and which of them sees which subject (:func:`load_models`, :func:`predict`), given boxes
  (:func:`parse_subjects`), the summary text and JSON subjects (:func:`describe`,
  :func:`subjects_json`).
- :mod:`hourglass.annotate.process`: one image or one video end to end
  (:func:`process_image`, :func:`process_video`).
- :mod:`hourglass.annotate.cli`: the command line, its options object, the run and its exit
  status (:func:`build_parser`, :func:`options_from_args`, :func:`run`, :func:`main`).

Coordinates follow the library's pixel convention (:mod:`hourglass.geometry`) and boxes its
box convention (:mod:`hourglass.boxes`), both in the upright image (EXIF orientation applied).
User errors raise ``ValueError`` / ``FileNotFoundError`` / :class:`hourglass.data.DataError`
with a message naming the input; :func:`main` prints each as one ``error: ...`` line.
"""

from __future__ import annotations

from hourglass.annotate.cli import build_parser, main, options_from_args, run
from hourglass.annotate.inputs import Input, expand_inputs, json_target, plan_outputs
from hourglass.annotate.options import AnnotateOptions
from hourglass.annotate.process import process_image, process_video
from hourglass.annotate.subjects import (
    Model,
    Models,
    Result,
    Subjects,
    describe,
    load_models,
    parse_subjects,
    predict,
    subjects_json,
)

__all__ = [
    "AnnotateOptions",
    "Input",
    "Model",
    "Models",
    "Result",
    "Subjects",
    "build_parser",
    "describe",
    "expand_inputs",
    "json_target",
    "load_models",
    "main",
    "options_from_args",
    "parse_subjects",
    "plan_outputs",
    "predict",
    "process_image",
    "process_video",
    "run",
    "subjects_json",
]
