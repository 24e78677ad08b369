"""Flip test (hourglass.codec.flip): mirrored encodings, hand-worked swaps, errors."""

import numpy as np
import pytest
import torch

from hourglass.codec import decode_heatmaps, encode_heatmaps, flip_heatmaps, flip_test
from hourglass.geometry import crop_matrix, transform_points
from hourglass.keypoints import MPII, W300

SIZE = (48, 64)  # (W, H): non-square, so a swapped axis cannot pass


@pytest.mark.parametrize("spec", [MPII, W300], ids=lambda s: s.name)
def test_flip_test_of_mirrored_encoding_recovers_original(spec):
    k = spec.num_keypoints
    w, h = SIZE
    rng = np.random.default_rng(4)
    points = np.stack([rng.uniform(6, w - 7, (2, k)), rng.uniform(6, h - 7, (2, k))], -1)
    maps, _ = encode_heatmaps(points, None, SIZE)
    # The mirrored image, through geometry: a flipped identity crop of the heatmap itself
    # (x -> W - 1 - x); its keypoint k is the original keypoint flip_index[k].
    mirror = crop_matrix([(w - 1) / 2, (h - 1) / 2], max(w, h) / 200, SIZE, flip=True)
    mirrored_points = transform_points(points, mirror)[:, list(spec.flip_index)]
    np.testing.assert_allclose(mirrored_points[:, spec.flip_index, 0], w - 1 - points[..., 0], atol=1e-9)
    mirrored_maps, _ = encode_heatmaps(mirrored_points, None, SIZE)

    np.testing.assert_allclose(flip_heatmaps(mirrored_maps, spec), maps, atol=1e-6)
    averaged = flip_test(maps, mirrored_maps, spec)
    for method in ("dark", "soft-argmax", "quarter"):
        expected, _ = decode_heatmaps(maps, method)
        np.testing.assert_allclose(decode_heatmaps(averaged, method)[0], expected, atol=1e-4)
    # A left/right symmetric layout: its mirrored image has the very same heatmaps.
    flip = np.array(spec.flip_index)
    symmetric = points[:1].copy()
    symmetric[0, flip > np.arange(k), 0] = w - 1 - symmetric[0, flip[flip > np.arange(k)], 0]
    symmetric[0, flip > np.arange(k), 1] = symmetric[0, flip[flip > np.arange(k)], 1]
    symmetric[0, flip == np.arange(k), 0] = (w - 1) / 2  # unpaired keypoints on the mirror axis
    np.testing.assert_allclose(transform_points(symmetric, mirror)[:, flip], symmetric, atol=1e-9)
    sym_maps, _ = encode_heatmaps(symmetric, None, SIZE)
    np.testing.assert_allclose(
        decode_heatmaps(flip_test(sym_maps, sym_maps, spec), "dark")[0], decode_heatmaps(sym_maps, "dark")[0], atol=1e-4
    )
    # The same with tensors and with the permutation as a plain list.
    averaged_t = flip_test(torch.from_numpy(maps), torch.from_numpy(mirrored_maps), list(spec.flip_index))
    np.testing.assert_allclose(averaged_t.numpy(), averaged, atol=1e-7)


def test_flip_heatmaps_hand_worked():
    m = np.zeros((1, 3, 2, 4), np.float32)
    m[0, 0, 1, 0] = 1.0  # keypoint 0 at (x=0, y=1)
    m[0, 2, 0, 1] = 2.0  # keypoint 2 at (x=1, y=0)
    before = m.copy()
    out = flip_heatmaps(m, [2, 1, 0])
    np.testing.assert_array_equal(m, before)
    assert out[0, 2, 1, 3] == 1.0 and out[0, 0, 0, 2] == 2.0 and out.sum() == 3.0  # x -> W - 1 - x
    np.testing.assert_array_equal(flip_heatmaps(out, [2, 1, 0]), m)  # an involution
    np.testing.assert_array_equal(flip_heatmaps(m[0], [2, 1, 0]), out[0])


def test_flip_errors():
    m = np.zeros((1, 3, 4, 4), np.float32)
    with pytest.raises(ValueError, match="K = 3"):
        flip_heatmaps(m, MPII)
    with pytest.raises(ValueError, match="involution"):
        flip_heatmaps(m, [1, 2, 0])
    with pytest.raises(TypeError, match="sequence of ints"):
        flip_heatmaps(m, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="same shape"):
        flip_test(m, m[:, :, :3], [0, 1, 2])
    with pytest.raises(TypeError, match="both"):
        flip_test(m, torch.from_numpy(m), [0, 1, 2])
