"""FindClusters, ClusterClassify, DimensionReduce, FindAnomalies, FindFrequentItemsets."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_unsupervised import iris  # noqa: E402

from netchain.ml import (  # noqa: E402
    PCA,
    ClusterClassify,
    DimensionReduce,
    Eclat,
    FindAnomalies,
    FindClusters,
    FindFrequentItemsets,
    IsolationForest,
    KMeans,
    OneClassSVM,
)
from netchain.ml.functions_unsupervised import silhouette_score  # noqa: E402


def three_blobs(seed=0):
    rng = np.random.default_rng(seed)
    return np.vstack(
        [
            rng.normal(0, 0.3, (50, 2)),
            rng.normal(5, 0.3, (40, 2)),
            rng.normal([0, 5], 0.3, (30, 2)),
        ]
    )


@pytest.mark.parametrize("method", ["KMeans", "DBSCAN", "Agglomerate"])
def test_find_clusters_chooses_the_number_and_partitions_the_data(method):
    X = three_blobs()
    clusters = FindClusters(X, method=method)
    assert [len(c) for c in clusters] == [50, 40, 30]
    np.testing.assert_array_equal(np.vstack(clusters), X)  # blobs are stored in order


@pytest.mark.parametrize("method", ["KMeans", "Agglomerate"])
def test_find_clusters_with_n(method):
    X = three_blobs()
    clusters = FindClusters(X, 2, method=method)
    assert len(clusters) == 2
    assert sum(len(c) for c in clusters) == len(X)


def test_find_clusters_numbers_dicts_and_options():
    assert [c.tolist() for c in FindClusters([1.0, 2.0, 10.0, 11.0, 1.5], 2)] == [
        [1.0, 2.0, 1.5],
        [10.0, 11.0],
    ]
    named = FindClusters({"a": [0.0], "b": [0.1], "c": [5.0]}, 2)
    assert named == [{"a": [0.0], "b": [0.1]}, {"c": [5.0]}]
    X = three_blobs()
    # a tiny radius: most points are noise, each in a cluster of its own
    tiny = FindClusters(X, method=("DBSCAN", {"eps": 1e-3}))
    assert len(tiny) == len(X)


def test_find_clusters_kmeans_equals_the_estimator():
    X, _ = iris()
    clusters = FindClusters(X, 3, random_seed=7)
    km = KMeans(3, n_init=10, random_state=7).fit(X)
    sizes = sorted(len(c) for c in clusters)
    assert sizes == sorted(np.bincount(km.labels_).tolist())


def test_find_clusters_errors():
    X = three_blobs()
    with pytest.raises(ValueError, match="method"):
        FindClusters(X, method="Spectral")
    with pytest.raises(ValueError, match="n must be"):
        FindClusters(X, 0)
    with pytest.raises(ValueError, match="DBSCAN"):
        FindClusters(X, 3, method="DBSCAN")


def test_silhouette_equals_sklearn():
    metrics = pytest.importorskip("sklearn.metrics")
    X, y = iris()
    assert silhouette_score(X, y) == pytest.approx(metrics.silhouette_score(X, y), rel=1e-9)


@pytest.mark.parametrize("method", ["KMeans", "DBSCAN", "Agglomerate"])
def test_cluster_classify_agrees_with_find_clusters(method):
    X = three_blobs()
    f = ClusterClassify(X, method=method)
    assert f.n_clusters == 3
    assert f([0.1, -0.1]) == 0
    np.testing.assert_array_equal(f([[5.1, 4.9], [0.2, 5.2]]), [1, 2])
    labels = f(X)
    clusters = FindClusters(X, method=method)
    for c, members in enumerate(clusters):
        assert (f(members) == c).all()
    assert labels.shape == (len(X),)
    with pytest.raises(ValueError, match="features"):
        f([1.0, 2.0, 3.0])


def test_cluster_classify_numbers():
    f = ClusterClassify([1.0, 2.0, 10.0, 11.0], 2)
    assert f(1.2) == 0 and f(12.0) == 1
    np.testing.assert_array_equal(f([0.0, 20.0]), [0, 1])


@pytest.mark.parametrize("method", ["PrincipalComponentsAnalysis", "KernelPCA", "LLE", "TSNE"])
def test_dimension_reduce(method):
    X, _ = iris()
    Z = DimensionReduce(X, 2, method=method)
    assert Z.shape == (150, 2) and np.isfinite(Z).all()
    manifold = pytest.importorskip("sklearn.manifold")
    assert manifold.trustworthiness(X, Z, n_neighbors=5) > 0.85


def test_dimension_reduce_pca_is_pca_and_errors():
    X, _ = iris()
    np.testing.assert_allclose(DimensionReduce(X, 3), PCA(3).fit_transform(X))
    assert DimensionReduce(X).shape == (150, 2)
    with pytest.raises(ValueError, match="method"):
        DimensionReduce(X, 2, method="Sammon")
    with pytest.raises(ValueError, match="n must be"):
        DimensionReduce(X, 0)


def test_dimension_reduce_beyond_what_the_method_allows():
    X, _ = iris()  # 4 features
    with pytest.raises(
        ValueError,
        match=r"n must be at most the number of features of data \(4\) "
        r"for method='LLE', got n=10",
    ):
        DimensionReduce(X, 10, method="LLE")
    # the advice names TSNE's own method option and how DimensionReduce passes it
    with pytest.raises(
        ValueError,
        match=r"TSNE's method='exact'.*method=\('TSNE', "
        r"\{'method': 'exact'\}\)",
    ):
        DimensionReduce(X, 10, method="TSNE")
    with pytest.raises(ValueError, match="TSNE's method='exact'"):
        DimensionReduce(X, 4, method=("TSNE", {"method": "barnes_hut"}))
    # and following it works
    Z = DimensionReduce(X[:30], 4, method=("TSNE", {"method": "exact", "max_iter": 250}))
    assert Z.shape == (30, 4) and np.isfinite(Z).all()


def test_find_anomalies():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((200, 2)), [[9.0, 9.0], [-9.0, 8.0]]])
    found = FindAnomalies(X)
    pos = FindAnomalies(X, positions=True)
    assert {200, 201} <= set(pos.tolist())
    np.testing.assert_array_equal(found, X[pos])
    # the estimator's own rule (anomaly score above 0.5)
    expected = np.flatnonzero(IsolationForest(random_state=1234).fit(X).predict(X) == -1)
    np.testing.assert_array_equal(pos, expected)
    top = FindAnomalies(X, method=("IsolationForest", {"contamination": 0.009}), positions=True)
    assert set(top.tolist()) == {200, 201}
    values = FindAnomalies(np.r_[rng.standard_normal(100), 25.0])
    assert 25.0 in values
    svm_pos = FindAnomalies(X, method="OneClassSVM", positions=True)
    expected = np.flatnonzero(OneClassSVM(nu=0.05).fit(X).predict(X) == -1)
    np.testing.assert_array_equal(svm_pos, expected)
    assert {200, 201} <= set(svm_pos.tolist())
    with pytest.raises(ValueError, match="method"):
        FindAnomalies(X, method="LOF")


def test_find_frequent_itemsets():
    transactions = [["a", "b"], ["a", "c"], ["a", "b", "c"], ["b"]]
    both = [FindFrequentItemsets(transactions, 0.5, method=m) for m in ("Apriori", "Eclat")]
    assert both[0] == both[1] == Eclat(0.5).fit(transactions).frequent_itemsets_
    assert both[0][frozenset({"a", "b"})] == 0.5
    with pytest.raises(ValueError, match="method"):
        FindFrequentItemsets(transactions, 0.5, method="FPGrowth")
    with pytest.raises(ValueError, match="min_support"):
        FindFrequentItemsets(transactions, 0)
