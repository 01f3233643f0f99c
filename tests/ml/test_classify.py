"""Classify / Predict, their functions and measurements."""

import numpy as np
import pytest

from netchain.ml import (
    ClassifierFunction,
    ClassifierMeasurements,
    Classify,
    Predict,
    PredictorFunction,
    PredictorMeasurements,
)
from netchain.ml.classify import CLASSIFY_METHODS

METHODS = [
    "NearestNeighbors",
    "LogisticRegression",
    "SupportVectorMachine",
    "DecisionTree",
    "RandomForest",
]


@pytest.fixture(scope="module")
def iris_named(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(X))
    tr, te = perm[:100], perm[100:]
    return (X[tr], names[tr]), (X[te], names[te])


@pytest.mark.parametrize("method", METHODS)
def test_every_method_learns_iris(iris_named, method):
    train, test = iris_named
    c = Classify(train, method=method)
    assert isinstance(c, ClassifierFunction) and c.method == method
    assert c.classes == ["setosa", "versicolor", "virginica"]
    assert ClassifierMeasurements(c, test, "Accuracy") >= 0.9
    probs = c(test[0][0], "Probabilities")
    assert set(probs) == set(c.classes) and sum(probs.values()) == pytest.approx(1.0)


def test_automatic_is_deterministic_and_good(iris_named):
    train, test = iris_named
    a = Classify(train)
    b = Classify(train, random_seed=1234)
    assert a.method == b.method and a.method in CLASSIFY_METHODS
    assert a(test[0]) == b(test[0])
    assert ClassifierMeasurements(a, test, "Accuracy") >= 0.9


def test_data_forms_agree():
    X = np.array([[0.0, 0.1], [0.2, 0.0], [1.0, 1.1], [0.9, 1.0], [0.1, 0.2], [1.1, 0.9]])
    y = ["lo", "lo", "hi", "hi", "lo", "hi"]
    as_dict = {tuple(x): label for x, label in zip(X.tolist(), y)}
    as_pairs = [(tuple(x), label) for x, label in zip(X.tolist(), y)]
    forms = [as_dict, as_pairs, (X, y), (X, np.array(y))]
    preds = [Classify(d, method="LogisticRegression")([[0.0, 0.0], [1.0, 1.0]]) for d in forms]
    assert all(p == ["lo", "hi"] for p in preds)


def test_labels_of_any_hashable_type_and_scalar_examples():
    data = {
        1.0: ("a", 1),
        2.0: ("a", 1),
        3.0: ("a", 1),
        7.0: ("b", 2),
        8.0: ("b", 2),
        9.0: ("b", 2),
    }
    c = Classify(data, method="NearestNeighbors")
    assert c(1.5) == ("a", 1) and c([8.5, 2.5]) == [("b", 2), ("a", 1)]
    mixed = Classify({0.0: 1, 0.5: 1, 5.0: "five", 5.5: "five"}, method="DecisionTree")
    assert mixed(0.2) == 1 and mixed(5.2) == "five"
    assert set(mixed.classes) == {1, "five"}


def test_properties():
    c = Classify({0.0: "x", 1.0: "x", 4.0: "y", 5.0: "y"}, method="LogisticRegression")
    p = c(2.5, "Probabilities")
    assert c(2.5, ("Probability", "y")) == pytest.approx(p["y"])
    top = c(0.0, "TopProbabilities")
    assert top[0][0] == "x" and all(q >= 0.1 for _, q in top)
    assert [x for x, _ in c(5.0, "TopProbabilities")][0] == "y"
    with pytest.raises(ValueError, match="property"):
        c(1.0, "Entropy")
    with pytest.raises(ValueError, match="unknown class"):
        c(1.0, ("Probability", "z"))
    with pytest.raises(ValueError, match="1 feature"):
        c([[1.0, 2.0]])


def test_measurements_match_scikit_learn(iris_named):
    metrics = pytest.importorskip("sklearn.metrics")
    train, test = iris_named
    c = Classify(train, method="DecisionTree")
    X, y = test
    pred = np.array(c(X), dtype=object)
    labels = c.classes
    cm = ClassifierMeasurements(c, test, "ConfusionMatrix")
    np.testing.assert_array_equal(cm, metrics.confusion_matrix(y, pred, labels=labels))
    p, r, f, _ = metrics.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    got = ClassifierMeasurements(c, test, ["Precision", "Recall", "F1Score"])
    for mine, ref in zip(got, (p, r, f)):
        np.testing.assert_allclose([mine[k] for k in labels], ref)
    c2 = Classify(train, method="LogisticRegression")
    P = np.array([[d[k] for k in labels] for d in c2(X, "Probabilities")])
    ll = ClassifierMeasurements(c2, test, "LogLikelihood")
    assert ll == pytest.approx(-metrics.log_loss(y, P, labels=labels) * len(y))


def test_classify_errors():
    with pytest.raises(ValueError, match="method"):
        Classify({0: "a", 1: "b"}, method="Bayes")
    with pytest.raises(ValueError, match="two classes"):
        Classify({0: "a", 1: "a"})
    with pytest.raises(TypeError, match="dict"):
        Classify("not data")
    with pytest.raises(TypeError, match="numeric"):
        Classify({"x": "a", "y": "b"})
    with pytest.raises(ValueError, match="NaN"):
        Classify({0.0: "a", float("nan"): "b"})
    c = Classify({0.0: "a", 1.0: "b", 0.1: "a", 0.9: "b"}, method="NearestNeighbors")
    with pytest.raises(ValueError, match=r"labels \['c'\] are not classes"):
        ClassifierMeasurements(c, {0.5: "c"}, "Accuracy")
    # unseen labels are shown as the values they are (numbers unquoted, in numeric order)
    X = np.array([[0.0], [1.0], [2.0], [0.1], [1.1], [2.1]])
    y = np.array([0, 1, 2, 0, 1, 2])
    c3 = Classify((X, y), method="NearestNeighbors")
    with pytest.raises(ValueError, match=r"labels \[9, 10, 11\] are not classes .*\[0, 1, 2\]"):
        ClassifierMeasurements(c3, (X, y + 9), "Accuracy")
    with pytest.raises(ValueError, match=r"labels \[3, 'x'\] are not classes"):
        ClassifierMeasurements(c3, (X[:3], np.array([0, 3, "x"], dtype=object)), "Accuracy")
    with pytest.raises(ValueError, match="prop"):
        ClassifierMeasurements(c, {0.5: "a"}, "AUC")
    with pytest.raises(TypeError, match="ClassifierFunction"):
        ClassifierMeasurements("c", {0.5: "a"}, "Accuracy")


def test_method_options():
    data = {float(i): ("a" if i < 5 else "b") for i in range(10)}
    c = Classify(data, method=("NearestNeighbors", {"n_neighbors": 1}))
    assert c.estimator.n_neighbors == 1
    with pytest.raises(ValueError, match="named method"):
        Classify(data, method=("Automatic", {"n_neighbors": 1}))


def test_predict_linear_and_measurements():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -2.0, 0.5] + 4.0
    p = Predict((X, y), method="LinearRegression")
    assert isinstance(p, PredictorFunction)
    assert p(X[0]) == pytest.approx(y[0])
    np.testing.assert_allclose(p(X[:5]), y[:5])
    assert PredictorMeasurements(p, (X, y), "RSquared") == pytest.approx(1.0)
    assert Predict({1: 1.0, 2: 3.0, 3: 5.0}, method="LinearRegression")(4) == pytest.approx(7.0)


def test_predict_methods_and_automatic(diabetes):
    metrics = pytest.importorskip("sklearn.metrics")
    X, y = diabetes
    train, test = (X[:330], y[:330]), (X[330:], y[330:])
    for method in ["LinearRegression", "NearestNeighbors", "DecisionTree", "RandomForest"]:
        p = Predict(train, method=method)
        pred = np.array(p(test[0]))
        r2, ms, sd = PredictorMeasurements(p, test, ["RSquared", "MeanSquare", "StandardDeviation"])
        assert r2 == pytest.approx(metrics.r2_score(test[1], pred))
        assert ms == pytest.approx(metrics.mean_squared_error(test[1], pred))
        assert sd == pytest.approx(np.sqrt(ms))
        assert r2 > (0.3 if method != "DecisionTree" else -0.5)
    auto = Predict(train)
    assert auto.method in ("LinearRegression", "RandomForest", "NearestNeighbors")
    assert PredictorMeasurements(auto, test, "RSquared") > 0.35
    with pytest.raises(TypeError, match="numeric"):
        Predict({1: "a", 2: "b"})
