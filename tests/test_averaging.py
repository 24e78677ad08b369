"""Weight averaging: hourglass.engine.averaging, --keep-epochs and tools/average_weights.py."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.conftest import make_checkpoint, tiny_mpii_config


def test_average_states_is_the_elementwise_mean_and_keeps_integer_entries():
    a = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor(3)}
    b = {"w": torch.tensor([3.0, 6.0]), "n": torch.tensor(7)}
    c = {"w": torch.tensor([2.0, 1.0]), "n": torch.tensor(9)}
    from hourglass.engine.averaging import average_states

    out = average_states([a, b, c])
    assert torch.equal(out["w"], torch.tensor([2.0, 3.0]))
    assert out["w"].dtype == torch.float32
    assert int(out["n"]) == 9  # from the last state
    halves = [{"w": torch.tensor([v], dtype=torch.float16)} for v in (1.0, 2.0)]
    half = average_states(halves)
    assert half["w"].dtype == torch.float16 and float(half["w"]) == 1.5


def test_average_states_errors_name_the_entry():
    from hourglass.engine.averaging import average_states

    with pytest.raises(ValueError, match="at least one checkpoint"):
        average_states([])
    with pytest.raises(ValueError, match=r"state 0 has different entries.*'v'"):
        average_states([{"v": torch.zeros(1)}, {"w": torch.zeros(1)}])
    with pytest.raises(ValueError, match=r"state 1: w has shape \(2,\), the last one \(3,\)"):
        average_states([{"w": torch.zeros(3)}, {"w": torch.zeros(2)}, {"w": torch.zeros(3)}])


def test_recalibrate_batchnorm_measures_the_population_statistics():
    from hourglass.engine.averaging import recalibrate_batchnorm

    bn = nn.BatchNorm2d(2, momentum=0.1)
    net = nn.Sequential(bn)
    g = torch.Generator().manual_seed(0)
    batches = [torch.randn(4, 2, 3, 3, generator=g) * 2 + 5 for _ in range(3)]
    seen = recalibrate_batchnorm(net, batches)
    assert seen == 12
    everything = torch.cat(batches)
    # momentum=None is the cumulative average of the per-batch statistics (equal batches: the pooled mean)
    assert torch.allclose(bn.running_mean, everything.mean(dim=(0, 2, 3)), atol=1e-6)
    per_batch_var = torch.stack([b.var(dim=(0, 2, 3), unbiased=True) for b in batches]).mean(0)
    assert torch.allclose(bn.running_var, per_batch_var, atol=1e-5)
    assert bn.momentum == 0.1 and not net.training
    with pytest.raises(ValueError, match="no images"):
        recalibrate_batchnorm(net, [])
    assert recalibrate_batchnorm(nn.Sequential(nn.Conv2d(1, 1, 1)), [torch.zeros(1, 1, 2, 2)]) == 0


def test_keep_epochs_then_average_and_pack(shared_data, tmp_path, one_thread, capsys):
    """A 2-epoch run keeps epoch001.pt and epoch002.pt; their average (batch norm measured
    again on the training crops) loads, evaluates and differs from either input."""
    from hourglass.checkpoint import load_checkpoint
    from hourglass.engine import train
    from hourglass.weights import load_model
    from tools import average_weights

    root = shared_data("mpii")
    run = tmp_path / "run"
    train(tiny_mpii_config(root, run, keep_epochs=True), progress=False)
    kept = sorted(p.name for p in run.glob("epoch*.pt"))
    assert kept == ["epoch001.pt", "epoch002.pt"]
    e1, e2 = load_checkpoint(run / "epoch001.pt"), load_checkpoint(run / "epoch002.pt")
    assert (e1["epoch"], e1["step"], e2["epoch"], e2["step"]) == (1, 2, 2, 4)

    out = tmp_path / "swa.pt"
    argv = [str(run), "--last", "2", "--out", str(out), "--batch-size", "2", "--no-progress"]
    assert average_weights.main(argv) == 0  # 5 people: 2 batches of 2, the fifth left out
    avg = load_checkpoint(out)
    assert [a["file"] for a in avg["averaged_from"]] == kept and avg["batchnorm_images"] == 4
    assert "optimizer" not in avg
    w = next(k for k, v in avg["model"].items() if v.is_floating_point() and "running" not in k)
    assert torch.allclose(avg["model"][w], (e1["model"][w] + e2["model"][w]) / 2)
    stats = [k for k in avg["model"] if k.endswith("running_mean")]
    assert stats and not torch.allclose(avg["model"][stats[0]], (e1["model"][stats[0]] + e2["model"][stats[0]]) / 2)
    loaded = load_model(out)
    assert loaded.model(torch.zeros(1, 3, 64, 64))[-1].shape == (1, 16, 16, 16)

    from tools import pack_weights

    # packing under the averaged checkpoint's own name would overwrite it with its half copy
    assert pack_weights.main([str(out), "--name", "swa", "--out-dir", str(tmp_path), "--no-progress"]) == 2
    assert "is the checkpoint being packed" in capsys.readouterr().err
    assert load_checkpoint(out)["model"][w].dtype == torch.float32
    argv = [str(out), "--name", "swa", "--out-dir", str(tmp_path / "w"), "--split", "test_mpii", "--no-progress"]
    assert pack_weights.main(argv) == 2  # the run trained on test_mpii: scoring it there is refused
    assert "5 of the 5 evaluation subjects are in the training data" in capsys.readouterr().err
    assert pack_weights.main([*argv, "--allow-overlap"]) == 0
    packed = load_model(tmp_path / "w" / "swa.pt")
    assert packed.metrics["subjects"] > 0 and set(packed.metrics) >= {"plain", "flip"}
    assert packed.metrics["training_overlap"]["subjects"] == 5  # the file says what its numbers measure


def test_average_weights_tool_errors(tmp_path, capsys):
    from tools import average_weights

    a = make_checkpoint(tmp_path / "a.pt")
    b = make_checkpoint(tmp_path / "b.pt", spec_name="lsp")
    run = tmp_path / "run"
    run.mkdir()
    cases = [
        ([str(run), "--out", str(tmp_path / "o.pt")], "is a run folder: add --last N"),
        ([str(run), "--last", "3", "--out", str(tmp_path / "o.pt")], "holds 0 epoch checkpoints"),
        ([str(a), "--last", "2", "--out", str(tmp_path / "o.pt")], "--last takes one run folder"),
        ([str(a), "--out", str(tmp_path / "o.pt")], "at least two checkpoints"),
        ([str(a), str(b), "--out", str(tmp_path / "o.pt")], "different arch"),
        ([str(a), str(a), "--out", str(a)], "is one of the inputs"),
        ([str(a), str(tmp_path / "missing.pt"), "--out", str(tmp_path / "o.pt")], "missing.pt does not exist"),
    ]
    for argv, message in cases:
        assert average_weights.main(argv) == 2, argv
        assert message in capsys.readouterr().err
