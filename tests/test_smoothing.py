"""hourglass.smoothing.OneEuroFilter: a hand-worked step, jitter against lag, missing values, errors."""

import math

import numpy as np
import pytest

from hourglass.smoothing import OneEuroFilter


def test_a_step_worked_by_hand():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0, d_cutoff=1.0)
    assert f(np.array([0.0]), 0.0).tolist() == [0.0]  # the first frame passes as it is
    a = 1.0 / (1.0 + 1.0 / (2.0 * math.pi * 1.0 * 0.1))  # 0.38586
    np.testing.assert_allclose(f(np.array([1.0]), 0.1), [a], rtol=0, atol=1e-12)
    np.testing.assert_allclose(f(np.array([1.0]), 0.2), [a + (1 - a) * a], rtol=0, atol=1e-12)


def test_speed_opens_the_cutoff():
    """With beta > 0 the filter follows fast motion: the cutoff is min_cutoff + beta * |speed|."""
    f = OneEuroFilter(min_cutoff=1.0, beta=0.5, d_cutoff=1.0)
    f(np.array([0.0]), 0.0)
    dt = 1 / 30
    ad = 1.0 / (1.0 + 1.0 / (2.0 * math.pi * 1.0 * dt))
    speed = ad * (10.0 - 0.0) / dt
    a = 1.0 / (1.0 + 1.0 / (2.0 * math.pi * (1.0 + 0.5 * speed) * dt))
    np.testing.assert_allclose(f(np.array([10.0]), dt), [a * 10.0], rtol=0, atol=1e-12)


def test_less_jitter_on_a_still_point_and_less_lag_with_beta():
    rng = np.random.default_rng(0)
    t = np.arange(300) / 30.0
    noise = rng.normal(0.0, 0.5, (300, 17, 2))
    still = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    out = np.stack([still(noise[i], t[i]) for i in range(300)])
    assert out[30:].std() < noise[30:].std() / 2  # the jitter of a still point more than halves
    ramp = 100.0 * t  # 100 px/s
    lag = {}
    for beta in (0.0, 0.05):
        f = OneEuroFilter(min_cutoff=1.0, beta=beta)
        lag[beta] = ramp[-1] - [f(np.array([r]), s) for r, s in zip(ramp, t)][-1][0]
    assert 0 < lag[0.05] < lag[0.0] / 3


def test_missing_values_pass_and_restart_their_coordinate():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    f(np.array([0.0, 0.0]), 0.0)
    out = f(np.array([np.nan, 1.0]), 0.1)
    assert np.isnan(out[0]) and 0 < out[1] < 1
    out = f(np.array([5.0, 1.0]), 0.2)
    assert out[0] == 5.0  # restarted: the new value as it is


def test_errors_name_the_value():
    with pytest.raises(ValueError, match="min_cutoff must be a positive number"):
        OneEuroFilter(min_cutoff=0)
    with pytest.raises(ValueError, match="beta must be a finite number >= 0"):
        OneEuroFilter(beta=-1)
    f = OneEuroFilter()
    f(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="frame times must increase"):
        f(np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match=r"changed shape from \(2, 2\) to \(3, 2\)"):
        f(np.zeros((3, 2)), 2.0)
    f.reset()
    assert f(np.ones((3, 2)), 0.0).shape == (3, 2)


def test_follow_keeps_each_subjects_row_when_the_order_changes():
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    a, b = np.zeros((1, 2)), np.full((1, 2), 100.0)
    f(np.stack([a, b]), 0.0)
    f.follow(np.array([1, 0]))  # the detector now lists b first
    out = f(np.stack([b + 1, a + 1]), 0.1)
    assert 100 < out[0, 0, 0] < 101 and 0 < out[1, 0, 0] < 1  # each smoothed with its own past
    f.follow(np.array([-1, 0]))  # a new subject in row 0, b continues in row 1
    out = f(np.stack([a + 50, b + 2]), 0.2)
    assert out[0, 0, 0] == 50 and 100 < out[1, 0, 0] < 102


def test_video_subjects_are_matched_by_their_nearest_centre():
    from hourglass.annotate.process import _match

    before = np.array([[0.0, 0.0], [100.0, 0.0]])
    now = np.array([[98.0, 1.0], [300.0, 0.0], [2.0, -1.0]])
    np.testing.assert_array_equal(_match(before, now, np.full(3, 20.0)), [1, -1, 0])
    assert _match(before, np.zeros((0, 2)), np.zeros(0)).shape == (0,)
