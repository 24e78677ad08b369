"""300-W ``.pts`` files: the reader returns the file's numbers, bad files name the file and the line."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import POINTS, pts_text, with_point_line, write_face

from hourglass.data.pts import read_pts
from hourglass.data.records import DataError


def test_read_pts_header_returns_file_values(tmp_path):
    pts = write_face(tmp_path, "a")
    np.testing.assert_array_equal(read_pts(pts), POINTS)  # untouched 1-based values


def test_read_pts_without_header(tmp_path):
    pts = write_face(tmp_path, "bare", pts_text(header=False))
    np.testing.assert_array_equal(read_pts(pts), POINTS)


def test_read_pts_crlf_blank_lines_and_whitespace(tmp_path):
    text = pts_text(newline="\r\n").replace("{\r\n", "{  \r\n\r\n", 1).replace("\r\n}", "\t\r\n\r\n}")
    pts = write_face(tmp_path, "crlf", "\r\n" + text + "\r\n \r\n")
    np.testing.assert_array_equal(read_pts(pts), POINTS)


def test_read_pts_other_count_when_asked(tmp_path):
    pts = write_face(tmp_path, "five", pts_text(POINTS[:5]))
    assert read_pts(pts, num_points=5).shape == (5, 2)
    assert read_pts(pts, num_points=None).shape == (5, 2)


@pytest.mark.parametrize(
    "text, line, message",
    [
        (pts_text(POINTS[:67]), 2, "67 points, expected 68"),  # a consistent 67-point file
        (pts_text(POINTS[:67], n_points=68), 2, "n_points: 68 but 67 point lines"),
        (pts_text(POINTS[:67], header=False), 67, "67 points, expected 68"),
        (with_point_line(9, "1O2.5 7"), 13, "'1O2.5' is not a number"),
        (with_point_line(9, "nan 7"), 13, "point 9 is not finite"),
        (with_point_line(9, "7 -inf"), 13, "point 9 is not finite"),
        (with_point_line(9, "1 2 3"), 13, "expected two numbers.*got 3"),
        (with_point_line(9, "12.5"), 13, "expected two numbers.*got 1"),
        (with_point_line(9, "1,2"), 13, "expected two numbers.*got 1"),
        (pts_text().replace("}\n", ""), 71, "missing '}' closing the point list opened on line 3"),
        (pts_text().replace("{\n", ""), 3, "missing '{' after the header"),
        (pts_text() + "extra\n", 73, "unexpected content after the closing '}'"),
        (pts_text().replace("version: 1", "version: 2"), 1, "unsupported .pts version"),
        (pts_text().replace("n_points:  68", "n_points: many"), 2, "n_points must be an integer"),
        (pts_text(header=False) + "}\n", 69, "'}' without an opening '{'"),
        ("version: 1\nn_points: 68\n", 2, "ends after the header"),
    ],
)
def test_read_pts_errors_name_file_and_line(tmp_path, text, line, message):
    pts = write_face(tmp_path, "bad", text)
    with pytest.raises(DataError, match=message) as err:
        read_pts(pts)
    assert str(err.value).startswith(f"{pts}:{line}: ")


def test_read_pts_empty_and_missing(tmp_path):
    with pytest.raises(DataError, match=r"empty\.pts.*empty"):
        read_pts(write_face(tmp_path, "empty", "\n\n"))
    with pytest.raises(FileNotFoundError, match="gone.pts"):
        read_pts(tmp_path / "gone.pts")
    with pytest.raises(ValueError, match="num_points"):
        read_pts(write_face(tmp_path, "a"), num_points=0)
