"""scikit-learn's estimator conformance suite on every supervised estimator."""

import pytest

sklearn_checks = pytest.importorskip("sklearn.utils.estimator_checks")

from netchain.ml import (  # noqa: E402
    SVC,
    DecisionTreeClassifier,
    DecisionTreeRegressor,
    KNeighborsClassifier,
    KNeighborsRegressor,
    LinearRegression,
    LogisticRegression,
    MLPClassifier,
    MLPRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
    Ridge,
)

ESTIMATORS = [
    KNeighborsClassifier(),
    KNeighborsRegressor(),
    LinearRegression(),
    Ridge(),
    LogisticRegression(),
    SVC(),
    SVC(probability=True, random_state=0),
    DecisionTreeClassifier(random_state=0),
    DecisionTreeRegressor(random_state=0),
    RandomForestClassifier(n_estimators=10, random_state=0),
    RandomForestRegressor(n_estimators=10, random_state=0),
    MLPClassifier((16,), learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPRegressor((16,), learning_rate_init=0.01, max_iter=100, random_state=0),
]

# Checks expected to fail, with the reason. Every estimator: netchain raises its own
# NotFittedError (a ValueError and AttributeError, like scikit-learn's), and the check insists on
# scikit-learn's class, which netchain cannot import at run time.
UNFITTED = {
    "check_estimators_unfitted": (
        "raises netchain.ml.NotFittedError (ValueError, AttributeError), not scikit-learn's class"
    )
}
EXPECTED_FAILURES: dict[str, dict[str, str]] = {
    # Weights scale C per sample; the iterative solver stops at tol, so weighted and repeated
    # fits agree to about 1e-3, not the 1e-7 the check asks (scikit-learn lists the same check
    # for its SVC). With probability=True the internal folds also differ.
    "SVC": {
        "check_sample_weight_equivalence_on_dense_data": (
            "SMO stops at tol=1e-3; Platt folds differ between weighted and repeated data"
        )
    },
    # The bootstrap draws rows, so repeated rows change the draws (scikit-learn lists the same).
    "RandomForestClassifier": {
        "check_sample_weight_equivalence_on_dense_data": (
            "bootstrap draws rows: repeating rows changes the bootstrap samples"
        )
    },
    "RandomForestRegressor": {
        "check_sample_weight_equivalence_on_dense_data": (
            "bootstrap draws rows: repeating rows changes the bootstrap samples"
        )
    },
}


def _expected(estimator):
    return {**UNFITTED, **EXPECTED_FAILURES.get(type(estimator).__name__, {})}


@sklearn_checks.parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected)
def test_sklearn_compatible(estimator, check):
    check(estimator)
