"""Temporal smoothing of keypoints in video: the One-Euro filter (Casiez, Roussel, Vogel, CHI 2012).

Each coordinate is low-pass filtered with a cutoff that rises with its speed: slow motion
(jitter around a still point) is smoothed hard, fast motion passes with little lag. Per
frame, with ``dt`` the time since the previous frame::

    alpha(fc) = 1 / (1 + 1 / (2 pi fc dt))
    dx_hat    = alpha(d_cutoff) * (x - x_hat_prev) / dt + (1 - alpha(d_cutoff)) * dx_hat_prev
    fc        = min_cutoff + beta * |dx_hat|
    x_hat     = alpha(fc) * x + (1 - alpha(fc)) * x_hat_prev

``min_cutoff`` (Hz) sets the smoothing of a still point (lower: smoother, more lag), ``beta``
how fast the cutoff opens with speed (higher: less lag on fast motion), ``d_cutoff`` (Hz) the
smoothing of the speed estimate. Coordinates are in pixels and time in seconds, so ``beta``
is in 1 / pixel. Missing values (NaN) pass through and restart their coordinate's filter.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["OneEuroFilter"]


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    """Smoothing factor of an exponential low-pass filter with ``cutoff`` Hz at step ``dt`` s."""
    return 1.0 / (1.0 + 1.0 / (2.0 * math.pi * np.asarray(cutoff, dtype=np.float64) * dt))


class OneEuroFilter:
    """One-Euro filter over an array of any fixed shape, e.g. (N, K, 2) keypoints per frame.

    Args:
        min_cutoff: cutoff frequency (Hz) of a still coordinate; > 0.
        beta: speed coefficient (1 / pixel); >= 0 (0: a plain low-pass filter).
        d_cutoff: cutoff frequency (Hz) of the speed estimate; > 0.

    Call it with each frame's values and the frame time (seconds, increasing); it returns the
    filtered values, float64, of the same shape. :meth:`reset` forgets the past (a new
    subject, or a cut).
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        for name, value, low in (("min_cutoff", min_cutoff, 0.0), ("d_cutoff", d_cutoff, 0.0)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > low:
                raise ValueError(f"{name} must be a positive number (Hz), got {value!r}")
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (beta >= 0 and math.isfinite(beta)):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        self.min_cutoff, self.beta, self.d_cutoff = float(min_cutoff), float(beta), float(d_cutoff)
        self.reset()

    @property
    def shape(self) -> tuple[int, ...] | None:
        """Shape of the values being filtered; None before the first call or after :meth:`reset`."""
        return None if self._x is None else self._x.shape

    def follow(self, order: np.ndarray) -> None:
        """Reorder the remembered rows (first axis) so that row ``i`` continues old row ``order[i]``;
        ``order[i] < 0`` restarts row ``i`` (a new subject). The rows that come next must be in the new order."""
        if self._x is None:
            return
        order = np.asarray(order, dtype=np.int64)
        new = order >= 0
        x = np.full((len(order), *self._x.shape[1:]), np.nan)
        dx = np.zeros_like(x)
        x[new], dx[new] = self._x[order[new]], self._dx[order[new]]
        self._x, self._dx = x, dx

    def reset(self) -> None:
        """Forget the past: the next call returns its input unchanged."""
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        """Filtered ``x`` at time ``t`` (seconds); see the module docstring."""
        x = np.asarray(x, dtype=np.float64)
        if self._x is not None and x.shape != self._x.shape:
            raise ValueError(f"values changed shape from {self._x.shape} to {x.shape}; call reset() for a new subject")
        if self._t is not None and not t > self._t:
            raise ValueError(f"frame times must increase, got {t!r} after {self._t!r}")
        if self._x is None:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), float(t)
            return x.copy()
        dt = float(t) - self._t
        fresh = ~np.isfinite(self._x)  # restarted coordinates: take the new value as it is
        dx = np.where(fresh, 0.0, (x - self._x) / dt)
        dx_hat = np.where(fresh, 0.0, _alpha(self.d_cutoff, dt) * dx + (1.0 - _alpha(self.d_cutoff, dt)) * self._dx)
        a = _alpha(self.min_cutoff + self.beta * np.abs(dx_hat), dt)
        out = np.where(fresh, x, a * x + (1.0 - a) * self._x)
        missing = ~np.isfinite(x)
        self._x = np.where(missing, np.nan, out)
        self._dx = np.where(missing, 0.0, dx_hat)
        self._t = float(t)
        return out
