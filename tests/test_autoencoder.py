"""Autoencoders: the dense one against principal components (a linear autoencoder reaches PCA's
error, the Eckart-Young bound), the convolutional one on MNIST against PCA with 32 components,
DimensionReduce(..., method="Autoencoder"), saving and loading, errors and the CLI.

The convolutional autoencoder trains 5 rounds here (about 15 s; test error about 0.013 against
PCA's 0.0174); its full run (20 rounds, about 0.007) is ``examples/autoencoders_mnist.py`` and
``netchain train --net convautoencoder --data mnist``.
"""

from __future__ import annotations

import numpy as np
import pytest

from netchain import NetLoad
from netchain.datasets import load_digits
from netchain.ml import PCA, DimensionReduce
from netchain.models import MODELS, Autoencoder, ConvolutionalAutoencoder


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


@pytest.fixture(scope="module")
def digits01():
    X = load_digits().X.astype(np.float64) / 16.0
    return X[:1400], X[1400:]


def _pca_error(Xtr, Xte, k):
    p = PCA(k).fit(Xtr)
    return float(np.mean((p.inverse_transform(p.transform(Xte)) - Xte) ** 2))


def test_linear_autoencoder_reaches_the_principal_components_error(digits01):
    """With no hidden layer, a linear output and the squared error, the best k-unit
    autoencoder reconstructs as well as the first k principal components and no better
    (Baldi & Hornik, 1989)."""
    Xtr, _ = digits01
    k = 4
    ae = Autoencoder(k, hidden=(), output=None).fit(
        Xtr,
        loss="MeanSquared",
        max_training_rounds=600,
        batch_size=256,
        learning_rate=1e-2,
        learning_rate_schedule="Cosine",
        working_precision="Real64",
    )
    bound = _pca_error(Xtr, Xtr, k)
    ratio = ae.reconstruction_loss(Xtr) / bound
    assert 1 - 1e-6 < ratio < 1.005, ratio


def test_conv_autoencoder_beats_pca_32_on_mnist_and_round_trips(mnist_split, tmp_path):
    Xtr, Xte, _, _ = mnist_split
    Xtr, Xte = Xtr[:, None], Xte[:, None]  # (N, 1, 28, 28)
    ae = ConvolutionalAutoencoder(32).fit(
        Xtr, max_training_rounds=5, learning_rate=2e-3, learning_rate_schedule="Cosine"
    )
    mse = ae.reconstruction_loss(Xte)
    pca = _pca_error(Xtr.reshape(8000, -1), Xte.reshape(2000, -1), 32)
    assert 0.0 < mse < pca, (mse, pca)
    assert ae.results_.loss == "CrossEntropy (Binary)"
    # encode / decode are the two halves of the net
    Z = ae.encode(Xte[:50])
    assert Z.shape == (50, 32) and Z.dtype == np.float32
    np.testing.assert_allclose(ae.decode(Z), ae.reconstruct(Xte[:50]), atol=1e-6)
    assert ae.reconstruct(Xte[:50]).shape == (50, 1, 28, 28)
    per = ae.reconstruction_loss(Xte[:50], per_example=True)
    assert per.shape == (50,) and np.isclose(per.mean(), ae.reconstruction_loss(Xte[:50]))
    # flat examples of the right size are accepted
    np.testing.assert_allclose(ae.encode(Xte[:5].reshape(5, -1)), Z[:5], rtol=1e-4, atol=1e-5)
    # saved and loaded
    path = ae.save(tmp_path / "cae.safetensors")
    again = ConvolutionalAutoencoder.load(path)
    assert again.k == 32 and again.channels == ae.channels
    np.testing.assert_array_equal(again.encode(Xte[:50]), Z)
    assert NetLoad(path, "Metadata")["model"] == "ConvolutionalAutoencoder"
    with pytest.raises(ValueError, match="not a Autoencoder"):
        Autoencoder.load(path)


def test_dense_autoencoder_codes_and_errors(digits01, tmp_path):
    Xtr, Xte = digits01
    ae = Autoencoder(8, hidden=(32,))
    with pytest.raises(ValueError, match="not been trained"):
        ae.encode(Xte)
    ae.fit(Xtr, max_training_rounds=40, learning_rate=3e-3)
    assert ae.net.input_shape == (64,)
    # a nonlinear 8-unit code does better than 8 principal components on held-out digits
    assert ae.reconstruction_loss(Xte) < _pca_error(Xtr, Xte, 8)
    assert ae.encode(Xte).shape == (len(Xte), 8)
    assert ae.reconstruct(Xte).shape == (len(Xte), 64)
    again = Autoencoder.load(ae.save(tmp_path / "ae.safetensors"))
    np.testing.assert_array_equal(again.reconstruct(Xte), ae.reconstruct(Xte))
    with pytest.raises(ValueError, match=r"shape \(64,\)"):
        ae.encode(np.zeros((3, 10)))
    with pytest.raises(ValueError, match=r"Z must have shape \(N, 8\)"):
        ae.decode(np.zeros((3, 7)))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        Autoencoder(4).fit(Xtr * 16)
    with pytest.raises(ValueError, match="NaN"):
        Autoencoder(4, output=None).fit(np.full((5, 3), np.nan))
    with pytest.raises(ValueError, match="k must be"):
        Autoencoder(0)
    with pytest.raises(ValueError, match="output"):
        Autoencoder(2, output="Tanh")
    with pytest.raises(ValueError, match="divisible by 4"):
        ConvolutionalAutoencoder(8, input_shape=(1, 10, 10))
    with pytest.raises(ValueError, match="loss"):
        Autoencoder(4).fit(Xtr, loss="Hinge")


def test_dimension_reduce_by_autoencoder_keeps_neighbourhoods_better_than_pca():
    """2-D codes of the UCI digits: the autoencoder's map keeps each digit's nearest
    neighbours (trustworthiness, scikit-learn's measure) better than the first two principal
    components do (about 0.94 against 0.83)."""
    manifold = pytest.importorskip("sklearn.manifold")
    X = load_digits().X
    Z = DimensionReduce(X, 2, method="Autoencoder")
    assert Z.shape == (len(X), 2) and Z.dtype == np.float64
    t_ae = manifold.trustworthiness(X, Z, n_neighbors=5)
    t_pca = manifold.trustworthiness(X, DimensionReduce(X, 2), n_neighbors=5)
    assert t_ae > t_pca + 0.05, (t_ae, t_pca)
    # options reach the autoencoder; the seed makes it reproducible
    opts = ("Autoencoder", {"hidden": (16,), "max_training_rounds": 3})
    a = DimensionReduce(X[:200], 3, method=opts, random_seed=5)
    b = DimensionReduce(X[:200], 3, method=opts, random_seed=5)
    assert a.shape == (200, 3)
    np.testing.assert_array_equal(a, b)


def test_cli_trains_and_evaluates_an_autoencoder(tmp_path, capsys):
    from netchain.cli import main

    out = tmp_path / "ae.safetensors"
    assert (
        main(["train", "--net", "autoencoder", "--rounds", "20", "--quiet", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    mse = float(printed.split("test reconstruction error:")[1].split()[0])
    base = float(printed.split("the mean training example gives")[1].split(")")[0])
    assert 0 < mse < 0.5 * base  # standardised digits: a 32-unit code keeps most of each image
    assert main(["evaluate", str(out)]) == 0
    assert f"test reconstruction error: {mse:.5f}" in capsys.readouterr().out
    assert MODELS["convautoencoder"].build((1, 28, 28), []).output_shape == (1, 28, 28)
