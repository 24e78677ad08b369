"""Tests for hourglass.boxes: overlap, NMS, clipping, ``--box`` strings and box files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hourglass.boxes import box_iou, boxes_inside, load_boxes_json, lookup_boxes, nms, parse_box

# ----------------------------------------------------------------------------- boxes and NMS


def test_box_iou_by_hand():
    a = np.array([[0.0, 0.0, 2.0, 2.0], [10.0, 10.0, 1.0, 1.0]])
    b = np.array([[1.0, 1.0, 2.0, 2.0], [0.0, 0.0, 2.0, 2.0]])
    # (0,0,2,2) vs (1,1,2,2): intersection 1, union 4 + 4 - 1 = 7.
    np.testing.assert_allclose(box_iou(a, b), [[1 / 7, 1.0], [0.0, 0.0]], atol=1e-12)


def test_nms_by_hand():
    boxes = np.array(
        [
            [0.0, 0.0, 10.0, 10.0],  # 0: score 0.9
            [1.0, 0.0, 10.0, 10.0],  # 1: IoU with 0 = 90 / 110 = 0.818 -> suppressed by 0
            [20.0, 20.0, 10.0, 10.0],  # 2: best score, overlaps nothing
            [5.0, 0.0, 10.0, 10.0],  # 3: IoU with 0 = 50 / 150 = 1/3, with 1 = 60/140
        ]
    )
    scores = np.array([0.9, 0.8, 0.95, 0.7])
    np.testing.assert_array_equal(nms(boxes, scores, 0.5), [2, 0, 3])
    np.testing.assert_array_equal(nms(boxes, scores, 0.3), [2, 0])
    # Exactly at the threshold is kept (suppression needs IoU > threshold).
    np.testing.assert_array_equal(nms(boxes[[0, 3]], scores[[0, 3]], 1 / 3 + 1e-12), [0, 1])
    assert nms(np.zeros((0, 4)), np.zeros(0)).shape == (0,)
    with pytest.raises(ValueError, match=r"scores must have shape \(4,\)"):
        nms(boxes, scores[:3])
    with pytest.raises(ValueError, match="iou_threshold must be in"):
        nms(boxes, scores, 1.5)


def test_boxes_inside_clips_to_the_image():
    out = boxes_inside(np.array([[-10.0, 5.0, 30.0, 200.0], [50.0, 50.0, 10.0, 10.0]]), (40, 100))
    np.testing.assert_allclose(out, [[-0.5, 5.0, 20.5, 94.5], [39.5, 50.0, 0.0, 10.0]])


# ----------------------------------------------------------------------------- --box and box files


def test_parse_box():
    np.testing.assert_array_equal(parse_box("10,20,30,40"), [10, 20, 30, 40])
    np.testing.assert_array_equal(parse_box(" 1.5 , -2, 3e1 ,4 "), [1.5, -2, 30, 4])
    assert parse_box("1,2,3,4").dtype == np.float64


@pytest.mark.parametrize(
    "text, message",
    [
        ("10,20,30", r"box '10,20,30': expected 'x,y,w,h' .* got 3 value\(s\)"),
        ("10 20 30 40", r"box '10 20 30 40': expected 'x,y,w,h'"),
        ("10,20,abc,40", r"box '10,20,abc,40': 'abc' is not a number; expected 'x,y,w,h'"),
        ("10,20,,40", r"box '10,20,,40': '' is not a number"),
        ("10,20,0,40", r"box '10,20,0,40': width and height must be > 0, got w=0, h=40; expected 'x,y,w,h'"),
        ("10,20,30,-4", r"width and height must be > 0, got w=30, h=-4"),
        ("nan,20,30,40", r"box 'nan,20,30,40': every value must be a finite number"),
    ],
)
def test_parse_box_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_box(text)


def test_load_boxes_json_both_layouts(tmp_path):
    obj = tmp_path / "boxes.json"
    obj.write_text(json.dumps({"a.jpg": [[1, 2, 3, 4], [5, 6, 7, 8.5]], "sub/b.png": []}))
    table = load_boxes_json(obj)
    np.testing.assert_array_equal(table["a.jpg"], [[1, 2, 3, 4], [5, 6, 7, 8.5]])
    assert table["sub/b.png"].shape == (0, 4) and table["a.jpg"].dtype == np.float64
    coco = tmp_path / "coco.json"
    entries = [{"image": "a.jpg", "bbox": [1, 2, 3, 4]}, {"image": "c.jpg", "bbox": [0, 0, 9, 9], "score": 0.5}]
    coco.write_text(json.dumps(entries + [{"image": "a.jpg", "bbox": [5, 6, 7, 8]}]))
    table = load_boxes_json(coco)
    np.testing.assert_array_equal(table["a.jpg"], [[1, 2, 3, 4], [5, 6, 7, 8]])
    assert list(table) == ["a.jpg", "c.jpg"]


def test_lookup_boxes(tmp_path):
    table = {"a.jpg": np.ones((1, 4)), "x/b.jpg": np.zeros((0, 4)), "p/c.jpg": np.ones((1, 4)), "q/c.jpg": 2}
    assert lookup_boxes(table, "/data/photos/a.jpg") is table["a.jpg"]  # base name
    assert lookup_boxes(table, "x/b.jpg") is table["x/b.jpg"]  # as given
    assert lookup_boxes(table, "/elsewhere/b.jpg") is table["x/b.jpg"]  # unique base name
    assert lookup_boxes(table, "d.jpg") is None
    with pytest.raises(ValueError, match=r"ambiguous: keys \['p/c.jpg', 'q/c.jpg'\] share its base name"):
        lookup_boxes(table, "c.jpg")


@pytest.mark.parametrize(
    "content, message",
    [
        ({"a.jpg": "1,2,3,4"}, r"entry 'a.jpg': expected a list of boxes \[\[x, y, w, h\], \.\.\.\], got '1,2,3,4'"),
        ({"a.jpg": [1, 2, 3, 4]}, r"entry 'a.jpg': \[1, 2, 3, 4\] is one box, not a list of boxes; write \[\[1"),
        ({"a.jpg": [[1, 2, 3]]}, r"entry 'a.jpg'\[0\]: a box must be a list of four numbers \[x, y, w, h\], got \[1"),
        ({"a.jpg": [[1, 2, 3, 4], [1, 2, "3", 4]]}, r"entry 'a.jpg'\[1\]: a box must be a list of four numbers"),
        ({"a.jpg": [[1, 2, 3, True]]}, r"entry 'a.jpg'\[0\]: a box must be a list of four numbers"),
        ({"a.jpg": [[1, 2, 0, 4]]}, r"entry 'a.jpg'\[0\]: box \[1, 2, 0, 4\]: width and height must be > 0"),
        ([{"image": "a.jpg", "bbox": [1, 2, -3, 4]}], r"entry \[0\] \('a.jpg'\): box \[1, 2, -3, 4\]: width and"),
        ([{"image": "a.jpg", "bbox": [1, 2, 3]}], r"entry \[0\] \('a.jpg'\): a box must be a list of four numbers"),
        ([{"file": "a.jpg", "bbox": [1, 2, 3, 4]}], r'entry \[0\]: expected an object \{"image": "<file name>"'),
        ([[1, 2, 3, 4]], r"entry \[0\]: expected an object"),
        ("boxes", r"expected an object mapping image names .* got a JSON str"),
    ],
)
def test_load_boxes_json_errors(tmp_path, content, message):
    path = tmp_path / "boxes.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match=message) as info:
        load_boxes_json(path)
    assert str(path) in str(info.value)


def test_load_boxes_json_file_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"box file .*missing\.json does not exist"):
        load_boxes_json(tmp_path / "missing.json")
    path = tmp_path / "broken.json"
    path.write_text('{\n  "a.jpg": [[1, 2, 3, 4]],\n}')
    with pytest.raises(ValueError, match=r"broken\.json:3: not valid JSON"):
        load_boxes_json(path)
    path.write_text('{"a.jpg": [[1, 2, 3, 4]], "a.jpg": [[5, 6, 7, 8]]}')
    with pytest.raises(ValueError, match=r"broken\.json: key 'a.jpg' appears twice"):
        load_boxes_json(path)


def test_keypoint_boxes_span_the_finite_points():
    from hourglass.boxes import keypoint_boxes

    pts = np.array([[[1.0, 2.0], [5.0, 9.0], [np.nan, np.nan]], [[np.nan, 1.0], [np.nan, np.nan], [np.nan, 3.0]]])
    out = keypoint_boxes(pts)
    np.testing.assert_array_equal(out[0], [1.0, 2.0, 4.0, 7.0])
    assert np.isnan(out[1]).all()  # no finite point
    with pytest.raises(ValueError, match="points must have shape"):
        keypoint_boxes(np.zeros((3, 2)))
