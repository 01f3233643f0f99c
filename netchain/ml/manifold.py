"""Manifold learning: locally linear embedding and t-distributed stochastic neighbour embedding.

References
----------
- Roweis, S. T. & Saul, L. K. (2000). "Nonlinear dimensionality reduction by locally linear
  embedding". Science 290.
- Saul, L. K. & Roweis, S. T. (2003). "Think globally, fit locally: unsupervised learning of
  low dimensional manifolds". JMLR 4 (regularisation of the local Gram matrix).
- van der Maaten, L. & Hinton, G. (2008). "Visualizing data using t-SNE". JMLR 9.
- van der Maaten, L. (2014). "Accelerating t-SNE using tree-based algorithms". JMLR 15.
- Belkina, A. C. et al. (2019). "Automated optimized parameters for t-distributed stochastic
  neighbor embedding improve visualization and analysis of large datasets". Nature
  Communications 10 (learning rate n / early_exaggeration / 4).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import scipy.linalg
from numba import njit
from scipy.sparse import csr_matrix, eye, triu
from scipy.sparse.linalg import eigsh
from scipy.spatial import cKDTree

from netchain.ml import _bhtsne
from netchain.ml.base import (
    BaseEstimator,
    TransformerMixin,
    blas_threads,
    check_array,
    check_fitted_input,
    check_option,
    check_random_state,
    check_scalar,
)

__all__ = ["LocallyLinearEmbedding", "TSNE", "nearest_neighbors"]

_TREE_MAX_FEATURES = 12  # above this many features, brute force beats a k-d tree


@njit(cache=True)
def _select_nearest(G, x_sq, self_offset, out):
    """For each row r of G = Y_block @ X.T, the k = out.shape[1] columns j of smallest
    |x_j|^2 - 2 G[r, j] (the squared distance up to a constant per row), unordered, kept in a
    max-heap while scanning; column self_offset + r is skipped when self_offset >= 0."""
    b, n = G.shape
    k = out.shape[1]
    key = np.empty(k)
    for r in range(b):
        skip = self_offset + r if self_offset >= 0 else -1
        size = 0
        for j in range(n):
            if j == skip:
                continue
            v = x_sq[j] - 2.0 * G[r, j]
            if size < k:
                # sift up
                pos = size
                size += 1
                while pos > 0:
                    parent = (pos - 1) >> 1
                    if key[parent] >= v:
                        break
                    key[pos] = key[parent]
                    out[r, pos] = out[r, parent]
                    pos = parent
                key[pos] = v
                out[r, pos] = j
            elif v < key[0]:
                # replace the root and sift down
                pos = 0
                while True:
                    child = 2 * pos + 1
                    if child >= k:
                        break
                    if child + 1 < k and key[child + 1] > key[child]:
                        child += 1
                    if key[child] <= v:
                        break
                    key[pos] = key[child]
                    out[r, pos] = out[r, child]
                    pos = child
                key[pos] = v
                out[r, pos] = j


def nearest_neighbors(X: Any, k: int, Y: Any = None) -> tuple[Any, Any]:
    """The k nearest rows of X to each row of Y (default: of X itself, each row excluded from
    its own neighbours by index, so a duplicate row is still a neighbour).

    Parameters
    ----------
    X : ndarray of shape (n, d)
    k : int
        Number of neighbours; at most n - 1 when Y is None, n otherwise.
    Y : ndarray of shape (m, d), optional

    Returns
    -------
    indices : ndarray of shape (m, k), int64
        Sorted by increasing distance.
    sqdist : ndarray of shape (m, k)
        Squared Euclidean distances.

    Notes
    -----
    A :class:`scipy.spatial.cKDTree` for up to 12 features; above that, blocks of rows
    through one matrix product each and a heap selection, the chosen distances then
    computed directly.
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    exclude = Y is None
    Yq = X if exclude else np.ascontiguousarray(Y, dtype=np.float64)
    n = X.shape[0]
    m = Yq.shape[0]
    extra = 1 if exclude else 0
    if k + extra > n:
        raise ValueError(f"asked for {k} neighbours among {n - extra} candidate rows")
    if X.shape[1] <= _TREE_MAX_FEATURES:
        dist, idx = cKDTree(X).query(Yq, k=k + extra)
        if k + extra == 1:
            dist, idx = dist[:, None], idx[:, None]
        idx = idx.astype(np.int64)
        sq = dist * dist
        if exclude:
            own = idx == np.arange(m)[:, None]
            missing = ~own.any(axis=1)
            own[missing, -1] = True  # self hidden among duplicates: drop the farthest instead
            keep = ~own
            idx = idx[keep].reshape(m, k)
            sq = sq[keep].reshape(m, k)
        return idx, sq
    x_sq = np.einsum("ij,ij->i", X, X)
    idx = np.empty((m, k), dtype=np.int64)
    sq = np.empty((m, k))
    block = max(16, (1 << 19) // max(n, 1))  # a 4 MiB block of the Gram matrix
    with blas_threads(1):
        for s in range(0, m, block):
            _nearest_block(X, Yq, x_sq, s, min(m, s + block), k, exclude, idx, sq)
    return idx, sq


def _nearest_block(X, Yq, x_sq, s, e, k, exclude, idx, sq):
    """Fill rows s..e-1 of ``idx`` and ``sq`` (see :func:`nearest_neighbors`)."""
    G = Yq[s:e] @ X.T
    part = np.empty((e - s, k), dtype=np.int64)
    _select_nearest(G, x_sq, s if exclude else -1, part)
    rows = np.arange(e - s)
    # exact squared distances of the chosen ones (the product form loses ~1e-15 to
    # cancellation, which would make duplicate rows look apart)
    diff = X[part] - Yq[s:e, None, :]
    pd = np.einsum("mkd,mkd->mk", diff, diff)
    order = np.argsort(pd, axis=1, kind="stable")
    idx[s:e] = part[rows[:, None], order]
    sq[s:e] = pd[rows[:, None], order]


def _barycenter_weights(X: Any, Z: Any, neighbors: Any, reg: float) -> Any:
    """Weights that best reconstruct each row of Z from its neighbours in X, summing to 1.

    Solves (G + r I) w = 1 with G the local Gram matrix of the neighbours centred on the
    point and r = reg * trace(G) (reg itself when the trace is 0), then normalises w.
    """
    C = X[neighbors] - Z[:, None, :]  # (m, k, d)
    G = np.einsum("mkd,mld->mkl", C, C)
    k = neighbors.shape[1]
    trace = np.einsum("mkk->m", G)
    r = np.where(trace > 0, reg * trace, reg)
    G[:, np.arange(k), np.arange(k)] += r[:, None]
    w = np.linalg.solve(G, np.ones((len(Z), k, 1)))[:, :, 0]
    return w / w.sum(axis=1, keepdims=True)


class LocallyLinearEmbedding(TransformerMixin, BaseEstimator):
    """Locally linear embedding (Roweis & Saul, 2000).

    Each row is written as an affine combination of its ``n_neighbors`` nearest rows; the
    embedding keeps these weights: it is spanned by the bottom eigenvectors of
    M = (I - W)^T (I - W), the constant one excluded.

    Parameters
    ----------
    n_neighbors : int, default 5
        Neighbours of each row (the row itself excluded by index, duplicate rows included).
    n_components : int, default 2
    reg : float, default 1e-3
        The local Gram matrix G gets reg * trace(G) added to its diagonal.
    eigen_solver : {"auto", "arpack", "dense"}, default "auto"
        :func:`scipy.sparse.linalg.eigsh` in shift-invert mode around 0 on the sparse M, or
        :func:`scipy.linalg.eigh` on the dense M; "auto" takes "arpack" when n_samples > 200
        and n_components < 9.
    tol : float, default 1e-6
        Tolerance of "arpack".
    max_iter : int, default 100
        Iterations of "arpack".
    method : {"standard"}, default "standard"
    random_state : None, int or numpy.random.Generator
        Seeds the starting vector of "arpack".

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
    reconstruction_error_ : float
        Sum of the eigenvalues of the kept eigenvectors.
    n_features_in_ : int

    Raises
    ------
    ValueError
        In ``fit`` when n_neighbors >= n_samples, n_components >= n_samples, n_components >
        n_features, or for invalid parameters and bad input.
    """

    def __init__(
        self,
        *,
        n_neighbors: int = 5,
        n_components: int = 2,
        reg: float = 1e-3,
        eigen_solver: str = "auto",
        tol: float = 1e-6,
        max_iter: int = 100,
        method: str = "standard",
        random_state: Any = None,
    ) -> None:
        self.n_neighbors = n_neighbors
        self.n_components = n_components
        self.reg = reg
        self.eigen_solver = eigen_solver
        self.tol = tol
        self.max_iter = max_iter
        self.method = method
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> LocallyLinearEmbedding:
        """Compute the embedding of ``X`` (n_samples, n_features); returns self."""
        self._fit(X)
        return self

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Compute and return the embedding, shape (n_samples, n_components)."""
        self._fit(X)
        return self.embedding_

    def _fit(self, X: Any) -> None:
        k = check_scalar(self.n_neighbors, "n_neighbors", numbers.Integral, min_val=1)
        c = check_scalar(self.n_components, "n_components", numbers.Integral, min_val=1)
        reg = check_scalar(self.reg, "reg", numbers.Real, min_val=0)
        check_option(self.eigen_solver, "eigen_solver", ("auto", "arpack", "dense"))
        check_option(self.method, "method", ("standard",))
        X = check_array(X, ensure_min_samples=2)
        n = X.shape[0]
        if k >= n:
            raise ValueError(f"n_neighbors={k} must be < n_samples={n}")
        if c >= n:
            raise ValueError(f"n_components={c} must be < n_samples={n}")
        if c > X.shape[1]:
            raise ValueError(
                f"n_components={c} must be at most n_features={X.shape[1]} (an embedding with "
                "more dimensions than the data reduces nothing)"
            )
        nbrs, _ = nearest_neighbors(X, k)
        W = _barycenter_weights(X, X, nbrs, reg)
        A = eye(n, format="csr") - csr_matrix(
            (W.ravel(), nbrs.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n)
        )
        M = (A.T @ A).tocsr()
        solver = self.eigen_solver
        if solver == "auto":
            solver = "arpack" if n > 200 and c + 1 < 10 else "dense"
        vals = vecs = None
        if solver == "arpack":
            rng = check_random_state(self.random_state)
            v0 = rng.uniform(-1.0, 1.0, n)
            try:
                vals, vecs = eigsh(
                    M, k=c + 1, sigma=0.0, tol=self.tol, maxiter=self.max_iter, v0=v0
                )
            except RuntimeError:  # an exactly singular M: fall back to the dense solver
                vals = vecs = None
        if vals is None:
            vals, vecs = scipy.linalg.eigh(M.toarray(), subset_by_index=[0, c], check_finite=False)
        order = np.argsort(vals)
        vals = vals[order]
        vecs = vecs[:, order]
        self.embedding_ = np.ascontiguousarray(vecs[:, 1 : c + 1])
        self.reconstruction_error_ = float(np.sum(vals[1 : c + 1]))
        self.X_fit_ = X
        self.n_features_in_ = X.shape[1]

    def transform(self, X: Any) -> Any:
        """Embed new rows: each is reconstructed from its n_neighbors nearest training rows,
        and the same weights combine their embeddings.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        X = check_fitted_input(self, X, "embedding_")
        nbrs, _ = nearest_neighbors(self.X_fit_, self.n_neighbors, X)
        W = _barycenter_weights(self.X_fit_, X, nbrs, self.reg)
        return np.einsum("mk,mkc->mc", W, self.embedding_[nbrs])


class TSNE(BaseEstimator):
    """t-distributed stochastic neighbour embedding (van der Maaten & Hinton, 2008).

    Similarities p_ij of the input (Gaussian, each point's bandwidth calibrated by binary
    search to the given perplexity, then symmetrised) are matched by similarities q_ij of the
    embedding under a Student t kernel, minimising KL(P || Q) by gradient descent with
    momentum and per-coordinate gains. The first 250 iterations multiply P by
    ``early_exaggeration`` (momentum 0.5), the rest use momentum 0.8.

    Parameters
    ----------
    n_components : int, default 2
        Dimension of the embedding (at most 3 for "barnes_hut").
    perplexity : float, default 30.0
        Effective number of neighbours; must be below n_samples.
    early_exaggeration : float, default 12.0
    learning_rate : float or "auto", default "auto"
        "auto" is max(n_samples / early_exaggeration / 4, 50) (Belkina et al., 2019).
    max_iter : int, default 1000
        Iterations in all (the first 250, or all when fewer, are exaggerated).
    n_iter_without_progress : int, default 300
        Stop when the error (checked every 50 iterations) has not improved for this long.
    min_grad_norm : float, default 1e-7
        Stop when the gradient norm falls to this.
    metric : {"euclidean", "precomputed"}, default "euclidean"
        "euclidean" works on squared Euclidean distances; "precomputed" takes a square
        matrix of distances as X (used as they are).
    init : {"pca", "random"} or ndarray of shape (n_samples, n_components), default "pca"
        "pca": the leading principal components scaled to a standard deviation of 1e-4 in
        the first (random when the data has no variance); "random": N(0, 1e-8) entries.
    method : {"barnes_hut", "exact"}, default "barnes_hut"
        "barnes_hut" (van der Maaten, 2014): P over the 3 * perplexity nearest neighbours,
        repulsion through a space-partitioning tree, O(n log n) per iteration; "exact":
        all pairs, O(n^2).
    angle : float, default 0.5
        Barnes-Hut accuracy: a cell of width w at distance r is summarised when w / r <
        angle.
    random_state : None, int or numpy.random.Generator

    Attributes
    ----------
    embedding_ : ndarray of shape (n_samples, n_components)
    kl_divergence_ : float
        KL(P || Q) at the last iteration (Barnes-Hut: with the approximate normaliser).
    n_iter_ : int
        Iterations run.
    learning_rate_ : float
    n_features_in_ : int

    Raises
    ------
    ValueError
        In ``fit`` when perplexity >= n_samples, for n_components > 3 with "barnes_hut",
        invalid parameters or bad input.

    Notes
    -----
    Constant or duplicated rows are allowed: duplicates share a leaf of the tree, and the
    embedding stays finite.
    """

    _EXPLORATION_ITER = 250

    def __init__(
        self,
        n_components: int = 2,
        *,
        perplexity: float = 30.0,
        early_exaggeration: float = 12.0,
        learning_rate: Any = "auto",
        max_iter: int = 1000,
        n_iter_without_progress: int = 300,
        min_grad_norm: float = 1e-7,
        metric: str = "euclidean",
        init: Any = "pca",
        method: str = "barnes_hut",
        angle: float = 0.5,
        random_state: Any = None,
    ) -> None:
        self.n_components = n_components
        self.perplexity = perplexity
        self.early_exaggeration = early_exaggeration
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.n_iter_without_progress = n_iter_without_progress
        self.min_grad_norm = min_grad_norm
        self.metric = metric
        self.init = init
        self.method = method
        self.angle = angle
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> TSNE:
        """Compute the embedding of ``X``; returns self."""
        self.fit_transform(X)
        return self

    def _validate(self) -> None:
        check_scalar(self.n_components, "n_components", numbers.Integral, min_val=1)
        check_scalar(self.perplexity, "perplexity", numbers.Real, min_val=0, include_min=False)
        check_scalar(self.early_exaggeration, "early_exaggeration", numbers.Real, min_val=1)
        if not (isinstance(self.learning_rate, str) and self.learning_rate == "auto"):
            check_scalar(
                self.learning_rate, "learning_rate", numbers.Real, min_val=0, include_min=False
            )
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.n_iter_without_progress, "n_iter_without_progress", numbers.Integral)
        check_scalar(self.min_grad_norm, "min_grad_norm", numbers.Real, min_val=0)
        check_option(self.metric, "metric", ("euclidean", "precomputed"))
        check_option(self.method, "method", ("barnes_hut", "exact"))
        check_scalar(self.angle, "angle", numbers.Real, min_val=0, max_val=1)
        if isinstance(self.init, str):
            check_option(self.init, "init", ("pca", "random"))
            if self.init == "pca" and self.metric == "precomputed":
                raise ValueError("init='pca' cannot be used with metric='precomputed'")
        if self.method == "barnes_hut" and self.n_components > 3:
            raise ValueError(
                f"n_components={self.n_components}: method='barnes_hut' needs n_components <= 3; "
                "use method='exact'"
            )

    def _joint_probabilities(self, X: Any, n: int) -> Any:
        perplexity = float(self.perplexity)
        if self.method == "exact":
            if self.metric == "precomputed":
                D = X.copy()
            else:
                sq = np.einsum("ij,ij->i", X, X)
                D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (X @ X.T), 0.0)
            mask = ~np.eye(n, dtype=bool)
            cond = np.zeros((n, n))
            cond[mask] = _bhtsne.binary_search_perplexity(
                np.ascontiguousarray(D[mask].reshape(n, n - 1)), perplexity
            ).ravel()
            P = cond + cond.T
            P /= max(P.sum(), np.finfo(np.float64).eps)
            return np.maximum(P, np.finfo(np.float64).eps)
        k = min(n - 1, int(3.0 * perplexity + 1))
        if self.metric == "precomputed":
            D = X.copy()
            np.fill_diagonal(D, np.inf)
            idx = np.argsort(D, axis=1, kind="stable")[:, :k]
            sq = np.take_along_axis(D, idx, axis=1)
        else:
            idx, sq = nearest_neighbors(X, k)
        cond = _bhtsne.binary_search_perplexity(np.ascontiguousarray(sq), perplexity)
        Pc = csr_matrix((cond.ravel(), idx.ravel(), np.arange(0, n * k + 1, k)), shape=(n, n))
        P = (Pc + Pc.T).tocsr()
        P.sum_duplicates()
        P.sort_indices()
        P.data /= max(P.data.sum(), np.finfo(np.float64).eps)
        return P

    def _initial_embedding(self, X: Any, n: int, rng: np.random.Generator) -> Any:
        c = int(self.n_components)
        if not isinstance(self.init, str):
            Y = check_array(self.init, name="init")
            if Y.shape != (n, c):
                raise ValueError(
                    f"init: expected an array of shape (n_samples, n_components) = {(n, c)}, "
                    f"got {Y.shape}"
                )
            return Y.copy()
        if self.init == "pca" and min(X.shape) >= c:
            from netchain.ml.decomposition import PCA

            Y = PCA(c, random_state=rng).fit_transform(X)
            sd = float(np.std(Y[:, 0]))
            if sd > 0 and np.isfinite(sd):
                return Y / sd * 1e-4
        return 1e-4 * rng.standard_normal((n, c))

    def fit_transform(self, X: Any, y: Any = None) -> Any:
        """Compute and return the embedding.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) of
            distances with ``metric="precomputed"``
        y : ignored

        Returns
        -------
        ndarray of shape (n_samples, n_components)
        """
        self._validate()
        X = check_array(X, ensure_min_samples=2)
        n = X.shape[0]
        if self.metric == "precomputed":
            if X.shape[0] != X.shape[1]:
                raise ValueError(f"X: metric='precomputed' needs a square matrix, got {X.shape}")
            if (X < 0).any():
                raise ValueError("X: precomputed distances must be non-negative")
        if self.perplexity >= n:
            raise ValueError(f"perplexity={self.perplexity} must be less than n_samples={n}")
        rng = check_random_state(self.random_state)
        P = self._joint_probabilities(X, n)
        Y = np.ascontiguousarray(self._initial_embedding(X, n, rng), dtype=np.float64)

        if isinstance(self.learning_rate, str):
            lr = max(n / float(self.early_exaggeration) / 4.0, 50.0)
        else:
            lr = float(self.learning_rate)
        dof = float(max(int(self.n_components) - 1, 1))
        update = np.zeros_like(Y)
        gains = np.ones_like(Y)
        if self.method == "barnes_hut":
            upper = triu(P, k=1, format="csr")
            upper.sort_indices()
        explore = min(self._EXPLORATION_ITER, int(self.max_iter))
        stages = [(float(self.early_exaggeration), 0.5, 0, explore)]
        if self.max_iter > explore:
            stages.append((1.0, 0.8, explore, int(self.max_iter)))
        error = np.nan
        it = 0
        for exaggeration, momentum, start, stop in stages:
            best_error, best_iter = np.inf, start
            if self.method == "exact":
                it, error, best_error, best_iter = _bhtsne.optimize_exact(
                    Y,
                    P,
                    exaggeration,
                    momentum,
                    lr,
                    start,
                    stop,
                    update,
                    gains,
                    dof,
                    0.01,
                    float(self.min_grad_norm),
                    int(self.n_iter_without_progress),
                    best_error,
                    best_iter,
                )
            else:
                it, error, best_error, best_iter = _bhtsne.optimize_barnes_hut(
                    Y,
                    upper.indptr.astype(np.int64),
                    upper.indices.astype(np.int64),
                    upper.data,
                    exaggeration,
                    momentum,
                    lr,
                    start,
                    stop,
                    update,
                    gains,
                    float(self.angle),
                    dof,
                    0.01,
                    float(self.min_grad_norm),
                    int(self.n_iter_without_progress),
                    best_error,
                    best_iter,
                )
        if not np.isfinite(Y).all():  # pragma: no cover - guarded against; kept as a last check
            warnings.warn(
                "t-SNE diverged: the embedding holds non-finite values",
                RuntimeWarning,
                stacklevel=2,
            )
        self.embedding_ = Y
        self.kl_divergence_ = float(error)
        self.n_iter_ = int(it) + 1
        self.learning_rate_ = lr
        self.n_features_in_ = X.shape[1]
        return Y
