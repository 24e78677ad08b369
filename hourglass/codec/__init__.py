"""Heatmap codec: keypoints <-> Gaussian heatmaps, flip test, heatmap -> image coordinates.

Every function here uses the pixel convention of :mod:`hourglass.geometry`: the centre of
heatmap pixel (column i, row j) is at (x, y) = (i, j), so the argmax index of a heatmap *is*
its coordinate and a map of size (W, H) covers ``[-0.5, W - 0.5) x [-0.5, H - 0.5)``. No +-0.5
is added anywhere. (The popular implementations disagree here: after the quarter-pixel step
some add +0.5, some subtract 0.5 and some add nothing, and several truncate the final image
coordinates to integers. Their numbers are reproduced by shifting this package's float output,
never by changing it.)

Encoding is *unbiased* (DARK): the Gaussian sits at the exact sub-pixel keypoint, evaluated at
the pixel centres. Decoding offers four methods, see :func:`decode_heatmaps`. Round trip on a
48x64 map with sigma 2 (points at least 3 sigma inside; ``tests/test_codec_decode.py``): mean
absolute error per coordinate 1e-5 px for ``dark``, 0.0024 px for ``soft-argmax``, 0.125 px
for ``quarter`` and 0.25 px for ``argmax``. Within about 3 sigma of the map border every
method is worse (the Gaussian is cut off there). DARK's zero-padded blur (as in its reference
code) errs by up to 0.82 px there at sigma 2, more than the quarter rule; so within 3 px of the
border, where a map's unblurred 3x3 log is a quadratic (an exact Gaussian), DARK steps on the
unblurred map: on exact Gaussians its mean and largest error are then no worse than the
quarter rule's (at most 0.5 px within 2 px of the border, where the argmax sits on it, and
0.013 px (0.11 px) from there to 3 sigma at sigma 1.5 (2)). Other maps keep the blur.

All functions are pure and batched: B batch, K keypoints, H/W heatmap height and width,
coordinates are (x, y) and a size tuple is (W, H). They take numpy arrays or torch tensors
(CPU or CUDA) and return the same kind; tensors stay on their device and inputs are never
modified. Internally everything is computed with torch (numpy inputs are wrapped without a
copy), with two CPU shortcuts: the argmax is taken by numpy, which is several times faster
than torch's on many short rows, and large outputs are allocated by numpy, which asks the
kernel for huge pages.

Everything public is re-exported here; import it from :mod:`hourglass.codec`. The code lives in
:mod:`~hourglass.codec.encode` (encoding), :mod:`~hourglass.codec.decode` (decoding and
heatmap -> image coordinates), :mod:`~hourglass.codec.flip` (flip test) and
:mod:`~hourglass.codec.peaks` (the flat-heatmap check), on the shared
array plumbing of ``_tensors``.
"""

from __future__ import annotations

from hourglass.codec.decode import DECODE_METHODS, decode_heatmaps, heatmap_to_image
from hourglass.codec.encode import encode_heatmaps
from hourglass.codec.flip import flip_heatmaps, flip_test
from hourglass.codec.peaks import FLAT_PEAK_FRACTION, flat_heatmap_warning, heatmap_peaks, presence_score

__all__ = [
    "DECODE_METHODS",
    "encode_heatmaps",
    "decode_heatmaps",
    "flip_heatmaps",
    "flip_test",
    "heatmap_to_image",
    "FLAT_PEAK_FRACTION",
    "flat_heatmap_warning",
    "heatmap_peaks",
    "presence_score",
]
