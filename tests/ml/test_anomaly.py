"""IsolationForest against scikit-learn, the paper's closed forms and real data."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _data_unsupervised import breast_cancer, standardize  # noqa: E402

from netchain.ml.anomaly import IsolationForest, _average_path_length  # noqa: E402
from netchain.ml.base import NotFittedError  # noqa: E402


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
