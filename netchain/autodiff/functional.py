"""Derivatives as function transformations, and the finite-difference gradient check.

``grad(f)`` and ``value_and_grad(f)`` turn a Python function of arrays into one that returns
its gradient, in the manner of JAX's transformations; ``check_grad`` compares the engine's
gradient with central finite differences in float64.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from netchain import backend
from netchain.autodiff.tensor import Tensor, enable_grad
from netchain.backend import xp

__all__ = ["check_grad", "grad", "value_and_grad"]


def _as_input(x: Any, name: str) -> Tensor:
    if isinstance(x, Tensor):
        x = x.data
    a = backend.as_float_array(x, name=name)
    if a.dtype.kind != "f" or xp.asarray(x).dtype.kind != "f":
        a = a.astype(xp.float64)
    return Tensor(xp.array(a, copy=True), requires_grad=True)


def _argnums(argnums: int | Sequence[int], nargs: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
    for i in nums:
        if not -nargs <= i < nargs:
            raise ValueError(
                f"argnums {argnums!r} is out of range for a call with {nargs} arguments"
            )
    return tuple(i % nargs for i in nums)


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0
) -> Callable[..., tuple[float, Any]]:
    """Transform ``f`` into a function returning ``(f(*args), gradient)``.

    Parameters
    ----------
    f : callable
        A function of Tensors (and constants) returning a one-element Tensor, written with
        netchain operations (``+``, ``*``, ``**``, :mod:`netchain.autodiff` functions ...).
    argnums : int or sequence of int, default 0
        Which positional arguments to differentiate with respect to.

    Returns
    -------
    callable
        ``g(*args)`` returning the value as a float and the gradient: an array of each
        differentiated argument's shape (a float for a Python number), or a tuple of them when
        ``argnums`` is a sequence. Integer and Python-number arguments are taken as float64.

    Raises
    ------
    TypeError
        If ``f`` returns something that is not a one-element Tensor or number.
    ValueError
        If ``argnums`` is out of range.
    """

    def wrapped(*args: Any) -> tuple[float, Any]:
        nums = _argnums(argnums, len(args))
        call = list(args)
        for i in nums:
            call[i] = _as_input(args[i], f"argument {i}")
        with enable_grad():
            out = f(*call)
        if isinstance(out, numbers.Real):
            value, zero = float(out), True
        elif isinstance(out, Tensor):
            if out.size != 1:
                raise TypeError(
                    f"grad: f must return a single number, got a tensor of shape {out.shape}"
                )
            value, zero = out.item(), not out.requires_grad
            if not zero:
                out.backward()
        else:
            raise TypeError(f"grad: f must return a Tensor or a number, got {type(out).__name__}")
        grads = []
        for i in nums:
            t = call[i]
            g = xp.zeros_like(t.data) if zero or t.grad is None else t.grad
            grads.append(float(g) if isinstance(args[i], numbers.Real) else backend.to_numpy(g))
        result = grads[0] if isinstance(argnums, numbers.Integral) else tuple(grads)
        return value, result

    return wrapped


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """Transform ``f`` into a function returning its gradient (see :func:`value_and_grad`).

    Examples
    --------
    >>> from netchain.autodiff import grad
    >>> grad(lambda v: (v**2).sum())([2.0, -3.0])
    array([ 4., -6.])
    """
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


def check_grad(
    f: Callable[..., Any], *inputs: Any, eps: float = 1e-6, random_seed: int = 0
) -> float:
    """Largest relative error between the engine's gradient and central finite differences.

    The output of ``f`` is contracted with a random upstream gradient u (standard normal, of
    the output's shape), so every output element is checked: the analytic side is the
    backward pass of ``sum(u * f(x))``, the numeric side
    ``(sum(u * f(x + eps e_i)) - sum(u * f(x - eps e_i))) / (2 eps)`` for each coordinate i of
    each input. Everything runs in float64.

    Parameters
    ----------
    f : callable
        A function of Tensors returning a Tensor.
    *inputs : array_like
        The points at which to check; every input is differentiated.
    eps : float, default 1e-6
        The finite-difference step.
    random_seed : int, default 0
        Seed of the upstream gradient.

    Returns
    -------
    float
        max over all coordinates of |analytic - numeric| / max(1, |analytic|, |numeric|):
        a relative error for large gradients and an absolute one for small.

    Raises
    ------
    ValueError
        If no inputs are given, or ``f`` gives a non-finite value.
    """
    if not inputs:
        raise ValueError("check_grad needs at least one input")
    points = [xp.array(backend.as_float_array(x, name="input"), dtype=xp.float64) for x in inputs]
    tensors = [Tensor(p.copy(), requires_grad=True) for p in points]
    with enable_grad():
        out = f(*tensors)
    out = out if isinstance(out, Tensor) else Tensor(out)
    rng = backend.rng(random_seed)
    u = xp.asarray(rng.standard_normal(out.shape))
    if not xp.all(xp.isfinite(out.data)):
        raise ValueError("check_grad: f gives non-finite values at the given inputs")
    if out.requires_grad:
        out.backward(u)

    def scalar(vals: list[Any]) -> float:
        res = f(*[Tensor(v) for v in vals])
        res = res.data if isinstance(res, Tensor) else xp.asarray(res)
        return float((u * res).sum())

    worst = 0.0
    for k, (p, t) in enumerate(zip(points, tensors)):
        analytic = xp.zeros_like(p) if t.grad is None else t.grad
        flat = p.reshape(-1)
        for i in range(flat.size):
            vals = [q.copy() for q in points]
            vk = vals[k].reshape(-1)
            vk[i] = flat[i] + eps
            up = scalar(vals)
            vk[i] = flat[i] - eps
            down = scalar(vals)
            numeric = (up - down) / (2 * eps)
            a = float(analytic.reshape(-1)[i])
            err = abs(a - numeric) / max(1.0, abs(a), abs(numeric))
            worst = max(worst, err)
    return worst
