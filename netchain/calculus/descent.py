"""Gradient descent on a function of a few variables, with its trajectory.

The gradient comes from :func:`netchain.autodiff.value_and_grad`, the same engine that trains
the nets, so a descent drawn on a contour plot is the algorithm NetTrain runs, on two
variables instead of thousands.

References
----------
Cauchy (1847), "Methode generale pour la resolution des systemes d'equations simultanees"
(gradient descent); Polyak (1964), "Some methods of speeding up the convergence of iteration
methods" (momentum, the heavy ball); Kingma & Ba (2015), "Adam: a method for stochastic
optimization", algorithm 1.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from netchain import autodiff as ad
from netchain.autodiff import Tensor, value_and_grad
from netchain.calculus.symbolic import as_expression

__all__ = ["DescentResult", "DivergenceWarning", "GradientDescent"]

DESCENT_METHODS = ("GD", "Momentum", "ADAM")

# SymPy functions that have a netchain.autodiff operation (for formulas given as text).
_AUTODIFF_FUNCTIONS: dict[str, Any] = {
    "exp": ad.exp,
    "log": ad.log,
    "sqrt": ad.sqrt,
    "Abs": ad.abs,
    "tanh": ad.tanh,
    "Max": ad.maximum,
    "Min": ad.minimum,
}


class DivergenceWarning(UserWarning):
    """Gradient descent left every bound: the step is too large for the function."""


@dataclass
class DescentResult:
    """What :func:`GradientDescent` did.

    Attributes
    ----------
    trajectory : ndarray of shape (k + 1, n), float64
        The starting point and the point after each of the k steps taken.
    values : ndarray of shape (k + 1,)
        f along the trajectory.
    gradients : ndarray of shape (k + 1, n)
        grad f along the trajectory.
    method : str
    learning_rate : float
    steps : int
        Steps taken (k).
    stop_reason : {"Steps", "Converged", "Diverged"}
        All steps done; the gradient fell below the tolerance; or the descent diverged.
    message : str
        One sentence on why it stopped.
    """

    trajectory: np.ndarray
    values: np.ndarray
    gradients: np.ndarray
    method: str
    learning_rate: float
    steps: int
    stop_reason: str
    message: str

    @property
    def point(self) -> np.ndarray:
        """The last point reached (the last finite one when the descent diverged)."""
        return self.trajectory[-1]

    @property
    def value(self) -> float:
        """f at :attr:`point`."""
        return float(self.values[-1])

    @property
    def diverged(self) -> bool:
        return self.stop_reason == "Diverged"

    def __repr__(self) -> str:
        pt = np.array2string(self.point, precision=6, separator=", ")
        return (
            f"DescentResult({self.method}, {self.steps} steps, point {pt}, value "
            f"{self.value:.6g}, stopped: {self.stop_reason})"
        )


def _coordinates(v: Tensor, n: int) -> list[Tensor]:
    # One-element slices rather than 0-d tensors: the engine's binary operations between a
    # Python number and a 0-d tensor give NumPy scalars, which it cannot mark read-only.
    return [v[i : i + 1] for i in range(n)]


def _as_tensor_function(f: Any, variables: Any, n: int) -> Callable[[Tensor], Tensor]:
    """f as a function of one Tensor vector of length n."""
    if isinstance(f, str | sp.Basic):
        expr, symbols = as_expression(f, variables)
        if len(symbols) != n:
            raise ValueError(
                f"f has {len(symbols)} variables {list(symbols)} but x0 has {n} coordinates"
            )
        unknown = sorted(
            {type(a).__name__ for a in expr.atoms(sp.Function)} - set(_AUTODIFF_FUNCTIONS)
        )
        if unknown:
            raise ValueError(
                f"f uses {unknown}, which netchain.autodiff has no operation for; write f as "
                "a Python function of netchain operations instead"
            )
        fn = sp.lambdify(symbols, expr, modules=[_AUTODIFF_FUNCTIONS, "math"])
        return lambda v: fn(*_coordinates(v, n))
    if not callable(f):
        raise TypeError(
            f"f must be a Python function, a SymPy expression or a formula, got {type(f).__name__}"
        )
    try:
        params = [
            p
            for p in inspect.signature(f).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
        ]
        arity = len(params)
    except (TypeError, ValueError):
        arity = 1
    if arity == 1:
        return f
    if arity != n:
        raise ValueError(
            f"f takes {arity} arguments but x0 has {n} coordinates; give f one argument per "
            "coordinate, or one argument for the whole vector"
        )
    return lambda v: f(*_coordinates(v, n))


def _positive(value: Any, name: str) -> float:
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _starting_point(x0: Any) -> np.ndarray:
    """x0 as a float64 vector, or a ValueError naming x0 and what it holds."""
    if x0 is not None:
        try:
            return np.array(x0, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            pass
    items = x0 if isinstance(x0, list | tuple) else [x0]
    hint = ""
    if items and all(isinstance(v, str | sp.Symbol) for v in items):
        hint = (
            "; it looks like variable names: GradientDescent(f, x0, ...) takes the starting "
            "point second, and the variables as the keyword variables=..."
        )
    raise ValueError(
        f"x0 must be the starting point, numbers of shape (n,), got {x0!r} "
        f"(of type {type(x0).__name__}){hint}"
    ) from None


def GradientDescent(
    f: Any,
    x0: Any,
    learning_rate: float = 0.1,
    steps: int = 100,
    method: str = "GD",
    *,
    variables: Any = None,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
    tolerance: float = 1e-12,
    max_norm: float | None = None,
) -> DescentResult:
    """Minimise f by gradient descent from x0, recording the trajectory.

    Parameters
    ----------
    f : callable, sympy.Expr or str
        A Python function written with netchain operations (``+``, ``*``, ``**``,
        :mod:`netchain.autodiff` functions), taking either one argument per coordinate
        (``lambda x, y: x**2 + y**2``) or one vector (``lambda v: (v**2).sum()``) and returning
        a number; or a formula whose functions netchain.autodiff has (``exp``, ``log``,
        ``sqrt``, ``Abs``, ``tanh``).
    x0 : array_like of shape (n,)
        The starting point.
    learning_rate : float, default 0.1
    steps : int, default 100
        The most steps to take.
    method : {"GD", "Momentum", "ADAM"}, default "GD"
        "GD": x <- x - lr g. "Momentum" (heavy ball): v <- momentum v - lr g; x <- x + v.
        "ADAM": Kingma & Ba's update with ``beta1``, ``beta2``, ``epsilon`` and bias correction.
    variables : optional
        The variables' order for a formula (default: sorted by name).
    momentum : float, default 0.9
    beta1, beta2, epsilon : float, default 0.9, 0.999, 1e-8
    tolerance : float, default 1e-12
        Stop ("Converged") when every gradient component is at most this.
    max_norm : float, optional
        Stop as diverged when a coordinate's magnitude exceeds this (default
        ``1e6 * (1 + max |x0|)``).

    Returns
    -------
    DescentResult
        The trajectory (float64), f and grad f along it, and why it stopped.

    Raises
    ------
    ValueError
        For an unknown method, non-positive learning rate or steps, an x0 that is not numbers
        (such as variable names given where x0 goes) or not finite, or f with the wrong
        number of arguments; TypeError when f does not return a number.

    Warns
    -----
    DivergenceWarning
        When f, its gradient or the point stops being finite, or the point passes
        ``max_norm``: the descent stops there and the result ends at the last finite point,
        with ``stop_reason == "Diverged"``.

    Examples
    --------
    >>> from netchain.calculus import GradientDescent
    >>> r = GradientDescent(lambda x, y: x**2 + y**2, [2.0, -1.0], 0.1, 200)
    >>> bool(abs(r.point).max() < 1e-9)
    True
    """
    if method not in DESCENT_METHODS:
        raise ValueError(f"method must be one of {DESCENT_METHODS}, got {method!r}")
    lr = _positive(learning_rate, "learning_rate")
    if not isinstance(steps, numbers.Integral) or isinstance(steps, bool) or steps < 0:
        raise ValueError(f"steps must be a non-negative int, got {steps!r}")
    x = _starting_point(x0)
    if x.size == 0:
        raise ValueError("x0 must have at least one coordinate")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0 must be finite, got {x.tolist()}")
    n = x.size
    if max_norm is None:
        max_norm = 1e6 * (1.0 + float(np.abs(x).max()))
    max_norm = _positive(max_norm, "max_norm")
    fn = _as_tensor_function(f, variables, n)
    vg = value_and_grad(lambda v: fn(v))

    def evaluate(point: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, g = vg(point)
        return float(value), np.asarray(g, dtype=np.float64).reshape(-1)

    value, g = evaluate(x)
    if not (math.isfinite(value) and np.all(np.isfinite(g))):
        raise ValueError(f"f or its gradient is not finite at x0 = {x.tolist()}")
    points, values, grads = [x.copy()], [value], [g.copy()]
    velocity = np.zeros(n)
    m = np.zeros(n)
    s = np.zeros(n)
    stop, message = "Steps", f"took all {steps} steps"
    for k in range(1, steps + 1):
        if np.max(np.abs(g)) <= tolerance:
            stop = "Converged"
            message = f"the gradient fell below {tolerance:g} after {k - 1} steps"
            break
        if method == "GD":
            x = x - lr * g
        elif method == "Momentum":
            velocity = momentum * velocity - lr * g
            x = x + velocity
        else:
            m = beta1 * m + (1 - beta1) * g
            s = beta2 * s + (1 - beta2) * g * g
            m_hat = m / (1 - beta1**k)
            s_hat = s / (1 - beta2**k)
            x = x - lr * m_hat / (np.sqrt(s_hat) + epsilon)
        if not np.all(np.isfinite(x)):
            why = "the point is no longer finite"
        elif float(np.abs(x).max()) > max_norm:
            why = f"a coordinate passed {max_norm:g} in magnitude"
        else:
            value, g = evaluate(x)
            why = (
                ""
                if math.isfinite(value) and np.all(np.isfinite(g))
                else "f or its gradient is no longer finite"
            )
        if why:
            stop = "Diverged"
            message = (
                f"{method} diverged at step {k} of {steps} with learning_rate {lr:g}: {why}; "
                "the result ends at the last finite point (try a smaller learning_rate)"
            )
            warnings.warn(message, DivergenceWarning, stacklevel=2)
            break
        points.append(x.copy())
        values.append(value)
        grads.append(g.copy())
    else:
        if steps and np.max(np.abs(g)) <= tolerance:
            stop = "Converged"
            message = f"the gradient fell below {tolerance:g} after {steps} steps"
    return DescentResult(
        trajectory=np.asarray(points),
        values=np.asarray(values),
        gradients=np.asarray(grads),
        method=method,
        learning_rate=lr,
        steps=len(points) - 1,
        stop_reason=stop,
        message=message,
    )
