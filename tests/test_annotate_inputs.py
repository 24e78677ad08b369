"""hourglass.annotate.inputs: expanding files, folders and globs; planning the output paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from hourglass.annotate.inputs import Input, expand_inputs, json_target, plan_outputs


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # expansion looks at names only; nothing is read
    return path


def outputs(out=None, json=None, heatmaps=False) -> dict:
    """The keyword arguments of plan_outputs, as the run's options hold them (``out`` a string)."""
    return {"out": None if out is None else str(out), "json": json, "heatmaps": heatmaps}


def planned(tmp_path, names, **kw):
    inputs = [Input(str(tmp_path / n), tmp_path / n) for n in names]
    combined = plan_outputs(inputs, **outputs(**kw))
    return inputs, combined


def test_a_folder_gives_its_images_sorted_without_earlier_outputs(tmp_path):
    for name in ("b.png", "a.JPG", "a.keypoints.png", "a.heatmaps.png", "notes.txt", "sub/c.jpg"):
        touch(tmp_path / "in" / name)
    inputs, notes = expand_inputs([str(tmp_path / "in")])
    assert [i.path.name for i in inputs] == ["a.JPG", "b.png"]
    assert all(i.error is None and i.folder == Path() for i in inputs)
    assert notes == [f"{tmp_path / 'in'}: left out 2 earlier output(s) (*.keypoints.*, *.heatmaps.*)"]


def test_recursive_folders_keep_the_sub_folder(tmp_path):
    for name in ("a.jpg", "sub/deeper/a.jpg"):
        touch(tmp_path / "in" / name)
    inputs, _ = expand_inputs([str(tmp_path / "in")], recursive=True)
    assert [(str(i.folder), i.path.name) for i in inputs] == [(".", "a.jpg"), ("sub/deeper", "a.jpg")]


def test_globs_files_and_repeats_in_order(tmp_path):
    for name in ("x.jpg", "y.jpg", "z.png"):
        touch(tmp_path / name)
    inputs, notes = expand_inputs([str(tmp_path / "z.png"), str(tmp_path / "*.jpg"), str(tmp_path / "x.jpg")])
    assert [i.path.name for i in inputs] == ["z.png", "x.jpg", "y.jpg"] and notes == []


def test_arguments_that_name_nothing_carry_their_error(tmp_path):
    (tmp_path / "empty").mkdir()
    missing = str(tmp_path / "missing.jpg")
    inputs, _ = expand_inputs([missing, str(tmp_path / "no*.jpg"), str(tmp_path / "empty")])
    assert inputs[0].path == Path(missing) and inputs[0].error is None  # reported when it is read
    assert inputs[1].path is None and inputs[1].error == f"no file matches {str(tmp_path / 'no*.jpg')!r}"
    assert inputs[2].error.startswith(f"{tmp_path / 'empty'}: no image files (.jpg, .jpeg")


def test_json_target():
    assert json_target(None, "inputs") is None and json_target(True, "inputs") is None
    assert json_target("out/all.json", "inputs") == Path("out/all.json")
    assert json_target("results", "video") == Path("results")
    with pytest.raises(ValueError, match=r"--json took 'clip\.MP4' .* put --json after the video"):
        json_target("clip.MP4", "video")


def test_outputs_go_to_the_outputs_folder_not_beside_the_image(tmp_path):
    (item,), combined = planned(tmp_path, ["photo.jpg"], json=True, heatmaps=True)
    out = Path("outputs")
    assert combined is None and item.stale == ()
    assert (item.drawing, item.json, item.heatmaps) == (
        out / "photo.keypoints.png", out / "photo.keypoints.json", out / "photo.heatmaps.png",
    )  # fmt: skip
    (item,), _ = planned(tmp_path, ["photo.jpg"])
    assert item.drawing == out / "photo.keypoints.png" and item.json is None and item.heatmaps is None
    # what an earlier run with --json --heatmaps left there no longer matches the new drawing
    assert item.stale == (out / "photo.keypoints.json", out / "photo.heatmaps.png")


def test_out_file_names_the_drawing_and_the_others_follow(tmp_path):
    out = tmp_path / "r" / "result.png"
    (item,), _ = planned(tmp_path, ["photo.jpg"], out=out, json=True, heatmaps=True)
    assert (item.drawing, item.json, item.heatmaps) == (out, out.with_suffix(".json"), out.with_suffix(".heatmaps.png"))


def test_out_and_json_folders_keep_the_sub_folders(tmp_path):
    inputs = [Input("a", tmp_path / "a.jpg"), Input("b", tmp_path / "s" / "a.jpg", folder=Path("s"))]
    assert plan_outputs(inputs, **outputs(out=tmp_path / "o", json=str(tmp_path / "j"))) is None
    assert [i.drawing for i in inputs] == [tmp_path / "o" / "a.keypoints.png", tmp_path / "o" / "s" / "a.keypoints.png"]
    assert [i.json for i in inputs] == [tmp_path / "j" / "a.keypoints.json", tmp_path / "j" / "s" / "a.keypoints.json"]


def test_one_combined_json_file(tmp_path):
    inputs, combined = planned(tmp_path, ["a.jpg", "b.jpg"], json=str(tmp_path / "all.json"))
    assert combined == tmp_path / "all.json" and all(i.json is None for i in inputs)


@pytest.mark.parametrize(
    "names, kw, pattern",
    [
        (["a.jpg", "b.jpg"], {"out": "one.png"}, r"names one image file but there are 2 inputs; give a folder"),
        (["a.jpg"], {"out": "clip.mp4"}, r"names a video; process a video with --video"),
        (["a.jpg", "a.png"], {}, r"a\.jpg and .*a\.png would both write .*a\.keypoints\.png"),
        (["outputs/a.keypoints.png", "a.jpg"], {}, r"a\.jpg: its output .* would overwrite the input"),
    ],
)
def test_plans_that_cannot_work_are_refused(tmp_path, monkeypatch, names, kw, pattern):
    monkeypatch.chdir(tmp_path)  # the default outputs/ folder is there
    with pytest.raises(ValueError, match=pattern):
        planned(tmp_path, names, **kw)


def test_inputs_with_an_error_get_no_outputs(tmp_path):
    bad = Input("nothing*", error="no file matches 'nothing*'")
    plan_outputs([bad], **outputs(json=True))
    assert bad.drawing is None and bad.json is None


def test_stale_files_are_only_tagged_outputs_in_output_folders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (item,), _ = planned(tmp_path, ["photo.jpg"], out=tmp_path / "r" / "labels.png")
    assert item.stale == ()  # --out FILE: result.json beside it may be the user's
    out = Path("outputs")
    (item,), _ = planned(tmp_path, ["photo.jpg"], json=str(tmp_path / "outputs"))
    assert item.stale == (out / "photo.heatmaps.png",)  # the JSON it writes, named absolutely, is kept
    inputs = [Input("photo.jpg", tmp_path / "photo.jpg"), Input("h", tmp_path / "outputs" / "photo.heatmaps.png")]
    plan_outputs(inputs, **outputs())
    assert inputs[0].stale == (out / "photo.keypoints.json",)  # an input is never removed
