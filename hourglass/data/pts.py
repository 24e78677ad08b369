"""Landmark ``.pts`` files as written by the 300-W annotation tools: :func:`read_pts`.

Coordinates
-----------
300-W ``.pts`` files are 1-based (MATLAB style: the centre of the top-left pixel is (1, 1)).
:func:`read_pts` returns the file's numbers untouched; the loaders (:mod:`hourglass.data.w300`)
convert them once with :func:`hourglass.geometry.from_one_based`, so every
:class:`~hourglass.data.records.Annotation` holds 0-based pixel-centre coordinates (see
:mod:`hourglass.geometry`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from hourglass.data.records import DataError

__all__ = ["read_pts"]


def _pts_error(path: Path, line: int | str, message: str) -> DataError:
    return DataError(f"{path}:{line}: {message}")


class _Header(NamedTuple):
    """What precedes the point lines of a ``.pts`` file."""

    pos: int  # index in the non-blank lines of the first line after the header and '{'
    n_declared: int | None  # the header's n_points, or None without a header
    n_line: int  # line of n_points (0: none)
    open_line: int | None  # line of the '{', or None for a bare list


def _nonblank_lines(path: Path) -> list[tuple[int, str]]:
    """The file's non-blank lines as (1-based line number, stripped text), any line endings."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"landmark file {path} does not exist; check the dataset root and layout") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read the file ({e.strerror})") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a text file (byte {e.start} is not UTF-8); a .pts file is plain text") from None
    # Number lines the way an editor does, whatever the line endings; keep only non-blank ones.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    items = [(i + 1, s.strip()) for i, s in enumerate(lines) if s.strip()]
    if not items:
        raise DataError(f"{path}: the file is empty; re-download or re-extract it")
    return items


def _header_key(path: Path, ln: int, key: str, value: str, s: str) -> int | None:
    """Check one header line ``key: value``; the n_points value, or None for ``version``."""
    if key == "version":
        if value != "1":
            raise _pts_error(path, ln, f"unsupported .pts version {value!r}; only 'version: 1' is known")
        return None
    if key == "n_points":
        try:
            n_declared = int(value)
        except ValueError:
            raise _pts_error(path, ln, f"n_points must be an integer, got {value!r}") from None
        if n_declared < 0:
            raise _pts_error(path, ln, f"n_points must not be negative, got {n_declared}")
        return n_declared
    raise _pts_error(path, ln, f"unexpected header line {s!r}; expected 'version: 1', 'n_points: N' or '{{'")


def _parse_header(path: Path, items: list[tuple[int, str]]) -> _Header:
    """The optional ``key: value`` header and the ``{`` opening the point list."""
    if items[0][1] == "{":
        return _Header(1, None, 0, items[0][0])
    if ":" not in items[0][1]:
        return _Header(0, None, 0, None)
    pos = 0
    n_declared: int | None = None
    n_line = 0
    seen: set[str] = set()
    while pos < len(items) and ":" in items[pos][1]:  # header "key: value" lines up to "{"
        ln, s = items[pos]
        key, _, value = (part.strip() for part in s.partition(":"))
        key = key.lower()
        if key in seen:
            raise _pts_error(path, ln, f"header key {key!r} appears twice")
        seen.add(key)
        n = _header_key(path, ln, key, value, s)
        if key == "n_points":
            n_declared, n_line = n, ln
        pos += 1
    if n_declared is None:
        raise _pts_error(path, items[0][0], "the header has no 'n_points: N' line; add it or remove the header")
    if pos == len(items):
        raise _pts_error(path, items[-1][0], "the file ends after the header: missing '{' and the points")
    if items[pos][1] != "{":
        ln, s = items[pos]
        raise _pts_error(path, ln, f"missing '{{' after the header: expected '{{' to open the point list, got {s!r}")
    return _Header(pos + 1, n_declared, n_line, items[pos][0])


def _point_lines(path: Path, items: list[tuple[int, str]], header: _Header) -> tuple[list[tuple[int, str]], int | None]:
    """The point lines after the header, and the line of the closing ``}`` (None: no braces)."""
    pos = header.pos
    point_items: list[tuple[int, str]] = []
    close_line: int | None = None
    while pos < len(items):
        ln, s = items[pos]
        pos += 1
        if s == "}":
            if header.open_line is None:
                raise _pts_error(path, ln, "'}' without an opening '{'")
            close_line = ln
            break
        if s == "{":
            raise _pts_error(path, ln, "unexpected second '{'")
        point_items.append((ln, s))
    if header.open_line is not None and close_line is None:
        raise _pts_error(
            path,
            items[-1][0],
            f"missing '}}' closing the point list opened on line {header.open_line}; the file may be truncated",
        )
    if pos < len(items):
        ln, s = items[pos]
        raise _pts_error(path, ln, f"unexpected content after the closing '}}': {s!r}")
    return point_items, close_line


def _parse_points(path: Path, point_items: list[tuple[int, str]]) -> np.ndarray:
    """(P, 2) float64 points from the ``x y`` lines; DataError naming the first bad line."""
    rows = [s.split() for _, s in point_items]
    for (ln, s), row in zip(point_items, rows, strict=True):
        if len(row) != 2:
            raise _pts_error(path, ln, f"expected two numbers 'x y' separated by whitespace, got {len(row)} in {s!r}")
    try:
        points = np.array(rows, dtype=np.float64).reshape(len(rows), 2)
    except ValueError:
        for (ln, _), row in zip(point_items, rows, strict=True):  # error path only: find the offending line
            for token in row:
                try:
                    float(token)
                except ValueError:
                    raise _pts_error(
                        path, ln, f"{token!r} is not a number; fix the value or re-download the file"
                    ) from None
        raise  # pragma: no cover  (numpy and float() accept the same numbers)
    bad = np.flatnonzero(~np.all(np.isfinite(points), axis=1))
    if bad.size:
        ln, s = point_items[bad[0]]
        raise _pts_error(path, ln, f"point {bad[0]} is not finite ({s!r}); every landmark needs a position")
    return points


def read_pts(path: str | Path, num_points: int | None = 68) -> np.ndarray:
    """Read a landmark ``.pts`` file as written by the 300-W annotation tools.

    Accepted: the header form (``version: 1`` / ``n_points: N`` / ``{`` / N lines ``x y`` /
    ``}``), a bare list of ``x y`` lines, or a bare list between ``{`` and ``}``; any line
    endings (LF, CRLF, CR), blank lines and surrounding whitespace.

    Args:
        path: the ``.pts`` file.
        num_points: expected number of points (68 for 300-W), or None for any count.

    Returns:
        (P, 2) float64 points (x, y) exactly as written: 300-W files are 1-based, convert with
        :func:`hourglass.geometry.from_one_based`.

    Raises:
        FileNotFoundError: the file does not exist.
        DataError: the file is malformed; the message names the file and line: a point count
            that disagrees with ``n_points`` or ``num_points``, a non-numeric, NaN or infinite
            value, a line without exactly two numbers, a missing ``{`` or ``}``.
    """
    path = Path(path)
    if num_points is not None and (isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < 1):
        raise ValueError(f"num_points must be a positive integer or None, got {num_points!r}")
    items = _nonblank_lines(path)
    header = _parse_header(path, items)
    point_items, close_line = _point_lines(path, items, header)
    points = _parse_points(path, point_items)

    n = len(points)
    last = point_items[-1][0] if point_items else (close_line or items[-1][0])
    if header.n_declared is not None and n != header.n_declared:
        raise _pts_error(
            path,
            header.n_line,
            f"the header says n_points: {header.n_declared} but {n} point lines were read (up to line {last}); "
            "the file is truncated or its header is wrong",
        )
    if num_points is not None and n != num_points:
        raise _pts_error(
            path,
            header.n_line or last,
            f"{n} points, expected {num_points}; this is not a {num_points}-point file "
            "(300-W has 68 landmarks; pass num_points= for another landmark set)",
        )
    if n == 0:
        raise _pts_error(path, last, "the file holds no points")
    return points
