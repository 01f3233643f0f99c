"""The multi-dimensional LSTM: the wavefront primitive against a cell-by-cell reference, its
gradients by finite differences in float64, the layer, and MNIST (pooled to 14 x 14).

The MNIST test trains 3 rounds (about 25 s on one core, 0.968); the full run of the example and
``netchain train --net mdlstm --data mnist`` (8 rounds) reaches 0.982."""

from __future__ import annotations

import math

import numpy as np
import pytest

from netchain import NetChain, NetInitialize, NetLoad, NetSave, NetTrain
from netchain.autodiff import check_grad, md_lstm
from netchain.autodiff.spatial_recurrent import CORNERS
from netchain.layers import MultidimensionalLSTMLayer, ShapeError
from netchain.models import MODELS, mdlstm_classifier

TOL = 1e-6


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def _sig(a):
    return 1 / (1 + np.exp(-a))


def _reference(x, Wi, Wh, b):
    """The 2-D LSTM written cell by cell, one corner at a time (Graves et al. 2007)."""
    N, C, H, W = x.shape
    D, G, _ = Wh.shape
    n = G // 5
    out = np.zeros((N, D, n, H, W))
    for d, corner in enumerate(CORNERS[D]):
        fx = x[:, :, ::-1] if "Bottom" in corner else x
        fx = fx[:, :, :, ::-1] if corner.endswith("Right") else fx
        h = np.zeros((N, H, W, n))
        c = np.zeros((N, H, W, n))
        for i in range(H):
            for j in range(W):
                hu = h[:, i - 1, j] if i > 0 else np.zeros((N, n))
                cu = c[:, i - 1, j] if i > 0 else np.zeros((N, n))
                hl = h[:, i, j - 1] if j > 0 else np.zeros((N, n))
                cl = c[:, i, j - 1] if j > 0 else np.zeros((N, n))
                a = fx[:, :, i, j] @ Wi[d].T + hu @ Wh[d, :, :n].T + hl @ Wh[d, :, n:].T + b[d]
                ig, fu, fl = _sig(a[:, :n]), _sig(a[:, n : 2 * n]), _sig(a[:, 2 * n : 3 * n])
                g, o = np.tanh(a[:, 3 * n : 4 * n]), _sig(a[:, 4 * n :])
                c[:, i, j] = fu * cu + fl * cl + ig * g
                h[:, i, j] = o * np.tanh(c[:, i, j])
        hh = h.transpose(0, 3, 1, 2)
        hh = hh[:, :, ::-1] if "Bottom" in corner else hh
        out[:, d] = hh[:, :, :, ::-1] if corner.endswith("Right") else hh
    return out.reshape(N, D * n, H, W)


SHAPES = [(2, 2, 3, 4, 2, 1), (2, 2, 4, 3, 2, 4), (1, 1, 1, 5, 2, 2), (2, 3, 5, 2, 1, 4)]


@pytest.mark.parametrize("N, C, H, W, n, D", SHAPES)
def test_wavefront_equals_the_cell_by_cell_scan(N, C, H, W, n, D, rng):
    x = rng.standard_normal((N, C, H, W))
    Wi = rng.standard_normal((D, 5 * n, C)) * 0.5
    Wh = rng.standard_normal((D, 5 * n, 2 * n)) * 0.5
    b = rng.standard_normal((D, 5 * n)) * 0.5
    y = md_lstm(x, Wi, Wh, b)
    assert y.shape == (N, D * n, H, W)
    np.testing.assert_allclose(y.numpy(), _reference(x, Wi, Wh, b), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("N, C, H, W, n, D", SHAPES)
def test_md_lstm_gradient(N, C, H, W, n, D, rng):
    x = rng.standard_normal((N, C, H, W))
    Wi = rng.standard_normal((D, 5 * n, C)) * 0.5
    Wh = rng.standard_normal((D, 5 * n, 2 * n)) * 0.5
    b = rng.standard_normal((D, 5 * n)) * 0.5
    assert check_grad(md_lstm, x, Wi, Wh, b) < TOL
    assert check_grad(lambda x, Wi, Wh: md_lstm(x, Wi, Wh), x, Wi, Wh) < TOL


def test_md_lstm_errors(rng):
    x = rng.standard_normal((1, 2, 3, 3))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        md_lstm(x[0], np.zeros((1, 5, 2)), np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match="1, 2 or 4 directions"):
        md_lstm(x, np.zeros((3, 5, 2)), np.zeros((3, 5, 2)))
    with pytest.raises(ValueError, match=r"input weights must have shape \(1, 5, 2\)"):
        md_lstm(x, np.zeros((1, 5, 3)), np.zeros((1, 5, 2)))
    with pytest.raises(ValueError, match=r"\(D, 5n, 2n\)"):
        md_lstm(x, np.zeros((1, 5, 2)), np.zeros((1, 5, 3)))
    with pytest.raises(ValueError, match="biases"):
        md_lstm(x, np.zeros((1, 5, 2)), np.zeros((1, 5, 2)), np.zeros(5))


def test_layer_shapes_initialisation_and_saving(tmp_path, rng):
    layer = MultidimensionalLSTMLayer(3)
    net = NetInitialize(NetChain([layer, 4], input=(2, 5, 6)), random_seed=0)
    assert net.layers[0].output_shapes[0] == (12, 5, 6)
    arr = net.layers[0].arrays
    assert arr["InputWeights"].shape == (4, 15, 2) and arr["StateWeights"].shape == (4, 15, 6)
    np.testing.assert_array_equal(arr["Biases"], 0)
    limit = math.sqrt(6 / (2 + 3))
    assert 0 < np.abs(arr["InputWeights"]).max() <= limit
    X = rng.random((3, 2, 5, 6))
    # the layer computes the primitive with its arrays
    direct = md_lstm(X.astype(np.float32), arr["InputWeights"], arr["StateWeights"], arr["Biases"])
    from netchain.nets import NetTake

    np.testing.assert_allclose(NetTake(net, 1)(X), direct.numpy(), rtol=1e-6)
    again = NetLoad(NetSave(net, tmp_path / "md.safetensors"))
    np.testing.assert_array_equal(again(X), net(X))
    one = NetChain([MultidimensionalLSTMLayer(3, directions=1)], input=(2, 4, 4))
    assert one.output_shape == (3, 4, 4)
    assert "directions=2" in MultidimensionalLSTMLayer(2, directions=2).summary()
    with pytest.raises(ValueError, match="directions"):
        MultidimensionalLSTMLayer(2, directions=3)
    with pytest.raises(ValueError, match="positive number"):
        MultidimensionalLSTMLayer(0)
    with pytest.raises(ShapeError, match=r"images \(C, H, W\)"):
        NetChain([MultidimensionalLSTMLayer(2)], input=(5, 4))


def test_mdlstm_on_mnist_reaches_95_percent(mnist_split):
    """Four-corner MD-LSTM(16) on 14 x 14 mean-pooled images, 3 rounds (the registry's options
    for `netchain train --net mdlstm --data mnist`, which trains 8)."""
    Xtr, Xte, ytr, yte = mnist_split
    entry = MODELS["mdlstm"]
    net = entry.build((1, 28, 28), list(range(10)))
    options = {**entry.defaults["mnist"], "max_training_rounds": 3}
    trained = NetTrain(net, (Xtr[:, None], ytr), training_progress_reporting=None, **options)
    acc = float(np.mean(np.asarray(trained(Xte[:, None])) == yte))
    assert acc >= 0.95, acc
    assert mdlstm_classifier((1, 8, 8)).output_shape == (10,)


def test_layer_gradient(rng):
    from netchain.layers import Context

    layer = MultidimensionalLSTMLayer(2)
    NetChain([layer], input=(2, 3, 4))
    x = rng.standard_normal((2, 2, 3, 4))
    Wi = rng.standard_normal((4, 10, 2)) * 0.5
    Wh = rng.standard_normal((4, 10, 4)) * 0.5
    b = rng.standard_normal((4, 10)) * 0.5

    def f(x, Wi, Wh, b):
        arrays = {"InputWeights": Wi, "StateWeights": Wh, "Biases": b}
        return layer.forward(arrays, [x], Context())

    assert check_grad(f, x, Wi, Wh, b) < TOL


def test_cli_mdlstm_on_digits(tmp_path, capsys):
    from netchain.cli import main

    out = tmp_path / "md.safetensors"
    assert main(["train", "--net", "mdlstm", "--rounds", "5", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    acc = float(printed.split("test accuracy:")[1].split()[0])
    assert acc > 0.9, acc
    assert main(["evaluate", str(out)]) == 0
    assert f"test accuracy: {acc:.4f}" in capsys.readouterr().out
