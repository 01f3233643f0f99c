"""KMeans, DBSCAN and AgglomerativeClustering against scikit-learn, SciPy and closed forms."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_unsupervised import digits, iris, standardize, wine  # noqa: E402

from netchain.ml.base import ConvergenceWarning, NotFittedError  # noqa: E402
from netchain.ml.cluster import (  # noqa: E402
    DBSCAN,
    AgglomerativeClustering,
    KMeans,
    linkage_matrix,
)


def ari(a, b):
    metrics = pytest.importorskip("sklearn.metrics")
    return metrics.adjusted_rand_score(a, b)


def blobs(n=300, k=4, d=3, seed=0, spread=0.6):
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-8, 8, size=(k, d))
    y = rng.integers(k, size=n)
    return centres[y] + spread * rng.standard_normal((n, d)), y


# --------------------------------------------------------------------------- k-means


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_kmeans_iris_matches_the_issue_figures(algorithm):
    X, y = iris()
    km = KMeans(3, n_init=10, random_state=0, algorithm=algorithm).fit(X)
    assert km.inertia_ == pytest.approx(78.851441426146, abs=1e-6)
    assert ari(y, km.labels_) == pytest.approx(0.7302382722834697, abs=1e-6)
    np.testing.assert_array_equal(km.labels_, km.predict(X))


def test_kmeans_scaled_wine_ari():
    X, y = wine()
    km = KMeans(3, n_init=10, random_state=1).fit(standardize(X))
    assert ari(y, km.labels_) == pytest.approx(0.8974949815093207, abs=0.03)


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_kmeans_from_given_centres_equals_sklearn(algorithm):
    cluster = pytest.importorskip("sklearn.cluster")
    X, _ = digits()
    init = X[[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]
    ours = KMeans(10, init=init, algorithm=algorithm).fit(X)
    ref = cluster.KMeans(10, init=init, n_init=1, algorithm=algorithm).fit(X)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, atol=1e-8)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-10)


def test_lloyd_and_elkan_agree():
    X, _ = blobs(500, 6, 5, seed=3, spread=2.0)
    a = KMeans(6, random_state=5, algorithm="lloyd").fit(X)
    b = KMeans(6, random_state=5, algorithm="elkan").fit(X)
    np.testing.assert_allclose(a.cluster_centers_, b.cluster_centers_, atol=1e-10)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_kmeans_is_reproducible_and_recovers_blobs():
    X, y = blobs(400, 4, 2, seed=1)
    a = KMeans(4, random_state=7).fit(X)
    b = KMeans(4, random_state=7).fit(X)
    np.testing.assert_array_equal(a.cluster_centers_, b.cluster_centers_)
    assert ari(y, a.labels_) > 0.99
    # inertia is the sum of squared distances to the nearest centre
    d = ((X[:, None, :] - a.cluster_centers_[None]) ** 2).sum(-1)
    assert a.inertia_ == pytest.approx(d.min(axis=1).sum(), rel=1e-10)
    np.testing.assert_allclose(a.transform(X), np.sqrt(d), atol=1e-8)
    assert a.score(X) == pytest.approx(-a.inertia_)


@pytest.mark.parametrize("algorithm", ["lloyd", "elkan"])
def test_empty_cluster_is_relocated_and_labels_match_predict(algorithm):
    X, _ = blobs(200, 3, 2, seed=2)
    init = np.vstack([X[:2], [[1e3, 1e3]]])  # the third centre attracts no point
    km = KMeans(3, init=init, algorithm=algorithm).fit(X)
    assert np.bincount(km.labels_, minlength=3).min() > 0
    np.testing.assert_array_equal(km.labels_, km.predict(X))
    assert np.abs(km.cluster_centers_).max() < 100


def test_fewer_distinct_points_than_clusters_warns_and_uses_them():
    X = np.repeat([[0.0, 0.0], [1.0, 1.0], [5.0, 0.0]], 4, axis=0)
    with pytest.warns(ConvergenceWarning, match="distinct"):
        km = KMeans(5, random_state=0).fit(X)
    assert km.cluster_centers_.shape == (3, 2)
    assert km.inertia_ == 0.0
    np.testing.assert_array_equal(km.labels_, km.predict(X))
    assert len(np.unique(km.labels_)) == 3


def test_kmeans_errors():
    X, _ = blobs(10, 2, 2)
    with pytest.raises(ValueError, match="n_samples=10 should be >= n_clusters=11"):
        KMeans(11).fit(X)
    with pytest.raises(ValueError, match="algorithm"):
        KMeans(2, algorithm="full").fit(X)
    with pytest.raises(ValueError, match="init"):
        KMeans(2, init="kmeans").fit(X)
    with pytest.raises(ValueError, match="shape"):
        KMeans(2, init=np.zeros((3, 2))).fit(X)
    with pytest.raises(TypeError, match="n_clusters"):
        KMeans(2.5).fit(X)
    with pytest.raises(ValueError, match="NaN"):
        KMeans(2).fit(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(NotFittedError):
        KMeans(2).predict(X)
    km = KMeans(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        km.predict(np.zeros((3, 3)))


def test_kmeans_random_init_uses_ten_runs_by_default():
    cluster = pytest.importorskip("sklearn.cluster")
    X, _ = blobs(300, 5, 2, seed=4)
    km = KMeans(5, init="random", random_state=0).fit(X)
    one = KMeans(5, init="random", n_init=1, random_state=0).fit(X)
    ref = cluster.KMeans(5, init="random", random_state=0).fit(X)
    assert km.inertia_ < one.inertia_
    assert km.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


# --------------------------------------------------------------------------- DBSCAN


def test_dbscan_iris_figures_and_equal_to_sklearn():
    X, _ = iris()
    db = DBSCAN(eps=0.5).fit(X)
    assert len(set(db.labels_) - {-1}) == 2
    assert int((db.labels_ == -1).sum()) == 17
    cluster = pytest.importorskip("sklearn.cluster")
    ref = cluster.DBSCAN(eps=0.5).fit(X)
    np.testing.assert_array_equal(db.labels_, ref.labels_)
    np.testing.assert_array_equal(db.core_sample_indices_, ref.core_sample_indices_)


@pytest.mark.parametrize(
    ("metric", "kw"), [("manhattan", {}), ("chebyshev", {}), ("minkowski", {"p": 3})]
)
def test_dbscan_metrics_equal_sklearn(metric, kw):
    cluster = pytest.importorskip("sklearn.cluster")
    X, _ = blobs(300, 4, 2, seed=8, spread=1.2)
    ours = DBSCAN(eps=0.6, min_samples=6, metric=metric, **kw).fit(X)
    ref = cluster.DBSCAN(eps=0.6, min_samples=6, metric=metric, **kw).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)


def test_dbscan_core_and_noise_do_not_depend_on_row_order():
    X, _ = blobs(400, 3, 2, seed=9, spread=1.5)
    a = DBSCAN(eps=0.5, min_samples=5).fit(X)
    perm = np.random.default_rng(0).permutation(len(X))
    b = DBSCAN(eps=0.5, min_samples=5).fit(X[perm])
    core_a = np.zeros(len(X), bool)
    core_a[a.core_sample_indices_] = True
    core_b = np.zeros(len(X), bool)
    core_b[perm[b.core_sample_indices_]] = True
    np.testing.assert_array_equal(core_a, core_b)
    noise_b = np.zeros(len(X), bool)
    noise_b[perm[b.labels_ == -1]] = True
    np.testing.assert_array_equal(a.labels_ == -1, noise_b)
    # the core points are partitioned the same way
    assert ari(a.labels_[core_a], b.labels_[np.argsort(perm)][core_a]) == pytest.approx(1.0)


def test_dbscan_a_point_counts_itself():
    X = np.array([[0.0], [0.3], [10.0], [20.0]])
    # min_samples=1: every point is core, isolated ones are singleton clusters
    np.testing.assert_array_equal(DBSCAN(eps=0.5, min_samples=1).fit(X).labels_, [0, 0, 1, 2])
    # min_samples=2: the pair is core (each has itself and the other), the rest noise
    np.testing.assert_array_equal(DBSCAN(eps=0.5, min_samples=2).fit(X).labels_, [0, 0, -1, -1])
    # neighbourhoods include points at exactly eps
    np.testing.assert_array_equal(DBSCAN(eps=0.3, min_samples=2).fit(X).labels_[:2], [0, 0])


def test_dbscan_precomputed_equals_euclidean():
    X, _ = blobs(200, 3, 2, seed=10, spread=1.0)
    D = np.sqrt(((X[:, None] - X[None]) ** 2).sum(-1))
    a = DBSCAN(eps=0.4, min_samples=4).fit(X)
    b = DBSCAN(eps=0.4, min_samples=4, metric="precomputed").fit(D)
    np.testing.assert_array_equal(a.labels_, b.labels_)


def test_dbscan_errors():
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match="eps"):
        DBSCAN(eps=0).fit(X)
    with pytest.raises(ValueError, match="metric"):
        DBSCAN(metric="cosine").fit(X)
    with pytest.raises(ValueError, match="min_samples"):
        DBSCAN(min_samples=0).fit(X)
    with pytest.raises(ValueError, match="square"):
        DBSCAN(metric="precomputed").fit(np.zeros((3, 2)))


# --------------------------------------------------------------------------- agglomerative


@pytest.mark.parametrize("method", ["ward", "complete", "average", "single"])
def test_linkage_equals_scipy_on_real_data(method):
    hierarchy = pytest.importorskip("scipy.cluster.hierarchy")
    X, _ = iris()
    np.testing.assert_array_equal(linkage_matrix(X, method), hierarchy.linkage(X, method))
    Xd, _ = digits()
    Xd = Xd[:600]
    np.testing.assert_array_equal(linkage_matrix(Xd, method), hierarchy.linkage(Xd, method))


@pytest.mark.parametrize("method", ["ward", "complete", "average", "single"])
def test_linkage_equals_scipy_with_ties(method):
    hierarchy = pytest.importorskip("scipy.cluster.hierarchy")
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(120, 2)).astype(float)  # a small grid: many equal distances
    np.testing.assert_array_equal(linkage_matrix(X, method), hierarchy.linkage(X, method))
    Xm = rng.integers(0, 3, size=(80, 3)).astype(float)
    if method != "ward":
        np.testing.assert_array_equal(
            linkage_matrix(Xm, method, metric="cityblock"),
            hierarchy.linkage(Xm, method, metric="cityblock"),
        )


def test_ward_quality_on_iris_and_digits():
    X, y = iris()
    assert ari(y, AgglomerativeClustering(3).fit(X).labels_) == pytest.approx(
        0.7311985567707746, abs=1e-6
    )
    Xd, yd = digits()
    assert ari(yd, AgglomerativeClustering(10).fit(Xd).labels_) == pytest.approx(
        0.7940031835568753, abs=1e-6
    )


@pytest.mark.parametrize("linkage", ["ward", "complete", "average", "single"])
def test_agglomerative_equals_sklearn(linkage):
    cluster = pytest.importorskip("sklearn.cluster")
    X, _ = blobs(150, 4, 3, seed=11, spread=1.5)
    ours = AgglomerativeClustering(4, linkage=linkage).fit(X)
    ref = cluster.AgglomerativeClustering(4, linkage=linkage, compute_distances=True).fit(X)
    if linkage != "single":  # scikit-learn's own single-linkage tree numbers merges differently
        np.testing.assert_array_equal(ours.children_, ref.children_)
    np.testing.assert_allclose(ours.distances_, np.sort(ref.distances_), rtol=1e-12)
    assert ari(ours.labels_, ref.labels_) == pytest.approx(1.0)
    t = float(np.median(ours.distances_[-10:]))
    ours_t = AgglomerativeClustering(None, linkage=linkage, distance_threshold=t).fit(X)
    ref_t = cluster.AgglomerativeClustering(None, linkage=linkage, distance_threshold=t).fit(X)
    assert ours_t.n_clusters_ == ref_t.n_clusters_
    assert ari(ours_t.labels_, ref_t.labels_) == pytest.approx(1.0)


def test_agglomerative_cut_is_the_tree_cut():
    X, _ = blobs(60, 3, 2, seed=12)
    ag = AgglomerativeClustering(5).fit(X)
    assert ag.n_clusters_ == 5 and len(np.unique(ag.labels_)) == 5
    # undoing the last four merges leaves five clusters whose members are the leaves below
    n = len(X)
    members = {i: {i} for i in range(n)}
    for k, (a, b) in enumerate(ag.children_):
        members[n + k] = members.pop(a) | members.pop(b)
        if len(members) == 5:
            break
    groups = sorted(sorted(m) for m in members.values())
    ours = sorted(sorted(np.flatnonzero(ag.labels_ == c)) for c in range(5))
    assert groups == ours
    np.testing.assert_array_equal(ag.linkage_matrix_[:, 2], ag.distances_)


def test_agglomerative_errors():
    X = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(ValueError, match="exactly one"):
        AgglomerativeClustering(2, distance_threshold=1.0).fit(X)
    with pytest.raises(ValueError, match="exactly one"):
        AgglomerativeClustering(None).fit(X)
    with pytest.raises(ValueError, match="linkage"):
        AgglomerativeClustering(2, linkage="centroid").fit(X)
    with pytest.raises(ValueError, match="ward"):
        AgglomerativeClustering(2, metric="cityblock").fit(X)
    with pytest.raises(ValueError, match="n_clusters=11"):
        AgglomerativeClustering(11).fit(X)
    with pytest.raises(ValueError, match="minimum of 2"):
        AgglomerativeClustering(1).fit(X[:1])


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_dbscan_high_dimensional_pairs_equal_a_kd_tree(offset):
    # above 16 features the radius search uses float32 Gram tiles with an exact recheck near
    # eps; the pairs must be exactly those of a k-d tree, ties at eps included
    from scipy.spatial import cKDTree

    from netchain.ml.cluster import _radius_pairs

    rng = np.random.default_rng(5)
    X = rng.standard_normal((1500, 40)) + offset
    X[0] = np.round(X[0] * 8) / 8  # so that X[0] + 2 is exact
    X[1] = X[0]
    X[1, 3] += 2.0  # exactly eps away from X[0]
    X[2] = X[0]  # a duplicate
    for k in range(40):  # 80 more points exactly eps away from X[0]
        X[3 + 2 * k] = X[0]
        X[3 + 2 * k, k] += 2.0
        X[4 + 2 * k] = X[0]
        X[4 + 2 * k, k] -= 2.0
    eps = 2.0
    near = 83 + rng.choice(len(X) - 83, 300, replace=False)
    X[near[1:]] = X[near[0]] + rng.uniform(-0.33, 0.33, (299, 40))  # many pairs close to eps
    ours = {tuple(p) for p in _radius_pairs(X, eps, 2.0).tolist()}
    ref = {tuple(p) for p in cKDTree(X).query_pairs(eps, output_type="ndarray").tolist()}
    assert (0, 1) in ours and (0, 2) in ours
    assert all((0, k) in ref for k in range(3, 83))
    assert ours == ref
    assert len(ref) > 10_000
