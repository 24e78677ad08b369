"""Shared fixtures. Real data is read from ../shared/data (or $HOURGLASS_DATA) and never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    """Where the real datasets live: $HOURGLASS_DATA, else ../shared/data beside the repo."""
    return Path(os.environ.get("HOURGLASS_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture
def shared_data():
    """Path of a file or folder under the shared data root; skips the test when it is absent."""

    def get(relative: str) -> Path:
        path = data_root() / relative
        if not path.exists():
            pytest.skip(f"real data {path} is not present (set HOURGLASS_DATA to the shared data folder)")
        return path

    return get
