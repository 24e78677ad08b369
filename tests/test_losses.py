"""Tests for hourglass.losses: hand-worked values, masking, stack summation and errors."""

from __future__ import annotations

import math

import pytest
import torch

from hourglass.losses import heatmap_mse, l1_loss, smooth_l1_loss, wing_loss

COORD_LOSSES = [l1_loss, smooth_l1_loss, wing_loss]


def _coords(*rows: tuple[float, float]) -> torch.Tensor:
    """(x, y) rows -> (1, K, 2)."""
    return torch.tensor([rows], dtype=torch.float64)


# --- heatmap_mse -------------------------------------------------------------------------


def test_heatmap_mse_hand_value_non_square() -> None:
    # B=1, K=2, H=2, W=3: keypoint 0 off by 1 at one pixel, keypoint 1 off by 2 at two pixels.
    target = torch.zeros(1, 2, 2, 3)
    pred = target.clone()
    pred[0, 0, 0, 0] = 1.0
    pred[0, 1, 1, 1] = 2.0
    pred[0, 1, 0, 2] = -2.0
    expected = (1.0 + 4.0 + 4.0) / (1 * 2 * 2 * 3)
    assert heatmap_mse(pred, target).item() == pytest.approx(expected)
    weight = torch.tensor([[0.5, 1.0]])
    assert heatmap_mse(pred, target, weight).item() == pytest.approx((0.5 + 8.0) / 12)


def test_heatmap_mse_weight_zero_masks_keypoint_and_keeps_denominator() -> None:
    torch.manual_seed(0)
    target = torch.rand(2, 3, 4, 5)
    pred = torch.rand(2, 3, 4, 5)
    mask = torch.tensor([[True, False, True], [True, True, True]])
    masked = heatmap_mse(pred, target, mask)
    # Changing the masked keypoint's prediction does not change the loss.
    pred2 = pred.clone()
    pred2[0, 1] += 10.0
    assert heatmap_mse(pred2, target, mask).item() == pytest.approx(masked.item())
    # Denominator is B*K*H*W regardless of the mask.
    manual = ((pred - target) ** 2 * mask[:, :, None, None]).sum() / (2 * 3 * 4 * 5)
    assert masked.item() == pytest.approx(manual.item())
    # Float weights of 0/1 equal the bool mask.
    assert heatmap_mse(pred, target, mask.float()).item() == pytest.approx(masked.item())


def test_heatmap_mse_sums_stacks() -> None:
    torch.manual_seed(0)
    target = torch.rand(2, 3, 4, 4)
    stacks = torch.rand(2, 4, 3, 4, 4)
    weight = torch.rand(2, 3)
    total = heatmap_mse(stacks, target, weight)
    per_stack = sum(heatmap_mse(stacks[:, s], target, weight) for s in range(4))
    assert total.item() == pytest.approx(per_stack.item())
    assert total.ndim == 0


def test_heatmap_mse_does_not_modify_inputs_and_has_gradient() -> None:
    target = torch.rand(1, 2, 3, 3)
    pred = torch.rand(1, 2, 2, 3, 3, requires_grad=True)
    weight = torch.tensor([[1.0, 0.0]])
    copies = [t.detach().clone() for t in (pred, target, weight)]
    heatmap_mse(pred, target, weight).backward()
    for original, copy in zip((pred, target, weight), copies, strict=True):
        assert torch.equal(original.detach(), copy)
    assert pred.grad is not None
    assert torch.all(pred.grad[:, :, 1] == 0)


@pytest.mark.parametrize(
    ("pred_shape", "target_shape", "weight_shape", "match"),
    [
        ((1, 2, 4, 4, 4), (1, 3, 4, 4), (1, 3), "matching target"),
        ((1, 3, 4, 5), (1, 3, 4, 4), (1, 3), "matching target"),
        ((3, 4, 4), (3, 4, 4), (1, 3), "target must have shape"),
        ((1, 3, 4, 4), (1, 3, 4, 4), (3,), "weight must have shape"),
    ],
)
def test_heatmap_mse_shape_errors(pred_shape, target_shape, weight_shape, match) -> None:
    with pytest.raises(ValueError, match=match):
        heatmap_mse(torch.zeros(pred_shape), torch.zeros(target_shape), torch.ones(weight_shape))


def test_heatmap_mse_dtype_errors() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        heatmap_mse(torch.zeros(1, 1, 2, 2, dtype=torch.long), torch.zeros(1, 1, 2, 2))
    with pytest.raises(TypeError, match="float or bool"):
        heatmap_mse(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), torch.ones(1, 1, dtype=torch.long))
    with pytest.raises(ValueError, match="non-negative"):
        heatmap_mse(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), -torch.ones(1, 1))


# --- coordinate losses -------------------------------------------------------------------


def test_l1_and_smooth_l1_hand_values() -> None:
    pred = _coords((0.0, 0.0), (3.0, -1.0))
    target = _coords((0.5, 0.0), (0.0, 0.0))
    # per keypoint |dx| + |dy|: 0.5 and 4.0, mean over keypoints
    assert l1_loss(pred, target).item() == pytest.approx((0.5 + 4.0) / 2)
    # smooth L1, beta=1: 0.5*0.25, then (3 - 0.5) + 0.5*1
    assert smooth_l1_loss(pred, target, beta=1.0).item() == pytest.approx((0.125 + 2.5 + 0.5) / 2)
    # beta=0 is L1
    assert smooth_l1_loss(pred, target, beta=0.0).item() == pytest.approx(l1_loss(pred, target).item())


def test_wing_hand_values_and_continuity() -> None:
    w, eps = 10.0, 2.0
    c = w - w * math.log(1 + w / eps)
    target = _coords((0.0, 0.0))
    # |x| = 2 < w on x, 0 on y: w * ln(1 + 2/2) = 10 ln 2
    assert wing_loss(_coords((2.0, 0.0)), target).item() == pytest.approx(10 * math.log(2))
    # |x| = 15 >= w: 15 - C, and y = -4: 10 ln 3
    assert wing_loss(_coords((15.0, -4.0)), target).item() == pytest.approx(15 - c + 10 * math.log(3))
    # continuous at |x| = w: both branches give w * ln(1 + w / eps)
    at_w = wing_loss(_coords((w, 0.0)), target).item()
    below_w = wing_loss(_coords((w - 1e-9, 0.0)), target).item()
    assert at_w == pytest.approx(w * math.log(1 + w / eps))
    assert below_w == pytest.approx(at_w, abs=1e-8)
    # units: scaling coordinates and (w, epsilon) together scales the loss
    s = 1 / 256
    scaled = wing_loss(_coords((15.0 * s, -4.0 * s)), target * s, w=w * s, epsilon=eps * s).item()
    assert scaled == pytest.approx((15 - c + 10 * math.log(3)) * s)


@pytest.mark.parametrize("loss", COORD_LOSSES)
def test_weight_zero_masks_keypoint(loss) -> None:
    torch.manual_seed(0)
    pred = torch.rand(2, 3, 2)
    target = torch.rand(2, 3, 2)
    weight = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    masked = loss(pred, target, weight)
    pred2 = pred.clone()
    pred2[0, 1] += 100.0
    pred2[1, 2] -= 100.0
    assert loss(pred2, target, weight).item() == pytest.approx(masked.item())
    # Denominator is the sum of weights: the masked mean equals the mean over kept keypoints.
    keep = weight.bool()
    kept = loss(pred[keep][None], target[keep][None])
    assert masked.item() == pytest.approx(kept.item())
    assert loss(pred, target, keep).item() == pytest.approx(masked.item())


@pytest.mark.parametrize("loss", COORD_LOSSES)
def test_all_weights_zero_gives_zero_with_finite_gradient(loss) -> None:
    pred = torch.rand(2, 3, 2, requires_grad=True)
    value = loss(pred, torch.rand(2, 3, 2), torch.zeros(2, 3, dtype=torch.bool))
    value.backward()
    assert value.item() == 0.0
    assert torch.isfinite(pred.grad).all()


@pytest.mark.parametrize("loss", COORD_LOSSES)
def test_coordinate_losses_do_not_modify_inputs(loss) -> None:
    pred, target, weight = torch.rand(2, 3, 2), torch.rand(2, 3, 2), torch.rand(2, 3)
    copies = [t.clone() for t in (pred, target, weight)]
    out = loss(pred, target, weight)
    assert out.ndim == 0
    for original, copy in zip((pred, target, weight), copies, strict=True):
        assert torch.equal(original, copy)


@pytest.mark.parametrize("loss", COORD_LOSSES)
def test_coordinate_loss_shape_errors(loss) -> None:
    with pytest.raises(ValueError, match=r"\(B, K, 2\)"):
        loss(torch.zeros(2, 3, 3), torch.zeros(2, 3, 3))
    with pytest.raises(ValueError, match=r"\(B, K, 2\)"):
        loss(torch.zeros(2, 3, 2), torch.zeros(2, 4, 2))
    with pytest.raises(ValueError, match=r"weight must have shape \(B, K\) = \(2, 3\)"):
        loss(torch.zeros(2, 3, 2), torch.zeros(2, 3, 2), torch.ones(3, 2))
    with pytest.raises(TypeError, match="floating-point"):
        loss(torch.zeros(2, 3, 2, dtype=torch.int64), torch.zeros(2, 3, 2))


def test_loss_parameter_errors() -> None:
    x = torch.zeros(1, 1, 2)
    with pytest.raises(ValueError, match="w must be > 0"):
        wing_loss(x, x, w=0.0)
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        wing_loss(x, x, epsilon=-1.0)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        smooth_l1_loss(x, x, beta=-0.1)
