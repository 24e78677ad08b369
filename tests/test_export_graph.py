"""hourglass.export.graph: the wrapped graph that is exported (last stack, matrix adaptive pooling)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from _helpers import MODELS, small_model

from hourglass.export import InferenceWrapper
from hourglass.export.graph import _adaptive_pool_matrix


def test_adaptive_pool_matrix_by_hand_and_against_torch():
    # 3 -> 2 bins: [0, 2) and [1, 3)
    expected = torch.tensor([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    assert torch.equal(_adaptive_pool_matrix(3, 2), expected)
    x = torch.randn(2, 4, 8, 13)
    for out in [(7, 7), (7, 5), (3, 13), (16, 20)]:  # shrinking, non-dividing, identity, growing
        pooled = _adaptive_pool_matrix(8, out[0]) @ x @ _adaptive_pool_matrix(13, out[1]).T
        torch.testing.assert_close(pooled, F.adaptive_avg_pool2d(x, out), atol=1e-6, rtol=0)


@pytest.mark.parametrize("key", list(MODELS))
def test_inference_wrapper_output(key):
    model = small_model(key).eval()
    wrapper = InferenceWrapper(model)
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        full, out = model(x), wrapper(x)
    if key == "hourglass":
        assert (wrapper.kind, wrapper.output_name) == ("heatmap", "heatmaps")
        assert out.shape == (3, 5, 16, 16) and torch.equal(out, full[:, -1])
    else:
        assert (wrapper.kind, wrapper.output_name) == ("regression", "coords")
        assert out.shape == (3, 5, 2)
        torch.testing.assert_close(out, full, atol=1e-6, rtol=0)


def test_wrapper_rejects_other_modules():
    with pytest.raises(TypeError, match="StackedHourglass or a VGGRegressor"):
        InferenceWrapper(torch.nn.Conv2d(3, 5, 1))
