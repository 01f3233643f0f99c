"""The shared helpers that the supervised estimators added to netchain.ml.base, and the
NotFittedError of every estimator (scikit-learn's own check wants its own class)."""

import pickle

import numpy as np
import pytest

import netchain.ml as nml
from netchain.ml.base import (
    DataConversionWarning,
    available_if,
    check_classification_targets,
    check_sample_weight,
    check_X_y,
    class_weight_vector,
)

ESTIMATORS = [
    nml.KNeighborsClassifier,
    nml.KNeighborsRegressor,
    nml.LinearRegression,
    nml.Ridge,
    nml.LogisticRegression,
    nml.SVC,
    nml.DecisionTreeClassifier,
    nml.DecisionTreeRegressor,
    nml.RandomForestClassifier,
    nml.RandomForestRegressor,
]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_not_fitted_then_fitted_and_pickled(cls):
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.arange(30) % 2
    est = cls()
    for method in ("predict", "predict_proba", "decision_function"):
        if hasattr(est, method):
            with pytest.raises(nml.NotFittedError, match="not fitted"):
                getattr(est, method)(X)
    params = est.get_params()
    assert est.fit(X, y) is est
    assert est.get_params() == params  # fit leaves the parameters alone
    assert est.n_features_in_ == 3
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))


def test_available_if():
    class A:
        def __init__(self, on):
            self.on = on

        @available_if(lambda self: self.on)
        def f(self, x):
            """Doubles."""
            return 2 * x

    assert A(True).f(3) == 6 and hasattr(A(True), "f")
    assert not hasattr(A(False), "f")
    assert A.f.__doc__ == "Doubles."


def test_check_sample_weight():
    np.testing.assert_array_equal(check_sample_weight(None, 3), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(check_sample_weight(2, 2), [2.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        check_sample_weight([1.0, 2.0], 3)
    with pytest.raises(ValueError, match="non-negative"):
        check_sample_weight([1.0, -2.0], 2)
    with pytest.raises(ValueError, match="NaN"):
        check_sample_weight([1.0, np.nan], 2)
    with pytest.raises(ValueError, match="non-zero"):
        check_sample_weight([0.0, 0.0], 2)


def test_class_weight_vector():
    classes = np.array(["a", "b", "c"])
    codes = np.array([0, 0, 0, 1, 2, 2])
    np.testing.assert_array_equal(class_weight_vector(None, classes, codes), [1, 1, 1])
    np.testing.assert_allclose(class_weight_vector("balanced", classes, codes), [6 / 9, 2, 1])
    np.testing.assert_array_equal(class_weight_vector({"b": 3.0}, classes, codes), [1, 3, 1])
    with pytest.raises(ValueError, match="not classes"):
        class_weight_vector({"z": 1.0}, classes, codes)
    with pytest.raises(ValueError, match="class_weight"):
        class_weight_vector("auto", classes, codes)


def test_targets_and_column_vectors():
    check_classification_targets(np.array([0.0, 1.0, 2.0]))
    check_classification_targets(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="continuous"):
        check_classification_targets(np.array([0.5, 1.0]))
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        _, y = check_X_y(np.zeros((3, 2)), np.zeros((3, 1)))
    assert y.shape == (3,)
