"""datasets/compact_lspet.py: LSPET cut to each person's window, same layout, same subjects."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import cv2
import numpy as np
import pytest
import scipy.io

from hourglass.data.lsp import load_lsp, split_indices

REPO = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("compact_lspet", REPO / "datasets" / "compact_lspet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _person(points: list[tuple[float, float]], flags: list[int] | None = None) -> np.ndarray:
    """(14, 3) LSPET rows: the given 1-based points, the rest unlabelled placeholders (0, 0, flag 0)."""
    rows = np.zeros((14, 3))
    for k, (x, y) in enumerate(points):
        rows[k] = (x, y, 1 if flags is None else flags[k])
    return rows


def test_window_by_hand():
    window = _module().window
    # 0-based joints span x 199..219, y 499..539: centre (209, 519), longer side 40, half-side 1.3 * 40 + 2 = 54
    person = _person([(200, 500), (220, 540)])
    assert window(person, 1000, 1000, 1.3) == (209 - 54, 519 - 54, 209 + 54 + 1, 519 + 54 + 1)
    assert window(person, 250, 560, 1.3) == (155, 465, 250, 560)  # clipped to the image
    assert window(_person([]), 300, 200, 1.3) == (0, 0, 300, 200)  # nobody labelled: the whole image
    # unlabelled placeholders (flag 0) do not widen the window
    assert window(_person([(200, 500), (220, 540), (-200, -200)], [1, 1, 0]), 1000, 1000, 1.3) == window(
        person, 1000, 1000, 1.3
    )


def test_compact_copy_keeps_every_subject(shared_data, tmp_path, capsys):
    src = shared_data("lspet")
    out = tmp_path / "compact"
    assert _module().main([str(src), str(out), "--only-split", "val"]) == 0
    copied, cut = map(int, re.search(r"(\d+) images copied, (\d+) cut to", capsys.readouterr().out).groups())
    assert copied + cut == 500 and cut > copied  # most windows are smaller than their image
    _, val = split_indices(5000, 0.1, seed=0)  # the held-out image numbers, whatever the folder holds
    assert sorted(p.name for p in (out / "images").iterdir()) == [f"im{i + 1:05d}.jpg" for i in val]
    original = load_lsp(src, split="val", padding=1.15)
    compact = load_lsp(out, split="val", padding=1.15)
    assert len(original) == len(compact) == 500
    joints = scipy.io.loadmat(src / "joints.mat")["joints"]
    window = _module().window
    diffs = []
    for a, b in zip(original, compact):
        assert a.image.name == b.image.name and a.scale == b.scale
        np.testing.assert_array_equal(a.labelled, b.labelled)
        # the same person relative to the crop centre: the window moved both by an integer offset
        np.testing.assert_allclose(a.keypoints - a.center, b.keypoints - b.center, atol=1e-9)
        offset = a.center - b.center
        np.testing.assert_allclose(offset, np.round(offset), atol=1e-9)
        if len(diffs) < 40:  # the pixels: the original's window, re-encoded with its own tables
            image = cv2.imread(str(a.image))
            x0, y0, x1, y1 = window(joints[:, :, a.image_id - 1].astype(float), image.shape[1], image.shape[0], 1.3)
            assert (x0, y0) == tuple(np.round(offset).astype(int))
            cut = cv2.imread(str(b.image))
            assert cut.shape == (y1 - y0, x1 - x0, 3)
            diffs.append(np.abs(cut.astype(float) - image[y0:y1, x0:x1]).mean())
    assert np.mean(diffs) < 0.8 and max(diffs) < 4.0  # JPEG re-encoding only (measured 0.60 / 3.3)


def test_an_output_folder_with_images_is_refused(shared_data, tmp_path, capsys):
    """A second copy into the same folder would leave the first one's images beside joints that no
    longer match them."""
    out = tmp_path / "compact"
    assert _module().main([str(shared_data("lspet")), str(out), "--only-split", "val"]) == 0
    with pytest.raises(SystemExit) as e:
        _module().main([str(shared_data("lspet")), str(out), "--only-split", "train"])
    assert e.value.code == 2 and f"{out / 'images'} already holds images" in capsys.readouterr().err
    assert len(list((out / "images").iterdir())) == 500  # untouched


def test_quality_reencodes_smaller(shared_data, tmp_path):
    src = shared_data("lspet")
    kept, low = tmp_path / "kept", tmp_path / "low"
    assert _module().main([str(src), str(kept), "--only-split", "val", "--margin", "1.1"]) == 0
    assert _module().main([str(src), str(low), "--only-split", "val", "--margin", "1.1", "--quality", "40"]) == 0

    def size(root: Path) -> int:
        return sum(p.stat().st_size for p in (root / "images").iterdir())

    assert size(low) < 0.8 * size(kept)
    assert len(load_lsp(low, split="val")) == 500


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--margin", "0"], "--margin must be positive"), (["--quality", "0"], "--quality must be in 1..100")],
)
def test_bad_options(shared_data, tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as e:
        _module().main([str(shared_data("lspet")), str(tmp_path / "x"), *extra])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_not_an_lspet_root(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _module().main([str(tmp_path), str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and f"{tmp_path / 'joints.mat'} does not exist" in err and "LSPET root" in err
