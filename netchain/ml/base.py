"""The estimator protocol, input validation and kernels shared by every classical estimator.

Estimators follow scikit-learn's protocol (Pedregosa et al., 2011; Buitinck et al., 2013, "API
design for machine learning software"): the constructor stores its parameters verbatim, ``fit``
returns ``self``, learned attributes end in ``_``, and ``get_params`` / ``set_params`` read and
write the constructor's parameters. scikit-learn is not imported at run time; the one method
that needs it, ``__sklearn_tags__``, is only ever called by scikit-learn itself.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import numbers
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from netchain.backend import blas_threads, threadpools, xp

__all__ = [
    "BaseEstimator",
    "ClassifierMixin",
    "ClusterMixin",
    "ConvergenceWarning",
    "DataConversionWarning",
    "NotFittedError",
    "OutlierMixin",
    "RegressorMixin",
    "TransformerMixin",
    "available_if",
    "blas_threads",
    "blas_threads_for",
    "blas_thread_count",
    "check_array",
    "check_classification_targets",
    "check_classifier_targets",
    "check_fitted_input",
    "check_is_fitted",
    "check_option",
    "check_random_state",
    "check_sample_weight",
    "check_scalar",
    "check_X_y",
    "class_weight_vector",
    "euclidean_distances",
    "pairwise_kernel",
    "resolve_gamma",
]


class NotFittedError(ValueError, AttributeError):
    """Raised when an estimator is used before ``fit``."""


class ConvergenceWarning(UserWarning):
    """Warned when an iterative fit stops at its iteration limit before converging, or
    converges to a degenerate solution (for example fewer distinct clusters than asked for)."""


class DataConversionWarning(UserWarning):
    """Warned when input is silently reshaped, e.g. a column-vector ``y`` raveled to 1-D."""


class BaseEstimator:
    """Base class: parameter access and a readable repr.

    Subclasses list every parameter explicitly in ``__init__`` (no ``*args`` / ``**kwargs``)
    and store each one unchanged under its own name.
    """

    _estimator_type: str | None = None
    #: True for estimators that accept a 2-D ``y`` (several targets); read by scikit-learn's tags
    _multi_output: bool = False

    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = inspect.signature(init).parameters.values()
        names = []
        for p in params:
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise RuntimeError(f"{cls.__name__}.__init__ must not take *args or **kwargs")
            names.append(p.name)
        return sorted(names)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor parameters as a dict (nested ones as ``outer__inner``)."""
        out: dict[str, Any] = {}
        for key in self._get_param_names():
            value = getattr(self, key)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for k, v in value.get_params().items():
                    out[f"{key}__{k}"] = v
            out[key] = value
        return out

    def set_params(self, **params: Any) -> BaseEstimator:
        """Set constructor parameters; returns ``self``.

        Raises
        ------
        ValueError
            For a name that is not a parameter of this estimator.
        """
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            head, sep, sub = key.partition("__")
            if head not in valid:
                raise ValueError(
                    f"Invalid parameter {head!r} for estimator {type(self).__name__}; "
                    f"valid parameters are {valid}"
                )
            if sep:
                nested.setdefault(head, {})[sub] = value
            else:
                setattr(self, head, value)
        for head, sub_params in nested.items():
            getattr(self, head).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self"
        }
        shown = []
        for k in self._get_param_names():
            v = getattr(self, k, None)
            d = defaults.get(k, inspect.Parameter.empty)
            same = False
            try:
                same = v is d or (type(v) is type(d) and bool(v == d))
            except Exception:  # arrays and other non-scalar defaults
                same = False
            if not same:
                shown.append(f"{k}={v!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self) -> Any:  # pragma: no cover - exercised by scikit-learn's checks
        from sklearn.utils import (
            ClassifierTags,
            InputTags,
            RegressorTags,
            Tags,
            TargetTags,
            TransformerTags,
        )

        kind = self._estimator_type
        tags = Tags(
            estimator_type=kind,
            target_tags=TargetTags(
                required=kind in ("classifier", "regressor"),
                multi_output=getattr(self, "_multi_output", False),
            ),
            transformer_tags=TransformerTags() if hasattr(self, "transform") else None,
            classifier_tags=ClassifierTags() if kind == "classifier" else None,
            regressor_tags=RegressorTags() if kind == "regressor" else None,
            input_tags=InputTags(),
        )
        return tags


class _AvailableIf:
    """A method that exists on an instance only while ``check(instance)`` is true."""

    def __init__(self, fn: Callable, check: Callable[[Any], bool]) -> None:
        self.fn = fn
        self.check = check
        functools.update_wrapper(self, fn)

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self.fn
        if not self.check(obj):
            raise AttributeError(
                f"{type(obj).__name__!r} has no attribute {self.fn.__name__!r} with these "
                "parameters"
            )
        return types.MethodType(self.fn, obj)


def available_if(check: Callable[[Any], bool]) -> Callable[[Callable], Any]:
    """Decorate a method so that ``hasattr(instance, name)`` is ``check(instance)``.

    For methods that depend on a constructor parameter (``SVC.predict_proba`` needs
    ``probability=True``): where the check fails, looking the method up raises AttributeError.
    """

    def decorate(fn: Callable) -> Any:
        return _AvailableIf(fn, check)

    return decorate


class ClassifierMixin:
    """``score`` as mean accuracy."""

    _estimator_type = "classifier"

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Mean accuracy of ``predict(X)`` against ``y``."""
        y = np.asarray(y)
        correct = (self.predict(X) == y).astype(np.float64)
        return float(np.average(correct, weights=sample_weight))


class RegressorMixin:
    """``score`` as the coefficient of determination R^2."""

    _estimator_type = "regressor"

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 of ``predict(X)`` against ``y`` (1 is perfect; 0 is the mean's score)."""
        y = np.asarray(y, dtype=np.float64)
        pred = np.asarray(self.predict(X), dtype=np.float64)
        w = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        if y.ndim == 1:
            y, pred = y[:, None], pred.reshape(len(pred), -1)
        ss_res = (w[:, None] * (y - pred) ** 2).sum(axis=0)
        mean = np.average(y, axis=0, weights=w)
        ss_tot = (w[:, None] * (y - mean) ** 2).sum(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), 0.0)
            r2 = np.where((ss_tot == 0) & (ss_res == 0), 1.0, r2)
        return float(r2.mean())


class TransformerMixin:
    """``fit_transform`` as ``fit`` followed by ``transform``."""

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit to ``X`` and return its transformation."""
        return self.fit(X, y, **fit_params).transform(X)


class ClusterMixin:
    """``fit_predict`` returning ``labels_``."""

    _estimator_type = "clusterer"

    def fit_predict(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit to ``X`` and return the cluster label of each row."""
        self.fit(X, **fit_params)
        return self.labels_


class OutlierMixin:
    """``fit_predict`` returning +1 for inliers and -1 for outliers."""

    _estimator_type = "outlier_detector"

    def fit_predict(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        """Fit to ``X`` and return +1 (inlier) or -1 (outlier) for each row."""
        return self.fit(X, **fit_params).predict(X)


# --------------------------------------------------------------------------- validation


def check_array(
    X: Any,
    *,
    name: str = "X",
    dtype: Any = np.float64,
    ensure_2d: bool = True,
    allow_nd: bool = False,
    ensure_min_samples: int = 1,
    ensure_min_features: int = 1,
    ensure_finite: bool = True,
) -> Any:
    """Validate an array of features and return it as a contiguous floating array.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    name : str, default "X"
        The argument's name in error messages.
    dtype : dtype or None, default float64
        Target dtype; None keeps a floating dtype and casts the rest to float64.
    ensure_2d, allow_nd : bool
        Require exactly two dimensions (or allow more with ``allow_nd``).
    ensure_min_samples, ensure_min_features : int
        Minimum number of rows and columns.
    ensure_finite : bool, default True
        Reject NaN and infinity.

    Returns
    -------
    ndarray
        C-contiguous, of ``dtype``.

    Raises
    ------
    ValueError
        For a scalar, a 1-D array where 2-D is needed, ragged lists, complex values, empty
        input, too few samples or features, NaN or infinity; the message names the argument.
    TypeError
        For non-numeric data (strings, objects), or a sparse matrix.
    """
    if hasattr(X, "toarray") and hasattr(X, "nnz"):
        raise TypeError(f"{name}: sparse input is not supported; pass a dense array")
    try:
        arr = np.asarray(X)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a rectangular array of numbers: {exc}") from None
    if arr.dtype.kind == "c":
        raise ValueError(f"{name}: Complex data not supported (got dtype {arr.dtype})")
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must hold real numbers: {exc}") from None
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if ensure_2d:
        if arr.ndim == 0:
            raise ValueError(
                f"{name}: expected a 2-D array of shape (n_samples, n_features), got a scalar {X!r}"
            )
        if arr.ndim == 1:
            raise ValueError(
                f"{name}: expected a 2-D array of shape (n_samples, n_features), got a 1-D array "
                f"of shape {arr.shape}. Reshape your data with X.reshape(-1, 1) for one feature "
                "or X.reshape(1, -1) for one sample"
            )
        if arr.ndim > 2 and not allow_nd:
            raise ValueError(f"{name}: expected a 2-D array, got {arr.ndim}-D of shape {arr.shape}")
    if dtype is None:
        dtype = arr.dtype if arr.dtype.kind == "f" else np.float64
    arr = np.ascontiguousarray(arr, dtype=dtype)
    n = arr.shape[0] if arr.ndim else 1
    if n < ensure_min_samples:
        raise ValueError(
            f"{name}: found array with {n} sample(s) (shape={arr.shape}) while a minimum of "
            f"{ensure_min_samples} is required."
        )
    if ensure_2d and arr.shape[1] < ensure_min_features:
        raise ValueError(
            f"{name}: found array with {arr.shape[1]} feature(s) (shape={arr.shape}) while a "
            f"minimum of {ensure_min_features} is required."
        )
    if ensure_finite and arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = "NaN" if np.isnan(arr).any() else "infinity"
        raise ValueError(f"{name} contains {bad}; remove or impute such values first")
    return arr


def check_X_y(
    X: Any,
    y: Any,
    *,
    y_numeric: bool = False,
    multi_output: bool = False,
    **check_array_kw: Any,
) -> tuple[Any, Any]:
    """Validate features and targets together.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) or (n_samples, n_outputs) with ``multi_output``
    y_numeric : bool, default False
        Cast ``y`` to float64 and reject NaN / infinity in it.

    Raises
    ------
    ValueError
        For None targets, mismatched lengths, or the errors of :func:`check_array`.
    """
    if y is None:
        raise ValueError("y: this estimator requires y to be passed, but the target y is None")
    X = check_array(X, **check_array_kw)
    y_arr = np.asarray(y)
    if y_arr.ndim == 2 and y_arr.shape[1] == 1 and not multi_output:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected; it is raveled to shape "
            f"({len(y_arr)},)",
            DataConversionWarning,
            stacklevel=3,
        )
        y_arr = y_arr.ravel()
    if y_arr.ndim != 1 and not (multi_output and y_arr.ndim == 2):
        raise ValueError(f"y: expected a 1-D array of shape (n_samples,), got shape {y_arr.shape}")
    if len(y_arr) != len(X):
        raise ValueError(
            f"X and y have inconsistent numbers of samples: X has {len(X)}, y has {len(y_arr)}"
        )
    if y_numeric:
        if y_arr.dtype.kind not in "fiub":
            try:
                y_arr = y_arr.astype(np.float64)
            except (TypeError, ValueError):
                raise ValueError(f"y must be numeric, got dtype {y_arr.dtype}") from None
        y_arr = y_arr.astype(np.float64)
        if not np.isfinite(y_arr).all():
            raise ValueError("y contains NaN or infinity")
    elif y_arr.dtype.kind == "f" and not np.isfinite(y_arr).all():
        raise ValueError("y contains NaN or infinity")
    return X, y_arr


def check_classification_targets(y: Any) -> None:
    """Raise a ValueError unless ``y`` holds class labels (not continuous values).

    Floating labels are accepted only when every value is integral (e.g. 0.0, 1.0); anything
    else (3.7, ...) is taken for a regression target by mistake.
    """
    y = np.asarray(y)
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ValueError(
            "Unknown label type: continuous. y holds non-integral floats, which look like a "
            "regression target; pass class labels (ints, strings, ...) to a classifier"
        )
    if y.ndim != 1:
        raise ValueError(f"y: expected a 1-D array of class labels, got shape {y.shape}")


def check_classifier_targets(
    y: Any, sample_weight: Any = None, *, min_classes: int = 1, estimator: str = "the estimator"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate a classifier's labels (after :func:`check_X_y`) and sample weights, and encode
    the labels.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Class labels.
    sample_weight : array-like of shape (n_samples,), scalar or None, default None
    min_classes : int, default 1
        How many distinct labels the estimator needs.
    estimator : str
        Its name, for the error message.

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        The sorted distinct labels.
    codes : ndarray of shape (n_samples,), int
        Each label's index in ``classes``.
    weights : ndarray of shape (n_samples,), float64

    Raises
    ------
    ValueError
        The errors of :func:`check_classification_targets` and :func:`check_sample_weight`,
        then for fewer than ``min_classes`` classes.
    """
    check_classification_targets(y)
    w = check_sample_weight(sample_weight, len(y))
    classes, codes = np.unique(y, return_inverse=True)
    if len(classes) < min_classes:
        raise ValueError(
            f"y: {estimator} needs samples of at least {min_classes} classes; got "
            f"{len(classes)} class{'es' if len(classes) != 1 else ''} "
            f"({', '.join(repr(c) for c in classes)})"
        )
    return classes, codes, w


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """Validate ``sample_weight``: None gives ones; a scalar is broadcast.

    Returns
    -------
    ndarray of shape (n_samples,), float64

    Raises
    ------
    ValueError
        For a wrong shape, NaN / infinity or negative weights.
    """
    if sample_weight is None:
        return np.ones(n_samples)
    w = np.asarray(sample_weight, dtype=np.float64)
    if w.ndim == 0:
        return np.full(n_samples, float(w))
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight: expected shape ({n_samples},), got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("sample_weight contains NaN or infinity")
    if np.any(w < 0):
        raise ValueError("sample_weight must be non-negative")
    if n_samples and not np.any(w > 0):
        raise ValueError("Sample weights must contain at least one non-zero number")
    return np.ascontiguousarray(w)


def class_weight_vector(class_weight: Any, classes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-class weights: None gives ones; "balanced" gives n / (n_classes * count); a dict
    maps labels to weights (1 for labels it omits).

    Raises
    ------
    ValueError
        For another value, or dict keys that are not labels of ``y``.
    """
    k = len(classes)
    if class_weight is None:
        return np.ones(k)
    if isinstance(class_weight, str) and class_weight == "balanced":
        counts = np.bincount(codes, minlength=k)
        return len(codes) / (k * np.maximum(counts, 1))
    if isinstance(class_weight, dict):
        known = set(classes.tolist())
        unknown = [c for c in class_weight if c not in known]
        if unknown:
            raise ValueError(f"class_weight: labels {unknown!r} are not classes of y")
        return np.array([float(class_weight.get(c, 1.0)) for c in classes.tolist()])
    raise ValueError(f"class_weight must be None, 'balanced' or a dict, got {class_weight!r}")


def check_is_fitted(estimator: Any, attributes: str | list[str] | None = None) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has been fitted.

    An estimator counts as fitted when it has the given attributes, or (with none given) any
    attribute ending in ``_`` that does not start with ``_``.
    """
    if attributes is None:
        fitted = any(k.endswith("_") and not k.startswith("_") for k in vars(estimator))
    else:
        attrs = [attributes] if isinstance(attributes, str) else attributes
        fitted = all(hasattr(estimator, a) for a in attrs)
    if not fitted:
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with "
            "appropriate arguments before using this estimator."
        )


def check_n_features(estimator: Any, X: Any) -> None:
    """Raise a ValueError when ``X`` has a different number of columns than at fit time."""
    n = X.shape[1]
    if n != estimator.n_features_in_:
        raise ValueError(
            f"X has {n} features, but {type(estimator).__name__} is expecting "
            f"{estimator.n_features_in_} features as input"
        )


def check_fitted_input(estimator: Any, X: Any, attributes: str | list[str]) -> np.ndarray:
    """Validate the input of a fitted estimator's predict / transform / score.

    Checks :func:`check_is_fitted` (with ``attributes``), then :func:`check_array` and
    :func:`check_n_features`; returns the validated ``X``.
    """
    check_is_fitted(estimator, attributes)
    X = check_array(X)
    check_n_features(estimator, X)
    return X


def check_random_state(random_state: Any) -> np.random.Generator:
    """Turn ``random_state`` (None, int, Generator or legacy RandomState) into a Generator.

    Raises
    ------
    ValueError
        For any other value.
    """
    if random_state is None or isinstance(random_state, numbers.Integral):
        if isinstance(random_state, bool):
            raise ValueError("random_state must be None, an int or a Generator, got a bool")
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**32 - 1))
    raise ValueError(
        f"random_state must be None, an int or a numpy Generator, got {random_state!r}"
    )


# --------------------------------------------------------------------------- BLAS threads


def blas_thread_count() -> int:
    """How many threads BLAS would use now (its largest pool); 1 without threadpoolctl.

    For work split by hand across threads that each call BLAS on one thread, so as to use the
    cores that the environment (e.g. ``OPENBLAS_NUM_THREADS``) allows.
    """
    pools = threadpools()
    if pools is None:  # pragma: no cover
        return 1
    counts = [lib.num_threads for lib in pools.lib_controllers if lib.user_api == "blas"]
    return max(counts, default=1)


#: Below this many multiply-adds in its largest BLAS call, a computation runs on one BLAS thread.
SMALL_BLAS_WORK = 5e8


def blas_threads_for(work: float) -> contextlib.AbstractContextManager:
    """One BLAS thread when ``work`` (multiply-adds of the largest BLAS call inside) is below
    :data:`SMALL_BLAS_WORK`, else the pools as they are. See :func:`blas_threads`."""
    return blas_threads(1 if work < SMALL_BLAS_WORK else None)


def check_scalar(
    value: Any,
    name: str,
    target_type: type | tuple[type, ...],
    *,
    min_val: float | None = None,
    max_val: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
) -> Any:
    """Validate a scalar parameter: its type and its range.

    Parameters
    ----------
    value : object
        The parameter's value.
    name : str
        The parameter's name, used in error messages.
    target_type : type or tuple of types
        Accepted types, e.g. ``numbers.Integral`` or ``numbers.Real``; bools are never accepted
        as numbers.
    min_val, max_val : float, optional
        Bounds of the accepted range.
    include_min, include_max : bool, default True
        Whether each bound itself is accepted.

    Returns
    -------
    The value, unchanged.

    Raises
    ------
    TypeError
        For a value of the wrong type (a bool where a number is expected included).
    ValueError
        For a value outside the range.
    """
    types = target_type if isinstance(target_type, tuple) else (target_type,)
    if isinstance(value, bool) or not isinstance(value, types):
        names = " or ".join(getattr(t, "__name__", str(t)) for t in types)
        raise TypeError(f"{name} must be {names}, got {value!r} of type {type(value).__name__}")
    low_bad = min_val is not None and (value < min_val if include_min else value <= min_val)
    high_bad = max_val is not None and (value > max_val if include_max else value >= max_val)
    if low_bad or high_bad:
        lo = "-inf" if min_val is None else f"{min_val}"
        hi = "inf" if max_val is None else f"{max_val}"
        left = "[" if include_min and min_val is not None else "("
        right = "]" if include_max and max_val is not None else ")"
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}")
    return value


def check_option(value: Any, name: str, options: tuple | list) -> Any:
    """Validate a parameter that takes one of a fixed set of values.

    Raises
    ------
    ValueError
        When ``value`` is not one of ``options``; the message lists them.
    """
    ok = any(
        value is o or (isinstance(value, str) and isinstance(o, str) and value == o)
        for o in options
    )
    if not ok:
        raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
    return value


# --------------------------------------------------------------------------- kernels


def euclidean_distances(X: Any, Y: Any = None, *, squared: bool = False) -> Any:
    """Pairwise Euclidean distances through one matrix product.

    ``|x - y|^2 = |x|^2 - 2 x.y + |y|^2``, clipped at 0 against rounding; the diagonal is
    exactly 0 when ``Y`` is None.

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d), optional (default ``X``)
    squared : bool, default False

    Returns
    -------
    ndarray of shape (n, m)
    """
    same = Y is None
    Y = X if same else Y
    xx = xp.einsum("ij,ij->i", X, X)
    yy = xx if same else xp.einsum("ij,ij->i", Y, Y)
    d = X @ Y.T
    d *= -2.0
    d += xx[:, None]
    d += yy[None, :]
    xp.maximum(d, 0.0, out=d)
    if same:
        xp.fill_diagonal(d, 0.0)
    return d if squared else xp.sqrt(d, out=d)


_KERNELS = ("linear", "poly", "rbf", "sigmoid")


def resolve_gamma(gamma: Any, X: Any) -> float:
    """The kernel coefficient: ``"scale"`` is 1 / (n_features * X.var()) (1.0 where the variance
    is 0), ``"auto"`` is 1 / n_features, a positive float is itself.

    Raises
    ------
    ValueError
        For an unknown string or a non-positive number.
    """
    if isinstance(gamma, str):
        if gamma == "scale":
            var = float(X.var())
            return 1.0 / (X.shape[1] * var) if var > 0 else 1.0
        if gamma == "auto":
            return 1.0 / X.shape[1]
        raise ValueError(f"gamma must be 'scale', 'auto' or a positive float, got {gamma!r}")
    if not isinstance(gamma, numbers.Real) or isinstance(gamma, bool) or not gamma > 0:
        raise ValueError(f"gamma must be 'scale', 'auto' or a positive float, got {gamma!r}")
    return float(gamma)


def pairwise_kernel(
    X: Any,
    Y: Any = None,
    *,
    kernel: str = "rbf",
    gamma: float = 1.0,
    degree: int = 3,
    coef0: float = 0.0,
) -> Any:
    """The kernel matrix K[i, j] = k(X[i], Y[j]).

    Kernels (Schoelkopf & Smola, 2002, "Learning with Kernels"):

    - "linear": x . y
    - "poly": (gamma x . y + coef0) ** degree
    - "rbf": exp(-gamma |x - y|^2)
    - "sigmoid": tanh(gamma x . y + coef0)

    Parameters
    ----------
    X : ndarray of shape (n, d)
    Y : ndarray of shape (m, d), optional (default ``X``)
    kernel : {"linear", "poly", "rbf", "sigmoid"}
    gamma : float
        Already resolved (see :func:`resolve_gamma`).
    degree : int
    coef0 : float

    Returns
    -------
    ndarray of shape (n, m), float64

    Raises
    ------
    ValueError
        For an unknown kernel.
    """
    if kernel == "rbf":
        K = euclidean_distances(X, Y, squared=True)
        K *= -gamma
        return xp.exp(K, out=K)
    Yv = X if Y is None else Y
    if kernel == "linear":
        return X @ Yv.T
    if kernel == "poly":
        K = X @ Yv.T
        K *= gamma
        K += coef0
        return K**degree
    if kernel == "sigmoid":
        K = X @ Yv.T
        K *= gamma
        K += coef0
        return xp.tanh(K, out=K)
    raise ValueError(f"kernel must be one of {_KERNELS}, got {kernel!r}")
