"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.mark.parametrize("number", range(len(BLOCKS)))
def test_readme_block_runs(number, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # blocks may save files
    exec(compile(BLOCKS[number], f"README.md block {number + 1}", "exec"), {})


def test_readme_names_the_quick_start_commands():
    text = README.read_text()
    assert "netchain train" in text and "python -m pytest -q -n 2" in text
