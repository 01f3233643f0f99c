"""Convolutional layers in nets: shape inference and its errors, given weights, batch
normalisation's moving statistics, dropout on images, padding modes, saving and loading."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import (
    BatchNormalizationLayer,
    ConvolutionLayer,
    DeconvolutionLayer,
    DropoutLayer,
    FlattenLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetInitialize,
    NetLoad,
    NetSave,
    NetTrain,
    PaddingLayer,
    PoolingLayer,
    Ramp,
    ReshapeLayer,
    SoftmaxLayer,
    check_grad,
)
from netchain.autodiff import Tensor
from netchain.layers import Context
from netchain.models import lenet


def test_lenet_shapes_and_table():
    net = lenet((1, 28, 28))
    shapes = [layer.output_shapes[0] for layer in net.layers]
    assert shapes == [
        (6, 28, 28),
        (6, 28, 28),
        (6, 14, 14),
        (16, 10, 10),
        (16, 10, 10),
        (16, 5, 5),
        (400,),
        (120,),
        (120,),
        (84,),
        (84,),
        (10,),
        (10,),
    ]
    # 6*25+6, 16*150+16, 400*120+120, 120*84+84, 84*10+10
    assert net.parameter_count() == 156 + 2416 + 48120 + 10164 + 850
    table = repr(net)
    assert "(16, 5, 5)" in table and "ConvolutionLayer[16, 5]" in table


def test_kernel_larger_than_padded_input_names_layer_and_shapes():
    with pytest.raises(ValueError) as info:
        NetChain([ConvolutionLayer(4, 3), PoolingLayer(2), ConvolutionLayer(8, 5)], input=(1, 8, 8))
    message = str(info.value)
    assert "ConvolutionLayer at position 3" in message
    assert "(5, 5)" in message and "(3, 3)" in message and "(4, 3, 3)" in message
    with pytest.raises(ValueError, match="PoolingLayer at position 2.*larger than the padded"):
        NetChain([ConvolutionLayer(2, 3), PoolingLayer(4)], input=(1, 5, 5))
    # padding makes it fit
    net = NetChain([ConvolutionLayer(8, 5, padding_size=1)], input=(1, 3, 3))
    assert net.output_shape == (8, 1, 1)


def test_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match="ConvolutionLayer at position 1.*channel_groups"):
        NetChain([ConvolutionLayer(4, 3, channel_groups=2)], input=(3, 8, 8))
    with pytest.raises(ValueError, match="ConvolutionLayer at position 3.*2-D.*1 spatial"):
        NetChain([LinearLayer(12), ReshapeLayer((3, 4)), ConvolutionLayer(2, (3, 3))], input=5)
    with pytest.raises(ValueError, match="expects 3 channels"):
        NetChain([ConvolutionLayer(weights=np.ones((2, 3, 3, 3)))], input=(1, 8, 8))
    with pytest.raises(ValueError, match="BatchNormalizationLayer|channel"):
        NetChain([FlattenLayer(), BatchNormalizationLayer(input=(3,))], input=(2, 2))
    with pytest.raises(ValueError, match="ReshapeLayer at position 1.*cannot reshape"):
        NetChain([ReshapeLayer((5, 5))], input=(3, 8))
    with pytest.raises(ValueError, match="PaddingLayer at position 1.*one \\(before, after\\)"):
        NetChain([PaddingLayer([(1, 1)])], input=(3, 8))


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: ConvolutionLayer(4), "needs n and kernel"),
        (lambda: ConvolutionLayer(4, 0), "kernel"),
        (lambda: ConvolutionLayer(4, 3, stride=(1, 0)), "stride"),
        (lambda: ConvolutionLayer(4, 3, padding_size="Valid"), "padding_size"),
        (lambda: ConvolutionLayer(4, 3, padding_size=-1), "non-negative"),
        (lambda: ConvolutionLayer(3, 3, channel_groups=2), "channel_groups"),
        (lambda: ConvolutionLayer(4, 3, weights=np.ones((4, 3))), "weights"),
        (lambda: ConvolutionLayer(4, 3, weights=np.ones((2, 1, 3, 3))), "n = 4"),
        (lambda: ConvolutionLayer(2, 3, weights=np.ones((2, 1, 3, 3)), biases=[1.0]), "biases"),
        (lambda: PoolingLayer(2, function="Median"), "function"),
        (lambda: BatchNormalizationLayer(momentum=1.0), "momentum"),
        (lambda: BatchNormalizationLayer(epsilon=0), "epsilon"),
        (lambda: PaddingLayer([(1, 1)], padding="Mirror"), "padding"),
        (lambda: ReshapeLayer((-1, -1)), "-1"),
        (lambda: FlattenLayer(0), "level"),
        (lambda: DeconvolutionLayer(2, 3, padding_size="Same"), "padding_size"),
    ],
)
def test_bad_layer_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_convolution_layer_with_given_weights_matches_torch(rng):
    torch = pytest.importorskip("torch")
    W = rng.standard_normal((4, 2, 3, 2))
    b = rng.standard_normal(4)
    layer = ConvolutionLayer(
        weights=W, biases=b, stride=(2, 1), padding_size=((1, 0), (2, 1)), channel_groups=1
    )
    net = NetChain([layer], input=(2, 7, 6))
    x = rng.standard_normal((3, 2, 7, 6))
    expected = torch.nn.functional.conv2d(
        torch.nn.functional.pad(torch.tensor(x), (2, 1, 1, 0)),
        torch.tensor(W),
        torch.tensor(b),
        (2, 1),
    ).numpy()
    np.testing.assert_allclose(net(x), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(net(x[0]), expected[0], rtol=0, atol=1e-10)
    # no biases
    no_bias = NetChain([ConvolutionLayer(weights=W, biases=False)], input=(2, 7, 6))
    assert "Biases" not in [k[-1] for k in no_bias.uninitialized()]
    expected = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(W)).numpy()
    np.testing.assert_allclose(no_bias(x), expected, rtol=0, atol=1e-10)


def test_convolution_1d_layer(rng):
    torch = pytest.importorskip("torch")
    W = rng.standard_normal((5, 3, 4))
    net = NetChain([ConvolutionLayer(weights=W, biases=False, dilation=2, padding_size="Same")])
    net = NetInitialize(net, input=(3, 12))
    assert net.output_shape == (5, 12)
    x = rng.standard_normal((2, 3, 12))
    expected = torch.nn.functional.conv1d(
        torch.tensor(x), torch.tensor(W), dilation=2, padding="same"
    )
    np.testing.assert_allclose(net(x), expected.numpy(), rtol=0, atol=1e-10)
    pooled = NetChain([ConvolutionLayer(4, 3), PoolingLayer(2, function="Mean")], input=(3, 12))
    assert pooled.output_shape == (4, 5)


def test_deconvolution_layer(rng):
    torch = pytest.importorskip("torch")
    W = rng.standard_normal((3, 2, 4, 4))
    b = rng.standard_normal(2)
    net = NetChain(
        [DeconvolutionLayer(weights=W, biases=b, stride=2, padding_size=1)], input=(3, 5, 6)
    )
    assert net.output_shape == (2, 10, 12)  # (5 - 1) 2 + 4 - 2: doubles the size
    x = rng.standard_normal((2, 3, 5, 6))
    expected = torch.nn.functional.conv_transpose2d(
        torch.tensor(x), torch.tensor(W), torch.tensor(b), stride=2, padding=1
    )
    np.testing.assert_allclose(net(x), expected.numpy(), rtol=0, atol=1e-10)
    assert NetChain([DeconvolutionLayer(4, 3)], input=(2, 5, 5)).output_shape == (4, 7, 7)


def test_pooling_layer_shapes():
    assert NetChain([PoolingLayer(3, stride=2, padding_size=1)], input=(4, 9, 8)).output_shape == (
        4,
        5,
        4,
    )
    assert NetChain([PoolingLayer((2,), function="Total")], input=(4, 9)).output_shape == (4, 4)
    with pytest.raises(ValueError, match="padding .* smaller than the kernel"):
        NetChain([PoolingLayer(2, padding_size=2)], input=(1, 8, 8))


def _bn_net(shape):
    return NetChain(
        [BatchNormalizationLayer(epsilon=1e-3, momentum=0.9), FlattenLayer(), LinearLayer(1)],
        input=shape,
    )


def test_batch_normalization_moving_statistics(rng):
    torch = pytest.importorskip("torch")
    X = rng.standard_normal((16, 3, 4, 4)) * [[[[2.0]], [[0.5]], [[3.0]]]] + 1.5
    y = rng.standard_normal(16)
    # one step on the whole batch: the moving statistics take 0.1 of the batch's
    trained = NetTrain(
        _bn_net((3, 4, 4)),
        (X, y),
        batch_size=16,
        max_training_rounds=1,
        training_progress_reporting=None,
        working_precision="Real64",
    )
    reference = torch.nn.BatchNorm2d(3, eps=1e-3, momentum=0.1).double()
    reference.train()
    reference(torch.tensor(X))
    mean, var = NetExtract(trained, (1, "MovingMean")), NetExtract(trained, (1, "MovingVariance"))
    np.testing.assert_allclose(mean, reference.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var, reference.running_var.numpy(), rtol=1e-12)
    # the moving variance is the unbiased one: m / (m - 1) times the batch's, m = 16 * 4 * 4
    biased = X.var(axis=(0, 2, 3))
    np.testing.assert_allclose(var, 0.9 + 0.1 * biased * 256 / 255, rtol=1e-12)
    # evaluation uses the moving statistics, with the trained scaling and biases
    scale, bias = NetExtract(trained, (1, "Scaling")), NetExtract(trained, (1, "Biases"))
    bn_only = NetChain([trained.layers[0]], input=(3, 4, 4))
    expected = (X - mean[:, None, None]) / np.sqrt(var[:, None, None] + 1e-3) * scale[
        :, None, None
    ] + bias[:, None, None]
    np.testing.assert_allclose(bn_only(X), expected, rtol=1e-10, atol=1e-12)


def test_batch_normalization_one_value_per_channel_is_an_error(rng):
    net = NetChain([BatchNormalizationLayer(), LinearLayer(2), SoftmaxLayer()], input=4)
    X = rng.standard_normal((3, 4))
    with pytest.raises(
        ValueError, match="BatchNormalizationLayer.*more than one value per channel"
    ):
        NetTrain(net, (X, np.array([0, 1, 0])), batch_size=1, training_progress_reporting=None)
    # vectors with a batch of two train, and one image has many values per channel
    NetTrain(
        net,
        (X[:2], np.array([0, 1])),
        batch_size=2,
        max_training_rounds=1,
        training_progress_reporting=None,
    )
    img = NetChain([BatchNormalizationLayer(), FlattenLayer(), 1], input=(2, 3, 3))
    NetTrain(
        img,
        (rng.standard_normal((1, 2, 3, 3)), np.ones(1)),
        max_training_rounds=1,
        training_progress_reporting=None,
    )


def test_dropout_on_images(rng):
    layer = NetChain([DropoutLayer(0.25)], input=(3, 16, 16)).layers[0]
    x = Tensor(np.ones((8, 3, 16, 16), np.float32))
    out = layer.forward({}, [x], Context(training=True, rng=np.random.default_rng(0))).data
    kept = out != 0
    assert out.shape == x.shape
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(out[kept], 1 / 0.75)
    same = layer.forward({}, [x], Context(training=False)).data
    np.testing.assert_array_equal(same, x.data)


@pytest.mark.parametrize(
    "mode, numpy_mode",
    [
        (0.0, "constant"),
        (2.5, "constant"),
        ("Fixed", "edge"),
        ("Periodic", "wrap"),
        ("Reflected", "reflect"),
    ],
)
def test_padding_layer_modes(mode, numpy_mode, rng):
    margins = [(0, 0), (2, 1), (1, 3)]
    net = NetChain([PaddingLayer(margins, padding=mode)], input=(2, 4, 5))
    assert net.output_shape == (2, 7, 9)
    x = rng.standard_normal((3, 2, 4, 5))
    kw = {"constant_values": mode} if numpy_mode == "constant" else {}
    expected = np.pad(x, [(0, 0), *margins], mode=numpy_mode, **kw)
    np.testing.assert_allclose(net(x), expected)
    layer = net.layers[0]
    ctx = Context(training=True)
    assert check_grad(lambda t: layer.forward({}, [t], ctx) ** 2, x) < 1e-6


def test_reflected_padding_too_wide():
    with pytest.raises(ValueError, match="Reflected"):
        NetChain([PaddingLayer([(0, 0), (4, 0)], padding="Reflected")], input=(1, 4))


def test_flatten_and_reshape(rng):
    net = NetChain([FlattenLayer(1), ReshapeLayer((-1, 2)), FlattenLayer()], input=(2, 3, 4))
    assert [layer.output_shapes[0] for layer in net.layers] == [(6, 4), (12, 2), (24,)]
    x = rng.standard_normal((5, 2, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(net(x), x.reshape(5, 24))
    with pytest.raises(ValueError, match="FlattenLayer at position 1.*rank"):
        NetChain([FlattenLayer(2)], input=(2, 3))


def test_save_and_load_every_layer(rng, tmp_path):
    net = NetChain(
        [
            PaddingLayer([(0, 0), (1, 1), (1, 1)], padding="Periodic"),
            ConvolutionLayer(
                4, (3, 2), stride=(1, 2), dilation=(2, 1), padding_size=((1, 2), (0, 1))
            ),
            BatchNormalizationLayer(momentum=0.8),
            Ramp,
            PoolingLayer(2, stride=1, function="Mean"),
            ConvolutionLayer(4, 3, padding_size="Same", channel_groups=2, biases=False),
            DeconvolutionLayer(3, 2, stride=2, padding_size=(1, 0)),
            DropoutLayer(0.1),
            ReshapeLayer((3, -1)),
            FlattenLayer(),
            LinearLayer(3),
            SoftmaxLayer(),
        ],
        input=(2, 9, 10),
        output=NetDecoder("Class", ["a", "b", "c"]),
    )
    X = rng.standard_normal((20, 2, 9, 10)).astype(np.float32)
    y = rng.choice(["a", "b", "c"], 20)
    trained = NetTrain(
        net, (X, y), max_training_rounds=2, batch_size=8, training_progress_reporting=None
    )
    path = NetSave(trained, tmp_path / "net.safetensors")
    loaded = NetLoad(path)
    np.testing.assert_array_equal(loaded(X), trained(X))
    probs = trained.evaluate(trained.prepare_input(X)[0])
    np.testing.assert_array_equal(loaded.evaluate(loaded.prepare_input(X)[0]), probs)
    assert [layer.output_shapes for layer in loaded.layers] == [
        layer.output_shapes for layer in trained.layers
    ]
    for i in (3, 6, 7):
        for name in trained.layers[i - 1].arrays:
            if name in trained.layers[i - 1].disabled:
                continue
            np.testing.assert_array_equal(
                NetExtract(loaded, (i, name)), NetExtract(trained, (i, name))
            )


def test_conv_net_learns_and_float32(rng):
    # a pattern detector: class 1 images hold a bright 2x2 square somewhere
    X = rng.random((200, 1, 8, 8)).astype(np.float32) * 0.5
    y = rng.integers(0, 2, 200)
    for i in np.flatnonzero(y):
        r, c = rng.integers(0, 7, 2)
        X[i, 0, r : r + 2, c : c + 2] += 2.0
    net = NetChain(
        [
            ConvolutionLayer(4, 2),
            Ramp,
            PoolingLayer(7),
            FlattenLayer(),
            LinearLayer(2),
            SoftmaxLayer(),
        ],
        input=(1, 8, 8),
    )
    trained = NetTrain(
        net, (X, y), max_training_rounds=30, batch_size=20, training_progress_reporting=None
    )
    assert trained.dtype == np.float32
    accuracy = np.mean(np.argmax(trained(X), axis=1) == y)
    assert accuracy > 0.95
