"""Anomaly detection: isolation forest and the one-class support vector machine.

References
----------
- Liu, F. T., Ting, K. M. & Zhou, Z.-H. (2008). "Isolation forest". ICDM. (And the longer
  "Isolation-based anomaly detection", ACM TKDD 6(1), 2012.)
- Schoelkopf, B., Platt, J. C., Shawe-Taylor, J., Smola, A. J. & Williamson, R. C. (2001).
  "Estimating the support of a high-dimensional distribution". Neural Computation 13(7).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from numba import njit

from netchain.ml._smo import one_class_alpha0, solve_dual
from netchain.ml.base import (
    BaseEstimator,
    ConvergenceWarning,
    OutlierMixin,
    blas_threads,
    check_array,
    check_fitted_input,
    check_is_fitted,
    check_n_features,
    check_option,
    check_random_state,
    check_scalar,
    pairwise_kernel,
    resolve_gamma,
)

__all__ = ["IsolationForest", "OneClassSVM"]

_EULER_GAMMA = 0.5772156649015329


@njit(cache=True)
def _average_path_length(n):
    """c(n): the average path length of an unsuccessful search in a binary search tree of n
    points (Liu et al., 2008, Eq. 1); c(1) = 0, c(2) = 1."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (math.log(n - 1.0) + _EULER_GAMMA) - 2.0 * (n - 1.0) / n


@njit(cache=True)
def _grow_isolation_tree(X, idx, features, max_depth, rng, feat, thr, left, right, value):
    """Grow one isolation tree on the rows ``idx`` of X, into node arrays starting at 0.

    Each internal node splits on a feature drawn uniformly among those of ``features`` that
    are not constant in the node, at a threshold drawn uniformly between the feature's minimum
    and maximum there; rows below the threshold go left. A node becomes a leaf at
    ``max_depth``, with one row, or when every candidate feature is constant; a leaf stores
    its depth plus c(size). Random numbers come from the NumPy Generator ``rng``. Returns the
    number of nodes.
    """
    n = idx.shape[0]
    nf = features.shape[0]
    cand = np.empty(nf, dtype=np.int64)
    stack_node = np.empty(max_depth + 2, dtype=np.int64)
    stack_start = np.empty(max_depth + 2, dtype=np.int64)
    stack_end = np.empty(max_depth + 2, dtype=np.int64)
    stack_depth = np.empty(max_depth + 2, dtype=np.int64)
    top = 0
    stack_node[0] = 0
    stack_start[0] = 0
    stack_end[0] = n
    stack_depth[0] = 0
    top = 1
    n_nodes = 1
    while top > 0:
        top -= 1
        node = stack_node[top]
        start = stack_start[top]
        end = stack_end[top]
        depth = stack_depth[top]
        size = end - start
        split_f = -1
        lo = 0.0
        hi = 0.0
        if depth < max_depth and size > 1:
            for j in range(nf):
                cand[j] = features[j]
            remaining = nf
            while remaining > 0:
                r = int(rng.random() * remaining)
                if r >= remaining:
                    r = remaining - 1
                f = cand[r]
                lo = X[idx[start], f]
                hi = lo
                for t in range(start + 1, end):
                    v = X[idx[t], f]
                    if v < lo:
                        lo = v
                    elif v > hi:
                        hi = v
                if hi > lo:
                    split_f = f
                    break
                remaining -= 1
                cand[r] = cand[remaining]
        if split_f < 0:
            feat[node] = -1
            left[node] = -1
            right[node] = -1
            value[node] = depth + _average_path_length(size)
            continue
        t = lo + rng.random() * (hi - lo)
        if t <= lo or t >= hi:  # keep both sides non-empty under rounding
            t = lo + 0.5 * (hi - lo)
            if t <= lo:
                t = hi
        # partition idx[start:end]: values < t first
        i = start
        j = end - 1
        while i <= j:
            if X[idx[i], split_f] < t:
                i += 1
            else:
                tmp = idx[i]
                idx[i] = idx[j]
                idx[j] = tmp
                j -= 1
        feat[node] = split_f
        thr[node] = t
        value[node] = 0.0
        lnode = n_nodes
        rnode = n_nodes + 1
        n_nodes += 2
        left[node] = lnode
        right[node] = rnode
        stack_node[top] = rnode
        stack_start[top] = i
        stack_end[top] = end
        stack_depth[top] = depth + 1
        top += 1
        stack_node[top] = lnode
        stack_start[top] = start
        stack_end[top] = i
        stack_depth[top] = depth + 1
        top += 1
    return n_nodes


@njit(cache=True)
def _mean_path_length(X, offsets, feat, thr, left, right, value):
    """Mean, over the trees, of the path length of each row of X (leaf value included)."""
    n = X.shape[0]
    n_trees = offsets.shape[0] - 1
    out = np.zeros(n)
    for i in range(n):
        total = 0.0
        for t in range(n_trees):
            base = offsets[t]
            node = 0
            while feat[base + node] >= 0:
                if X[i, feat[base + node]] < thr[base + node]:
                    node = left[base + node]
                else:
                    node = right[base + node]
            total += value[base + node]
        out[i] = total / n_trees
    return out


class IsolationForest(OutlierMixin, BaseEstimator):
    """Isolation forest (Liu, Ting & Zhou, 2008): anomalies are isolated by fewer random
    splits than normal points.

    Each tree is grown on ``max_samples`` rows drawn without replacement, with random axis
    splits, to depth ceil(log2(max_samples)). The anomaly score of x is
    s(x) = 2 ** (-E[h(x)] / c(max_samples)), where h(x) is x's path length (plus c(size) at the
    leaf) and c(n) the average path length of a binary search tree of n points; s near 1 marks
    an anomaly, s well below 0.5 a normal point.

    Parameters
    ----------
    n_estimators : int, default 100
        Number of trees.
    max_samples : "auto", int or float, default "auto"
        Rows per tree: "auto" is min(256, n_samples); an int is capped at n_samples; a float
        in (0, 1] is that fraction of n_samples.
    contamination : "auto" or float in (0, 0.5], default "auto"
        Expected share of anomalies; sets the threshold of ``predict``. "auto" puts it at
        s = 0.5, as in the paper.
    max_features : int or float, default 1.0
        Features each tree may split on (drawn without replacement per tree); a float is a
        fraction of n_features.
    bootstrap : bool, default False
        Draw each tree's rows with replacement.
    random_state : None, int or numpy.random.Generator

    Attributes
    ----------
    offset_ : float
        ``decision_function = score_samples - offset_``: -0.5 for "auto", else the
        ``contamination`` quantile of the training scores.
    max_samples_ : int
    estimators_features_ : list of ndarray
        The features of each tree.
    n_features_in_ : int

    Warns
    -----
    UserWarning
        In ``fit`` when all rows are identical (every point is then equally normal), or when
        an int ``max_samples`` exceeds n_samples.

    Raises
    ------
    ValueError
        For invalid parameters or bad input.
    """

    def __init__(
        self,
        n_estimators: int = 100,
        *,
        max_samples: Any = "auto",
        contamination: Any = "auto",
        max_features: Any = 1.0,
        bootstrap: bool = False,
        random_state: Any = None,
    ) -> None:
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.contamination = contamination
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.random_state = random_state

    def _resolve_sizes(self, n: int, d: int) -> tuple[int, int]:
        ms = self.max_samples
        if isinstance(ms, str):
            if ms != "auto":
                raise ValueError(f"max_samples must be 'auto', an int or a float, got {ms!r}")
            psi = min(256, n)
        elif isinstance(ms, numbers.Integral) and not isinstance(ms, bool):
            check_scalar(ms, "max_samples", numbers.Integral, min_val=1)
            if ms > n:
                warnings.warn(
                    f"max_samples={ms} is larger than n_samples={n}: n_samples is used",
                    UserWarning,
                    stacklevel=3,
                )
            psi = min(int(ms), n)
        else:
            check_scalar(ms, "max_samples", numbers.Real, min_val=0, include_min=False, max_val=1)
            psi = max(1, int(ms * n))
        mf = self.max_features
        if isinstance(mf, numbers.Integral) and not isinstance(mf, bool):
            check_scalar(mf, "max_features", numbers.Integral, min_val=1, max_val=d)
            nf = int(mf)
        else:
            check_scalar(mf, "max_features", numbers.Real, min_val=0, include_min=False, max_val=1)
            nf = max(1, int(mf * d))
        return psi, nf

    def fit(self, X: Any, y: Any = None) -> IsolationForest:
        """Grow the forest on ``X`` of shape (n_samples, n_features); returns self."""
        check_scalar(self.n_estimators, "n_estimators", numbers.Integral, min_val=1)
        if not (isinstance(self.contamination, str) and self.contamination == "auto"):
            check_scalar(
                self.contamination,
                "contamination",
                numbers.Real,
                min_val=0,
                include_min=False,
                max_val=0.5,
            )
        X = check_array(X)
        n, d = X.shape
        psi, nf = self._resolve_sizes(n, d)
        if n > 1 and not (X != X[0]).any():
            warnings.warn(
                "all samples are identical: every point gets the same anomaly score",
                UserWarning,
                stacklevel=2,
            )
        rng = check_random_state(self.random_state)
        max_depth = int(math.ceil(math.log2(max(psi, 2))))
        cap = 2 * psi - 1
        T = int(self.n_estimators)
        feat = np.empty(T * cap, dtype=np.int64)
        thr = np.zeros(T * cap)
        left = np.empty(T * cap, dtype=np.int64)
        right = np.empty(T * cap, dtype=np.int64)
        value = np.zeros(T * cap)
        offsets = np.zeros(T + 1, dtype=np.int64)
        features_per_tree = []
        pos = 0
        for t in range(T):
            if self.bootstrap:
                idx = rng.integers(0, n, size=psi)
            else:
                idx = rng.choice(n, size=psi, replace=False)
            feats = np.arange(d) if nf == d else np.sort(rng.choice(d, size=nf, replace=False))
            m = _grow_isolation_tree(
                X,
                idx.astype(np.int64),
                feats.astype(np.int64),
                max_depth,
                rng,
                feat[pos:],
                thr[pos:],
                left[pos:],
                right[pos:],
                value[pos:],
            )
            pos += m
            offsets[t + 1] = pos
            features_per_tree.append(feats)
        self._feat = feat[:pos].copy()
        self._thr = thr[:pos].copy()
        self._left = left[:pos].copy()
        self._right = right[:pos].copy()
        self._value = value[:pos].copy()
        self._offsets = offsets
        self.max_samples_ = psi
        self.estimators_features_ = features_per_tree
        self.n_features_in_ = d
        self._c_psi = _average_path_length(psi)
        if isinstance(self.contamination, str):
            self.offset_ = -0.5
        else:
            self.offset_ = float(np.percentile(self._score(X), 100.0 * self.contamination))
        return self

    def _score(self, X: Any) -> Any:
        h = _mean_path_length(
            X, self._offsets, self._feat, self._thr, self._left, self._right, self._value
        )
        if self._c_psi == 0.0:  # one row per tree: nothing to isolate
            return np.full(X.shape[0], -0.5)
        return -np.exp2(-h / self._c_psi)

    def _check_X(self, X: Any) -> Any:
        return check_fitted_input(self, X, "offset_")

    def score_samples(self, X: Any) -> Any:
        """Minus the anomaly score s(x) of each row: in [-1, 0), lower is more anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        return self._score(self._check_X(X))

    def decision_function(self, X: Any) -> Any:
        """``score_samples(X) - offset_``: negative for anomalies, shape (n_samples,)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> Any:
        """+1 for normal rows, -1 for anomalies, shape (n_samples,), int64."""
        return np.where(self.decision_function(X) < 0, -1, 1).astype(np.int64)


class OneClassSVM(OutlierMixin, BaseEstimator):
    """One-class support vector machine (Schoelkopf et al., 2001).

    Separates the data from the origin in the kernel's feature space with maximal margin:
    the dual problem min 0.5 a^T K a subject to 0 <= a_i <= 1, sum a_i = nu * n_samples is
    solved by the shared SMO solver (:mod:`netchain.ml._smo`, also used by
    :class:`~netchain.ml.svm.SVC`), and f(x) = sum_i a_i K(x_i, x) - rho is negative outside
    the estimated support. ``nu`` bounds the share of training outliers from above and the
    share of support vectors from below.

    Parameters
    ----------
    kernel : {"linear", "poly", "rbf", "sigmoid", "precomputed"}, default "rbf"
        See :func:`netchain.ml.base.pairwise_kernel`; "precomputed" takes Gram matrices as X.
    degree : int, default 3
    gamma : "scale", "auto" or float, default "scale"
        See :func:`netchain.ml.base.resolve_gamma`.
    coef0 : float, default 0.0
    tol : float, default 1e-3
        Stopping tolerance of SMO (maximal violation of the optimality conditions).
    nu : float in (0, 1], default 0.5
    shrinking : bool, default True
    cache_size : float, default 200
        MiB of kernel rows cached by the solver.
    max_iter : int, default -1
        Limit on SMO iterations (-1: none).

    Attributes
    ----------
    support_ : ndarray of shape (n_SV,), int32
        Indices of the support vectors (a_i > 0).
    support_vectors_ : ndarray of shape (n_SV, n_features)
    dual_coef_ : ndarray of shape (1, n_SV)
        Their coefficients a_i.
    intercept_ : ndarray of shape (1,)
        -rho.
    offset_ : float
        rho: ``decision_function = score_samples - offset_``.
    n_iter_ : int
        SMO iterations.
    n_features_in_ : int

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` stopped SMO before convergence.

    Raises
    ------
    ValueError
        For nu outside (0, 1], an unknown kernel, or bad input.
    """

    def __init__(
        self,
        *,
        kernel: str = "rbf",
        degree: int = 3,
        gamma: Any = "scale",
        coef0: float = 0.0,
        tol: float = 1e-3,
        nu: float = 0.5,
        shrinking: bool = True,
        cache_size: float = 200,
        max_iter: int = -1,
    ) -> None:
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.tol = tol
        self.nu = nu
        self.shrinking = shrinking
        self.cache_size = cache_size
        self.max_iter = max_iter

    def _kernel(self, A: Any, B: Any) -> Any:
        return pairwise_kernel(
            A, B, kernel=self.kernel, gamma=self._gamma, degree=self.degree, coef0=self.coef0
        )

    def fit(self, X: Any, y: Any = None) -> OneClassSVM:
        """Estimate the support of ``X`` of shape (n_samples, n_features); returns self."""
        check_option(self.kernel, "kernel", ("linear", "poly", "rbf", "sigmoid", "precomputed"))
        check_scalar(self.nu, "nu", numbers.Real, min_val=0, include_min=False, max_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0, include_min=False)
        check_scalar(self.degree, "degree", numbers.Integral, min_val=0)
        check_scalar(self.coef0, "coef0", numbers.Real)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=-1)
        X = check_array(X)
        n = X.shape[0]
        self.n_features_in_ = X.shape[1]
        ones = np.ones(n)
        alpha0 = one_class_alpha0(n, float(self.nu))
        common = dict(
            alpha0=alpha0,
            tol=float(self.tol),
            shrinking=bool(self.shrinking),
            max_iter=int(self.max_iter),
        )
        if self.kernel == "precomputed":
            if X.shape[0] != X.shape[1]:
                raise ValueError(
                    f"X: kernel='precomputed' needs a square Gram matrix, got {X.shape}"
                )
            self._gamma = 0.0
            res = solve_dual(np.zeros(n), ones, 1.0, K=X, **common)
        else:
            self._gamma = resolve_gamma(self.gamma, X)
            with blas_threads(1):  # the solver's serial loop between small products
                res = solve_dual(
                    np.zeros(n),
                    ones,
                    1.0,
                    X=X,
                    kernel=self.kernel,
                    gamma=self._gamma,
                    coef0=float(self.coef0),
                    degree=int(self.degree),
                    cache_size=float(self.cache_size),
                    **common,
                )
        if not res.converged:
            warnings.warn(
                f"OneClassSVM: SMO stopped at max_iter={self.max_iter} before converging",
                ConvergenceWarning,
                stacklevel=2,
            )
        support = np.flatnonzero(res.alpha > 0)
        self.support_ = support.astype(np.int32)
        self.support_vectors_ = X[support] if self.kernel != "precomputed" else np.empty((0, 0))
        self.dual_coef_ = res.alpha[support][None, :]
        self.intercept_ = np.array([-res.rho])
        self.offset_ = float(res.rho)
        self.n_iter_ = int(res.n_iter)
        return self

    def score_samples(self, X: Any) -> Any:
        """sum_i a_i K(x_i, x) for each row, shape (n_samples,); lower is more anomalous.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_fit_samples) of
            kernel values against the training rows for ``kernel="precomputed"``
        """
        check_is_fitted(self, "dual_coef_")
        X = check_array(X)
        if self.kernel == "precomputed":
            return X[:, self.support_] @ self.dual_coef_[0]
        check_n_features(self, X)
        return self._kernel(X, self.support_vectors_) @ self.dual_coef_[0]

    def decision_function(self, X: Any) -> Any:
        """f(x) = score_samples(x) - rho: negative outside the estimated support."""
        return self.score_samples(X) - self.offset_

    def predict(self, X: Any) -> Any:
        """+1 inside the estimated support, -1 outside, shape (n_samples,), int64."""
        return np.where(self.decision_function(X) < 0, -1, 1).astype(np.int64)
