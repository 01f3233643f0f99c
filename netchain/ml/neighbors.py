"""k-nearest-neighbour classification and regression (Fix & Hodges, 1951; Cover & Hart, 1967,
"Nearest neighbor pattern classification").

Neighbours are found either by brute force, with the dot products of a block of queries with
the training rows computed by one matrix product and turned into distances
(``|x - y|^2 = |x|^2 - 2 x.y + |y|^2``) by a compiled pass that keeps the k smallest (or with
:func:`scipy.spatial.distance.cdist` for Minkowski distances other than the Euclidean), or with
a k-d tree (:class:`scipy.spatial.cKDTree`; Bentley, 1975) in low dimensions. Both give the same
answer: the ``k`` training rows nearest to the query, with equal distances going to the earlier
training row.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from numba import njit
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist

from netchain.backend import xp
from netchain.ml.base import (
    SMALL_BLAS_WORK,
    BaseEstimator,
    ClassifierMixin,
    RegressorMixin,
    blas_thread_count,
    blas_threads,
    check_array,
    check_classifier_targets,
    check_is_fitted,
    check_n_features,
    check_X_y,
)

__all__ = ["KNeighborsClassifier", "KNeighborsRegressor"]

_METRICS = ("euclidean", "manhattan", "minkowski")
_ALGORITHMS = ("auto", "brute", "kd_tree")
_KD_TREE_MAX_DIM = 15  # beyond this a k-d tree prunes little and brute force wins
_BLOCK_BYTES = 16 * 2**20  # distances of a block of queries kept in memory at once


@njit(cache=True, nogil=True)
def _select_k(D, xx, yy, k, out_d, out_i):
    """Row by row, the k smallest distances and their columns, ordered by (distance, column).

    The distance is ``D[a, j]`` itself when ``xx`` is empty, else the squared Euclidean distance
    ``xx[a] + yy[j] - 2 D[a, j]`` (clipped at 0) from the dot products ``D``. One pass: a column
    enters only when strictly nearer than the current k-th, so among equal distances the
    earlier column stays, and a new one goes after the equal ones already kept.
    """
    m, n = D.shape
    fused = xx.shape[0] > 0
    for a in range(m):
        bd = out_d[a]
        bi = out_i[a]
        cnt = 0
        xa = xx[a] if fused else 0.0
        for j in range(n):
            v = D[a, j]
            if fused:
                v = xa + yy[j] - 2.0 * v
                if v < 0.0:
                    v = 0.0
            if cnt < k:
                p = cnt
                cnt += 1
            elif v < bd[k - 1]:
                p = k - 1
            else:
                continue
            while p > 0 and bd[p - 1] > v:
                bd[p] = bd[p - 1]
                bi[p] = bi[p - 1]
                p -= 1
            bd[p] = v
            bi[p] = j


class _KNeighborsBase(BaseEstimator):
    def __init__(
        self,
        n_neighbors: int = 5,
        *,
        weights: Any = "uniform",
        algorithm: str = "auto",
        leaf_size: int = 30,
        p: float = 2,
        metric: str = "minkowski",
    ) -> None:
        self.n_neighbors = n_neighbors
        self.weights = weights
        self.algorithm = algorithm
        self.leaf_size = leaf_size
        self.p = p
        self.metric = metric

    # ------------------------------------------------------------------ validation
    def _power(self) -> float:
        if self.metric not in _METRICS:
            raise ValueError(f"metric must be one of {_METRICS}, got {self.metric!r}")
        if self.metric == "euclidean":
            return 2.0
        if self.metric == "manhattan":
            return 1.0
        if (
            not isinstance(self.p, numbers.Real)
            or isinstance(self.p, bool)
            or not 1 <= self.p < np.inf
        ):
            raise ValueError(
                f"p must be a real number >= 1 for the Minkowski metric, got {self.p!r}"
            )
        return float(self.p)

    def _check_params(self) -> None:
        k = self.n_neighbors
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_neighbors must be a positive int, got {k!r}")
        if not (callable(self.weights) or self.weights in ("uniform", "distance")):
            raise ValueError(
                f"weights must be 'uniform', 'distance' or a callable, got {self.weights!r}"
            )
        if self.algorithm not in _ALGORITHMS:
            raise ValueError(f"algorithm must be one of {_ALGORITHMS}, got {self.algorithm!r}")
        ls = self.leaf_size
        if not isinstance(ls, numbers.Integral) or isinstance(ls, bool) or ls < 1:
            raise ValueError(f"leaf_size must be a positive int, got {ls!r}")

    def _fit_X(self, X: np.ndarray) -> None:
        self._check_params()
        self._p = self._power()
        self._fit_X_ = X
        self.n_features_in_ = X.shape[1]
        self.n_samples_fit_ = X.shape[0]
        use_tree = self.algorithm == "kd_tree" or (
            self.algorithm == "auto" and X.shape[1] <= _KD_TREE_MAX_DIM
        )
        self._tree = cKDTree(X, leafsize=self.leaf_size) if use_tree else None
        self.effective_metric_ = (
            "euclidean" if self._p == 2 else ("manhattan" if self._p == 1 else "minkowski")
        )
        self._fit_method = "kd_tree" if use_tree else "brute"

    # ------------------------------------------------------------------ search
    def _brute(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        X = self._fit_X_
        n, d = X.shape
        rows = max(1, _BLOCK_BYTES // (8 * n))
        dist = np.empty((len(Q), k))
        ind = np.empty((len(Q), k), dtype=np.int64)
        none = np.empty(0)
        euclid = self._p == 2
        if euclid:
            yy = xp.einsum("ij,ij->i", X, X)
            qq = xp.einsum("ij,ij->i", Q, Q)

        def block(start: int) -> None:
            stop = min(len(Q), start + rows)
            if euclid:
                # dot products by one matrix product; distances and selection in one pass
                G = Q[start:stop] @ X.T
                _select_k(G, qq[start:stop], yy, k, dist[start:stop], ind[start:stop])
            else:
                D = cdist(Q[start:stop], X, metric="minkowski", p=self._p)
                _select_k(D, none, none, k, dist[start:stop], ind[start:stop])

        starts = range(0, len(Q), rows)
        # large searches: blocks on as many threads as BLAS would use, each block's product on
        # one BLAS thread (the selection releases the GIL); small ones: one thread throughout
        n_threads = blas_thread_count() if len(Q) * n * d >= SMALL_BLAS_WORK else 1
        with blas_threads(1):
            if n_threads > 1 and len(starts) > 1:
                Parallel(n_jobs=n_threads, prefer="threads")(delayed(block)(s) for s in starts)
            else:
                for s in starts:
                    block(s)
        if euclid:
            np.sqrt(dist, out=dist)
        return dist, ind.astype(np.intp, copy=False)

    def _kd(self, Q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n = self._fit_X_.shape[0]
        extra = 1 if k < n else 0
        d, i = self._tree.query(Q, k=k + extra, p=self._p)
        d = d.reshape(len(Q), k + extra)
        i = i.reshape(len(Q), k + extra).astype(np.intp)
        if extra:
            # a tie between the k-th and (k+1)-th distances: the tree does not order such ties
            # by row, so those queries are answered exactly by brute force
            tied = d[:, k] == d[:, k - 1]
            d, i = d[:, :k].copy(), i[:, :k].copy()
            if tied.any():
                D = cdist(Q[tied], self._fit_X_, metric="minkowski", p=self._p)
                dt = np.empty((len(D), k))
                it = np.empty((len(D), k), dtype=np.int64)
                _select_k(D, np.empty(0), np.empty(0), k, dt, it)
                d[tied], i[tied] = dt, it
        # equal distances within the k: earlier training row first
        order_i = np.argsort(i, axis=1, kind="stable")
        i = np.take_along_axis(i, order_i, axis=1)
        d = np.take_along_axis(d, order_i, axis=1)
        order_d = np.argsort(d, axis=1, kind="stable")
        return np.take_along_axis(d, order_d, axis=1), np.take_along_axis(i, order_d, axis=1)

    def kneighbors(
        self, X: Any = None, n_neighbors: int | None = None, return_distance: bool = True
    ) -> Any:
        """The nearest training rows of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), optional
            Queries; None queries the training rows themselves, each without itself.
        n_neighbors : int, optional
            Defaults to the constructor's ``n_neighbors``.
        return_distance : bool, default True

        Returns
        -------
        dist : ndarray of shape (n_queries, n_neighbors), float64
            Ascending; equal distances keep the training rows' order. Only with
            ``return_distance``.
        ind : ndarray of shape (n_queries, n_neighbors), intp
            Row indices into the training data.

        Raises
        ------
        NotFittedError
            Before ``fit``.
        ValueError
            For a wrong number of features, or more neighbours than training rows.
        """
        check_is_fitted(self, "_fit_X_")
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1:
            raise ValueError(f"n_neighbors must be a positive int, got {k!r}")
        n = self.n_samples_fit_
        self_query = X is None
        if self_query:
            Q = self._fit_X_
            k_query = k + 1
        else:
            Q = check_array(X)
            check_n_features(self, Q)
            k_query = k
        if k_query > n:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k_query}, "
                f"n_samples_fit = {n}, n_samples = {len(Q)}"
            )
        search = self._kd if self._tree is not None else self._brute
        dist, ind = search(Q, k_query)
        if self_query:
            # drop each row itself (or, where duplicates pushed it out, the farthest one)
            own = ind == np.arange(n)[:, None]
            missing = ~own.any(axis=1)
            own[missing, -1] = True
            own &= np.cumsum(own, axis=1) == 1
            keep = ~own
            dist = dist[keep].reshape(n, k)
            ind = ind[keep].reshape(n, k)
        return (dist, ind) if return_distance else ind

    def _weights(self, dist: np.ndarray) -> np.ndarray:
        if self.weights == "uniform":
            return np.ones_like(dist)
        if self.weights == "distance":
            zero = dist == 0
            with np.errstate(divide="ignore"):
                w = 1.0 / dist
            exact = zero.any(axis=1)
            w[exact] = zero[exact].astype(np.float64)  # an exact match takes all the weight
            return w
        w = np.asarray(self.weights(dist), dtype=np.float64)
        if w.shape != dist.shape:
            raise ValueError(
                f"weights callable must return an array of shape {dist.shape}, got {w.shape}"
            )
        return w


class KNeighborsClassifier(ClassifierMixin, _KNeighborsBase):
    """Classification by a (weighted) vote of the k nearest training rows.

    Parameters
    ----------
    n_neighbors : int, default 5
    weights : {"uniform", "distance"} or callable, default "uniform"
        "distance" weighs each neighbour by 1 / distance (exact matches take all the weight);
        a callable maps the (n_queries, k) distances to weights of the same shape.
    algorithm : {"auto", "brute", "kd_tree"}, default "auto"
        "auto" uses a k-d tree up to 15 features and brute force beyond.
    leaf_size : int, default 30
        Leaf size of the k-d tree.
    p : float, default 2
        Power of the Minkowski metric (p >= 1).
    metric : {"minkowski", "euclidean", "manhattan"}, default "minkowski"

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_features_in_ : int
    n_samples_fit_ : int
    effective_metric_ : str

    Notes
    -----
    Equal distances go to the earlier training row; a tied vote goes to the smallest label.

    Examples
    --------
    >>> from netchain.ml import KNeighborsClassifier
    >>> KNeighborsClassifier(1).fit([[0.0], [1.0]], ["a", "b"]).predict([[0.2]])
    array(['a'], dtype='<U1')
    """

    def fit(self, X: Any, y: Any) -> KNeighborsClassifier:
        """Store the training data (and build the k-d tree).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Class labels of any sortable type.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For invalid parameters or data (NaN, wrong shapes, continuous targets).
        """
        X, y = check_X_y(X, y)
        self.classes_, self._y, _ = check_classifier_targets(y)
        self._fit_X(X)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Weighted vote shares of each class among the k neighbours.

        Returns
        -------
        ndarray of shape (n_queries, n_classes), float64
        """
        check_is_fitted(self, "_fit_X_")
        dist, ind = self.kneighbors(X)
        w = self._weights(dist)
        m, k = ind.shape
        n_classes = len(self.classes_)
        labels = self._y[ind]
        flat = (np.arange(m)[:, None] * n_classes + labels).ravel()
        votes = np.bincount(flat, weights=w.ravel(), minlength=m * n_classes)
        votes = votes.reshape(m, n_classes)
        total = votes.sum(axis=1, keepdims=True)
        return votes / np.where(total > 0, total, 1.0)

    def predict(self, X: Any) -> np.ndarray:
        """The class with the largest weighted vote (ties: the smallest label).

        Returns
        -------
        ndarray of shape (n_queries,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class KNeighborsRegressor(RegressorMixin, _KNeighborsBase):
    """Regression by the (weighted) mean target of the k nearest training rows.

    Parameters
    ----------
    n_neighbors : int, default 5
    weights : {"uniform", "distance"} or callable, default "uniform"
    algorithm : {"auto", "brute", "kd_tree"}, default "auto"
    leaf_size : int, default 30
    p : float, default 2
    metric : {"minkowski", "euclidean", "manhattan"}, default "minkowski"

    Attributes
    ----------
    n_features_in_ : int
    n_samples_fit_ : int
    effective_metric_ : str
    """

    _multi_output = True

    def fit(self, X: Any, y: Any) -> KNeighborsRegressor:
        """Store the training data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)

        Returns
        -------
        self
        """
        X, y = check_X_y(X, y, y_numeric=True, multi_output=True)
        self._y = y
        self._fit_X(X)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Weighted mean of the neighbours' targets.

        Returns
        -------
        ndarray of shape (n_queries,) or (n_queries, n_targets), float64
        """
        check_is_fitted(self, "_fit_X_")
        dist, ind = self.kneighbors(X)
        w = self._weights(dist)
        total = w.sum(axis=1)
        total = np.where(total != 0, total, 1.0)
        Y = self._y[ind]  # (m, k) or (m, k, t)
        if Y.ndim == 2:
            return xp.einsum("mk,mk->m", w, Y) / total
        return xp.einsum("mk,mkt->mt", w, Y) / total[:, None]
