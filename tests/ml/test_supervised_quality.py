"""Accuracy on the bundled UCI data, stratified 75/25 split with random_state 0, against
scikit-learn on the same split and settings (within 0.02) and against the issue's figures."""

import numpy as np
import pytest

import netchain.ml as nml

sk = pytest.importorskip("sklearn")
from sklearn import ensemble, linear_model, neighbors, svm, tree  # noqa: E402

CASES = [
    # (data fixture, standardise, ours, scikit-learn's, the figure)
    (
        "digits",
        False,
        lambda: nml.KNeighborsClassifier(5),
        lambda: neighbors.KNeighborsClassifier(5),
        0.980,
    ),
    (
        "iris",
        False,
        lambda: nml.KNeighborsClassifier(5),
        lambda: neighbors.KNeighborsClassifier(5),
        1.000,
    ),
    (
        "wine",
        True,
        lambda: nml.LogisticRegression(),
        lambda: linear_model.LogisticRegression(),
        1.000,
    ),
    (
        "breast_cancer",
        True,
        lambda: nml.LogisticRegression(),
        lambda: linear_model.LogisticRegression(),
        0.958,
    ),
    (
        "digits",
        False,
        lambda: nml.LogisticRegression(),
        lambda: linear_model.LogisticRegression(),
        0.960,
    ),
    ("digits", False, lambda: nml.SVC(), lambda: svm.SVC(), 0.987),
    ("wine", True, lambda: nml.SVC(), lambda: svm.SVC(), 1.000),
    (
        "digits",
        False,
        lambda: nml.DecisionTreeClassifier(random_state=0),
        lambda: tree.DecisionTreeClassifier(random_state=0),
        0.856,
    ),
    (
        "digits",
        False,
        lambda: nml.RandomForestClassifier(100, random_state=0),
        lambda: ensemble.RandomForestClassifier(100, random_state=0),
        0.982,
    ),
    (
        "wine",
        False,
        lambda: nml.RandomForestClassifier(100, random_state=0),
        lambda: ensemble.RandomForestClassifier(100, random_state=0),
        1.000,
    ),
]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # max_iter reached on raw digits, as in sklearn
@pytest.mark.parametrize(
    "data,scale,ours,peer,figure", CASES, ids=[f"{c[0]}-{c[2]().__class__.__name__}" for c in CASES]
)
def test_accuracy_matches_scikit_learn(request, split, scaled, data, scale, ours, peer, figure):
    X, y = request.getfixturevalue(data)
    Xtr, Xte, ytr, yte = split(X, y)
    if scale:
        Xtr, Xte = scaled(Xtr, Xte)
    ours_acc = ours().fit(Xtr, ytr).score(Xte, yte)
    peer_acc = peer().fit(Xtr, ytr).score(Xte, yte)
    assert abs(ours_acc - peer_acc) <= 0.02, (ours_acc, peer_acc)
    assert ours_acc >= figure - 0.02, (ours_acc, figure)


def test_linear_regression_on_diabetes(diabetes):
    """All 442 rows, features centred and scaled to unit norm (scikit-learn's load_diabetes)."""
    lm = pytest.importorskip("sklearn.linear_model")
    X, y = diabetes
    X = X - X.mean(axis=0)
    X /= np.sqrt((X**2).sum(axis=0))
    ours = nml.LinearRegression().fit(X, y)
    ref = lm.LinearRegression().fit(X, y)
    assert ours.intercept_ == pytest.approx(152.133, abs=5e-4)
    assert ours.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=0, atol=1e-6)
    assert ours.score(X, y) == pytest.approx(0.5177, abs=5e-5)


def test_linear_regression_collinear_minimum_norm():
    m = nml.LinearRegression().fit([[1, 1], [2, 2], [3, 3]], [1, 2, 3])
    np.testing.assert_allclose(m.coef_, [0.5, 0.5], atol=1e-12)
    assert m.intercept_ == pytest.approx(0.0, abs=1e-12)
    assert m.rank_ == 1
