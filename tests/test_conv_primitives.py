"""The fused convolution primitives: finite-difference gradient checks in float64 and, where
torch is installed, outputs and gradients equal to torch.nn.functional's to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

import netchain.autodiff.conv as conv_module
from netchain.autodiff import (
    Tensor,
    batch_normalization,
    check_grad,
    convolution,
    deconvolution,
    linear,
    no_grad,
    pad,
    pooling,
)

TOL = 1e-6  # check_grad's relative error in float64 with eps = 1e-6


@pytest.fixture(params=["batched", "one product"])
def layout(request, monkeypatch):
    """Run a test with both column layouts: per-example products, and one product per batch
    (the flat layout for stride 1, the channel-major one otherwise)."""
    monkeypatch.setattr(conv_module, "SMALL_PRODUCT", 1 << 40 if request.param == "batched" else 0)
    return request.param


# ---------------------------------------------------------------------- gradient checks

CONV_CASES = [
    # (x shape, w shape, keyword arguments)
    ((2, 3, 7), (4, 3, 3), {}),
    ((2, 3, 9), (4, 3, 2), {"stride": 2, "padding": 1, "dilation": 2}),
    ((2, 2, 6, 5), (3, 2, 3, 3), {}),
    ((2, 2, 7, 6), (3, 2, 3, 2), {"stride": (2, 1), "padding": ((1, 2), (0, 1))}),
    ((1, 4, 7, 7), (4, 2, 3, 3), {"dilation": 2, "padding": 2, "groups": 2}),
    ((2, 2, 5, 6), (2, 2, 2, 3), {"padding": "Same"}),
    ((1, 3, 8, 7), (3, 1, 3, 3), {"stride": 2, "padding": "Same", "groups": 3}),
]


@pytest.mark.parametrize("xs, ws, kw", CONV_CASES)
def test_convolution_gradient(xs, ws, kw, rng, layout):
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    b = rng.standard_normal(ws[0])
    err = check_grad(lambda x, w, b: convolution(x, w, b, **kw), x, w, b)
    assert err < TOL


@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        ((2, 3, 4, 3), (3, 2, 3, 3), {"stride": 2, "padding": 1}),
        ((1, 2, 3, 4), (2, 3, 2, 3), {"stride": (1, 2), "dilation": (2, 1)}),
        ((2, 2, 5), (2, 3, 4), {"stride": 3, "padding": (1, 2)}),
    ],
)
def test_deconvolution_gradient(xs, ws, kw, rng):
    x = rng.standard_normal(xs)
    w = rng.standard_normal(ws)
    b = rng.standard_normal(ws[1])
    assert check_grad(lambda x, w, b: deconvolution(x, w, b, **kw), x, w, b) < TOL


@pytest.mark.parametrize(
    "function, kernel, stride, padding",
    [
        ("Max", 2, None, 0),
        ("Max", 3, 2, 1),
        ("Max", (2, 3), (1, 2), ((1, 0), (0, 2))),
        ("Mean", 3, 2, 1),
        ("Total", (3, 2), None, 0),
    ],
)
def test_pooling_gradient_after_a_parametric_layer(function, kernel, stride, padding, rng):
    # a convolution before the pooling: its weights move every window's values, so the
    # check covers how pooling routes gradients back into a trained layer
    x = rng.standard_normal((2, 2, 7, 8))
    w = rng.standard_normal((3, 2, 2, 2))

    def f(x, w):
        return pooling(convolution(x, w), kernel, stride, padding, function)

    assert check_grad(f, x, w) < TOL


def test_pooling_1d_gradient(rng):
    x = rng.standard_normal((2, 3, 11))
    for function in ("Max", "Mean", "Total"):
        assert check_grad(lambda x, f=function: pooling(x, 3, 2, 1, f), x) < TOL


def test_batch_normalization_gradient(rng):
    x = rng.standard_normal((4, 3, 3, 2))
    gamma = rng.standard_normal(3)
    beta = rng.standard_normal(3)
    w = rng.standard_normal((5, 18))

    # training statistics, then a parametric layer after (the normalised values feed weights)
    def f(x, gamma, beta, w):
        y, _, _ = batch_normalization(x, gamma, beta, epsilon=1e-3)
        return linear(y.reshape(4, 18), w)

    assert check_grad(f, x, gamma, beta, w) < TOL
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5

    def g(x, gamma, beta):
        return batch_normalization(x, gamma, beta, mean=mean, variance=var)[0]

    assert check_grad(g, x, gamma, beta) < TOL


def test_batch_normalization_vectors_gradient(rng):
    x = rng.standard_normal((5, 4))
    gamma, beta = rng.standard_normal(4), rng.standard_normal(4)
    assert check_grad(lambda x, g, b: batch_normalization(x, g, b)[0], x, gamma, beta) < TOL


def test_pad_gradient(rng):
    x = rng.standard_normal((2, 3, 4))
    assert check_grad(lambda x: pad(x, [(0, 0), (1, 2), (2, 0)], value=3.0) ** 2, x) < TOL


# ---------------------------------------------------------------------- against torch


def _torch_compare(ours, theirs, arrays, rng, atol=1e-10):
    """Outputs and gradients (for a random upstream gradient) of both, in float64."""
    torch = pytest.importorskip("torch")
    ts = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    y = ours(*ts)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    yt = theirs(*tt)
    yt.backward(torch.tensor(g))
    assert y.shape == tuple(yt.shape)
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=0, atol=atol)
    for a, b in zip(ts, tt):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=0, atol=atol)


TORCH_CONV = [
    ((3, 4, 9, 8), (6, 2, 3, 2), dict(stride=(2, 1), dilation=(1, 2), groups=2), (1, 1)),
    ((2, 3, 10, 9), (5, 3, 3, 3), dict(stride=2, dilation=2), (2, 1)),
    ((2, 6, 8, 8), (6, 1, 3, 3), dict(groups=6), (1, 1)),
    ((3, 4, 12), (5, 4, 3), dict(stride=2, dilation=2), (1,)),
    ((2, 4, 5, 6, 5), (4, 2, 2, 3, 2), dict(stride=(1, 2, 1), groups=2), (1, 0, 1)),
]


@pytest.mark.parametrize("xs, ws, kw, pads", TORCH_CONV)
def test_convolution_matches_torch(xs, ws, kw, pads, rng, layout):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fn = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(xs) - 2]
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    _torch_compare(
        lambda x, w, b: convolution(x, w, b, padding=pads, **kw),
        lambda x, w, b: fn(x, w, b, padding=pads, **kw),
        [x, w, b],
        rng,
    )


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_convolution_same_and_per_side_padding_match_torch(rng, layout):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, w = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 2, 3))
    # torch's "same" puts the odd element at the end, as ours does
    _torch_compare(
        lambda x, w: convolution(x, w, padding="Same"),
        lambda x, w: F.conv2d(x, w, padding="same"),
        [x, w],
        rng,
    )
    _torch_compare(
        lambda x, w: convolution(x, w, padding=((2, 0), (1, 3)), stride=2),
        lambda x, w: F.conv2d(F.pad(x, (1, 3, 2, 0)), w, stride=2),
        [x, w],
        rng,
    )


@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        ((3, 4, 9, 8), (4, 3, 3, 4), dict(stride=2, padding=1)),
        ((2, 4, 5, 6), (4, 2, 3, 2), dict(stride=(2, 1), padding=(1, 1), dilation=(1, 2))),
        ((2, 3, 7), (3, 2, 4), dict(stride=3, padding=2)),
    ],
)
def test_deconvolution_matches_torch(xs, ws, kw, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d}[len(xs) - 2]
    x, w, b = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[1])
    _torch_compare(
        lambda x, w, b: deconvolution(x, w, b, **kw),
        lambda x, w, b: fn(x, w, b, **kw),
        [x, w, b],
        rng,
    )


def test_deconvolution_is_the_adjoint_of_convolution(rng):
    # <conv(x), y> = <x, deconv(y)> with the same weights, stride, padding and dilation
    x = rng.standard_normal((2, 3, 9, 9))  # sizes where the strides tile the input exactly
    w = rng.standard_normal((5, 3, 3, 2))
    kw = dict(stride=2, padding=1, dilation=(1, 2))
    y = convolution(x, w, **kw).data
    u = rng.standard_normal(y.shape)
    back = deconvolution(u, w, **kw).data
    assert back.shape == x.shape
    assert np.vdot(y, u) == pytest.approx(np.vdot(x, back), rel=1e-12)


@pytest.mark.parametrize(
    "function, kernel, stride, padding",
    [("Max", 2, None, 0), ("Max", 3, 2, 1), ("Mean", 3, 2, 1), ("Total", (2, 3), (2, 1), 0)],
)
def test_pooling_matches_torch(function, kernel, stride, padding, rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((2, 3, 9, 8))
    kt = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    if function == "Max":
        theirs = lambda x: F.max_pool2d(x, kernel, stride, padding)  # noqa: E731
    elif function == "Mean":
        theirs = lambda x: F.avg_pool2d(x, kernel, stride, padding)  # noqa: E731
    else:
        theirs = lambda x: F.avg_pool2d(x, kernel, stride, padding) * (kt[0] * kt[1])  # noqa: E731
    _torch_compare(lambda x: pooling(x, kernel, stride, padding, function), theirs, [x], rng)


def test_max_pooling_ties_go_to_the_first_maximum(rng):
    torch = pytest.importorskip("torch")
    # integers 0..2: most windows hold tied maxima
    x = rng.integers(0, 3, (2, 3, 8, 9)).astype(np.float64)
    for kernel, stride in ((2, None), (3, 1), ((2, 3), (2, 2))):
        t = Tensor(x, requires_grad=True)
        y = pooling(t, kernel, stride)
        g = rng.standard_normal(y.shape)
        y.backward(g)
        xt = torch.tensor(x, requires_grad=True)
        torch.nn.functional.max_pool2d(xt, kernel, stride).backward(torch.tensor(g))
        # same positions (overlapping windows may add in another order: rounding only)
        np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=0, atol=1e-12)
    # non-overlapping windows: exactly one entry per window, its first maximum in row-major
    # order, receives the window's whole gradient
    t = Tensor(x, requires_grad=True)
    y = pooling(t, 2)
    g = rng.random(y.shape) + 1.0
    y.backward(g)

    def windows(a):
        a = a[:, :, :8, :8].reshape(2, 3, 4, 2, 4, 2).transpose(0, 1, 2, 4, 3, 5)
        return a.reshape(2, 3, 4, 4, 4)

    gw, xw = windows(t.grad), windows(x)
    assert np.all((gw != 0).sum(axis=-1) == 1)
    np.testing.assert_allclose(gw.sum(axis=-1), g)
    np.testing.assert_array_equal((gw != 0).argmax(axis=-1), xw.argmax(axis=-1))
    assert np.all(t.grad[:, :, :, 8] == 0)


def test_pooling_1d_matches_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((2, 3, 11))
    _torch_compare(lambda x: pooling(x, 3, 2, 1), lambda x: F.max_pool1d(x, 3, 2, 1), [x], rng)
    _torch_compare(lambda x: pooling(x, 2, function="Mean"), lambda x: F.avg_pool1d(x, 2), [x], rng)


def test_batch_normalization_matches_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((4, 3, 5, 2)) * 3 + 1
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    _torch_compare(
        lambda x, g, b: batch_normalization(x, g, b, epsilon=1e-3)[0],
        lambda x, g, b: F.batch_norm(x, None, None, g, b, training=True, eps=1e-3),
        [x, gamma, beta],
        rng,
    )
    mean, var = rng.standard_normal(3), rng.random(3) + 0.5
    _torch_compare(
        lambda x, g, b: batch_normalization(x, g, b, epsilon=1e-3, mean=mean, variance=var)[0],
        lambda x, g, b: F.batch_norm(
            x, torch.tensor(mean), torch.tensor(var), g, b, training=False, eps=1e-3
        ),
        [x, gamma, beta],
        rng,
    )
    _, m, v = batch_normalization(x, gamma, beta)
    np.testing.assert_allclose(m, x.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(v, x.var(axis=(0, 2, 3)), rtol=1e-12)


# ---------------------------------------------------------------------- behaviour


def test_convolution_keeps_float32_and_both_layouts_agree(rng, monkeypatch):
    x = rng.standard_normal((4, 3, 10, 10)).astype(np.float32)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32)
    results = []
    for limit in (0, 1 << 40):
        monkeypatch.setattr(conv_module, "SMALL_PRODUCT", limit)
        tx, tw, tb = (Tensor(a, requires_grad=True) for a in (x, w, b))
        y = convolution(tx, tw, tb, padding=1, stride=(1, 2))
        y.backward(np.ones(y.shape, np.float32))
        assert y.dtype == np.float32 and tx.grad.dtype == np.float32
        results.append([y.data, tx.grad, tw.grad, tb.grad])
    for a, b_ in zip(*results):
        np.testing.assert_allclose(a, b_, rtol=1e-5, atol=1e-4)


def test_convolution_without_recording_and_repeated(rng):
    x = rng.standard_normal((3, 2, 6, 6))
    w = rng.standard_normal((4, 2, 3, 3))
    with no_grad():
        first = convolution(x, w).data.copy()
        for _ in range(3):  # reused buffers must not leak between calls
            np.testing.assert_array_equal(convolution(x, w).data, first)
    t = Tensor(x, requires_grad=True)
    y = convolution(t, w)
    np.testing.assert_array_equal(y.data, first)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: convolution(np.ones((1, 3, 4, 4)), np.ones((2, 2, 3, 3))), "input channels"),
        (lambda: convolution(np.ones((1, 3, 4, 4)), np.ones((2, 3, 5, 5))), "larger"),
        (lambda: convolution(np.ones((1, 4, 4, 4)), np.ones((3, 2, 1, 1)), groups=2), "divisible"),
        (lambda: convolution(np.ones((1, 3, 4, 4)), np.ones((2, 3, 3))), "weights must have"),
        (lambda: convolution(np.ones((3, 4)), np.ones((2, 3, 3))), "spatial"),
        (lambda: convolution(np.ones((1, 1, 4)), np.ones((1, 1, 2)), stride=0), "stride"),
        (lambda: convolution(np.ones((1, 1, 4)), np.ones((1, 1, 2)), padding="Full"), "padding"),
        (lambda: pooling(np.ones((1, 1, 4, 4)), 2, function="Min"), "function"),
        (lambda: pooling(np.ones((1, 1, 4, 4)), 2, padding=2), "smaller than the kernel"),
        (lambda: pooling(np.ones((1, 1, 2, 2)), 3), "larger"),
        (lambda: deconvolution(np.ones((1, 1, 2, 2)), np.ones((1, 1, 2, 2)), padding=2), "removes"),
        (
            lambda: batch_normalization(np.ones((1, 3)), np.ones(3), np.zeros(3)),
            "more than one value per channel",
        ),
        (lambda: batch_normalization(np.ones((2, 3)), np.ones(2), np.zeros(3)), "scale"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_large_batches_without_recording_go_in_chunks(rng, monkeypatch):
    x = rng.standard_normal((7, 2, 6, 5))
    w, b = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)
    whole = convolution(Tensor(x, requires_grad=True), w, b, padding=1, stride=(2, 1)).data
    monkeypatch.setattr(conv_module, "MAX_COLUMNS", 2 * 18 * 15)  # two examples at a time
    with no_grad():
        chunked = convolution(x, w, b, padding=1, stride=(2, 1)).data
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)


@pytest.mark.parametrize("limit", [0, 1 << 40])
@pytest.mark.parametrize("n, c, size, pads", [(8, 4, 20, 0), (1, 4, 64, 0), (2, 1, 64, 1)])
def test_gradients_survive_later_calls(rng, monkeypatch, limit, n, c, size, pads):
    # reused scratch buffers (arrays of 64 KiB and more) must never be handed out while a
    # result still holds them (or a view of them)
    monkeypatch.setattr(conv_module, "SMALL_PRODUCT", limit)
    x = rng.standard_normal((n, c, size, size))
    out = size + 2 * pads - 2
    t = Tensor(x, requires_grad=True)
    convolution(t, rng.standard_normal((2, c, 3, 3)), padding=pads).backward(
        np.ones((n, 2, out, out))
    )
    y = deconvolution(
        rng.standard_normal((n, 2, out, out)), rng.standard_normal((2, c, 3, 3)), padding=pads
    )
    first, first_y = t.grad.copy(), y.data.copy()
    for _ in range(3):
        other = Tensor(rng.standard_normal(x.shape), requires_grad=True)
        convolution(other, rng.standard_normal((2, c, 3, 3)), padding=pads).backward(
            rng.standard_normal((n, 2, out, out))
        )
        deconvolution(
            rng.standard_normal((n, 2, out, out)), rng.standard_normal((2, c, 3, 3)), padding=pads
        )
    np.testing.assert_array_equal(t.grad, first)
    np.testing.assert_array_equal(y.data, first_y)


@pytest.mark.parametrize("limit", [0, 1 << 40])
@pytest.mark.parametrize(
    "xs, ws, kw",
    [
        (
            (3, 4, 9, 8),
            (6, 4, 3, 2),
            {"stride": (2, 1), "dilation": (1, 2), "padding": ((1, 2), (0, 1))},
        ),
        ((2, 3, 11), (4, 3, 3), {"stride": 3, "padding": (2, 1), "dilation": 2}),
        ((2, 4, 7, 7), (4, 2, 3, 3), {"stride": 2, "padding": 1, "groups": 2}),
        # stride 1: the flat layout when the products are large (limit 0)
        ((3, 4, 9, 8), (6, 4, 3, 2), {"dilation": (1, 2), "padding": ((1, 2), (0, 1))}),
        ((2, 4, 7, 7), (4, 2, 3, 3), {"padding": 2, "groups": 2}),
    ],
)
def test_numba_col2im_equals_the_numpy_additions(xs, ws, kw, limit, rng, monkeypatch):
    # the Numba kernels (col2im in 1-D and 2-D; the flat layout's columns, output, upstream
    # scatter and input gradient in 2-D) and the NumPy copies and strided additions they
    # replace give the same convolution, gradients and transposed convolution, in every layout
    monkeypatch.setattr(conv_module, "SMALL_PRODUCT", limit)
    x, w, bias = rng.standard_normal(xs), rng.standard_normal(ws), rng.standard_normal(ws[0])
    g = None
    results = []
    for flag in (True, False):
        conv_module.use_kernels(flag)
        try:
            t, tw, tb = (Tensor(a, requires_grad=True) for a in (x, w, bias))
            y = convolution(t, tw, tb, **kw)
            g = rng.standard_normal(y.shape) if g is None else g
            y.backward(g)
            deconv_kw = {k: v for k, v in kw.items() if k != "groups"}
            z = deconvolution(g, w, **deconv_kw)
            results.append([y.data, t.grad, tw.grad, tb.grad, z.data])
        finally:
            conv_module.use_kernels(True)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
