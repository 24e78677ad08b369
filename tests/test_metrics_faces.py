"""Face metrics (hourglass.metrics.faces): NME, AUC, failure rate and CED, hand-worked and errors."""

import numpy as np
import pytest
from conftest import frozen

from hourglass.metrics import auc, ced_curve, failure_rate, nme


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
