"""Linear and kernel principal component analysis.

References
----------
- Pearson, K. (1901). "On lines and planes of closest fit to systems of points in space".
- Jolliffe, I. T. (2002). "Principal Component Analysis", 2nd ed. Springer.
- Halko, N., Martinsson, P.-G. & Tropp, J. A. (2011). "Finding structure with randomness:
  probabilistic algorithms for constructing approximate matrix decompositions". SIAM Review 53(2).
- Schoelkopf, B., Smola, A. & Mueller, K.-R. (1998). "Nonlinear component analysis as a kernel
  eigenvalue problem". Neural Computation 10(5).
- Bakir, G. H., Weston, J. & Schoelkopf, B. (2004). "Learning to find pre-images". NIPS 16.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import eigsh

from netchain.backend import xp
from netchain.ml.base import (
    BaseEstimator,
    TransformerMixin,
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

__all__ = ["KernelPCA", "PCA"]


def _flip_signs(vectors: Any, axis: int) -> Any:
    """Make the entry of largest magnitude of each vector positive (deterministic signs).

    ``axis=1``: vectors are the rows; ``axis=0``: the columns.
    """
    idx = xp.argmax(xp.abs(vectors), axis=axis)
    if axis == 1:
        signs = xp.sign(vectors[xp.arange(vectors.shape[0]), idx])
    else:
        signs = xp.sign(vectors[idx, xp.arange(vectors.shape[1])])
    signs[signs == 0] = 1.0
    return signs


def _randomized_range(A: Any, size: int, n_iter: int, rng: np.random.Generator) -> Any:
    """An orthonormal basis Q (n x size) of the approximate range of A (Halko et al., 2011,
    Algorithm 4.4: Gaussian test matrix, ``n_iter`` power iterations re-orthonormalised by QR)."""
    omega = xp.asarray(rng.standard_normal((A.shape[1], size)))
    Q, _ = xp.linalg.qr(A @ omega)
    for _ in range(n_iter):
        Q, _ = xp.linalg.qr(A.T @ Q)
        Q, _ = xp.linalg.qr(A @ Q)
    return Q


class PCA(TransformerMixin, BaseEstimator):
    """Principal component analysis: the orthogonal directions of largest variance.

    Parameters
    ----------
    n_components : int, float or None, default None
        Number of components (1 .. min(n_samples, n_features)); a float in (0, 1) keeps the
        fewest components whose explained variance ratio sums past it; None keeps
        min(n_samples, n_features).
    whiten : bool, default False
        Scale the projections to unit variance.
    svd_solver : {"auto", "full", "covariance_eigh", "randomized"}, default "auto"
        "full": SVD of the centred data (LAPACK); "covariance_eigh": eigendecomposition of the
        covariance matrix (fast for n_samples >> n_features); "randomized": Halko et al.
        (2011). "auto" takes "covariance_eigh" when n_samples >= 10 n_features and
        n_features <= 1000, "full" when both sizes are at most 500, "randomized" for an
        integer n_components below 80% of min(n_samples, n_features), else "full".
    iterated_power : int or "auto", default "auto"
        Power iterations of the randomized solver ("auto": 7 when n_components is below 10%
        of min(n_samples, n_features), else 4).
    n_oversamples : int, default 10
        Extra random directions of the randomized solver.
    random_state : None, int or numpy.random.Generator
        Seeds the randomized solver.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Unit principal axes, by decreasing variance; each has its entry of largest magnitude
        positive.
    explained_variance_ : ndarray of shape (n_components,)
        Variance along each axis (denominator n_samples - 1).
    explained_variance_ratio_ : ndarray of shape (n_components,)
        Share of the total variance; all 0 for constant data.
    singular_values_ : ndarray of shape (n_components,)
    mean_ : ndarray of shape (n_features,)
    n_components_ : int
    n_samples_ : int
    noise_variance_ : float
        Mean variance of the discarded directions (0 when none is discarded).
    n_features_in_ : int

    Raises
    ------
    ValueError
        In ``fit``: an integer n_components above min(n_samples, n_features) or below 1, a
        float outside (0, 1) or with the randomized solver, an unknown solver, bad input.
    """

    def __init__(
        self,
        n_components: Any = None,
        *,
        whiten: bool = False,
        svd_solver: str = "auto",
        iterated_power: Any = "auto",
        n_oversamples: int = 10,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> PCA:
        """Fit the axes to ``X`` of shape (n_samples, n_features); returns self."""
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Fit and return the projections of ``X``, shape (n_samples, n_components)."""
        Xc = self._fit(X)
        return self._project(Xc)

    def _resolve_n_components(self, n: int, d: int) -> Any:
        limit = min(n, d)
        k = self.n_components
        if k is None:
            return limit
        if isinstance(k, numbers.Integral) and not isinstance(k, bool):
            if not 1 <= k <= limit:
                raise ValueError(
                    f"n_components={k} must be between 1 and min(n_samples, n_features)="
                    f"{limit} (n_samples={n}, n_features={d})"
                )
            return int(k)
        if isinstance(k, numbers.Real) and not isinstance(k, bool):
            if not 0 < k < 1:
                raise ValueError(
                    f"n_components as a float must be in (0, 1) (a variance fraction), got {k}"
                )
            return float(k)
        raise TypeError(f"n_components must be an int, a float in (0, 1) or None, got {k!r}")

    def _fit(self, X: Any) -> Any:
        check_option(
            self.svd_solver, "svd_solver", ("auto", "full", "covariance_eigh", "randomized")
        )
        X = check_array(X)
        n, d = X.shape
        k = self._resolve_n_components(n, d)
        limit = min(n, d)
        solver = self.svd_solver
        if solver == "auto":
            if n >= 10 * d and d <= 1000:
                solver = "covariance_eigh"
            elif max(n, d) <= 500 or isinstance(k, float):
                solver = "full"
            elif k < 0.8 * limit:
                solver = "randomized"
            else:
                solver = "full"
        if solver == "randomized" and isinstance(k, float):
            raise ValueError("n_components as a variance fraction needs svd_solver='full'")

        X = xp.asarray(X)
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        dof = max(n - 1, 1)

        if solver == "covariance_eigh":
            C = Xc.T @ Xc
            total_var = float(xp.trace(C)) / dof
            evals, evecs = xp.linalg.eigh(C)
            evals = xp.maximum(evals[::-1], 0.0)
            Vt = evecs[:, ::-1].T
            all_var = evals / dof
            S = xp.sqrt(evals)
            evals_all = all_var[:limit] if n < d else all_var
        elif solver == "full":
            _, S, Vt = xp.linalg.svd(Xc, full_matrices=False)
            all_var = S**2 / dof
            total_var = float(xp.einsum("ij,ij->", Xc, Xc)) / dof
            evals_all = all_var
        else:
            total_var = float(xp.einsum("ij,ij->", Xc, Xc)) / dof
            rng = check_random_state(self.random_state)
            if self.iterated_power == "auto":
                n_iter = 7 if k < 0.1 * limit else 4
            else:
                n_iter = check_scalar(
                    self.iterated_power, "iterated_power", numbers.Integral, min_val=0
                )
            over = check_scalar(self.n_oversamples, "n_oversamples", numbers.Integral, min_val=0)
            size = min(k + over, limit)
            with blas_threads(1):  # many small products and QR steps in turn
                Q = _randomized_range(Xc, size, n_iter, rng)
                _, S, Vt = xp.linalg.svd(Q.T @ Xc, full_matrices=False)
            all_var = S**2 / dof
            evals_all = None

        if isinstance(k, float):
            ratio = all_var / total_var if total_var > 0 else xp.zeros_like(all_var)
            k = int(xp.searchsorted(xp.cumsum(ratio), k, side="right")) + 1
            k = min(k, limit)
        Vt = Vt[:k]
        Vt = Vt * _flip_signs(Vt, axis=1)[:, None]
        self.components_ = xp.ascontiguousarray(Vt)
        self.explained_variance_ = all_var[:k].copy()
        self.singular_values_ = S[:k].copy()
        if total_var > 0:
            self.explained_variance_ratio_ = self.explained_variance_ / total_var
        else:
            self.explained_variance_ratio_ = xp.zeros(k)
        if k < limit:
            if evals_all is not None:
                self.noise_variance_ = float(evals_all[k:limit].mean())
            else:
                rest = total_var - float(self.explained_variance_.sum())
                self.noise_variance_ = max(rest, 0.0) / (limit - k)
        else:
            self.noise_variance_ = 0.0
        self.n_components_ = k
        self.n_samples_ = n
        self.n_features_in_ = d
        return Xc

    def _scale(self) -> Any:
        s = xp.sqrt(self.explained_variance_)
        return xp.maximum(s, np.finfo(np.float64).eps)

    def _project(self, Xc: Any) -> Any:
        Z = Xc @ self.components_.T
        if self.whiten:
            Z /= self._scale()
        return Z

    def transform(self, X: Any) -> Any:
        """Project ``X`` onto the axes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        X = check_fitted_input(self, X, "components_")
        return self._project(xp.asarray(X) - self.mean_)

    def inverse_transform(self, Z: Any) -> Any:
        """Map projections back to the input space (exact when no component was dropped).

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "components_")
        Z = check_array(Z, name="Z")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"Z has {Z.shape[1]} columns, but this PCA has {self.n_components_} components"
            )
        Z = xp.asarray(Z)
        if self.whiten:
            Z = Z * self._scale()
        return Z @ self.components_ + self.mean_


class KernelPCA(TransformerMixin, BaseEstimator):
    """Kernel principal component analysis (Schoelkopf, Smola & Mueller, 1998).

    PCA in the feature space of a kernel: the leading eigenvectors of the centred Gram
    matrix Kc = (I - 1/n) K (I - 1/n), scaled by the square roots of their eigenvalues, are
    the projections of the training rows.

    Parameters
    ----------
    n_components : int or None, default None
        Number of components; None keeps every one of positive eigenvalue.
    kernel : {"linear", "poly", "rbf", "sigmoid", "precomputed"}, default "linear"
        See :func:`netchain.ml.base.pairwise_kernel`; "precomputed" takes Gram matrices as X.
    gamma : float, "scale", "auto" or None, default None
        Kernel coefficient of "rbf", "poly" and "sigmoid"; None is 1 / n_features.
    degree : int, default 3
        Degree of "poly".
    coef0 : float, default 1
        Constant of "poly" and "sigmoid".
    alpha : float, default 1.0
        Ridge penalty of the learned pre-image map (``fit_inverse_transform``).
    fit_inverse_transform : bool, default False
        Learn a kernel ridge regression from projections back to inputs (Bakir et al., 2004),
        used by ``inverse_transform``.
    eigen_solver : {"auto", "dense", "arpack"}, default "auto"
        :func:`scipy.linalg.eigh` (only the wanted eigenpairs) or
        :func:`scipy.sparse.linalg.eigsh` (Lanczos); "auto" takes "arpack" when n_samples >
        200 and n_components < 10.
    random_state : None, int or numpy.random.Generator
        Seeds the starting vector of "arpack".

    Attributes
    ----------
    eigenvalues_ : ndarray of shape (n_components,)
        Eigenvalues of the centred Gram matrix, decreasing, negative round-off clipped to 0.
    eigenvectors_ : ndarray of shape (n_samples, n_components)
        Unit eigenvectors, each with its entry of largest magnitude positive.
    X_fit_ : ndarray of shape (n_samples, n_features)
    X_transformed_fit_ : ndarray of shape (n_samples, n_components)
        Only with ``fit_inverse_transform``.
    dual_coef_ : ndarray of shape (n_samples, n_features)
        Only with ``fit_inverse_transform``.
    gamma_ : float
        The resolved kernel coefficient.
    n_features_in_ : int

    Warns
    -----
    UserWarning
        When negative eigenvalues beyond round-off (1e-10 times the largest magnitude), but
        small (above -1e-5 times the largest magnitude), are clipped to 0; eigenvalues within
        round-off of 0, of either sign, are set to 0 silently.

    Raises
    ------
    ValueError
        When the kernel is not positive semi-definite: an eigenvalue below -1e-5 times the
        largest magnitude; for n_components above n_samples; for bad input.
    """

    def __init__(
        self,
        n_components: int | None = None,
        *,
        kernel: str = "linear",
        gamma: Any = None,
        degree: int = 3,
        coef0: float = 1,
        alpha: float = 1.0,
        fit_inverse_transform: bool = False,
        eigen_solver: str = "auto",
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.kernel = kernel
        self.gamma = gamma
        self.degree = degree
        self.coef0 = coef0
        self.alpha = alpha
        self.fit_inverse_transform = fit_inverse_transform
        self.eigen_solver = eigen_solver
        self.random_state = random_state

    def _kernel(self, X: Any, Y: Any = None) -> Any:
        if self.kernel == "precomputed":
            return X
        return pairwise_kernel(
            X, Y, kernel=self.kernel, gamma=self.gamma_, degree=self.degree, coef0=self.coef0
        )

    def fit(self, X: Any, y: Any = None) -> KernelPCA:
        """Fit to ``X`` of shape (n_samples, n_features) (or a Gram matrix); returns self."""
        check_option(self.kernel, "kernel", ("linear", "poly", "rbf", "sigmoid", "precomputed"))
        check_option(self.eigen_solver, "eigen_solver", ("auto", "dense", "arpack"))
        X = check_array(X)
        n = X.shape[0]
        if self.kernel == "precomputed" and X.shape[0] != X.shape[1]:
            raise ValueError(f"X: kernel='precomputed' needs a square Gram matrix, got {X.shape}")
        if self.fit_inverse_transform and self.kernel == "precomputed":
            raise ValueError(
                "fit_inverse_transform=True is not available with kernel='precomputed'"
            )
        self.gamma_ = 1.0 / X.shape[1] if self.gamma is None else resolve_gamma(self.gamma, X)
        if self.n_components is None:
            k = n
        else:
            k = check_scalar(self.n_components, "n_components", numbers.Integral, min_val=1)
            if k > n:
                raise ValueError(f"n_components={k} must be <= n_samples={n}")
        X = xp.asarray(X)
        K = xp.array(self._kernel(X), dtype=np.float64, copy=True)
        self._k_fit_rows = K.mean(axis=0)
        self._k_fit_all = float(self._k_fit_rows.mean())
        Kc = K - self._k_fit_rows[None, :] - self._k_fit_rows[:, None] + self._k_fit_all

        solver = self.eigen_solver
        if solver == "auto":
            solver = "arpack" if n > 200 and k < 10 else "dense"
        if solver == "arpack" and k >= n:
            solver = "dense"
        if solver == "dense":
            evals, evecs = scipy.linalg.eigh(Kc, subset_by_index=[n - k, n - 1], check_finite=False)
        else:
            rng = check_random_state(self.random_state)
            v0 = rng.uniform(-1.0, 1.0, n)
            with blas_threads(1):  # ARPACK's serial steps between products
                evals, evecs = eigsh(Kc, k=k, which="LA", v0=v0)
        order = xp.argsort(evals)[::-1]
        evals = evals[order]
        evecs = evecs[:, order]

        top = float(xp.max(xp.abs(evals))) if evals.size else 0.0
        lowest = float(evals.min()) if evals.size else 0.0
        roundoff = 1e-10 * top
        if lowest < -1e-5 * top:
            raise ValueError(
                f"the centred kernel matrix has a large negative eigenvalue ({lowest:.3g}, "
                f"largest magnitude {top:.3g}): kernel={self.kernel!r} is not positive "
                "semi-definite on this data"
            )
        if lowest < -roundoff:
            warnings.warn(
                f"negative eigenvalues down to {lowest:.3g} (largest magnitude {top:.3g}) "
                "were clipped to 0",
                UserWarning,
                stacklevel=2,
            )
        # round-off around 0 (either sign) is 0
        evals = xp.where(evals > roundoff, evals, 0.0)
        if self.n_components is None:
            keep = evals > 0
            evals, evecs = evals[keep], evecs[:, keep]
        evecs = evecs * _flip_signs(evecs, axis=0)[None, :]
        self.eigenvalues_ = evals
        self.eigenvectors_ = xp.ascontiguousarray(evecs)
        self.X_fit_ = X
        self.n_features_in_ = X.shape[1]
        if self.fit_inverse_transform:
            check_scalar(self.alpha, "alpha", numbers.Real, min_val=0)
            Z = self._fit_projection()
            self.X_transformed_fit_ = Z
            Kz = self._gram_of_projections(Z, Z)
            Kz.flat[:: n + 1] += self.alpha
            self.dual_coef_ = xp.linalg.solve(Kz, X)
        return self

    def _fit_projection(self) -> Any:
        return self.eigenvectors_ * xp.sqrt(self.eigenvalues_)[None, :]

    def _gram_of_projections(self, A: Any, B: Any) -> Any:
        return pairwise_kernel(
            A, B, kernel=self.kernel, gamma=self.gamma_, degree=self.degree, coef0=self.coef0
        )

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Fit and return the projections of the training rows, shape (n_samples, n_components)."""
        self.fit(X)
        return self._fit_projection()

    def transform(self, X: Any) -> Any:
        """Project new rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_fit_samples) of
            kernel values for ``kernel="precomputed"``

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        check_is_fitted(self, "eigenvectors_")
        X = check_array(X)
        if self.kernel == "precomputed":
            if X.shape[1] != self.X_fit_.shape[0]:
                raise ValueError(
                    f"X: expected kernel values against the {self.X_fit_.shape[0]} training rows, "
                    f"got {X.shape[1]} columns"
                )
            K = xp.asarray(X)
        else:
            check_n_features(self, X)
            K = self._kernel(xp.asarray(X), self.X_fit_)
        Kc = K - K.mean(axis=1)[:, None] - self._k_fit_rows[None, :] + self._k_fit_all
        scale = xp.sqrt(self.eigenvalues_)
        nz = scale > 0
        out = xp.zeros((K.shape[0], scale.size))
        out[:, nz] = (Kc @ self.eigenvectors_[:, nz]) / scale[nz]
        return out

    def inverse_transform(self, Z: Any) -> Any:
        """Approximate pre-images of projections (needs ``fit_inverse_transform=True``).

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)

        Returns
        -------
        ndarray of shape (n_samples, n_features)

        Raises
        ------
        ValueError
            When the map was not learned.
        """
        check_is_fitted(self, "eigenvectors_")
        if not self.fit_inverse_transform or not hasattr(self, "dual_coef_"):
            raise ValueError(
                "inverse_transform needs fit_inverse_transform=True when fitting this KernelPCA"
            )
        Z = check_array(Z, name="Z")
        if Z.shape[1] != self.X_transformed_fit_.shape[1]:
            raise ValueError(
                f"Z has {Z.shape[1]} columns, expected {self.X_transformed_fit_.shape[1]}"
            )
        return self._gram_of_projections(xp.asarray(Z), self.X_transformed_fit_) @ self.dual_coef_
