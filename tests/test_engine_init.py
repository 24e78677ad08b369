"""Starting a run from trained weights (``init_from``) and the LSP/LSPET crop padding (``crop_padding``)."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest
import torch
from conftest import make_checkpoint, tiny_mpii_config

from hourglass import Predictor
from hourglass.data import load_dataset
from hourglass.engine import TrainConfig, build_model_from_config, load_checkpoint, train
from hourglass.engine.build import load_initial_weights, load_sets
from hourglass.evaluation import evaluation_set
from hourglass.keypoints import LSP, MPII


# --- crop_padding ----------------------------------------------------------------------------
def test_crop_padding_is_checked_and_only_for_joint_framed_datasets():
    config = TrainConfig(dataset="lspet", crop_padding=1.3)
    assert config.loader_options() == {"padding": 1.3} and config.loader_options("lsp") == {"padding": 1.3}
    assert config.loader_options("mpii") == {}  # another dataset frames its own people
    assert TrainConfig(dataset="lspet").loader_options() == {}
    assert TrainConfig.from_dict(config.to_dict()) == config
    for bad in (0, -1.0, float("nan"), "1.3", True):
        with pytest.raises(ValueError, match="crop_padding must be a positive finite number"):
            TrainConfig(dataset="lspet", crop_padding=bad)
    with pytest.raises(ValueError, match=r"crop_padding 1.3 applies to .*lsp, lspet.*not 'mpii'"):
        TrainConfig(dataset="mpii", crop_padding=1.3)


def test_training_and_evaluation_frame_lspet_people_with_the_padding(shared_data):
    root = shared_data("lspet")
    config = TrainConfig(
        dataset="lspet", data_root=str(root), train_split="train", val_split="val", crop_padding=1.3,
        max_train_samples=20, max_val_samples=20,
    )  # fmt: skip
    train_set, val_set, _ = load_sets(config, log=False)
    default_train = load_dataset("lspet", root, "train")[:20]
    default_val = load_dataset("lspet", root, "val")[:20]
    for got, ref in ((train_set, default_train), (val_set, default_val)):
        np.testing.assert_allclose([a.scale for a in got], [a.scale * 1.3 / 1.6 for a in ref], rtol=1e-12)
        np.testing.assert_array_equal([a.center for a in got], [a.center for a in ref])
    evaluated = evaluation_set(config, max_samples=20)
    np.testing.assert_allclose([a.scale for a in evaluated], [a.scale for a in val_set], rtol=0)


def test_predictor_frames_people_with_the_models_padding(tmp_path):
    plain = Predictor.from_checkpoint(make_checkpoint(tmp_path / "a.pt", spec_name="lsp"))
    tight = Predictor.from_checkpoint(make_checkpoint(tmp_path / "b.pt", spec_name="lsp", crop_padding=1.2))
    image = np.zeros((200, 160, 3), np.uint8)
    box = [[30.0, 20.0, 60.0, 150.0]]
    for kw in (dict(boxes=box), dict(whole_image=True)):
        (_, _, c0, s0, _), (_, _, c1, s1, _) = plain.subjects(image, **kw), tight.subjects(image, **kw)
        np.testing.assert_array_equal(c1, c0)
        np.testing.assert_allclose(s1, s0 * 1.2 / 1.6, rtol=1e-12)


# --- init_from --------------------------------------------------------------------------------
def test_initial_weights_are_copied_and_mismatches_are_named(tmp_path):
    source = make_checkpoint(tmp_path / "src.pt", spec_name="mpii", seed=7)
    config = TrainConfig(stacks=1, channels=16, input_size=64, dataset="mpii", init_from=str(source))
    torch.manual_seed(0)
    model = build_model_from_config(config, 16)
    assert load_initial_weights(config, model, MPII) == str(source)
    saved = load_checkpoint(source)["model"]
    for name, value in model.state_dict().items():
        assert torch.equal(value, saved[name]), name

    wider = config.replace(channels=32)
    with pytest.raises(ValueError, match=r"src\.pt.*'channels': 16.*'channels': 32.*same model options"):
        load_initial_weights(wider, build_model_from_config(wider, 16), MPII)
    lsp_sized = make_checkpoint(tmp_path / "lsp.pt", spec_name="lsp")
    other = config.replace(init_from=str(lsp_sized))
    with pytest.raises(ValueError, match=r"keypoint spec 'lsp' \(14 points\).*training data has 'lsp-renamed'"):
        load_initial_weights(other, build_model_from_config(other, 14), dataclasses.replace(LSP, name="lsp-renamed"))
    blob = torch.load(source, weights_only=True)
    key = next(k for k in blob["model"] if k.endswith("running_var"))
    blob["model"][key][0] = float("inf")
    torch.save(blob, tmp_path / "overflowed.pt")
    broken = config.replace(init_from=str(tmp_path / "overflowed.pt"))
    with pytest.raises(ValueError, match=rf"overflowed\.pt\): non-finite values in \['{key}'\]"):
        load_initial_weights(broken, build_model_from_config(broken, 16), MPII)


def test_a_deeper_hourglass_grows_from_fewer_stacks_and_fewer_is_an_error(tmp_path, caplog):
    source = make_checkpoint(tmp_path / "one.pt", spec_name="mpii", seed=3)  # a 1-stack hourglass
    deeper = TrainConfig(stacks=2, channels=16, input_size=64, dataset="mpii", init_from=str(source))
    model = build_model_from_config(deeper, 16)
    with caplog.at_level(logging.INFO, logger="hourglass.engine"):
        load_initial_weights(deeper, model, MPII, log=True)
    assert f"initialised the model from {source} (grown from 1 stack: stack 2 copies stack 1)" in caplog.text
    saved = load_checkpoint(source)["model"]
    for name, value in model.state_dict().items():
        if name.startswith(("hourglasses.1.", "features.1.", "heads.1.")):
            assert torch.equal(value, saved[name.replace(".1.", ".0.", 1)]), name
        elif name.startswith("merge_"):
            assert not value.any(), name
        else:
            assert torch.equal(value, saved[name]), name

    two = tmp_path / "two.pt"  # the grown 2-stack model, saved
    torch.save({**load_checkpoint(source), "model": model.state_dict(), "arch": model.arch}, two)
    fewer = deeper.replace(stacks=1, init_from=str(two))
    with pytest.raises(ValueError, match=r"'name': 'hourglass2'.*configured model is \{'name': 'hourglass1'"):
        load_initial_weights(fewer, build_model_from_config(fewer, 16), MPII)
    wider = deeper.replace(stacks=4, channels=32)  # more stacks and other channels: no growing
    with pytest.raises(ValueError, match=r"'channels': 16.*'channels': 32"):
        load_initial_weights(wider, build_model_from_config(wider, 16), MPII)


def test_a_larger_input_grows_deeper_hourglasses_and_other_sizes_are_an_error(tmp_path, caplog):
    source = make_checkpoint(tmp_path / "one.pt", spec_name="mpii", seed=4)  # 64 px, depth 2, 1 stack
    saved = load_checkpoint(source)["model"]
    larger = TrainConfig(stacks=2, channels=16, input_size=128, dataset="mpii", init_from=str(source))
    model = build_model_from_config(larger, 16)
    assert model.depth == 3
    with caplog.at_level(logging.INFO, logger="hourglass.engine"):
        load_initial_weights(larger, model, MPII, log=True)
    assert (
        f"initialised the model from {source} (grown from 1 stack: stack 2 copies stack 1) (grown from 64x64 px "
        "at depth 2 to 128x128 px at depth 3: new outer hourglass levels start as the identity; fine-tune it)"
    ) in caplog.text
    for name, value in model.state_dict().items():
        if name.startswith("hourglasses."):
            stack, _, rest = name[len("hourglasses.") :].partition(".")
            if rest.startswith("inner."):  # the trained hourglass, one level down, in both stacks
                assert torch.equal(value, saved[f"hourglasses.0.{rest[len('inner.') :]}"]), name
            elif ".conv3." in name:
                assert not value.any(), name
        elif name.startswith(("features.1.", "heads.1.")):  # stack 2 copies stack 1
            assert torch.equal(value, saved[name.replace(".1.", ".0.", 1)]), name
        elif not name.startswith("merge_"):
            assert torch.equal(value, saved[name]), name

    for size in (96, 256):  # not 64 times a power of two with one more level each, or two levels more
        other = larger.replace(input_size=size)
        net = build_model_from_config(other, 16)
        if size == 256:
            load_initial_weights(other, net, MPII)  # 64 -> 256 px: depth 2 -> 4, fine
            assert net.depth == 4
            continue
        with pytest.raises(ValueError, match=r"'input_size': \[64, 64\], 'depth': 2.*'input_size': \[96, 96\]"):
            load_initial_weights(other, net, MPII)
    smaller = make_checkpoint(tmp_path / "big.pt", spec_name="mpii", input_size=128)
    shrink = larger.replace(stacks=1, input_size=64, init_from=str(smaller))  # no shrinking
    with pytest.raises(ValueError, match=r"'input_size': \[128, 128\], 'depth': 3.*configured model"):
        load_initial_weights(shrink, build_model_from_config(shrink, 16), MPII)


def test_a_run_starts_from_the_weights_and_a_wrong_name_fails_before_the_data(shared_data, tmp_path, one_thread,
                                                                               caplog):  # fmt: skip
    root = shared_data("mpii")
    first = train(tiny_mpii_config(root, tmp_path / "first", epochs=1), progress=False)
    config = tiny_mpii_config(root, tmp_path / "second", epochs=1, max_steps=1, lr=1e-30,
                              init_from=str(first.run_dir))  # fmt: skip
    with caplog.at_level(logging.INFO, logger="hourglass.engine"):
        train(config, progress=False)
    assert f"initialised the model from {first.run_dir}" in caplog.text
    before = load_checkpoint(first.run_dir / "last.pt")["model"]
    after = load_checkpoint(tmp_path / "second" / "last.pt")["model"]
    for name, value in after.items():  # one step at lr 1e-30 leaves the initial weights
        if value.is_floating_point() and "running" not in name:
            torch.testing.assert_close(value, before[name], rtol=1e-6, atol=1e-6)

    missing = tiny_mpii_config(tmp_path / "no-data", tmp_path / "third", init_from=str(tmp_path / "nope.pt"))
    with pytest.raises(FileNotFoundError, match=r"no model .*nope\.pt"):
        train(missing, progress=False)


def test_a_shipped_half_precision_file_initialises_a_float_model():
    from hourglass.weights import load_model

    shipped = load_model("lspet-hg2")
    config = shipped.config.replace(init_from="lspet-hg2")
    model = build_model_from_config(config, LSP.num_keypoints)
    load_initial_weights(config, model, LSP)
    for name, value in model.state_dict().items():
        reference = shipped.model.state_dict()[name]
        assert value.dtype == reference.dtype and torch.equal(value, reference), name


def test_the_grown_start_benchmark_scores_the_trained_and_the_grown_model(shared_data, tmp_path, capsys, one_thread):
    from benchmarks.grown_start import main

    root = shared_data("lspet")
    source = make_checkpoint(tmp_path / "body.pt", spec_name="lspet", data_root=str(root), val_split="val")
    args = [str(source), "--input-size", "128", "--sigma", "2", "--max-samples", "3"]
    assert main(args) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("trained", "grown"))]
    assert [line.split(":")[0] for line in lines] == ["trained", "grown"]
    assert "64x64 px, depth 2: pck@0.2 = " in lines[0] and "128x128 px, depth 3: pck@0.2 = " in lines[1]
    assert all(line.endswith("% on 3 subjects") for line in lines)
    with pytest.raises(SystemExit):  # a size that is not the trained one times a power of two
        main([str(source), "--input-size", "96", "--max-samples", "3"])
    assert "'input_size': [64, 64]" in capsys.readouterr().err
