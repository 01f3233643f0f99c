"""Convolutional architectures: LeNet-5 and a small CNN for 8x8 digit images.

Both take channels-first images ``(C, H, W)`` and end in a SoftmaxLayer with a class decoder,
so ``NetTrain`` trains them with cross-entropy computed from the logits.

References
----------
LeCun, Bottou, Bengio & Haffner (1998), "Gradient-based learning applied to document
recognition", Proceedings of the IEEE 86(11), section II.B (LeNet-5).
"""

from __future__ import annotations

from typing import Any

from netchain.layers import (
    BatchNormalizationLayer,
    ConvolutionLayer,
    DropoutLayer,
    FlattenLayer,
    LinearLayer,
    PoolingLayer,
    Ramp,
    SoftmaxLayer,
)
from netchain.nets import NetChain, NetDecoder

__all__ = ["digits_cnn", "lenet"]


def lenet(input_shape: Any = (1, 28, 28), labels: list[Any] | None = None) -> NetChain:
    """LeNet-5: two convolution + pooling stages and three fully connected layers.

    ConvolutionLayer(6, 5x5) - Ramp - 2x2 max pooling - ConvolutionLayer(16, 5x5) - Ramp -
    2x2 max pooling - LinearLayer(120) - Ramp - LinearLayer(84) - Ramp - LinearLayer(classes)
    - SoftmaxLayer. On 28x28 inputs the first convolution pads by 2, which gives the 32x32
    geometry of the original (feature maps 28x28, 14x14, 10x10, 5x5); larger inputs are not
    padded. The modern substitutions are ReLU (``Ramp``) for the scaled tanh and max pooling
    for the trainable subsampling, as in most current descriptions of the net.

    Parameters
    ----------
    input_shape : tuple of int, default (1, 28, 28)
        (channels, height, width); height and width at least 28 (with padding) for the two
        5x5 convolutions and poolings to fit.
    labels : list, optional
        Class labels (default the digits 0-9).

    Returns
    -------
    NetChain
        Uninitialised (NetTrain or NetInitialize gives it weights); 61,706 parameters for
        1x28x28 inputs and 10 classes.

    Raises
    ------
    ValueError
        For images too small for the architecture (naming the layer and shapes).
    """
    labels = list(range(10)) if labels is None else list(labels)
    shape = tuple(input_shape)
    pad = 2 if len(shape) == 3 and min(shape[1:]) < 32 else 0
    layers = [
        ConvolutionLayer(6, 5, padding_size=pad),
        Ramp,
        PoolingLayer(2),
        ConvolutionLayer(16, 5),
        Ramp,
        PoolingLayer(2),
        FlattenLayer(),
        LinearLayer(120),
        Ramp,
        LinearLayer(84),
        Ramp,
        LinearLayer(len(labels)),
        SoftmaxLayer(),
    ]
    return NetChain(layers, input=shape, output=NetDecoder("Class", labels))


def digits_cnn(input_shape: Any = (1, 8, 8), labels: list[Any] | None = None) -> NetChain:
    """A small CNN for 8x8 digit images.

    ConvolutionLayer(32, 3x3, "Same") - BatchNormalizationLayer - Ramp - 2x2 max pooling -
    ConvolutionLayer(64, 3x3, "Same") - BatchNormalizationLayer - Ramp - 2x2 max pooling -
    DropoutLayer(0.3) - LinearLayer(classes) - SoftmaxLayer.

    Parameters
    ----------
    input_shape : tuple of int, default (1, 8, 8)
    labels : list, optional
        Class labels (default the digits 0-9).

    Returns
    -------
    NetChain
        Uninitialised.
    """
    labels = list(range(10)) if labels is None else list(labels)
    layers = [
        ConvolutionLayer(32, 3, padding_size="Same"),
        BatchNormalizationLayer(),
        Ramp,
        PoolingLayer(2),
        ConvolutionLayer(64, 3, padding_size="Same"),
        BatchNormalizationLayer(),
        Ramp,
        PoolingLayer(2),
        DropoutLayer(0.3),
        FlattenLayer(),
        LinearLayer(len(labels)),
        SoftmaxLayer(),
    ]
    return NetChain(layers, input=tuple(input_shape), output=NetDecoder("Class", labels))


def _register() -> None:
    from netchain.models import ModelEntry, register

    register(
        ModelEntry(
            "lenet",
            "LeNet-5: conv 6@5x5, pool, conv 16@5x5, pool, 120, 84, classes (Ramp, max pooling)",
            lambda shape, labels: lenet(shape, labels),
            "image",
            ("mnist",),
            {"mnist": {"max_training_rounds": 10, "batch_size": 64, "learning_rate": 1e-3}},
        )
    )
    register(
        ModelEntry(
            "cnn",
            "small CNN: conv 32@3x3, batch norm, pool, conv 64@3x3, batch norm, pool, dropout, "
            "classes",
            lambda shape, labels: digits_cnn(shape, labels),
            "image",
            ("digits", "mnist"),
            {
                "digits": {"max_training_rounds": 30, "batch_size": 32, "learning_rate": 1e-3},
                "mnist": {"max_training_rounds": 10, "batch_size": 64, "learning_rate": 1e-3},
            },
        )
    )


_register()
