"""The ``--help`` of every tool: the usage text as written, plain text, and each option's default.

:class:`HelpFormatter` keeps the description's line breaks (its examples), shows the default of
every option that has one (``"(default: X)"``, unless its help already says it) and turns the
reStructuredText and Markdown markup the usage texts share with the docs into plain text:
````x```` -> ``x``, ``:func:`a.b```` -> ``a.b``, ``**x**`` -> ``x``.
"""

from __future__ import annotations

import argparse
import re

__all__ = ["HelpFormatter", "plain_text"]

_ROLE = re.compile(r":(?:func|mod|class|meth|data|attr|exc|obj):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def plain_text(text: str) -> str:
    """``text`` without the Sphinx roles, double-backquote literals and bold markers."""
    return _BOLD.sub(r"\1", _LITERAL.sub(r"\1", _ROLE.sub(r"\1", text)))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Raw description (plain text), options with their defaults; pass as ``formatter_class``."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return super()._fill_text(plain_text(text), width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        help_ = plain_text(action.help or "")
        default = action.default
        empty = default is None or default is False or default == argparse.SUPPRESS or default in ([], ())
        shown = "default" in help_.lower() or empty or not action.option_strings
        return help_ if shown else f"{help_} (default: %(default)s)".strip()
