"""The SMO dual solver against LIBSVM (through scikit-learn) and against its own optimality
conditions."""

import numpy as np
import pytest

from netchain.ml._smo import one_class_alpha0, solve_dual
from netchain.ml.base import pairwise_kernel


def _problem(n=300, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    y = np.where(X @ w + 0.7 * rng.normal(size=n) > 0, 1.0, -1.0)
    return X, y


def _kkt_violation(res, y, C):
    """max over I_up of -yG minus min over I_low of -yG."""
    a, G = res.alpha, res.gradient
    up = np.where(y > 0, a < C, a > 0)
    low = np.where(y > 0, a > 0, a < C)
    v = -y * G
    return v[up].max() - v[low].min()


@pytest.mark.parametrize(
    "kernel,gamma,coef0",
    [("rbf", 0.2, 0.0), ("linear", 1.0, 0.0), ("poly", 0.2, 0.5), ("sigmoid", 0.01, 0.5)],
)
def test_c_svc_dual_matches_libsvm(kernel, gamma, coef0):
    svm = pytest.importorskip("sklearn.svm")
    X, y = _problem()
    ref = svm.SVC(C=1.0, kernel=kernel, gamma=gamma, coef0=coef0, tol=1e-8).fit(X, y)
    res = solve_dual(-1.0, y, 1.0, X=X, kernel=kernel, gamma=gamma, coef0=coef0, tol=1e-8)
    assert res.converged
    alpha_ref = np.zeros(len(y))
    alpha_ref[ref.support_] = np.abs(ref.dual_coef_[0])
    np.testing.assert_allclose(res.alpha, alpha_ref, atol=1e-5)
    # scikit-learn's positive class is classes_[1] = +1, its intercept is -rho
    assert res.rho == pytest.approx(-ref.intercept_[0], abs=1e-5)
    # the gradient returned is Q alpha + p, and the objective 0.5 a'Qa + p'a
    K = pairwise_kernel(X, kernel=kernel, gamma=gamma, coef0=coef0)
    Q = y[:, None] * y[None, :] * K
    np.testing.assert_allclose(res.gradient, Q @ res.alpha - 1.0, atol=1e-4)
    assert res.objective == pytest.approx(
        0.5 * res.alpha @ Q @ res.alpha - res.alpha.sum(), rel=1e-5
    )


def test_one_class_matches_libsvm():
    svm = pytest.importorskip("sklearn.svm")
    X, _ = _problem(seed=1)
    n, nu = len(X), 0.1
    ref = svm.OneClassSVM(nu=nu, gamma=0.2, tol=1e-8).fit(X)
    res = solve_dual(0.0, np.ones(n), 1.0, X=X, gamma=0.2, alpha0=one_class_alpha0(n, nu), tol=1e-8)
    alpha_ref = np.zeros(n)
    alpha_ref[ref.support_] = ref.dual_coef_[0]
    np.testing.assert_allclose(res.alpha, alpha_ref, atol=1e-5)
    assert res.rho == pytest.approx(ref.offset_[0], abs=1e-5)
    assert res.alpha.sum() == pytest.approx(nu * n)


def test_shrinking_cache_and_precomputed_give_the_same_optimum():
    # n_iter > n, so shrinking runs, sets variables aside and brings them back
    X, y = _problem(n=500, d=4, seed=2)
    C = np.where(y > 0, 20.0, 5.0)  # per-variable bounds
    ref = solve_dual(-1.0, y, C, X=X, gamma=2.0, shrinking=False, tol=1e-6)
    assert ref.n_iter > len(y)
    for kw in (dict(shrinking=True), dict(cache_size=0.0), dict(shrinking=True, cache_size=0.02)):
        res = solve_dual(-1.0, y, C, X=X, gamma=2.0, tol=1e-6, **kw)
        assert _kkt_violation(res, y, C) < 1e-6
        assert res.objective == pytest.approx(ref.objective, rel=1e-7)
        np.testing.assert_allclose(res.alpha, ref.alpha, atol=1e-3)
    K = pairwise_kernel(X, kernel="rbf", gamma=2.0)
    res = solve_dual(-1.0, y, C, K=K, tol=1e-6)
    assert _kkt_violation(res, y, C) < 1e-6
    assert res.objective == pytest.approx(ref.objective, rel=1e-7)
    # equality constraint kept and bounds respected
    assert abs(y @ res.alpha) < 1e-8
    assert np.all((res.alpha >= 0) & (res.alpha <= C))


def test_max_iter_stops_unconverged():
    X, y = _problem()
    res = solve_dual(-1.0, y, 1.0, X=X, gamma=0.2, max_iter=5)
    assert res.n_iter == 5 and not res.converged
    assert _kkt_violation(res, y, np.ones(len(y))) > 1e-3


def test_separable_pair_closed_form():
    # two points at +-1 with a linear kernel: alpha = 0.5 each, rho = 0 (margin 1)
    X = np.array([[1.0], [-1.0]])
    y = np.array([1.0, -1.0])
    res = solve_dual(-1.0, y, 10.0, X=X, kernel="linear", tol=1e-12)
    np.testing.assert_allclose(res.alpha, [0.5, 0.5])
    assert res.rho == pytest.approx(0.0, abs=1e-12)


def test_one_class_alpha0():
    a = one_class_alpha0(10, 0.25)
    np.testing.assert_allclose(a, [1, 1, 0.5, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="nu"):
        one_class_alpha0(10, 0.0)


def test_bad_input():
    X, y = _problem(n=10)
    with pytest.raises(ValueError, match=r"\+1 and -1"):
        solve_dual(-1.0, np.arange(10), 1.0, X=X)
    with pytest.raises(ValueError, match="exactly one"):
        solve_dual(-1.0, y, 1.0)
    with pytest.raises(ValueError, match="kernel"):
        solve_dual(-1.0, y, 1.0, X=X, kernel="cubic")
    with pytest.raises(ValueError, match="alpha0"):
        solve_dual(-1.0, y, 1.0, X=X, alpha0=np.full(10, 2.0))
    with pytest.raises(ValueError, match="K"):
        solve_dual(-1.0, y, 1.0, K=np.eye(3))
