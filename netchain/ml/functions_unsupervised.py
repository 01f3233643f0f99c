"""The Wolfram Language's high-level functions for unsupervised learning.

``FindClusters``, ``ClusterClassify``, ``DimensionReduce``, ``FindAnomalies`` and
``FindFrequentItemsets`` pick an estimator by ``method`` and return plain results. A method
takes options as a pair ``(name, {option: value})``, like the Wolfram Language's
``Method -> {"DBSCAN", "NeighborhoodRadius" -> 0.3}``; the options are the estimator's
parameters (``method=("DBSCAN", {"eps": 0.3})``).
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from netchain.ml.anomaly import IsolationForest, OneClassSVM
from netchain.ml.association import Apriori, Eclat
from netchain.ml.base import check_array, check_random_state, euclidean_distances
from netchain.ml.cluster import DBSCAN, AgglomerativeClustering, KMeans, _cut_tree
from netchain.ml.decomposition import PCA, KernelPCA
from netchain.ml.manifold import TSNE, LocallyLinearEmbedding, nearest_neighbors

__all__ = [
    "ClusterClassifier",
    "ClusterClassify",
    "DimensionReduce",
    "FindAnomalies",
    "FindClusters",
    "FindFrequentItemsets",
]

_CLUSTER_METHODS = ("KMeans", "DBSCAN", "Agglomerate")
_REDUCE_METHODS = ("PrincipalComponentsAnalysis", "KernelPCA", "LLE", "TSNE", "Autoencoder")
_ANOMALY_METHODS = ("IsolationForest", "OneClassSVM")
_ITEMSET_METHODS = {"Apriori": Apriori, "Eclat": Eclat}
_MAX_AUTO_CLUSTERS = 10
_SILHOUETTE_SAMPLE = 1000


def _split_method(method: Any, allowed: tuple) -> tuple[str, dict]:
    if isinstance(method, tuple | list) and len(method) == 2 and isinstance(method[1], dict):
        name, options = method[0], dict(method[1])
    else:
        name, options = method, {}
    if not isinstance(name, str) or name not in allowed:
        raise ValueError(
            f"method must be one of {list(allowed)} (or (name, options)), got {method!r}"
        )
    return name, options


def _as_matrix(data: Any, name: str = "data") -> tuple[Any, Any, bool]:
    """Rows to cluster, the keys of a dict (or None), and whether the data were scalars."""
    keys = None
    if isinstance(data, dict):
        keys = list(data.keys())
        data = [data[k] for k in keys]
    arr = np.asarray(data) if not hasattr(data, "toarray") else data
    scalar = getattr(arr, "ndim", 2) == 1
    X = check_array(arr.reshape(-1, 1) if scalar else arr, name=name)
    return X, keys, scalar


def _check_n(n: Any, n_samples: int) -> int | None:
    if n is None:
        return None
    n = int(n) if isinstance(n, numbers.Integral) and not isinstance(n, bool) else n
    if not isinstance(n, int) or not 1 <= n <= n_samples:
        raise ValueError(
            f"n must be an int between 1 and the number of examples ({n_samples}), got {n!r}"
        )
    return n


def silhouette_score(X: Any, labels: Any) -> float:
    """Mean silhouette (b - a) / max(a, b) of the rows (Rousseeuw, 1987); 0 for singletons.

    a is the mean distance to the row's own cluster, b the smallest mean distance to another
    cluster.
    """
    labels = np.asarray(labels)
    uniq, lab = np.unique(labels, return_inverse=True)
    k = uniq.size
    if k < 2:
        return 0.0
    D = euclidean_distances(X)
    onehot = np.zeros((len(X), k))
    onehot[np.arange(len(X)), lab] = 1.0
    sums = D @ onehot
    counts = onehot.sum(axis=0)
    own = counts[lab]
    a = sums[np.arange(len(X)), lab] / np.maximum(own - 1, 1)
    mean_other = sums / counts[None, :]
    mean_other[np.arange(len(X)), lab] = np.inf
    b = mean_other.min(axis=1)
    s = np.where(own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(s.mean())


def _eps_candidates(X: Any, min_samples: int) -> Any:
    """DBSCAN radii to try: quantiles of the distance of each example to its
    (min_samples - 1)-th nearest neighbour (the k-distance of Ester et al., 1996, Sec. 4.2)."""
    k = min(max(min_samples - 1, 1), len(X) - 1)
    _, sq = nearest_neighbors(X, k)
    kd = np.sqrt(sq[:, -1])
    eps = np.unique(np.quantile(kd, [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0]))
    eps = eps[eps > 0]
    return eps if eps.size else np.array([1.0])


def _noise_apart(labels: Any) -> Any:
    """DBSCAN labels with each noise point (-1) in a cluster of its own."""
    labels = labels.copy()
    noise = labels < 0
    labels[noise] = labels.max(initial=-1) + 1 + np.arange(int(noise.sum()))
    return labels


def _first_appearance(labels: Any) -> Any:
    """Relabel 0, 1, ... in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse]


def _cluster(X: Any, n: int | None, method: Any, random_seed: Any) -> tuple[Any, Any]:
    """Fit the clustering; returns (labels in order of first appearance, fitted estimator)."""
    name, options = _split_method(method, _CLUSTER_METHODS)
    n = _check_n(n, X.shape[0])
    rng = check_random_state(random_seed)
    if name == "DBSCAN":
        if n is not None:
            raise ValueError("method='DBSCAN' finds the number of clusters itself; leave n as None")
        options.setdefault("min_samples", min(5, X.shape[0]))
        if "eps" in options:
            candidates = [DBSCAN(**options).fit(X)]
        else:
            candidates = [
                DBSCAN(eps=float(e), **options).fit(X)
                for e in _eps_candidates(X, options["min_samples"])
            ]
        return _best_by_silhouette(X, [(_noise_apart(e.labels_), e) for e in candidates], rng)
    if name == "KMeans":
        options.setdefault("n_init", 10)
        if n is not None:
            est = KMeans(n, random_state=rng, **options).fit(X)
            return _first_appearance(est.labels_), est
        candidates = []
        for k in range(2, min(_MAX_AUTO_CLUSTERS, X.shape[0] - 1) + 1):
            est = KMeans(k, random_state=rng, **options).fit(X)
            candidates.append(est)
        return _best_by_silhouette(X, [(e.labels_, e) for e in candidates], rng)
    # Agglomerate
    if n is not None:
        est = AgglomerativeClustering(n, **options).fit(X)
        return _first_appearance(est.labels_), est
    est = AgglomerativeClustering(1, **options).fit(X)
    cuts = [
        (_cut_tree(est.children_, X.shape[0], X.shape[0] - k), est)
        for k in range(2, min(_MAX_AUTO_CLUSTERS, X.shape[0] - 1) + 1)
    ]
    return _best_by_silhouette(X, cuts, rng)


def _best_by_silhouette(X: Any, candidates: list, rng: np.random.Generator) -> tuple[Any, Any]:
    if not candidates:  # two or fewer examples: one cluster
        return np.zeros(X.shape[0], dtype=np.int64), None
    if len(candidates) == 1:
        return _first_appearance(candidates[0][0]), candidates[0][1]
    rows = np.arange(X.shape[0])
    if X.shape[0] > _SILHOUETTE_SAMPLE:
        rows = np.sort(rng.choice(X.shape[0], _SILHOUETTE_SAMPLE, replace=False))
    scores = [silhouette_score(X[rows], labels[rows]) for labels, _ in candidates]
    labels, est = candidates[int(np.argmax(scores))]
    return _first_appearance(labels), est


def FindClusters(
    data: Any, n: int | None = None, *, method: Any = "KMeans", random_seed: Any = 1234
) -> list:
    """Partition data into clusters of similar elements.

    Parameters
    ----------
    data : array-like of shape (n_examples, n_features) or (n_examples,), or dict
        Examples (rows, or numbers); a dict maps names to examples and the clusters hold
        the names.
    n : int or None, default None
        Number of clusters; None chooses it: "KMeans" and "Agglomerate" take the number from
        2 to 10 of best mean silhouette, "DBSCAN" finds it from density.
    method : "KMeans", "DBSCAN" or "Agglomerate", or (name, options), default "KMeans"
        :class:`~netchain.ml.cluster.KMeans` (10 seedings), :class:`~netchain.ml.cluster.DBSCAN`
        (unless ``eps`` is given, the radius of best mean silhouette among quantiles of the
        distances to the 4th nearest neighbour; each noise point becomes a cluster of its
        own), or Ward's
        :class:`~netchain.ml.cluster.AgglomerativeClustering`.
    random_seed : int or numpy.random.Generator, default 1234

    Returns
    -------
    list
        The clusters, in order of their first element in ``data``; each is an ndarray of the
        rows (1-D for numbers) or, for a dict, a dict of its names and examples, in the
        original order. Every example is in exactly one cluster.

    Raises
    ------
    ValueError
        For an unknown method, n outside 1..n_examples, n with "DBSCAN", or bad data.
    """
    X, keys, scalar = _as_matrix(data)
    labels, _ = _cluster(X, n, method, random_seed)
    out = []
    for c in range(int(labels.max()) + 1):
        members = np.flatnonzero(labels == c)
        if keys is not None:
            out.append({keys[i]: data[keys[i]] for i in members})
        else:
            out.append(X[members, 0] if scalar else X[members])
    return out


class ClusterClassifier:
    """A function that assigns new examples to the clusters found by :func:`ClusterClassify`.

    Calling it on one example gives its cluster index (an int); on several (a 2-D array, or
    a 1-D array when the data were numbers), an int64 array. Clusters are numbered as
    :func:`FindClusters` orders them.

    Attributes
    ----------
    method : str
    n_clusters : int
    estimator : the fitted estimator
    """

    def __init__(self, method: str, estimator: Any, X: Any, labels: Any, scalar: bool) -> None:
        self.method = method
        self.estimator = estimator
        self.n_clusters = int(labels.max()) + 1
        self._X = X
        self._labels = labels
        self._scalar = scalar
        if method == "KMeans":
            # fitted centre -> cluster number in order of first appearance
            self._centre_to_cluster = np.full(estimator.cluster_centers_.shape[0], -1, np.int64)
            self._centre_to_cluster[estimator.labels_] = labels

    def __call__(self, x: Any) -> Any:
        arr = np.asarray(x, dtype=np.float64)
        single = arr.ndim == 0 or (arr.ndim == 1 and not self._scalar)
        Z = arr.reshape(-1, 1) if self._scalar else arr.reshape(1, -1) if single else arr
        Z = check_array(Z, name="x")
        if Z.shape[1] != self._X.shape[1]:
            raise ValueError(
                f"x has {Z.shape[1]} features, the clusters were found with {self._X.shape[1]}"
            )
        if self.method == "KMeans":
            out = self._centre_to_cluster[self.estimator.predict(Z)]
        else:  # the cluster of the nearest example
            idx, _ = nearest_neighbors(self._X, 1, Z)
            out = self._labels[idx[:, 0]]
        return int(out[0]) if single else out

    def __repr__(self) -> str:
        return f"ClusterClassifier(method={self.method!r}, n_clusters={self.n_clusters})"


def ClusterClassify(
    data: Any, n: int | None = None, *, method: Any = "KMeans", random_seed: Any = 1234
) -> ClusterClassifier:
    """Find clusters in ``data`` (as :func:`FindClusters`) and return a function that assigns
    new examples to them.

    New examples go to the nearest centre ("KMeans") or to the cluster of the nearest
    training example ("DBSCAN", "Agglomerate").

    Parameters
    ----------
    data, n, method, random_seed
        As for :func:`FindClusters` (a dict's names are not used).

    Returns
    -------
    ClusterClassifier
    """
    X, _, scalar = _as_matrix(data)
    labels, est = _cluster(X, n, method, random_seed)
    name, _ = _split_method(method, _CLUSTER_METHODS)
    if est is None or (name == "KMeans" and est.cluster_centers_.shape[0] != labels.max() + 1):
        name = "nearest"
    return ClusterClassifier(name, est, X, labels, scalar)


def DimensionReduce(
    data: Any,
    n: int | None = None,
    *,
    method: Any = "PrincipalComponentsAnalysis",
    random_seed: Any = 1234,
) -> Any:
    """Project examples to ``n`` dimensions.

    Parameters
    ----------
    data : array-like of shape (n_examples, n_features)
    n : int or None, default None
        Target dimension; None is 2.
    method : str or (name, options), default "PrincipalComponentsAnalysis"
        "PrincipalComponentsAnalysis" (:class:`~netchain.ml.decomposition.PCA`),
        "KernelPCA" (RBF kernel, ``gamma="scale"``), "LLE"
        (:class:`~netchain.ml.manifold.LocallyLinearEmbedding` with 10 neighbours, fewer on
        small data; n at most the number of features), "TSNE"
        (:class:`~netchain.ml.manifold.TSNE`, perplexity 30 or less on small data; n > 3
        needs ``("TSNE", {"method": "exact"})``) or "Autoencoder" (the codes of a dense
        autoencoder with an n-unit bottleneck and one hidden layer of 128 units, trained by
        NetTrain on the standardised features: :func:`netchain.models.autoencoder_embedding`,
        whose arguments are its options). Options are the estimator's parameters, given as
        ``(name, {option: value})``.
    random_seed : int or numpy.random.Generator, default 1234

    Returns
    -------
    ndarray of shape (n_examples, n)

    Raises
    ------
    ValueError
        For an unknown method, n below 1 or above what the method allows, or bad data.
    """
    X = check_array(data, name="data")
    name, options = _split_method(method, _REDUCE_METHODS)
    n = 2 if n is None else n
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    rng = check_random_state(random_seed)
    m = X.shape[0]
    if name == "PrincipalComponentsAnalysis":
        est = PCA(n, random_state=rng, **options)
    elif name == "KernelPCA":
        options.setdefault("kernel", "rbf")
        options.setdefault("gamma", "scale")
        est = KernelPCA(n, random_state=rng, **options)
    elif name == "LLE":
        if n > X.shape[1]:
            raise ValueError(
                f"n must be at most the number of features of data ({X.shape[1]}) for "
                f"method='LLE', got n={n} (data of shape {X.shape})"
            )
        options.setdefault("n_neighbors", max(1, min(10, m - 1)))
        est = LocallyLinearEmbedding(n_components=n, random_state=rng, **options)
    elif name == "Autoencoder":
        from netchain.models import autoencoder_embedding  # the nets load only when asked

        return autoencoder_embedding(X, n, random_seed=rng, **options)
    else:
        if n > 3 and options.get("method", "barnes_hut") == "barnes_hut":
            raise ValueError(
                f"n={n}: TSNE with n_components > 3 needs TSNE's method='exact' (its default "
                "'barnes_hut' embeds in at most 3 dimensions); pass it as an option: "
                "method=('TSNE', {'method': 'exact'})"
            )
        options.setdefault("perplexity", max(1.0, min(30.0, (m - 1) / 3.0)))
        est = TSNE(n, random_state=rng, **options)
    return est.fit_transform(X)


def FindAnomalies(
    data: Any,
    *,
    method: Any = "IsolationForest",
    random_seed: Any = 1234,
    positions: bool = False,
) -> Any:
    """The examples of ``data`` that are anomalous with respect to the rest.

    Parameters
    ----------
    data : array-like of shape (n_examples, n_features) or (n_examples,)
    method : str or (name, options), default "IsolationForest"
        "IsolationForest" (:class:`~netchain.ml.anomaly.IsolationForest`: anomaly score above
        0.5 unless ``contamination`` is given) or "OneClassSVM"
        (:class:`~netchain.ml.anomaly.OneClassSVM`, RBF kernel, ``nu=0.05`` unless given:
        the examples outside the estimated support).
    random_seed : int or numpy.random.Generator, default 1234
        Seeds the isolation forest (the one-class SVM is deterministic).
    positions : bool, default False
        Return the indices of the anomalies instead of the anomalies.

    Returns
    -------
    ndarray
        The anomalous rows (values for 1-D data), in their original order, or their indices.

    Raises
    ------
    ValueError
        For an unknown method or bad data.
    """
    X, _, scalar = _as_matrix(data)
    name, options = _split_method(method, _ANOMALY_METHODS)
    if name == "IsolationForest":
        est = IsolationForest(random_state=check_random_state(random_seed), **options)
    else:
        options.setdefault("nu", 0.05)
        est = OneClassSVM(**options)
    idx = np.flatnonzero(est.fit(X).predict(X) == -1)
    if positions:
        return idx
    return X[idx, 0] if scalar else X[idx]


def FindFrequentItemsets(
    transactions: Any,
    min_support: float,
    *,
    method: str = "Apriori",
    max_length: int | None = None,
) -> dict:
    """Itemsets that occur in at least a ``min_support`` share of the transactions.

    Parameters
    ----------
    transactions : list of transactions (iterables of hashable items) or a one-hot matrix
        (NumPy array or DataFrame)
    min_support : float in (0, 1]
    method : {"Apriori", "Eclat"}, default "Apriori"
    max_length : int or None

    Returns
    -------
    dict of frozenset -> float
        Each frequent itemset and its support, by length then item order (the same for both
        methods).

    Raises
    ------
    ValueError
        For an unknown method or min_support outside (0, 1].
    """
    if not isinstance(method, str) or method not in _ITEMSET_METHODS:
        raise ValueError(f"method must be one of {list(_ITEMSET_METHODS)}, got {method!r}")
    miner = _ITEMSET_METHODS[method](min_support, max_length=max_length)
    return miner.fit(transactions).frequent_itemsets_
