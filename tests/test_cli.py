"""The netchain command: the main job on the bundled digits, MNIST, evaluate, info, --help."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from netchain.cli import main


def _accuracy(text: str) -> float:
    return float(re.search(r"test accuracy: ([0-9.]+)", text).group(1))


def test_main_job_trains_on_digits_saves_and_evaluates(tmp_path, capsys):
    out = tmp_path / "digits.safetensors"
    assert main(["train", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    acc = _accuracy(printed)
    assert acc >= 0.97
    assert "LinearLayer[128]" in printed and out.is_file()
    assert main(["evaluate", str(out)]) == 0
    assert _accuracy(capsys.readouterr().out) == acc
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "SoftmaxLayer" in info and "9610 parameters" in info and "data=digits" in info


@pytest.mark.slow
def test_mlp_on_mnist_reaches_95_percent(tmp_path, capsys, mnist_paths):
    images, labels = mnist_paths
    out = tmp_path / "mnist.safetensors"
    code = main(
        [
            "train",
            "--quiet",
            "--data",
            "mnist",
            "--images",
            str(images),
            "--labels",
            str(labels),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "8000 training and 2000 test" in printed
    assert _accuracy(printed) >= 0.95
    assert main(["evaluate", str(out)]) == 0
    assert _accuracy(capsys.readouterr().out) == _accuracy(printed)


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    assert main(["train", "--data", "mnist", "--quiet"]) == 2
    assert "--images" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a net")
    assert main(["evaluate", str(bad)]) == 2
    assert "not a saved netchain net" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.safetensors")]) == 2


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["info"]])
def test_help_on_every_subcommand(command):
    proc = subprocess.run(
        [sys.executable, "-m", "netchain.cli", *command, "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "usage: netchain" in proc.stdout
