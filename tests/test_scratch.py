"""The scratch pool of large temporaries (netchain.backend.Scratch)."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import backend

pytestmark = pytest.mark.skipif(backend.name != "numpy", reason="pools NumPy arrays only")


def _owner(a: np.ndarray) -> int:
    return a.base.ctypes.data


def test_a_released_buffer_is_handed_out_again_with_the_new_shape_and_dtype() -> None:
    pool = backend.Scratch(limit=1 << 24)
    a = pool.empty((256, 128), np.float32)
    where = _owner(a)
    a[...] = 7
    del a
    b = pool.empty((128, 128), np.float64)  # the same number of bytes
    assert b.shape == (128, 128) and b.dtype == np.float64 and b.flags.c_contiguous
    assert _owner(b) == where
    assert pool.nbytes == 256 * 128 * 4


def test_a_buffer_still_referenced_through_a_view_or_a_closure_is_not_reused() -> None:
    pool = backend.Scratch(limit=1 << 24)
    a = pool.empty((256, 256), np.float32)
    view = a[10:20]
    where = _owner(a)
    del a
    b = pool.empty((256, 256), np.float32)
    assert _owner(b) != where  # the view keeps it
    b[...] = 1.0

    def keep(x: np.ndarray = b) -> np.ndarray:  # as a backward closure holds its arrays
        return x

    del b
    c = pool.empty((256, 256), np.float32)
    assert _owner(c) not in (where, _owner(keep()))
    c[...] = 2.0
    assert np.all(keep() == 1.0)  # what the closure holds was not overwritten
    del view
    d = pool.empty((256, 256), np.float32)
    assert _owner(d) == where


def test_zeros_small_requests_and_the_byte_limit() -> None:
    pool = backend.Scratch(limit=3 << 20, smallest=1 << 16)
    small = pool.empty((10, 10), np.float32)
    assert small.base is None and pool.nbytes == 0  # not pooled
    a = pool.empty((1 << 20,), np.uint8)
    a[...] = 5
    del a
    z = pool.zeros((1 << 18,), np.float32)  # reuses the dirty buffer, zeroed
    assert not z.any()
    held = [pool.empty((1 << 20,), np.uint8) for _ in range(3)]
    assert pool.nbytes <= 3 << 20
    assert held[-1].base is None  # the pool was full of buffers in use: an ordinary array
    del held, z
    big = pool.empty((2 << 20,), np.uint8)  # drops unused buffers to make room
    assert big.base is not None and pool.nbytes <= 3 << 20
    del big
    pool.clear()
    assert pool.nbytes == 0
