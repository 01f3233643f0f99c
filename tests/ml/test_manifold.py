"""LocallyLinearEmbedding and TSNE: gradients against finite differences, Barnes-Hut against
the exact gradient, embeddings against scikit-learn and trustworthiness on real data."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_unsupervised import digits, iris  # noqa: E402

from netchain.ml import _bhtsne  # noqa: E402
from netchain.ml.manifold import TSNE, LocallyLinearEmbedding, nearest_neighbors  # noqa: E402


def trustworthiness(X, E, k=5):
    manifold = pytest.importorskip("sklearn.manifold")
    return manifold.trustworthiness(X, E, n_neighbors=k)


def swiss_roll(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.uniform(1.5 * np.pi, 4.5 * np.pi, n)
    h = rng.uniform(0, 10, n)
    return np.c_[t * np.cos(t), h, t * np.sin(t)]


# --------------------------------------------------------------------------- neighbours


@pytest.mark.parametrize("d", [3, 30])  # k-d tree and brute-force paths
def test_nearest_neighbors_exclude_self_by_index(d):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, d))
    X[10] = X[11] = X[12]  # three identical rows
    idx, sq = nearest_neighbors(X, 4)
    assert not (idx == np.arange(60)[:, None]).any()
    assert set(idx[10, :2]) == {11, 12} and set(idx[11, :2]) == {10, 12}
    np.testing.assert_array_equal(sq[10, :2], 0.0)
    full = ((X[:, None] - X[None]) ** 2).sum(-1)
    np.fill_diagonal(full, np.inf)
    np.testing.assert_allclose(sq, np.sort(full, axis=1)[:, :4], atol=1e-9)
    # many duplicates: self may be hidden among them and is still left out
    Xd = np.zeros((8, d))
    idx, _ = nearest_neighbors(Xd, 3)
    assert not (idx == np.arange(8)[:, None]).any()


# --------------------------------------------------------------------------- LLE


@pytest.mark.parametrize("solver", ["dense", "arpack"])
def test_lle_equals_sklearn_on_a_swiss_roll(solver):
    manifold = pytest.importorskip("sklearn.manifold")
    X = swiss_roll()
    ours = LocallyLinearEmbedding(n_neighbors=10, eigen_solver=solver, random_state=0).fit(X)
    ref = manifold.LocallyLinearEmbedding(n_neighbors=10, eigen_solver=solver, random_state=0).fit(
        X
    )
    # eigenvectors are defined up to sign
    np.testing.assert_allclose(np.abs(ours.embedding_), np.abs(ref.embedding_), atol=1e-6)
    assert ours.reconstruction_error_ == pytest.approx(ref.reconstruction_error_, rel=1e-5)
    new = X[:5] + 0.01
    np.testing.assert_allclose(np.abs(ours.transform(new)), np.abs(ref.transform(new)), atol=1e-6)


def test_lle_weights_reconstruct_and_sum_to_one():
    from netchain.ml.manifold import _barycenter_weights

    X = swiss_roll(100)
    idx, _ = nearest_neighbors(X, 6)
    W = _barycenter_weights(X, X, idx, 1e-3)
    np.testing.assert_allclose(W.sum(axis=1), 1.0, atol=1e-12)
    # the weights solve the regularised local least-squares problem
    i = 7
    C = X[idx[i]] - X[i]
    G = C @ C.T
    G += 1e-3 * np.trace(G) * np.eye(6)
    w = np.linalg.solve(G, np.ones(6))
    np.testing.assert_allclose(W[i], w / w.sum(), rtol=1e-10)


def test_lle_digits_trustworthiness():
    X, _ = digits()
    E = LocallyLinearEmbedding(n_neighbors=5, random_state=0).fit_transform(X)
    assert trustworthiness(X, E) >= 0.90


def test_lle_duplicate_rows_and_errors():
    X = swiss_roll(120)
    X = np.vstack([X, X[:20]])
    E = LocallyLinearEmbedding(n_neighbors=8, random_state=0).fit_transform(X)
    assert np.isfinite(E).all()
    with pytest.raises(ValueError, match="n_neighbors=140 must be < n_samples=140"):
        LocallyLinearEmbedding(n_neighbors=140).fit(X)
    with pytest.raises(ValueError, match="method"):
        LocallyLinearEmbedding(method="hessian").fit(X)


def test_lle_n_components_at_most_n_features():
    X, _ = iris()  # 4 features
    with pytest.raises(ValueError, match="n_components=10 must be at most n_features=4"):
        LocallyLinearEmbedding(n_components=10).fit_transform(X)
    E = LocallyLinearEmbedding(n_components=4, random_state=0).fit_transform(X)
    assert E.shape == (150, 4) and np.isfinite(E).all()
    manifold = pytest.importorskip("sklearn.manifold")
    with pytest.raises(ValueError):  # scikit-learn refuses the same case
        manifold.LocallyLinearEmbedding(n_components=10).fit_transform(X)
    assert manifold.LocallyLinearEmbedding(n_components=4).fit_transform(X).shape == (150, 4)


# --------------------------------------------------------------------------- t-SNE internals


def test_perplexity_calibration_hits_the_entropy():
    rng = np.random.default_rng(0)
    sq = rng.uniform(0, 20, size=(50, 40))
    for perplexity in (5.0, 20.0):
        P = _bhtsne.binary_search_perplexity(sq, perplexity)
        np.testing.assert_allclose(P.sum(axis=1), 1.0, atol=1e-12)
        H = -(P * np.log(np.maximum(P, 1e-300))).sum(axis=1)
        np.testing.assert_allclose(H, np.log(perplexity), atol=1e-4)


def kl_exact(Y, P, dof):
    d2 = ((Y[:, None] - Y[None]) ** 2).sum(-1)
    qt = (1 + d2 / dof) ** (-(dof + 1) / 2)
    np.fill_diagonal(qt, 0)
    Q = qt / qt.sum()
    mask = ~np.eye(len(Y), dtype=bool)
    return float((P[mask] * np.log(P[mask] / Q[mask])).sum())


@pytest.mark.parametrize("dim", [2, 3])
def test_exact_gradient_matches_finite_differences(dim):
    rng = np.random.default_rng(1)
    n = 12
    P = rng.uniform(0.1, 1, (n, n))
    P = P + P.T
    np.fill_diagonal(P, 0)
    P /= P.sum()
    np.fill_diagonal(P, 1e-300)
    Y = rng.standard_normal((n, dim))
    dof = float(max(dim - 1, 1))
    grad = np.empty_like(Y)
    err = _bhtsne._exact_gradient(Y, P, 1.0, dof, grad, True)
    assert err == pytest.approx(kl_exact(Y, P, dof), rel=1e-9)
    num = np.empty_like(Y)
    h = 1e-6
    for i in range(n):
        for k in range(dim):
            Yp, Ym = Y.copy(), Y.copy()
            Yp[i, k] += h
            Ym[i, k] -= h
            num[i, k] = (kl_exact(Yp, P, dof) - kl_exact(Ym, P, dof)) / (2 * h)
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-8)


def _one_step_moves(Y, P, p_floor, *, angle, dof):
    """The moves of Y by one descent step (learning rate 1, no momentum) with the exact
    gradient (P floored at p_floor) and with the Barnes-Hut one (P's upper triangle)."""
    from scipy.sparse import csr_matrix, triu

    Ps = triu(csr_matrix(P), k=1, format="csr")
    Ye, Yb = Y.copy(), Y.copy()
    _bhtsne.optimize_exact(
        Ye, np.maximum(P, p_floor), 1.0, 0.0, 1.0, 0, 1, np.zeros_like(Y), np.ones_like(Y),
        dof, 0.01, 0.0, 300, np.inf, 0,
    )  # fmt: skip
    _bhtsne.optimize_barnes_hut(
        Yb, Ps.indptr.astype(np.int64), Ps.indices.astype(np.int64), Ps.data, 1.0, 0.0, 1.0,
        0, 1, np.zeros_like(Y), np.ones_like(Y), angle, dof, 0.01, 0.0, 300, np.inf, 0,
    )  # fmt: skip
    return Ye - Y, Yb - Y


@pytest.mark.parametrize("dim", [2, 3])
@pytest.mark.parametrize("duplicates", [False, True])
def test_barnes_hut_with_angle_zero_is_the_exact_gradient(dim, duplicates):
    rng = np.random.default_rng(2)
    n = 80
    Y = rng.standard_normal((n, dim))
    if duplicates:
        Y[5:9] = Y[4]
    P = np.zeros((n, n))
    for i in range(n):
        j = rng.choice(np.delete(np.arange(n), i), size=6, replace=False)
        P[i, j] = rng.uniform(0.1, 1, 6)
    P = P + P.T
    P /= P.sum()
    dof = float(max(dim - 1, 1))
    # one descent step from the same point with both gradients gives the same move
    exact, bh = _one_step_moves(Y, P, np.finfo(float).eps, angle=0.0, dof=dof)
    np.testing.assert_allclose(bh, exact, rtol=1e-7, atol=1e-12)


def test_barnes_hut_default_angle_is_close_to_exact():
    rng = np.random.default_rng(3)
    n = 400
    Y = rng.standard_normal((n, 2)) * 5
    P = np.full((n, n), 1.0 / (n * (n - 1)))
    np.fill_diagonal(P, 0)
    exact, bh = _one_step_moves(Y, P, 1e-300, angle=0.5, dof=1.0)
    rel = np.linalg.norm(bh - exact) / np.linalg.norm(exact)
    assert rel < 0.05


# --------------------------------------------------------------------------- t-SNE


def test_tsne_digits_trustworthiness():
    X, _ = digits()
    tsne = TSNE(random_state=0)
    E = tsne.fit_transform(X)
    assert E.shape == (1797, 2)
    assert trustworthiness(X, E) >= 0.99
    assert tsne.n_iter_ == 1000
    assert tsne.learning_rate_ == 50.0  # max(1797 / 12 / 4, 50)
    assert 0 < tsne.kl_divergence_ < 1.5


def test_tsne_exact_on_iris_is_close_to_sklearn():
    manifold = pytest.importorskip("sklearn.manifold")
    X, _ = iris()
    ours = TSNE(method="exact", random_state=0, max_iter=500).fit(X)
    ref = manifold.TSNE(method="exact", random_state=0, max_iter=500).fit(X)
    assert abs(ours.kl_divergence_ - ref.kl_divergence_) < 0.05
    assert trustworthiness(X, ours.embedding_) > trustworthiness(X, ref.embedding_) - 0.02


def test_tsne_3d_barnes_hut_and_reproducibility():
    X, _ = iris()
    a = TSNE(3, random_state=1, max_iter=300).fit_transform(X)
    b = TSNE(3, random_state=1, max_iter=300).fit_transform(X)
    np.testing.assert_array_equal(a, b)
    assert trustworthiness(X, a) > 0.95


@pytest.mark.parametrize("method", ["barnes_hut", "exact"])
def test_tsne_constant_and_duplicated_rows_are_finite(method):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        E = TSNE(perplexity=5, method=method, random_state=0, max_iter=300).fit_transform(
            np.ones((40, 3))
        )
        assert np.isfinite(E).all()
        X, _ = iris()
        X = np.vstack([X, X[:30], X[:30]])  # many duplicated rows (iris has some already)
        E = TSNE(perplexity=10, method=method, random_state=0, max_iter=300).fit_transform(X)
        assert np.isfinite(E).all()


def test_tsne_precomputed_squared_distances_give_the_same_p():
    X = np.random.default_rng(4).standard_normal((150, 4))  # no ties among the distances
    D = ((X[:, None] - X[None]) ** 2).sum(-1)
    a = TSNE(perplexity=10)._joint_probabilities(X, len(X))
    b = TSNE(perplexity=10, metric="precomputed", init="random")._joint_probabilities(D, len(X))
    np.testing.assert_allclose(a.toarray(), b.toarray(), atol=1e-12)
    P = a.toarray()
    np.testing.assert_allclose(P, P.T, atol=1e-15)
    assert P.sum() == pytest.approx(1.0)


def test_tsne_errors():
    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match="perplexity=20.0 must be less than n_samples=20"):
        TSNE(perplexity=20.0).fit(X)
    with pytest.raises(ValueError, match="n_components <= 3"):
        TSNE(4).fit(X)
    with pytest.raises(ValueError, match="method"):
        TSNE(method="fft").fit(X)
    with pytest.raises(ValueError, match="init"):
        TSNE(perplexity=5, init=np.zeros((3, 2))).fit(X)
    with pytest.raises(ValueError, match="pca"):
        TSNE(metric="precomputed").fit(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="NaN"):
        TSNE().fit(np.full((5, 2), np.nan))
