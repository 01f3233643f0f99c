"""What the pictures share: plot ranges, functions evaluated on grids, marked points."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from netchain.backend import to_numpy

__all__ = ["as_points", "as_trajectory", "grid_function", "parse_range", "vector_field"]


def parse_range(spec: Any, name: str) -> tuple[str, float, float]:
    """A plot range ``("x", low, high)`` as (name, low, high).

    Raises
    ------
    ValueError
        Unless it is a name and two finite numbers with low < high.
    """
    if (
        not isinstance(spec, tuple | list)
        or len(spec) != 3
        or not isinstance(spec[0], str)
        or not all(isinstance(v, numbers.Real) for v in spec[1:])
    ):
        raise ValueError(
            f"{name} must be (variable name, low, high) like ('x', -3, 3), got {spec!r}"
        )
    var, lo, hi = spec[0], float(spec[1]), float(spec[2])
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name}: need finite low < high, got {lo} and {hi}")
    if not var.isidentifier():
        raise ValueError(f"{name}: {var!r} is not a variable name")
    return var, lo, hi


def _numpy_result(value: Any) -> np.ndarray:
    if hasattr(value, "numpy") and callable(value.numpy):  # a netchain Tensor
        value = value.numpy()
    return np.asarray(to_numpy(value) if not isinstance(value, list | tuple) else value)


def _symbolic(f: Any) -> bool:
    if isinstance(f, str):
        return True
    try:
        import sympy

        return isinstance(f, sympy.Basic | sympy.NDimArray | sympy.MatrixBase)
    except ImportError:  # pragma: no cover - sympy is a dependency
        return False


def grid_function(f: Any, names: tuple[str, str]) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """f(x, y) as a function of two arrays returning float64 values of their shape.

    f may be a formula (str or SymPy expression in the variables ``names``) or a Python function
    of two arguments; NumPy-vectorised functions are called once on the whole grid, others
    (which fail on arrays) point by point.
    """
    if _symbolic(f):
        from netchain.calculus import as_expression, lambdify_numpy

        expr, symbols = as_expression(f, list(names))
        fn = lambdify_numpy(expr, symbols)
        if fn(np.zeros(1), np.zeros(1)).shape != (1,):
            raise ValueError(f"f must be a scalar function of {names}, got {expr}")
        return lambda X, Y: fn(X, Y)
    if not callable(f):
        raise TypeError(
            f"f must be a Python function f(x, y), a formula string or a SymPy expression, got "
            f"{type(f).__name__}"
        )

    def evaluate(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        try:
            with np.errstate(all="ignore"):
                Z = _numpy_result(f(X, Y)).astype(np.float64)
            return np.broadcast_to(Z, X.shape).copy()
        except (TypeError, ValueError):
            # not vectorised (math.exp, if/else on values): evaluate point by point
            scalar = np.vectorize(lambda a, b: float(_numpy_result(f(a, b))), otypes=[float])
            with np.errstate(all="ignore"):
                return scalar(X, Y)

    return evaluate


def vector_field(
    field: Any, names: tuple[str, str]
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A 2-D vector field as a function of two arrays returning (u, v) of their shape.

    ``field`` is a Python function returning a pair (or an array whose first axis has length
    2), or a pair of formulas / a SymPy vector such as ``Grad("x**2 + y**2", ["x", "y"])``.
    """
    if _symbolic(field) or (
        isinstance(field, list | tuple) and field and all(_symbolic(c) for c in field)
    ):
        from netchain.calculus import as_expression, lambdify_numpy

        expr, symbols = as_expression(field, list(names))
        if getattr(expr, "shape", None) != (2,):
            raise ValueError(
                f"field must have two components (u, v), got {getattr(expr, 'shape', expr)}"
            )
        fn = lambdify_numpy(expr, symbols)
        return lambda X, Y: (fn(X, Y)[..., 0], fn(X, Y)[..., 1])
    if not callable(field):
        raise TypeError(
            "field must be a Python function (x, y) -> (u, v), a pair of formulas or a SymPy "
            f"vector, got {type(field).__name__}"
        )

    def evaluate(X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with np.errstate(all="ignore"):
            out = field(X, Y)
        if isinstance(out, list | tuple):
            parts = [_numpy_result(c).astype(np.float64) for c in out]
        else:
            arr = _numpy_result(out).astype(np.float64)
            parts = list(arr) if arr.ndim and arr.shape[0] == 2 else []
        if len(parts) != 2:
            raise ValueError("field(x, y) must return two components (u, v)")
        return tuple(np.broadcast_to(p, X.shape).copy() for p in parts)  # type: ignore[return-value]

    return evaluate


def as_points(points: Any, name: str = "points") -> np.ndarray:
    """Points to mark as an (m, 2) or (m, 3) float array.

    Accepts (x, y) pairs, (x, y, z) triples, :class:`netchain.calculus.CriticalPoint` objects
    (their numeric coordinates) or an array.
    """
    if points is None:
        return np.empty((0, 2))
    if hasattr(points, "numeric") and hasattr(points, "kind"):
        points = [points]
    rows = []
    for p in points:
        if hasattr(p, "numeric") and hasattr(p, "kind"):
            p = p.numeric
        rows.append(np.asarray(p, dtype=np.float64).reshape(-1))
    if not rows:
        return np.empty((0, 2))
    widths = {len(r) for r in rows}
    if len(widths) != 1 or widths.pop() not in (2, 3):
        raise ValueError(f"{name} must be (x, y) or (x, y, z) points, got {points!r}")
    return np.asarray(rows)


def as_trajectory(trajectory: Any) -> tuple[np.ndarray, str | None]:
    """A trajectory as a (k, 2) array and a label (the method of a DescentResult)."""
    if trajectory is None:
        return np.empty((0, 2)), None
    label = None
    if hasattr(trajectory, "trajectory"):
        label = f"{trajectory.method}, {trajectory.steps} steps"
        trajectory = trajectory.trajectory
    T = np.asarray(trajectory, dtype=np.float64)
    if T.ndim != 2 or T.shape[1] != 2:
        raise ValueError(f"trajectory must have shape (k, 2), got {T.shape}")
    return T, label
