"""The shipped weights reproduce their model cards.

For every file in ``weights/``: its SHA-256 is the one in the card's table, the held-out
metrics stored in the file (by ``tools/pack_weights.py``) are the ones the card prints, and,
where the real data is present, evaluating the file again on its held-out split in float32
(``precision="fp32"``, the precision ``tools/pack_weights.py`` stores; the library's default
``"auto"`` may run bfloat16, whose figures the cards list separately) gives those metrics
(to 1e-6). The card must print the stored metrics to half a unit of its last printed digit
(0.005 percentage points).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import REPO, data_root

from hourglass.weights import file_sha256, list_weights, load_model

CARDS = REPO / "weights" / "README.md"
SHIPPED = [name for name in list_weights() if (REPO / "weights" / f"{name}.pt").is_file()]
HALF_DIGIT = 0.5e-4  # the cards print percentages with 2 decimals


def card_row(name: str) -> list[str]:
    """The cells of the card table's row for ``name.pt``."""
    for line in CARDS.read_text().splitlines():
        if line.startswith(f"| `{name}.pt` |"):
            return [cell.strip() for cell in line.strip().strip("|").split("|")]
    raise AssertionError(f"weights/README.md has no table row for {name}.pt")


def percents(cell: str) -> list[float]:
    """The percentages in a table cell, as fractions ('4.84 % / 6.75 %' -> [0.0484, 0.0675])."""
    return [float(v) / 100 for v in re.findall(r"(\d+(?:\.\d+)?) %", cell)]


def headline(metrics: dict, key: str) -> list[float]:
    """The card's numbers for one evaluation ('plain' or 'flip'), in the card's order."""
    tables = metrics[key]["tables"]
    if "nme_interocular" in tables:
        return [tables[k]["all"] for k in ("nme_interocular", "nme_interpupil", "auc@0.08", "fr@0.08")]
    return [metrics[key]["value"]]


@pytest.fixture(scope="module", params=SHIPPED or [None])
def shipped(request):
    if request.param is None:
        pytest.skip("no weights are shipped in weights/")
    return request.param, load_model(request.param)


def test_card_has_the_files_hash(shipped):
    name, loaded = shipped
    cells = card_row(name)
    assert f"`{file_sha256(loaded.path)}`" in cells, f"the card's SHA-256 for {name}.pt is stale"


def test_card_prints_the_metrics_stored_in_the_file(shipped):
    name, loaded = shipped
    assert loaded.metrics and "plain" in loaded.metrics, f"{name}.pt carries no held-out metrics"
    printed = [v for cell in card_row(name) for v in percents(cell)]
    stored = headline(loaded.metrics, "plain")
    assert len(printed) >= len(stored)
    np.testing.assert_allclose(printed[: len(stored)], stored, atol=HALF_DIGIT, rtol=0)


def test_file_reproduces_its_held_out_metrics_in_float32(shipped):
    from hourglass.evaluation import evaluate, evaluation_set, predict_dataset

    name, loaded = shipped
    root = data_root() / loaded.config.dataset
    if not root.is_dir():
        pytest.skip(f"real data {root} is not present (set HOURGLASS_DATA to the shared data folder)")
    subjects = evaluation_set(loaded.config, data_root=root)
    assert subjects.name == loaded.metrics["split"] and len(subjects) == loaded.metrics["subjects"]
    for key, flip in (("plain", False), ("flip", True)):
        report = evaluate(predict_dataset(loaded, subjects, flip=flip, progress=False, precision="fp32"), subjects)
        measured = {"tables": {k: v for k, v in report.tables.items() if not k.endswith("_text")}}
        measured["value"] = report.value
        np.testing.assert_allclose(  # the same file on the same data: equal up to float summation order
            headline({key: measured}, key), headline(loaded.metrics, key), atol=1e-6, rtol=0, err_msg=key
        )


def test_file_reproduces_its_presence_calibration(shipped):
    """A heatmap model's stored presence threshold is what calibrate_presence measures again."""
    from hourglass.evaluation import evaluation_set
    from hourglass.evaluation.presence import calibrate_presence

    name, loaded = shipped
    stored = loaded.metrics.get("presence")
    if loaded.output_kind != "heatmap":
        assert stored is None and loaded.presence_threshold is None  # a regressor has no presence score
        return
    assert stored and loaded.presence_threshold == stored["threshold"], f"{name}.pt carries no presence calibration"
    root = data_root() / loaded.config.dataset
    if not root.is_dir():
        pytest.skip(f"real data {root} is not present (set HOURGLASS_DATA to the shared data folder)")
    again = calibrate_presence(loaded, evaluation_set(loaded.config, data_root=root))
    for key in ("threshold", "positives_kept", "negatives_passed", "auc"):
        assert again[key] == pytest.approx(stored[key], abs=1e-6), key
    assert (again["positives"], again["negatives"]) == (stored["positives"], stored["negatives"])
