"""PCK and COCO OKS (hourglass.metrics.body): hand-worked cases, borders, errors, pycocotools parity."""

import numpy as np
import pytest
from conftest import frozen

from hourglass.keypoints import COCO, LSP, W300
from hourglass.metrics import body_tilt, left_right_inversions, mirror_oracle, oks, pck, pck_curve, pck_per_image


def toy_pck_case():
    """Two samples, three keypoints, normalisers 10 and 20.

    sample 0: errors 3 (offset 3,0), 5 (offset 3,4), 8 -> scaled 0.3, 0.5, 0.8
    sample 1: errors 12, 0, keypoint 2 unlabelled (NaN there) -> scaled 0.6, 0.0
    """
    gt = np.zeros((2, 3, 2))
    pred = np.array([[[3.0, 0.0], [3.0, 4.0], [0.0, 8.0]], [[12.0, 0.0], [0.0, 0.0], [np.nan, np.nan]]])
    mask = np.array([[True, True, True], [True, True, False]])
    return frozen(pred, gt, mask, [10.0, 20.0])


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


def test_left_right_inversions_hand_worked():
    """Keypoints 0 (left) and 1 (right) are a pair, 2 (centre) has none; normaliser 10, threshold 0.2 (2 px).

    sample 0: left GT (0, 0), right GT (10, 0), centre GT (5, 10)
      left predicted at (9, 0): 9 px off, 1 px from the right GT -> an inversion
      right predicted at (10, 1): 1 px off -> correct
      centre predicted at (5, 20): 10 px off; no counterpart -> a miss, never an inversion
    sample 1: left GT (0, 0), right GT (30, 0) unlabelled, centre GT (5, 10)
      left predicted at (30, 0): 30 px off, on the unlabelled right GT -> a miss, not an inversion
      centre predicted at (5, 12): 2 px off, the tie counts as correct
    """
    gt = np.array([[[0, 0], [10, 0], [5, 10]], [[0, 0], [30, 0], [5, 10]]], dtype=float)
    pred = np.array([[[9, 0], [10, 1], [5, 20]], [[30, 0], [0, 0], [5, 12]]], dtype=float)
    mask = np.array([[True, True, True], [True, False, True]])
    pred, gt, mask = frozen(pred, gt, mask)
    r = left_right_inversions(pred, gt, mask, [10.0, 10.0], [1, 0, 2], threshold=0.2)
    np.testing.assert_array_equal(r.counts, [1, 0, 0])
    np.testing.assert_allclose(r.rate, [0.5, 0.0, 0.0])  # of 2, 1 and 2 evaluated
    assert r.mean == pytest.approx(1 / 5) and r.threshold == 0.2
    # PCK: right and the second centre correct, 2 of 5; misses: both lefts and the first centre
    assert pck(pred, gt, mask, [10.0, 10.0], 0.2).mean == pytest.approx(2 / 5)
    assert r.share_of_misses == pytest.approx(1 / 3)
    # a strict threshold turns the 2 px tie of sample 1's centre into a miss, not an inversion
    strict = left_right_inversions(pred, gt, mask, [10.0, 10.0], [1, 0, 2], threshold=0.2, inclusive=False)
    assert strict.share_of_misses == pytest.approx(1 / 4)
    # a sample without a normaliser is left out; no evaluated keypoint at all: NaN
    assert left_right_inversions(pred, gt, mask, [np.nan, 10.0], [1, 0, 2]).mean == 0.0
    assert np.isnan(left_right_inversions(pred, gt, mask, [np.nan, np.nan], [1, 0, 2]).mean)


def test_mirror_oracle_hand_worked():
    """Keypoints 0 (left) and 1 (right) are a pair, 2 (centre) has none; normaliser 10, threshold 0.2 (2 px).

    sample 0: the whole prediction mirrored (left on the right GT and the other way round),
      centre right: 1 of 3 correct as predicted, 3 of 3 relabelled -> swapped
    sample 1: left right, right 5 px off, centre right: 2 of 3 as predicted; relabelled, the
      left gets (15, 0), 15 px off, and the right (0, 1), 10 px off: 1 of 3 -> kept
    sample 2: both sides predicted on the left GT: one of the pair is correct either way,
      2 of 3 both ways -> kept (a tie)
    sample 3: the right unlabelled; the left predicted on it: relabelling puts the right's
      prediction (on the left GT) in the left's place -> 1 of 2 becomes 2 of 2 -> swapped
    """
    gt = np.array([[[0, 0], [10, 0], [5, 10]]] * 4, dtype=float)
    pred = np.array([
        [[10, 0], [0, 0], [5, 11]],
        [[0, 1], [15, 0], [5, 10]],
        [[0, 1], [0, 1.5], [5, 10]],
        [[10, 0], [0, 0], [5, 10]],
    ], dtype=float)  # fmt: skip
    mask = np.array([[True] * 3] * 3 + [[True, False, True]])
    pred, gt, mask = frozen(pred, gt, mask)
    r = mirror_oracle(pred, gt, mask, [10.0] * 4, [1, 0, 2], threshold=0.2)
    np.testing.assert_array_equal(r.mirrored, [True, False, False, True])
    assert r.share_mirrored == pytest.approx(2 / 4) and r.threshold == 0.2
    # left: all 4 correct; right: only sample 0 (swapped) of 3 labelled; centre: all 4
    np.testing.assert_allclose(r.per_keypoint, [1.0, 1 / 3, 1.0])
    assert r.mean == pytest.approx(9 / 11)
    assert pck(pred, gt, mask, [10.0] * 4, 0.2).mean == pytest.approx(6 / 11)  # as predicted
    # a prediction that scores perfectly is never swapped, and the oracle is then plain PCK
    perfect = mirror_oracle(gt, gt, mask, [10.0] * 4, [1, 0, 2])
    assert not perfect.mirrored.any() and perfect.mean == 1.0
    # samples without a normaliser are left out of both counts; none left: NaN
    part = mirror_oracle(pred, gt, mask, [10.0, np.nan, np.nan, np.nan], [1, 0, 2])
    assert part.share_mirrored == 1.0 and part.mean == 1.0
    assert np.isnan(mirror_oracle(pred, gt, mask, [np.nan] * 4, [1, 0, 2]).mean)
    with pytest.raises(ValueError, match="flip_index must be a permutation of 0..2"):
        mirror_oracle(pred, gt, mask, [10.0] * 4, [1, 1, 2])


def test_mirror_oracle_borders():
    """The threshold tie, a NaN prediction where a partner is unlabelled, a sample with nothing labelled."""
    gt = np.array([[[0, 0], [10, 0], [5, 10]]] * 3, dtype=float)
    pred = np.array([
        [[10, 2], [0, 0], [5, 10]],  # relabelled: the left lands exactly 2 px (0.2 x 10) off
        [[10, 0], [np.nan, np.nan], [5, 10]],  # right unlabelled and predicted NaN
        [[0, 0], [10, 0], [5, 10]],  # nothing labelled below
    ])  # fmt: skip
    mask = np.array([[True, True, True], [True, False, True], [False, False, False]])
    pred, gt, mask = frozen(pred, gt, mask)
    inclusive = mirror_oracle(pred, gt, mask, [10.0, 10.0, 10.0], [1, 0, 2])
    # sample 0 relabelled: 3 of 3 with <= (the tie counts), 2 of 3 with <, against 1 of 3 as predicted
    np.testing.assert_array_equal(inclusive.mirrored, [True, False, False])
    strict = mirror_oracle(pred, gt, mask, [10.0, 10.0, 10.0], [1, 0, 2], inclusive=False)
    np.testing.assert_array_equal(strict.mirrored, [True, False, False])
    # left: sample 0 of 2 either way; right (labelled in sample 0 only): the 2 px tie decides
    np.testing.assert_allclose(inclusive.per_keypoint[:2], [0.5, 1.0])
    np.testing.assert_allclose(strict.per_keypoint[:2], [0.5, 0.0])
    # sample 1: relabelling puts the NaN right prediction on the left: a miss, not an error, so kept
    # (1 of 2 as predicted: the centre); sample 2 has no labelled joint and is not counted at all
    assert inclusive.share_mirrored == pytest.approx(1 / 2)
    assert inclusive.mean == pytest.approx((3 + 1) / 5)


def test_left_right_inversions_flip_index_errors():
    pred = gt = np.zeros((1, 3, 2))
    for bad in ([1, 0], [1, 1, 2], [0.0, 1.0, 2.0], [1, 0, 3]):
        with pytest.raises(ValueError, match="flip_index must be a permutation of 0..2"):
            left_right_inversions(pred, gt, None, [1.0], bad)


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


def _lsp_person(shoulders_mid, hips_mid, half_width=(4.0, 0.0)):
    """An LSP skeleton with only the shoulders and hips placed, around the two given middles."""
    kp = np.zeros((14, 2))
    w = np.asarray(half_width)
    kp[8], kp[9] = np.asarray(shoulders_mid) - w, np.asarray(shoulders_mid) + w  # r, l shoulder
    kp[2], kp[3] = np.asarray(hips_mid) - w, np.asarray(hips_mid) + w  # r, l hip
    return kp


def test_body_tilt_hand_worked():
    """Image y points down: shoulders above the hips (smaller y) is upright, 0 degrees."""
    gt = np.stack([
        _lsp_person((50, 10), (50, 40)),  # upright
        _lsp_person((50, 40), (50, 10)),  # upside down
        _lsp_person((10, 20), (40, 20)),  # lying, head to the left
        _lsp_person((70, 20), (40, 20)),  # lying, head to the right: the same tilt
        _lsp_person((60, 10), (50, 20)),  # leaning 45 degrees right
        _lsp_person((40, 30), (50, 20)),  # leaning 135 degrees (upside down, 45 off)
        _lsp_person((50, 20), (50, 20)),  # shoulders and hips at one point: no direction
        _lsp_person((50, 10), (50, 40)),  # upright, but its left hip is unlabelled
    ])  # fmt: skip
    mask = np.ones((8, 14), dtype=bool)
    mask[7, 3] = False
    gt_f, mask_f = frozen(gt, mask)
    tilt = body_tilt(gt_f, mask_f, LSP)
    np.testing.assert_allclose(tilt[:6], [0.0, 180.0, 90.0, 90.0, 45.0, 135.0], atol=1e-12)
    assert np.isnan(tilt[6]) and np.isnan(tilt[7])
    # the middles, not single joints, set the tilt: a wide stance or a rolled shoulder line is upright still
    wide = _lsp_person((50, 10), (50, 40), half_width=(30.0, 5.0))
    assert body_tilt(wide[None], None, LSP)[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="'300w' declares no torso points"):
        body_tilt(np.zeros((1, 68, 2)), None, W300)
    with pytest.raises(ValueError, match="gt has 16 keypoints but spec 'lsp' has 14"):
        body_tilt(np.zeros((1, 16, 2)), None, LSP)
    # signed: leaning right (clockwise) is positive, left negative; upside down is +180 or -180
    signed = body_tilt(gt_f, mask_f, LSP, signed=True)
    np.testing.assert_allclose(signed[:6], [0.0, 180.0, -90.0, 90.0, 45.0, -135.0], atol=1e-12)
    assert np.isnan(signed[6]) and np.isnan(signed[7])
    # middles a hair apart (float noise, not a direction) have no tilt; unlabelled NaN points are fine
    noisy = _lsp_person((50, 20 + 1e-12), (50, 20))
    assert np.isnan(body_tilt(noisy[None], None, LSP)[0])
    hidden = gt[7].copy()
    hidden[3] = np.nan
    assert np.isnan(body_tilt(hidden[None], mask[7:8], LSP)[0])
