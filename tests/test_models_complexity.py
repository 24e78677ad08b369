"""hourglass.models.complexity: FLOP counting by hand, train/eval mode restored, errors.

The paper's parameter and FLOP counts of the hourglass are checked in tests/test_models_hourglass.py,
the VGG-16's in tests/test_models_vgg.py.
"""

from __future__ import annotations

import pytest
from torch import nn

from hourglass.models import VGGRegressor, count_flops


def test_count_flops_restores_mode_and_needs_size() -> None:
    model = VGGRegressor(num_keypoints=2, input_size=32, width=0.0625).train()
    model.head.eval()
    count_flops(model)
    assert model.training and model.features.training and not model.head.training
    with pytest.raises(ValueError, match="pass input_size"):
        count_flops(nn.Sequential(nn.Conv2d(3, 4, 3)))
    conv = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 8 * 6, 5))
    assert count_flops(conv, (6, 8)) == 2 * (4 * 8 * 6 * 3 * 9) + 2 * (5 * 4 * 8 * 6)
