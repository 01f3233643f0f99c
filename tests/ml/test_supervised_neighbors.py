"""k-nearest neighbours: exact neighbour sets with the tie rule, votes, weights, errors."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from netchain.ml import KNeighborsClassifier, KNeighborsRegressor, NotFittedError


def _reference(Q, X, k, p):
    """Exact distances, then a stable sort: equal distances keep the training order."""
    D = cdist(Q, X, metric="minkowski", p=p)
    ind = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, ind, axis=1), ind


@pytest.mark.parametrize("algorithm", ["brute", "kd_tree"])
@pytest.mark.parametrize("metric,p", [("euclidean", 2), ("manhattan", 1), ("minkowski", 3)])
def test_neighbours_and_ties_follow_training_order(algorithm, metric, p):
    # integer grid data: many exactly equal distances, also at the k-th place
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(200, 3)).astype(float)
    Q = rng.integers(0, 4, size=(50, 3)).astype(float) + 0.5 * rng.integers(0, 2, size=(50, 3))
    knn = KNeighborsClassifier(7, algorithm=algorithm, metric=metric, p=p).fit(X, np.zeros(200))
    dist, ind = knn.kneighbors(Q)
    d_ref, i_ref = _reference(Q, X, 7, p)
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_allclose(dist, d_ref, rtol=1e-12, atol=1e-12)


def test_high_dimension_uses_brute_force_and_matches_reference():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 3, size=(300, 40)).astype(float)
    Q = rng.integers(0, 3, size=(20, 40)).astype(float)
    knn = KNeighborsRegressor(5).fit(X, np.arange(300.0))
    assert knn._fit_method == "brute"
    _, ind = knn.kneighbors(Q)
    np.testing.assert_array_equal(ind, _reference(Q, X, 5, 2)[1])


def test_tie_rules():
    # equal distances: the earlier training row wins
    knn = KNeighborsClassifier(1).fit([[1.0], [-1.0]], [7, 3])
    assert knn.predict([[0.0]])[0] == 7
    # a tied vote goes to the smallest label
    knn = KNeighborsClassifier(2).fit([[0.0], [1.0]], ["b", "a"])
    assert knn.predict([[0.25]])[0] == "a"
    np.testing.assert_allclose(knn.predict_proba([[0.25]]), [[0.5, 0.5]])


def test_distance_weights():
    X = np.array([[0.0], [1.0], [3.0]])
    y = np.array([0, 1, 1])
    knn = KNeighborsClassifier(3, weights="distance").fit(X, y)
    # weights 1/0.5, 1/0.5, 1/2.5 -> class 1 gets (2 + 0.4) / 4.4
    np.testing.assert_allclose(knn.predict_proba([[0.5]]), [[2 / 4.4, 2.4 / 4.4]])
    # an exact match takes all the weight
    np.testing.assert_allclose(knn.predict_proba([[3.0]]), [[0.0, 1.0]])
    reg = KNeighborsRegressor(2, weights=lambda d: np.ones_like(d) * [[1.0, 3.0]]).fit(X, [0, 4, 8])
    assert reg.predict([[0.2]])[0] == pytest.approx((0 + 3 * 4) / 4)


def test_against_scikit_learn_and_self_query():
    sk = pytest.importorskip("sklearn.neighbors")
    rng = np.random.default_rng(2)
    X = rng.normal(size=(150, 4))
    y = rng.integers(0, 3, 150)
    t = rng.normal(size=(150, 2))
    for w in ("uniform", "distance"):
        ours = KNeighborsClassifier(6, weights=w).fit(X, y)
        ref = sk.KNeighborsClassifier(6, weights=w).fit(X, y)
        np.testing.assert_allclose(
            ours.predict_proba(X[:40] + 0.1), ref.predict_proba(X[:40] + 0.1)
        )
        r1 = KNeighborsRegressor(4, weights=w).fit(X, t).predict(X + 0.05)
        r2 = sk.KNeighborsRegressor(4, weights=w).fit(X, t).predict(X + 0.05)
        np.testing.assert_allclose(r1, r2, rtol=1e-12)
    d1, i1 = KNeighborsClassifier(3).fit(X, y).kneighbors()
    d2, i2 = sk.KNeighborsClassifier(3).fit(X, y).kneighbors()
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, rtol=1e-12)


def test_errors():
    X = np.zeros((3, 2))
    with pytest.raises(NotFittedError):
        KNeighborsClassifier().predict(X)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        KNeighborsClassifier(5).fit(X, [0, 1, 1]).predict(X)
    with pytest.raises(ValueError, match="metric"):
        KNeighborsClassifier(metric="cosine").fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match="weights"):
        KNeighborsClassifier(weights="linear").fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match="n_neighbors must be a positive int"):
        KNeighborsClassifier(0).fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match="p must be"):
        KNeighborsClassifier(p=0.5).fit(X, [0, 1, 1])
    with pytest.raises(ValueError, match="3 features"):
        KNeighborsClassifier(1).fit(X, [0, 1, 1]).predict(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="continuous"):
        KNeighborsClassifier(1).fit(X, [0.5, 1.2, 1.0])
