"""Evaluation metrics (hourglass.metrics): hand-worked cases, borders, errors, and the MPII PCKh
reproduction against independent transcriptions of the published evaluation scripts."""

import numpy as np
import pytest
import scipy.io

from hourglass.keypoints import COCO, MPII, W300
from hourglass.metrics import (
    MEAN_CONVENTIONS,
    auc,
    bbox_size,
    ced_curve,
    failure_rate,
    head_size,
    interocular,
    interpupil,
    keypoint_errors,
    nme,
    oks,
    pck,
    pck_curve,
    pck_per_image,
    pckh_table,
    torso_size,
)


def frozen(*arrays):
    """Read-only copies: a function that writes into its input raises."""
    out = []
    for a in arrays:
        a = np.array(a)
        a.setflags(write=False)
        out.append(a)
    return out


def toy_pck_case():
    """Two samples, three keypoints, normalisers 10 and 20.

    sample 0: errors 3 (offset 3,0), 5 (offset 3,4), 8 -> scaled 0.3, 0.5, 0.8
    sample 1: errors 12, 0, keypoint 2 unlabelled (NaN there) -> scaled 0.6, 0.0
    """
    gt = np.zeros((2, 3, 2))
    pred = np.array([[[3.0, 0.0], [3.0, 4.0], [0.0, 8.0]], [[12.0, 0.0], [0.0, 0.0], [np.nan, np.nan]]])
    mask = np.array([[True, True, True], [True, True, False]])
    return frozen(pred, gt, mask, [10.0, 20.0])


# --- errors and normalisers ------------------------------------------------------------------
def test_keypoint_errors_hand_worked():
    pred, gt = frozen([[[0.0, 0.0], [3.0, 4.0], [-1.0, 1.0]]], np.zeros((1, 3, 2)))
    np.testing.assert_allclose(keypoint_errors(pred, gt), [[0.0, 5.0, np.sqrt(2.0)]])


def test_bbox_size_modes_and_mask():
    # Points (0,0), (4,1), (2,3): w = 4, h = 3 -> max side 4, sqrt(w h) = sqrt(12), diagonal 5.
    # Without (4,1) the box is (0,0)-(2,3): max side 3. No labelled point: NaN.
    pts = np.array([[[0.0, 0.0], [4.0, 1.0], [2.0, 3.0]]] * 3)
    mask = np.array([[True, True, True], [True, False, True], [False, False, False]])
    pts[1, 1] = np.nan  # unlabelled coordinates are ignored
    pts, mask = frozen(pts, mask)
    np.testing.assert_allclose(bbox_size(pts, mask), [4.0, 3.0, np.nan])
    np.testing.assert_allclose(bbox_size(pts, mask, mode="sqrt_area"), [np.sqrt(12.0), np.sqrt(6.0), np.nan])
    np.testing.assert_allclose(bbox_size(pts, mask, mode="diagonal"), [5.0, np.sqrt(13.0), np.nan])
    np.testing.assert_allclose(bbox_size(pts[:1]), [4.0])  # mask=None: all labelled
    with pytest.raises(ValueError, match="mode"):
        bbox_size(pts, mask, mode="area")


def test_torso_size_nan_when_a_point_is_missing():
    # MPII torso = l_shoulder (13) to r_hip (2): (10,10) to (13,14) -> 5.
    gt = np.zeros((2, 16, 2))
    gt[:, 13] = [10.0, 10.0]
    gt[:, 2] = [13.0, 14.0]
    mask = np.ones((2, 16), bool)
    mask[1, 2] = False
    np.testing.assert_allclose(torso_size(gt, mask, MPII), [5.0, np.nan])
    with pytest.raises(ValueError, match="torso"):
        torso_size(np.zeros((1, 68, 2)), None, W300)
    with pytest.raises(ValueError, match="14 keypoints but spec 'mpii' has 16"):
        torso_size(np.zeros((1, 14, 2)), None, MPII)


def test_head_size_mpii_rule():
    # Corners (0,0) and (30,40): diagonal 50, head size 0.6 * 50 = 30; factor 1 -> 50.
    boxes = np.array([[[0.0, 0.0], [30.0, 40.0]], [[5.0, 5.0], [2.0, 1.0]]])  # second: corners reversed
    np.testing.assert_allclose(head_size(boxes), [30.0, 3.0])
    np.testing.assert_allclose(head_size(boxes, factor=1.0), [50.0, 5.0])
    with pytest.raises(ValueError, match=r"\(N, 2, 2\)"):
        head_size(np.zeros((2, 2, 3)))
    with pytest.raises(ValueError, match="factor"):
        head_size(boxes, factor=0.0)


def test_face_normalisers_hand_worked():
    gt = np.zeros((1, 68, 2))
    # Right eye 36-41: centroid x (0+20+10+10+5+15)/6 = 10, y (0+40+10+30+20+20)/6 = 20.
    gt[0, 36:42] = [[0, 0], [20, 40], [10, 10], [10, 30], [5, 20], [15, 20]]
    # Left eye 42-47: centroid x (20+40+40+60+40+40)/6 = 40, y (40+60+60+80+60+60)/6 = 60.
    gt[0, 42:48] = [[20, 40], [40, 60], [40, 60], [60, 80], [40, 60], [40, 60]]
    # Outer corners 36 = (0, 0), 45 = (60, 80): inter-ocular 100; pupils (10,20)-(40,60): 50.
    (gt,) = frozen(gt)
    np.testing.assert_allclose(interocular(gt, W300), [100.0])
    np.testing.assert_allclose(interpupil(gt, W300), [50.0])
    mask = np.ones((1, 68), bool)
    mask[0, 40] = False
    assert np.isnan(interpupil(gt, W300, mask)[0])
    assert interocular(gt, W300, mask)[0] == 100.0
    with pytest.raises(ValueError, match="interocular"):
        interocular(np.zeros((1, 16, 2)), MPII)


# --- PCK -------------------------------------------------------------------------------------
def test_pck_hand_worked_and_tie_at_threshold():
    pred, gt, mask, norm = toy_pck_case()
    # Threshold 0.5: keypoint 0 -> 0.3 yes, 0.6 no: 1/2; keypoint 1 -> 0.5 (tie, counted) and 0.0: 2/2;
    # keypoint 2 -> 0.8 no: 0/1. Pooled: 3 correct of 5.
    r = pck(pred, gt, mask, norm, threshold=0.5)
    np.testing.assert_allclose(r.per_keypoint, [0.5, 1.0, 0.0])
    np.testing.assert_array_equal(r.counts, [2, 2, 1])
    assert r.mean == pytest.approx(0.6) and r.threshold == 0.5
    # Strict '<': the tie 0.5 is no longer correct -> keypoint 1 1/2, pooled 2/5.
    r = pck(pred, gt, mask, norm, threshold=0.5, inclusive=False)
    np.testing.assert_allclose(r.per_keypoint, [0.5, 0.5, 0.0])
    assert r.mean == pytest.approx(0.4)


def test_pck_per_image_hand_worked_and_sums_to_pck():
    pred, gt, mask, norm = toy_pck_case()
    # Threshold 0.5: sample 0 scaled {0.3, 0.5 (tie, counted), 0.8} -> 2 of 3; sample 1 {0.6, 0.0} -> 1 of 2.
    correct, evaluated = pck_per_image(pred, gt, mask, norm, threshold=0.5)
    np.testing.assert_array_equal(correct, [2.0, 1.0])
    np.testing.assert_array_equal(evaluated, [3.0, 2.0])
    assert correct.sum() / evaluated.sum() == pytest.approx(pck(pred, gt, mask, norm, 0.5).mean)
    strict, _ = pck_per_image(pred, gt, mask, norm, threshold=0.5, inclusive=False)
    np.testing.assert_array_equal(strict, [1.0, 1.0])
    left_out = mask & np.array([True, False, True])  # keypoint 1 left out of the count
    correct, evaluated = pck_per_image(pred, gt, left_out, norm, threshold=0.5)
    np.testing.assert_array_equal(correct, [1.0, 0.0])
    np.testing.assert_array_equal(evaluated, [2.0, 1.0])


def test_pck_curve_hand_worked():
    pred, gt, mask, norm = toy_pck_case()
    # Scaled errors: k0 {0.3, 0.6}, k1 {0.5, 0.0}, k2 {0.8}.
    c = pck_curve(pred, gt, mask, norm, [0.0, 0.3, 0.5, 1.0])
    expected = [[0, 0.5, 0], [0.5, 0.5, 0], [0.5, 1, 0], [1, 1, 1]]
    np.testing.assert_allclose(c.per_keypoint, expected)
    np.testing.assert_allclose(c.mean, [1 / 5, 2 / 5, 3 / 5, 1.0])
    np.testing.assert_array_equal(c.counts, [2, 2, 1])
    np.testing.assert_allclose(c.per_keypoint[2], pck(pred, gt, mask, norm, 0.5).per_keypoint)


def test_pck_borders():
    pred, gt, mask, norm = toy_pck_case()
    # A NaN normaliser leaves the sample out: only sample 0 counts (0.3, 0.5, 0.8 at 0.5).
    r = pck(pred, gt, mask, [10.0, np.nan], 0.5)
    np.testing.assert_allclose(r.per_keypoint, [1.0, 1.0, 0.0])
    np.testing.assert_array_equal(r.counts, [1, 1, 1])
    # A keypoint never labelled is NaN with count 0; nothing labelled at all: NaN mean.
    m2 = mask.copy()
    m2[:, 0] = False
    r = pck(pred, gt, m2, norm, 0.5)
    assert np.isnan(r.per_keypoint[0]) and r.counts[0] == 0
    assert r.mean == pytest.approx(2 / 3)
    r = pck(pred, gt, np.zeros_like(mask), [0.0, -1.0], 0.5)  # normalisers of unused samples are not checked
    assert np.isnan(r.mean) and np.all(np.isnan(r.per_keypoint))
    # Inputs untouched (they are read-only: any write would have raised).
    np.testing.assert_array_equal(mask, [[True, True, True], [True, True, False]])


def test_pck_errors():
    pred, gt, mask, norm = toy_pck_case()
    with pytest.raises(ValueError, match="same shape"):
        pck(pred[:, :2], gt, mask, norm)
    with pytest.raises(ValueError, match=r"\(N, K, 2\)"):
        pck(pred[..., :1], gt[..., :1], mask, norm)
    with pytest.raises(TypeError, match="boolean"):
        pck(pred, gt, mask.astype(np.uint8), norm)
    with pytest.raises(ValueError, match="mask must have shape"):
        pck(pred, gt, mask[:, :2], norm)
    with pytest.raises(ValueError, match="sample 1, keypoint 2"):
        pck(pred, gt, np.ones_like(mask), norm)  # NaN prediction on a labelled keypoint
    with pytest.raises(ValueError, match="sample 1 has 0.0"):
        pck(pred, gt, mask, [10.0, 0.0])
    with pytest.raises(ValueError, match="finite and positive"):
        pck(pred, gt, mask, [np.inf, 1.0])
    with pytest.raises(ValueError, match=r"shape \(N,\)"):
        pck(pred, gt, mask, [10.0])
    with pytest.raises(ValueError, match="threshold"):
        pck(pred, gt, mask, norm, threshold=-0.1)
    with pytest.raises(ValueError, match="thresholds"):
        pck_curve(pred, gt, mask, norm, [])


# --- MPII PCKh table -------------------------------------------------------------------------
def toy_mpii_case():
    """Two people, all joints exact except in person 1: r_ankle 20 px off, pelvis 20 px off,
    r_knee 5 px off; l_wrist of person 1 missing. Head boxes (0,0)-(30,40): head size 30, so
    the 0.5 threshold is 15 px and the 0.1 threshold 3 px."""
    gt = np.tile(np.arange(32.0).reshape(1, 16, 2), (2, 1, 1))
    pred = gt.copy()
    pred[1, MPII.index("r_ankle"), 0] += 20.0
    pred[1, MPII.index("pelvis"), 1] += 20.0
    pred[1, MPII.index("r_knee"), 0] += 5.0
    mask = np.ones((2, 16), bool)
    mask[1, MPII.index("l_wrist")] = False
    boxes = np.array([[[0.0, 0.0], [30.0, 40.0]]] * 2)
    return frozen(pred, gt, mask, boxes)


def test_pckh_table_hand_worked():
    pred, gt, mask, boxes = toy_mpii_case()
    t = pckh_table(pred, gt, mask, boxes)
    # Per joint @0.5: r_ankle 1/2, pelvis 1/2, everything else (l_wrist 1/1) 1.
    expected = np.ones(16)
    expected[[MPII.index("r_ankle"), MPII.index("pelvis")]] = 0.5
    np.testing.assert_allclose(t.per_keypoint[0], expected)
    assert t.counts[MPII.index("l_wrist")] == 1 and t.counts.sum() == 31
    # Groups: Ankle = (0.5 + 1) / 2; all others 1.
    expected_row = dict.fromkeys(["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee"], 1.0)
    expected_row |= {"Ankle": 0.75, "Mean": 26 / 27, "Mean@0.1": 25 / 27}
    assert t.as_dict() == pytest.approx(expected_row)
    assert list(t.as_dict()) == list(expected_row)
    # The 14 evaluated joints hold 27 labels; wrong: r_ankle @0.5, plus r_knee @0.1.
    assert t.means == pytest.approx((26 / 27, 25 / 27))
    # Unweighted: (12 * 1 + 0.5 + 1) / 14 @0.5, r_knee also 0.5 @0.1. Pooled 16: 31 labels, 2 (3) wrong.
    assert pckh_table(pred, gt, mask, boxes, mean="unweighted").means == pytest.approx((13.5 / 14, 13 / 14))
    assert pckh_table(pred, gt, mask, boxes, mean="pooled16").means == pytest.approx((29 / 31, 28 / 31))
    # Head as the MATLAB script defines it (upper neck and head top) is a groups= away.
    matlab_groups = (("Head", (8, 9)),) + MPII.groups[1:]
    assert pckh_table(pred, gt, mask, boxes, groups=matlab_groups).groups[0] == ("Head", 1.0)


def test_pckh_table_format_and_frozen():
    pred, gt, mask, boxes = toy_mpii_case()
    t = pckh_table(pred, gt, mask, boxes, mean="unweighted")
    header, values = t.format().split("\n")
    assert header.split() == ["PCKh@0.5", *(label for label, _ in MPII.groups), "Mean", "Mean@0.1"]
    assert values.split() == ["mean=unweighted", *["100.00"] * 6, "75.00", "96.43", "92.86"]
    assert t.as_dict(percent=True)["Ankle"] == pytest.approx(75.0)
    with pytest.raises(AttributeError):
        t.mean_convention = "weighted"  # type: ignore[misc]
    with pytest.raises(ValueError):
        t.per_keypoint[0, 0] = 0.0


def test_pckh_table_errors():
    pred, gt, mask, boxes = toy_mpii_case()
    with pytest.raises(ValueError, match="'weighted'"):
        pckh_table(pred, gt, mask, boxes, mean="matlab")
    assert set(MEAN_CONVENTIONS) == {"weighted", "unweighted", "pooled16"}
    with pytest.raises(ValueError, match="16"):
        pckh_table(pred[:, :14], gt[:, :14], mask[:, :14], boxes)
    with pytest.raises(ValueError, match="group 'Bad'"):
        pckh_table(pred, gt, mask, boxes, groups=[("Bad", (16,))])
    with pytest.raises(ValueError, match="headboxes"):
        pckh_table(pred, gt, mask, boxes[:, 0])


# --- MPII reproduction against the published scripts (real ground truth) ---------------------
MPII_ABBREVIATIONS = {
    "rank": "r_ankle", "rkne": "r_knee", "rhip": "r_hip", "lhip": "l_hip", "lkne": "l_knee", "lank": "l_ankle",
    "pelv": "pelvis", "thor": "thorax", "neck": "upper_neck", "head": "head_top", "rwri": "r_wrist",
    "relb": "r_elbow", "rsho": "r_shoulder", "lsho": "l_shoulder", "lelb": "l_elbow", "lwri": "l_wrist",
}  # fmt: skip


def hrnet_style_evaluate(pos_pred_src, gt, strict=False):
    """Transcription of the array code of HRNet's lib/dataset/mpii.py ``evaluate`` (same layout:
    (16, 2, N) points, (16, N) jnt_missing). ``strict=True`` swaps in the '<' and plain 14-joint
    mean of the pytorch-pose eval_PCKh.py. Returns (name -> % value, per-joint % PCKh @0.5, pckAll)."""
    joints = gt["dataset_joints"]
    j = {name: np.where(joints == name)[1][0] for name in MPII_ABBREVIATIONS}
    jnt_visible = 1 - gt["jnt_missing"]
    uv_err = np.linalg.norm(pos_pred_src - gt["pos_gt_src"], axis=1)  # (16, N)
    headsizes = np.linalg.norm(gt["headboxes_src"][1, :, :] - gt["headboxes_src"][0, :, :], axis=0)
    headsizes *= 0.6
    scaled_uv_err = np.divide(uv_err, np.multiply(headsizes, np.ones((len(uv_err), 1))))
    scaled_uv_err = np.multiply(scaled_uv_err, jnt_visible)
    jnt_count = np.sum(jnt_visible, axis=1)

    def below(threshold):
        hit = scaled_uv_err < threshold if strict else scaled_uv_err <= threshold
        return np.divide(100.0 * np.sum(np.multiply(hit, jnt_visible), axis=1), jnt_count)

    pckh = below(0.5)
    rng = np.arange(0, 0.5 + 0.01, 0.01)
    pck_all = np.zeros((len(rng), 16))
    for r in range(len(rng)):
        pck_all[r, :] = below(rng[r])
    per_joint = pckh.copy()
    pckh = np.ma.array(pckh, mask=False)
    pckh.mask[6:8] = True
    jnt_count = np.ma.array(jnt_count, mask=False)
    jnt_count.mask[6:8] = True
    jnt_ratio = jnt_count / np.sum(jnt_count).astype(np.float64)
    out = {
        "Head": pckh[j["head"]],
        "Shoulder": 0.5 * (pckh[j["lsho"]] + pckh[j["rsho"]]),
        "Elbow": 0.5 * (pckh[j["lelb"]] + pckh[j["relb"]]),
        "Wrist": 0.5 * (pckh[j["lwri"]] + pckh[j["rwri"]]),
        "Hip": 0.5 * (pckh[j["lhip"]] + pckh[j["rhip"]]),
        "Knee": 0.5 * (pckh[j["lkne"]] + pckh[j["rkne"]]),
        "Ankle": 0.5 * (pckh[j["lank"]] + pckh[j["rank"]]),
        "Mean": np.mean(pckh) if strict else np.sum(pckh * jnt_ratio),
        "Mean@0.1": np.sum(pck_all[11, :] * jnt_ratio),  # HRNet's index 11 is the threshold 0.11
        "Mean@0.1 (index 10)": np.sum(pck_all[10, :] * jnt_ratio),  # MMPose 1.x
    }
    return {k: float(v) for k, v in out.items()}, per_joint, pck_all


def matlab_style_total(pos_pred_src, gt):
    """Transcription of the official MATLAB computePCK/genTablePCK at 0.5: 14-joint matrix (MPII ids
    0-5, 10-15, 8, 9), NaN distance for a missing joint, Total pooled over the 14, Head = (neck + top) / 2."""
    order = [0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9]
    head = np.linalg.norm(gt["headboxes_src"][1] - gt["headboxes_src"][0], axis=0) * 0.6
    dist = np.linalg.norm(pos_pred_src - gt["pos_gt_src"], axis=1) / head  # (16, N)
    dist[gt["jnt_missing"].astype(bool)] = np.nan
    d = dist[order]
    pck = [100 * np.mean(row[~np.isnan(row)] <= 0.5) for row in d]
    flat = d.ravel()
    total = 100 * np.mean(flat[~np.isnan(flat)] <= 0.5)
    return (pck[12] + pck[13]) / 2, total


def test_mpii_pckh_reproduces_published_scripts(shared_data):
    gt = scipy.io.loadmat(shared_data("mpii/eval/detections_our_format.mat"))
    names = [str(x[0]) for x in gt["dataset_joints"][0]]
    assert [MPII_ABBREVIATIONS[n] for n in names] == list(MPII.names)

    # Predictions: ground truth + 4 px Gaussian noise, 10% of the joints 15-80 px off.
    pos_gt_src = gt["pos_gt_src"]  # (16, 2, N), 1-based like the predictions here
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 4.0, pos_gt_src.shape)
    far = rng.random((16, 1, pos_gt_src.shape[2])) < 0.1
    angle = rng.uniform(0, 2 * np.pi, far.shape)
    radius = rng.uniform(15.0, 80.0, far.shape)
    noise = np.where(far, np.concatenate([np.cos(angle), np.sin(angle)], axis=1) * radius, noise)
    pos_pred_src = pos_gt_src + noise

    # Library layout: (N, K, 2) points, (N, 2, 2) head boxes, mask = labelled.
    pred = pos_pred_src.transpose(2, 0, 1)
    target = pos_gt_src.transpose(2, 0, 1)
    mask = ~gt["jnt_missing"].astype(bool).T
    boxes = gt["headboxes_src"].transpose(2, 0, 1)

    ref, ref_joint, ref_all = hrnet_style_evaluate(pos_pred_src, gt)
    table = pckh_table(pred, target, mask, boxes, thresholds=(0.5, 0.1, 0.11), mean="weighted")
    ours = table.as_dict(percent=True)
    diffs = [np.max(np.abs(100 * table.per_keypoint[0] - ref_joint))]
    for name in ("Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle", "Mean"):
        diffs.append(abs(ours[name] - ref[name]))
    diffs.append(abs(ours["Mean@0.1"] - ref["Mean@0.1 (index 10)"]))
    diffs.append(abs(ours["Mean@0.11"] - ref["Mean@0.1"]))  # HRNet's "Mean@0.1"
    # The whole PCKh-vs-threshold curve, per joint.
    curve = pckh_table(pred, target, mask, boxes, thresholds=np.arange(0, 0.5 + 0.01, 0.01))
    diffs.append(np.max(np.abs(100 * curve.per_keypoint - ref_all)))
    print(f"MPII PCKh reproduction (weighted, <=): max |difference| = {max(diffs):.3g} points; {table.format()}")
    assert max(diffs) <= 1e-6
    assert 50 < ours["Mean"] < 99 and ours["Mean@0.1"] < ours["Mean"]  # a non-trivial case

    # '<' with the plain 14-joint mean: the pytorch-pose eval_PCKh.py numbers.
    ref_strict, _, _ = hrnet_style_evaluate(pos_pred_src, gt, strict=True)
    strict = pckh_table(pred, target, mask, boxes, mean="unweighted", inclusive=False).as_dict(percent=True)
    for name in ("Head", "Ankle", "Mean"):
        assert strict[name] == pytest.approx(ref_strict[name], abs=1e-6)

    # The MATLAB Total (pooled over its 14 joints) is the weighted mean; its Head averages neck and top.
    matlab_head, matlab_total = matlab_style_total(pos_pred_src, gt)
    assert ours["Mean"] == pytest.approx(matlab_total, abs=1e-6)
    matlab_groups = (("Head", (MPII.index("upper_neck"), MPII.index("head_top"))),) + MPII.groups[1:]
    head = pckh_table(pred, target, mask, boxes, groups=matlab_groups).as_dict(percent=True)["Head"]
    assert head == pytest.approx(matlab_head, abs=1e-6)


# --- faces: NME, AUC, failure rate, CED ------------------------------------------------------
def test_nme_hand_worked():
    # Sample 0: errors 3 and 5 over normaliser 10 -> (0.3 + 0.5) / 2 = 0.4.
    # Sample 1: second point unlabelled -> 0.3. Sample 2: nothing labelled -> NaN.
    gt = np.zeros((3, 2, 2))
    pred = np.array([[[3.0, 0.0], [3.0, 4.0]]] * 3)
    mask = np.array([[True, True], [True, False], [False, False]])
    pred, gt, mask = frozen(pred, gt, mask)
    np.testing.assert_allclose(nme(pred, gt, mask, [10.0, 10.0, 10.0]), [0.4, 0.3, np.nan])
    np.testing.assert_allclose(nme(pred[:1], gt[:1], None, [10.0]), [0.4])
    assert np.isnan(nme(pred[:1], gt[:1], None, [np.nan])[0])
    with pytest.raises(ValueError, match="sample 0 has -1.0"):
        nme(pred, gt, mask, [-1.0, 1.0, 1.0])


def test_auc_exact_grid_and_failure_rate():
    # t = 0.08: 1 - e/t = 1, 0.5, 0, -1.5 -> clipped mean (1 + 0.5) / 4 = 0.375.
    e = np.array([0.0, 0.04, 0.08, 0.2])
    assert auc(e, 0.08) == pytest.approx(0.375)
    # Grid of step 0.04: CED(0) = 1/4, CED(0.04) = 2/4, CED(0.08) = 3/4;
    # trapezoid 0.04 * ((0.25 + 0.5) / 2 + (0.5 + 0.75) / 2) = 0.04, over t: 0.5.
    assert auc(e, 0.08, step=0.04) == pytest.approx(0.5)
    assert auc(e, 0.08, step=1e-5) == pytest.approx(0.375, abs=1e-3)  # the grid converges to the exact value
    # Failure: 0.2 only; the error equal to the threshold is not a failure.
    assert failure_rate(e, 0.08) == pytest.approx(0.25)
    assert failure_rate(e, 0.04) == pytest.approx(0.5)
    assert auc([np.inf, 0.0], 0.1) == pytest.approx(0.5)  # an infinite error is a failure


def test_ced_curve_hand_worked():
    e = [0.0, 0.04, 0.08, 0.2]
    ts, fr = ced_curve(e, max_error=0.08, num=3)
    np.testing.assert_allclose(ts, [0.0, 0.04, 0.08])
    np.testing.assert_allclose(fr, [0.25, 0.5, 0.75])
    ts, fr = ced_curve(e, thresholds=[0.1, 0.3])
    np.testing.assert_allclose(fr, [0.75, 1.0])
    assert len(ced_curve(e)[0]) == 161


def test_face_summary_errors():
    with pytest.raises(ValueError, match="1 NaN"):
        auc([0.1, np.nan])
    with pytest.raises(ValueError, match="non-empty"):
        failure_rate([])
    with pytest.raises(ValueError, match="negative"):
        ced_curve([-0.1, 0.2])
    with pytest.raises(ValueError, match="divide"):
        auc([0.1], 0.08, step=0.03)
    with pytest.raises(ValueError, match="threshold"):
        auc([0.1], 0.0)
    with pytest.raises(ValueError, match="num"):
        ced_curve([0.1], num=1)


# --- COCO OKS --------------------------------------------------------------------------------
def test_oks_hand_worked():
    # sigma 0.5 -> variance (2 * 0.5)^2 = 1; area 1; d^2 = 2 -> e = 2 / (1 * 1 * 2) = 1 -> exp(-1).
    # Keypoint 1 exact -> 1. Sample 1 has keypoint 1 unlabelled; sample 2 nothing labelled -> NaN.
    gt = np.zeros((3, 2, 2))
    pred = np.array([[[1.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [9.0, 9.0]], [[0.0, 0.0], [0.0, 0.0]]])
    vis = np.array([[True, True], [True, False], [False, False]])
    pred, gt, vis = frozen(pred, gt, vis)
    got = oks(pred, gt, vis, [1.0, 1.0, 1.0], [0.5, 1.0])
    np.testing.assert_allclose(got, [(np.exp(-1.0) + 1.0) / 2, np.exp(-1.0), np.nan], rtol=1e-12)
    with pytest.raises(ValueError, match="area"):
        oks(pred, gt, vis, [1.0, -1.0, 1.0], [0.5, 1.0])
    with pytest.raises(ValueError, match="sigmas"):
        oks(pred, gt, vis, [1.0, 1.0, 1.0], [0.5])
    with pytest.raises(TypeError, match="gt_visible"):
        oks(pred, gt, vis.astype(int), [1.0, 1.0, 1.0], [0.5, 1.0])


def test_oks_matches_pycocotools():
    from pycocotools.coco import COCO as CocoApi
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(1)
    n, k = 5, 17
    gt = rng.uniform(50, 250, (n, k, 2))
    vis = rng.random((n, k)) < 0.8
    vis[:, 0] = True  # every person has a labelled keypoint (COCOeval's box fallback is out of scope)
    pred = gt + rng.normal(0, 6.0, gt.shape)
    area = rng.uniform(2000, 20000, n)
    flags = np.where(vis, 2, 0)
    api = CocoApi()
    api.dataset = {
        "images": [{"id": i} for i in range(n)],
        "categories": [{"id": 1, "name": "person"}],
        "annotations": [
            {"id": i + 1, "image_id": i, "category_id": 1, "iscrowd": 0, "area": float(area[i]),
             "bbox": [0.0, 0.0, 300.0, 300.0], "num_keypoints": int(vis[i].sum()),
             "keypoints": np.concatenate([gt[i], flags[i][:, None]], axis=1).ravel().tolist()}
            for i in range(n)
        ],
    }  # fmt: skip
    api.createIndex()
    dets = api.loadRes(
        [{"image_id": i, "category_id": 1, "score": 1.0,
          "keypoints": np.concatenate([pred[i], np.ones((k, 1))], axis=1).ravel().tolist()} for i in range(n)]
    )  # fmt: skip
    ev = COCOeval(api, dets, "keypoints")
    ev._prepare()
    ref = np.array([ev.computeOks(i, 1)[0, 0] for i in range(n)])
    np.testing.assert_allclose(oks(pred, gt, vis, area, COCO.oks_sigmas), ref, rtol=1e-9)
