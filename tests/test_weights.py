"""hourglass.weights: loading checkpoints and weight files, names, half-precision export."""

from __future__ import annotations

import pytest
import torch
from conftest import make_checkpoint

from hourglass.codec import decode_heatmaps
from hourglass.weights import export_weights, file_sha256, list_weights, load_model, resolve_weights


def test_checkpoint_loads_in_eval_mode(tmp_path):
    ckpt = make_checkpoint(tmp_path / "run" / "best.pt")
    m = load_model(ckpt)
    assert m.kind == "heatmap" and m.spec.name == "300w" and m.input_size == (64, 64) and m.heatmap_size == (16, 16)
    assert not m.model.training
    assert m.name == "run"  # checkpoints are named after their run folder
    assert load_model(tmp_path / "run", best=True).path == ckpt  # a run folder means its last.pt, or best.pt asked
    v = load_model(make_checkpoint(tmp_path / "vgg.pt", model="vgg"))
    assert v.kind == "regression" and v.heatmap_size is None and v.name == "vgg"


def test_half_precision_export_is_compact_and_close(tmp_path):
    ckpt = make_checkpoint(tmp_path / "last.pt", channels=32)
    out = export_weights(ckpt, tmp_path / "w" / "face.pt", metrics={"nme": 0.05})
    blob = torch.load(out, weights_only=True)
    assert blob["format"] == "hourglass-weights" and blob["metrics"] == {"nme": 0.05}
    assert {v.dtype for v in blob["model"].values() if v.is_floating_point()} == {torch.float16}
    assert "optimizer" not in blob
    full, half = load_model(ckpt), load_model(out)
    assert next(half.model.parameters()).dtype == torch.float32
    torch.manual_seed(1)
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        a, b = full.model(x)[:, -1], half.model(x)[:, -1]
    # fp16 rounding (relative 2**-11 per weight) moves the decoded peaks by a tiny fraction of a pixel
    ca, _ = decode_heatmaps(a, "dark")
    cb, _ = decode_heatmaps(b, "dark")
    shift = (ca - cb).norm(dim=-1)
    assert float(shift.median()) < 0.05, float(shift.median())
    assert out.stat().st_size < 0.6 * ckpt.stat().st_size
    assert len(file_sha256(out)) == 64


def test_values_beyond_float16_stay_float32(tmp_path):
    # a batch-norm variance above float16's largest value (65504) would become infinite and
    # silence its channel (it cost a 4-stack body model 2 PCK points before this was caught)
    ckpt = make_checkpoint(tmp_path / "last.pt", channels=32)
    blob = torch.load(ckpt, weights_only=True)
    key = next(k for k in blob["model"] if k.endswith("running_var"))
    blob["model"][key][0] = 7.0e4
    blob["model"][key.replace("running_var", "running_mean")][0] = 300.0
    torch.save(blob, ckpt)
    out = export_weights(ckpt, tmp_path / "w.pt")
    packed = torch.load(out, weights_only=True)["model"]
    assert packed[key].dtype == torch.float32 and float(packed[key][0]) == 7.0e4
    assert packed[key.replace("running_var", "running_mean")].dtype == torch.float16  # 300 fits
    torch.manual_seed(2)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        a, b = load_model(ckpt).model(x), load_model(out).model(x)
    assert torch.isfinite(b).all()
    assert float((a - b).abs().max()) < 1e-2 * float(a.abs().max())


def test_non_finite_weights_are_refused(tmp_path):
    ckpt = make_checkpoint(tmp_path / "last.pt")
    blob = torch.load(ckpt, weights_only=True)
    key = next(k for k, v in blob["model"].items() if v.is_floating_point())
    blob["model"][key].view(-1)[0] = float("nan")
    torch.save(blob, tmp_path / "diverged.pt")
    for read in (lambda p: export_weights(p, tmp_path / "w.pt"), load_model):
        with pytest.raises(ValueError, match=rf"diverged.pt: non-finite values in \['{key}'\].*diverged run.*pack it"):
            read(tmp_path / "diverged.pt")
    assert not (tmp_path / "w.pt").exists()


def test_names_resolve_through_the_weights_folder(tmp_path, monkeypatch):
    folder = tmp_path / "shipped"
    export_weights(make_checkpoint(tmp_path / "c.pt"), folder / "tiny-face.pt")
    monkeypatch.setenv("HOURGLASS_WEIGHTS", str(folder))
    assert list_weights() == ["tiny-face"]
    assert resolve_weights("tiny-face") == folder / "tiny-face.pt"
    assert load_model("tiny-face").name == "tiny-face"
    with pytest.raises(FileNotFoundError, match=r"no model 'nope'.*tiny-face"):
        resolve_weights("nope")


def test_bad_files_raise_clear_errors(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00garbage\xff" * 10)
    with pytest.raises(ValueError, match="bad.pt.*not a model saved by this toolkit"):
        load_model(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(ValueError, match=r"foreign.pt is not a checkpoint or weights file.*missing"):
        load_model(foreign)
    # weights of another architecture: a 32-channel state dict stored with a 16-channel arch
    ckpt = make_checkpoint(tmp_path / "a.pt", channels=16)
    other = torch.load(make_checkpoint(tmp_path / "b.pt", channels=32), weights_only=True)
    blob = torch.load(ckpt, weights_only=True)
    blob["model"] = other["model"]
    torch.save(blob, tmp_path / "mixed.pt")
    with pytest.raises(ValueError, match=r"mixed.pt: the weights do not fit the stored architecture.*wrong shape"):
        load_model(tmp_path / "mixed.pt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"holds no last.pt \(or pass a checkpoint"):
        resolve_weights(tmp_path / "empty")


def test_spec_and_arch_must_agree(tmp_path):
    blob = torch.load(make_checkpoint(tmp_path / "a.pt"), weights_only=True)
    from hourglass.keypoints import LSP

    blob["spec"] = LSP.to_dict()
    torch.save(blob, tmp_path / "c.pt")
    with pytest.raises(ValueError, match="predicts 68 keypoints but the stored spec 'lsp' has 14"):
        load_model(tmp_path / "c.pt")


def test_a_run_folder_resolves_to_last_pt_unless_best(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "best.pt").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="holds no last.pt; it holds best.pt: pass --best"):
        resolve_weights(run)
    assert resolve_weights(run, best=True) == run / "best.pt"
    (run / "last.pt").write_bytes(b"")
    assert resolve_weights(run) == run / "last.pt"
    (run / "best.pt").unlink()
    with pytest.raises(FileNotFoundError, match="holds no best.pt; it holds last.pt: leave out --best"):
        resolve_weights(run, best=True)
