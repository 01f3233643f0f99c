"""IsolationForest against scikit-learn, the paper's closed forms and real data."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_unsupervised import breast_cancer, standardize  # noqa: E402

from netchain.ml.anomaly import IsolationForest, OneClassSVM, _average_path_length  # noqa: E402
from netchain.ml.base import ConvergenceWarning, NotFittedError  # noqa: E402


def auroc(positive, score):
    """Area under the ROC curve by the rank-sum formula (ties get mean ranks)."""
    from scipy.stats import rankdata

    r = rankdata(score)
    n1 = positive.sum()
    n0 = len(positive) - n1
    return (r[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def test_average_path_length_closed_form():
    assert _average_path_length(1) == 0.0
    assert _average_path_length(2) == 1.0
    for n in (3, 10, 256):
        harmonic = sum(1.0 / i for i in range(1, n))
        exact = 2 * harmonic - 2 * (n - 1) / n  # c(n) with the exact harmonic number
        # ln(i) + gamma undershoots H(i) by about 1 / (2 i)
        assert _average_path_length(n) == pytest.approx(exact, abs=1.0 / (n - 1))
        assert _average_path_length(n) < exact


def test_breast_cancer_auroc_near_the_issue_figure():
    X, y = breast_cancer()
    X = standardize(X)
    malignant = y == 0
    scores = [
        auroc(malignant, -IsolationForest(random_state=s).fit(X).score_samples(X)) for s in range(5)
    ]
    assert np.mean(scores) == pytest.approx(0.80, abs=0.03)


def test_scores_track_sklearn():
    ensemble = pytest.importorskip("sklearn.ensemble")
    X, _ = breast_cancer()
    X = standardize(X)
    ours = IsolationForest(n_estimators=400, random_state=0).fit(X).score_samples(X)
    ref = ensemble.IsolationForest(n_estimators=400, random_state=0).fit(X).score_samples(X)
    assert np.corrcoef(ours, ref)[0, 1] > 0.97
    assert abs(ours.mean() - ref.mean()) < 0.02


def test_a_planted_outlier_is_the_most_anomalous():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.standard_normal((300, 2)), [[8.0, 8.0]]])
    forest = IsolationForest(random_state=0).fit(X)
    s = forest.score_samples(X)
    assert np.argmin(s) == 300
    assert -1 <= s.min() and s.max() < 0
    assert forest.predict(X)[300] == -1
    assert forest.score_samples([[0.0, 0.0]])[0] > -0.5  # the centre is normal
    np.testing.assert_allclose(forest.decision_function(X), s + 0.5)


def test_contamination_sets_the_share_of_anomalies():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((500, 3))
    forest = IsolationForest(contamination=0.1, random_state=0).fit(X)
    assert forest.offset_ == pytest.approx(np.percentile(forest.score_samples(X), 10))
    assert (forest.predict(X) == -1).sum() == 50
    np.testing.assert_array_equal(forest.fit_predict(X), forest.predict(X))


def test_reproducible_and_max_samples():
    X = np.random.default_rng(2).standard_normal((1000, 4))
    a = IsolationForest(n_estimators=20, random_state=3).fit(X).score_samples(X)
    b = IsolationForest(n_estimators=20, random_state=3).fit(X).score_samples(X)
    np.testing.assert_array_equal(a, b)
    f = IsolationForest(n_estimators=5, max_samples=0.5, random_state=0).fit(X)
    assert f.max_samples_ == 500
    # depth limit ceil(log2 500) = 9: a path is at most 9 splits plus c(leaf size)
    assert f.max_samples_ == 500 and f._value.max() <= 9 + _average_path_length(500)
    with pytest.warns(UserWarning, match="max_samples=2000"):
        f = IsolationForest(n_estimators=5, max_samples=2000).fit(X)
    assert f.max_samples_ == 1000
    f = IsolationForest(n_estimators=5, max_features=2, random_state=0).fit(X)
    assert all(len(fs) == 2 for fs in f.estimators_features_)


def test_identical_rows_warn_and_score_equally():
    X = np.ones((50, 3))
    with pytest.warns(UserWarning, match="identical"):
        forest = IsolationForest(n_estimators=10, random_state=0).fit(X)
    s = forest.score_samples(X)
    np.testing.assert_allclose(s, -0.5)
    assert np.isfinite(forest.decision_function(X)).all()
    assert (forest.predict(X) == 1).all()


def test_errors():
    X = np.zeros((10, 2))
    X[0] = 1.0
    with pytest.raises(ValueError, match="contamination"):
        IsolationForest(contamination=0.7).fit(X)
    with pytest.raises(ValueError, match="max_samples"):
        IsolationForest(max_samples="all").fit(X)
    with pytest.raises(ValueError, match="n_estimators"):
        IsolationForest(n_estimators=0).fit(X)
    with pytest.raises(NotFittedError):
        IsolationForest().predict(X)
    forest = IsolationForest(n_estimators=3).fit(X)
    with pytest.raises(ValueError, match="features"):
        forest.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="infinity"):
        forest.predict(np.array([[math.inf, 0.0]]))


# --------------------------------------------------------------------------- one-class SVM


@pytest.mark.parametrize("nu", [0.05, 0.5])
@pytest.mark.parametrize("gamma", ["scale", 0.01])
def test_one_class_svm_equals_sklearn(nu, gamma):
    svm = pytest.importorskip("sklearn.svm")
    X, _ = breast_cancer()
    X = standardize(X)
    ours = OneClassSVM(gamma=gamma, nu=nu).fit(X)
    ref = svm.OneClassSVM(gamma=gamma, nu=nu).fit(X)
    np.testing.assert_array_equal(ours.support_, ref.support_)
    np.testing.assert_allclose(ours.dual_coef_, ref.dual_coef_, atol=1e-6)
    assert ours.offset_ == pytest.approx(float(np.ravel(ref.offset_)[0]), rel=1e-6)
    np.testing.assert_allclose(ours.decision_function(X), ref.decision_function(X), atol=1e-5)
    np.testing.assert_allclose(ours.score_samples(X), ref.score_samples(X), atol=1e-5)
    # labels agree except on the margin itself (free support vectors have f = 0)
    differ = ours.predict(X) != ref.predict(X)
    assert np.all(np.abs(ref.decision_function(X)[differ]) < 1e-6)


def test_one_class_svm_nu_property_and_dual_constraints():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 3))
    for nu in (0.1, 0.3):
        m = OneClassSVM(nu=nu, gamma=0.5).fit(X)
        a = m.dual_coef_[0]
        assert a.sum() == pytest.approx(nu * len(X), rel=1e-9)
        assert (a > 0).all() and (a <= 1 + 1e-12).all()
        outliers = (m.predict(X) == -1).mean()
        assert outliers <= nu + 0.02  # at most about nu of the training points are outside
        assert len(m.support_) / len(X) >= nu - 1e-9  # at least nu are support vectors
    assert m.predict([[6.0, 6.0, 6.0]])[0] == -1  # a far point is outside


def test_one_class_svm_precomputed_equals_rbf():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((150, 2))
    K = np.exp(-0.3 * ((X[:, None] - X[None]) ** 2).sum(-1))
    a = OneClassSVM(gamma=0.3, nu=0.2).fit(X)
    b = OneClassSVM(kernel="precomputed", nu=0.2).fit(K)
    np.testing.assert_array_equal(a.support_, b.support_)
    # the same problem up to rounding of the kernel values
    np.testing.assert_allclose(b.decision_function(K[:10]), a.decision_function(X[:10]), atol=1e-5)


def test_one_class_svm_warns_and_errors():
    X = np.random.default_rng(7).standard_normal((200, 2))
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        OneClassSVM(nu=0.3, max_iter=2).fit(X)
    with pytest.raises(ValueError, match="nu"):
        OneClassSVM(nu=0.0).fit(X)
    with pytest.raises(ValueError, match="nu"):
        OneClassSVM(nu=1.5).fit(X)
    with pytest.raises(ValueError, match="kernel"):
        OneClassSVM(kernel="laplacian").fit(X)
    with pytest.raises(NotFittedError):
        OneClassSVM().predict(X)
