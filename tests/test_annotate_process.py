"""hourglass.annotate.process: one image or one video through stand-in models, and what is written."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from test_annotate_subjects import fake_model

from hourglass.annotate.inputs import Input
from hourglass.annotate.options import AnnotateOptions
from hourglass.annotate.process import process_image, process_video, write_json
from hourglass.annotate.subjects import Models, Subjects


def options(**kw) -> AnnotateOptions:
    """Options of a run on one image (or on ``video=``), without a progress bar."""
    defaults = {"inputs": () if kw.get("video") else ("a.png",), "no_progress": True}
    return AnnotateOptions(**{**defaults, **kw})


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), np.full((120, 160, 3), 90, np.uint8))
    return path


def planned(path, json_path=None, heatmaps=None) -> Input:
    drawing = path.with_name(f"{path.stem}.keypoints.png")
    return Input(str(path), path, drawing=drawing, json=json_path, heatmaps=heatmaps)


def test_an_image_gets_its_drawing_json_and_summary(image):
    item = planned(image, image.with_suffix(".json"))
    line, entry = process_image(item, Models(fixed=fake_model("tiny", found=2)), Subjects(), options())
    assert line == f"{image}: 2 faces (tiny, 68 points, mean score 0.50) -> {item.drawing}, {item.json}"
    assert cv2.imread(str(item.drawing)).shape == (120, 160, 3)
    assert json.loads(item.json.read_text()) == entry
    assert {k: entry[k] for k in ("image", "width", "height", "model")} == {
        "image": str(image), "width": 160, "height": 120, "model": "tiny"
    }  # fmt: skip
    assert len(entry["subjects"]) == 2 and entry["subjects"][0]["image_id"] == "a.png"


def test_a_regression_model_writes_no_heatmaps(image):
    item = planned(image, heatmaps=image.with_name("a.heatmaps.png"))
    model = fake_model("vgg", found=1, model_kind="regression")
    line, _ = process_image(item, Models(fixed=model), Subjects(whole_image=True), options(heatmaps=True))
    assert line.endswith(f"-> {item.drawing} (no heatmaps: vgg is a regression model)")
    assert "whole image" in line and not item.heatmaps.exists()


def test_images_that_cannot_be_read(tmp_path):
    models, subjects = Models(fixed=fake_model()), Subjects()
    with pytest.raises(FileNotFoundError, match=r"no file matches"):
        process_image(Input("x*", error="no file matches 'x*'"), models, subjects, options())
    with pytest.raises(FileNotFoundError, match=r"gone\.png does not exist"):
        process_image(planned(tmp_path / "gone.png"), models, subjects, options())
    clip = tmp_path / "clip.mp4"
    clip.write_text("not an image")
    with pytest.raises(ValueError, match=r"clip\.mp4 is a video; process it with --video"):
        process_image(planned(clip), models, subjects, options())


def test_write_json_leaves_no_temporary_file(tmp_path):
    write_json(tmp_path / "sub" / "x.json", {"a": [1, 2]})
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["x.json"]
    assert (tmp_path / "sub" / "x.json").read_text() == '{"a": [1, 2]}\n'


def test_a_video_frame_by_frame(tmp_path):
    src = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(src), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (64, 48))
    for i in range(4):
        writer.write(np.full((48, 64, 3), 40 * i, np.uint8))
    writer.release()
    models = Models(fixed=fake_model("tiny", found=1))
    line = process_video(models, Subjects(), options(video=str(src), json=True))
    out = tmp_path / "clip.keypoints.mp4"
    assert line == f"{src}: 4 frames, 4 faces in 4 frames (tiny), mean score 0.50 -> {out}, {out.with_suffix('.json')}"
    data = json.loads(out.with_suffix(".json").read_text())
    assert (data["width"], data["height"], data["fps"], data["model"]) == (64, 48, 5.0, "tiny")
    assert [(f["frame"], f["time"], len(f["subjects"])) for f in data["frames"]] == [
        (0, 0.0, 1), (1, 0.2, 1), (2, 0.4, 1), (3, 0.6, 1),
    ]  # fmt: skip
    with pytest.raises(ValueError, match=r"would overwrite the input video"):
        process_video(models, Subjects(), options(video=str(src), out=str(src)))
    with pytest.raises(ValueError, match=r"must be \.mp4, \.mov or \.avi"):
        process_video(models, Subjects(), options(video=str(src), out=str(tmp_path / "o.webm")))


def _clip(path, frames=7):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, (64, 48))
    for i in range(frames):
        writer.write(np.full((48, 64, 3), 30 * i, np.uint8))
    writer.release()
    return path


def test_video_subjects_follow_their_keypoints_between_detections(tmp_path):
    """--detect-every 3: frames 0, 3 and 6 look afresh, the others crop from the previous keypoints."""
    src = _clip(tmp_path / "clip.avi")
    model = fake_model("tiny", found=1, spread=5.0)
    line = process_video(Models(fixed=model), Subjects(), options(video=str(src), json=True, detect_every=3))
    assert model.predictor.calls == ["detector:test", "boxes", "boxes"] * 2 + ["detector:test"]
    frames = json.loads((tmp_path / "clip.keypoints.json").read_text())["frames"]
    assert [f["subjects"][0].get("note") for f in frames] == [None, "tracked", "tracked"] * 2 + [None]
    assert "7 faces in 7 frames (tiny)" in line
    model = fake_model("tiny", found=1, spread=5.0)
    process_video(Models(fixed=model), Subjects(), options(video=str(src), detect_every=1))
    assert model.predictor.calls == ["detector:test"] * 7  # every frame afresh
    model = fake_model("tiny", found=1)  # keypoints all at one point: nothing to follow, each frame afresh
    process_video(Models(fixed=model), Subjects(), options(video=str(src), detect_every=3))
    assert model.predictor.calls == ["detector:test"] * 7


def test_video_looks_afresh_when_a_followed_subject_fades(tmp_path):
    """A followed subject under its model's presence threshold: the frame looks afresh."""
    src = _clip(tmp_path / "clip.avi")
    model = fake_model("tiny", found=1, threshold=0.6, spread=5.0)  # the fake's presence is 0.5
    process_video(Models(fixed=model), Subjects(), options(video=str(src), detect_every=10))
    assert model.predictor.calls == ["detector:test"] + ["boxes", "detector:test"] * 6
    with pytest.raises(ValueError, match="--detect-every must be a whole number"):
        options(video=str(src), detect_every=0)
