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


def _poison_free_buffers() -> None:
    """Fill every pooled buffer that nothing refers to with NaN bytes."""
    import sys

    for bucket in list(backend.scratch._buffers.values()):
        for buf in bucket:
            if sys.getrefcount(buf) == 3:  # the bucket, this loop and the call's argument
                buf[:] = 0xFF


def _conv_cases(R):
    from netchain import autodiff as ad

    return {
        "conv, biases": (
            lambda x, w, b: ad.convolution(x, w, b, padding=1),
            [R(4, 3, 9, 8), R(5, 3, 3, 3), R(5)],
        ),
        "conv": (lambda x, w: ad.convolution(x, w, padding=(2, 1)), [R(4, 3, 9, 8), R(5, 3, 3, 2)]),
        "conv, groups": (
            lambda x, w, b: ad.convolution(x, w, b, padding=1, groups=2),
            [R(3, 4, 7, 7), R(4, 2, 3, 3), R(4)],
        ),
        "conv, stride 2": (
            lambda x, w, b: ad.convolution(x, w, b, stride=2, padding=1),
            [R(4, 3, 9, 8), R(5, 3, 3, 3), R(5)],
        ),
        "max pool, padding": (lambda x: ad.pooling(x, 3, 1, padding=1), [R(4, 3, 9, 8)]),
        "mean pool": (lambda x: ad.pooling(x, 2, function="Mean"), [R(4, 3, 9, 8)]),
        "deconv": (
            lambda x, w, b: ad.deconvolution(x, w, b, stride=2, padding=1),
            [R(4, 3, 5, 5), R(3, 2, 3, 3), R(2)],
        ),
        "relu, sigmoid, tanh, linear": (
            lambda x, w: ad.tanh(ad.sigmoid(ad.relu(ad.linear(x, w)))),
            [R(6, 7), R(5, 7)],
        ),
        "lstm": (lambda x, a, b, c: ad.lstm(x, a, b, c)[0], [R(3, 4, 2), R(8, 2), R(8, 2), R(8)]),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_results_never_depend_on_what_a_reused_buffer_held(dtype, monkeypatch, rng):
    # every buffer handed out again may hold anything (here NaN): a primitive that read one
    # before writing it (a zero made as v - v, say) would give NaN where a fresh pool does not
    from netchain.autodiff import Tensor, conv

    monkeypatch.setattr(backend.scratch, "smallest", 0)  # pool even the tiny test arrays
    monkeypatch.setattr(conv, "SMALL_PRODUCT", 0)  # stride 1: the flat layout and its kernels

    def R(*shape):
        return rng.standard_normal(shape).astype(dtype)

    for name, (fn, inputs) in _conv_cases(R).items():
        runs = []
        backend.scratch.clear()
        for poison in (False, True):
            if poison:  # the clean run's buffers, now free, are handed out again
                _poison_free_buffers()
            ts = [Tensor(a, requires_grad=True) for a in inputs]
            y = fn(*ts)
            if poison:
                _poison_free_buffers()
            y.backward(np.linspace(-1, 1, y.data.size).reshape(y.shape).astype(dtype))
            runs.append([y.data.copy(), *(t.grad.copy() for t in ts)])
        for a, b in zip(*runs):
            np.testing.assert_array_equal(a, b, err_msg=name)
