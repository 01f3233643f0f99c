"""Clustering: k-means (Lloyd and Elkan), DBSCAN and agglomerative (hierarchical) clustering.

References
----------
- Lloyd, S. (1982). "Least squares quantization in PCM". IEEE Trans. Information Theory 28(2).
- Arthur, D. & Vassilvitskii, S. (2007). "k-means++: the advantages of careful seeding". SODA.
- Elkan, C. (2003). "Using the triangle inequality to accelerate k-means". ICML.
- Ester, M., Kriegel, H.-P., Sander, J. & Xu, X. (1996). "A density-based algorithm for
  discovering clusters in large spatial databases with noise". KDD.
- Muellner, D. (2011). "Modern hierarchical, agglomerative clustering algorithms".
  arXiv:1109.2378 (nearest-neighbour chain, minimum spanning tree, Lance-Williams updates).
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np
from numba import njit
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from scipy.spatial.distance import pdist

from netchain.ml.base import (
    BaseEstimator,
    ClusterMixin,
    ConvergenceWarning,
    TransformerMixin,
    blas_threads,
    check_array,
    check_fitted_input,
    check_option,
    check_random_state,
    check_scalar,
)

__all__ = ["AgglomerativeClustering", "DBSCAN", "KMeans"]

# rows of X handled per block when computing sample-to-centre distances (bounds memory)
_BLOCK_ELEMENTS = 1 << 22


# =========================================================================== k-means


@njit(cache=True)
def _assign_block(P, x_sq, c_sq, X, labels, mind, sums, counts, offset):
    """Nearest centre of each row of a block from P = X_block @ C.T; accumulate the sums.

    The squared distance is |x|^2 - 2 x.c + |c|^2, clipped at 0. Returns the block's inertia.
    """
    nb, k = P.shape
    d = X.shape[1]
    inertia = 0.0
    for r in range(nb):
        i = offset + r
        best = c_sq[0] - 2.0 * P[r, 0]
        bj = 0
        for j in range(1, k):
            v = c_sq[j] - 2.0 * P[r, j]
            if v < best:
                best = v
                bj = j
        dist = best + x_sq[i]
        if dist < 0.0:
            dist = 0.0
        labels[i] = bj
        mind[i] = dist
        inertia += dist
        counts[bj] += 1
        for f in range(d):
            sums[bj, f] += X[i, f]
    return inertia


def _assign(X, x_sq, centers, *, accumulate=True):
    """Labels, squared distances to the nearest centre, inertia, and per-cluster sums/counts.

    Distances go through one matrix product per block of rows.
    """
    n, d = X.shape
    k = centers.shape[0]
    c_sq = np.einsum("ij,ij->i", centers, centers)
    labels = np.empty(n, dtype=np.int64)
    mind = np.empty(n, dtype=np.float64)
    sums = np.zeros((k, d), dtype=np.float64)
    counts = np.zeros(k, dtype=np.int64)
    inertia = 0.0
    block = max(256, _BLOCK_ELEMENTS // max(k, 1))
    for start in range(0, n, block):
        stop = min(n, start + block)
        P = X[start:stop] @ centers.T
        inertia += _assign_block(P, x_sq, c_sq, X, labels, mind, sums, counts, start)
    return labels, mind, inertia, sums, counts


def _new_centers(X, labels, mind, sums, counts, old_centers):
    """Cluster means; an empty cluster takes the point farthest from its own centre."""
    k = sums.shape[0]
    sums = sums.copy()
    counts = counts.copy()
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        order = np.argsort(-mind, kind="stable")
        pos = 0
        for e in empty:
            while pos < order.size and counts[labels[order[pos]]] <= 1:
                pos += 1
            if pos == order.size:  # every populated cluster is a singleton: keep the old centre
                sums[e] = old_centers[e]
                counts[e] = 1
                continue
            i = order[pos]
            pos += 1
            sums[labels[i]] -= X[i]
            counts[labels[i]] -= 1
            sums[e] = X[i]
            counts[e] = 1
    return sums / counts[:, None].astype(np.float64), k - empty.size


@njit(cache=True)
def _sqdist_row(X, i, C, j):
    s = 0.0
    for f in range(X.shape[1]):
        t = X[i, f] - C[j, f]
        s += t * t
    return s


@njit(cache=True)
def _elkan_assign(X, centers, cc, s, labels, upper, lower, sums, counts):
    """One assignment pass of Elkan's algorithm; returns the number of changed labels.

    ``upper[i]`` bounds the distance from row i to its centre from above, ``lower[i, j]`` the
    distance to centre j from below; ``cc`` holds the centre-centre distances and
    ``s[j] = min_{j' != j} cc[j, j'] / 2``.
    """
    n, k = lower.shape
    d = X.shape[1]
    changed = 0
    for i in range(n):
        a = labels[i]
        u = upper[i]
        if u > s[a]:
            tight = False
            for j in range(k):
                if j == a or u <= lower[i, j] or u <= 0.5 * cc[a, j]:
                    continue
                if not tight:
                    u = math.sqrt(_sqdist_row(X, i, centers, a))
                    lower[i, a] = u
                    tight = True
                    if u <= lower[i, j] or u <= 0.5 * cc[a, j]:
                        continue
                dj = math.sqrt(_sqdist_row(X, i, centers, j))
                lower[i, j] = dj
                if dj < u:
                    a = j
                    u = dj
            if a != labels[i]:
                changed += 1
                labels[i] = a
            upper[i] = u
        counts[a] += 1
        for f in range(d):
            sums[a, f] += X[i, f]
    return changed


@njit(cache=True)
def _elkan_shift_bounds(labels, upper, lower, p):
    n, k = lower.shape
    for i in range(n):
        for j in range(k):
            v = lower[i, j] - p[j]
            lower[i, j] = v if v > 0.0 else 0.0
        upper[i] += p[labels[i]]


def _center_distances(C):
    G = C @ C.T
    sq = np.diag(G).copy()
    D = sq[:, None] + sq[None, :] - 2.0 * G
    np.maximum(D, 0.0, out=D)
    np.fill_diagonal(D, 0.0)
    return np.sqrt(D)


def _kmeans_plusplus(X, x_sq, k, rng):
    """Greedy k-means++ seeding (Arthur & Vassilvitskii, 2007): each new centre is the best of
    2 + floor(ln k) candidates drawn with probability proportional to D(x)^2.

    Returns the centres, or None when the data holds fewer than k distinct points.
    """
    n = X.shape[0]
    trials = 2 + int(math.log(k))
    centers = np.empty((k, X.shape[1]), dtype=np.float64)
    first = int(rng.integers(n))
    centers[0] = X[first]
    closest = x_sq - 2.0 * (X @ X[first]) + x_sq[first]
    np.maximum(closest, 0.0, out=closest)
    pot = closest.sum()
    for c in range(1, k):
        if not pot > 0.0:
            return None
        cum = np.cumsum(closest)
        cand = np.searchsorted(cum, rng.random(trials) * cum[-1], side="right")
        np.minimum(cand, n - 1, out=cand)
        dc = x_sq[cand][:, None] - 2.0 * (X[cand] @ X.T) + x_sq[None, :]
        np.maximum(dc, 0.0, out=dc)
        np.minimum(dc, closest[None, :], out=dc)
        pots = dc.sum(axis=1)
        best = int(np.argmin(pots))
        pot = pots[best]
        closest = dc[best]
        centers[c] = X[cand[best]]
    return centers


def _distinct_rows(X, k):
    """The distinct rows of X when there are fewer than k of them, else None."""
    head = X[: min(len(X), 4 * k)]
    if len(np.unique(head, axis=0)) >= k:
        return None
    uniq = np.unique(X, axis=0)
    return uniq if len(uniq) < k else None


class KMeans(ClusterMixin, TransformerMixin, BaseEstimator):
    """k-means clustering: k centres minimising the within-cluster sum of squares.

    Parameters
    ----------
    n_clusters : int, default 8
        Number of clusters (centres), at least 1.
    init : {"k-means++", "random"} or ndarray of shape (n_clusters, n_features)
        Seeding: greedy k-means++ (Arthur & Vassilvitskii, 2007), ``n_clusters`` distinct random
        rows, or the given centres.
    n_init : "auto" or int, default "auto"
        Number of seedings; the run of lowest inertia is kept. "auto" is 1 for "k-means++" and
        for an array, 10 for "random".
    max_iter : int, default 300
        Maximum number of iterations of one run.
    tol : float, default 1e-4
        A run stops when the centres moved by at most ``tol`` times the mean variance of the
        features (sum of squared shifts), or when no label changed.
    algorithm : {"lloyd", "elkan"}, default "lloyd"
        Lloyd's iteration (every distance through one matrix product), or Elkan's (2003),
        which skips distances with the triangle inequality.
    random_state : None, int or numpy.random.Generator
        Seeds the initialisation.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
        Fewer rows when the data holds fewer distinct points than ``n_clusters`` (a
        :class:`~netchain.ml.base.ConvergenceWarning` says so); the centres are then the
        distinct points.
    labels_ : ndarray of shape (n_samples,), int64
        Nearest centre of each training row; always equal to ``predict(X)``.
    inertia_ : float
        Sum of squared distances of the rows to their nearest centre.
    n_iter_ : int
        Iterations of the kept run.
    n_features_in_ : int

    Raises
    ------
    ValueError
        In ``fit`` when there are fewer samples than clusters, for invalid parameters, or for
        the bad input named by :func:`~netchain.ml.base.check_array`.

    Notes
    -----
    Empty clusters are re-seeded with the rows farthest from their centres; after the last
    iteration the labels are recomputed from the final centres, so ``labels_`` is exactly
    ``predict(X)``.
    """

    def __init__(
        self,
        n_clusters: int = 8,
        *,
        init: Any = "k-means++",
        n_init: Any = "auto",
        max_iter: int = 300,
        tol: float = 1e-4,
        algorithm: str = "lloyd",
        random_state: Any = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.algorithm = algorithm
        self.random_state = random_state

    def _validate(self, X):
        k = check_scalar(self.n_clusters, "n_clusters", numbers.Integral, min_val=1)
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0)
        check_option(self.algorithm, "algorithm", ("lloyd", "elkan"))
        if isinstance(self.init, str):
            check_option(self.init, "init", ("k-means++", "random"))
            init = self.init
        else:
            init = check_array(self.init, name="init")
            if init.shape != (k, X.shape[1]):
                raise ValueError(
                    f"init: expected an array of shape (n_clusters, n_features) = "
                    f"{(k, X.shape[1])}, got {init.shape}"
                )
        if isinstance(self.n_init, str):
            check_option(self.n_init, "n_init", ("auto",))
            n_init = 10 if isinstance(init, str) and init == "random" else 1
        else:
            n_init = check_scalar(self.n_init, "n_init", numbers.Integral, min_val=1)
            if not isinstance(init, str) and n_init != 1:
                warnings.warn(
                    f"n_init={n_init} with explicit initial centres: one run is made",
                    RuntimeWarning,
                    stacklevel=3,
                )
                n_init = 1
        if X.shape[0] < k:
            raise ValueError(
                f"n_samples={X.shape[0]} should be >= n_clusters={k}: k-means needs at least "
                "as many samples as clusters"
            )
        return k, init, n_init

    def fit(self, X: Any, y: Any = None) -> KMeans:
        """Compute the clustering.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self
        """
        X = check_array(X)
        k, init, n_init = self._validate(X)
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)

        distinct = _distinct_rows(X, k)
        if distinct is not None:
            warnings.warn(
                f"Number of distinct points ({len(distinct)}) is smaller than n_clusters ({k}): "
                "the distinct points are used as the cluster centres",
                ConvergenceWarning,
                stacklevel=2,
            )
            self.cluster_centers_ = distinct
            self.n_iter_ = 0
            self.labels_, self.inertia_ = self._labels_inertia(X)
            return self

        mean = X.mean(axis=0)
        Xc = X - mean
        x_sq = np.einsum("ij,ij->i", Xc, Xc)
        tol = float(self.tol) * float(np.mean(np.var(X, axis=0)))

        with blas_threads(1):  # small products between serial loops: one thread
            best = self._runs(Xc, x_sq, k, init, n_init, tol, mean, rng)
        self.cluster_centers_ = best[1] + mean
        self.n_iter_ = int(best[2])
        self.labels_, self.inertia_ = self._labels_inertia(X)
        return self

    def _runs(self, Xc, x_sq, k, init, n_init, tol, mean, rng):
        """``n_init`` seedings and runs; the (inertia, centres, n_iter) of the best."""
        best = None
        for _ in range(n_init):
            if isinstance(init, str) and init == "k-means++":
                centers = _kmeans_plusplus(Xc, x_sq, k, rng)
            elif isinstance(init, str):
                centers = Xc[rng.choice(Xc.shape[0], size=k, replace=False)]
            else:
                centers = init - mean
            if centers is None:  # cannot happen after the distinct-rows check; kept for safety
                centers = Xc[rng.choice(Xc.shape[0], size=k, replace=False)]
            if self.algorithm == "elkan" and k > 1:
                centers, n_iter = self._run_elkan(Xc, x_sq, centers, tol)
            else:
                centers, n_iter = self._run_lloyd(Xc, x_sq, centers, tol)
            inertia = _assign(Xc, x_sq, centers)[2]
            if best is None or inertia < best[0]:
                best = (inertia, centers, n_iter)
        return best

    def _run_lloyd(self, X, x_sq, centers, tol):
        labels_old = None
        n_iter = 0
        for it in range(self.max_iter):
            n_iter = it + 1
            labels, mind, _, sums, counts = _assign(X, x_sq, centers)
            if labels_old is not None and np.array_equal(labels, labels_old):
                break  # strict convergence: the centres would not move
            new, _ = _new_centers(X, labels, mind, sums, counts, centers)
            shift = float(((new - centers) ** 2).sum())
            centers = new
            labels_old = labels
            if shift <= tol:
                break
        return centers, n_iter

    def _run_elkan(self, X, x_sq, centers, tol):
        n = X.shape[0]
        k = centers.shape[0]
        c_sq = np.einsum("ij,ij->i", centers, centers)
        D = x_sq[:, None] - 2.0 * (X @ centers.T) + c_sq[None, :]
        np.maximum(D, 0.0, out=D)
        lower = np.sqrt(D)
        labels = np.argmin(lower, axis=1).astype(np.int64)
        upper = lower[np.arange(n), labels].copy()
        n_iter = 0
        for it in range(self.max_iter):
            n_iter = it + 1
            cc = _center_distances(centers)
            s = 0.5 * np.min(cc + np.diag(np.full(k, np.inf)), axis=1)
            sums = np.zeros_like(centers)
            counts = np.zeros(k, dtype=np.int64)
            changed = _elkan_assign(X, centers, cc, s, labels, upper, lower, sums, counts)
            if it > 0 and changed == 0:
                break
            new, _ = _new_centers(X, labels, upper**2, sums, counts, centers)
            p = np.sqrt(((new - centers) ** 2).sum(axis=1))
            _elkan_shift_bounds(labels, upper, lower, p)
            centers = new
            if float((p**2).sum()) <= tol:
                break
        return centers, n_iter

    def _labels_inertia(self, X):
        x_sq = np.einsum("ij,ij->i", X, X)
        labels, _, inertia, _, _ = _assign(X, x_sq, self.cluster_centers_)
        return labels, float(inertia)

    def _check_X(self, X):
        return check_fitted_input(self, X, "cluster_centers_")

    def predict(self, X: Any) -> Any:
        """Index of the nearest centre of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples,), int64
        """
        return self._labels_inertia(self._check_X(X))[0]

    def transform(self, X: Any) -> Any:
        """Euclidean distance of each row to each centre, shape (n_samples, n_clusters)."""
        X = self._check_X(X)
        return np.sqrt(
            np.maximum(
                np.einsum("ij,ij->i", X, X)[:, None]
                - 2.0 * (X @ self.cluster_centers_.T)
                + np.einsum("ij,ij->i", self.cluster_centers_, self.cluster_centers_)[None, :],
                0.0,
            )
        )

    def score(self, X: Any, y: Any = None) -> float:
        """Minus the inertia of ``X`` with respect to the fitted centres (higher is better)."""
        return -self._labels_inertia(self._check_X(X))[1]


# =========================================================================== DBSCAN

_MINKOWSKI_P = {"euclidean": 2.0, "manhattan": 1.0, "cityblock": 1.0, "chebyshev": np.inf}
_TREE_MAX_FEATURES = 16  # above this, a k-d tree visits nearly every point: blocks of products


@njit(cache=True)
def _collect_pairs(G, sq, X, s, cs, eps2, tol, out, count):
    """Append to ``out`` the pairs (i, j) = (s + r, cs + c), j > i, of a tile of the Gram
    matrix G = X[s:e] @ X[cs:ce].T whose squared distance sq_i + sq_j - 2 G_rc is at most
    eps2; pairs within ``tol`` of eps2 are decided by the directly computed distance.
    Returns the (possibly grown) buffer and the new count."""
    b, m = G.shape
    d = X.shape[1]
    for r in range(b):
        i = s + r
        si = sq[i]
        c0 = i - cs + 1
        if c0 < 0:
            c0 = 0
        for c in range(c0, m):
            j = cs + c
            v = si + sq[j] - 2.0 * G[r, c]
            if v > eps2 + tol:
                continue
            if v >= eps2 - tol:
                t = 0.0
                for f in range(d):
                    u = X[i, f] - X[j, f]
                    t += u * u
                if t > eps2:
                    continue
            if count == out.shape[0]:
                grown = np.empty((2 * out.shape[0], 2), dtype=np.int64)
                grown[:count] = out[:count]
                out = grown
            out[count, 0] = i
            out[count, 1] = j
            count += 1
    return out, count


_TILE = 512  # rows and columns of one Gram tile of the radius search (2 MiB, cache sized)


def _radius_pairs(X, eps, p):
    """All pairs (i, j), i < j, with distance(X[i], X[j]) <= eps, as an (m, 2) int64 array.

    A :class:`scipy.spatial.cKDTree` for non-Euclidean metrics and up to 16 features; for
    Euclidean distances in more dimensions, cache-sized tiles of the upper triangle through
    one float32 matrix product each (|x|^2 - 2 x.y + |y|^2 on centred data, one BLAS
    thread), with the pairs within rounding of ``eps`` checked again directly.
    """
    n, d = X.shape
    if p != 2.0 or d <= _TREE_MAX_FEATURES:
        return cKDTree(X).query_pairs(eps, p=p, output_type="ndarray").astype(np.int64)
    Xc = X - X.mean(axis=0)
    sq = np.einsum("ij,ij->i", Xc, Xc)
    eps2 = eps * eps
    # the Gram tiles in float32 (half the memory traffic of the scan): rounding the centred
    # rows and the d-term dot products keeps |G32 - G| below (d + 2) u |x||y| (u = 2^-24),
    # so the estimate of a squared distance is off by at most 2 (d + 2) u max|x|^2; every pair
    # whose estimate lies within ``tol`` (ten times that) of eps^2 is decided by its distance
    # computed directly from the rows
    tol = 20 * (d + 2) * 2.0**-24 * (2.0 * float(sq.max()) + eps2)
    Xg = Xc.astype(np.float32)
    out = np.empty((max(16, 4 * n), 2), dtype=np.int64)
    count = 0
    with blas_threads(1):
        for s in range(0, n, _TILE):
            e = min(n, s + _TILE)
            for cs in range(s, n, _TILE):
                G = Xg[s:e] @ Xg[cs : cs + _TILE].T
                out, count = _collect_pairs(G, sq, Xc, s, cs, eps2, tol, out, count)
    return out[:count]


class DBSCAN(ClusterMixin, BaseEstimator):
    """Density-based spatial clustering of applications with noise (Ester et al., 1996).

    A core point has at least ``min_samples`` points (itself included) within distance
    ``eps``; clusters are the connected components of core points that lie within ``eps`` of
    each other, together with the non-core points within ``eps`` of one of their core points;
    every other point is noise, labelled -1.

    Parameters
    ----------
    eps : float, default 0.5
        Neighbourhood radius (inclusive: a point at exactly ``eps`` is a neighbour).
    min_samples : int, default 5
        Neighbours (the point itself included) that make a core point.
    metric : {"euclidean", "manhattan", "chebyshev", "minkowski", "precomputed"}
        Distance; "minkowski" uses ``p``; "precomputed" takes a square distance matrix as X.
    p : float, optional
        Minkowski exponent (>= 1), for ``metric="minkowski"`` (default 2).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), int64
        Cluster of each row, numbered 0, 1, ... in the order of each cluster's first core
        point; -1 for noise.
    core_sample_indices_ : ndarray of shape (n_core,), int64
    components_ : ndarray of shape (n_core, n_features)
        The core samples (empty for ``metric="precomputed"``).
    n_features_in_ : int

    Notes
    -----
    Neighbours come from :class:`scipy.spatial.cKDTree` (for Euclidean distances in more
    than 16 dimensions, where a k-d tree degenerates, from cache-sized tiles of one matrix
    product each). Which points are core and which are noise does not depend on the order
    of the rows. A border point (not core, within ``eps``
    of core points of several clusters) joins the lowest-numbered of those clusters, which
    matches the usual sequential expansion.
    """

    def __init__(
        self,
        eps: float = 0.5,
        *,
        min_samples: int = 5,
        metric: str = "euclidean",
        p: float | None = None,
    ) -> None:
        self.eps = eps
        self.min_samples = min_samples
        self.metric = metric
        self.p = p

    def fit(self, X: Any, y: Any = None) -> DBSCAN:
        """Cluster ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), or (n_samples, n_samples) of distances
            for ``metric="precomputed"``
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For ``eps <= 0``, ``min_samples < 1``, an unknown metric, or bad input.
        """
        eps = check_scalar(self.eps, "eps", numbers.Real, min_val=0, include_min=False)
        min_samples = check_scalar(self.min_samples, "min_samples", numbers.Integral, min_val=1)
        check_option(
            self.metric,
            "metric",
            ("euclidean", "manhattan", "cityblock", "chebyshev", "minkowski", "precomputed"),
        )
        X = check_array(X)
        n = X.shape[0]
        self.n_features_in_ = X.shape[1]
        if self.metric == "precomputed":
            if X.shape[0] != X.shape[1]:
                raise ValueError(
                    f"X: metric='precomputed' needs a square distance matrix, got shape {X.shape}"
                )
            if (X < 0).any():
                raise ValueError("X: a precomputed distance matrix must be non-negative")
            iu, ju = np.nonzero(np.triu(X <= eps, k=1))
            pairs = np.column_stack([iu, ju])
        else:
            if self.metric == "minkowski":
                p = 2.0 if self.p is None else self.p
                check_scalar(p, "p", numbers.Real, min_val=1)
            else:
                p = _MINKOWSKI_P[self.metric]
            pairs = _radius_pairs(X, float(eps), float(p))
        pairs = pairs.astype(np.int64, copy=False)
        counts = 1 + np.bincount(pairs.ravel(), minlength=n)
        core = counts >= min_samples

        labels = np.full(n, -1, dtype=np.int64)
        core_idx = np.flatnonzero(core)
        if core_idx.size:
            both = core[pairs[:, 0]] & core[pairs[:, 1]]
            cp = pairs[both]
            graph = coo_matrix((np.ones(len(cp), dtype=np.int8), (cp[:, 0], cp[:, 1])), (n, n))
            _, comp = connected_components(graph, directed=False)
            # number the clusters in the order of their first core point
            comp_core = comp[core_idx]
            _, first = np.unique(comp_core, return_index=True)
            rank = np.empty(first.size, dtype=np.int64)
            rank[np.argsort(core_idx[first], kind="stable")] = np.arange(first.size)
            lookup = np.full(comp.max() + 1, -1, dtype=np.int64)
            lookup[np.unique(comp_core)] = rank
            labels[core_idx] = lookup[comp_core]
            # border points: the lowest cluster among their core neighbours
            mixed = core[pairs[:, 0]] != core[pairs[:, 1]]
            mp = pairs[mixed]
            if mp.size:
                border = np.where(core[mp[:, 0]], mp[:, 1], mp[:, 0])
                source = np.where(core[mp[:, 0]], mp[:, 0], mp[:, 1])
                best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
                np.minimum.at(best, border, labels[source])
                hit = best != np.iinfo(np.int64).max
                labels[hit] = best[hit]
        self.labels_ = labels
        self.core_sample_indices_ = core_idx
        self.components_ = (
            X[core_idx].copy() if self.metric != "precomputed" else np.empty((0, X.shape[1]))
        )
        return self


# =========================================================================== agglomerative

_LINKAGES = ("ward", "complete", "average", "single")
_LINKAGE_CODE = {"single": 0, "complete": 1, "average": 2, "ward": 3}


@njit(cache=True, inline="always")
def _cidx(n, i, j):
    """Position of the pair (i, j), i != j, in a condensed distance vector."""
    if i > j:
        i, j = j, i
    return n * i - (i * (i + 1)) // 2 + (j - i - 1)


@njit(cache=True, inline="always")
def _lance_williams(code, d_xi, d_yi, d_xy, nx, ny, ni):
    """Distance from cluster i to the union of x and y (Lance & Williams, 1967)."""
    if code == 1:
        return d_xi if d_xi > d_yi else d_yi
    if code == 2:
        return (nx * d_xi + ny * d_yi) / (nx + ny)
    if code == 3:
        t = 1.0 / (nx + ny + ni)
        return math.sqrt(
            (ni + nx) * t * d_xi * d_xi + (ni + ny) * t * d_yi * d_yi - ni * t * d_xy * d_xy
        )
    return d_xi if d_xi < d_yi else d_yi


@njit(cache=True)
def _nn_chain_linkage(D, n, code):
    """Nearest-neighbour chain (Muellner, 2011, Fig. 4) for reducible linkages.

    Follows nearest neighbours from an active cluster until two clusters are each other's
    nearest neighbours, merges them, and updates ``D`` (condensed, overwritten) with the
    Lance-Williams formula. On ties the previous element of the chain wins, then the lowest
    index. Rows are (x, y, distance, size) with x < y the surviving slots; the union lives in
    slot y. The rows come out in merge order, not sorted.
    """
    Z = np.empty((n - 1, 4))
    size = np.ones(n, dtype=np.int64)
    chain = np.empty(n, dtype=np.int64)
    length = 0
    for step in range(n - 1):
        if length == 0:
            for i in range(n):
                if size[i] > 0:
                    chain[0] = i
                    break
            length = 1
        while True:
            x = chain[length - 1]
            if length > 1:
                y = chain[length - 2]
                best = D[_cidx(n, x, y)]
            else:
                y = -1
                best = np.inf
            for i in range(n):
                if size[i] == 0 or i == x:
                    continue
                v = D[_cidx(n, x, i)]
                if v < best:
                    best = v
                    y = i
            if length > 1 and y == chain[length - 2]:
                break
            chain[length] = y
            length += 1
        length -= 2
        if x > y:
            x, y = y, x
        nx = size[x]
        ny = size[y]
        Z[step, 0] = x
        Z[step, 1] = y
        Z[step, 2] = best
        Z[step, 3] = nx + ny
        size[x] = 0
        size[y] = nx + ny
        for i in range(n):
            ni = size[i]
            if ni == 0 or i == y:
                continue
            D[_cidx(n, i, y)] = _lance_williams(
                code, D[_cidx(n, i, x)], D[_cidx(n, i, y)], best, nx, ny, ni
            )
    return Z


@njit(cache=True)
def _mst_linkage(D, n):
    """Single linkage as Prim's minimum spanning tree on the condensed distances.

    Row k joins the point added last (x) and the next point added (y); sizes are filled in
    when the rows are relabelled.
    """
    Z = np.empty((n - 1, 4))
    merged = np.zeros(n, dtype=np.bool_)
    dmin = np.full(n, np.inf)
    x = 0
    for step in range(n - 1):
        best = np.inf
        y = -1
        merged[x] = True
        for i in range(n):
            if merged[i]:
                continue
            v = D[_cidx(n, x, i)]
            if dmin[i] > v:
                dmin[i] = v
            if dmin[i] < best:
                best = dmin[i]
                y = i
        Z[step, 0] = x
        Z[step, 1] = y
        Z[step, 2] = best
        Z[step, 3] = 0.0
        x = y
    return Z


@njit(cache=True)
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True)
def _relabel(Z, n):
    """Rename the slots of sorted merge rows to SciPy's cluster ids: leaves 0..n-1, the
    cluster made by row k is n + k; the smaller id comes first; column 3 gets the sizes."""
    parent = np.arange(2 * n - 1)
    size = np.ones(2 * n - 1, dtype=np.int64)
    for k in range(n - 1):
        a = _find(parent, int(Z[k, 0]))
        b = _find(parent, int(Z[k, 1]))
        if a < b:
            Z[k, 0] = a
            Z[k, 1] = b
        else:
            Z[k, 0] = b
            Z[k, 1] = a
        new = n + k
        parent[a] = new
        parent[b] = new
        size[new] = size[a] + size[b]
        Z[k, 3] = size[new]


@njit(cache=True)
def _cut_tree(children, n, n_merges):
    """Flat labels after the first ``n_merges`` merges, numbered by first appearance."""
    parent = np.arange(2 * n - 1)
    for k in range(n_merges):
        parent[children[k, 0]] = n + k
        parent[children[k, 1]] = n + k
    labels = np.empty(n, dtype=np.int64)
    ids = np.full(2 * n - 1, -1, dtype=np.int64)
    nxt = 0
    for i in range(n):
        r = _find(parent, i)
        if ids[r] < 0:
            ids[r] = nxt
            nxt += 1
        labels[i] = ids[r]
    return labels


def linkage_matrix(X: Any, linkage: str = "ward", metric: str = "euclidean") -> Any:
    """Hierarchical clustering of the rows of ``X`` as a SciPy-compatible linkage matrix.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features), or a square distance matrix with
        ``metric="precomputed"``
    linkage : {"ward", "complete", "average", "single"}
    metric : str, default "euclidean"
        A :func:`scipy.spatial.distance.pdist` metric, or "precomputed"; "ward" needs
        "euclidean".

    Returns
    -------
    Z : ndarray of shape (n_samples - 1, 4), float64
        Row k merges clusters ``Z[k, 0]`` < ``Z[k, 1]`` at distance ``Z[k, 2]`` into cluster
        ``n_samples + k`` of ``Z[k, 3]`` points, as :func:`scipy.cluster.hierarchy.linkage`
        returns it (ties included).

    Raises
    ------
    ValueError
        For an unknown linkage, ward with a non-Euclidean metric, fewer than 2 samples, or a
        precomputed matrix that is not square, symmetric and non-negative.
    """
    check_option(linkage, "linkage", _LINKAGES)
    X = check_array(X, ensure_min_samples=2)
    if linkage == "ward" and metric != "euclidean":
        raise ValueError(f"linkage='ward' needs metric='euclidean', got metric={metric!r}")
    if metric == "precomputed":
        if X.shape[0] != X.shape[1]:
            raise ValueError(f"X: a precomputed distance matrix must be square, got {X.shape}")
        if (X < 0).any() or not np.allclose(X, X.T):
            raise ValueError("X: a precomputed distance matrix must be symmetric, non-negative")
        D = X[np.triu_indices(X.shape[0], k=1)]
    else:
        try:
            D = pdist(X, metric=metric)
        except ValueError as exc:
            raise ValueError(f"metric: {exc}") from None
    if not np.isfinite(D).all():
        raise ValueError("the distances between rows of X must be finite")
    n = X.shape[0]
    D = np.ascontiguousarray(D, dtype=np.float64)
    if linkage == "single":
        Z = _mst_linkage(D, n)
    else:
        Z = _nn_chain_linkage(D, n, _LINKAGE_CODE[linkage])
    Z = Z[np.argsort(Z[:, 2], kind="stable")]
    _relabel(Z, n)
    return Z


class AgglomerativeClustering(ClusterMixin, BaseEstimator):
    """Bottom-up hierarchical clustering: every row starts as a cluster, and the two closest
    clusters merge until ``n_clusters`` remain (or until the closest pair is at least
    ``distance_threshold`` apart).

    Parameters
    ----------
    n_clusters : int or None, default 2
        Number of clusters to cut the tree at; None with ``distance_threshold``.
    metric : str, default "euclidean"
        A :func:`scipy.spatial.distance.pdist` metric or "precomputed"; "ward" needs
        "euclidean".
    linkage : {"ward", "complete", "average", "single"}, default "ward"
        Cluster distance: increase of the within-cluster variance (Ward, 1963), the farthest
        pair, the mean pair, or the closest pair.
    distance_threshold : float or None
        Merges at this distance or above are not made; then ``n_clusters`` must be None.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), int64
        Cluster of each row, numbered by first appearance.
    n_clusters_ : int
    children_ : ndarray of shape (n_samples - 1, 2), int64
        Row k merges nodes ``children_[k]`` into node ``n_samples + k``; nodes below
        ``n_samples`` are rows of X.
    distances_ : ndarray of shape (n_samples - 1,)
        Merge distances (non-decreasing).
    linkage_matrix_ : ndarray of shape (n_samples - 1, 4)
        ``children_``, ``distances_`` and the merged sizes as one SciPy linkage matrix.
    n_leaves_ : int
    n_connected_components_ : int
        Always 1 (no connectivity constraint).
    n_features_in_ : int

    Notes
    -----
    Ward, complete and average linkage use the nearest-neighbour chain algorithm, single
    linkage a minimum spanning tree (Muellner, 2011), each O(n^2) in time on the condensed
    distances (O(n^2) memory); the merges equal :func:`scipy.cluster.hierarchy.linkage` on the
    same data, ties included.
    """

    def __init__(
        self,
        n_clusters: int | None = 2,
        *,
        metric: str = "euclidean",
        linkage: str = "ward",
        distance_threshold: float | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.metric = metric
        self.linkage = linkage
        self.distance_threshold = distance_threshold

    def fit(self, X: Any, y: Any = None) -> AgglomerativeClustering:
        """Build the merge tree of ``X`` and cut it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        ValueError
            When both or neither of ``n_clusters`` and ``distance_threshold`` are given, for
            ``n_clusters`` above n_samples, an unknown linkage, or bad input.
        """
        check_option(self.linkage, "linkage", _LINKAGES)
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ValueError(
                "exactly one of n_clusters and distance_threshold must be None, got "
                f"n_clusters={self.n_clusters!r}, distance_threshold={self.distance_threshold!r}"
            )
        if self.n_clusters is not None:
            check_scalar(self.n_clusters, "n_clusters", numbers.Integral, min_val=1)
        else:
            check_scalar(self.distance_threshold, "distance_threshold", numbers.Real, min_val=0)
        X = check_array(X, ensure_min_samples=2)
        n = X.shape[0]
        if self.n_clusters is not None and self.n_clusters > n:
            raise ValueError(f"n_clusters={self.n_clusters} must be <= n_samples={n}")
        Z = linkage_matrix(X, self.linkage, self.metric)
        self.n_features_in_ = X.shape[1]
        self.linkage_matrix_ = Z
        self.children_ = Z[:, :2].astype(np.int64)
        self.distances_ = Z[:, 2].copy()
        self.n_leaves_ = n
        self.n_connected_components_ = 1
        if self.n_clusters is None:
            k = int(np.count_nonzero(self.distances_ >= self.distance_threshold)) + 1
        else:
            k = int(self.n_clusters)
        self.n_clusters_ = k
        self.labels_ = _cut_tree(self.children_, n, n - k)
        return self
