"""A multi-dimensional recurrent classifier: a MultidimensionalLSTMLayer reads an image from
its four corners, and a linear layer classifies its (pooled) hidden states.

For MNIST the 28 x 28 images are first averaged over 2 x 2 blocks (14 x 14), so that each scan
takes 27 wavefront steps instead of 55.

References
----------
Graves, Fernandez & Schmidhuber (2007), "Multi-dimensional recurrent neural networks", ICANN
(2-D LSTM networks on MNIST among other image tasks); Graves & Schmidhuber (2009), "Offline
handwriting recognition with multidimensional recurrent neural networks", NIPS.
"""

from __future__ import annotations

from typing import Any

from netchain.layers import (
    FlattenLayer,
    LinearLayer,
    MultidimensionalLSTMLayer,
    PoolingLayer,
    SoftmaxLayer,
)
from netchain.nets import NetChain, NetDecoder

__all__ = ["mdlstm_classifier"]


def mdlstm_classifier(
    input_shape: Any = (1, 28, 28), labels: list[Any] | None = None, n: int = 16
) -> NetChain:
    """PoolingLayer(2, "Mean") (for images of at least 16 x 16), MultidimensionalLSTMLayer(n)
    from four corners, 2 x 2 max pooling, FlattenLayer, LinearLayer(classes), SoftmaxLayer,
    with a class decoder.

    Parameters
    ----------
    input_shape : tuple (C, H, W), default (1, 28, 28)
    labels : list, optional
        Class labels (default the digits 0-9).
    n : int, default 16
        Units per scanning direction (the layer gives 4n channels).

    Returns
    -------
    NetChain
        Uninitialised; 42,250 parameters for MNIST with n = 16.
    """
    labels = list(range(10)) if labels is None else list(labels)
    shape = tuple(input_shape)
    layers: list[Any] = []
    if len(shape) == 3 and min(shape[1:]) >= 16:
        layers.append(PoolingLayer(2, function="Mean"))
    layers += [
        MultidimensionalLSTMLayer(n),
        PoolingLayer(2),
        FlattenLayer(),
        LinearLayer(len(labels)),
        SoftmaxLayer(),
    ]
    return NetChain(layers, input=shape, output=NetDecoder("Class", labels))


def _register() -> None:
    from netchain.models import ModelEntry, register

    options = {"batch_size": 32, "learning_rate": 2e-3, "learning_rate_schedule": "Cosine"}
    register(
        ModelEntry(
            "mdlstm",
            "multi-dimensional LSTM: 2x2 mean pooling (MNIST), MultidimensionalLSTMLayer(16) "
            "from four corners, 2x2 max pooling, classes",
            lambda shape, labels: mdlstm_classifier(shape, labels),
            "image",
            ("digits", "mnist"),
            {
                "digits": {**options, "max_training_rounds": 20},
                "mnist": {**options, "max_training_rounds": 8},
            },
        )
    )


_register()
