"""PCA and KernelPCA against scikit-learn and closed forms."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_unsupervised import digits, iris, standardize  # noqa: E402

from netchain.ml.base import NotFittedError  # noqa: E402
from netchain.ml.decomposition import PCA, KernelPCA  # noqa: E402


def test_pca_iris_explained_variance_ratio():
    X, _ = iris()
    ratio = PCA().fit(X).explained_variance_ratio_
    np.testing.assert_allclose(ratio, [0.92461872, 0.05306648, 0.01710261, 0.00521218], atol=1e-6)


@pytest.mark.parametrize("solver", ["full", "covariance_eigh", "auto"])
def test_pca_equals_sklearn(solver):
    decomposition = pytest.importorskip("sklearn.decomposition")
    X, _ = digits()
    X = X[:700]
    for whiten in (False, True):
        ours = PCA(10, svd_solver=solver, whiten=whiten).fit(X)
        ref = decomposition.PCA(10, svd_solver=solver, whiten=whiten).fit(X)
        np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-9)
        np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-10)
        np.testing.assert_allclose(
            ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-10
        )
        np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-10)
        assert ours.noise_variance_ == pytest.approx(ref.noise_variance_, rel=1e-10)
        np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-8)
        np.testing.assert_allclose(
            ours.inverse_transform(ours.transform(X)),
            ref.inverse_transform(ref.transform(X)),
            atol=1e-8,
        )


def test_pca_randomized_is_close_to_full():
    X, _ = digits()
    full = PCA(8, svd_solver="full").fit(X)
    rnd = PCA(8, svd_solver="randomized", random_state=0).fit(X)
    np.testing.assert_allclose(rnd.explained_variance_[:5], full.explained_variance_[:5], rtol=1e-4)
    np.testing.assert_allclose(
        np.abs(rnd.components_[:5] @ full.components_[:5].T), np.eye(5), atol=1e-3
    )
    # signs are deterministic: the same convention for both solvers
    assert (np.einsum("ij,ij->i", rnd.components_[:5], full.components_[:5]) > 0).all()


def test_pca_signs_are_deterministic_and_the_axes_orthonormal():
    X, _ = iris()
    a = PCA().fit(X)
    b = PCA().fit(X[::-1])  # reordered rows, same axes with the same signs
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-12)
    idx = np.argmax(np.abs(a.components_), axis=1)
    assert (a.components_[np.arange(4), idx] > 0).all()
    np.testing.assert_allclose(a.components_ @ a.components_.T, np.eye(4), atol=1e-12)


def test_pca_full_rank_round_trip_and_whitening():
    X, _ = iris()
    p = PCA(whiten=True).fit(X)
    Z = p.transform(X)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(4), atol=1e-10)
    np.testing.assert_allclose(p.inverse_transform(Z), X, atol=1e-10)
    np.testing.assert_allclose(p.fit_transform(X), Z, atol=1e-10)


def test_pca_fractional_n_components():
    X, _ = digits()
    p = PCA(0.9).fit(X)
    cum = np.cumsum(PCA().fit(X).explained_variance_ratio_)
    assert p.n_components_ == int(np.searchsorted(cum, 0.9, side="right")) + 1
    assert p.explained_variance_ratio_.sum() > 0.9
    assert p.explained_variance_ratio_[:-1].sum() <= 0.9


def test_pca_constant_data_gives_zero_ratios():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = PCA().fit(np.full((6, 3), 2.5))
    np.testing.assert_array_equal(p.explained_variance_ratio_, np.zeros(3))
    np.testing.assert_array_equal(p.explained_variance_, np.zeros(3))
    assert np.isfinite(p.transform(np.ones((2, 3)))).all()


def test_pca_errors():
    X = np.random.default_rng(0).standard_normal((5, 3))
    with pytest.raises(ValueError, match="min\\(n_samples, n_features\\)=3"):
        PCA(4).fit(X)
    with pytest.raises(ValueError, match="min\\(n_samples, n_features\\)=2"):
        PCA(3).fit(X[:2])
    with pytest.raises(ValueError, match="between 1"):
        PCA(0).fit(X)
    with pytest.raises(ValueError, match="\\(0, 1\\)"):
        PCA(1.5).fit(X)
    with pytest.raises(ValueError, match="svd_solver"):
        PCA(2, svd_solver="arpack").fit(X)
    with pytest.raises(NotFittedError):
        PCA(2).transform(X)
    with pytest.raises(ValueError, match="features"):
        PCA(2).fit(X).transform(np.zeros((2, 4)))


@pytest.mark.parametrize("kernel", ["linear", "rbf", "poly"])
@pytest.mark.parametrize("n_components", [3, None])
def test_kernel_pca_equals_sklearn(kernel, n_components):
    decomposition = pytest.importorskip("sklearn.decomposition")
    X = standardize(iris()[0])
    ours = KernelPCA(n_components, kernel=kernel, fit_inverse_transform=True).fit(X)
    ref = decomposition.KernelPCA(n_components, kernel=kernel, fit_inverse_transform=True).fit(X)
    assert ours.eigenvalues_.shape == ref.eigenvalues_.shape
    np.testing.assert_allclose(ours.eigenvalues_, ref.eigenvalues_, rtol=1e-8, atol=1e-8)
    k = 3
    np.testing.assert_allclose(ours.fit_transform(X)[:, :k], ref.fit_transform(X)[:, :k], atol=1e-8)
    np.testing.assert_allclose(ours.transform(X[:7])[:, :k], ref.transform(X[:7])[:, :k], atol=1e-8)
    np.testing.assert_allclose(
        ours.inverse_transform(ours.transform(X[:7])),
        ref.inverse_transform(ref.transform(X[:7])),
        atol=1e-8,
    )


def test_kernel_pca_arpack_equals_dense_and_linear_equals_pca():
    X, _ = digits()
    X = X[:400]
    dense = KernelPCA(4, kernel="rbf", gamma=1e-3, eigen_solver="dense").fit_transform(X)
    arpack = KernelPCA(4, kernel="rbf", gamma=1e-3, eigen_solver="arpack", random_state=0)
    np.testing.assert_allclose(arpack.fit_transform(X), dense, atol=1e-7)
    # with the linear kernel, kernel PCA is PCA (up to the signs' convention on other vectors)
    lin = KernelPCA(4, kernel="linear").fit_transform(X)
    pca = PCA(4, svd_solver="full").fit_transform(X)
    np.testing.assert_allclose(np.abs(lin), np.abs(pca), atol=1e-7)


def test_kernel_pca_precomputed_equals_kernel():
    X = standardize(iris()[0])
    K = np.exp(-0.5 * ((X[:, None] - X[None]) ** 2).sum(-1))
    a = KernelPCA(3, kernel="rbf", gamma=0.5).fit(X)
    b = KernelPCA(3, kernel="precomputed").fit(K)
    np.testing.assert_allclose(b.transform(K[:5]), a.transform(X[:5]), atol=1e-9)


def test_kernel_pca_negative_eigenvalues():
    X = standardize(iris()[0])
    with pytest.raises(ValueError, match="large negative eigenvalue"):
        KernelPCA(kernel="sigmoid").fit(X)
    # a Gram matrix with a tiny negative eigenvalue: clipped with a warning
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    Q[:, -1] = 1 / np.sqrt(30)  # keep the constant direction out of the centred problem
    Q, _ = np.linalg.qr(Q[:, ::-1])
    evals = np.r_[0.0, -1e-7, np.linspace(1, 5, 28)]
    K = (Q * evals) @ Q.T
    K = (K + K.T) / 2
    with pytest.warns(UserWarning, match="clipped"):
        kp = KernelPCA(kernel="precomputed").fit(K)
    assert (kp.eigenvalues_ > 0).all()
    assert np.isfinite(kp.transform(K)).all()


def test_kernel_pca_errors():
    X = np.random.default_rng(0).standard_normal((6, 2))
    with pytest.raises(ValueError, match="n_components=7"):
        KernelPCA(7).fit(X)
    with pytest.raises(ValueError, match="kernel"):
        KernelPCA(2, kernel="laplacian").fit(X)
    with pytest.raises(ValueError, match="fit_inverse_transform"):
        KernelPCA(2).fit(X).inverse_transform(np.zeros((1, 2)))
