"""Loaders of the bundled UCI data for the unsupervised-learning tests (plain functions)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

_ROOT = Path(__file__).resolve().parents[2]
# the shared folder sits next to the repository root (a worktree may sit one level deeper)
_CANDIDATES = [_ROOT.parent / "shared", _ROOT / "shared", _ROOT.parent.parent / "shared"]
DATA = next((c for c in _CANDIDATES if c.is_dir()), _CANDIDATES[0]) / "data" / "uci"


def _path(name: str) -> Path:
    p = DATA / name
    if not p.exists():
        pytest.skip(f"bundled data {p} not found")
    return p


def _with_header(name: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.loadtxt(_path(name), delimiter=",", skiprows=1)
    return a[:, :-1], a[:, -1].astype(np.int64)


def iris() -> tuple[np.ndarray, np.ndarray]:
    return _with_header("iris.csv")


def wine() -> tuple[np.ndarray, np.ndarray]:
    return _with_header("wine_data.csv")


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    return _with_header("breast_cancer.csv")


def digits() -> tuple[np.ndarray, np.ndarray]:
    a = np.loadtxt(_path("digits.csv.gz"), delimiter=",")
    return a[:, :-1], a[:, -1].astype(np.int64)


def standardize(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
