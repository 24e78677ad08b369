"""The README's Python examples run as written."""

import re

from conftest import REPO


def python_blocks():
    text = (REPO / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_examples_and_they_run():
    blocks = python_blocks()
    assert len(blocks) >= 2
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_readme_opens_with_the_two_setup_commands():
    first = (REPO / "README.md").read_text().split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert first[0].startswith("bash tools/setup.sh && .venv/bin/python tools/")
    assert first[1].startswith("bash tools/setup.sh && .venv/bin/python -m pytest")
    ci = (REPO / ".ci" / "run").read_text()
    assert first[1].split("#")[0].strip() in ci
