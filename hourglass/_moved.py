"""Aliases for modules that moved, kept for one release (see CHANGELOG.md)."""

from __future__ import annotations

import importlib
import sys
import warnings


def alias_module(old: str, new: str) -> None:
    """Make ``import old`` give module ``new``, with a DeprecationWarning naming the new place."""
    warnings.warn(
        f"{old} moved to {new}; import it from there (the old name goes in the next release)",
        DeprecationWarning,
        stacklevel=3,
    )
    sys.modules[old] = importlib.import_module(new)
