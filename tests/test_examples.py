"""The course's examples in examples/ run and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    "script, expected",
    [
        ("linear_layer.py", "equal: a linear layer is y = W x + b"),
        ("xor.py", "NetChain([16, Ramp, 1])"),
        ("gradient_descent.py", "after 200 steps"),
    ],
)
def test_example_runs(script, expected):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout
