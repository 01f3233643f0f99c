"""SVC against LIBSVM (through scikit-learn), Platt scaling and pairwise coupling."""

import numpy as np
import pytest

from netchain.ml import SVC, ConvergenceWarning
from netchain.ml.svm import _couple, _platt_fit


def _blobs(n=90, k=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(k, 2))
    y = np.arange(n) % k
    return centres[y] + rng.normal(size=(n, 2)), y


@pytest.mark.parametrize(
    "params",
    [
        dict(kernel="rbf"),
        dict(kernel="rbf", gamma=0.5, C=10.0),
        dict(kernel="linear", C=0.3),
        dict(kernel="poly", degree=2, coef0=1.0, gamma="auto"),
        dict(kernel="sigmoid", gamma=0.05, coef0=-1.0),
    ],
)
@pytest.mark.parametrize("k", [2, 3])
def test_matches_libsvm(params, k):
    svm = pytest.importorskip("sklearn.svm")
    X, y = _blobs(k=k)
    ours = SVC(tol=1e-7, **params).fit(X, y)
    ref = svm.SVC(tol=1e-7, **params).fit(X, y)
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_array_equal(ours.n_support_, ref.n_support_)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-4)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-4)
    Q = X + 0.3
    np.testing.assert_allclose(ours.decision_function(Q), ref.decision_function(Q), atol=1e-3)
    np.testing.assert_array_equal(ours.predict(Q), ref.predict(Q))
    if k > 2:
        ours.set_params(decision_function_shape="ovo")
        ref.set_params(decision_function_shape="ovo")
        np.testing.assert_allclose(ours.decision_function(Q), ref.decision_function(Q), atol=1e-3)


def test_weights_match_libsvm_and_cache_path():
    svm = pytest.importorskip("sklearn.svm")
    X, y = _blobs(k=3, seed=1)
    w = np.random.default_rng(2).uniform(0.2, 3.0, len(y))
    cw = {0: 2.0, 2: 0.5}
    ours = SVC(C=2.0, class_weight=cw, tol=1e-7).fit(X, y, sample_weight=w)
    ref = svm.SVC(C=2.0, class_weight=cw, tol=1e-7).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-4)
    # a cache too small for the whole kernel matrix: rows computed on demand, same answer
    small = SVC(C=2.0, class_weight=cw, tol=1e-7, cache_size=0.01).fit(X, y, sample_weight=w)
    np.testing.assert_allclose(small.dual_coef_, ours.dual_coef_, atol=1e-5)
    # zero weights leave samples out (a fixed gamma: "scale" sees every row's variance)
    w0 = w.copy()
    w0[:10] = 0.0
    a = SVC(gamma=0.3, tol=1e-7).fit(X, y, sample_weight=w0)
    b = SVC(gamma=0.3, tol=1e-7).fit(X[10:], y[10:], sample_weight=w0[10:])
    np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), atol=1e-5)


def test_gamma_scale_and_labels():
    X, y = _blobs(k=2)
    assert SVC().fit(X, y)._gamma == pytest.approx(1.0 / (2 * X.var()))
    assert SVC(gamma="auto").fit(X, y)._gamma == pytest.approx(0.5)
    Xc = np.ones((6, 3))
    assert SVC().fit(Xc, [0, 1] * 3)._gamma == 1.0  # zero variance
    labels = np.array(["neg", "pos"])[y]
    m = SVC().fit(X, labels)
    assert set(m.predict(X)) == {"neg", "pos"}
    # two classes: a positive decision means classes_[1]
    d = m.decision_function(X)
    np.testing.assert_array_equal(m.predict(X), np.where(d > 0, "pos", "neg"))


def test_platt_sigmoid_recovers_known_parameters():
    rng = np.random.default_rng(3)
    f = rng.normal(scale=2.0, size=20000)
    A, B = -1.7, 0.4
    p = 1.0 / (1.0 + np.exp(A * f + B))
    positive = rng.uniform(size=f.size) < p
    a, b = _platt_fit(f, positive)
    assert a == pytest.approx(A, abs=0.08)
    assert b == pytest.approx(B, abs=0.08)


def test_pairwise_coupling_is_exact_on_consistent_pairs():
    rng = np.random.default_rng(4)
    P = rng.dirichlet(np.ones(4), size=10)
    R = P[:, :, None] / (P[:, :, None] + P[:, None, :])
    np.testing.assert_allclose(_couple(R), P, atol=1e-12)


def test_probabilities():
    X, y = _blobs(n=150, k=3, seed=5)
    assert not hasattr(SVC(), "predict_proba")
    m = SVC(probability=True, random_state=0).fit(X, y)
    assert hasattr(m, "predict_proba")
    P = m.predict_proba(X)
    assert P.shape == (150, 3)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert np.mean(np.argmax(P, axis=1) == m.predict(X)) > 0.95
    assert m.probA_.shape == (3,) and np.all(m.probA_ < 0)  # larger decision, more probable
    again = SVC(probability=True, random_state=0).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X), P)  # reproducible
    Xb, yb = _blobs(n=80, k=2, seed=6)
    Pb = SVC(probability=True, random_state=0).fit(Xb, yb).predict_proba(Xb)
    assert np.mean(np.argmax(Pb, axis=1) == yb) > 0.9


def test_errors_and_max_iter():
    X, y = _blobs()
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        m = SVC(max_iter=2).fit(X, y)
    assert m.fit_status_ == 1
    with pytest.raises(ValueError, match="1 class"):
        SVC().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="kernel"):
        SVC(kernel="laplacian").fit(X, y)
    with pytest.raises(ValueError, match="gamma"):
        SVC(gamma=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="C must"):
        SVC(C=0.0).fit(X, y)
    with pytest.raises(ValueError, match="class_weight"):
        SVC(class_weight={9: 1.0}).fit(X, y)
