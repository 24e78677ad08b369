"""Keypoint specifications (hourglass.keypoints)."""

import json

import pytest

from hourglass.keypoints import COCO, LSP, MPII, W300, KeypointSpec, get_spec, list_specs

REFERENCE_W300_FLIP = (
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + [27, 28, 29, 30] + list(range(35, 30, -1))
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + list(range(54, 47, -1)) + list(range(59, 54, -1)) + list(range(64, 59, -1)) + [67, 66, 65]
)  # fmt: skip


def test_builtin_sizes_and_reference_permutations():
    assert (MPII.num_keypoints, LSP.num_keypoints, W300.num_keypoints, COCO.num_keypoints) == (16, 14, 68, 17)
    assert MPII.flip_index == (5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10)
    assert W300.flip_index == tuple(REFERENCE_W300_FLIP)
    assert LSP.flip_index == (5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, 12, 13)
    assert COCO.flip_index == (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


@pytest.mark.parametrize("spec", [MPII, LSP, W300, COCO], ids=lambda s: s.name)
def test_flip_is_involution_and_swaps_sides(spec):
    for k, j in enumerate(spec.flip_index):
        assert spec.flip_index[j] == k
        name, partner = spec.names[k], spec.names[j]
        if name.startswith("l_"):
            assert partner == "r_" + name[2:]
    # Every edge maps to an edge under the flip (the skeleton is mirror symmetric).
    edges = {frozenset(e) for e in spec.skeleton}
    assert {frozenset(spec.flip_index[i] for i in e) for e in edges} == edges
    assert len(spec.colors) == spec.num_keypoints


def test_normalising_points():
    assert W300.interocular == (36, 45)
    assert W300.pupils == (tuple(range(36, 42)), tuple(range(42, 48)))
    assert [MPII.names[i] for i in MPII.eval_exclude] == ["pelvis", "thorax"]
    assert [LSP.names[i] for i in LSP.torso] == ["l_shoulder", "r_hip"]
    assert dict(MPII.groups)["Head"] == (MPII.index("head_top"),)
    assert len(COCO.oks_sigmas) == 17


def test_frozen():
    with pytest.raises(AttributeError):
        MPII.name = "x"  # type: ignore[misc]


def test_custom_spec_from_names_and_round_trip():
    spec = KeypointSpec.from_dict(
        {
            "name": "paw",
            "keypoints": ["nose", "left_ear", "right_ear", "tail"],
            "flip_pairs": [["left_ear", "right_ear"]],
            "skeleton": [["nose", "left_ear"], ["nose", "right_ear"], [0, 3]],
        }
    )
    assert spec.flip_index == (0, 2, 1, 3)
    assert spec.skeleton == ((0, 1), (0, 2), (0, 3))
    again = KeypointSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec
    assert KeypointSpec.from_dict(MPII.to_dict()) == MPII


@pytest.mark.parametrize(
    "data,match",
    [
        ({"name": "x", "keypoints": ["a", "b"], "flip_index": [1, 1]}, "not an involution"),
        ({"name": "x", "keypoints": ["a", "b"], "flip_index": [0]}, "1 entries for 2 keypoints"),
        ({"name": "x", "keypoints": ["a", "a"]}, "duplicate keypoint names"),
        ({"name": "x", "keypoints": ["a", "b"], "flip_pairs": [["a", "c"]]}, "unknown keypoint name 'c'"),
        ({"name": "x", "keypoints": ["a", "b", "c"], "flip_pairs": [["a", "b"], ["b", "c"]]}, "another pair"),
        ({"name": "x", "keypoints": ["a", "b"], "skeleton": [[0, 5]]}, r"skeleton edge \(0, 5\)"),
        ({"name": "x"}, "missing the required key 'keypoints'"),
        ({"name": "x", "keypoints": []}, "at least one keypoint"),
        ({"name": "x", "keypoints": ["a"], "flip_index": [2.5]}, "neither a keypoint name nor an integer"),
    ],
)
def test_custom_spec_errors(data, match):
    with pytest.raises(ValueError, match=match):
        KeypointSpec.from_dict(data)


def test_lookup():
    assert get_spec("MPII") is MPII and get_spec("lspet") is LSP and get_spec("300W") is W300
    assert list_specs() == ["300w", "coco", "lsp", "mpii"]
    with pytest.raises(ValueError, match="unknown keypoint spec 'wflw'.*built-in specs are"):
        get_spec("wflw")
    with pytest.raises(ValueError, match="has no keypoint 'nose'"):
        MPII.index("nose")


def test_subject_says_what_the_spec_describes():
    from hourglass.keypoints import COCO, LSP, MPII, W300

    assert W300.subject == "face"
    assert {MPII.subject, LSP.subject, COCO.subject} == {"person"}
