"""Multilayer perceptrons trained from arrays: the engine behind the classical estimators'
"NeuralNetwork" method (``netchain.ml.MLPClassifier`` / ``MLPRegressor``, ``Classify`` and
``Predict``), which reach NetTrain through this module (netchain.ml imports only models)."""

from __future__ import annotations

from typing import Any

import numpy as np

from netchain.backend import to_numpy
from netchain.layers import LinearLayer, Ramp, SoftmaxLayer
from netchain.nets import NetChain
from netchain.train import NetTrain, NetTrainResults

__all__ = ["fit_mlp", "mlp_outputs"]


def fit_mlp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    task: str,
    hidden: tuple[int, ...] = (100,),
    l2_regularization: float = 1e-4,
    batch_size: int = 32,
    learning_rate: float = 1e-3,
    max_training_rounds: int = 200,
    random_seed: Any = 1234,
    working_precision: str = "Real32",
) -> NetTrainResults:
    """Train an MLP (LinearLayer(h), Ramp per hidden size) with ADAM.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Class indices 0..C-1 for ``task="classification"`` (a softmax output, cross-entropy),
        numbers for ``task="regression"`` (one linear output, mean squared error).
    hidden, l2_regularization, batch_size, learning_rate, max_training_rounds, random_seed
        As in :func:`netchain.NetTrain`.
    working_precision : {"Real32", "Real64"}, default "Real32"

    Returns
    -------
    NetTrainResults
        With the trained net in ``trained_net`` and the loss of each round in ``round_losses``.

    Raises
    ------
    ValueError
        For an unknown task or a hidden size that is not a positive int.
    """
    if task not in ("classification", "regression"):
        raise ValueError(f"task must be 'classification' or 'regression', got {task!r}")
    layers: list[Any] = []
    for h in hidden:
        layers += [LinearLayer(h), Ramp]
    if task == "classification":
        layers += [LinearLayer(int(y.max()) + 1), SoftmaxLayer()]
    else:
        layers += [LinearLayer(1)]
    net = NetChain(layers, input=X.shape[1])
    return NetTrain(
        net,
        (X, y),
        "All",
        batch_size=batch_size,
        learning_rate=learning_rate,
        l2_regularization=l2_regularization,
        max_training_rounds=max_training_rounds,
        random_seed=random_seed,
        working_precision=working_precision,
        training_progress_reporting=None,
    )


def mlp_outputs(net: NetChain, X: np.ndarray) -> np.ndarray:
    """The raw outputs (class probabilities, or values) for a batch, as float64."""
    batch, _ = net.prepare_input(X, "X")
    return to_numpy(net.evaluate(batch)).astype(np.float64)
