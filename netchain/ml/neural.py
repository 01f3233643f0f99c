"""Neural-network estimators: multilayer perceptrons with scikit-learn's protocol, trained by
netchain's own engine (NetTrain with ADAM; see :mod:`netchain.models.perceptron`), in float64
like scikit-learn's, so that predictions do not depend on how rows are batched.

References
----------
Rumelhart, Hinton & Williams (1986), "Learning representations by back-propagating errors";
Kingma & Ba (2015), "Adam: A method for stochastic optimization".
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from netchain.ml.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    check_classifier_targets,
    check_fitted_input,
    check_random_state,
    check_X_y,
)

__all__ = ["MLPClassifier", "MLPRegressor"]


class _MLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: the parameters, their checks, training."""

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        alpha: float = 1e-4,
        batch_size: Any = "auto",
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        random_state: Any = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.random_state = random_state

    def _check_params(self, n: int) -> tuple[tuple[int, ...], int]:
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, numbers.Integral) else tuple(sizes)
        if not sizes or not all(isinstance(h, numbers.Integral) and h >= 1 for h in sizes):
            raise ValueError(
                f"hidden_layer_sizes must be positive ints, got {self.hidden_layer_sizes!r}"
            )
        if self.batch_size == "auto":
            batch = min(200, n)
        elif isinstance(self.batch_size, numbers.Integral) and self.batch_size >= 1:
            batch = min(int(self.batch_size), n)
        else:
            raise ValueError(
                f"batch_size must be 'auto' or a positive int, got {self.batch_size!r}"
            )
        for name in ("alpha", "learning_rate_init"):
            v = getattr(self, name)
            if (
                not isinstance(v, numbers.Real)
                or isinstance(v, bool)
                or not v >= 0
                or math.isnan(v)
            ):
                raise ValueError(f"{name} must be a non-negative number, got {v!r}")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(f"max_iter must be a positive int, got {self.max_iter!r}")
        return tuple(int(h) for h in sizes), batch

    def _fit(self, X: np.ndarray, y: np.ndarray, task: str) -> None:
        from netchain.models.perceptron import fit_mlp

        hidden, batch = self._check_params(len(X))
        results = fit_mlp(
            X,
            y,
            task=task,
            hidden=hidden,
            l2_regularization=float(self.alpha),
            batch_size=batch,
            learning_rate=float(self.learning_rate_init),
            max_training_rounds=int(self.max_iter),
            random_seed=check_random_state(self.random_state),
            working_precision="Real64",
        )
        self.net_ = results.trained_net
        self.loss_curve_ = list(results.round_losses)
        self.n_iter_ = results.rounds
        self.n_features_in_ = X.shape[1]

    def _outputs(self, X: Any) -> np.ndarray:
        from netchain.models.perceptron import mlp_outputs

        X = check_fitted_input(self, X, "net_")
        return mlp_outputs(self.net_, X)


class MLPClassifier(ClassifierMixin, _MLP):
    """A multilayer perceptron classifier (ReLU hidden layers, softmax output, cross-entropy).

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
        The size of each hidden layer.
    alpha : float, default 1e-4
        L2 regularisation: ``alpha * w`` is added to each array's gradient.
    batch_size : int or "auto", default "auto"
        Examples per ADAM step; "auto" is min(200, n_samples).
    learning_rate_init : float, default 1e-3
        ADAM's learning rate.
    max_iter : int, default 200
        Training rounds (passes over the data).
    random_state : int, numpy.random.Generator or None
        Initial weights, shuffling; the same int gives the same classifier.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    net_ : NetChain
        The trained net (its outputs are the class probabilities in the order of ``classes_``).
    loss_curve_ : list of float
        Mean training loss of each round.
    n_iter_ : int
    n_features_in_ : int

    Raises
    ------
    ValueError
        For fewer than two classes, NaN or infinite features, or invalid parameters.
    """

    def fit(self, X: Any, y: Any) -> MLPClassifier:
        """Train on features ``X`` (n_samples, n_features) and labels ``y`` (n_samples,)."""
        X, y = check_X_y(X, y)
        self.classes_, codes, _ = check_classifier_targets(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y: a classifier needs at least two classes, got only {self.classes_.tolist()} "
                f"(n_samples={len(y)})"
            )
        self._fit(X, codes, "classification")
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, of shape (n_samples, n_classes), rows summing to 1."""
        return self._outputs(X)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class MLPRegressor(RegressorMixin, _MLP):
    """A multilayer perceptron regressor (ReLU hidden layers, one linear output, squared error).

    The targets are standardised for training (mean 0, standard deviation 1) and predictions
    mapped back.

    Parameters
    ----------
    hidden_layer_sizes, alpha, batch_size, learning_rate_init, max_iter, random_state
        As for :class:`MLPClassifier`.

    Attributes
    ----------
    net_ : NetChain
        The trained net, on standardised targets.
    loss_curve_ : list of float
    n_iter_ : int
    n_features_in_ : int
    """

    def fit(self, X: Any, y: Any) -> MLPRegressor:
        """Train on features ``X`` (n_samples, n_features) and numeric targets ``y``."""
        X, y = check_X_y(X, y, y_numeric=True)
        self._y_mean, sd = float(y.mean()), float(y.std())
        self._y_scale = sd if sd > 0 else 1.0
        self._fit(X, (y - self._y_mean) / self._y_scale, "regression")
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values, of shape (n_samples,)."""
        return self._outputs(X).reshape(-1) * self._y_scale + self._y_mean
