"""CART trees and random forests against scikit-learn and their own definitions."""

import numpy as np
import pytest

from netchain.ml import (
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from netchain.ml.tree import _sort_pairs, resolve_max_features


def _regression(n=200, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.normal(size=n)
    return X, y


def test_sort_pairs():
    rng = np.random.default_rng(0)
    for n in (0, 1, 2, 17, 300, 5000):
        for high in (3, 10**6):  # many duplicates, then few
            v = rng.integers(0, high, n).astype(float)
            s = np.arange(n)
            v0 = v.copy()
            _sort_pairs(v, s, n)
            assert np.all(np.diff(v) >= 0)
            np.testing.assert_array_equal(v0[s], v)  # the payload moved with its value
    v = np.arange(2000, 0, -1).astype(float)  # reversed, and all equal
    _sort_pairs(v, np.arange(2000), 2000)
    assert np.all(np.diff(v) > 0)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_classifier_splits_match_scikit_learn(iris, criterion):
    tree = pytest.importorskip("sklearn.tree")
    X, y = iris
    ours = DecisionTreeClassifier(criterion=criterion, max_depth=3, random_state=0).fit(X, y)
    ref = tree.DecisionTreeClassifier(criterion=criterion, max_depth=3, random_state=0).fit(X, y)
    t, r = ours.tree_, ref.tree_
    assert t.node_count == r.node_count
    np.testing.assert_array_equal(t.feature, r.feature)
    np.testing.assert_allclose(t.threshold, r.threshold, atol=1e-6)  # scikit-learn: float32
    np.testing.assert_allclose(t.impurity, r.impurity, atol=1e-12)
    np.testing.assert_allclose(t.value, r.value[:, 0, :], atol=1e-12)
    np.testing.assert_array_equal(t.children_left, r.children_left)
    np.testing.assert_allclose(ours.feature_importances_, ref.feature_importances_, atol=1e-12)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X))


def test_regressor_matches_scikit_learn_with_weights():
    tree = pytest.importorskip("sklearn.tree")
    X, y = _regression()
    w = np.random.default_rng(1).uniform(0.2, 2.0, len(y))
    for kw in (dict(max_depth=4), dict(min_samples_leaf=7), dict(min_samples_split=30)):
        ours = DecisionTreeRegressor(random_state=0, **kw).fit(X, y, sample_weight=w)
        ref = tree.DecisionTreeRegressor(random_state=0, **kw).fit(X, y, sample_weight=w)
        # the same partitions (a feature may differ where two split the node alike)
        t, r = ours.tree_, ref.tree_
        assert t.node_count == r.node_count
        np.testing.assert_array_equal(np.sort(t.n_node_samples), np.sort(r.n_node_samples))
        np.testing.assert_allclose(np.sort(t.value[:, 0]), np.sort(r.value[:, 0, 0]), rtol=1e-10)
        np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10)


def test_multi_output_regression():
    tree = pytest.importorskip("sklearn.tree")
    X, y = _regression()
    Y = np.c_[y, -2 * y + X[:, 2]]
    ours = DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, Y)
    ref = tree.DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, Y)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-10)
    assert ours.predict(X).shape == (200, 2)


def test_stopping_rules():
    X, y = _regression(n=300)
    t = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    assert t.get_depth() == 3 and t.get_n_leaves() <= 8
    t = DecisionTreeRegressor(min_samples_leaf=20, random_state=0).fit(X, y)
    leaves = t.tree_.children_left < 0
    assert t.tree_.n_node_samples[leaves].min() >= 20
    t = DecisionTreeRegressor(min_samples_split=50, random_state=0).fit(X, y)
    inner = t.tree_.children_left >= 0
    assert t.tree_.n_node_samples[inner].min() >= 50
    full = DecisionTreeRegressor(random_state=0).fit(X, y)
    pruned = DecisionTreeRegressor(min_impurity_decrease=0.01, random_state=0).fit(X, y)
    assert pruned.tree_.node_count < full.tree_.node_count
    # every split of the pruned tree decreased the weighted impurity by at least 0.01
    tr = pruned.tree_
    for node in np.flatnonzero(tr.children_left >= 0):
        L, R = tr.children_left[node], tr.children_right[node]
        n, nl, nr = tr.n_node_samples[[node, L, R]]
        gain = (n * tr.impurity[node] - nl * tr.impurity[L] - nr * tr.impurity[R]) / 300
        assert gain >= 0.01 - 1e-12


def test_constant_features_give_one_leaf():
    X = np.ones((20, 3))
    y = np.arange(20) % 2
    t = DecisionTreeClassifier().fit(X, y)
    assert t.tree_.node_count == 1
    np.testing.assert_allclose(t.predict_proba(X[:1]), [[0.5, 0.5]])
    np.testing.assert_array_equal(t.feature_importances_, [0.0, 0.0, 0.0])
    # a constant feature never splits; the informative one does
    X = np.c_[np.ones(20), np.arange(20.0)]
    t = DecisionTreeClassifier().fit(X, (np.arange(20) >= 10).astype(int))
    assert t.tree_.node_count == 3 and t.tree_.feature[0] == 1
    assert t.tree_.threshold[0] == 9.5
    np.testing.assert_array_equal(t.feature_importances_, [0.0, 1.0])


def test_zero_weights_equal_removal_and_pure_fit():
    X, y = _regression()
    codes = (y > np.median(y)).astype(int)
    w = np.ones(len(y))
    w[::3] = 0.0
    a = DecisionTreeClassifier(random_state=0).fit(X, codes, sample_weight=w)
    b = DecisionTreeClassifier(random_state=0).fit(X[w > 0], codes[w > 0])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert b.score(X[w > 0], codes[w > 0]) == 1.0  # grown until pure


def test_max_features_resolution():
    assert resolve_max_features(None, 64) == 64
    assert resolve_max_features("sqrt", 64) == 8
    assert resolve_max_features("sqrt", 3) == 1
    assert resolve_max_features("log2", 64) == 6
    assert resolve_max_features(0.3, 10) == 3  # floored
    assert resolve_max_features(0.01, 10) == 1  # at least one
    assert resolve_max_features(7, 5) == 5
    for bad in (0, -1, 1.5, "all", True):
        with pytest.raises(ValueError, match="max_features"):
            resolve_max_features(bad, 10)


def test_tree_errors():
    X, y = _regression(n=30)
    with pytest.raises(ValueError, match="criterion"):
        DecisionTreeClassifier(criterion="squared_error").fit(X, y > 0)
    with pytest.raises(ValueError, match="max_depth"):
        DecisionTreeRegressor(max_depth=0).fit(X, y)
    with pytest.raises(ValueError, match="min_samples_leaf"):
        DecisionTreeRegressor(min_samples_leaf=0).fit(X, y)
    with pytest.raises(ValueError, match="min_weight_fraction_leaf"):
        DecisionTreeRegressor(min_weight_fraction_leaf=0.7).fit(X, y)


# --------------------------------------------------------------------------- forests


def test_forest_is_reproducible_and_thread_independent():
    X, y = _regression(n=150)
    codes = (y > 0.5).astype(int)
    a = RandomForestClassifier(12, random_state=3).fit(X, codes)
    b = RandomForestClassifier(12, random_state=3, n_jobs=2).fit(X, codes)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = RandomForestClassifier(12, random_state=4).fit(X, codes)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))
    assert len(a.estimators_) == 12 and a.max_features_ == 2
    np.testing.assert_allclose(a.feature_importances_.sum(), 1.0)
    # the forest's probability is the mean of its trees'
    mean = np.mean([t.predict_proba(X) for t in a.estimators_], axis=0)
    np.testing.assert_allclose(a.predict_proba(X), mean)


def test_out_of_bag_estimates(digits, split):
    X, y = digits
    Xtr, Xte, ytr, yte = split(X, y)
    m = RandomForestClassifier(40, oob_score=True, random_state=0).fit(Xtr, ytr)
    assert m.oob_decision_function_.shape == (len(Xtr), 10)
    assert abs(m.oob_score_ - m.score(Xte, yte)) < 0.04
    # by hand: each sample's mean probability over the trees that did not draw it
    rng_seeds = np.random.default_rng(0).integers(0, 2**31 - 1, size=40)
    votes = np.zeros((len(Xtr), 10))
    for tree, seed in zip(m.estimators_, rng_seeds):
        counts = np.bincount(
            np.random.default_rng(seed).integers(0, len(Xtr), len(Xtr)), minlength=len(Xtr)
        )
        oob = counts == 0
        votes[oob] += tree.predict_proba(Xtr[oob])
    seen = votes.sum(axis=1) > 0
    mine = np.mean(np.argmax(votes[seen], axis=1) == ytr[seen])
    assert m.oob_score_ == pytest.approx(mine)


def test_forest_regressor_against_scikit_learn(diabetes):
    ens = pytest.importorskip("sklearn.ensemble")
    X, y = diabetes
    ours = RandomForestRegressor(60, random_state=0, oob_score=True).fit(X[:330], y[:330])
    ref = ens.RandomForestRegressor(60, random_state=0).fit(X[:330], y[:330])
    r_ours, r_ref = ours.score(X[330:], y[330:]), ref.score(X[330:], y[330:])
    assert abs(r_ours - r_ref) < 0.05 and r_ours > 0.3
    assert 0.2 < ours.oob_score_ < 0.7


def test_forest_without_bootstrap_and_errors():
    X, y = _regression(n=60)
    m = RandomForestRegressor(5, bootstrap=False, max_features=None, random_state=0).fit(X, y)
    assert m.score(X, y) == pytest.approx(1.0)  # full trees on all the data
    with pytest.raises(ValueError, match="bootstrap"):
        RandomForestRegressor(5, bootstrap=False, oob_score=True).fit(X, y)
    with pytest.raises(ValueError, match="n_estimators"):
        RandomForestRegressor(0).fit(X, y)
    with pytest.raises(ValueError, match="max_samples"):
        RandomForestRegressor(5, max_samples=2.0).fit(X, y)
    small = RandomForestRegressor(5, max_samples=0.5, random_state=0).fit(X, y)
    assert all(t.tree_.n_node_samples[0] <= 30 for t in small.estimators_)
