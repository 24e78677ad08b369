"""hourglass.data.load_dataset picks the right loader from a dataset root."""

import pytest

from hourglass.data import load_dataset


def test_load_by_name(shared_data):
    assert len(load_dataset("300w", shared_data("300w"), "train")) == 1207
    assert len(load_dataset("mpii", shared_data("mpii"), "valid")) == 2958
    assert len(load_dataset("mpii", shared_data("mpii"), "test_mpii")) == 5
    root = shared_data("lspet")
    assert len(load_dataset("lspet", root, "all")) == len(list((root / "images").glob("im*.jpg")))


def test_custom_example():
    from conftest import REPO

    ds = load_dataset("custom", REPO / "datasets" / "custom_example" / "annotations.json", "all")
    assert len(ds) >= 2


def test_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset 'wflw'; choose one of 300w"):
        load_dataset("wflw", tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="dataset root .*nope does not exist"):
        load_dataset("mpii", tmp_path / "nope", "train")
    with pytest.raises(FileNotFoundError, match=r"no MPII split 'train' under .*annot/train.json, annot/train.h5"):
        load_dataset("mpii", tmp_path, "train")
