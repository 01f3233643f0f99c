"""Bundled real data and readers: the UCI sets, the IDX format of MNIST, fixed splits.

The UCI digits, iris, wine, breast cancer and diabetes sets ship inside the package (see
``data/NOTICE.md`` for their sources and licences). MNIST is read from IDX files the user points
to (``read_idx`` accepts any IDX file, gzipped or not).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from netchain.backend import rng as make_rng

__all__ = [
    "Dataset",
    "load_breast_cancer",
    "load_diabetes",
    "load_digits",
    "load_iris",
    "load_mnist",
    "load_wine",
    "read_idx",
    "standardize",
    "train_test_split",
]


@dataclass
class Dataset:
    """A data set: features ``X`` (n_samples, ...), targets ``y``, class names if any."""

    X: np.ndarray
    y: np.ndarray
    target_names: list[str] | None = None
    description: str = ""

    def __iter__(self) -> Any:
        return iter((self.X, self.y))


def _data_file(name: str) -> Any:
    return resources.files("netchain.datasets").joinpath("data", name)


def _read_text(name: str) -> str:
    raw = _data_file(name).read_bytes()
    if name.endswith(".gz"):
        raw = gzip.decompress(raw)
    return raw.decode("ascii")


def _load_headed_csv(name: str, description: str) -> Dataset:
    text = _read_text(name)
    first, rest = text.split("\n", 1)
    head = first.strip().split(",")
    n, d, classes = int(head[0]), int(head[1]), head[2:]
    table = np.loadtxt(rest.splitlines(), delimiter=",", dtype=np.float64)
    if table.shape != (n, d + 1):  # pragma: no cover - bundled file damaged
        raise ValueError(f"{name}: expected {n} x {d + 1} values, got {table.shape}")
    return Dataset(table[:, :d], table[:, d].astype(np.int64), classes, description)


def load_digits() -> Dataset:
    """The UCI optical recognition of handwritten digits (Alpaydin & Kaynak, 1998).

    Returns
    -------
    Dataset
        ``X`` float64 of shape (1797, 64), grey levels 0..16 of 8x8 images in row order;
        ``y`` int64 of shape (1797,), the digit 0..9.
    """
    table = np.loadtxt(_read_text("digits.csv.gz").splitlines(), delimiter=",", dtype=np.float64)
    return Dataset(
        table[:, :64],
        table[:, 64].astype(np.int64),
        [str(i) for i in range(10)],
        "UCI handwritten digits, 8x8 grey levels 0..16",
    )


def load_iris() -> Dataset:
    """Fisher's iris (1936): ``X`` (150, 4) in cm, ``y`` (150,) in 0..2 (setosa, versicolor,
    virginica)."""
    return _load_headed_csv("iris.csv", "Fisher's iris")


def load_wine() -> Dataset:
    """UCI wine recognition (Forina et al.): ``X`` (178, 13), ``y`` (178,) in 0..2."""
    return _load_headed_csv("wine_data.csv", "UCI wine recognition")


def load_breast_cancer() -> Dataset:
    """Breast Cancer Wisconsin (Diagnostic) (Wolberg, Street & Mangasarian, 1995): ``X`` (569,
    30), ``y`` (569,) with 0 = malignant, 1 = benign."""
    return _load_headed_csv("breast_cancer.csv", "Breast Cancer Wisconsin (Diagnostic)")


def load_diabetes() -> Dataset:
    """Diabetes progression (Efron et al., 2004): ``X`` (442, 10) raw features (age, sex, BMI,
    blood pressure, six serum measurements), ``y`` (442,) float64, progression after a year."""
    X = np.loadtxt(_read_text("diabetes_data_raw.csv.gz").splitlines(), dtype=np.float64)
    y = np.loadtxt(_read_text("diabetes_target.csv.gz").splitlines(), dtype=np.float64)
    return Dataset(X, y, None, "Diabetes progression (raw features)")


_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (LeCun et al.'s format for MNIST), gzipped or not.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, then each dimension as a
    big-endian uint32; the values follow, big-endian.

    Returns
    -------
    ndarray
        Of the stored shape, in native byte order.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not IDX or is truncated.
    """
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"read_idx: {str(p)!r} is a folder, not an IDX file")
    if not p.is_file():
        raise FileNotFoundError(f"read_idx: no such file: {str(p)!r}")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"read_idx: {str(p)!r} is a damaged gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise ValueError(f"read_idx: {str(p)!r} is not an IDX file (bad magic number)")
    dtype = _IDX_TYPES[raw[2]]
    ndim = raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise ValueError(f"read_idx: {str(p)!r} is truncated (header)")
    shape = tuple(int(v) for v in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(shape)) if shape else 1
    if len(raw) - head < count * dtype.itemsize:
        raise ValueError(
            f"read_idx: {str(p)!r} is truncated: shape {shape} needs {count * dtype.itemsize} "
            f"bytes of data, the file has {len(raw) - head}"
        )
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=head).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def load_mnist(images: str | os.PathLike, labels: str | os.PathLike) -> Dataset:
    """MNIST images and labels from IDX files (LeCun, Cortes & Burges).

    Returns
    -------
    Dataset
        ``X`` uint8 of shape (N, 28, 28) (pixels 0..255), ``y`` int64 of shape (N,).

    Raises
    ------
    ValueError
        If the files are not IDX, or the numbers of images and labels differ.
    """
    X = read_idx(images)
    y = read_idx(labels)
    if X.ndim != 3 or y.ndim != 1:
        raise ValueError(
            f"load_mnist: expected images of shape (N, rows, cols) and labels of shape (N,), got "
            f"{X.shape} and {y.shape}"
        )
    if len(X) != len(y):
        raise ValueError(f"load_mnist: {len(X)} images but {len(y)} labels")
    return Dataset(X, y.astype(np.int64), [str(i) for i in range(10)], "MNIST")


def train_test_split(
    X: Any, y: Any, test_size: float = 0.25, *, stratify: bool = True, random_seed: Any = 0
) -> tuple[Any, Any, Any, Any]:
    """Split into training and test parts, stratified by ``y`` by default.

    With stratification each class contributes round(test_size * its count) test examples
    (at least one when the class has two or more), chosen at random from ``random_seed``;
    rows keep their original order within each part.

    Returns
    -------
    X_train, X_test, y_train, y_test

    Raises
    ------
    ValueError
        For test_size outside (0, 1) or lengths that differ.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    if len(X) != len(y):
        raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
    gen = make_rng(random_seed)
    n = len(y)
    test = np.zeros(n, dtype=bool)
    if stratify:
        for c in np.unique(y):
            rows = np.flatnonzero(y == c)
            k = int(round(test_size * len(rows)))
            if len(rows) >= 2:
                k = min(max(k, 1), len(rows) - 1)
            test[gen.choice(rows, size=k, replace=False)] = True
    else:
        test[gen.choice(n, size=int(round(test_size * n)), replace=False)] = True
    return X[~test], X[test], y[~test], y[test]


def _feature_matrix(value: Any, name: str, n_features: int | None = None) -> np.ndarray:
    """value as a finite float64 (n, n_features) array, or a ValueError naming it."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numbers of shape (n_samples, n_features), got a "
            f"{type(value).__name__} that cannot be read as floats ({exc})"
        ) from None
    if arr.ndim != 2:
        hint = " (reshape a single feature with .reshape(-1, 1))" if arr.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {arr.shape}{hint}")
    if n_features is not None and arr.shape[1] != n_features:
        raise ValueError(
            f"{name} must have the training part's {n_features} features, got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))
        cols = sorted({int(c) for c in bad[:, 1]})
        raise ValueError(
            f"{name} must be finite, but it has {len(bad)} NaN or infinite values (in "
            f"columns {cols[:10]}{' ...' if len(cols) > 10 else ''}); impute or drop them first"
        )
    return arr


def standardize(train: Any, *others: Any) -> tuple[Any, ...]:
    """Scale features to mean 0 and standard deviation 1 using the training part's statistics.

    Constant features (standard deviation 0) are only centred.

    Parameters
    ----------
    train : array_like of shape (n_samples, n_features)
        The training part, whose column means and standard deviations are used; at least one
        row.
    *others : array_like of shape (m, n_features)
        Further parts (test, validation) scaled with the training part's statistics.

    Returns
    -------
    tuple of ndarray, float64
        The scaled training array, then each of ``others`` scaled the same way.

    Raises
    ------
    ValueError
        When an array is not 2-D numbers, has another number of features than ``train``,
        holds NaN or infinity, or ``train`` has no rows; the message names the argument
        (``train``, ``others[0]``, ...).
    """
    tr = _feature_matrix(train, "train")
    if tr.shape[0] == 0:
        raise ValueError(f"train must have at least one row, got shape {tr.shape}")
    rest = [
        _feature_matrix(a, f"others[{i}] (argument {i + 2})", tr.shape[1])
        for i, a in enumerate(others)
    ]
    mean = tr.mean(axis=0)
    std = tr.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return tuple((a - mean) / std for a in (tr, *rest))
