"""The engine: every primitive against central finite differences in float64, the numerics the
issue lists, gradient accumulation, broadcasting, and protection of saved arrays."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import netchain.autodiff as ad
from netchain.autodiff import Tensor, check_grad, grad, no_grad, value_and_grad

TOL = 1e-7


def _away_from(x: np.ndarray, points=(0.0,), gap: float = 0.05) -> np.ndarray:
    """Push values at least ``gap`` away from kinks so finite differences see a smooth function."""
    for p in points:
        close = np.abs(x - p) < gap
        x = np.where(close, p + np.where(x >= p, gap, -gap) * 2, x)
    return x


# ------------------------------------------------------------------ elementwise, one argument
UNARY = {
    "neg": (ad.neg, None),
    "exp": (ad.exp, None),
    "log": (ad.log, "positive"),
    "sqrt": (ad.sqrt, "positive"),
    "abs": (ad.abs, "kink"),
    "relu": (ad.relu, "kink"),
    "sigmoid": (ad.sigmoid, None),
    "tanh": (ad.tanh, None),
    "softplus": (ad.softplus, None),
    "elu": (ad.elu, "kink"),
    "selu": (ad.selu, "kink"),
    "gelu": (ad.gelu, None),
    "softmax": (lambda x: ad.softmax(x, axis=-1), None),
    "softmax axis 0": (lambda x: ad.softmax(x, axis=0), None),
    "log_softmax": (lambda x: ad.log_softmax(x, axis=-1), None),
    "clip": (lambda x: ad.clip(x, -0.5, 0.7), "clip"),
    "pow 3": (lambda x: x**3, None),
    "pow -1.5": (lambda x: x**-1.5, "positive"),
    "rpow": (lambda x: 2.0**x, None),
    "square via mul": (lambda x: x * x, None),
    "reciprocal": (lambda x: 1.0 / x, "positive"),
    "sum": (lambda x: ad.sum(x), None),
    "sum axis 0": (lambda x: ad.sum(x, axis=0), None),
    "sum keepdims": (lambda x: ad.sum(x, axis=-1, keepdims=True), None),
    "mean": (lambda x: ad.mean(x, axis=(0, -1)), None),
    "max": (lambda x: ad.max(x, axis=-1), None),
    "min keepdims": (lambda x: ad.min(x, axis=0, keepdims=True), None),
    "max all": (lambda x: ad.max(x), None),
    "logsumexp": (lambda x: ad.logsumexp(x, axis=-1), None),
    "logsumexp all": (lambda x: ad.logsumexp(x, axis=None), None),
    "reshape": (lambda x: ad.reshape(x, (-1,)), None),
    "transpose": (lambda x: ad.transpose(x), None),
    "getitem slice": (lambda x: x[1:, ::2], None),
    "getitem fancy repeated": (lambda x: x[np.array([0, 0, 1])], None),
    "getitem bool": (lambda x: x[x.data > 0], None),
}


def _input(kind, shape, rng):
    x = rng.standard_normal(shape)
    if kind == "positive":
        x = np.abs(x) + 0.5
    elif kind == "kink":
        x = _away_from(x)
    elif kind == "clip":
        x = _away_from(x, (-0.5, 0.7))
    return x


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2)])
def test_unary_primitives_match_finite_differences(name, shape, rng):
    fn, kind = UNARY[name]
    x = _input(kind, shape, rng)
    if name in ("max", "min keepdims", "max all"):
        x = x + np.arange(x.size).reshape(shape) * 0.1  # no ties
    assert check_grad(fn, x) < TOL


# ------------------------------------------------------------------ two arguments, broadcasting
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a**b,
    "maximum": ad.maximum,
    "minimum": ad.minimum,
    "where": lambda a, b: ad.where(a.data > 1.2, a, b),
}

SHAPE_PAIRS = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 1, 4), (3, 1)),
    ((), (2, 3)),
    ((4, 1), (1, 5)),
]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", SHAPE_PAIRS)
def test_binary_primitives_broadcast_and_match_finite_differences(name, shapes, rng):
    a = np.abs(rng.standard_normal(shapes[0])) + 0.5
    b = np.abs(rng.standard_normal(shapes[1])) + 0.5
    if name in ("maximum", "minimum"):
        b = b + 0.013  # no ties
    assert check_grad(BINARY[name], a, b) < TOL


@pytest.mark.parametrize(
    "sa, sb",
    [
        ((3, 4), (4, 5)),
        ((4,), (4, 2)),
        ((3, 4), (4,)),
        ((2, 3, 4), (4, 2)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (4,)),
    ],
)
def test_matmul_matches_finite_differences(sa, sb, rng):
    assert check_grad(ad.matmul, rng.standard_normal(sa), rng.standard_normal(sb)) < TOL


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("xshape", [(5, 3), (2, 4, 3)])
def test_fused_linear_matches_finite_differences(bias, xshape, rng):
    x, W, b = rng.standard_normal(xshape), rng.standard_normal((4, 3)), rng.standard_normal(4)
    if bias:
        assert check_grad(ad.linear, x, W, b) < TOL
    else:
        assert check_grad(lambda x, W: ad.linear(x, W), x, W) < TOL
    y = ad.linear(Tensor(x), Tensor(W), Tensor(b) if bias else None).data
    np.testing.assert_allclose(y, x @ W.T + (b if bias else 0), rtol=1e-12)


def test_concatenate_and_stack_match_finite_differences(rng):
    a, b, c = rng.standard_normal((2, 3)), rng.standard_normal((4, 3)), rng.standard_normal((2, 3))
    assert check_grad(lambda a, b: ad.concatenate([a, b, a], axis=0), a, b) < TOL
    assert check_grad(lambda a, c: ad.stack([a, c, a], axis=1), a, c) < TOL


@pytest.mark.parametrize(
    "name, fn",
    [
        ("softmax CE index", lambda z: ad.softmax_cross_entropy(z, np.array([0, 2, 1, 2]))),
        (
            "CE on probabilities, index",
            lambda z: ad.cross_entropy(ad.softmax(z), np.array([1, 0, 2, 2])),
        ),
        (
            "binary CE with logits",
            lambda z: ad.binary_cross_entropy_with_logits(z, np.array([[1.0, 0, 0.3]] * 4)),
        ),
        (
            "binary CE on probabilities",
            lambda z: ad.binary_cross_entropy(ad.sigmoid(z), np.array([[1.0, 0, 0.3]] * 4)),
        ),
    ],
)
def test_losses_match_finite_differences(name, fn, rng):
    assert check_grad(fn, rng.standard_normal((4, 3))) < TOL


def test_losses_with_target_gradients(rng):
    z, t = rng.standard_normal((4, 3)), rng.dirichlet(np.ones(3), size=4)
    assert check_grad(ad.softmax_cross_entropy, z, t) < TOL
    assert check_grad(lambda p, t: ad.cross_entropy(ad.softmax(p), t), z, t) < TOL
    y, yt = rng.standard_normal((4, 2)), _away_from(rng.standard_normal((4, 2)))
    assert check_grad(ad.mean_squared_error, y, yt) < TOL
    assert check_grad(ad.mean_absolute_error, y, y + yt) < TOL
    assert (
        check_grad(
            lambda z, t: ad.binary_cross_entropy_with_logits(z, t), z, rng.uniform(size=(4, 3))
        )
        < TOL
    )


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    keep=st.lists(st.booleans(), min_size=3, max_size=3),
    seed=st.integers(0, 2**16),
)
def test_broadcast_chains_over_random_shapes(shape, keep, seed):
    """a * b + c - b, with b and c broadcast from random sub-shapes, and b used twice."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    b = rng.standard_normal([n if k else 1 for n, k in zip(shape, keep)])
    c = rng.standard_normal(shape[1:] or [1])
    assert check_grad(lambda a, b, c: ad.tanh(a * b + c - b) * b, a, b, c) < TOL


# ------------------------------------------------------------------ the numerics the issue lists
def test_softmax_of_huge_equal_logits_is_uniform_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = ad.softmax(Tensor([[0.0, 0.0], [1000.0, 1000.0]])).data
    np.testing.assert_array_equal(y, [[0.5, 0.5], [0.5, 0.5]])


def test_cross_entropy_from_extreme_logits():
    z = Tensor([[-431.0, 279.0, 427.0]], requires_grad=True)
    loss = ad.softmax_cross_entropy(z, [0])
    loss.backward()
    assert loss.item() == pytest.approx(858.0, rel=1e-12)
    np.testing.assert_allclose(z.grad, [[-1.0, 0.0, 1.0]], atol=1e-60)


def test_binary_cross_entropy_of_certain_correct_predictions_is_zero():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = ad.binary_cross_entropy(Tensor([1.0, 0.0]), [1.0, 0.0])
    assert loss.item() == 0.0 and not np.isnan(loss.item())


def test_sigmoid_underflows_to_zero_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ad.sigmoid(Tensor(np.array([-1000.0]))).data
        b = ad.sigmoid(Tensor(np.array([-100.0], dtype=np.float32))).data
    assert a[0] == 0.0 and b[0] == 0.0 and b.dtype == np.float32


def test_bias_gradient_sums_over_the_broadcast_axis():
    b = Tensor(np.zeros(4), requires_grad=True)
    (Tensor(np.zeros((4, 4))) + b).backward(np.ones((4, 4)))
    np.testing.assert_array_equal(b.grad, [4.0, 4.0, 4.0, 4.0])
    assert b.grad.shape == (4,)


def test_gradients_accumulate_over_repeated_use():
    x = Tensor(1.0, requires_grad=True)
    a = Tensor(1.0)
    f = x * (x * a) + (x**2) * a + x * (x * a)
    f.backward()
    assert x.grad == pytest.approx(6.0)


def test_diamond_graph_accumulates():
    x = Tensor(np.array([0.3, -0.7]), requires_grad=True)
    h = ad.tanh(x)
    y = (h * 2 + h * h).sum()
    y.backward()
    t = np.tanh(x.data)
    np.testing.assert_allclose(x.grad, (2 + 2 * t) * (1 - t**2), rtol=1e-12)


def test_integer_and_uint8_inputs_are_cast_and_never_wrap():
    t = Tensor(np.array([250, 10], dtype=np.uint8))
    assert t.dtype.kind == "f"
    np.testing.assert_array_equal((t + 10).data, [260.0, 20.0])
    assert Tensor([1, 2]).dtype == np.float32


# ------------------------------------------------------------------ engine behaviour
def test_modifying_a_saved_tensor_in_place_is_reported():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([3.0, 4.0]))
    y = (x * w).sum()
    with no_grad():
        w += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_results_saved_for_backward_are_read_only():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = ad.exp(x)
    with pytest.raises(ValueError):
        h.data[0] = 5.0
    with pytest.raises(RuntimeError):
        h += 1.0
    h.sum().backward()
    np.testing.assert_allclose(x.grad, np.exp([1.0, 2.0]))


def test_in_place_update_of_a_leaf_needs_no_grad():
    w = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        w -= 0.1
    with no_grad():
        w -= 0.1
    np.testing.assert_allclose(w.data, 0.9)


def test_backward_twice_through_a_released_graph_raises():
    x = Tensor(np.array([1.0]), requires_grad=True)
    y = (ad.exp(x) * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_leaf_gradients_accumulate_across_backward_calls_and_do_not_alias():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = Tensor(np.array([1.0, 1.0]), requires_grad=True)
    (x + y).backward(np.array([1.0, 1.0]))
    x.grad *= 3  # must not change y.grad
    np.testing.assert_array_equal(y.grad, [1.0, 1.0])
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


def test_no_grad_records_nothing():
    x = Tensor(np.array([1.0]), requires_grad=True)
    with no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf


def test_backward_needs_a_gradient_for_non_scalars():
    x = Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="shape"):
        (x * 2).backward(np.ones(2))


def test_the_callers_upstream_gradient_is_never_written_nor_handed_out():
    # backward(g) reads g in place (no copy); the gradients it stores are arrays of their own
    g = np.array([1.0, 2.0, 3.0])
    for make in (lambda x: x * 1.0, lambda x: x + x, lambda x: x.reshape(3)):
        x = Tensor(np.zeros(3), requires_grad=True)
        make(x).backward(g)
        assert x.grad is not g and not np.shares_memory(x.grad, g)
        x.grad += 100.0
        np.testing.assert_array_equal(g, [1.0, 2.0, 3.0])
    assert g.flags.writeable
    x = Tensor(np.zeros(3), requires_grad=True)
    x.backward(g)  # the tensor itself is the leaf
    assert not np.shares_memory(x.grad, g)


def test_no_grad_holds_for_its_own_thread_only():
    # as PyTorch's grad mode: one thread evaluating under no_grad() does not stop another
    # thread from recording
    import threading

    from netchain.autodiff import is_grad_enabled, no_grad

    inside, release, seen = threading.Event(), threading.Event(), []

    def evaluate():
        with no_grad():
            seen.append(is_grad_enabled())
            inside.set()
            release.wait(5)

    worker = threading.Thread(target=evaluate)
    worker.start()
    assert inside.wait(5)
    try:
        assert is_grad_enabled()
        x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad, [2.0, 4.0])
    finally:
        release.set()
        worker.join(5)
    assert seen == [False]


def test_numpy_arrays_on_the_left_defer_to_tensor():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = np.array([2.0, 3.0]) * x
    assert isinstance(y, Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


def test_float32_stays_float32_with_python_scalars():
    x = Tensor(np.ones(2, dtype=np.float32), requires_grad=True)
    y = (x * 2.5 + 1) / 3.0
    assert y.dtype == np.float32


# ------------------------------------------------------------------ grad transformations
def test_grad_and_value_and_grad():
    f = lambda v: (v**2).sum()  # noqa: E731
    np.testing.assert_allclose(grad(f)([2.0, -3.0]), [4.0, -6.0])
    value, g = value_and_grad(lambda x, y: x * y + x**2, argnums=(0, 1))(3.0, 2.0)
    assert value == 15.0 and g == (8.0, 3.0)
    assert grad(lambda x: x * 0 + 7)(1.0) == 0.0
    with pytest.raises(TypeError, match="single number"):
        grad(lambda v: v * 2)([1.0, 2.0])
    with pytest.raises(ValueError, match="argnums"):
        grad(lambda x: x, argnums=3)(1.0)


def test_gradient_descent_with_grad_reaches_the_minimum_of_x2_plus_y2():
    f = lambda p: (p**2).sum()  # noqa: E731
    df = grad(f)
    p = np.array([2.0, -3.0])
    for _ in range(200):
        p = p - 0.1 * df(p)
    np.testing.assert_allclose(p, [0.0, 0.0], atol=1e-6)


def test_check_grad_detects_a_wrong_backward():
    from netchain.autodiff.tensor import make_result

    def bad_square(x):
        return make_result(x.data**2, (x,), lambda g: (g * x.data,), "bad")  # missing factor 2

    assert check_grad(bad_square, np.array([1.0, 2.0])) > 0.1


# ------------------------------------------------------------------ PyTorch as the oracle
def test_primitives_agree_with_torch_to_float64_precision(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((5, 4))
    W, b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    u = rng.standard_normal((5, 3))
    ours = [Tensor(a, requires_grad=True) for a in (x, W, b)]
    y = ad.gelu(ad.linear(*ours))
    y = ad.log_softmax(y * ad.sigmoid(y) + ad.elu(y) - ad.selu(y) + ad.softplus(y), axis=-1)
    y.backward(u)
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
    F = torch.nn.functional
    t = F.gelu(F.linear(*theirs))
    t = F.log_softmax(t * torch.sigmoid(t) + F.elu(t) - F.selu(t) + F.softplus(t), dim=-1)
    t.backward(torch.tensor(u))
    np.testing.assert_allclose(y.data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    for a, ta in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_changing_the_callers_arrays_after_the_forward_pass_cannot_alter_gradients():
    a = np.array([1.0, 2.0])
    x = Tensor(a, requires_grad=True)  # Tensor copies
    arr = np.array([3.0, 4.0])
    y = (x * x * arr).sum()  # raw arrays are snapshotted
    a[0] = 5.0
    arr[0] = 100.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [6.0, 16.0])


def test_data_of_a_tensor_that_requires_grad_changes_only_through_the_tensor_api():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = (x * x).sum()
    with pytest.raises(ValueError, match="read-only"):
        x.data[0] = 5.0
    x.data = np.array([5.0, 2.0])  # allowed, and recorded
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()
    assert Tensor(np.ones(2)).data.flags.writeable  # constants stay plain arrays
