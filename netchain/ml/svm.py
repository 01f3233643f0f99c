"""C-support vector classification (Boser, Guyon & Vapnik, 1992; Cortes & Vapnik, 1995).

Each pair of classes gets its own binary machine (one-vs-one; Knerr, Personnaz & Dreyfus,
1990), whose dual problem the SMO solver of :mod:`netchain.ml._smo` solves; a new point goes to
the class with the most pairwise wins. Probabilities, when asked for, come from Platt's (2000)
sigmoid fitted to cross-validated decision values (with the Newton method of Lin, Lin & Weng,
2007, "A note on Platt's probabilistic outputs for support vector machines") and, for several
classes, from pairwise coupling (Wu, Lin & Weng, 2004, "Probability estimates for multi-class
classification by pairwise coupling", JMLR 5, method 2).
"""

from __future__ import annotations

import numbers
import warnings
from itertools import combinations
from typing import Any

import numpy as np

from netchain.backend import xp
from netchain.ml._smo import solve_dual
from netchain.ml.base import (
    BaseEstimator,
    ClassifierMixin,
    ConvergenceWarning,
    available_if,
    blas_threads_for,
    check_classifier_targets,
    check_fitted_input,
    check_is_fitted,
    check_random_state,
    check_X_y,
    class_weight_vector,
    pairwise_kernel,
    resolve_gamma,
)

__all__ = ["SVC"]

_KERNELS = ("linear", "poly", "rbf", "sigmoid")
_PLATT_FOLDS = 5


def _platt_fit(f: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    """Fit P(positive | f) = 1 / (1 + exp(A f + B)) by Newton's method with backtracking.

    Targets are Platt's smoothed labels (N+ + 1) / (N+ + 2) and 1 / (N- + 2), and the
    log-likelihood is evaluated in the overflow-free form of Lin, Lin & Weng (2007).
    """
    n_pos = float(positive.sum())
    n_neg = float(len(positive) - n_pos)
    t = np.where(positive, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    A, B = 0.0, np.log((n_neg + 1.0) / (n_pos + 1.0))

    def nll(A, B):
        z = A * f + B
        # t z + log(1 + exp(-z)), written without overflow
        return float(
            np.sum(
                np.where(z >= 0, t * z + np.log1p(np.exp(-z)), (t - 1.0) * z + np.log1p(np.exp(z)))
            )
        )

    sigma, eps = 1e-12, 1e-5
    value = nll(A, B)
    for _ in range(100):
        z = A * f + B
        ez = np.exp(-np.abs(z))
        p = np.where(z >= 0, ez / (1.0 + ez), 1.0 / (1.0 + ez))  # 1 / (1 + exp(z))
        q = 1.0 - p
        d2 = p * q
        h11 = sigma + float(np.sum(f * f * d2))
        h22 = sigma + float(np.sum(d2))
        h21 = float(np.sum(f * d2))
        d1 = t - p
        g1 = float(np.sum(f * d1))
        g2 = float(np.sum(d1))
        if abs(g1) < eps and abs(g2) < eps:
            break
        det = h11 * h22 - h21 * h21
        dA = -(h22 * g1 - h21 * g2) / det
        dB = -(-h21 * g1 + h11 * g2) / det
        gd = g1 * dA + g2 * dB
        step = 1.0
        while step >= 1e-10:
            new = nll(A + step * dA, B + step * dB)
            if new < value + 1e-4 * step * gd:
                A, B, value = A + step * dA, B + step * dB, new
                break
            step /= 2.0
        else:
            break
    return float(A), float(B)


def _couple(R: np.ndarray) -> np.ndarray:
    """Class probabilities from pairwise ones (Wu, Lin & Weng, 2004, method 2).

    ``R[m, i, j]`` estimates P(i | i or j, x_m). The probabilities minimise
    ``sum_i sum_{j != i} (R_ji p_i - R_ij p_j)^2`` subject to ``sum p = 1``: one small linear
    system per sample, solved in a batch.
    """
    m, k, _ = R.shape
    off = ~np.eye(k, dtype=bool)
    Rt = np.swapaxes(R, 1, 2)
    Q = -Rt * R  # Q_ij = -R_ji R_ij off the diagonal
    diag = np.where(off, Rt**2, 0.0).sum(axis=2)  # Q_ii = sum_{j != i} R_ji^2
    Q[:, np.arange(k), np.arange(k)] = diag
    A = np.zeros((m, k + 1, k + 1))
    A[:, :k, :k] = Q
    A[:, :k, k] = 1.0
    A[:, k, :k] = 1.0
    rhs = np.zeros((m, k + 1, 1))
    rhs[:, k, 0] = 1.0
    P = np.linalg.solve(A, rhs)[:, :k, 0]
    P = np.clip(P, 0.0, None)
    return P / P.sum(axis=1, keepdims=True)


class SVC(ClassifierMixin, BaseEstimator):
    """C-support vector classification.

    Solves, for each pair of classes, ``min 0.5 a^T Q a - sum a`` subject to ``y^T a = 0`` and
    ``0 <= a_i <= C_i``, with ``Q_ij = y_i y_j K(x_i, x_j)``, by SMO with second-order
    working-set selection, a kernel cache and shrinking (Fan, Chen & Lin, 2005).

    Parameters
    ----------
    C : float, default 1.0
        Penalty on margin violations (> 0); ``C_i = C * sample_weight_i * class_weight``.
    kernel : {"linear", "poly", "rbf", "sigmoid"}, default "rbf"
    degree : int, default 3
        Degree of the "poly" kernel.
    gamma : {"scale", "auto"} or float, default "scale"
        "scale" is 1 / (n_features * X.var()) (1.0 when the variance is 0), "auto" is
        1 / n_features.
    coef0 : float, default 0.0
        Constant of the "poly" and "sigmoid" kernels.
    shrinking : bool, default True
    probability : bool, default False
        Fit Platt sigmoids on 5-fold cross-validated decision values, for
        :meth:`predict_proba` (five extra fits per pair of classes).
    tol : float, default 1e-3
        Stopping tolerance on the maximal KKT violation.
    cache_size : float, default 200
        MiB for kernel values. When the whole training kernel matrix fits, it is computed
        once by matrix products and shared by all pairs.
    class_weight : dict, "balanced" or None, default None
        Multiplies C per class; "balanced" uses n_samples / (n_classes * count).
    max_iter : int, default -1
        SMO iterations per pair; -1 for no limit.
    decision_function_shape : {"ovr", "ovo"}, default "ovr"
        Shape of :meth:`decision_function` with more than two classes.
    random_state : int, Generator or None, default None
        Seeds the cross-validation folds of ``probability``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    support_ : ndarray of shape (n_SV,)
        Indices of the support vectors, grouped by class.
    support_vectors_ : ndarray of shape (n_SV, n_features)
    n_support_ : ndarray of shape (n_classes,), int32
    dual_coef_ : ndarray of shape (n_classes - 1, n_SV)
        ``y_i alpha_i`` in LIBSVM's one-vs-one layout (signs flipped with two classes, so that
        a positive decision favours ``classes_[1]``).
    intercept_ : ndarray of shape (n_classes * (n_classes - 1) / 2,)
    n_iter_ : ndarray of shape (n_classes * (n_classes - 1) / 2,)
    probA_, probB_ : ndarray of shape (n_classes * (n_classes - 1) / 2,)
        Platt's sigmoid per pair (empty unless ``probability``).
    fit_status_ : int
        0 when every pair converged, 1 otherwise.
    n_features_in_ : int

    Raises
    ------
    ValueError
        From ``fit``: invalid parameters, fewer than two classes, bad data.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        kernel: str = "rbf",
        degree: int = 3,
        gamma: Any = "scale",
        coef0: float = 0.0,
        shrinking: bool = True,
        probability: bool = False,
        tol: float = 1e-3,
        cache_size: float = 200,
        class_weight: Any = None,
        max_iter: int = -1,
        decision_function_shape: str = "ovr",
        random_state: Any = None,
    ) -> None:
        self.C = C
        self.kernel = kernel
        self.degree = degree
        self.gamma = gamma
        self.coef0 = coef0
        self.shrinking = shrinking
        self.probability = probability
        self.tol = tol
        self.cache_size = cache_size
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape
        self.random_state = random_state

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        def positive(name):
            v = getattr(self, name)
            if not isinstance(v, numbers.Real) or isinstance(v, bool) or not v > 0:
                raise ValueError(f"{name} must be a positive number, got {v!r}")

        positive("C")
        positive("tol")
        positive("cache_size")
        if self.kernel not in _KERNELS:
            raise ValueError(f"kernel must be one of {_KERNELS}, got {self.kernel!r}")
        deg = self.degree
        if not isinstance(deg, numbers.Integral) or isinstance(deg, bool) or deg < 0:
            raise ValueError(f"degree must be a non-negative int, got {deg!r}")
        if not isinstance(self.coef0, numbers.Real):
            raise ValueError(f"coef0 must be a real number, got {self.coef0!r}")
        mi = self.max_iter
        if not isinstance(mi, numbers.Integral) or isinstance(mi, bool) or (mi < 1 and mi != -1):
            raise ValueError(f"max_iter must be -1 or a positive int, got {mi!r}")
        if self.decision_function_shape not in ("ovr", "ovo"):
            raise ValueError(
                f"decision_function_shape must be 'ovr' or 'ovo', got "
                f"{self.decision_function_shape!r}"
            )

    def _kernel(self, A: np.ndarray, B: np.ndarray | None = None) -> np.ndarray:
        m = len(A) if B is None else len(B)
        with blas_threads_for(len(A) * m * A.shape[1]):
            return pairwise_kernel(
                A, B, kernel=self.kernel, gamma=self._gamma, degree=self.degree, coef0=self.coef0
            )

    # ------------------------------------------------------------------ fitting
    def _solve_pair(self, X, Kfull, idx, ypm, Cvec):
        kw = dict(tol=self.tol, shrinking=self.shrinking, max_iter=self.max_iter)
        if Kfull is not None:
            return solve_dual(-1.0, ypm, Cvec, K=Kfull, index=idx, **kw)
        return solve_dual(
            -1.0,
            ypm,
            Cvec,
            X=X[idx],
            kernel=self.kernel,
            gamma=self._gamma,
            coef0=self.coef0,
            degree=self.degree,
            cache_size=self.cache_size,
            **kw,
        )

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> SVC:
        """Fit one binary machine per pair of classes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), optional
            Scales C per sample; samples of weight 0 are left out.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For invalid parameters, a single class, NaN / infinite data.

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` stopped a pair before convergence.
        """
        self._check_params()
        X, y = check_X_y(X, y)
        self.classes_, codes, w = check_classifier_targets(
            y, sample_weight, min_classes=2, estimator="SVC"
        )
        k = len(self.classes_)
        self.n_features_in_ = X.shape[1]
        self._gamma = resolve_gamma(self.gamma, X)
        Cs = self.C * w * class_weight_vector(self.class_weight, self.classes_, codes)[codes]
        n = len(X)
        Kfull = self._kernel(X) if n * n * 8 <= self.cache_size * 2**20 else None

        pairs = list(combinations(range(k), 2))
        rhos = np.zeros(len(pairs))
        n_iter = np.zeros(len(pairs), dtype=np.int64)
        coef_full = np.zeros((n, len(pairs)))  # y_i alpha_i of sample i in each pair
        converged = True
        rng = check_random_state(self.random_state) if self.probability else None
        probA, probB = [], []
        for p, (a, b) in enumerate(pairs):
            idx = np.flatnonzero(((codes == a) | (codes == b)) & (Cs > 0))
            ypm = np.where(codes[idx] == a, 1.0, -1.0)
            for cls, present in ((a, ypm > 0), (b, ypm < 0)):
                if not present.any():
                    raise ValueError(
                        f"sample_weight: every sample of class {self.classes_[cls]!r} has "
                        "weight 0 (or class_weight 0)"
                    )
            res = self._solve_pair(X, Kfull, idx, ypm, Cs[idx])
            converged &= res.converged
            rhos[p] = res.rho
            n_iter[p] = res.n_iter
            coef_full[idx, p] = ypm * res.alpha
            if self.probability:
                A, B = self._platt_pair(X, Kfull, idx, ypm, Cs[idx], rng)
                probA.append(A)
                probB.append(B)
        if not converged:
            warnings.warn(
                f"SVC: SMO stopped at max_iter={self.max_iter} before converging",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.fit_status_ = 0 if converged else 1
        self.n_iter_ = n_iter
        self._store(X, codes, coef_full, rhos, pairs)
        self.probA_ = np.array(probA)
        self.probB_ = np.array(probB)
        return self

    def _platt_pair(self, X, Kfull, idx, ypm, Cvec, rng):
        """Platt's sigmoid on decision values from 5-fold cross-validation within the pair."""
        m = len(idx)
        folds = rng.permutation(m) % _PLATT_FOLDS
        f = np.zeros(m)
        for fold in range(_PLATT_FOLDS):
            test = folds == fold
            train = ~test
            if not test.any():
                continue
            yt = ypm[train]
            if np.all(yt > 0) or np.all(yt < 0):
                # one class only in the training part: a constant decision of that sign
                f[test] = yt[0]
                continue
            res = self._solve_pair(X, Kfull, idx[train], yt, Cvec[train])
            sv = res.alpha > 0
            rows, cols = idx[test], idx[train][sv]
            Ktest = (
                Kfull[np.ix_(rows, cols)] if Kfull is not None else self._kernel(X[rows], X[cols])
            )
            f[test] = Ktest @ (yt[sv] * res.alpha[sv]) - res.rho
        return _platt_fit(f, ypm > 0)

    def _store(self, X, codes, coef_full, rhos, pairs):
        k = len(self.classes_)
        is_sv = np.any(coef_full != 0.0, axis=1)
        order = np.lexsort((np.arange(len(X)), codes))  # by class, then by row
        support = order[is_sv[order]]
        self.support_ = support.astype(np.int32)
        self.support_vectors_ = X[support]
        self.n_support_ = np.bincount(codes[support], minlength=k).astype(np.int32)
        self._coef = coef_full[support]  # (n_SV, n_pairs)
        self._rho = rhos
        sv_codes = codes[support]
        dual = np.zeros((k - 1, len(support)))
        for p, (a, b) in enumerate(pairs):
            in_a = sv_codes == a
            in_b = sv_codes == b
            dual[b - 1, in_a] = self._coef[in_a, p]
            dual[a, in_b] = self._coef[in_b, p]
        if k == 2:
            self.dual_coef_ = -dual
            self.intercept_ = rhos.copy()
        else:
            self.dual_coef_ = dual
            self.intercept_ = -rhos
        self._pairs = np.array(pairs, dtype=np.intp).reshape(-1, 2)

    # ------------------------------------------------------------------ prediction
    def _ovo(self, X: Any) -> np.ndarray:
        X = check_fitted_input(self, X, "support_vectors_")
        if len(self.support_vectors_) == 0:
            return np.tile(-self._rho, (len(X), 1))
        n_sv, n_pairs = self._coef.shape
        with blas_threads_for(len(X) * n_sv * max(X.shape[1], n_pairs)):
            return self._kernel(X, self.support_vectors_) @ self._coef - self._rho

    def _votes(self, D: np.ndarray) -> np.ndarray:
        k = len(self.classes_)
        a, b = self._pairs[:, 0], self._pairs[:, 1]
        win_a = (D > 0).astype(np.float64)
        votes = np.zeros((len(D), k))
        np.add.at(votes.T, a, win_a.T)
        np.add.at(votes.T, b, 1.0 - win_a.T)
        return votes

    def decision_function(self, X: Any) -> np.ndarray:
        """Signed distances to the pairwise boundaries (scaled by the weight norm).

        Returns
        -------
        ndarray
            Two classes: shape (n_samples,), positive favouring ``classes_[1]``. More:
            with "ovo", shape (n_samples, n_pairs), positive favouring the first class of the
            pair (pairs in the order (0, 1), (0, 2), ..., (1, 2), ...); with "ovr", shape
            (n_samples, n_classes): each class's pairwise wins plus its summed decision values
            squashed into (-1/3, 1/3), so that the largest entry is the vote winner with ties
            broken by confidence.
        """
        D = self._ovo(X)
        if len(self.classes_) == 2:
            return -D[:, 0]
        if self.decision_function_shape == "ovo":
            return D
        k = len(self.classes_)
        a, b = self._pairs[:, 0], self._pairs[:, 1]
        conf = np.zeros((len(D), k))
        np.add.at(conf.T, a, D.T)
        np.add.at(conf.T, b, -D.T)
        return self._votes(D) + conf / (3.0 * (np.abs(conf) + 1.0))

    def predict(self, X: Any) -> np.ndarray:
        """The class with the most pairwise wins (ties: the smallest label).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        D = self._ovo(X)
        return self.classes_[np.argmax(self._votes(D), axis=1)]

    @available_if(lambda self: self.probability)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities from Platt's sigmoids and pairwise coupling.

        Only with ``probability=True`` (otherwise the attribute does not exist).

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64
        """
        check_is_fitted(self, "probA_")
        if len(self.probA_) == 0:
            raise AttributeError("predict_proba: fitted with probability=False; refit")
        D = self._ovo(X)
        z = D * self.probA_ + self.probB_
        r = np.clip(1.0 / (1.0 + np.exp(np.clip(z, -500, 500))), 1e-7, 1 - 1e-7)  # P(first | pair)
        k = len(self.classes_)
        if k == 2:
            return xp.stack([r[:, 0], 1.0 - r[:, 0]], axis=1)
        R = np.zeros((len(D), k, k))
        a, b = self._pairs[:, 0], self._pairs[:, 1]
        R[:, a, b] = r
        R[:, b, a] = 1.0 - r
        return _couple(R)

    @available_if(lambda self: self.probability)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))
