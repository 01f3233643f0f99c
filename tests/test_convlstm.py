"""The convolutional LSTM: the fused primitive by finite differences (float64) and against a
step-by-step PyTorch ConvLSTM, the layer, the moving-digit data, and a short frame-prediction
run on sequences made from MNIST that beats repeating the last frame.

The full run (examples/convlstm_moving_digits.py, ``netchain train --net convlstm``: two digits
in 64 x 64, 10 frames in and 10 out, 1,000 sequences for 10 rounds, about 11 minutes) is not
repeated here; a smaller version of the task is (about 30 s), and the CLI job runs on a few
sequences."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import NetChain, NetInitialize, NetLoad, NetSave, NetTrain
from netchain.autodiff import Tensor, check_grad, conv_lstm
from netchain.layers import ConvolutionalLSTMLayer, ShapeError
from netchain.models import (
    MODELS,
    convlstm_predictor,
    frame_prediction_data,
    frame_prediction_errors,
    moving_digits,
    predict_frames,
)
from netchain.models.spatiotemporal import from_patches, to_patches

TOL = 1e-6


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def _problem(rng, N=2, T=3, C=2, S=(4, 5), n=2, k=3):
    d = len(S)
    kern = (k,) * d
    return (
        rng.standard_normal((N, T, C, *S)),
        rng.standard_normal((4 * n, C, *kern)) * 0.3,
        rng.standard_normal((4 * n, n, *kern)) * 0.3,
        rng.standard_normal(4 * n) * 0.3,
        rng.standard_normal((N, n, *S)),
        rng.standard_normal((N, n, *S)),
    )


def test_conv_lstm_gradients(rng):
    x, wx, wh, b, h0, c0 = _problem(rng)
    assert check_grad(lambda x, wx, wh, b: conv_lstm(x, wx, wh, b)[0], x, wx, wh, b) < TOL

    def everything(x, wx, wh, b, h0, c0):
        y, h, c = conv_lstm(x, wx, wh, b, h0, c0)
        return y.sum() + (h * h).sum() + (c * 3).sum()

    assert check_grad(everything, x, wx, wh, b, h0, c0) < TOL
    # only the final states used
    assert check_grad(lambda x, wh: conv_lstm(x, wx, wh, b)[1], x, wh) < TOL
    # 1-D frames with an even kernel ("Same" padding one more at the end)
    x1, wx1, wh1, *_ = _problem(rng, S=(6,), k=2)
    assert check_grad(lambda x, wx, wh: conv_lstm(x, wx, wh)[0], x1, wx1, wh1) < TOL


def test_conv_lstm_padded_sequences_give_what_each_gives_alone(rng):
    x, wx, wh, b, _, _ = _problem(rng, T=4)
    y, h, c = conv_lstm(x, wx, wh, b, lengths=[4, 2])
    y2, h2, c2 = conv_lstm(x[1:, :2], wx, wh, b)
    np.testing.assert_allclose(y.numpy()[1, :2], y2.numpy()[0], rtol=1e-12)
    np.testing.assert_array_equal(y.numpy()[1, 2:], 0)
    np.testing.assert_allclose(h.numpy()[1], h2.numpy()[0], rtol=1e-12)
    np.testing.assert_allclose(c.numpy()[1], c2.numpy()[0], rtol=1e-12)
    assert check_grad(lambda x, wh: conv_lstm(x, wx, wh, b, lengths=[3, 1])[0], x, wh) < TOL


def test_conv_lstm_equals_a_step_by_step_pytorch_convlstm(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, wx, wh, b, h0, c0 = _problem(rng, N=3, T=4, C=3, S=(5, 6), n=3)
    gy = rng.standard_normal((3, 4, 3, 5, 6))
    tx, twx, twh, tb, th, tc = (torch.tensor(a, requires_grad=True) for a in (x, wx, wh, b, h0, c0))
    h, c, outs = th, tc, []
    for t in range(x.shape[1]):
        a = F.conv2d(tx[:, t], twx, tb, padding=1) + F.conv2d(h, twh, padding=1)
        i, f, g, o = a.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        outs.append(h)
    ty = torch.stack(outs, dim=1)
    (ty * torch.tensor(gy)).sum().backward()
    ours = [Tensor(a, requires_grad=True) for a in (x, wx, wh, b, h0, c0)]
    y, hT, cT = conv_lstm(*ours)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hT.numpy(), h.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cT.numpy(), c.detach().numpy(), rtol=1e-10, atol=1e-12)
    y.backward(gy)
    for mine, theirs in zip(ours, (tx, twx, twh, tb, th, tc)):
        np.testing.assert_allclose(mine.grad, theirs.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_conv_lstm_errors(rng):
    x, wx, wh, b, h0, _ = _problem(rng)
    with pytest.raises(ValueError, match="frame sequences"):
        conv_lstm(x[:, 0, 0, 0], wx, wh)
    with pytest.raises(ValueError, match="state weights"):
        conv_lstm(x, wx, wh[:3])
    with pytest.raises(ValueError, match="input weights"):
        conv_lstm(x, wx[:, :1], wh)
    with pytest.raises(ValueError, match="biases"):
        conv_lstm(x, wx, wh, b[:3])
    with pytest.raises(ValueError, match="state must have shape"):
        conv_lstm(x, wx, wh, b, h0[:1])
    with pytest.raises(ValueError, match="lengths"):
        conv_lstm(x, wx, wh, lengths=[1, 9])


def test_layer_shapes_and_saving(tmp_path, rng):
    net = NetInitialize(NetChain([ConvolutionalLSTMLayer(3, 3)], input=(4, 2, 6, 6)), random_seed=1)
    layer = net.layers[0]
    assert net.output_shape == (4, 3, 6, 6)
    assert layer.arrays["InputWeights"].shape == (12, 2, 3, 3)
    assert layer.arrays["StateWeights"].shape == (12, 3, 3, 3)
    np.testing.assert_array_equal(layer.arrays["Biases"], [0] * 3 + [1] * 3 + [0] * 6)
    X = rng.random((2, 4, 2, 6, 6)).astype(np.float32)
    y = conv_lstm(
        X, layer.arrays["InputWeights"], layer.arrays["StateWeights"], layer.arrays["Biases"]
    )[0]
    np.testing.assert_allclose(net(X), y.numpy(), rtol=1e-6)
    again = NetLoad(NetSave(net, tmp_path / "cl.safetensors"))
    np.testing.assert_array_equal(again(X), net(X))
    # sequences of any length, and a list of sequences of different lengths
    varying = NetInitialize(
        NetChain([ConvolutionalLSTMLayer(2, (3, 3))], input=("Varying", 1, 5, 5))
    )
    seqs = [rng.random((3, 1, 5, 5)), rng.random((5, 1, 5, 5))]
    outs = varying(seqs)
    assert [o.shape for o in outs] == [(3, 2, 5, 5), (5, 2, 5, 5)]
    np.testing.assert_allclose(outs[0], varying(seqs[0]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ShapeError, match="sequences of images"):
        NetChain([ConvolutionalLSTMLayer(2, 3)], input=(4, 5))
    with pytest.raises(ShapeError, match="1-D but the frames"):
        NetChain([ConvolutionalLSTMLayer(2, (3,))], input=(4, 1, 5, 5))
    with pytest.raises(ValueError, match="kernel"):
        ConvolutionalLSTMLayer(2, "3")


# ---------------------------------------------------------------------- moving digits


def test_moving_digits_bounce_inside_the_frame():
    square = np.ones((1, 28, 28), dtype=np.float32)  # a digit that is a solid square
    S = moving_digits(square, 50, frames=40, digits=1, speed=(3.0, 5.0), random_seed=0)
    assert S.shape == (50, 40, 64, 64) and S.dtype == np.float32
    np.testing.assert_array_equal(S.sum(axis=(2, 3)), 784)  # always wholly inside
    rows = np.argmax(S.max(axis=3) > 0, axis=2)  # top edge of the square in each frame
    cols = np.argmax(S.max(axis=2) > 0, axis=2)
    step = np.hypot(np.diff(rows, axis=1), np.diff(cols, axis=1))
    assert step.max() <= 5 + 1.5  # the speed, up to rounding to whole pixels
    assert rows.min() == 0 and rows.max() == 36  # it reaches the edges and turns back
    two = moving_digits(np.random.default_rng(0).random((5, 28, 28)), 4, random_seed=1)
    np.testing.assert_array_equal(
        two, moving_digits(np.random.default_rng(0).random((5, 28, 28)), 4, random_seed=1)
    )
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        moving_digits(square * 255, 2)
    with pytest.raises(ValueError, match="do not fit"):
        moving_digits(square, 2, size=20)


def test_patches_and_training_pairs(rng):
    frames = rng.random((2, 3, 8, 8))
    P = to_patches(frames, 4)
    assert P.shape == (2, 3, 16, 2, 2)
    assert P[0, 0, 4 * 1 + 2, 1, 0] == frames[0, 0, 4 + 1, 0 + 2]  # pixel (1, 2) of block (1, 0)
    np.testing.assert_array_equal(from_patches(P, 4), frames)
    seqs = rng.random((2, 20, 8, 8)).astype(np.float32)
    X, Y = frame_prediction_data(seqs, patch=4)
    assert X.shape == Y.shape == (2, 19, 16, 2, 2)
    np.testing.assert_array_equal(from_patches(X[:, :10]), seqs[:, :10])
    np.testing.assert_array_equal(X[:, 10:], 0)
    np.testing.assert_array_equal(from_patches(Y), seqs[:, 1:])


def test_short_frame_prediction_run_beats_both_baselines(mnist_split, tmp_path):
    """A smaller version of the task that a short run learns (about 30 s): one MNIST digit,
    pooled to 14 x 14, bouncing in 32 x 32 frames cut into 2 x 2 patches, 6 frames in and 6
    out, two ConvolutionalLSTMLayer(16, 3), 1,200 Adam steps on batches of 2. The forecast
    beats repeating the last frame and predicting empty frames (a net that learned only the
    mean brightness does not), and its first frame is much better than the last observed
    one. The full task (two 28 x 28 digits in 64 x 64, 10 in and 10 out) is the example's."""
    Xtr, Xte, _, _ = mnist_split
    pool = lambda X: X.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))  # noqa: E731
    kw = dict(frames=12, size=32, digits=1, speed=(1.0, 2.0))
    train = moving_digits(pool(Xtr), 2400, random_seed=0, **kw)
    test = moving_digits(pool(Xte), 64, random_seed=1, **kw)
    X, Y = frame_prediction_data(train, observed=6, patch=2)
    assert X.shape == (2400, 11, 4, 16, 16)
    net = NetTrain(
        convlstm_predictor((4, 16, 16), hidden=(16, 16)),
        (X, Y),
        max_training_rounds=1,
        batch_size=2,
        learning_rate=3e-3,
        training_progress_reporting=None,
    )
    errors = frame_prediction_errors(net, test, observed=6, patch=2)
    assert errors["ConvLSTM"] < 0.65 * errors["last frame"], errors
    assert errors["ConvLSTM"] < 0.85 * errors["empty frames"], errors
    pred = predict_frames(net, test[:, :6], 6, patch=2)
    assert pred.shape == (64, 6, 32, 32) and 0 <= pred.min() and pred.max() <= 1
    first = np.mean((pred[:, 0] - test[:, 6]) ** 2)
    assert first < 0.75 * np.mean((test[:, 5] - test[:, 6]) ** 2)
    again = NetLoad(NetSave(net, tmp_path / "p.safetensors"))
    np.testing.assert_array_equal(predict_frames(again, test[:2, :6], 6, patch=2), pred[:2])


def test_layer_gradient_and_numpy_twins(rng, monkeypatch):
    """check_grad through the layer's forward in float64, with the Numba step kernels and with
    their NumPy twins (used on other backends)."""
    import netchain.autodiff.recurrent as recurrent
    from netchain.layers import Context

    layer = ConvolutionalLSTMLayer(2, 3)
    NetChain([layer], input=(3, 2, 4, 5))
    x, wx, wh, b, _, _ = _problem(rng)

    def f(x, wx, wh, b):
        arrays = {"InputWeights": wx, "StateWeights": wh, "Biases": b}
        return layer.forward(arrays, [x], Context())

    assert check_grad(f, x, wx, wh, b) < TOL
    with_kernels = conv_lstm(x, wx, wh, b)[0].numpy()
    monkeypatch.setattr(recurrent._KERNELS, "_loaded", False)
    np.testing.assert_allclose(conv_lstm(x, wx, wh, b)[0].numpy(), with_kernels, rtol=1e-12)
    assert check_grad(f, x, wx, wh, b) < TOL
    assert check_grad(lambda x, wh: conv_lstm(x, wx, wh, lengths=[2, 3])[0], x, wh) < TOL


def test_cli_convlstm_runs_and_evaluates(tmp_path, capsys, mnist_paths, monkeypatch):
    """The CLI job with a few sequences (the real one makes 1,000 and 200)."""
    import netchain.models.spatiotemporal as st
    from netchain.cli import main

    assert MODELS["convlstm"].data == ("mnist",) and MODELS["convlstm"].run is not None
    monkeypatch.setattr(st, "TRAIN_SEQUENCES", 32)
    monkeypatch.setattr(st, "TEST_SEQUENCES", 8)
    images, labels = mnist_paths
    out = tmp_path / "cl.safetensors"
    args = ["train", "--net", "convlstm", "--data", "mnist", "--images", str(images),
            "--labels", str(labels), "--rounds", "1", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    line = printed.split("test error of the 10 predicted frames:")[1]
    mse = float(line.split()[0])
    assert 0 < mse < 0.3
    assert main(["evaluate", str(out)]) == 0
    assert f"predicted frames: {mse:.5f}" in capsys.readouterr().out
