"""Shared test fixtures: the shared real-data folder and the oracles (torch, scikit-learn)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

#: ../shared/data next to the repository root (present in CI and on developer machines), or
#: the folder named by the environment variable NETCHAIN_SHARED_DATA (e.g. for a git worktree
#: that lives elsewhere).
SHARED_DATA = Path(
    os.environ.get("NETCHAIN_SHARED_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
MNIST_IMAGES = SHARED_DATA / "mnist" / "t10k-images-idx3-ubyte.gz"
MNIST_LABELS = SHARED_DATA / "mnist" / "t10k-labels-idx1-ubyte.gz"
SHAKESPEARE = SHARED_DATA / "text" / "tinyshakespeare.txt.gz"


_BLAS_LIMIT = None


def pytest_configure(config):
    """One BLAS thread per pytest-xdist worker.

    With ``-n 2`` each worker is its own process; two workers with two OpenBLAS threads each
    oversubscribe a 2-core machine, and a BLAS call then waits for a descheduled, spinning
    thread (small products measured 10-100x slower). Variables are set for libraries loaded
    later (PyTorch reads OMP_NUM_THREADS when it is imported).
    """
    global _BLAS_LIMIT
    if os.environ.get("PYTEST_XDIST_WORKER"):
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
        from threadpoolctl import threadpool_limits

        _BLAS_LIMIT = threadpool_limits(1)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def mnist_paths() -> tuple[Path, Path]:
    """The MNIST test set in IDX format from ../shared/data (skips when absent)."""
    if not (MNIST_IMAGES.is_file() and MNIST_LABELS.is_file()):
        pytest.skip(f"MNIST IDX files not found under {SHARED_DATA}")
    return MNIST_IMAGES, MNIST_LABELS


@pytest.fixture(scope="session")
def shakespeare_path() -> Path:
    """Tiny Shakespeare (gzip) from ../shared/data (skips when absent)."""
    if not SHAKESPEARE.is_file():
        pytest.skip(f"tiny Shakespeare not found at {SHAKESPEARE}")
    return SHAKESPEARE


@pytest.fixture(scope="session")
def mnist_split(mnist_paths):
    """The fixed 8,000 / 2,000 split: pixels in [0, 1] as float32 (N, 28, 28), int64 labels."""
    from netchain.datasets import load_mnist

    ds = load_mnist(*mnist_paths)
    X = ds.X.astype(np.float32) / 255.0
    return X[:8000], X[8000:], ds.y[:8000], ds.y[8000:]
