"""hourglass.predictor: every input form, boxes, batching, flip, regression, EXIF, training crops.

Tiny random models (hourglass 1 stack, 16 channels, 64 px input; VGG width 1/8) saved as
checkpoints in the layout :func:`hourglass.weights.load_model` reads: the plumbing is tested,
not the accuracy. The one accuracy check needs the shipped ``weights/300w-hg2.pt`` and skips
without it.
"""

from __future__ import annotations

import json
import struct

import cv2
import numpy as np
import pytest
import torch
from matplotlib import cbook

from hourglass.checkpoint import save_checkpoint
from hourglass.config import TrainConfig
from hourglass.data import DataError, KeypointDataset, PipelineConfig, TopDownPipeline
from hourglass.data.io import read_image
from hourglass.geometry import reduce_factor
from hourglass.keypoints import W300
from hourglass.models import build_model
from hourglass.predictor import Predictor, as_rgb_image

PORTRAIT = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)  # 512 x 600 RGB JPEG
BOXES = np.array([[150.0, 100.0, 220.0, 230.0], [10.0, 20.0, 100.0, 80.0], [300.0, 300.0, 150.0, 200.0]])


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One torch thread: on a shared 2-core machine two threads spin against other work (80x slower)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def write_checkpoint(path, model_name: str = "hourglass1", input_size: int = 64, **arch):
    """A random-weight checkpoint of a 68-point face model (non-trivial BatchNorm statistics)."""
    torch.manual_seed(0)
    if model_name.startswith("vgg"):
        model = build_model(model_name, num_keypoints=68, input_size=input_size, width=0.125, **arch)
        config = TrainConfig(model="vgg", vgg_width=0.125, input_size=input_size, dataset="300w")
    else:
        model = build_model(model_name, channels=16, num_keypoints=68, input_size=input_size, **arch)
        config = TrainConfig(model="hourglass", stacks=1, channels=16, input_size=input_size, dataset="300w")
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    blob = {"model": model.state_dict(), "arch": model.arch, "spec": W300.to_dict(), "config": config.to_dict()}
    return save_checkpoint(blob, path)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return write_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt")


@pytest.fixture(scope="module")
def predictor(checkpoint):
    """One pass from the given crop: these tests check the crop mechanics (refinement: below)."""
    return Predictor.from_checkpoint(checkpoint, refine=0)


@pytest.fixture(scope="module")
def portrait():
    return read_image(PORTRAIT)


def test_every_input_form_gives_the_same_keypoints(predictor, portrait):
    ref = predictor(PORTRAIT, BOXES[:1])
    assert ref.keypoints.shape == (1, 68, 2) and ref.scores.shape == (1, 68)
    assert ref.image_size == (512, 600) and ref.source == "boxes"
    bgr = cv2.cvtColor(portrait, cv2.COLOR_RGB2BGR)
    chw = torch.from_numpy(portrait).permute(2, 0, 1).contiguous()  # (3, H, W) uint8
    forms = {
        "rgb array": predictor(portrait, BOXES[:1]),
        "bgr array": predictor(bgr, BOXES[:1], channels="bgr"),
        "uint8 tensor (3, H, W)": predictor(chw, BOXES[:1]),
        "float tensor (3, H, W)": predictor(chw.float() / 255, BOXES[:1]),
        "rgba array": predictor(np.dstack([portrait, np.full(portrait.shape[:2], 255, np.uint8)]), BOXES[:1]),
    }
    for name, pred in forms.items():
        np.testing.assert_array_equal(pred.keypoints, ref.keypoints, err_msg=name)
        np.testing.assert_array_equal(pred.scores, ref.scores, err_msg=name)
    # a BGR array read as RGB is a different image: the channel order matters
    assert not np.array_equal(predictor(bgr, BOXES[:1]).keypoints, ref.keypoints)


def test_detector_finds_the_portrait_face(predictor):
    pred = predictor(PORTRAIT)
    assert pred.source == "detector:face" and len(pred) == 1
    x, y, w, h = pred.boxes[0]
    assert 100 < x + w / 2 < 400 and 100 < y + h / 2 < 350 and 150 < w < 300  # the face, not the flag
    assert np.isfinite(pred.keypoints).all()


def test_whole_image_and_boxes(predictor, portrait):
    whole = predictor(portrait, whole_image=True)
    assert whole.source == "whole-image" and whole.box_scores.tolist() == [1.0]
    np.testing.assert_array_equal(whole.boxes, [[-0.5, -0.5, 512, 600]])
    as_box = predictor(portrait, [[-0.5, -0.5, 512, 600]])
    np.testing.assert_array_equal(whole.keypoints, as_box.keypoints)
    np.testing.assert_array_equal(whole.center, [[255.5, 299.5]])  # the image centre, 0-based pixel centres

    several = predictor(portrait, BOXES)
    assert len(several) == 3 and several.boxes.tolist() == BOXES.tolist()
    for i, box in enumerate(BOXES):  # subjects stay in the order given, each as if alone
        np.testing.assert_allclose(several.keypoints[i], predictor(portrait, box).keypoints[0], atol=1e-3)
    empty = predictor(portrait, np.zeros((0, 4)))
    assert empty.keypoints.shape == (0, 68, 2) and empty.to_coco() == []


def test_refinement_recrops_from_the_predicted_keypoints(checkpoint, predictor, portrait):
    """A pass predicts on the crop a user box around the previous keypoints would give."""
    from hourglass.predictor import REFINE

    assert REFINE >= 1 and Predictor.from_checkpoint(checkpoint).refine == REFINE  # on by default
    first = predictor(portrait, BOXES[:1])
    kp = first.keypoints[0]
    box = np.concatenate([kp.min(0), kp.max(0) - kp.min(0)])
    again = predictor(portrait, box)  # the keypoint box as a given box
    refined = Predictor.from_checkpoint(checkpoint, refine=1)(portrait, BOXES[:1])
    assert first.scale[0] / 3 < again.scale[0] < first.scale[0] * 3  # within the zoom limit (1.44 -> 1.68)
    np.testing.assert_allclose(refined.center, again.center, atol=1e-9)
    np.testing.assert_allclose(refined.scale, again.scale, atol=1e-12)
    np.testing.assert_allclose(refined.keypoints, again.keypoints, atol=1e-6)
    np.testing.assert_array_equal(refined.boxes, BOXES[:1])  # the box as given is reported


def test_reframe_limits_zoom_and_keeps_collapsed_subjects(predictor):
    from hourglass.predictor import REFINE_MAX_ZOOM

    centre, scale = np.array([[100.0, 100.0]] * 3), np.array([1.0, 1.0, 1.0])
    kps = np.zeros((3, 68, 2))
    kps[0] = np.random.default_rng(0).uniform(90, 110, (68, 2))  # a 20-px face: 0.125 at padding 1.25
    kps[1] = 50.0  # every point in one place: nothing to frame
    kps[2] = np.nan
    c, s = predictor.reframe(kps, centre, scale)
    assert s[0] == pytest.approx(1.0 / REFINE_MAX_ZOOM) and np.all(np.abs(c[0] - 100) < 10)
    np.testing.assert_array_equal(c[1:], centre[1:])
    np.testing.assert_array_equal(s[1:], scale[1:])
    for bad in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="refine must be a whole number"):
            Predictor(predictor.loaded, refine=bad)


def test_batch_size_does_not_change_the_result(checkpoint, portrait):
    for flip in (False, True):
        one = Predictor.from_checkpoint(checkpoint, batch_size=1, flip=flip)(portrait, BOXES)
        many = Predictor.from_checkpoint(checkpoint, batch_size=16, flip=flip)(portrait, BOXES)
        # Not bit-identical: oneDNN picks other convolution kernels per batch size (measured 2e-4 px).
        np.testing.assert_allclose(one.keypoints, many.keypoints, atol=1e-3)
        np.testing.assert_allclose(one.scores, many.scores, atol=1e-5)


def test_flip_test_is_mirror_symmetric(checkpoint, portrait):
    """With the flip test, the mirrored image gives the mirrored keypoints (left and right swapped)."""
    flipped = Predictor.from_checkpoint(checkpoint, flip=True, refine=0)
    plain = Predictor.from_checkpoint(checkpoint, refine=0)
    w = portrait.shape[1]
    pred = flipped(portrait, BOXES)
    mirrored_boxes = BOXES.copy()
    mirrored_boxes[:, 0] = w - 1 - (BOXES[:, 0] + BOXES[:, 2])  # x -> W - 1 - x moves the corner edge too
    mirror = flipped(np.ascontiguousarray(portrait[:, ::-1]), mirrored_boxes)
    back = mirror.keypoints[:, list(W300.flip_index)].copy()
    back[..., 0] = w - 1 - back[..., 0]
    np.testing.assert_allclose(back, pred.keypoints, atol=1e-3)
    np.testing.assert_allclose(mirror.scores[:, list(W300.flip_index)], pred.scores, atol=1e-5)
    assert np.abs(plain(portrait, BOXES).keypoints - pred.keypoints).max() > 0.1  # the flip test does something


def test_regression_model(tmp_path, portrait):
    ckpt = write_checkpoint(tmp_path / "vgg.pt", "vgg16_gap")
    for flip in (False, True):
        pred = Predictor.from_checkpoint(ckpt, flip=flip)(portrait, BOXES[:2], return_heatmaps=True)
        assert pred.keypoints.shape == (2, 68, 2) and np.isfinite(pred.keypoints).all()
        # a regressor gives no confidence: NaN, not a made-up 1.0
        assert np.isnan(pred.scores).all() and pred.heatmaps is None and pred.heatmap_matrix is None
    coco = pred.to_coco("portrait")
    assert len(coco) == 2 and len(coco[0]["keypoints"]) == 68 * 3 and coco[0]["image_id"] == "portrait"
    assert coco[0]["keypoints"][2::3] == [None] * 68 and coco[0]["score"] is None
    assert all(isinstance(v, float) for v in coco[0]["keypoints"][0::3])
    json.loads(json.dumps(coco, allow_nan=False))  # strict JSON: no NaN token
    # drawn whatever --min-score: no confidence is not low confidence
    import dataclasses

    from hourglass.visualize import draw_predictions

    blank = np.zeros_like(portrait)
    drawn = draw_predictions(blank, [pred], min_score=0.9)
    assert np.array_equal(drawn, draw_predictions(blank, [pred], min_score=0.0))
    low = dataclasses.replace(pred, scores=np.zeros_like(pred.scores))  # real low scores are left out
    assert (drawn != draw_predictions(blank, [low], min_score=0.9)).any()


def test_heatmaps_come_with_their_matrix(predictor, portrait):
    from hourglass.geometry import transform_points

    pred = predictor(portrait, BOXES[:2], return_heatmaps=True)
    assert pred.heatmaps.shape == (2, 68, 16, 16) and pred.heatmap_matrix.shape == (2, 2, 3)
    # the crop centre maps to the heatmap centre
    centre = transform_points(pred.center[:, None, :], pred.heatmap_matrix)[:, 0]
    np.testing.assert_allclose(centre, [[7.5, 7.5], [7.5, 7.5]], atol=1e-9)


@pytest.mark.parametrize(
    ("image", "error", "match"),
    [
        (np.zeros((40, 30, 3), np.float64), TypeError, "must be uint8"),
        (np.zeros((40, 30, 5), np.uint8), ValueError, r"shape \(H, W\), \(H, W, 3\) or \(H, W, 4\)"),
        (np.zeros((0, 30, 3), np.uint8), ValueError, "shape"),
        (torch.full((3, 40, 30), 2.0), ValueError, r"in \[0, 1\]"),
        ([[0, 1], [2, 3]], TypeError, "path, a numpy array or a torch tensor"),
        ("/nonexistent/photo.jpg", FileNotFoundError, "does not exist"),
    ],
)
def test_bad_images_are_named(predictor, image, error, match):
    with pytest.raises(error, match=match):
        predictor(image, BOXES[:1])


def test_bad_boxes_and_options(predictor, portrait, tmp_path, checkpoint):
    for boxes in ([[10, 10, float("nan"), 50]], [[10, 10, -5, 50]], [[10, 10, 50]], [1, 2, 3]):
        with pytest.raises(ValueError, match=r"finite \[x, y, w, h\] with w, h > 0"):
            predictor(portrait, boxes)
    with pytest.raises(ValueError, match="channels must be 'rgb' or 'bgr'"):
        predictor(portrait, BOXES[:1], channels="hsv")
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(DataError, match="not a readable image"):
        predictor(text, BOXES[:1])
    with pytest.raises(ValueError, match="unknown decoder"):
        Predictor.from_checkpoint(checkpoint, decoder="median")
    with pytest.raises(ValueError, match="batch_size"):
        Predictor.from_checkpoint(checkpoint, batch_size=0)


def exif_orientation_segment(orientation: int) -> bytes:
    """A minimal APP1 EXIF segment: big-endian TIFF header, one IFD entry Orientation (0x0112) SHORT."""
    entry = struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)  # tag, type SHORT, count 1, value, pad
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def test_exif_orientation_is_applied(tmp_path, predictor):
    h, w = 90, 140
    y, x = np.mgrid[0:h, 0:w]
    stored = np.dstack([x * 255 // w, y * 255 // h, np.full((h, w), 60)]).astype(np.uint8)  # RGB ramps
    stored[10:30, 10:40] = (255, 255, 255)  # a white block near the stored top-left corner
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(stored, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    assert ok
    jpeg = jpeg.tobytes()
    path = tmp_path / "phone.jpg"
    path.write_bytes(jpeg[:2] + exif_orientation_segment(6) + jpeg[2:])  # right after the SOI marker

    raw = read_image(path)
    upright = read_image(path, orient=True)
    assert raw.shape == (h, w, 3) and upright.shape == (w, h, 3)
    # Orientation 6: the stored rows are shown as columns, turned 90 degrees clockwise
    np.testing.assert_array_equal(upright, np.rot90(raw, k=-1))
    assert upright[10:40, -30:-10].mean() > 250  # the block is now at the top right

    box = [[20.0, 30.0, 60.0, 70.0]]
    from_path = predictor(path, box)
    assert from_path.image_size == (h, w)  # (W, H) of the upright image
    np.testing.assert_array_equal(from_path.keypoints, predictor(upright, box).keypoints)
    np.testing.assert_array_equal(as_rgb_image(path), upright)


def test_crop_equals_the_evaluation_crop_of_training(tmp_path, shared_data):
    """Without reduction, a subject's network input is exactly KeypointDataset's evaluation crop."""
    from hourglass.data.w300 import load_300w

    faces = load_300w(shared_data("300w"), "afw")[:6]
    ckpt = write_checkpoint(tmp_path / "tiny128.pt", input_size=128)
    pred = Predictor.from_checkpoint(ckpt)
    size = pred.loaded.input_size
    pipeline = TopDownPipeline(
        PipelineConfig(input_size=size, heatmap_size=(32, 32), sigma=pred.loaded.sigma, train=False), W300
    )
    dataset = KeypointDataset(faces, pipeline, reduced_decode=False)
    checked = 0
    for i, face in enumerate(faces):
        if reduce_factor(face.scale, size) != 1:
            continue
        crop = pred.crop(read_image(face.image), face.center, face.scale)
        assert crop.shape == (3, 128, 128)
        assert torch.equal(crop, dataset[i].image), face.source
        checked += 1
    assert checked >= 3


def test_shipped_face_model_puts_the_landmarks_on_the_face():
    from hourglass.weights import resolve_weights

    try:
        resolve_weights("300w-hg2")
    except FileNotFoundError:
        pytest.skip("shipped weights weights/300w-hg2.pt are not there yet (trained later)")
    pred = Predictor.from_checkpoint("300w-hg2")(PORTRAIT)
    assert pred.source == "detector:face" and len(pred) == 1
    x, y, w, h = pred.boxes[0]
    # The Haar box sits high on a face: the calibrated landmark box reaches 0.08 of its side below
    # it (hourglass.detect.FACE_OFFSET), so the box is enlarged by 15 % of its side on every edge.
    m = 0.15 * w
    pts = pred.keypoints[0]
    inside = (pts[:, 0] > x - m) & (pts[:, 0] < x + w + m) & (pts[:, 1] > y - m) & (pts[:, 1] < y + h + m)
    assert inside.all(), f"landmarks {np.flatnonzero(~inside).tolist()} lie outside the face box {pred.boxes[0]}"


def test_candidates_and_selection_with_a_calibrated_threshold(checkpoint, portrait):
    """Detector subjects go first; a whole-image subject adds one the detector missed; below the
    threshold nobody is kept."""
    import dataclasses

    from hourglass.predictor import WHOLE_IMAGE_SCALES

    loaded = load_model_for_test(checkpoint)
    assert Predictor(loaded).presence_threshold is None  # a checkpoint: uncalibrated
    calibrated = dataclasses.replace(loaded, metrics={"presence": {"threshold": 0.5}})
    p = Predictor(calibrated, refine=0)
    assert p.presence_threshold == 0.5
    b, bs, c, s, origins = p.candidates(portrait)
    n = len(WHOLE_IMAGE_SCALES["face"])
    assert origins[-n:] == ["whole-image"] * n and origins[0] == "detector:face"
    assert all(o in ("detector:face", "detector:face-profile") for o in origins[:-n])
    assert len(b) == len(bs) == len(c) == len(s) == len(origins)
    square = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    kps = np.stack([square, square + 1, square + 50, square + 100])  # 0 and 1 overlap
    presence = np.array([0.6, 0.9, 0.7, 0.4])
    origins = ["detector:face", "whole-image", "whole-image", "detector:face"]
    # 1 overlaps the detector's 0 and loses though more present; 2 is new; 3 is below the threshold
    assert p.select(kps, presence, origins).tolist() == [0, 2]
    assert p.select(kps, np.full(4, 0.1), origins).tolist() == []  # nobody here


def test_people_from_faces_are_opt_in(portrait):
    """A body model's default candidates are HOG's and the whole image's; the people below frontal
    faces come only with ``detector="person-face"`` (on this head-and-shoulders portrait they made
    the body model draw legs on the chest), framed by the calibrated face-to-person rule."""
    from hourglass.detect import FacePeopleDetector, center_scale
    from hourglass.predictor import WHOLE_IMAGE_SCALES
    from hourglass.weights import resolve_weights

    try:
        resolve_weights("lspet-hg2")
    except FileNotFoundError:
        pytest.skip("shipped weights weights/lspet-hg2.pt are not there")
    n = len(WHOLE_IMAGE_SCALES["person"])
    origins = Predictor.from_checkpoint("lspet-hg2", refine=0).candidates(portrait)[4]
    assert set(origins[:-n]) <= {"detector:person"} and origins[-n:] == ["whole-image"] * n
    p = Predictor.from_checkpoint("lspet-hg2", detector="person-face", refine=0)
    b, bs, c, s, origins = p.candidates(portrait)
    faces = FacePeopleDetector()(portrait)
    assert origins[:-n] == ["detector:person"] * len(faces.boxes) and len(faces.boxes) >= 1
    fc, fs = center_scale(FacePeopleDetector(), faces.boxes)
    np.testing.assert_allclose(c[:-n], fc)
    np.testing.assert_allclose(s[:-n], fs * p._scale_factor)  # the model's own crop padding


def load_model_for_test(path):
    from hourglass.weights import load_model

    return load_model(path)


def test_take_keeps_the_chosen_subjects_in_order(predictor, portrait):
    pred = predictor(portrait, BOXES)
    two = pred.take([2, 0])
    assert len(two) == 2 and two.origins == ("boxes", "boxes") and two.source == pred.source
    for field in ("keypoints", "scores", "boxes", "box_scores", "center", "scale", "presence"):
        np.testing.assert_array_equal(getattr(two, field), getattr(pred, field)[[2, 0]], err_msg=field)
    assert len(pred.take([])) == 0 and pred.take([]).keypoints.shape == (0, 68, 2)


def test_keypoints_below_the_calibrated_keypoint_threshold_are_out_of_view(checkpoint, portrait):
    """With a stored keypoint threshold each subject says which keypoints are in view, in the
    Prediction and its JSON; without one, in_view is None and every keypoint is drawn."""
    import dataclasses

    loaded = load_model_for_test(checkpoint)
    assert Predictor(loaded).keypoint_threshold is None and Predictor(loaded)(portrait, BOXES).in_view is None
    plain = Predictor(loaded, refine=0)(portrait, BOXES)
    threshold = float(np.median(plain.scores))
    calibrated = dataclasses.replace(loaded, metrics={"keypoints": {"threshold": threshold}})
    pred = Predictor(calibrated, refine=0)(portrait, BOXES)
    np.testing.assert_array_equal(pred.scores, plain.scores)
    np.testing.assert_array_equal(pred.in_view, plain.scores >= threshold)
    assert 0 < pred.in_view.sum() < pred.in_view.size
    entry = pred.to_coco()[1]
    assert entry["in_view"] == pred.in_view[1].tolist()
    assert plain.to_coco()[1]["in_view"] is None
    assert pred.take([1]).in_view.tolist() == pred.in_view[[1]].tolist()
    # refinement frames its crops on the keypoints in view only: with none in view, the crops stay
    nothing = dataclasses.replace(loaded, metrics={"keypoints": {"threshold": 2.0}})
    once = Predictor(loaded, refine=0)(portrait, BOXES)
    refined = Predictor(nothing, refine=2)(portrait, BOXES)
    assert not refined.in_view.any()
    np.testing.assert_allclose(refined.center, once.center)
    np.testing.assert_allclose(refined.scale, once.scale)
    assert not np.allclose(Predictor(loaded, refine=2)(portrait, BOXES).center, once.center)


def test_auc_by_ranks_equals_the_pairwise_count():
    from hourglass.evaluation.presence import _auc

    rng = np.random.default_rng(0)
    pos, neg = np.round(rng.random(300), 2), np.round(rng.random(500) * 0.8, 2)  # many ties
    pairwise = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert _auc(pos, neg) == pytest.approx(pairwise, abs=1e-12)
    assert _auc(np.ones(3), np.zeros(4)) == 1.0 and _auc(np.zeros(3), np.zeros(4)) == 0.5


def test_keypoint_calibration_counts_views_and_stores_only_a_threshold_that_separates(checkpoint, tmp_path):
    """calibrate_keypoints scores every labelled keypoint of seeded partial views, in view or out;
    calibrate stores no keypoint threshold for a model whose scores do not tell them apart."""
    from hourglass.data.records import Annotation, AnnotationSet
    from hourglass.evaluation.presence import MIN_KEYPOINT_AUC, calibrate, calibrate_keypoints

    rng = np.random.default_rng(0)
    records = []
    for i in range(4):
        path = tmp_path / f"scene{i}.png"
        cv2.imwrite(str(path), (rng.random((480, 480, 3)) * 255).astype(np.uint8))
        k = W300.num_keypoints
        records.append(Annotation(image=path, keypoints=rng.uniform(60, 140, (k, 2)), labelled=np.ones(k, bool),
                                  visible=np.ones(k, bool), center=np.array([100.0, 100.0]), scale=0.5, spec=W300,
                                  source=f"{path}:1"))  # fmt: skip
    subjects = AnnotationSet(records, W300, "synthetic")
    loaded = load_model_for_test(checkpoint)
    got = calibrate_keypoints(loaded, subjects)
    assert got["in_view"] + got["out_of_view"] == 4 * W300.num_keypoints and got["out_of_view"] > 0
    assert got["in_view_kept"] >= got["keep"] == 0.95
    assert calibrate_keypoints(loaded, subjects) == got  # seeded: the same views again
    assert got["auc"] < MIN_KEYPOINT_AUC  # random weights
    stored, lines = calibrate(loaded, subjects)
    assert "keypoints" not in stored and "presence" in stored
    assert lines[-1].startswith("no keypoint threshold") and "--partial-views" in lines[-1]
    with pytest.raises(ValueError, match="keep must be"):
        calibrate_keypoints(loaded, subjects, keep=1.0)
