"""The convolutional architectures on real data, through the ``netchain`` command: LeNet-5 on
the MNIST set's fixed 8,000 / 2,000 split and the small CNN on the bundled 8x8 digits."""

from __future__ import annotations

import contextlib
import re

import pytest

from netchain.cli import main
from netchain.models import MODELS, digits_cnn, lenet


@pytest.fixture
def one_blas_thread():
    """Training runs with one BLAS thread: the test workers already share the cores, and a
    BLAS product split over two threads waits for the second one whenever the machine is
    busy (ten times slower on a loaded two-core machine). The results are the same."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - comes with scikit-learn
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(1, user_api="blas")
    with limits:
        yield


def _accuracy(output: str) -> float:
    match = re.search(r"test accuracy: ([0-9.]+)", output)
    assert match, output
    return float(match.group(1))


def test_registry_entries():
    assert MODELS["lenet"].input_form == "image" and MODELS["lenet"].data == ("mnist",)
    assert MODELS["lenet"].defaults["mnist"]["max_training_rounds"] == 10
    assert MODELS["cnn"].input_form == "image" and "digits" in MODELS["cnn"].data
    # 32x32 inputs (the original LeNet-5's) need no padding: the same 5x5 maps at the end
    assert lenet((1, 32, 32)).layers[5].output_shapes[0] == (16, 5, 5)
    assert digits_cnn((1, 8, 8)).output_shape == (10,)
    with pytest.raises(ValueError, match="ConvolutionLayer at position 4"):
        lenet((1, 8, 8))


@pytest.mark.slow
def test_lenet_on_mnist_reaches_98_percent_in_10_rounds(
    mnist_paths, tmp_path, capsys, one_blas_thread
):
    images, labels = mnist_paths
    out = tmp_path / "mnist-lenet.safetensors"
    args = ["--data", "mnist", "--images", str(images), "--labels", str(labels)]
    status = main(["train", "--net", "lenet", *args, "--quiet", "--out", str(out)])
    assert status == 0
    text = capsys.readouterr().out
    assert "trained 10 rounds" in text
    assert "8000 training and 2000 test examples of shape (1, 28, 28)" in text
    accuracy = _accuracy(text)
    assert accuracy >= 0.98
    # the saved net reloads to the same accuracy
    assert main(["evaluate", str(out)]) == 0
    assert _accuracy(capsys.readouterr().out) == accuracy


@pytest.mark.slow
def test_small_cnn_on_digits_reaches_98_percent(tmp_path, capsys, one_blas_thread):
    out = tmp_path / "digits-cnn.safetensors"
    assert main(["train", "--net", "cnn", "--data", "digits", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "(1, 8, 8)" in text
    assert _accuracy(text) >= 0.98
