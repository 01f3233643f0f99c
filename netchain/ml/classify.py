"""``Classify`` and ``Predict``: the Wolfram Language's high-level learners over netchain's
estimators.

``Classify(data)`` trains a classifier and returns a :class:`ClassifierFunction`; ``Predict``
does the same for numeric targets and returns a :class:`PredictorFunction`. The training data
may be

- a dict ``{example: label}`` (examples as numbers or tuples),
- a list of pairs ``[(example, label), ...]``,
- a tuple ``(X, y)`` of a feature matrix (or a vector of scalar examples) and the labels.

Examples are numeric feature vectors (or single numbers); class labels may be of any
hashable type. Methods that depend on the scale of the features (nearest neighbours, logistic
regression, support vector machines) see features standardised by the training mean and
standard deviation. ``method="Automatic"`` chooses among the methods by stratified k-fold
cross-validation on the training data (accuracy for ``Classify``, mean squared error for
``Predict``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from netchain.ml.base import BaseEstimator, check_random_state
from netchain.ml.ensemble import RandomForestClassifier, RandomForestRegressor
from netchain.ml.linear_model import LinearRegression, LogisticRegression
from netchain.ml.neighbors import KNeighborsClassifier, KNeighborsRegressor
from netchain.ml.neural import MLPClassifier, MLPRegressor
from netchain.ml.svm import SVC
from netchain.ml.tree import DecisionTreeClassifier, DecisionTreeRegressor

__all__ = [
    "ClassifierFunction",
    "ClassifierMeasurements",
    "Classify",
    "Predict",
    "PredictorFunction",
    "PredictorMeasurements",
]

# A method: (factory(n_samples, random_state, for_selection) -> estimator, standardise features).
Factory = Callable[[int, int, bool], BaseEstimator]


def _rounds(n: int) -> int:
    """Training rounds for the "NeuralNetwork" method: about 3,000 ADAM steps of 32 examples,
    between 20 and 500 rounds."""
    return int(min(500, max(20, math.ceil(3000 * 32 / max(n, 1)))))


CLASSIFY_METHODS: dict[str, tuple[Factory, bool]] = {
    "LogisticRegression": (lambda n, seed, sel: LogisticRegression(max_iter=1000), True),
    "NearestNeighbors": (lambda n, seed, sel: KNeighborsClassifier(n_neighbors=min(5, n)), True),
    "SupportVectorMachine": (
        lambda n, seed, sel: SVC(probability=not sel, random_state=seed),
        True,
    ),
    "DecisionTree": (lambda n, seed, sel: DecisionTreeClassifier(random_state=seed), False),
    "RandomForest": (
        lambda n, seed, sel: RandomForestClassifier(100, random_state=seed),
        False,
    ),
    "NeuralNetwork": (
        lambda n, seed, sel: MLPClassifier(
            (64,), batch_size=32, max_iter=_rounds(n), random_state=seed
        ),
        True,
    ),
}

PREDICT_METHODS: dict[str, tuple[Factory, bool]] = {
    "LinearRegression": (lambda n, seed, sel: LinearRegression(), False),
    "NearestNeighbors": (lambda n, seed, sel: KNeighborsRegressor(n_neighbors=min(5, n)), True),
    "DecisionTree": (lambda n, seed, sel: DecisionTreeRegressor(random_state=seed), False),
    "RandomForest": (lambda n, seed, sel: RandomForestRegressor(100, random_state=seed), False),
    "NeuralNetwork": (
        lambda n, seed, sel: MLPRegressor(
            (64,), batch_size=32, max_iter=_rounds(n), random_state=seed
        ),
        True,
    ),
}

#: Methods "Automatic" does not try (training a net for each fold costs too much).
_NOT_AUTOMATIC = {"NeuralNetwork"}

_MAX_SELECTION_SAMPLES = 3000  # "Automatic" cross-validates on at most this many examples
_FOLDS = 3


# --------------------------------------------------------------------------- data forms


def _as_object_array(values: Any) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = list(values)
    return out


def _parse(data: Any, name: str = "data") -> tuple[np.ndarray, np.ndarray, bool]:
    """Features (n, d) float64, targets as an object array, and whether examples are scalars."""
    if isinstance(data, Mapping):
        examples, targets = list(data.keys()), list(data.values())
    elif isinstance(data, tuple) and len(data) == 2:
        examples, targets = data
    elif isinstance(data, list):
        try:
            examples, targets = zip(*data)
        except (TypeError, ValueError):
            raise ValueError(
                f"{name}: a list must hold (example, label) pairs, e.g. [((1, 2), 'a'), ...]"
            ) from None
        if any(len(p) != 2 for p in data):
            raise ValueError(f"{name}: every element of the list must be an (example, label) pair")
    else:
        raise TypeError(
            f"{name} must be a dict {{example: label}}, a list of (example, label) pairs or a "
            f"tuple (X, y), got {type(data).__name__}"
        )
    try:
        X = np.asarray(examples, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name}: examples must be numbers or equal-length numeric vectors"
        ) from None
    scalar = X.ndim == 1
    if scalar:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"{name}: examples must be numbers or vectors, got shape {X.shape[1:]}")
    if len(X) == 0:
        raise ValueError(f"{name}: no examples")
    if not np.isfinite(X).all():
        raise ValueError(f"{name}: examples contain NaN or infinity")
    if isinstance(targets, np.ndarray) and targets.dtype != object:
        if targets.ndim != 1:
            raise ValueError(f"{name}: labels must be one per example, got shape {targets.shape}")
        y = _as_object_array(targets.tolist())
    else:
        y = _as_object_array(list(targets))
    if len(y) != len(X):
        raise ValueError(f"{name}: {len(X)} examples but {len(y)} labels")
    return X, y, scalar


def _encode(labels: np.ndarray) -> tuple[list, np.ndarray]:
    """Classes (sorted when they can be, else in order of appearance) and integer codes."""
    try:
        classes, codes = np.unique(labels, return_inverse=True)
        return list(classes), codes.astype(np.int64)
    except TypeError:  # labels of mixed types that do not sort
        index: dict = {}
        codes = np.fromiter(
            (index.setdefault(v, len(index)) for v in labels), np.int64, len(labels)
        )
        return list(index), codes


class _Standardizer:
    def __init__(self, X: np.ndarray, on: bool) -> None:
        self.mean = X.mean(axis=0) if on else np.zeros(X.shape[1])
        sd = X.std(axis=0) if on else np.ones(X.shape[1])
        self.scale = np.where(sd > 0, sd, 1.0)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return (X - self.mean) / self.scale


def _folds(codes: np.ndarray | None, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of each example; stratified by class when codes are given."""
    perm = rng.permutation(n)
    if codes is not None:
        perm = perm[np.argsort(codes[perm], kind="stable")]
    fold = np.empty(n, dtype=np.int64)
    fold[perm] = np.arange(n) % k
    return fold


def _select(
    table: dict, X: np.ndarray, target: np.ndarray, codes: np.ndarray | None, seed: int
) -> str:
    """The method of best cross-validated score (accuracy, or minus the mean squared error)."""
    rng = check_random_state(seed)
    n = len(X)
    if n > _MAX_SELECTION_SAMPLES:
        keep = np.sort(rng.choice(n, _MAX_SELECTION_SAMPLES, replace=False))
        X, target = X[keep], target[keep]
        codes = None if codes is None else codes[keep]
        n = len(X)
    if codes is not None:
        k = int(min(_FOLDS, np.bincount(codes).min()))
    else:
        k = min(_FOLDS, n)
    names = [name for name in table if name not in _NOT_AUTOMATIC]
    if k < 2:
        return names[0]
    fold = _folds(codes, n, k, rng)
    best, best_score = names[0], -np.inf
    for name in names:
        factory, standardize = table[name]
        scores = []
        for f in range(k):
            tr, te = fold != f, fold == f
            if codes is not None and len(np.unique(codes[tr])) < 2:
                continue
            scale = _Standardizer(X[tr], standardize)
            est = factory(int(tr.sum()), seed, True).fit(scale(X[tr]), target[tr])
            pred = est.predict(scale(X[te]))
            if codes is not None:
                scores.append(np.mean(pred == target[te]))
            else:
                scores.append(-np.mean((pred - target[te]) ** 2))
        score = float(np.mean(scores)) if scores else -np.inf
        if score > best_score + 1e-12:
            best, best_score = name, score
    return best


def _train(
    table: dict,
    method: str,
    options: dict,
    X: np.ndarray,
    target: np.ndarray,
    codes: np.ndarray | None,
    seed: int,
) -> tuple[Any, str, _Standardizer]:
    """Fit the method (chosen by :func:`_select` for "Automatic") with its options on all
    the data; returns the estimator, the method's name and the feature scaling."""
    if method == "Automatic":
        method = _select(table, X, target, codes, seed)
    factory, standardize = table[method]
    scale = _Standardizer(X, standardize)
    est = factory(len(X), seed, False)
    if options:
        est.set_params(**options)
    est.fit(scale(X), target)
    return est, method, scale


def _resolve_method(method: Any, table: dict, what: str) -> tuple[str, dict]:
    """``"Name"`` or ``("Name", {estimator options})``."""
    options: dict = {}
    if isinstance(method, tuple) and len(method) == 2 and isinstance(method[1], Mapping):
        method, options = method[0], dict(method[1])
    if method != "Automatic" and method not in table:
        raise ValueError(
            f"method must be 'Automatic' or one of {sorted(table)} for {what}, got {method!r}"
        )
    if options and method == "Automatic":
        raise ValueError("estimator options need a named method, not 'Automatic'")
    return method, options


def _check_seed(random_seed: Any) -> int:
    if isinstance(random_seed, numbers.Integral) and not isinstance(random_seed, bool):
        return int(random_seed)
    if isinstance(random_seed, np.random.Generator):
        return int(random_seed.integers(0, 2**31 - 1))
    raise TypeError(
        f"random_seed must be an int or a numpy Generator, got {type(random_seed).__name__}"
    )


# --------------------------------------------------------------------------- functions


class _LearnedFunction:
    def __init__(self, estimator, method, scale, n_features, scalar_input) -> None:
        self.estimator = estimator
        self.method = method
        self._scale = scale
        self.n_features = n_features
        self._scalar_input = scalar_input

    def _features(self, x: Any) -> tuple[np.ndarray, bool]:
        """Validated features of one example (single=True) or of a batch."""
        try:
            a = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("examples must be numbers or numeric vectors") from None
        d = self.n_features
        if self._scalar_input and a.ndim <= 1:
            single = a.ndim == 0
            a = a.reshape(-1, 1)
        elif a.ndim == 1:
            single = True
            a = a[None, :]
        elif a.ndim == 2:
            single = False
        else:
            raise ValueError(f"examples must be vectors or a matrix of them, got shape {a.shape}")
        if a.shape[1] != d:
            raise ValueError(
                f"each example must have {d} feature(s) as in training, got {a.shape[1]}"
            )
        if not np.isfinite(a).all():
            raise ValueError("examples contain NaN or infinity")
        return self._scale(a), single


class ClassifierFunction(_LearnedFunction):
    """A trained classifier, as returned by :func:`Classify`.

    ``c(x)`` gives the class that the method decides for the example ``x`` (a list for a
    batch of examples): the most probable one, or for support vector machines the winner of
    the pairwise votes; ``c(x, "Probabilities")`` a dict ``{class: probability}``;
    ``c(x, "TopProbabilities")`` the (class, probability) pairs in decreasing order of
    probability, those below 0.1 left out; ``c(x, ("Probability", cls))`` one probability.

    Attributes
    ----------
    method : str
        The method used (the one chosen, for "Automatic").
    classes : list
        The class labels, sorted when they can be.
    n_features : int
    estimator : estimator
        The fitted netchain estimator (it sees standardised features where the method needs
        them).
    """

    def __init__(self, estimator, method, classes, scale, n_features, scalar_input) -> None:
        super().__init__(estimator, method, scale, n_features, scalar_input)
        self.classes = classes

    def __repr__(self) -> str:
        return (
            f"ClassifierFunction(method={self.method!r}, classes={self.classes!r}, "
            f"n_features={self.n_features})"
        )

    def _proba(self, Xs: np.ndarray) -> np.ndarray:
        return self.estimator.predict_proba(Xs)

    def __call__(self, x: Any, prop: Any = "Decision") -> Any:
        Xs, single = self._features(x)
        P = self._proba(Xs) if prop != "Decision" else None
        classes = self.classes
        if prop == "Decision":
            out = [classes[i] for i in self.estimator.predict(Xs)]
        elif prop == "Probabilities":
            out = [dict(zip(classes, row.tolist())) for row in P]
        elif prop == "TopProbabilities":
            order = np.argsort(-P, axis=1, kind="stable")
            out = [
                [(classes[i], float(row[i])) for i in o if row[i] >= 0.1]
                for o, row in zip(order, P)
            ]
        elif isinstance(prop, tuple) and len(prop) == 2 and prop[0] == "Probability":
            if prop[1] not in classes:
                raise ValueError(f"unknown class {prop[1]!r}; the classes are {classes!r}")
            out = P[:, classes.index(prop[1])].tolist()
        else:
            raise ValueError(
                "property must be 'Decision', 'Probabilities', 'TopProbabilities' or "
                f"('Probability', class), got {prop!r}"
            )
        return out[0] if single else out


class PredictorFunction(_LearnedFunction):
    """A trained predictor, as returned by :func:`Predict`.

    ``p(x)`` gives the predicted value for the example ``x`` (a list for a batch).

    Attributes
    ----------
    method : str
    n_features : int
    estimator : estimator
    """

    def __repr__(self) -> str:
        return f"PredictorFunction(method={self.method!r}, n_features={self.n_features})"

    def __call__(self, x: Any, prop: Any = "Decision") -> Any:
        if prop != "Decision":
            raise ValueError(f"property must be 'Decision', got {prop!r}")
        Xs, single = self._features(x)
        out = self.estimator.predict(Xs).tolist()
        return out[0] if single else out


def Classify(
    data: Any, method: Any = "Automatic", *, random_seed: Any = 1234
) -> ClassifierFunction:
    """Train a classifier on labelled examples.

    Parameters
    ----------
    data : dict, list of pairs or tuple (X, y)
        ``{example: label}``, ``[(example, label), ...]`` or ``(X, y)``; examples are numbers
        or numeric vectors of one length, labels any hashable values (at least two classes).
    method : str or (str, dict), default "Automatic"
        "NearestNeighbors" (k-NN, k = 5), "LogisticRegression" (multinomial, L2),
        "SupportVectorMachine" (RBF kernel, Platt probabilities), "DecisionTree" (CART),
        "RandomForest" (100 trees), "NeuralNetwork" (an MLP with one hidden layer of 64 Ramp
        units trained by NetTrain with ADAM, :class:`MLPClassifier`), or "Automatic" (the best
        of these but the neural network, by 3-fold stratified cross-validation of the accuracy
        on at most 3000 training examples). A pair
        ``("NearestNeighbors", {"n_neighbors": 3})`` passes options to the estimator.
    random_seed : int or numpy.random.Generator, default 1234
        Seeds the cross-validation and the randomised methods.

    Returns
    -------
    ClassifierFunction

    Raises
    ------
    TypeError
        For data of another form, or non-numeric examples.
    ValueError
        For an unknown method, fewer than two classes, inconsistent lengths, NaN.

    Examples
    --------
    >>> from netchain.ml import Classify
    >>> c = Classify({1.0: "A", 2.0: "A", 3.5: "B", 4.0: "B"}, method="LogisticRegression")
    >>> c(1.2), c(3.9)
    ('A', 'B')
    """
    seed = _check_seed(random_seed)
    method, options = _resolve_method(method, CLASSIFY_METHODS, "Classify")
    X, labels, scalar = _parse(data)
    classes, codes = _encode(labels)
    if len(classes) < 2:
        raise ValueError(f"data: Classify needs at least two classes, got only {classes!r}")
    est, method, scale = _train(CLASSIFY_METHODS, method, options, X, codes, codes, seed)
    if not hasattr(est, "predict_proba"):
        raise ValueError(f"method {method!r} with these options gives no probabilities")
    return ClassifierFunction(est, method, classes, scale, X.shape[1], scalar)


def Predict(data: Any, method: Any = "Automatic", *, random_seed: Any = 1234) -> PredictorFunction:
    """Train a predictor of a numeric value.

    Parameters
    ----------
    data : dict, list of pairs or tuple (X, y)
        As for :func:`Classify`, with numeric targets.
    method : str or (str, dict), default "Automatic"
        "LinearRegression" (least squares), "NearestNeighbors" (k = 5), "DecisionTree",
        "RandomForest" (100 trees), "NeuralNetwork" (an MLP with 64 Ramp units,
        :class:`MLPRegressor`), or "Automatic" (the best but the neural network, by 3-fold
        cross-validated mean squared error on at most 3000 examples).
    random_seed : int or numpy.random.Generator, default 1234

    Returns
    -------
    PredictorFunction

    Raises
    ------
    TypeError
        For data of another form, non-numeric examples or targets.
    ValueError
        For an unknown method, inconsistent lengths, NaN.

    Examples
    --------
    >>> from netchain.ml import Predict
    >>> p = Predict({1: 1.0, 2: 3.0, 3: 5.0}, method="LinearRegression")
    >>> round(p(4), 6)
    7.0
    """
    seed = _check_seed(random_seed)
    method, options = _resolve_method(method, PREDICT_METHODS, "Predict")
    X, targets, scalar = _parse(data)
    try:
        y = targets.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError("data: Predict needs numeric targets") from None
    if not np.isfinite(y).all():
        raise ValueError("data: targets contain NaN or infinity")
    est, method, scale = _train(PREDICT_METHODS, method, options, X, y, None, seed)
    return PredictorFunction(est, method, scale, X.shape[1], scalar)


# --------------------------------------------------------------------------- measurements

_CLASSIFIER_PROPERTIES = (
    "Accuracy",
    "ConfusionMatrix",
    "Precision",
    "Recall",
    "F1Score",
    "LogLikelihood",
)
_PREDICTOR_PROPERTIES = ("RSquared", "MeanSquare", "StandardDeviation", "MeanDeviation")


def _check_width(X: np.ndarray, d: int) -> np.ndarray:
    if X.shape[1] != d:
        raise ValueError(
            f"test_data: examples must have {d} feature(s) as in training, got {X.shape[1]}"
        )
    return X


def ClassifierMeasurements(c: ClassifierFunction, test_data: Any, prop: Any) -> Any:
    """Measure a classifier on labelled test examples.

    Parameters
    ----------
    c : ClassifierFunction
    test_data : dict, list of pairs or tuple (X, y)
        As for :func:`Classify`.
    prop : str or list of str
        - "Accuracy": the fraction classified correctly;
        - "ConfusionMatrix": counts, rows the actual class and columns the decision, both in
          the order of ``c.classes`` (int64 ndarray);
        - "Precision", "Recall", "F1Score": dicts ``{class: value}`` (NaN where undefined:
          a class never decided, or absent from the test data);
        - "LogLikelihood": the sum of the log-probabilities of the actual classes.
        A list of names gives a list of values.

    Raises
    ------
    TypeError
        Unless ``c`` is a ClassifierFunction.
    ValueError
        For an unknown property or a test label that was not a training class.
    """
    return _measure(
        c, "c", ClassifierFunction, _CLASSIFIER_PROPERTIES, _classifier_measurement, test_data, prop
    )


def _measure(
    function: Any,
    argument: str,
    kind: type,
    properties: tuple,
    measurement: Callable[[Any, Any, str], Any],
    test_data: Any,
    prop: Any,
) -> Any:
    """Check the function (a ``kind``) and the property (or list of them), then
    ``measurement(function, test_data, prop)`` for each."""
    if not isinstance(function, kind):
        raise TypeError(f"{argument} must be a {kind.__name__}, got {type(function).__name__}")
    if isinstance(prop, list):
        return [
            _measure(function, argument, kind, properties, measurement, test_data, q) for q in prop
        ]
    if prop not in properties:
        raise ValueError(f"prop must be one of {properties}, got {prop!r}")
    return measurement(function, test_data, prop)


def _classifier_measurement(c: ClassifierFunction, test_data: Any, prop: str) -> Any:
    X, labels, _ = _parse(test_data, "test_data")
    index = {cls: i for i, cls in enumerate(c.classes)}
    unseen = {v for v in set(labels.tolist()) if v not in index}
    if unseen:
        try:
            ordered = sorted(unseen)
        except TypeError:  # labels of mixed types
            ordered = sorted(unseen, key=lambda v: (type(v).__name__, repr(v)))
        shown = ", ".join(repr(v) for v in ordered[:10]) + (", ..." if len(ordered) > 10 else "")
        raise ValueError(
            f"test_data: labels [{shown}] are not classes of the classifier ({c.classes!r})"
        )
    actual = np.fromiter((index[v] for v in labels), np.int64, len(labels))
    Xs = c._scale(_check_width(X, c.n_features))
    P = c._proba(Xs)
    decided = c.estimator.predict(Xs)
    k = len(c.classes)
    if prop == "Accuracy":
        return float(np.mean(decided == actual))
    if prop == "LogLikelihood":
        with np.errstate(divide="ignore"):
            return float(np.sum(np.log(P[np.arange(len(P)), actual])))
    cm = np.bincount(actual * k + decided, minlength=k * k).reshape(k, k)
    if prop == "ConfusionMatrix":
        return cm
    tp = np.diag(cm).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = tp / cm.sum(axis=0)
        recall = tp / cm.sum(axis=1)
        f1 = 2 * precision * recall / (precision + recall)
        f1 = np.where((precision == 0) & (recall == 0), 0.0, f1)
    value = {"Precision": precision, "Recall": recall, "F1Score": f1}[prop]
    return dict(zip(c.classes, value.tolist()))


def PredictorMeasurements(p: PredictorFunction, test_data: Any, prop: Any) -> Any:
    """Measure a predictor on test examples with known values.

    Parameters
    ----------
    p : PredictorFunction
    test_data : dict, list of pairs or tuple (X, y)
    prop : str or list of str
        - "RSquared": 1 - SS_res / SS_tot (coefficient of determination);
        - "MeanSquare": the mean squared residual;
        - "StandardDeviation": the root mean square of the residuals;
        - "MeanDeviation": the mean absolute residual.

    Raises
    ------
    TypeError
        Unless ``p`` is a PredictorFunction, or for non-numeric values.
    ValueError
        For an unknown property.
    """
    return _measure(
        p, "p", PredictorFunction, _PREDICTOR_PROPERTIES, _predictor_measurement, test_data, prop
    )


def _predictor_measurement(p: PredictorFunction, test_data: Any, prop: str) -> Any:
    X, targets, _ = _parse(test_data, "test_data")
    try:
        y = targets.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError("test_data: values must be numeric") from None
    r = y - p.estimator.predict(p._scale(_check_width(X, p.n_features)))
    if prop == "MeanSquare":
        return float(np.mean(r**2))
    if prop == "StandardDeviation":
        return float(np.sqrt(np.mean(r**2)))
    if prop == "MeanDeviation":
        return float(np.mean(np.abs(r)))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum(r**2))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
