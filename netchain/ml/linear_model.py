"""Linear models: least squares, ridge regression and multinomial logistic regression.

- :class:`LinearRegression` solves ordinary least squares with :func:`scipy.linalg.lstsq`
  (an SVD-based solver), so collinear columns give the minimum-norm solution.
- :class:`Ridge` solves the L2-penalised normal equations (Hoerl & Kennard, 1970) by a Cholesky
  factorisation, in the primal (features) or the dual (samples) form, whichever is smaller.
- :class:`LogisticRegression` minimises the L2-penalised cross-entropy of a softmax model
  (Hastie, Tibshirani & Friedman, 2009, "The Elements of Statistical Learning", 4.4) with
  L-BFGS (Liu & Nocedal, 1989; :func:`scipy.optimize.minimize`) on the exact gradient.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.linalg.blas import dgemm, dgemv
from scipy.special import expit, log_expit, logsumexp

from netchain.backend import xp
from netchain.ml.base import (
    BaseEstimator,
    ClassifierMixin,
    ConvergenceWarning,
    RegressorMixin,
    blas_threads_for,
    check_classifier_targets,
    check_fitted_input,
    check_sample_weight,
    check_X_y,
)

__all__ = ["LinearRegression", "LogisticRegression", "Ridge"]


def _mm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` (float64) through SciPy's BLAS rather than NumPy's.

    NumPy and SciPy ship separate OpenBLAS builds; alternating between them costs milliseconds
    a switch while the idle pool's threads spin (see PERFORMANCE.md). L-BFGS runs on SciPy's,
    so the objective's products do too. C-ordered operands are passed transposed, uncopied.
    """
    a, ta = (A.T, 1) if not A.flags.f_contiguous else (A, 0)
    if B.ndim == 1:
        return dgemv(1.0, a, B, trans=ta)
    b, tb = (B.T, 1) if not B.flags.f_contiguous else (B, 0)
    return dgemm(1.0, a, b, trans_a=ta, trans_b=tb)


def _center(X, y, w, fit_intercept):
    """Weighted means of X and y (zeros without an intercept) and the centred arrays."""
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), np.zeros(y.shape[1:])
    x_mean = np.average(X, axis=0, weights=w)  # w is None for equal weights
    y_mean = np.average(y, axis=0, weights=w)
    return X - x_mean, y - y_mean, x_mean, y_mean


class _LinearRegressorBase(RegressorMixin, BaseEstimator):
    _multi_output = True

    def predict(self, X: Any) -> np.ndarray:
        """``X @ coef_.T + intercept_``.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets), float64
        """
        X = check_fitted_input(self, X, "coef_")
        return X @ self.coef_.T + self.intercept_

    def _prepare(self, X, y, sample_weight):
        X, y = check_X_y(X, y, y_numeric=True, multi_output=True)
        w = check_sample_weight(sample_weight, len(X))
        self.n_features_in_ = X.shape[1]
        Xc, yc, x_mean, y_mean = _center(
            X, y, None if sample_weight is None else w, self.fit_intercept
        )
        if sample_weight is not None:  # weighted least squares: rows scaled by sqrt(w)
            sw = np.sqrt(w)
            Xc = Xc * sw[:, None]
            yc = yc * (sw[:, None] if yc.ndim == 2 else sw)
        return Xc, yc, x_mean, y_mean

    def _set_coef(self, coef, x_mean, y_mean):
        # coef: (n_features,) or (n_features, n_targets) -> coef_ in scikit-learn's layout
        self.coef_ = np.ascontiguousarray(coef.T)
        self.intercept_ = y_mean - x_mean @ coef if self.fit_intercept else np.zeros(coef.shape[1:])
        if np.ndim(self.intercept_) == 0:
            self.intercept_ = float(self.intercept_)


class LinearRegression(_LinearRegressorBase):
    """Ordinary least squares: minimise ``sum_i w_i (y_i - x_i . b - b0)^2``.

    Parameters
    ----------
    fit_intercept : bool, default True
        Fit ``b0`` (by centring X and y) or force it to 0.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Where columns are collinear, the solution of least norm.
    intercept_ : float or ndarray of shape (n_targets,)
    rank_ : int
        Rank of the (centred) design matrix.
    singular_ : ndarray of shape (min(n_samples, n_features),)
        Its singular values.
    n_features_in_ : int

    Examples
    --------
    >>> from netchain.ml import LinearRegression
    >>> m = LinearRegression().fit([[1, 1], [2, 2], [3, 3]], [1, 2, 3])
    >>> m.coef_.round(6).tolist(), round(m.intercept_, 6)
    ([0.5, 0.5], 0.0)
    """

    def __init__(self, *, fit_intercept: bool = True) -> None:
        self.fit_intercept = fit_intercept

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LinearRegression:
        """Fit by :func:`scipy.linalg.lstsq` on the centred (and weighted) data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For NaN / infinite values, mismatched lengths, negative weights.
        """
        Xc, yc, x_mean, y_mean = self._prepare(X, y, sample_weight)
        # singular values below eps * max(n, d) * s_max count as zero (NumPy's rule), so that
        # exactly collinear columns give the minimum-norm solution rather than rounding noise
        cond = np.finfo(np.float64).eps * max(Xc.shape)
        n, d = Xc.shape
        with blas_threads_for(n * d * d):
            coef, _, rank, sing = scipy.linalg.lstsq(Xc, yc, cond=cond, lapack_driver="gelsd")
        self.rank_ = int(rank)
        self.singular_ = sing
        self._set_coef(coef, x_mean, y_mean)
        return self


class Ridge(_LinearRegressorBase):
    """Ridge regression: minimise ``sum_i w_i (y_i - x_i . b - b0)^2 + alpha |b|^2``.

    Parameters
    ----------
    alpha : float or array-like of shape (n_targets,), default 1.0
        Penalty strength (>= 0), one per target if an array.
    fit_intercept : bool, default True
        The intercept is not penalised.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
    intercept_ : float or ndarray of shape (n_targets,)
    n_features_in_ : int

    Notes
    -----
    Solved by a Cholesky factorisation of ``X^T X + alpha I`` when there are at least as many
    samples as features, else of ``X X^T + alpha I`` (then ``b = X^T c``); with ``alpha = 0``
    and a singular system, by least squares.
    """

    def __init__(self, alpha: Any = 1.0, *, fit_intercept: bool = True) -> None:
        self.alpha = alpha
        self.fit_intercept = fit_intercept

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Ridge:
        """Fit the penalised least-squares problem.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For a negative or wrongly shaped ``alpha`` and the errors of ``check_X_y``.
        """
        alpha = np.asarray(self.alpha, dtype=np.float64)
        if not np.all(np.isfinite(alpha)) or np.any(alpha < 0):
            raise ValueError(f"alpha must be non-negative and finite, got {self.alpha!r}")
        Xc, yc, x_mean, y_mean = self._prepare(X, y, sample_weight)
        Y = yc if yc.ndim == 2 else yc[:, None]
        if alpha.ndim == 0:
            alphas = np.full(Y.shape[1], float(alpha))
        elif alpha.shape == (Y.shape[1],):
            alphas = alpha
        else:
            raise ValueError(
                f"alpha: expected a scalar or shape ({Y.shape[1]},), got {alpha.shape}"
            )
        n, d = Xc.shape
        primal = n >= d
        G = Xc.T @ Xc if primal else Xc @ Xc.T
        coef = np.empty((d, Y.shape[1]))
        for a in np.unique(alphas):  # one factorisation per distinct penalty
            cols = alphas == a
            rhs = Xc.T @ Y[:, cols] if primal else Y[:, cols]
            A = G + a * np.eye(len(G))
            try:
                sol = scipy.linalg.solve(A, rhs, assume_a="pos")
            except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
                sol = scipy.linalg.lstsq(A, rhs)[0]
            coef[:, cols] = sol if primal else Xc.T @ sol
        if yc.ndim == 1:
            coef = coef[:, 0]
        self._set_coef(coef, x_mean, y_mean)
        return self


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Multinomial logistic regression with an L2 penalty.

    Minimises ``C * sum_i w_i CE_i + 0.5 |W|^2`` where ``CE_i`` is the cross-entropy of the
    softmax model ``P(k | x) ~ exp(x . W_k + b_k)`` (the intercepts ``b`` are not penalised).
    With two classes the model is the equivalent binary logistic regression on one weight
    vector, ``P(classes_[1] | x) = sigmoid(x . w + b)``.

    Parameters
    ----------
    C : float, default 1.0
        Inverse penalty strength (> 0).
    fit_intercept : bool, default True
    max_iter : int, default 100
        L-BFGS iterations.
    tol : float, default 1e-4
        Stop when the largest entry of the projected gradient (of the objective divided by
        the total sample weight) falls below ``tol``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    n_iter_ : ndarray of shape (1,)
    n_features_in_ : int

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached first (on separable data the penalised optimum is finite
        and is reached; it may take many iterations).

    Raises
    ------
    ValueError
        From ``fit`` when ``y`` holds a single class.
    """

    def __init__(
        self,
        *,
        C: float = 1.0,
        fit_intercept: bool = True,
        max_iter: int = 100,
        tol: float = 1e-4,
    ) -> None:
        self.C = C
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol

    def _check_params(self) -> None:
        if not isinstance(self.C, numbers.Real) or isinstance(self.C, bool) or not self.C > 0:
            raise ValueError(f"C must be a positive float, got {self.C!r}")
        mi = self.max_iter
        if not isinstance(mi, numbers.Integral) or isinstance(mi, bool) or mi < 1:
            raise ValueError(f"max_iter must be a positive int, got {mi!r}")
        if not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ValueError(f"tol must be a non-negative float, got {self.tol!r}")

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> LogisticRegression:
        """Fit by L-BFGS.

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
            For one class only, invalid parameters or data.
        """
        self._check_params()
        X, y = check_X_y(X, y)
        self.classes_, codes, w = check_classifier_targets(
            y, sample_weight, min_classes=2, estimator="LogisticRegression"
        )
        K = len(self.classes_)
        self.n_features_in_ = X.shape[1]
        n, d = X.shape
        w_total = w.sum()
        if w_total <= 0:
            raise ValueError("sample_weight: the weights sum to zero")
        ws = w / w_total  # the objective is divided by the total weight, for conditioning
        lam = 1.0 / (self.C * w_total)
        b = 1 if self.fit_intercept else 0
        XT = X.T
        if K == 2:
            t = (codes == 1).astype(np.float64)

            def objective(theta):
                coef, c0 = theta[:d], theta[d] if b else 0.0
                z = _mm(X, coef) + c0
                # binary cross-entropy: log(1 + e^z) - t z
                loss = np.einsum("i,i->", ws, (1.0 - t) * z - log_expit(z))
                r = ws * (expit(z) - t)
                grad = np.empty_like(theta)
                grad[:d] = _mm(XT, r) + lam * coef
                if b:
                    grad[d] = r.sum()
                return loss + 0.5 * lam * np.einsum("i,i->", coef, coef), grad

            theta0 = np.zeros(d + b)
        else:
            T = np.zeros((n, K))
            T[np.arange(n), codes] = 1.0

            def objective(theta):
                W = theta[: d * K].reshape(d, K)
                Z = _mm(X, W)
                if b:
                    Z += theta[d * K :]
                lse = logsumexp(Z, axis=1)
                loss = np.einsum("i,i->", ws, lse - np.einsum("ij,ij->i", Z, T))
                P = np.exp(Z - lse[:, None])
                R = (P - T) * ws[:, None]
                grad = np.empty_like(theta)
                grad[: d * K] = (_mm(XT, R) + lam * W).ravel()
                if b:
                    grad[d * K :] = R.sum(axis=0)
                return loss + 0.5 * lam * np.einsum("ij,ij->", W, W), grad

            theta0 = np.zeros(d * K + b * K)
        # hundreds of thin products (K columns): one BLAS thread unless they are large
        with blas_threads_for(n * d * K):
            res = scipy.optimize.minimize(
                objective,
                theta0,
                jac=True,
                method="L-BFGS-B",
                options={
                    "maxiter": self.max_iter,
                    "gtol": self.tol,
                    "ftol": 64 * np.finfo(float).eps,
                    "maxls": 50,
                },
            )
        theta = res.x
        n_iter = int(res.nit)
        if not res.success and n_iter >= self.max_iter:
            warnings.warn(
                f"LogisticRegression: L-BFGS reached max_iter={self.max_iter} before "
                "converging; increase max_iter or scale the features",
                ConvergenceWarning,
                stacklevel=2,
            )
        if K == 2:
            self.coef_ = theta[:d][None, :].copy()
            self.intercept_ = np.array([theta[d] if b else 0.0])
        else:
            self.coef_ = np.ascontiguousarray(theta[: d * K].reshape(d, K).T)
            self.intercept_ = theta[d * K :].copy() if b else np.zeros(K)
        self.n_iter_ = np.array([n_iter])
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """The linear scores ``X @ coef_.T + intercept_``.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes (positive favours ``classes_[1]``),
        else (n_samples, n_classes)
        """
        X = check_fitted_input(self, X, "coef_")
        Z = X @ self.coef_.T + self.intercept_
        return Z[:, 0] if Z.shape[1] == 1 else Z

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log of :meth:`predict_proba`, computed stably."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            return xp.stack([log_expit(-Z), log_expit(Z)], axis=1)
        return Z - logsumexp(Z, axis=1)[:, None]

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities.

        Returns
        -------
        ndarray of shape (n_samples, n_classes), float64, rows summing to 1
        """
        return np.exp(self.predict_log_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class (ties: the smallest label)."""
        Z = self.decision_function(X)
        if Z.ndim == 1:
            return self.classes_[(Z > 0).astype(np.intp)]
        return self.classes_[np.argmax(Z, axis=1)]
