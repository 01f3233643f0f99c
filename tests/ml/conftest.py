"""Fixtures for the classical-learning tests: the bundled UCI data sets, read straight from the
shared data folder (``shared/data/uci``), which sits next to the repository's checkout.

A git worktree may sit one level deeper than the main checkout, so every ancestor of the
repository root is tried in turn; the tests that need the data skip when none has it.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[2]


def _find_uci() -> Path | None:
    for parent in _ROOT.parents:
        candidate = parent / "shared" / "data" / "uci"
        if candidate.is_dir():
            return candidate
    return None


UCI = _find_uci()


def _require(name: str) -> Path:
    if UCI is None or not (UCI / name).exists():
        pytest.skip(f"shared/data/uci/{name} not found next to the repository")
    return UCI / name


def _read_headed_csv(name: str) -> tuple[np.ndarray, np.ndarray]:
    """First line "n_samples,n_features,class names..."; then features and an integer label."""
    path = _require(name)
    with open(path) as f:
        head = f.readline().strip().split(",")
        data = np.loadtxt(f, delimiter=",")
    n, d = int(head[0]), int(head[1])
    assert data.shape == (n, d + 1), (name, data.shape)
    return data[:, :d], data[:, d].astype(np.int64)


@pytest.fixture(scope="session")
def iris():
    return _read_headed_csv("iris.csv")


@pytest.fixture(scope="session")
def wine():
    return _read_headed_csv("wine_data.csv")


@pytest.fixture(scope="session")
def breast_cancer():
    return _read_headed_csv("breast_cancer.csv")


@pytest.fixture(scope="session")
def digits():
    """1797 x 64 grey levels 0..16 (no header line; the last column is the digit)."""
    with gzip.open(_require("digits.csv.gz"), "rt") as f:
        data = np.loadtxt(f, delimiter=",")
    assert data.shape == (1797, 65)
    return data[:, :64], data[:, 64].astype(np.int64)


@pytest.fixture(scope="session")
def diabetes():
    """442 x 10 raw features and the disease-progression target."""
    with gzip.open(_require("diabetes_data_raw.csv.gz"), "rt") as f:
        X = np.loadtxt(f)
    with gzip.open(_require("diabetes_target.csv.gz"), "rt") as f:
        y = np.loadtxt(f)
    assert X.shape == (442, 10) and y.shape == (442,)
    return X, y


def _stratified_split(X, y):
    ms = pytest.importorskip("sklearn.model_selection")
    return ms.train_test_split(X, y, stratify=y, random_state=0, test_size=0.25)


def _standardized(Xtr, Xte):
    mu, sd = Xtr.mean(axis=0), Xtr.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (Xtr - mu) / sd, (Xte - mu) / sd


@pytest.fixture(scope="session")
def split():
    """scikit-learn's stratified 75/25 split with random_state 0 (the oracle's own split):
    ``split(X, y) -> X_train, X_test, y_train, y_test``."""
    return _stratified_split


@pytest.fixture(scope="session")
def scaled():
    """``scaled(X_train, X_test)``: both standardised by the training mean and deviation."""
    return _standardized
