"""What the pictures share: plot ranges, functions evaluated on grids, marked points."""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import Colormap

from netchain.backend import to_numpy

__all__ = [
    "MAX_GRID_POINTS",
    "as_points",
    "as_trajectory",
    "check_colormap",
    "check_count",
    "grid_function",
    "parse_range",
    "vector_field",
]

# The most grid points per axis of a 2-D picture: 2000 x 2000 float64 values are 32 MB per
# array, and finer grids show nothing more at any figure size a screen or page holds.
MAX_GRID_POINTS = 2000


def check_count(
    value: Any, name: str, *, low: int = 2, high: int = MAX_GRID_POINTS, what: str = ""
) -> int:
    """An int option such as plot_points, checked to lie in [low, high].

    ``what`` says what is counted, for the message (default: grid points per axis).

    Raises
    ------
    ValueError
        For a non-int (bool included) or a value outside [low, high], naming the option.
    """
    what = what or "grid points per axis"
    if (
        not isinstance(value, int | np.integer)
        or isinstance(value, bool | np.bool_)
        or not low <= value <= high
    ):
        raise ValueError(f"{name} ({what}) must be an int from {low} to {high}, got {value!r}")
    return int(value)


def check_colormap(colormap: Any, name: str = "colormap") -> Colormap:
    """A Matplotlib colormap from its name (or a Colormap, passed through).

    Raises
    ------
    ValueError
        When it is not a name in ``matplotlib.colormaps``, with the nearest names.
    """
    if isinstance(colormap, Colormap):
        return colormap
    if isinstance(colormap, str) and colormap in matplotlib.colormaps:
        return matplotlib.colormaps[colormap]
    near = (
        difflib.get_close_matches(colormap, list(matplotlib.colormaps), n=3)
        if isinstance(colormap, str)
        else []
    )
    hint = f"; did you mean {near}?" if near else ""
    raise ValueError(
        f"{name} must be a Matplotlib colormap name such as 'viridis', 'RdBu_r' or 'Blues' "
        f"(one of matplotlib.colormaps) or a matplotlib.colors.Colormap, got {colormap!r}{hint}"
    )


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


def _one_number(value: Any, name: str, at: tuple[float, float]) -> float:
    """f's value at one point as a float, or a ValueError naming f and what it returned."""
    try:
        arr = _numpy_result(value)
    except (TypeError, ValueError):
        arr = np.asarray(None)
    if arr.size != 1 or arr.dtype.kind not in "biuf":
        what = (
            f"an array of shape {arr.shape}"
            if arr.dtype.kind in "biufc" and arr.size != 1
            else f"{value!r} (of type {type(value).__name__})"
        )
        raise ValueError(
            f"{name}(x, y) must return one real number per point, but {name}{at} returned {what}"
        )
    return float(arr.reshape(()))


def _call_at(f: Any, name: str, a: Any, b: Any) -> Any:
    try:
        return f(a, b)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name}: calling {name}({float(a)!r}, {float(b)!r}) failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def grid_function(
    f: Any, names: tuple[str, str], name: str = "f"
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """f(x, y) as a function of two arrays returning float64 values of their shape.

    f may be a formula (str or SymPy expression in the variables ``names``) or a Python function
    of two arguments; NumPy-vectorised functions are called once on the whole grid, others
    (which fail on arrays, or give values of another shape) point by point.

    Raises
    ------
    ValueError
        When f does not give one real number per point (an array of another shape, a string,
        None), naming ``name`` and what it returned.
    """
    if _symbolic(f):
        from netchain.calculus import as_expression, lambdify_numpy

        expr, symbols = as_expression(f, list(names))
        fn = lambdify_numpy(expr, symbols)
        if fn(np.zeros(1), np.zeros(1)).shape != (1,):
            raise ValueError(f"{name} must be a scalar function of {names}, got {expr}")
        return lambda X, Y: fn(X, Y)
    if not callable(f):
        raise TypeError(
            f"{name} must be a Python function f(x, y), a formula string or a SymPy expression, "
            f"got {type(f).__name__}"
        )

    def pointwise(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        # not vectorised (math.exp, if/else on values): evaluate point by point
        scalar = np.vectorize(
            lambda a, b: _one_number(_call_at(f, name, a, b), name, (float(a), float(b))),
            otypes=[float],
        )
        with np.errstate(all="ignore"):
            return scalar(X, Y) if X.size else np.empty(X.shape)

    def evaluate(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        try:
            with np.errstate(all="ignore"):
                Z = _numpy_result(f(X, Y))
        except (TypeError, ValueError):
            return pointwise(X, Y)
        if Z.dtype.kind not in "biuf":
            return pointwise(X, Y)
        try:
            shaped = np.broadcast_to(Z.astype(np.float64), X.shape)
        except ValueError:
            if X.size and np.asarray(_call_at(f, name, X.flat[0], Y.flat[0])).size == 1:
                return pointwise(X, Y)  # one number a point when called on numbers
            raise ValueError(
                f"{name}(x, y) must return one real number per point: called on a grid of shape "
                f"{X.shape} it returned shape {Z.shape}"
            ) from None
        return shaped.copy()

    return evaluate


def vector_field(
    field: Any, names: tuple[str, str]
) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A 2-D vector field as a function of two arrays returning (u, v) of their shape.

    ``field`` is a Python function returning a pair (or an array whose first axis has length
    2), or a pair of formulas / a SymPy vector such as ``Grad("x**2 + y**2", ["x", "y"])``.

    Raises
    ------
    ValueError
        When field(x, y) does not give two real components of the points' shape.
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
        try:
            if isinstance(out, list | tuple):
                parts = [_numpy_result(c).astype(np.float64) for c in out]
            else:
                arr = _numpy_result(out).astype(np.float64)
                parts = list(arr) if arr.ndim and arr.shape[0] == 2 else []
        except (TypeError, ValueError):
            raise ValueError(
                f"field(x, y) must return two real components (u, v), got {type(out).__name__} "
                f"{out!r:.200}"
            ) from None
        if len(parts) != 2:
            what = (
                f"{len(out)} components"
                if isinstance(out, list | tuple)
                else f"an array of shape {_numpy_result(out).shape}"
            )
            raise ValueError(f"field(x, y) must return two components (u, v), got {what}")
        try:
            return tuple(np.broadcast_to(p, X.shape).copy() for p in parts)  # type: ignore[return-value]
        except ValueError:
            raise ValueError(
                f"field(x, y) must return components (u, v) of the points' shape {X.shape}, "
                f"got shapes {parts[0].shape} and {parts[1].shape}"
            ) from None

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
