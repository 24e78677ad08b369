"""Moved to :mod:`hourglass.evaluation` (an alias for one release)."""

from hourglass._moved import alias_module

alias_module(__name__, "hourglass.evaluation")
