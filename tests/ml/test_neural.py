"""The neural-network estimators and the "NeuralNetwork" method of Classify and Predict."""

from __future__ import annotations

import numpy as np
import pytest

from netchain.datasets import load_diabetes, load_digits, load_iris, standardize, train_test_split
from netchain.ml import ClassifierMeasurements, Classify, MLPClassifier, MLPRegressor, Predict


def test_mlp_classifier_on_digits_is_as_good_as_scikit_learns():
    sk = pytest.importorskip("sklearn.neural_network")
    d = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(d.X, d.y, 0.25, random_seed=0)
    Xtr, Xte = standardize(Xtr, Xte)
    ours = MLPClassifier((64,), batch_size=32, max_iter=40, random_state=0).fit(Xtr, ytr)
    theirs = sk.MLPClassifier((64,), batch_size=32, max_iter=40, random_state=0).fit(Xtr, ytr)
    acc, ref = ours.score(Xte, yte), theirs.score(Xte, yte)
    assert acc >= 0.96 and acc >= ref - 0.02
    proba = ours.predict_proba(Xte)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert len(ours.loss_curve_) == 40 and ours.loss_curve_[-1] < ours.loss_curve_[0] / 10


def test_mlp_classifier_keeps_labels_and_is_reproducible():
    iris = load_iris()
    names = np.array(iris.target_names)[iris.y]
    X = standardize(iris.X)[0]
    a = MLPClassifier((8,), max_iter=300, learning_rate_init=0.01, random_state=3).fit(X, names)
    b = MLPClassifier((8,), max_iter=300, learning_rate_init=0.01, random_state=3).fit(X, names)
    assert set(a.predict(X)) <= set(iris.target_names)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.score(X, names) > 0.95


def test_mlp_regressor_on_diabetes_is_as_good_as_scikit_learns():
    sk = pytest.importorskip("sklearn.neural_network")
    d = load_diabetes()
    Xtr, Xte, ytr, yte = train_test_split(d.X, d.y, 0.25, stratify=False, random_seed=0)
    Xtr, Xte = standardize(Xtr, Xte)
    ours = MLPRegressor((32,), batch_size=32, max_iter=60, alpha=1e-2, random_state=0).fit(Xtr, ytr)
    mean, sd = ytr.mean(), ytr.std()
    theirs = sk.MLPRegressor(
        hidden_layer_sizes=(32,), batch_size=32, max_iter=60, alpha=1e-2, random_state=0
    )
    theirs.fit(Xtr, (ytr - mean) / sd)
    ref = 1 - np.mean((theirs.predict(Xte) * sd + mean - yte) ** 2) / np.var(yte)
    r2 = ours.score(Xte, yte)
    assert r2 > 0.3 and r2 >= ref - 0.05


def test_bad_parameters_and_targets():
    X = np.random.default_rng(0).standard_normal((10, 2))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier((0,)).fit(X, np.arange(10) % 2)
    with pytest.raises(ValueError, match="two classes"):
        MLPClassifier().fit(X, np.zeros(10))
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor().fit(np.full((3, 2), np.nan), [1.0, 2.0, 3.0])


def test_classify_and_predict_with_a_neural_network():
    iris = load_iris()
    names = np.array(iris.target_names)[iris.y]
    Xtr, Xte, ytr, yte = train_test_split(iris.X, names, 0.3, random_seed=0)
    c = Classify((Xtr, ytr), method="NeuralNetwork")
    assert ClassifierMeasurements(c, (Xte, yte), "Accuracy") >= 0.9
    p = c(Xte[0], "Probabilities")
    assert set(p) == set(iris.target_names) and sum(p.values()) == pytest.approx(1.0)
    x = np.linspace(-2, 2, 200)[:, None]
    f = Predict((x, np.sin(2 * x[:, 0])), method="NeuralNetwork")
    np.testing.assert_allclose(f(x[::20]), np.sin(2 * x[::20, 0]), atol=0.15)
