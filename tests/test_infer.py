"""tools/infer.py end to end: drawings, JSON, several inputs, user errors, heatmap overlays, videos.

The tool is a thin wrapper over :mod:`hourglass.annotate`; these tests run it in-process (its
``main(argv)``, which calls :func:`hourglass.annotate.cli.main`), so they also cover the
library's run, image and video processing end to end (its parts are tested on their own in
tests/test_annotate_*.py). Tiny random models are saved as checkpoints (the plumbing is
tested, not the accuracy); one subprocess run checks that a user error prints one line and
no traceback.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import REPO
from matplotlib import cbook

from hourglass.checkpoint import save_checkpoint
from hourglass.config import TrainConfig
from hourglass.keypoints import LSP, W300
from hourglass.models import build_model

PORTRAIT = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)  # 512 x 600
FACE_BOX = "154,104,222,222"  # about where the Haar detector finds the face

_spec = importlib.util.spec_from_file_location("infer_tool", REPO / "tools" / "infer.py")
infer = importlib.util.module_from_spec(_spec)  # tools/ is not a package: load the file itself
_spec.loader.exec_module(infer)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine two threads spin against other work."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_checkpoint(path, spec=W300, model_name: str = "hourglass1"):
    """A random-weight 64 px checkpoint for ``spec`` in the layout hourglass.weights.load_model reads."""
    torch.manual_seed(0)
    k = spec.num_keypoints
    if model_name.startswith("vgg"):
        model = build_model(model_name, num_keypoints=k, input_size=64, width=0.125)
        config = TrainConfig(model="vgg", vgg_width=0.125, input_size=64, dataset="300w")
    else:
        model = build_model(model_name, channels=16, num_keypoints=k, input_size=64)
        config = TrainConfig(model="hourglass", stacks=1, channels=16, input_size=64, dataset="300w")
    blob = {"model": model.state_dict(), "arch": model.arch, "spec": spec.to_dict(), "config": config.to_dict()}
    return save_checkpoint(blob, path)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    return str(write_checkpoint(tmp_path_factory.mktemp("models") / "tiny.pt"))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Each test runs in its own folder: drawings without --out go to ./outputs there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def photo(tmp_path):
    """The portrait copied into the test folder (its outputs go to ./outputs)."""
    path = tmp_path / "hopper.jpg"
    shutil.copy(PORTRAIT, path)
    return path


def cli(*argv, capsys):
    """Run the tool in-process; (exit status, stdout, stderr)."""
    status = infer.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def read_rgb(path):
    return cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def test_help_shows_the_usage_text_above_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        infer.main(["--help"])
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert infer.__doc__.strip().splitlines()[0] in out and "Exit status: 0 done" in out and "--whole-image" in out


def test_portrait_with_a_box(photo, ckpt, capsys):
    status, out, err = cli(photo, "--model", ckpt, "--box", FACE_BOX, capsys=capsys)
    assert status == 0, err
    drawing = Path("outputs") / "hopper.keypoints.png"
    assert re.fullmatch(
        rf"{re.escape(str(photo))}: 1 face \(tiny, 68 points, mean score -?\d+\.\d\d\) -> "
        rf"{re.escape(str(drawing))} \(\d+\.\d\d s\)\n",
        out,
    ), out
    original, drawn = read_rgb(photo), read_rgb(drawing)
    assert drawn.shape == original.shape == (600, 512, 3)
    changed = np.abs(drawn.astype(int) - original.astype(int)).sum(axis=2) > 30
    assert 200 < changed.sum() < 0.2 * changed.size  # a drawing, not a repaint


def test_json_holds_coco_keypoints_with_names(photo, ckpt, capsys):
    from hourglass.predictor import Predictor

    status, out, err = cli(photo, "--model", ckpt, "--box", FACE_BOX, "--box", "20,30,120,100", "--json", capsys=capsys)
    assert status == 0, err
    data = json.loads((Path("outputs") / "hopper.keypoints.json").read_text())
    assert {k: data[k] for k in ("image", "width", "height", "model")} == {
        "image": str(photo), "width": 512, "height": 600, "model": "tiny",
    }  # fmt: skip
    assert len(data["subjects"]) == 2
    first = data["subjects"][0]
    assert first["keypoint_names"] == list(W300.names) and len(first["keypoints"]) == 68 * 3
    assert first["bbox"] == [154, 104, 222, 222] and first["box_score"] == 1.0 and first["source"] == "boxes"
    assert first["image_id"] == "hopper.jpg" and first["model"] == "tiny" and first["kind"] == "face"
    ref = Predictor.from_checkpoint(ckpt)(PORTRAIT, [[154, 104, 222, 222], [20, 30, 120, 100]])
    for subject, kp, scores in zip(data["subjects"], ref.keypoints, ref.scores):
        triples = np.array(subject["keypoints"]).reshape(68, 3)
        np.testing.assert_allclose(triples[:, :2], kp, atol=2e-3)  # rounded to 3 decimals
        np.testing.assert_allclose(triples[:, 2], scores, atol=2e-3)
        assert subject["score"] == pytest.approx(scores.mean(), abs=1e-4)


def test_several_inputs_a_folder_and_a_glob(tmp_path, ckpt, capsys):
    folder = tmp_path / "shots"
    folder.mkdir()
    image = cv2.imread(PORTRAIT)
    cv2.imwrite(str(folder / "b.png"), cv2.resize(image, (256, 300)))
    cv2.imwrite(str(folder / "a.jpg"), image)
    cv2.imwrite(str(folder / "a.keypoints.png"), image)  # an earlier output: not an input
    (folder / "readme.txt").write_text("not an image")
    other = tmp_path / "other"
    other.mkdir()
    for name in ("x.jpg", "y.jpg"):
        cv2.imwrite(str(other / name), cv2.resize(image, (128, 150)))
    single = tmp_path / "single.jpg"
    shutil.copy(PORTRAIT, single)
    out = tmp_path / "results"
    status, stdout, err = cli(
        folder, f"{other}/*.jpg", single, "--model", ckpt, "--whole-image", "--out", out, "--json",
        "--heatmaps", capsys=capsys,
    )  # fmt: skip
    assert status == 0, err
    lines = stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [str(p) for p in (
        folder / "a.jpg", folder / "b.png", other / "x.jpg", other / "y.jpg", single)]  # fmt: skip
    assert all("1 face (tiny, 68 points, mean score" in line and "whole image" in line for line in lines)
    assert "left out 1 earlier output" in err
    for stem in ("a", "b", "x", "y", "single"):
        for suffix in (".keypoints.png", ".keypoints.json", ".heatmaps.png"):
            assert (out / f"{stem}{suffix}").is_file(), f"{stem}{suffix}"
    assert read_rgb(out / "b.keypoints.png").shape == (300, 256, 3)
    assert not (folder / "a.keypoints.keypoints.png").exists()


def test_recursive_folders_keep_their_layout_under_out(tmp_path, ckpt, capsys):
    small = cv2.resize(cv2.imread(PORTRAIT), (128, 150))
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("in/a.jpg", "in/sub/a.jpg"):
        cv2.imwrite(str(tmp_path / name), small)
    out = tmp_path / "out"
    status, stdout, err = cli(tmp_path / "in", "--model", ckpt, "--whole-image", capsys=capsys)
    assert status == 0 and len(stdout.splitlines()) == 1  # not recursive: in/a.jpg only
    status, stdout, err = cli(tmp_path / "in", "--recursive", "--model", ckpt, "--whole-image", "--out", out,
                              capsys=capsys)  # fmt: skip
    assert status == 0, err
    assert (out / "a.keypoints.png").is_file() and (out / "sub" / "a.keypoints.png").is_file()


def test_boxes_from_a_json_file(tmp_path, photo, ckpt, capsys):
    other = tmp_path / "other.jpg"
    shutil.copy(PORTRAIT, other)
    table = tmp_path / "boxes.json"
    table.write_text(json.dumps({"hopper.jpg": [[154, 104, 222, 222], [20, 30, 120, 100]], "absent.jpg": []}))
    status, out, err = cli(photo, other, "--model", ckpt, "--boxes", table, capsys=capsys)
    assert status == 0, err
    lines = out.splitlines()
    assert "2 faces (tiny, 68 points" in lines[0]
    assert "1 face (tiny, 68 points" in lines[1] and "not in boxes.json: detected" in lines[1]
    assert "note: 1 image(s) in boxes.json are not among the inputs: absent.jpg" in err


def test_one_json_file_for_several_inputs(tmp_path, ckpt, capsys):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    shutil.copy(PORTRAIT, a)
    shutil.copy(PORTRAIT, b)
    status, out, err = cli(a, b, "--model", ckpt, "--whole-image", "--json", tmp_path / "all.json", capsys=capsys)
    assert status == 0, err
    entries = json.loads((tmp_path / "all.json").read_text())
    assert [e["image"] for e in entries] == [str(a), str(b)]
    status, out, err = cli(a, "--model", ckpt, "--whole-image", "--json=" + str(tmp_path / "one.json"), capsys=capsys)
    assert status == 0 and json.loads((tmp_path / "one.json").read_text())["image"] == str(a)


def test_a_bad_input_among_good_ones(tmp_path, ckpt, capsys):
    good = [tmp_path / "one.jpg", tmp_path / "two.jpg"]
    for p in good:
        shutil.copy(PORTRAIT, p)
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    missing = tmp_path / "missing.jpg"
    status, out, err = cli(good[0], missing, text, good[1], "--model", ckpt, "--box", FACE_BOX, capsys=capsys)
    assert status == 1
    assert [(Path("outputs") / f"{p.stem}.keypoints.png").is_file() for p in good] == [True, True]
    errors = err.strip().splitlines()
    assert len(errors) == 3 and all(line.startswith("error: ") for line in errors)
    assert "missing.jpg does not exist" in errors[0] and "notes.jpg: not a readable image" in errors[1]
    assert errors[2] == "error: 2 of 4 inputs failed"
    assert len(out.splitlines()) == 2


def _bad_checkpoint(tmp_path):
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"PK\x03\x04 these bytes are not a torch file" * 10)
    return path


def _other_architecture(tmp_path):
    """A checkpoint whose weights (16 channels) do not fit its stored architecture (32 channels)."""
    model = build_model("hourglass1", channels=16, num_keypoints=68, input_size=64)
    arch = dict(model.arch, channels=32)
    config = TrainConfig(model="hourglass", stacks=1, channels=32, input_size=64, dataset="300w")
    blob = {"model": model.state_dict(), "arch": arch, "spec": W300.to_dict(), "config": config.to_dict()}
    return save_checkpoint(blob, tmp_path / "other.pt")


def _blank(tmp_path):
    path = tmp_path / "blank.png"
    cv2.imwrite(str(path), np.full((200, 300, 3), 128, np.uint8))
    return path


def _not_a_video(tmp_path):
    path = tmp_path / "broken.mp4"
    path.write_text("this is not a video")
    return path


def _text_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("plain text")
    return path


# case -> (argv from (tmp_path, photo, checkpoint), pattern the one error line must match)
ERRORS = {
    "missing file": (lambda t, p, c: [t / "nope.jpg", "--model", c], r"nope\.jpg does not exist"),
    "not an image": (lambda t, p, c: [_text_file(t), "--model", c], r"notes\.jpg: not a readable image"),
    "no subject found": (lambda t, p, c: [_blank(t), "--model", c], r"no face found .* --box x,y,w,h .*--whole-image"),
    "corrupt checkpoint": (lambda t, p, c: [p, "--model", _bad_checkpoint(t)], r"cannot read model file .*corrupt"),
    "other architecture": (lambda t, p, c: [p, "--model", _other_architecture(t)], r"do not fit the stored arch"),
    "unknown model name": (lambda t, p, c: [p, "--model", "no-such-model"], r"no model 'no-such-model'"),
    "bad box": (lambda t, p, c: [p, "--model", c, "--box", "10,20,30"], r"box '10,20,30': expected 'x,y,w,h'"),
    "box size": (lambda t, p, c: [p, "--model", c, "--box", "10,20,0,5"], r"width and height must be > 0"),
    "two subject options": (lambda t, p, c: [p, "--model", c, "--box", "1,2,3,4", "--whole-image"], r"only one of"),
    "video won't open": (lambda t, p, c: ["--video", _not_a_video(t), "--model", c], r"video .*broken\.mp4"),
    "missing video": (lambda t, p, c: ["--video", t / "none.mp4", "--model", c], r"none\.mp4 does not exist"),
    "video and images": (lambda t, p, c: [p, "--video", p, "--model", c], r"images or --video, not both"),
    "out file, several inputs": (lambda t, p, c: [p, _blank(t), "--model", c, "--out", t / "o.png"], r"give a folder"),
    "--json ate the input": (lambda t, p, c: ["--model", c, "--json", p], r"put --json after the inputs"),
    "overwrite the input": (lambda t, p, c: [p.with_suffix(".png"), "--model", c, "--out", p.with_suffix(".png")],
                            r"would overwrite the input"),
    "no input": (lambda t, p, c: ["--model", c], r"no input"),
    "boxes file": (lambda t, p, c: [p, "--model", c, "--boxes", t / "none.json"], r"box file .*none\.json does not"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ERRORS))
def test_user_errors_exit_2_with_one_line(case, tmp_path, photo, ckpt, capsys):
    make, pattern = ERRORS[case]
    if case == "overwrite the input":
        shutil.copy(photo, photo.with_suffix(".png"))
    status, out, err = cli(*make(tmp_path, photo, ckpt), capsys=capsys)
    assert status == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert re.search(pattern, lines[0]), lines[0]


def test_no_shipped_model_says_to_pass_model(tmp_path, photo, capsys, monkeypatch):
    monkeypatch.setenv("HOURGLASS_WEIGHTS", str(tmp_path / "empty"))
    status, out, err = cli(photo, capsys=capsys)
    assert status == 2 and err.startswith("error: no shipped model") and "pass --model" in err


def test_shipped_models_by_default(tmp_path, photo, capsys, monkeypatch):
    """Without --model: the face model on Haar faces; a missing body model is a note; whole image as fallback."""
    weights = tmp_path / "weights"
    write_checkpoint(weights / "300w-hg2.pt")
    monkeypatch.setenv("HOURGLASS_WEIGHTS", str(weights))
    status, out, err = cli(photo, capsys=capsys)
    assert status == 0, err
    assert "note: shipped person model lspet-hg4 is not in" in err and "people are skipped" in err
    assert out.startswith(f"{photo}: 1 face (300w-hg2, 68 points, mean score")
    status, out, err = cli(_blank(tmp_path), capsys=capsys)
    assert status == 0 and "1 face (300w-hg2, 68 points" in out and "whole image: no face detected" in out

    write_checkpoint(weights / "lspet-hg4.pt", spec=LSP)
    status, out, err = cli(_blank(tmp_path), "--json", capsys=capsys)
    assert status == 0, err
    assert "1 person (lspet-hg4, 14 points" in out and "whole image: no face or person detected" in out
    subject = json.loads((tmp_path / "outputs" / "blank.keypoints.json").read_text())["subjects"][0]
    assert subject["kind"] == "person" and subject["source"] == "whole-image" and len(subject["keypoints"]) == 42
    # given boxes go to the model of --kind
    status, out, err = cli(photo, "--box", FACE_BOX, "--kind", "person", capsys=capsys)
    assert status == 0 and "1 person (lspet-hg4" in out


def test_heatmap_overlay_picture(photo, ckpt, tmp_path, capsys):
    status, out, err = cli(photo, "--model", ckpt, "--box", FACE_BOX, "--heatmaps", capsys=capsys)
    assert status == 0, err
    overlay = read_rgb(Path("outputs") / "hopper.heatmaps.png")
    assert overlay.shape == (600, 512, 3)
    vgg = write_checkpoint(tmp_path / "vgg.pt", model_name="vgg16_gap")
    status, out, err = cli(photo, "--model", vgg, "--box", FACE_BOX, "--heatmaps", "--out", tmp_path / "v.png",
                           capsys=capsys)  # fmt: skip
    assert status == 0 and "regression, no scores" in out and "no heatmaps: vgg is a regression model" in out
    assert (tmp_path / "v.png").is_file() and not (tmp_path / "v.heatmaps.png").exists()


def test_a_regressor_has_no_keypoint_scores(photo, tmp_path, capsys):
    """No made-up 1.0: the JSON says null, --min-score says it does not apply and draws everything."""
    vgg = write_checkpoint(tmp_path / "vgg.pt", model_name="vgg16_gap")
    status, out, err = cli(photo, "--model", vgg, "--box", FACE_BOX, "--json", tmp_path / "v.json",
                           "--min-score", "0.5", "--out", tmp_path / "v.png", capsys=capsys)  # fmt: skip
    assert status == 0, err
    assert "note: vgg regresses coordinates and gives no keypoint confidence: --min-score does not apply" in err
    text = (tmp_path / "v.json").read_text()
    assert "NaN" not in text
    (subject,) = json.loads(text)["subjects"]
    assert subject["keypoints"][2::3] == [None] * 68 and subject["score"] is None
    assert np.isfinite(subject["keypoints"][0::3]).all()
    drawn = read_rgb(tmp_path / "v.png")
    status, *_ = cli(photo, "--model", vgg, "--box", FACE_BOX, "--out", tmp_path / "all.png", capsys=capsys)
    assert status == 0 and np.array_equal(drawn, read_rgb(tmp_path / "all.png"))


def face_clip(path, lefts):
    """A 160x120 mp4 at 10 fps of the portrait's face (100x118) with its left edge at ``lefts[i]`` in frame i."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    face = cv2.resize(cv2.imread(PORTRAIT), (100, 118))
    for left in lefts:
        frame = np.full((120, 160, 3), 40, np.uint8)
        frame[1:119, left : left + 100] = face
        writer.write(frame)
    writer.release()
    return path


def test_video(tmp_path, ckpt, capsys):
    src = face_clip(tmp_path / "clip.mp4", [5 + 5 * i for i in range(10)])  # moving to the right
    out = tmp_path / "out" / "clip.mp4"
    status, stdout, err = cli("--video", src, "--out", out, "--model", ckpt, "--box", "20,10,80,100", "--json",
                              "--no-progress", capsys=capsys)  # fmt: skip
    assert status == 0, err
    assert stdout.startswith(f"{src}: 10 frames, 10 faces in 10 frames (tiny)")
    cap = cv2.VideoCapture(str(out))
    frames = 0
    while cap.read()[0]:
        frames += 1
    size = (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    assert frames == 10 and size == (160, 120)
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["fps"] == pytest.approx(10.0) and (data["width"], data["height"]) == (160, 120)
    assert [f["frame"] for f in data["frames"]] == list(range(10))
    assert all(len(f["subjects"]) == 1 and len(f["subjects"][0]["keypoints"]) == 68 * 3 for f in data["frames"])


def test_subprocess_user_error_has_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "infer.py"), str(tmp_path / "absent.jpg"), "--model", "no-such-model"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("error: no model 'no-such-model'") and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""


def test_main_job_shipped_face_model_on_the_sample_portrait(tmp_path, capsys, monkeypatch):
    """The README's main job: the shipped face hourglass puts all 68 points on the detected face."""
    from hourglass.weights import resolve_weights

    monkeypatch.delenv("HOURGLASS_WEIGHTS", raising=False)
    try:
        resolve_weights("300w-hg2")
    except FileNotFoundError:
        pytest.skip("weights/300w-hg2.pt is not shipped in this checkout")
    out = tmp_path / "portrait.png"
    status, printed, err = cli("--sample", "--out", out, "--json", tmp_path / "p.json", capsys=capsys)
    assert status == 0, err
    assert "1 face (300w-hg2, 68 points" in printed and out.is_file()
    subject = json.loads((tmp_path / "p.json").read_text())["subjects"][0]
    pts = np.array(subject["keypoints"]).reshape(68, 3)[:, :2]
    x, y, w, h = subject["bbox"]
    # Haar boxes cut the chin off (calibration: the landmark box is ~15 % of the box lower), so
    # allow 15 % of the box side around it; every point must be on the face, none in the background
    margin = 0.15 * w
    assert np.all((pts[:, 0] > x - margin) & (pts[:, 0] < x + w + margin))
    assert np.all((pts[:, 1] > y - margin) & (pts[:, 1] < y + h + margin))
    eyes = pts[36:48].mean(axis=0)
    mouth = pts[48:68].mean(axis=0)
    assert eyes[1] < mouth[1] - 0.25 * h  # upright face: eyes well above the mouth


def test_video_keypoints_are_one_euro_smoothed_unless_asked_not_to(tmp_path, ckpt, capsys):
    from hourglass.annotate import AnnotateOptions
    from hourglass.smoothing import OneEuroFilter

    src = face_clip(tmp_path / "still.mp4", [20 + i % 2 for i in range(8)])  # a face shaking by one pixel
    tracks = {}
    for name, extra in (("raw", ["--no-smooth"]), ("smooth", ["--smooth-min-cutoff", "0.5", "--smooth-beta", "0"])):
        out = tmp_path / f"{name}.mp4"
        status, _, err = cli("--video", src, "--out", out, "--model", ckpt, "--box", "20,10,80,100", "--json",
                             "--no-progress", *extra, capsys=capsys)  # fmt: skip
        assert status == 0, err
        frames = json.loads(out.with_suffix(".json").read_text())["frames"]
        tracks[name] = np.array([np.reshape(f["subjects"][0]["keypoints"], (68, 3))[:, :2] for f in frames])
    f = OneEuroFilter(min_cutoff=0.5, beta=0.0)
    expected = np.stack([f(k, i / 10.0) for i, k in enumerate(tracks["raw"])])
    np.testing.assert_allclose(tracks["smooth"], expected, rtol=0, atol=2e-3)  # JSON keeps 4 decimals
    steps = {k: np.abs(np.diff(v, axis=0)).mean() for k, v in tracks.items()}
    assert steps["smooth"] < steps["raw"] / 2
    with pytest.raises(ValueError, match="--smooth-min-cutoff must be a positive number"):
        AnnotateOptions(video=str(src), smooth_min_cutoff=0)


def test_a_new_run_removes_the_earlier_runs_files_it_does_not_write(photo, ckpt, capsys):
    status, _, err = cli(photo, "--model", ckpt, "--box", FACE_BOX, "--json", "--heatmaps", capsys=capsys)
    assert status == 0, err
    out = Path("outputs")
    assert (out / "hopper.keypoints.json").is_file() and (out / "hopper.heatmaps.png").is_file()
    status, stdout, err = cli(photo, "--model", ckpt, "--box", FACE_BOX, capsys=capsys)  # no --json, no --heatmaps
    assert status == 0, err
    assert "removed outputs/hopper.keypoints.json, outputs/hopper.heatmaps.png of an earlier run" in stdout
    assert (out / "hopper.keypoints.png").is_file() and not (out / "hopper.keypoints.json").exists()
    assert not (out / "hopper.heatmaps.png").exists() and photo.parent == Path.cwd()  # nothing beside the input
    assert sorted(p.name for p in photo.parent.iterdir()) == ["hopper.jpg", "outputs"]


def test_nobody_here_draws_nothing_and_exits_3(tmp_path, capsys):
    """The shipped models' calibrated presence scores: a grey gradient holds nobody."""
    if not (REPO / "weights" / "300w-hg2.pt").is_file() or not (REPO / "weights" / "lspet-hg4.pt").is_file():
        pytest.skip("the shipped weights are not present")
    grey = tmp_path / "grey.png"
    cv2.imwrite(str(grey), np.tile(np.linspace(40, 220, 640)[None, :, None], (480, 1, 3)).astype(np.uint8))
    stale = Path("outputs") / "grey.keypoints.png"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"an earlier run's drawing")
    status, out, err = cli(grey, "--json", capsys=capsys)
    assert status == 3, err
    assert out.startswith(f"{grey}: nobody found (300w-hg2+lspet-hg4)") and "removed outputs/grey.keypoints.png" in out
    assert not stale.exists()  # no drawing of guesses, and none left from before
    assert json.loads((Path("outputs") / "grey.keypoints.json").read_text())["subjects"] == []
    # with a subject in another input the run is a normal success
    status, out, _ = cli(grey, PORTRAIT, capsys=capsys)
    assert status == 0 and "nobody found" in out and "1 face (300w-hg2" in out


def test_a_box_outside_the_image_is_an_error(photo, ckpt, capsys):
    status, out, err = cli(photo, "--model", ckpt, "--box", "600,10,50,50", capsys=capsys)
    assert status == 2
    assert "box 600,10,50,50 (x,y,w,h) lies outside the 512x600 image" in err
