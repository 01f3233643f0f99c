"""Primitive operations, each with its analytic backward next to its forward.

Every function takes Tensors (or arrays / Python numbers, treated as constants) and returns a
Tensor. Binary operations broadcast as NumPy does; their backward sums the gradient over the
broadcast axes so that each input receives a gradient of its own shape.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from netchain import backend
from netchain.autodiff.tensor import Tensor, as_tensor, make_result
from netchain.backend import xp

__all__ = [
    "abs",
    "add",
    "clip",
    "concatenate",
    "div",
    "exp",
    "getitem",
    "log",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "pow",
    "reshape",
    "sqrt",
    "stack",
    "sub",
    "sum",
    "transpose",
    "where",
]

_builtin_sum = sum
_builtin_abs = abs
_builtin_max = max


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` over the axes along which an array of ``shape`` was broadcast to ``g.shape``."""
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g.reshape(shape)


def _operand(x: Any) -> tuple[Tensor | None, Any]:
    """Split an operand into (tensor or None, raw value). Python numbers stay Python numbers
    so that NumPy's weak scalar typing keeps float32 tensors in float32."""
    if isinstance(x, Tensor):
        return x, x._data
    if isinstance(x, numbers.Number):
        return None, x
    a = backend.as_float_array(x, name="operand")
    if a is x or getattr(a, "base", None) is not None:
        a = a.copy()  # a snapshot: changing the caller's array later cannot alter the gradient
    return None, a


def _binary(a: Any, b: Any, fwd: Any, bwd: Any, op: str) -> Tensor:
    ta, da = _operand(a)
    tb, db = _operand(b)
    out = fwd(da, db)
    parents = tuple(t for t in (ta, tb) if t is not None)
    if not parents:
        return Tensor(out)
    sa = xp.shape(da)
    sb = xp.shape(db)

    def backward(g: Any) -> tuple[Any, ...]:
        na = ta is not None and ta.requires_grad
        nb = tb is not None and tb.requires_grad
        ga, gb = bwd(g, da, db, out, na, nb)
        res = []
        if ta is not None:
            res.append(None if ga is None else unbroadcast(ga, sa))
        if tb is not None:
            res.append(None if gb is None else unbroadcast(gb, sb))
        return tuple(res)

    return make_result(out, parents, backward, op)


# ---------------------------------------------------------------------- arithmetic


def add(a: Any, b: Any) -> Tensor:
    """a + b."""
    return _binary(a, b, xp.add, lambda g, a, b, y, na, nb: (g, g), "add")


def sub(a: Any, b: Any) -> Tensor:
    """a - b."""
    return _binary(a, b, xp.subtract, lambda g, a, b, y, na, nb: (g, -g if nb else None), "sub")


def mul(a: Any, b: Any) -> Tensor:
    """a * b (elementwise)."""
    return _binary(
        a,
        b,
        xp.multiply,
        lambda g, a, b, y, na, nb: (g * b if na else None, g * a if nb else None),
        "mul",
    )


def div(a: Any, b: Any) -> Tensor:
    """a / b (elementwise)."""

    def bwd(g: Any, a: Any, b: Any, y: Any, na: bool, nb: bool) -> tuple[Any, Any]:
        ga = g / b if na else None
        gb = -g * y / b if nb else None
        return ga, gb

    return _binary(a, b, xp.true_divide, bwd, "div")


def pow(a: Any, b: Any) -> Tensor:
    """a ** b. With a tensor exponent the base must be positive where its gradient is needed."""

    def bwd(g: Any, a: Any, b: Any, y: Any, na: bool, nb: bool) -> tuple[Any, Any]:
        ga = gb = None
        if na:
            if isinstance(b, numbers.Number):
                ga = g * b * (a ** (b - 1)) if b != 0 else xp.zeros_like(g)
            else:
                ga = g * b * (a ** (b - 1))
        if nb:
            with backend.errstate(divide="ignore", invalid="ignore"):
                la = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), 0)
            gb = g * y * la
        return ga, gb

    return _binary(a, b, xp.power, bwd, "pow")


def neg(x: Any) -> Tensor:
    """-x."""
    x = as_tensor(x)
    return make_result(-x._data, (x,), lambda g: (-g,), "neg")


def maximum(a: Any, b: Any) -> Tensor:
    """Elementwise maximum; at ties the gradient is split evenly between the two inputs."""

    def bwd(g: Any, a: Any, b: Any, y: Any, na: bool, nb: bool) -> tuple[Any, Any]:
        wa = (a > b) + 0.5 * (a == b)
        return (g * wa if na else None), (g * (1 - wa) if nb else None)

    return _binary(a, b, xp.maximum, bwd, "maximum")


def minimum(a: Any, b: Any) -> Tensor:
    """Elementwise minimum; at ties the gradient is split evenly between the two inputs."""

    def bwd(g: Any, a: Any, b: Any, y: Any, na: bool, nb: bool) -> tuple[Any, Any]:
        wa = (a < b) + 0.5 * (a == b)
        return (g * wa if na else None), (g * (1 - wa) if nb else None)

    return _binary(a, b, xp.minimum, bwd, "minimum")


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """``a`` where ``condition`` holds, else ``b`` (broadcasting all three)."""
    cond = xp.array(condition._data if isinstance(condition, Tensor) else condition, dtype=bool)

    def fwd(da: Any, db: Any) -> Any:
        return xp.where(cond, da, db)

    def bwd(g: Any, a: Any, b: Any, y: Any, na: bool, nb: bool) -> tuple[Any, Any]:
        zero = xp.zeros((), dtype=g.dtype)
        return (xp.where(cond, g, zero) if na else None), (xp.where(cond, zero, g) if nb else None)

    return _binary(a, b, fwd, bwd, "where")


def clip(x: Any, a_min: Any = None, a_max: Any = None) -> Tensor:
    """Clamp ``x`` into [a_min, a_max]; the gradient passes where a_min <= x <= a_max."""
    x = as_tensor(x)
    lo = -xp.inf if a_min is None else a_min
    hi = xp.inf if a_max is None else a_max
    y = xp.clip(x._data, lo, hi)

    def backward(g: Any) -> tuple[Any]:
        inside = (x._data >= lo) & (x._data <= hi)
        return (g * inside,)

    return make_result(y, (x,), backward, "clip")


# ---------------------------------------------------------------------- elementwise functions


def exp(x: Any) -> Tensor:
    """e ** x."""
    x = as_tensor(x)
    y = xp.exp(x._data)
    return make_result(y, (x,), lambda g: (g * y,), "exp")


def log(x: Any) -> Tensor:
    """Natural logarithm."""
    x = as_tensor(x)
    y = xp.log(x._data)
    return make_result(y, (x,), lambda g: (g / x._data,), "log")


def sqrt(x: Any) -> Tensor:
    """Square root."""
    x = as_tensor(x)
    y = xp.sqrt(x._data)
    return make_result(y, (x,), lambda g: (g / (2 * y),), "sqrt")


def abs(x: Any) -> Tensor:  # noqa: A001 - the field's name for it
    """|x|; the gradient at 0 is 0."""
    x = as_tensor(x)
    y = xp.abs(x._data)
    return make_result(y, (x,), lambda g: (g * xp.sign(x._data),), "abs")


# ---------------------------------------------------------------------- reductions


def _norm_axis(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int | numbers.Integral) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < _builtin_max(ndim, 1):
            raise ValueError(f"axis {a} is out of bounds for a tensor of {ndim} dimensions")
        out.append(a % ndim if ndim else 0)
    return tuple(sorted(set(out)))


def _expand(g: Any, axes: tuple[int, ...], keepdims: bool) -> Any:
    if keepdims or not axes:
        return g
    return xp.expand_dims(g, axes)


def sum(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Sum over ``axis`` (all axes by default)."""
    x = as_tensor(x)
    axes = _norm_axis(axis, x.ndim)
    y = xp.sum(x._data, axis=axes, keepdims=keepdims)
    y = xp.asarray(y)
    shape = x.shape

    def backward(g: Any) -> tuple[Any]:
        return (xp.broadcast_to(_expand(g, axes, keepdims), shape),)

    return make_result(y, (x,), backward, "sum")


def mean(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """Arithmetic mean over ``axis`` (all axes by default)."""
    x = as_tensor(x)
    axes = _norm_axis(axis, x.ndim)
    count = 1
    for a in axes:
        count *= x.shape[a]
    y = xp.asarray(xp.mean(x._data, axis=axes, keepdims=keepdims))
    shape = x.shape

    def backward(g: Any) -> tuple[Any]:
        return (xp.broadcast_to(_expand(g / count, axes, keepdims), shape),)

    return make_result(y, (x,), backward, "mean")


def _extremum(x: Any, axis: Any, keepdims: bool, fn: Any, op: str) -> Tensor:
    x = as_tensor(x)
    if x.size == 0:
        raise ValueError(f"{op} of an empty tensor")
    axes = _norm_axis(axis, x.ndim)
    yk = fn(x._data, axis=axes, keepdims=True)
    y = xp.asarray(
        yk if keepdims else yk.reshape([n for i, n in enumerate(yk.shape) if i not in axes])
    )

    def backward(g: Any) -> tuple[Any]:
        mask = x._data == yk
        share = mask / mask.sum(axis=axes, keepdims=True)
        return (_expand(g, axes, keepdims) * share,)

    return make_result(y, (x,), backward, op)


def max(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Maximum over ``axis``; tied maxima share the gradient evenly."""
    return _extremum(x, axis, keepdims, xp.max, "max")


def min(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:  # noqa: A001
    """Minimum over ``axis``; tied minima share the gradient evenly."""
    return _extremum(x, axis, keepdims, xp.min, "min")


def logsumexp(x: Any, axis: Any = -1, keepdims: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``axis``, computed without overflow (the maximum is factored out)."""
    x = as_tensor(x)
    axes = _norm_axis(axis, x.ndim)
    m = xp.max(x._data, axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    z = xp.exp(x._data - m)
    s = z.sum(axis=axes, keepdims=True)
    yk = xp.log(s) + m
    y = yk if keepdims else yk.reshape([n for i, n in enumerate(yk.shape) if i not in axes])

    def backward(g: Any) -> tuple[Any]:
        return (_expand(g, axes, keepdims) * (z / s),)

    return make_result(xp.asarray(y), (x,), backward, "logsumexp")


# ---------------------------------------------------------------------- linear algebra


def matmul(a: Any, b: Any) -> Tensor:
    """Matrix product with NumPy's rules (1-D operands promoted, batch axes broadcast)."""
    ta, tb = as_tensor(a), as_tensor(b)
    A, B = ta._data, tb._data
    if A.ndim == 0 or B.ndim == 0:
        raise ValueError("matmul: operands must have at least one dimension; use mul for scalars")
    y = xp.matmul(A, B)

    def backward(g: Any) -> tuple[Any, Any]:
        A2 = A[None, :] if A.ndim == 1 else A
        B2 = B[:, None] if B.ndim == 1 else B
        if A.ndim == 1 and B.ndim == 1:
            g2 = g.reshape(1, 1)
        else:
            g2 = xp.expand_dims(g, -2) if A.ndim == 1 else g
            g2 = xp.expand_dims(g2, -1) if B.ndim == 1 else g2
        ga = gb = None
        if ta.requires_grad:
            ga = xp.matmul(g2, xp.swapaxes(B2, -1, -2))
            ga = unbroadcast(ga, A2.shape).reshape(A.shape)
        if tb.requires_grad:
            gb = xp.matmul(xp.swapaxes(A2, -1, -2), g2)
            gb = unbroadcast(gb, B2.shape).reshape(B.shape)
        return ga, gb

    return make_result(y, (ta, tb), backward, "matmul")


# ---------------------------------------------------------------------- shapes


def reshape(x: Any, *shape: Any) -> Tensor:
    """The same values in a new shape (one dimension may be -1)."""
    x = as_tensor(x)
    if len(shape) == 1 and isinstance(shape[0], tuple | list):
        shape = tuple(shape[0])
    try:
        y = x._data.reshape(shape)
    except ValueError:
        raise ValueError(
            f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {shape}"
        ) from None
    old = x.shape
    return make_result(y, (x,), lambda g: (g.reshape(old),), "reshape")


def transpose(x: Any, axes: Sequence[int] | None = None) -> Tensor:
    """Permute the axes (reverse them by default)."""
    x = as_tensor(x)
    if axes is None:
        axes = tuple(reversed(range(x.ndim)))
    axes = tuple(a % x.ndim for a in axes)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"transpose: axes {axes} are not a permutation of {x.ndim} axes")
    inverse = tuple(int(i) for i in xp.argsort(xp.asarray(axes)))
    y = xp.transpose(x._data, axes)
    return make_result(y, (x,), lambda g: (xp.transpose(g, inverse),), "transpose")


def _is_basic_index(index: Any) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(i, slice | numbers.Integral) or i is None or i is Ellipsis for i in items
    ) and not any(isinstance(i, bool) for i in items)


def getitem(x: Any, index: Any) -> Tensor:
    """Indexing and slicing with NumPy's rules; repeated fancy indices accumulate gradient."""
    x = as_tensor(x)
    if isinstance(index, Tensor):
        index = index._data.astype(xp.intp) if index._data.dtype.kind == "f" else index._data
    if isinstance(index, tuple):
        index = tuple(i._data if isinstance(i, Tensor) else i for i in index)
    y = x._data[index]
    basic = _is_basic_index(index)
    shape, dtype = x.shape, x.dtype

    def backward(g: Any) -> tuple[Any]:
        gx = backend.scratch.zeros(shape, dtype)
        if basic:
            gx[index] = g
        else:
            xp.add.at(gx, index, g)
        return (gx,)

    return make_result(xp.asarray(y), (x,), backward, "getitem")


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("concatenate: need at least one tensor")
    y = xp.concatenate([t._data for t in ts], axis=axis)
    ax = axis % y.ndim
    sizes = [t.shape[ax] for t in ts]
    bounds = list(xp.cumsum(xp.asarray(sizes))[:-1])

    def backward(g: Any) -> tuple[Any, ...]:
        return tuple(xp.split(g, [int(b) for b in bounds], axis=ax))

    return make_result(y, tuple(ts), backward, "concatenate")


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Join tensors of equal shape along a new axis."""
    ts = [as_tensor(t) for t in tensors]
    if not ts:
        raise ValueError("stack: need at least one tensor")
    y = xp.stack([t._data for t in ts], axis=axis)
    ax = axis % y.ndim

    def backward(g: Any) -> tuple[Any, ...]:
        return tuple(xp.take(g, i, axis=ax) for i in range(len(ts)))

    return make_result(y, tuple(ts), backward, "stack")


# ---------------------------------------------------------------------- Tensor methods


def _attach() -> None:
    T = Tensor
    T.__add__ = lambda s, o: add(s, o)
    T.__radd__ = lambda s, o: add(o, s)
    T.__sub__ = lambda s, o: sub(s, o)
    T.__rsub__ = lambda s, o: sub(o, s)
    T.__mul__ = lambda s, o: mul(s, o)
    T.__rmul__ = lambda s, o: mul(o, s)
    T.__truediv__ = lambda s, o: div(s, o)
    T.__rtruediv__ = lambda s, o: div(o, s)
    T.__pow__ = lambda s, o: pow(s, o)
    T.__rpow__ = lambda s, o: pow(o, s)
    T.__neg__ = lambda s: neg(s)
    T.__pos__ = lambda s: s
    T.__abs__ = lambda s: abs(s)
    T.__matmul__ = lambda s, o: matmul(s, o)
    T.__rmatmul__ = lambda s, o: matmul(o, s)
    T.__getitem__ = lambda s, i: getitem(s, i)
    T.__hash__ = object.__hash__
    T.exp = lambda s: exp(s)
    T.log = lambda s: log(s)
    T.sqrt = lambda s: sqrt(s)
    T.abs = lambda s: abs(s)
    T.sum = lambda s, axis=None, keepdims=False: sum(s, axis, keepdims)
    T.mean = lambda s, axis=None, keepdims=False: mean(s, axis, keepdims)
    T.max = lambda s, axis=None, keepdims=False: max(s, axis, keepdims)
    T.min = lambda s, axis=None, keepdims=False: min(s, axis, keepdims)
    T.reshape = lambda s, *shape: reshape(s, *shape)
    T.transpose = lambda s, *axes: transpose(s, axes[0] if len(axes) == 1 else (axes or None))
    T.T = property(lambda s: transpose(s))
    T.clip = lambda s, a_min=None, a_max=None: clip(s, a_min, a_max)

    def _cmp(fn: Any) -> Any:
        return lambda s, o: fn(s._data, o._data if isinstance(o, Tensor) else o)

    T.__lt__ = _cmp(xp.less)
    T.__le__ = _cmp(xp.less_equal)
    T.__gt__ = _cmp(xp.greater)
    T.__ge__ = _cmp(xp.greater_equal)


_attach()
