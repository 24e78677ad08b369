"""hourglass.annotate.subjects: which model sees which subject, given boxes, summary and JSON.

Stand-in predictors (no network) find a set number of subjects, so the routing rules are
tested on their own; tests/test_infer.py runs real (tiny) models through the tool.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from hourglass.annotate.options import AnnotateOptions
from hourglass.annotate.subjects import (
    Model,
    Models,
    Result,
    describe,
    load_models,
    parse_subjects,
    predict,
    subjects_json,
)
from hourglass.keypoints import LSP, W300
from hourglass.predictor import Prediction

RGB = np.zeros((120, 160, 3), np.uint8)


class FakePredictor:
    """Finds ``found`` subjects when it detects, one per given box, the image when told; keypoints at box centres."""

    def __init__(self, spec, found: int = 1, kind: str = "heatmap", score: float = 0.5, threshold=None, spread=0.0):
        self.spec, self.found, self.score, self.spread = spec, found, score, spread
        self.loaded = SimpleNamespace(output_kind=kind)
        self.presence_threshold = threshold  # None: uncalibrated (a run folder); a number: calibrated
        self.calls: list[str] = []

    def __call__(self, rgb, boxes=None, *, whole_image=False, return_heatmaps=False):
        h, w = rgb.shape[:2]
        if whole_image:
            b, source = np.array([[-0.5, -0.5, w, h]]), "whole-image"
        elif boxes is not None:
            b, source = np.asarray(boxes, np.float64).reshape(-1, 4), "boxes"
        else:
            b, source = np.tile([[10.0, 20.0, 40.0, 50.0]], (self.found, 1)), "detector:test"
        self.calls.append(source)
        n, k = len(b), self.spec.num_keypoints
        centres = b[:, :2] + b[:, 2:] / 2  # (N, 2)
        return Prediction(
            keypoints=np.repeat(centres[:, None], k, axis=1) + self.spread * np.linspace(-1, 1, k)[:, None],
            scores=np.full((n, k), self.score), boxes=b,
            box_scores=np.ones(n), center=centres, scale=b[:, 3] / 200, source=source, spec=self.spec,
            image_size=(w, h), presence=np.full(n, self.score), origins=(source,) * n,
        )  # fmt: skip


def fake_model(name="300w-hg2", kind="face", found=1, model_kind="heatmap", threshold=None, spread=0.0) -> Model:
    spec = W300 if kind == "face" else LSP
    return Model(FakePredictor(spec, found, model_kind, threshold=threshold, spread=spread), name, kind)


def subject_options(**kw) -> AnnotateOptions:
    return AnnotateOptions(inputs=("a.jpg",), **kw)


def test_one_model_sees_every_subject():
    model = fake_model("tiny", found=2)
    (res,) = predict(Models(fixed=model), RGB)
    assert res.model is model and len(res.prediction) == 2 and res.note == ""
    (res,) = predict(Models(fixed=model), RGB, whole_image=True)
    assert res.prediction.source == "whole-image" and res.note == "whole image"
    (res,) = predict(Models(fixed=model), RGB, boxes=np.array([[1.0, 2, 30, 40]]), note="from the file")
    assert res.prediction.source == "boxes" and res.note == "from the file"


def test_one_model_finding_nobody_is_an_error_for_images_only():
    models = Models(fixed=fake_model("tiny", kind="person", found=0))
    with pytest.raises(ValueError, match=r"no person found by the HOG people detector; give the subject with --box"):
        predict(models, RGB)
    (res,) = predict(models, RGB, require=False)  # a video frame with nobody in it
    assert len(res.prediction) == 0


def test_shipped_models_each_on_their_own_detections():
    face, person = fake_model(found=1), fake_model("lspet-hg2", "person", found=2)
    results = predict(Models(face=face, person=person), RGB)
    assert [(r.model.name, len(r.prediction)) for r in results] == [("300w-hg2", 1), ("lspet-hg2", 2)]
    face.predictor.found = 0
    results = predict(Models(face=face, person=person), RGB)
    assert [(r.model.name, len(r.prediction)) for r in results] == [("lspet-hg2", 2)]


@pytest.mark.parametrize(
    "shipped, used, note",
    [(("face", "person"), "lspet-hg2", "whole image: no face or person detected"),
     (("face",), "300w-hg2", "whole image: no face detected")],
)  # fmt: skip
def test_nobody_detected_takes_the_whole_image(shipped, used, note):
    models = Models(
        face=fake_model(found=0) if "face" in shipped else None,
        person=fake_model("lspet-hg2", "person", found=0) if "person" in shipped else None,
    )
    (res,) = predict(models, RGB)
    assert res.model.name == used and res.note == note and res.prediction.source == "whole-image"


def test_calibrated_models_finding_nobody_say_so_instead_of_guessing():
    """With presence thresholds the models have looked at the whole image already: nobody is an answer."""
    models = Models(face=fake_model(found=0, threshold=0.5), person=fake_model("lspet-hg2", "person", found=0,
                                                                                threshold=0.3))  # fmt: skip
    assert predict(models, RGB) == []
    assert "whole-image" not in models.person.predictor.calls
    assert predict(Models(fixed=fake_model("tiny", found=0, threshold=0.5)), RGB) == []  # not an error either
    # one uncalibrated model keeps the old fallback for both
    models.person.predictor.presence_threshold = None
    (res,) = predict(models, RGB)
    assert res.prediction.source == "whole-image"


def test_given_boxes_go_to_the_model_of_kind():
    models = Models(face=fake_model(), person=fake_model("lspet-hg2", "person"))
    (res,) = predict(models, RGB, boxes=np.array([[1.0, 2, 30, 40]]), kind="person")
    assert res.model.name == "lspet-hg2" and models.face.predictor.calls == []
    (res,) = predict(models, RGB, whole_image=True)
    assert res.model.name == "300w-hg2"
    assert models.label == "300w-hg2+lspet-hg2"


def test_parse_subjects_reads_boxes_and_a_boxes_file(tmp_path):
    subjects = parse_subjects(subject_options(box=["1,2,30,40", "5,6,7,8"], model="tiny"))
    assert subjects.boxes.shape == (2, 4) and subjects.for_image(tmp_path / "a.jpg")[1] == ""
    table = tmp_path / "boxes.json"
    table.write_text(json.dumps({"a.jpg": [[1, 2, 30, 40]]}))
    subjects = parse_subjects(subject_options(boxes=str(table), kind="person"))
    boxes, note = subjects.for_image(tmp_path / "a.jpg")
    assert boxes.tolist() == [[1, 2, 30, 40]] and note == "" and subjects.kind == "person"
    assert subjects.for_image(tmp_path / "b.jpg") == (None, "not in boxes.json: detected")


@pytest.mark.parametrize(
    "kw, pattern",
    [
        ({"box": ["1,2,3,4"], "whole_image": True}, r"only one of --box, --boxes and --whole-image, got --box and"),
        ({"kind": "face", "model": "tiny", "whole_image": True}, r"with --model the model decides"),
        ({"kind": "person"}, r"add --box, --boxes or --whole-image"),
        ({"box": ["1,2,3"]}, r"expected 'x,y,w,h'"),
    ],
)
def test_parse_subjects_refuses(kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        parse_subjects(subject_options(**kw))


def test_no_shipped_model_says_to_pass_model(tmp_path, monkeypatch):
    monkeypatch.setenv("HOURGLASS_WEIGHTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"no shipped model in .*pass --model"):
        load_models(AnnotateOptions(inputs=("a.jpg",)))


def test_describe_and_json():
    face = fake_model("tiny", found=2)
    vgg = fake_model("vgg", "person", found=1, model_kind="regression")
    results = [Result(face, face.predictor(RGB)), Result(vgg, vgg.predictor(RGB), "whole image")]
    assert describe(results) == (
        "2 faces (tiny, 68 points, mean score 0.50), 1 person (vgg, 14 points, regression, no scores; whole image)"
    )
    empty = fake_model("tiny", found=0)
    assert describe([Result(empty, empty.predictor(RGB))]) == "0 faces (tiny, 68 points, no scores)"
    assert describe([]) == "no subjects"
    entries = subjects_json(results, "a.jpg")
    assert [(e["model"], e["kind"], e["source"], e.get("note")) for e in entries] == [
        ("tiny", "face", "detector:test", None), ("tiny", "face", "detector:test", None),
        ("vgg", "person", "detector:test", "whole image"),
    ]  # fmt: skip
    assert entries[2]["keypoint_names"] == list(LSP.names) and len(entries[2]["keypoints"]) == 14 * 3
    assert all(e["image_id"] == "a.jpg" for e in entries)


def _subjects(spec, boxes, in_view=None) -> Prediction:
    """One subject per box (x0, y0, x1, y1) whose keypoints span it, corner to corner."""
    k = spec.num_keypoints
    t = np.linspace(0, 1, k)[:, None]
    kps = np.stack([np.asarray(b[:2], float) + t * (np.asarray(b[2:], float) - b[:2]) for b in boxes])
    n = len(boxes)
    return Prediction(
        keypoints=kps, scores=np.full((n, k), 0.5), boxes=np.zeros((n, 4)), box_scores=np.ones(n),
        center=kps.mean(axis=1), scale=np.ones(n), source="candidates", spec=spec, image_size=(400, 400),
        presence=np.full(n, 0.5), origins=("whole-image",) * n, in_view=in_view,
    )  # fmt: skip


def test_a_person_no_bigger_than_a_face_around_it_is_dropped():
    """A skeleton inside a face's box and under BODY_FACE_RATIO of its side is the face taken for a
    person; a head and shoulders around the face, a small person elsewhere, stay."""
    from hourglass.annotate.subjects import BODY_FACE_RATIO, people_larger_than_faces

    faces = _subjects(W300, [(100, 100, 200, 200)])  # a 100-px face
    people = _subjects(LSP, [
        (110, 110, 190, 210),  # squeezed onto the face: 100 px, centre in the face
        (20, 60, 280, 390),  # head and shoulders around the face: 330 px
        (300, 300, 340, 380),  # a small person away from the face
        (150 - 0.99 * BODY_FACE_RATIO * 50, 100, 150 + 0.99 * BODY_FACE_RATIO * 50, 200),  # just under the ratio
        (150 - 1.01 * BODY_FACE_RATIO * 50, 100, 150 + 1.01 * BODY_FACE_RATIO * 50, 200),  # just over
    ])  # fmt: skip
    assert people_larger_than_faces(people, faces).tolist() == [1, 2, 4]
    # only the joints in view count: legs far below, out of view, leave a face-sized body
    big = _subjects(LSP, [(110, 110, 190, 390)])
    in_view = np.zeros((1, LSP.num_keypoints), bool)
    in_view[0, : LSP.num_keypoints // 3] = True  # the first third: y from 110 to about 175
    assert people_larger_than_faces(big, faces).tolist() == [0]
    import dataclasses

    assert people_larger_than_faces(dataclasses.replace(big, in_view=in_view), faces).tolist() == []
    assert people_larger_than_faces(people, _subjects(W300, [(350, 0, 360, 10)])).tolist() == [0, 1, 2, 3, 4]


def test_default_pipeline_drops_people_inside_faces():
    """predict with both shipped models: the body model's face-sized subject inside the face is dropped."""
    face = fake_model("300w-hg2", "face", threshold=0.3, spread=20.0)  # keypoints span 40 x 40 px
    person = fake_model("lspet-hg4", "person", threshold=0.3, spread=10.0)  # 20 px, on the face
    results = predict(Models(face=face, person=person), RGB)
    assert [r.model.kind for r in results] == ["face"]
    wide = fake_model("lspet-hg4", "person", threshold=0.3, spread=60.0)  # 120 px around the face
    results = predict(Models(face=fake_model("300w-hg2", "face", threshold=0.3, spread=20.0), person=wide), RGB)
    assert [r.model.kind for r in results] == ["face", "person"]
