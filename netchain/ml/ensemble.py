"""Random forests (Breiman, 2001, "Random forests", Machine Learning 45).

Each tree is a CART tree (:mod:`netchain.ml.tree`) grown to full depth on a bootstrap sample
of the training set (drawn as per-sample counts, which become sample weights, so a tree sees
each drawn row once with its multiplicity), searching ``max_features`` randomly chosen
features at each split. The forest averages the trees' class probabilities (or predictions).
Samples left out of a tree's bootstrap give the out-of-bag estimate of the forest's accuracy
(or R^2). Trees are grown in parallel threads through joblib (the compiled builder releases
the GIL).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
from joblib import Parallel, delayed

from netchain.ml.base import (
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    check_fitted_input,
    check_random_state,
)
from netchain.ml.tree import (
    _CRITERIA,
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    _apply,
    resolve_max_features,
)

__all__ = ["RandomForestClassifier", "RandomForestRegressor"]


def _n_draws(max_samples: Any, n: int) -> int:
    if max_samples is None:
        return n
    if isinstance(max_samples, numbers.Integral) and not isinstance(max_samples, bool):
        if 1 <= max_samples <= n:
            return int(max_samples)
    elif isinstance(max_samples, numbers.Real) and not isinstance(max_samples, bool):
        if 0.0 < max_samples <= 1.0:
            return max(1, round(max_samples * n))
    raise ValueError(
        f"max_samples must be None, an int in [1, {n}] or a float in (0, 1], got {max_samples!r}"
    )


class _BaseForest(BaseEstimator):
    _tree_class: type = DecisionTreeClassifier

    def _check_forest_params(self) -> None:
        ne = self.n_estimators
        if not isinstance(ne, numbers.Integral) or isinstance(ne, bool) or ne < 1:
            raise ValueError(f"n_estimators must be a positive int, got {ne!r}")
        if self.oob_score and not self.bootstrap:
            raise ValueError("oob_score=True needs bootstrap=True (no sample is out of bag)")
        if self.max_samples is not None and not self.bootstrap:
            raise ValueError("max_samples needs bootstrap=True")

    def _template(self) -> Any:
        return self._tree_class(**self._tree_params())

    def _tree_params(self) -> dict:
        return dict(
            criterion=self.criterion,
            max_depth=self.max_depth,
            min_samples_split=self.min_samples_split,
            min_samples_leaf=self.min_samples_leaf,
            min_weight_fraction_leaf=self.min_weight_fraction_leaf,
            max_features=self.max_features,
            min_impurity_decrease=self.min_impurity_decrease,
        )

    def _grow_forest(self, X, codes, Y, w, crit, K):
        """Grow the trees; returns them and, per tree, the bootstrap counts (or None)."""
        self._check_forest_params()
        n, d = X.shape
        n_draw = _n_draws(self.max_samples, n) if self.bootstrap else n
        seeds = check_random_state(self.random_state).integers(0, 2**31 - 1, size=self.n_estimators)
        Xt = np.ascontiguousarray(X.T)
        template = self._template()
        template._check_common(n, d)  # validate the tree parameters once, up front

        def one(seed):
            tree = self._tree_class(**self._tree_params(), random_state=int(seed))
            rng = np.random.default_rng(seed)
            if self.bootstrap:
                counts = np.bincount(rng.integers(0, n, size=n_draw), minlength=n)
                rows = np.flatnonzero(counts)
                wt = w * counts
            else:
                counts, rows, wt = None, None, w
            tree_seed = int(rng.integers(0, 2**31 - 1))
            tree._finish(tree._grow(Xt, codes, Y, wt, crit, K, rows, tree_seed), d)
            return tree, counts

        if self.n_jobs in (None, 1):
            out = [one(s) for s in seeds]
        else:
            out = Parallel(n_jobs=self.n_jobs, prefer="threads")(delayed(one)(s) for s in seeds)
        self.estimators_ = [t for t, _ in out]
        self.n_features_in_ = d
        self.max_features_ = resolve_max_features(self.max_features, d)
        imp = np.mean([t.feature_importances_ for t in self.estimators_], axis=0)
        total = imp.sum()
        self.feature_importances_ = imp / total if total > 0 else imp
        return [c for _, c in out]

    def _X_predict(self, X: Any) -> np.ndarray:
        return check_fitted_input(self, X, "estimators_")

    def _sum_values(self, X: np.ndarray) -> np.ndarray:
        """Sum over trees of each sample's leaf value, shape (n, n_outputs)."""
        total = None
        for est in self.estimators_:
            t = est.tree_
            v = t.value[_apply(X, t.children_left, t.children_right, t.feature, t.threshold)]
            if total is None:
                total = v
            else:
                total += v
        return total

    def _oob(self, X, counts_list):
        n = len(X)
        K = self.estimators_[0].tree_.value.shape[1]
        acc = np.zeros((n, K))
        seen = np.zeros(n)
        for est, counts in zip(self.estimators_, counts_list):
            oob = np.flatnonzero(counts == 0)
            if len(oob) == 0:
                continue
            t = est.tree_
            leaves = _apply(X[oob], t.children_left, t.children_right, t.feature, t.threshold)
            acc[oob] += t.value[leaves]
            seen[oob] += 1
        if np.any(seen == 0):
            warnings.warn(
                f"{int(np.sum(seen == 0))} sample(s) were in every tree's bootstrap and have no "
                "out-of-bag estimate; they are left out of oob_score_ (use more trees)",
                UserWarning,
                stacklevel=3,
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = acc / seen[:, None]
        return mean, seen > 0

    def apply(self, X: Any) -> np.ndarray:
        """Leaf ids of each sample in each tree.

        Returns
        -------
        ndarray of shape (n_samples, n_estimators), int64
        """
        X = self._X_predict(X)
        return np.stack([e.tree_.apply(X) for e in self.estimators_], axis=1)


class RandomForestClassifier(ClassifierMixin, _BaseForest):
    """A random forest of CART classification trees.

    Parameters
    ----------
    n_estimators : int, default 100
    criterion : {"gini", "entropy"}, default "gini"
    max_depth : int or None, default None
    min_samples_split : int or float, default 2
    min_samples_leaf : int or float, default 1
    min_weight_fraction_leaf : float, default 0.0
    max_features : {"sqrt", "log2"}, int, float or None, default "sqrt"
        Features searched per split: "sqrt" is floor(sqrt(n_features)); a float is that
        fraction of the features, floored, and at least 1.
    min_impurity_decrease : float, default 0.0
    bootstrap : bool, default True
        Grow each tree on a bootstrap sample (else on the whole training set).
    oob_score : bool, default False
        Estimate the accuracy on the out-of-bag samples.
    n_jobs : int or None, default None
        Threads growing trees (joblib); None or 1 grows them in turn, -1 on every core.
    random_state : int, Generator or None, default None
    class_weight : dict, "balanced" or None, default None
    max_samples : int, float or None, default None
        Size of each bootstrap sample (None: n_samples).

    Attributes
    ----------
    estimators_ : list of DecisionTreeClassifier
    classes_ : ndarray of shape (n_classes,)
    n_classes_ : int
    feature_importances_ : ndarray of shape (n_features,)
        Mean of the trees' normalised impurity decreases.
    oob_score_ : float
        Only with ``oob_score``.
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Only with ``oob_score``; NaN for samples in every bootstrap.
    max_features_ : int
    n_features_in_ : int
    """

    _tree_class = DecisionTreeClassifier

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        criterion: str = "gini",
        max_depth: int | None = None,
        min_samples_split: Any = 2,
        min_samples_leaf: Any = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: Any = "sqrt",
        min_impurity_decrease: float = 0.0,
        bootstrap: bool = True,
        oob_score: bool = False,
        n_jobs: int | None = None,
        random_state: Any = None,
        class_weight: Any = None,
        max_samples: Any = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.class_weight = class_weight
        self.max_samples = max_samples

    def _tree_params(self) -> dict:
        return dict(super()._tree_params(), class_weight=self.class_weight)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RandomForestClassifier:
        """Grow the forest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For invalid parameters or data.
        """
        template = self._template()
        X, classes, codes, w = template._prepare(X, y, sample_weight)
        self.classes_ = classes
        self.n_classes_ = len(classes)
        K = len(classes)
        counts = self._grow_forest(X, codes, np.empty((0, 0)), w, _CRITERIA[self.criterion], K)
        for est in self.estimators_:
            est.classes_ = classes
            est.n_classes_ = K
        if self.oob_score:
            proba, ok = self._oob(X, counts)
            self.oob_decision_function_ = proba
            pred = np.argmax(proba[ok], axis=1)
            self.oob_score_ = float(np.mean(pred == codes[ok])) if ok.any() else float("nan")
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean of the trees' class probabilities.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64
        """
        X = self._X_predict(X)
        return self._sum_values(X) / len(self.estimators_)

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba` (-inf for zero)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The class of highest mean probability (ties: the smallest label)."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class RandomForestRegressor(RegressorMixin, _BaseForest):
    """A random forest of CART regression trees.

    Parameters
    ----------
    n_estimators : int, default 100
    criterion : {"squared_error"}, default "squared_error"
    max_depth : int or None, default None
    min_samples_split : int or float, default 2
    min_samples_leaf : int or float, default 1
    min_weight_fraction_leaf : float, default 0.0
    max_features : {"sqrt", "log2"}, int, float or None, default 1.0
        1.0 searches every feature (bagged trees).
    min_impurity_decrease : float, default 0.0
    bootstrap : bool, default True
    oob_score : bool, default False
        Estimate R^2 on the out-of-bag samples.
    n_jobs : int or None, default None
    random_state : int, Generator or None, default None
    max_samples : int, float or None, default None

    Attributes
    ----------
    estimators_ : list of DecisionTreeRegressor
    feature_importances_ : ndarray of shape (n_features,)
    oob_score_ : float
    oob_prediction_ : ndarray of shape (n_samples,) or (n_samples, n_outputs)
    n_outputs_ : int
    max_features_ : int
    n_features_in_ : int
    """

    _multi_output = True

    _tree_class = DecisionTreeRegressor

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        criterion: str = "squared_error",
        max_depth: int | None = None,
        min_samples_split: Any = 2,
        min_samples_leaf: Any = 1,
        min_weight_fraction_leaf: float = 0.0,
        max_features: Any = 1.0,
        min_impurity_decrease: float = 0.0,
        bootstrap: bool = True,
        oob_score: bool = False,
        n_jobs: int | None = None,
        random_state: Any = None,
        max_samples: Any = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.min_impurity_decrease = min_impurity_decrease
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.max_samples = max_samples

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> RandomForestRegressor:
        """Grow the forest.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        template = self._template()
        X, Y, w, ndim = template._prepare(X, y, sample_weight)
        self.n_outputs_ = Y.shape[1]
        self._y_ndim = ndim
        counts = self._grow_forest(X, np.empty(0, dtype=np.int64), Y, w, 0, Y.shape[1])
        for est in self.estimators_:
            est.n_outputs_ = Y.shape[1]
            est._y_ndim = ndim
        if self.oob_score:
            pred, ok = self._oob(X, counts)
            self.oob_prediction_ = pred[:, 0] if ndim == 1 else pred
            if ok.any():
                ss_res = ((Y[ok] - pred[ok]) ** 2).sum(axis=0)
                ss_tot = ((Y[ok] - Y[ok].mean(axis=0)) ** 2).sum(axis=0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    r2 = np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, 0.0)
                self.oob_score_ = float(r2.mean())
            else:
                self.oob_score_ = float("nan")
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Mean of the trees' predictions.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_outputs), float64
        """
        X = self._X_predict(X)
        out = self._sum_values(X) / len(self.estimators_)
        return out[:, 0] if self._y_ndim == 1 else out
