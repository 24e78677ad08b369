"""hourglass.annotate.options and its construction from the command line (hourglass.annotate.cli)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from hourglass.annotate.cli import build_parser, options_from_args
from hourglass.annotate.options import AnnotateOptions


def test_options_are_frozen():
    options = AnnotateOptions(inputs=["a.jpg"], box=["1,2,3,4"])
    assert options.inputs == ("a.jpg",) and options.box == ("1,2,3,4",)  # lists kept as tuples
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.out = "elsewhere"  # type: ignore[misc]


def test_every_option_of_the_command_line_is_a_field():
    args = build_parser().parse_args(["a.jpg", "--box", "1,2,3,4", "--json", "--threads", "2"])
    options = options_from_args(args)
    assert {f.name for f in dataclasses.fields(AnnotateOptions)} == set(vars(args)) - {"sample"}
    assert (options.inputs, options.box, options.json, options.threads) == (("a.jpg",), ("1,2,3,4",), True, 2)
    assert options == AnnotateOptions(inputs=("a.jpg",), box=("1,2,3,4",), json=True, threads=2)


def test_sample_becomes_an_input_with_a_default_out():
    options = options_from_args(build_parser().parse_args(["--sample"]))
    assert len(options.inputs) == 1 and options.inputs[0].endswith("grace_hopper.jpg")
    assert options.out == "outputs/grace_hopper.keypoints.png"
    options = options_from_args(build_parser().parse_args(["a.jpg", "--sample"]))
    assert len(options.inputs) == 2 and options.out == "outputs"


@pytest.mark.parametrize(
    "kw, error, pattern",
    [
        ({"threads": 0}, ValueError, r"--threads must be >= 1, got 0"),
        ({"min_score": math.nan}, ValueError, r"--min-score must be a finite number, got nan"),
        ({"json": "b.jpg"}, ValueError, r"--json took 'b\.jpg' as the path of its output; put --json after the inputs"),
        ({"video": "clip.mp4"}, ValueError, r"give images or --video, not both \(got 1 image argument\(s\) too\)"),
        ({"inputs": ()}, ValueError, r"no input: give image files"),
        ({"inputs": (), "video": "c.mp4", "heatmaps": True}, ValueError, r"--heatmaps is for images"),
        ({"inputs": (), "video": "c.mp4", "boxes": "b.json"}, ValueError, r"--boxes names images"),
        ({"kind": "cat"}, ValueError, r"--kind must be one of face, person, got 'cat'"),
        ({"decoder": "best"}, ValueError, r"--decoder must be one of argmax, .*, got 'best'"),
        ({"inputs": "a.jpg"}, TypeError, r"inputs must be a sequence of strings, not one string 'a\.jpg'"),
    ],
)
def test_bad_options_are_refused(kw, error, pattern):
    with pytest.raises(error, match=pattern):
        AnnotateOptions(**{"inputs": ("a.jpg",), **kw})
