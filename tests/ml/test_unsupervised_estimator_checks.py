"""scikit-learn's estimator conformance suite on the unsupervised estimators.

One check is expected to fail for estimators with ``predict`` / ``decision_function``:
``check_estimators_unfitted`` insists on scikit-learn's own ``NotFittedError`` class, which
netchain cannot raise without importing scikit-learn at run time; netchain raises its own
``NotFittedError`` (also a ValueError and an AttributeError), tested in the modules' tests.
"""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn")
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from netchain.ml import (  # noqa: E402
    DBSCAN,
    PCA,
    TSNE,
    AgglomerativeClustering,
    IsolationForest,
    KernelPCA,
    KMeans,
    LocallyLinearEmbedding,
    OneClassSVM,
)

ESTIMATORS = [
    KMeans(3, n_init=2, random_state=0),
    KMeans(3, algorithm="elkan", random_state=0),
    DBSCAN(),
    AgglomerativeClustering(),
    AgglomerativeClustering(linkage="single"),
    PCA(),
    PCA(2, svd_solver="randomized", random_state=0),
    KernelPCA(kernel="rbf"),
    IsolationForest(n_estimators=10, random_state=0),
    OneClassSVM(nu=0.3),
    LocallyLinearEmbedding(),
    TSNE(perplexity=3, max_iter=250, random_state=0),
]

_NEEDS_SKLEARN_EXCEPTION = {
    "check_estimators_unfitted": "needs scikit-learn's own NotFittedError class"
}


def expected_failures(estimator):
    if hasattr(estimator, "predict") or hasattr(estimator, "decision_function"):
        return _NEEDS_SKLEARN_EXCEPTION
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)
