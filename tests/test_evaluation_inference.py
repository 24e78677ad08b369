"""hourglass.evaluation: network outputs (heatmaps, regression, the flip test) to image coordinates."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hourglass.data import KeypointDataset, PipelineConfig, TopDownPipeline
from hourglass.evaluation import crop_to_image, forward, to_image


class Fixed(nn.Module):
    """Returns preset outputs; ``flipped`` is returned for inputs whose marker pixel says mirrored."""

    def __init__(self, out: torch.Tensor, flipped: torch.Tensor | None = None) -> None:
        super().__init__()
        self.out, self.flipped = out, flipped

    def forward(self, x):
        mirrored = bool(x[0, 0, 0, -1] > x[0, 0, 0, 0])  # the marker sits top-left in the original
        return self.flipped if mirrored and self.flipped is not None else self.out


def _samples(subjects, size=(128, 128), flip=False):
    pipe = TopDownPipeline(PipelineConfig(input_size=size, heatmap_size=(size[0] // 4, size[1] // 4), sigma=1.5,
                                          train=False), subjects.spec)  # fmt: skip
    ds = KeypointDataset(subjects, pipe)
    return [ds[i] for i in range(len(ds))]


def test_heatmap_targets_decode_back_to_the_annotation(holdout_faces):
    samples = _samples(holdout_faces)
    heat = torch.stack([s.heatmaps for s in samples])  # (B, K, 32, 32) Gaussian targets
    out = forward(Fixed(heat[:, None]), "heatmap", torch.stack([s.image for s in samples]), holdout_faces.spec)
    center = np.stack([s.center for s in samples])
    coords, scores = to_image("heatmap", out, center, [s.scale for s in samples], input_size=(128, 128), sigma=1.5)
    err = np.linalg.norm(coords - holdout_faces.keypoints(), axis=-1)  # image pixels
    px = 200 * np.array([s.scale for s in samples])[:, None] / 32  # image pixels per heatmap pixel (~7 here)
    assert np.median(err) < 1e-3, np.median(err)
    # Gaussians cut by the heatmap border (jaw points near the crop edge) bias DARK slightly
    assert (err / px).max() < 0.1, (err / px).max()
    assert scores.shape == (6, 68) and np.all(scores > 0.85)  # exp(-0.5 / (2 * 1.5**2)) off-grid


def test_regression_targets_map_back_exactly(holdout_faces):
    samples = _samples(holdout_faces)
    u = torch.stack([s.coords_normalized for s in samples]).double()
    out = forward(Fixed(u), "regression", torch.stack([s.image for s in samples]), holdout_faces.spec)
    coords, scores = to_image(
        "regression", out, np.stack([s.center for s in samples]), [s.scale for s in samples], input_size=(128, 128)
    )
    assert np.abs(coords - holdout_faces.keypoints()).max() < 1e-3  # float32 targets
    assert np.isnan(scores).all()  # no confidence, not a made-up 1.0


def test_regression_flip_test_unmirrors(holdout_faces):
    samples = _samples(holdout_faces[:1])
    image = samples[0].image[None].clone()
    image[..., 0, 0] = 10.0  # marker: the original has it top-left, the mirror top-right
    u = samples[0].coords_normalized[None]
    mirrored = u[:, list(holdout_faces.spec.flip_index)].clone()
    mirrored[..., 0] = 1 - mirrored[..., 0]  # what a perfect model predicts for the mirrored crop
    out = forward(Fixed(u, mirrored), "regression", image, holdout_faces.spec, flip=True)
    assert torch.allclose(out, u, atol=1e-6)
    wrong = forward(Fixed(u, u), "regression", image, holdout_faces.spec, flip=True)  # an un-mirrored flip would differ
    assert not torch.allclose(wrong, u, atol=1e-3)


def test_channels_last_and_bf16_forward_stay_float32_and_close():
    """prepare_model + forward: channels-last equals NCHW to float32 rounding; bf16 output is float32 and near."""
    import copy

    from hourglass.evaluation import prepare_model
    from hourglass.keypoints import get_spec
    from hourglass.models import build_model

    torch.manual_seed(0)
    model = build_model("hourglass2", channels=32, num_keypoints=68, input_size=64).eval()
    spec = get_spec("300w")
    x = torch.randn(2, 3, 64, 64)
    with torch.inference_mode():
        plain = forward(model, "heatmap", x, spec, flip=True, precision="fp32")
        fast = prepare_model(copy.deepcopy(model), "cpu")
        assert fast.stem[0].weight.is_contiguous(memory_format=torch.channels_last)
        cl = forward(fast, "heatmap", x, spec, flip=True, precision="fp32")
        bf16 = forward(fast, "heatmap", x, spec, flip=True, precision="bf16")
    torch.testing.assert_close(cl, plain, rtol=1e-4, atol=1e-5)
    assert bf16.dtype == torch.float32 and (bf16 - plain).abs().max() < 0.1 * plain.abs().max()


def test_auto_precision_keeps_the_listed_models_in_float32():
    from types import SimpleNamespace

    from hourglass.evaluation import FP32_MODELS, inference_precision
    from hourglass.runtime import resolve_precision

    listed = SimpleNamespace(name=sorted(FP32_MODELS)[0], device=torch.device("cpu"))
    other = SimpleNamespace(name="my-run", device=torch.device("cpu"))
    assert inference_precision(listed) == "fp32" and inference_precision(listed, "bf16") == "bf16"
    assert inference_precision(other) == resolve_precision("auto", "cpu")


def test_the_samples_own_matrices_map_back_as_the_crop_parameters_do(holdout_faces):
    """crop_to_image (evaluation, through each Sample's matrix) and to_image (from centre, scale and
    rotation) are one mapping; on rotated, non-square crops too."""
    from hourglass.data.pipeline import Augmentation
    from hourglass.geometry import crop_matrix

    pipe = TopDownPipeline(PipelineConfig(input_size=(96, 128), heatmap_size=(24, 32), sigma=1.5, train=False),
                           holdout_faces.spec)  # fmt: skip
    heat = torch.rand(len(holdout_faces), 68, 32, 24)
    rotation = np.array([0.0, 30.0, -75.0, 120.0, 5.0, 180.0])
    matrix = np.stack([
        crop_matrix(a.center, a.scale, (96, 128), r) for a, r in zip(holdout_faces, rotation)
    ])  # fmt: skip
    center, scale = np.stack([a.center for a in holdout_faces]), np.array([a.scale for a in holdout_faces])
    for kind, out in (("heatmap", heat), ("regression", torch.rand(len(holdout_faces), 68, 2))):
        a, sa = to_image(kind, out, center, scale, rotation, input_size=(96, 128), sigma=1.5)
        b, sb = crop_to_image(kind, out, matrix, input_size=(96, 128), sigma=1.5)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(sa, sb)
    sample = pipe.apply(np.zeros((300, 300, 3), np.uint8), np.zeros((68, 2)), np.zeros(68, bool),
                        center[0], scale[0], Augmentation())  # fmt: skip
    np.testing.assert_allclose(sample.matrix, matrix[0], rtol=0, atol=1e-12)  # what evaluation passes
