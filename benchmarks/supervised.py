"""Supervised estimators against scikit-learn: fit + predict time and test-set quality.

Two data sets, each split 75/25 (stratified, fixed seed): UCI digits (1797 x 64, from the
shared data folder) and ``make_classification(20000, 50, random_state=0)`` (generated once, by
scikit-learn in a throw-away process, and cached under the system's temporary folder so that the
netchain worker never imports scikit-learn). Classifiers report test accuracy; regressors fit
the class label as a number and report test R^2. Both sides get the same parameters; the time
is that of ``fit`` on the training part plus ``predict`` on the test part.

Run from the repository root::

    python benchmarks/supervised.py                 # every case, 3 A/B rounds
    python benchmarks/supervised.py --case digits   # only the digits rows
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _harness import Case, main  # noqa: E402

_CACHE = Path(tempfile.gettempdir()) / "netchain_bench_make_classification_20000_50.npz"

_GENERATE = f"""
import numpy as np
from sklearn.datasets import make_classification
X, y = make_classification(20000, 50, random_state=0)
np.savez({str(_CACHE)!r}, X=X, y=y)
"""


def _split(X, y, seed=0):
    """Stratified 75/25 split (each class shuffled and cut at three quarters)."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), dtype=bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[idx[: int(round(0.25 * len(idx)))]] = True
    return X[~test], X[test], y[~test], y[test]


def _digits():
    root = Path(__file__).resolve().parents[1]
    for parent in root.parents:
        path = parent / "shared" / "data" / "uci" / "digits.csv.gz"
        if path.exists():
            with gzip.open(path, "rt") as f:
                data = np.loadtxt(f, delimiter=",")
            return data[:, :64], data[:, 64].astype(np.int64)
    raise FileNotFoundError("shared/data/uci/digits.csv.gz not found next to the repository")


def _synthetic():
    if not _CACHE.exists():
        subprocess.run([sys.executable, "-c", _GENERATE], check=True)
    d = np.load(_CACHE)
    return d["X"], d["y"]


DATA = {"digits": _digits, "20000x50": _synthetic}

# (name, netchain class, scikit-learn module and class, parameters, regression?, cases)
ESTIMATORS = [
    ("k-NN(5)", "KNeighborsClassifier", "neighbors", {"n_neighbors": 5}, False),
    ("logistic regression", "LogisticRegression", "linear_model", {}, False),
    ("SVC rbf", "SVC", "svm", {}, False),
    ("decision tree", "DecisionTreeClassifier", "tree", {"random_state": 0}, False),
    ("random forest (100)", "RandomForestClassifier", "ensemble", {"random_state": 0}, False),
    ("k-NN regressor(5)", "KNeighborsRegressor", "neighbors", {"n_neighbors": 5}, True),
    ("linear regression", "LinearRegression", "linear_model", {}, True),
    ("ridge", "Ridge", "linear_model", {"alpha": 1.0}, True),
    ("tree regressor", "DecisionTreeRegressor", "tree", {"random_state": 0}, True),
    ("forest regressor", "RandomForestRegressor", "ensemble", {"random_state": 0}, True),
]
# on the large set, fewer trees for the regression forest (it searches all 50 features)
LARGE_OVERRIDES = {"RandomForestRegressor": {"n_estimators": 10}}


def _make_side(side, data_name, cls_name, module, params, regression):
    def run():
        import warnings

        warnings.simplefilter("ignore")
        X, y = DATA[data_name]()
        Xtr, Xte, ytr, yte = _split(X, y)
        if regression:
            ytr, yte = ytr.astype(float), yte.astype(float)
        p = dict(params)
        if data_name != "digits":
            p.update(LARGE_OVERRIDES.get(cls_name, {}))
        if side == "ours":
            import netchain.ml as lib

            cls = getattr(lib, cls_name)
        else:
            import importlib

            cls = getattr(importlib.import_module(f"sklearn.{module}"), cls_name)
        # compile (netchain's Numba kernels load from their cache) and warm up on a sliver
        k = 60
        cls(**p).fit(Xtr[:k], ytr[:k]).predict(Xte[:5])
        repeats = 5 if data_name == "digits" else 1
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            est = cls(**p).fit(Xtr, ytr)
            pred = est.predict(Xte)
            times.append(time.perf_counter() - t0)
        if regression:
            quality = 1.0 - np.sum((yte - pred) ** 2) / np.sum((yte - yte.mean()) ** 2)
        else:
            quality = float(np.mean(pred == yte))
        return {"seconds": float(np.median(times)), "quality": float(quality)}

    return run


CASES = [
    Case(
        f"{data} / {name}",
        ours=_make_side("ours", data, cls, mod, params, reg),
        peer=_make_side("peer", data, cls, mod, params, reg),
    )
    for data in ("digits", "20000x50")
    for name, cls, mod, params, reg in ESTIMATORS
]

if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main(CASES, peer_name="scikit-learn", description=__doc__.splitlines()[0])
