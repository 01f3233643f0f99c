"""Least squares, ridge and logistic regression against closed forms and scikit-learn."""

import warnings

import numpy as np
import pytest

from netchain.ml import ConvergenceWarning, LinearRegression, LogisticRegression, Ridge


def _data(n=60, d=4, t=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    coef = rng.normal(size=(d,) if t is None else (d, t))
    y = X @ coef + 0.1 * rng.normal(size=(n,) if t is None else (n, t)) + 3.0
    return X, y


def test_linear_regression_normal_equations_and_weights():
    X, y = _data()
    w = np.random.default_rng(1).uniform(0.1, 3.0, len(y))
    m = LinearRegression().fit(X, y, sample_weight=w)
    A = np.c_[np.ones(len(X)), X]
    beta = np.linalg.solve(A.T @ (w[:, None] * A), A.T @ (w * y))  # weighted normal equations
    assert m.intercept_ == pytest.approx(beta[0], rel=1e-10)
    np.testing.assert_allclose(m.coef_, beta[1:], rtol=1e-10)
    # integer weights are repetitions, zero weights removals
    wi = np.random.default_rng(2).integers(0, 3, len(y))
    a = LinearRegression().fit(X, y, sample_weight=wi)
    b = LinearRegression().fit(np.repeat(X, wi, axis=0), np.repeat(y, wi))
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-10)


def test_linear_regression_multi_output_and_no_intercept():
    X, Y = _data(t=3)
    m = LinearRegression().fit(X, Y)
    assert m.coef_.shape == (3, 4) and m.intercept_.shape == (3,)
    for j in range(3):
        mj = LinearRegression().fit(X, Y[:, j])
        np.testing.assert_allclose(m.coef_[j], mj.coef_, rtol=1e-10)
    m0 = LinearRegression(fit_intercept=False).fit(X, Y[:, 0])
    np.testing.assert_allclose(m0.coef_, np.linalg.lstsq(X, Y[:, 0], rcond=None)[0], rtol=1e-10)
    assert m0.intercept_ == 0.0
    assert m.predict(X).shape == (60, 3)


def test_linear_regression_underdetermined_is_minimum_norm():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(5, 12))
    y = rng.normal(size=5)
    m = LinearRegression().fit(X, y)
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(m.coef_, np.linalg.pinv(Xc) @ (y - y.mean()), atol=1e-10)
    np.testing.assert_allclose(m.predict(X), y, atol=1e-10)  # interpolates


@pytest.mark.parametrize("shape", [(80, 5), (6, 20)])  # primal and dual forms
def test_ridge_closed_form(shape):
    rng = np.random.default_rng(4)
    X = rng.normal(size=shape)
    y = rng.normal(size=shape[0])
    w = rng.uniform(0.5, 2.0, shape[0])
    m = Ridge(alpha=0.7).fit(X, y, sample_weight=w)
    mu = np.average(X, axis=0, weights=w)
    ym = np.average(y, weights=w)
    Xc, yc = X - mu, y - ym
    coef = np.linalg.solve(Xc.T @ (w[:, None] * Xc) + 0.7 * np.eye(shape[1]), Xc.T @ (w * yc))
    np.testing.assert_allclose(m.coef_, coef, rtol=1e-8, atol=1e-10)
    assert m.intercept_ == pytest.approx(ym - mu @ coef, rel=1e-8)


def test_ridge_per_target_alpha_and_errors():
    X, Y = _data(t=2)
    m = Ridge(alpha=[0.1, 10.0]).fit(X, Y)
    for j, a in enumerate([0.1, 10.0]):
        np.testing.assert_allclose(m.coef_[j], Ridge(alpha=a).fit(X, Y[:, j]).coef_, rtol=1e-10)
    with pytest.raises(ValueError, match="alpha"):
        Ridge(alpha=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="alpha"):
        Ridge(alpha=[1.0, 2.0, 3.0]).fit(X, Y)


def test_ridge_matches_scikit_learn():
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = _data(seed=5)
    np.testing.assert_allclose(Ridge(2.0).fit(X, y).coef_, lm.Ridge(2.0).fit(X, y).coef_, rtol=1e-8)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_logistic_regression_matches_scikit_learn(n_classes):
    lm = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(6)
    X = rng.normal(size=(120, 3))
    y = np.argmax(X @ rng.normal(size=(3, n_classes)) + rng.normal(size=(120, n_classes)), axis=1)
    ours = LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, y)
    ref = lm.LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, y)
    assert ours.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-5)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-5)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X).sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(ours.predict_log_proba(X)), ours.predict_proba(X))
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


def test_logistic_regression_gradient_is_zero_at_the_optimum():
    # multinomial, no intercept: grad = C * X^T (P - T) + W = 0
    rng = np.random.default_rng(7)
    X = rng.normal(size=(90, 4))
    y = rng.integers(0, 3, 90)
    m = LogisticRegression(C=2.0, fit_intercept=False, tol=1e-12, max_iter=2000).fit(X, y)
    T = np.eye(3)[y]
    grad = 2.0 * X.T @ (m.predict_proba(X) - T) + m.coef_.T
    np.testing.assert_allclose(grad, 0.0, atol=1e-6)
    assert np.all(m.intercept_ == 0.0)


def test_logistic_regression_separable_data():
    # separable: the penalised optimum is finite and reached; a tiny max_iter warns
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = LogisticRegression(C=1.0, tol=1e-10, max_iter=1000).fit(X, y)
    assert np.isfinite(m.coef_).all() and m.coef_[0, 0] > 0
    # optimality: C * sum (p - t) x + w = 0 and sum (p - t) = 0
    r = m.predict_proba(X)[:, 1] - y
    assert r @ X[:, 0] + m.coef_[0, 0] == pytest.approx(0.0, abs=1e-7)
    assert r.sum() == pytest.approx(0.0, abs=1e-7)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        LogisticRegression(max_iter=1).fit(X, y)


def test_logistic_regression_weights_and_errors():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(40, 2))
    y = rng.integers(0, 3, 40)
    wi = rng.integers(0, 3, 40)
    a = LogisticRegression(tol=1e-10, max_iter=500).fit(X, y, sample_weight=wi)
    b = LogisticRegression(tol=1e-10, max_iter=500).fit(np.repeat(X, wi, 0), np.repeat(y, wi))
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)
    with pytest.raises(ValueError, match="1 class"):
        LogisticRegression().fit(X, np.zeros(40))
    with pytest.raises(ValueError, match="C must be"):
        LogisticRegression(C=0).fit(X, y)
    with pytest.raises(ValueError, match="continuous"):
        LogisticRegression().fit(X, rng.normal(size=40))
    m = LogisticRegression().fit(X, np.array(["u", "v", "w"])[y])
    assert set(m.predict(X)) <= {"u", "v", "w"}
