"""MPII PCKh table (hourglass.metrics.pckh): hand-worked cases, errors, and the reproduction against
independent transcriptions of the published evaluation scripts on the real validation ground truth."""

import numpy as np
import pytest
import scipy.io
from conftest import frozen

from hourglass.keypoints import MPII
from hourglass.metrics import MEAN_CONVENTIONS, pckh_table


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
    with pytest.raises(ValueError, match=r"got neither of headboxes and head_sizes; pass the head boxes"):
        pckh_table(pred, gt, mask)
    with pytest.raises(ValueError, match="got both"):
        pckh_table(pred, gt, mask, boxes, head_sizes=[30.0, 30.0])
    with pytest.raises(ValueError, match=r"head_sizes must have shape \(N,\) = \(2,\)"):
        pckh_table(pred, gt, mask, head_sizes=[30.0])


def test_pckh_table_from_head_sizes():
    """Head sizes given directly (MPII valid.h5's normalize) give the table the head boxes give."""
    pred, gt, mask, boxes = toy_mpii_case()
    by_size = pckh_table(pred, gt, mask, head_sizes=np.array([30.0, 30.0]))
    assert by_size.as_dict() == pckh_table(pred, gt, mask, boxes).as_dict()
    # Person 1's head size 45: r_ankle, 20 px off, is within 0.5 x 45 = 22.5 px; head_factor applies to boxes only.
    t = pckh_table(pred, gt, mask, head_sizes=[30.0, 45.0], head_factor=0.1)
    assert t.as_dict()["Ankle"] == 1.0 and t.means[0] == 1.0


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
