"""The architectures, as functions that build nets, and the registry behind
``netchain train --net NAME``.

Each :class:`ModelEntry` says which data sets it trains on, the input form it expects
("vector", "image" (C, H, W) or "sequence" (T, F)) and its default training options; the
command-line tool reads the registry, so a new architecture registers itself here and needs no
change to the tool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netchain.layers import LinearLayer, Ramp, SoftmaxLayer
from netchain.nets import NetChain, NetDecoder

__all__ = [
    "MODELS",
    "Autoencoder",
    "ConvolutionalAutoencoder",
    "DeepBeliefNetwork",
    "RestrictedBoltzmannMachine",
    "autoencoder_embedding",
    "ModelEntry",
    "char_lstm",
    "contrastive_divergence",
    "convlstm_predictor",
    "digits_cnn",
    "frame_prediction_data",
    "frame_prediction_errors",
    "lenet",
    "lstm_classifier",
    "mdlstm_classifier",
    "mlp",
    "moving_digits",
    "predict_frames",
    "register",
    "sample",
]


@dataclass
class ModelEntry:
    """A named architecture for the command-line tool.

    Attributes
    ----------
    name : str
    description : str
    build : callable
        ``build(input_shape, labels) -> NetChain`` for a classifier over ``labels``.
    input_form : {"vector", "image", "sequence", "text"}
        How examples are presented: flattened vectors, (channels, height, width) images,
        (steps, features) sequences (an image's rows as time steps), or windows of character
        indices of a text (``build((steps,), vocabulary)``; see :mod:`netchain.models.rnn`).
    data : tuple of str
        The data sets (``--data`` values) it accepts.
    defaults : dict
        Default NetTrain options (max_training_rounds, batch_size, learning_rate) per data set.
    run : callable, optional
        For a model whose task is not classification (an autoencoder, a Boltzmann machine,
        frame prediction): ``run(args, task, options) -> exit status`` trains it on the task's
        fixed split (``task`` from :func:`netchain.datasets.tasks.load_task`, ``options`` the NetTrain
        options after the command line's overrides), prints its own measure of quality and
        saves the result. Without it the tool trains a classifier and reports its accuracy.
    evaluate : callable, optional
        ``evaluate(path, metadata, task) -> exit status``: what ``netchain evaluate FILE`` does
        for a file this model's ``run`` saved (``metadata`` is the dict saved with it, ``task``
        the data set it names, with the same split).
    """

    name: str
    description: str
    build: Callable[[tuple[int, ...], list[Any]], NetChain]
    input_form: str = "vector"
    data: tuple[str, ...] = ("digits", "mnist")
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)
    run: Callable[[Any, Any, dict[str, Any]], int] | None = None
    evaluate: Callable[[Any, dict[str, Any], Any], int] | None = None


MODELS: dict[str, ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    """Add an architecture to the registry (by its name)."""
    MODELS[entry.name] = entry
    return entry


def mlp(input_shape: Any, labels: list[Any], hidden: tuple[int, ...] = (128,)) -> NetChain:
    """A multilayer perceptron classifier: (LinearLayer(h), Ramp) per hidden size, then a
    LinearLayer over the classes and a SoftmaxLayer, with a class decoder over ``labels``.

    Parameters
    ----------
    input_shape : int or tuple
        The shape of one example (inputs of rank > 1 are flattened by the first layer).
    labels : list
        The class labels.
    hidden : tuple of int, default (128,)
        Sizes of the hidden layers.
    """
    layers: list[Any] = []
    for h in hidden:
        layers += [LinearLayer(h), Ramp]
    layers += [LinearLayer(len(labels)), SoftmaxLayer()]
    return NetChain(layers, input=input_shape, output=NetDecoder("Class", labels))


register(
    ModelEntry(
        "mlp",
        "multilayer perceptron: LinearLayer(128), Ramp, LinearLayer(classes), SoftmaxLayer",
        lambda shape, labels: mlp(shape, labels, (128,)),
        "vector",
        ("digits", "mnist"),
        {
            "digits": {
                "max_training_rounds": 40,
                "batch_size": 32,
                "learning_rate": 1e-3,
                "l2_regularization": 1e-3,
            },
            "mnist": {"max_training_rounds": 15, "batch_size": 64, "learning_rate": 1e-3},
        },
    )
)

# Architectures in their own modules register themselves when imported (last: they use the above).
from netchain.models.autoencoder import (  # noqa: E402
    Autoencoder,
    ConvolutionalAutoencoder,
    autoencoder_embedding,
)
from netchain.models.cnn import digits_cnn, lenet  # noqa: E402
from netchain.models.mdlstm import mdlstm_classifier  # noqa: E402
from netchain.models.rbm import (  # noqa: E402
    DeepBeliefNetwork,
    RestrictedBoltzmannMachine,
    contrastive_divergence,
)
from netchain.models.rnn import char_lstm, lstm_classifier, sample  # noqa: E402
from netchain.models.spatiotemporal import (  # noqa: E402
    convlstm_predictor,
    frame_prediction_data,
    frame_prediction_errors,
    moving_digits,
    predict_frames,
)
