"""Bundled data, the IDX reader and the fixed splits."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from netchain import datasets


def test_bundled_sets_have_their_documented_shapes():
    d = datasets.load_digits()
    assert d.X.shape == (1797, 64) and d.y.shape == (1797,)
    assert d.X.min() == 0 and d.X.max() == 16 and set(np.unique(d.y)) == set(range(10))
    assert datasets.load_iris().X.shape == (150, 4)
    assert datasets.load_wine().X.shape == (178, 13)
    bc = datasets.load_breast_cancer()
    assert bc.X.shape == (569, 30) and bc.target_names == ["malignant", "benign"]
    db = datasets.load_diabetes()
    assert db.X.shape == (442, 10) and db.y[0] == 151.0


def _idx(shape, dtype_code, values, fmt):
    head = bytes([0, 0, dtype_code, len(shape)]) + b"".join(struct.pack(">I", n) for n in shape)
    return head + np.asarray(values).astype(fmt).tobytes()


def test_read_idx_reads_every_type_and_gzip(tmp_path):
    for code, fmt in [
        (0x08, ">u1"),
        (0x09, ">i1"),
        (0x0B, ">i2"),
        (0x0C, ">i4"),
        (0x0D, ">f4"),
        (0x0E, ">f8"),
    ]:
        vals = np.arange(24).reshape(2, 3, 4) - (5 if code != 0x08 else 0)
        p = tmp_path / f"a{code}.idx"
        p.write_bytes(_idx((2, 3, 4), code, vals, fmt))
        np.testing.assert_array_equal(datasets.read_idx(p), vals)
    g = tmp_path / "b.idx.gz"
    g.write_bytes(gzip.compress(_idx((5,), 0x08, [1, 2, 3, 4, 250], ">u1")))
    np.testing.assert_array_equal(datasets.read_idx(g), [1, 2, 3, 4, 250])


def test_read_idx_rejects_foreign_and_truncated_files(tmp_path):
    p = tmp_path / "bad.idx"
    p.write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(p)
    p.write_bytes(_idx((10, 10), 0x08, np.zeros(100), ">u1")[:60])
    with pytest.raises(ValueError, match="truncated"):
        datasets.read_idx(p)
    with pytest.raises(FileNotFoundError):
        datasets.read_idx(tmp_path / "none.idx")


def test_mnist_reader_on_the_shared_test_set(mnist_paths):
    ds = datasets.load_mnist(*mnist_paths)
    assert ds.X.shape == (10000, 28, 28) and ds.X.dtype == np.uint8
    assert ds.y.shape == (10000,) and np.bincount(ds.y).min() > 800
    with pytest.raises(ValueError, match="expected images"):
        datasets.load_mnist(mnist_paths[1], mnist_paths[1])


def test_stratified_split_keeps_class_proportions():
    d = datasets.load_digits()
    Xtr, Xte, ytr, yte = datasets.train_test_split(d.X, d.y, 0.25, random_seed=0)
    assert len(Xte) == 450 and len(Xtr) == 1347
    for c in range(10):
        share = np.mean(yte == c) / np.mean(d.y == c)
        assert 0.95 < share < 1.05
    again = datasets.train_test_split(d.X, d.y, 0.25, random_seed=0)
    np.testing.assert_array_equal(again[1], Xte)
    with pytest.raises(ValueError, match="test_size"):
        datasets.train_test_split(d.X, d.y, 1.5)


def test_standardize_uses_training_statistics():
    a = np.array([[0.0, 5.0], [2.0, 5.0]])
    ta, tb = datasets.standardize(a, np.array([[4.0, 7.0]]))
    np.testing.assert_allclose(ta, [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(tb, [[3.0, 2.0]])


def test_standardize_checks_every_part():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 5))
    with pytest.raises(
        ValueError,
        match=r"others\[0\] \(argument 2\) must have the training "
        r"part's 5 features, got shape \(3, 4\)",
    ):
        datasets.standardize(X, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"others\[1\] .* must be 2-D .* got shape \(5,\)"):
        datasets.standardize(X, X, np.ones(5))
    bad = X.copy()
    bad[3, 2] = np.nan
    # NaN in the training part used to give all-NaN columns without a word
    with pytest.raises(ValueError, match=r"train must be finite.*1 NaN or infinite.*columns \[2\]"):
        datasets.standardize(bad, X)
    with pytest.raises(ValueError, match=r"others\[0\] .* must be finite"):
        datasets.standardize(X, np.full((2, 5), np.inf))
    with pytest.raises(ValueError, match=r"train must be 2-D .* \(10,\).*reshape"):
        datasets.standardize(X[:, 0])
    with pytest.raises(ValueError, match="train must have at least one row"):
        datasets.standardize(np.empty((0, 5)))
    with pytest.raises(ValueError, match="train must be numbers .*could not convert"):
        datasets.standardize([["a", "b"]])
    # the checks leave good input as it was: a test part of 0 rows is fine
    (only,) = datasets.standardize(X)
    np.testing.assert_allclose(only.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(only.std(axis=0), 1)
    assert datasets.standardize(X, np.empty((0, 5)))[1].shape == (0, 5)
