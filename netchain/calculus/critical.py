"""Critical points: the real solutions of grad f = 0, and their classification by the Hessian.

Exact solutions come from SymPy. For a polynomial (or rational) function the real solutions of
the polynomial system are found by elimination: for each variable a lexicographic Groebner basis
gives the univariate polynomial its values must satisfy, SymPy isolates that polynomial's real
roots exactly (rationals, radicals or ``CRootOf``), and the combinations that make every
equation vanish (checked at 60 significant digits) are the critical points; this finds all of
them when they are isolated. Other functions go to ``sympy.solve``, which may miss solutions,
so its answers are completed by a numeric search: Newton's method on grad f = 0 from a grid of
starts (Levenberg-Marquardt on |grad f|^2, all starts at once in NumPy), each distinct limit
polished with ``scipy.optimize.root``.

References
----------
Cox, Little & O'Shea (2015), "Ideals, Varieties, and Algorithms", 4th ed., sections 3.1-3.2
(elimination with lex Groebner bases); Nocedal & Wright (2006), "Numerical Optimization",
2nd ed., section 2.1 (second-order conditions: the Hessian test).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import mpmath
import numpy as np
import scipy.optimize
import sympy as sp

from netchain.calculus.symbolic import _jacobian, as_expression, lambdify_numpy

__all__ = ["ClassifyCriticalPoint", "CriticalPoint", "CriticalPoints"]

KINDS = ("Minimum", "Maximum", "SaddlePoint", "Degenerate")
METHODS = ("Automatic", "Exact", "Numeric")
_DIGITS = 60
_MAX_COMBINATIONS = 200_000


@dataclass(frozen=True)
class CriticalPoint:
    """A point where the gradient vanishes, with its classification.

    Attributes
    ----------
    point : tuple
        The coordinates in the order of ``variables``: exact SymPy numbers (rationals, radicals,
        ``CRootOf``) when ``exact``, floats otherwise. A critical point that is not isolated
        (a whole line of them) has the remaining variables as symbols in it.
    kind : {"Minimum", "Maximum", "SaddlePoint", "Degenerate"}
        From the Hessian's eigenvalues: all positive, all negative, both signs, or otherwise
        (some zero: the second-derivative test cannot decide).
    value : float
        f at the point (nan for a point that is not isolated).
    eigenvalues : tuple of float or None
        The Hessian's eigenvalues, ascending (None for a point that is not isolated).
    exact : bool
        Whether ``point`` is exact.
    variables : tuple of sympy.Symbol
    """

    point: tuple[Any, ...]
    kind: str
    value: float
    eigenvalues: tuple[float, ...] | None
    exact: bool
    variables: tuple[sp.Symbol, ...] = field(repr=False)

    @property
    def numeric(self) -> tuple[float, ...]:
        """The coordinates as floats (nan where a coordinate is free)."""
        return tuple(_to_float(v) for v in self.point)

    @property
    def rules(self) -> dict[sp.Symbol, Any]:
        """``{variable: coordinate}``, the form SymPy's ``subs`` takes."""
        return dict(zip(self.variables, self.point))

    @property
    def isolated(self) -> bool:
        """False for a point of a curve or surface of critical points."""
        return not any(isinstance(v, sp.Basic) and v.free_symbols for v in self.point)

    def __str__(self) -> str:
        coords = ", ".join(
            f"{s} = {v}" if not self.exact or _is_simple(v) else f"{s} = {_to_float(v):.10g}"
            for s, v in zip(self.variables, self.point)
        )
        return f"{self.kind} at ({coords})"


def _is_simple(v: Any) -> bool:
    return not isinstance(v, sp.Basic) or v.is_Rational or len(str(v)) <= 24


def _to_float(v: Any) -> float:
    if isinstance(v, sp.Basic):
        if v.free_symbols:
            return math.nan
        re, im = sp.N(v, 30).as_real_imag()
        return float(re)
    return float(v)


# ------------------------------------------------------------------------------ the Hessian test


def _kind(eigenvalues: Sequence[float], zero: float) -> str:
    pos = sum(1 for e in eigenvalues if e > zero)
    neg = sum(1 for e in eigenvalues if e < -zero)
    if pos and neg:
        return "SaddlePoint"
    if pos == len(eigenvalues):
        return "Minimum"
    if neg == len(eigenvalues):
        return "Maximum"
    return "Degenerate"


def _mp_eigenvalues(H: Any) -> list[Any]:
    """Eigenvalues of a symmetric mpmath matrix (or nested list), ascending."""
    M = mpmath.matrix(H)
    if M.rows == 1:
        return [M[0, 0]]
    E, _ = mpmath.eigsy(M)
    return sorted(E[i] for i in range(M.rows))


class _System:
    """A scalar function with its gradient and Hessian, symbolic and numeric."""

    def __init__(self, f: Any, variables: Any) -> None:
        expr, symbols = as_expression(f, variables)
        if isinstance(expr, sp.NDimArray):
            raise ValueError(
                f"f must be a scalar function for critical points, got an array of shape {expr.shape}"
            )
        extra = expr.free_symbols - set(symbols)
        if extra:
            raise ValueError(
                f"f has symbols other than its variables {list(symbols)}: "
                f"{sorted(s.name for s in extra)}; give them values first"
            )
        self.expr = expr
        self.symbols = symbols
        self.n = len(symbols)
        self.grad = _jacobian(expr, symbols)
        self.hess = _jacobian(self.grad, symbols)
        self._np: dict[str, Any] = {}
        self._mp: dict[str, Any] = {}

    def numpy(self, what: str) -> Any:
        if what not in self._np:
            target = {"f": self.expr, "grad": self.grad, "hess": self.hess}[what]
            self._np[what] = lambdify_numpy(target, self.symbols)
        return self._np[what]

    def mp(self, what: str) -> Any:
        if what not in self._mp:
            target = {"f": self.expr, "grad": list(self.grad), "hess": self.hess.tolist()}[what]
            self._mp[what] = sp.lambdify(self.symbols, target, modules="mpmath")
        return self._mp[what]

    def exact_point(self, point: tuple[Any, ...]) -> CriticalPoint:
        """Classify an exact point with 60-digit arithmetic."""
        with mpmath.workdps(_DIGITS):
            vals = [mpmath.mpmathify(sp.N(v, _DIGITS)) for v in point]
            vals = [mpmath.re(v) if isinstance(v, mpmath.mpc) else v for v in vals]
            H = self.mp("hess")(*vals)
            H = [[mpmath.re(mpmath.mpmathify(h)) for h in row] for row in H]
            eig = _mp_eigenvalues(H)
            scale = max([mpmath.mpf(1)] + [abs(e) for e in eig])
            kind = _kind(eig, mpmath.mpf(10) ** (-30) * scale)
            value = float(mpmath.re(mpmath.mpmathify(self.mp("f")(*vals))))
        return CriticalPoint(
            tuple(point), kind, value, tuple(float(e) for e in eig), True, self.symbols
        )

    def numeric_point(self, x: np.ndarray, tolerance: float = 1e-6) -> CriticalPoint:
        """Classify a floating point (eigenvalues below tolerance * largest count as zero)."""
        H = self.numpy("hess")(*x)
        H = 0.5 * (H + H.T)
        eig = np.linalg.eigvalsh(H)
        kind = _kind(eig, tolerance * max(1.0, float(np.max(np.abs(eig)))))
        value = float(self.numpy("f")(*x))
        return CriticalPoint(
            tuple(float(v) for v in x),
            kind,
            value,
            tuple(float(e) for e in eig),
            False,
            self.symbols,
        )

    def free_point(self, solution: dict[sp.Symbol, Any]) -> CriticalPoint:
        point = tuple(solution.get(s, s) for s in self.symbols)
        return CriticalPoint(point, "Degenerate", math.nan, None, True, self.symbols)


# ------------------------------------------------------------------------------ exact solutions


def _rationalize(e: sp.Expr) -> sp.Expr:
    return sp.nsimplify(e, rational=True) if e.has(sp.Float) else e


def _polynomial_system(system: _System) -> tuple[list[sp.Expr], list[sp.Expr]] | None:
    """Numerators and denominators of grad f if they are polynomials with number coefficients."""
    nums, dens = [], []
    for g in system.grad:
        num, den = sp.fraction(sp.together(g))
        num, den = _rationalize(sp.expand(num)), _rationalize(sp.expand(den))
        if not (num.is_polynomial(*system.symbols) and den.is_polynomial(*system.symbols)):
            return None
        nums.append(num)
        dens.append(den)
    return nums, dens


def _abs_scale(poly_expr: sp.Expr, symbols: tuple[sp.Symbol, ...]) -> Any:
    """A function giving sum |c| |x|^a over a polynomial's terms (its rounding scale)."""
    poly = sp.Poly(poly_expr, *symbols)
    terms = [(abs(c), m) for m, c in poly.terms()]

    def scale(vals: Sequence[Any]) -> Any:
        total = mpmath.mpf(0)
        for c, m in terms:
            t = mpmath.mpf(sp.N(c, _DIGITS)) if not c.is_Integer else mpmath.mpf(int(c))
            for v, k in zip(vals, m):
                t *= abs(v) ** k
            total += t
        return total

    return scale


def _exact_polynomial(
    system: _System, nums: list[sp.Expr], dens: list[sp.Expr]
) -> list[CriticalPoint] | None:
    """All real isolated solutions of a polynomial system; None if they are not isolated."""
    symbols = system.symbols
    nonzero = [p for p in nums if p != 0]
    if not nonzero:
        return None  # f is constant: every point is critical
    basis = sp.groebner(nonzero, *symbols, order="lex")
    if list(basis.exprs) == [1]:
        return []
    if not basis.is_zero_dimensional:
        return None
    candidates = []
    for i, s in enumerate(symbols):
        order = [v for v in symbols if v != s] + [s]
        b = basis if i == len(symbols) - 1 else sp.groebner(nonzero, *order, order="lex")
        (eliminant,) = [e for e in b.exprs if e.free_symbols <= {s}][-1:]
        roots = sp.Poly(eliminant, s).sqf_part().real_roots()
        candidates.append(list(dict.fromkeys(roots)))
    if math.prod(len(c) for c in candidates) > _MAX_COMBINATIONS:
        raise ValueError("too many candidate critical points for the exact method")
    residual = sp.lambdify(symbols, nonzero, modules="mpmath")
    scales = [_abs_scale(p, symbols) for p in nonzero]
    denominator = sp.lambdify(symbols, dens, modules="mpmath")
    den_scales = [_abs_scale(d, symbols) for d in dens]
    found = []
    with mpmath.workdps(_DIGITS):
        numeric = [[mpmath.mpf(sp.N(r, _DIGITS)) for r in c] for c in candidates]
        tol = mpmath.mpf(10) ** (-(_DIGITS - 15))
        for combo in itertools.product(*[range(len(c)) for c in candidates]):
            vals = [numeric[k][j] for k, j in enumerate(combo)]
            res = residual(*vals)
            if all(abs(r) <= tol * (1 + sc(vals)) for r, sc in zip(res, scales)):
                dv = denominator(*vals)
                if any(abs(d) <= tol * (1 + sc(vals)) for d, sc in zip(dv, den_scales)):
                    continue
                found.append(tuple(candidates[k][j] for k, j in enumerate(combo)))
    return [system.exact_point(p) for p in found]


def _real_value(v: sp.Expr) -> sp.Expr | None:
    """v if it is a real number (possibly written with I), else None."""
    if v.is_real:
        return v
    if v.is_real is False and not v.free_symbols:
        re, im = sp.N(v, _DIGITS).as_real_imag()
        if abs(im) > 10 ** (-(_DIGITS - 15)) * (1 + abs(re)):
            return None
    re, im = sp.N(v, _DIGITS).as_real_imag()
    if abs(im) <= 10 ** (-(_DIGITS - 15)) * (1 + abs(re)):
        simple = sp.re(v)
        return simple if not simple.has(sp.re) else v
    return None


def _exact_solve(system: _System) -> list[CriticalPoint]:
    """Solutions from sympy.solve (possibly incomplete), real ones only, verified."""
    dummies = [sp.Dummy(s.name) for s in system.symbols]
    swap = dict(zip(system.symbols, dummies))
    back = dict(zip(dummies, system.symbols))
    equations = [g.xreplace(swap) for g in system.grad]
    try:
        solutions = sp.solve(equations, dummies, dict=True)
    except (NotImplementedError, ValueError, TypeError, AttributeError, RecursionError):
        return []
    out: list[CriticalPoint] = []
    for sol in solutions:
        rules = {back[k]: v.xreplace(back) for k, v in sol.items() if k in back}
        if any(rules.get(s, s).free_symbols for s in system.symbols):
            free = {s: rules.get(s, s) for s in system.symbols}
            if all(v.free_symbols <= set(system.symbols) for v in free.values()):
                out.append(system.free_point(free))
            continue
        point = []
        for s in system.symbols:
            v = _real_value(sp.sympify(rules[s]))
            if v is None:
                break
            point.append(v)
        else:
            with mpmath.workdps(_DIGITS):
                vals = [mpmath.re(mpmath.mpmathify(sp.N(v, _DIGITS))) for v in point]
                g = system.mp("grad")(*vals)
                if all(abs(mpmath.mpmathify(x)) < mpmath.mpf(10) ** (-25) for x in g):
                    out.append(system.exact_point(tuple(point)))
    return out


# ------------------------------------------------------------------------------ numeric search


def _box(search_range: Any, n: int) -> np.ndarray:
    box = np.asarray(search_range, dtype=np.float64)
    if box.shape == (2,):
        box = np.tile(box, (n, 1))
    if box.shape != (n, 2) or not np.all(np.isfinite(box)) or np.any(box[:, 0] >= box[:, 1]):
        raise ValueError(
            f"search_range must be (low, high) or one (low, high) per variable ({n}), with "
            f"low < high, got {search_range!r}"
        )
    return box


def _levenberg_marquardt(
    system: _System, X: np.ndarray, cap: float, iterations: int = 100
) -> np.ndarray:
    """Solve grad f = 0 from every row of X at once by Levenberg-Marquardt steps.

    Each start minimises |grad f|^2 with the Jacobian H (the Hessian of f): the step solves
    (H^T H + mu D) s = H^T g, D the diagonal of H^T H, and is kept only if |grad f| falls (then
    mu shrinks, else it grows). Far from a root this is gradient descent on |grad f|^2, near
    one it is Newton's method, converging quadratically (Nocedal & Wright, section 10.3).
    Steps are capped at ``cap``. Returns the rows that stayed finite.
    """
    grad, hess = system.numpy("grad"), system.numpy("hess")
    n = X.shape[1]
    eye = np.eye(n)
    G = grad(*X.T)
    alive = np.isfinite(G).all(axis=1)
    G[~alive] = 0.0
    resid = (G * G).sum(axis=1)
    mu = np.full(len(X), 1e-3)
    for _ in range(iterations):
        H = hess(*X.T)
        ok = np.isfinite(H).all(axis=(1, 2))
        alive &= ok
        H[~ok] = 0.0
        HtH = np.swapaxes(H, 1, 2) @ H
        diag = np.diagonal(HtH, axis1=1, axis2=2)
        damping = mu[:, None] * np.maximum(diag, 1e-12 * (1.0 + diag.max(axis=1, keepdims=True)))
        A = HtH + damping[:, :, None] * eye
        rhs = (np.swapaxes(H, 1, 2) @ G[..., None])[..., 0]
        step = np.linalg.solve(A, rhs[..., None])[..., 0]
        norm = np.linalg.norm(step, axis=1)
        step *= np.minimum(1.0, cap / np.maximum(norm, 1e-300))[:, None]
        trial = X - step
        Gt = grad(*trial.T)
        rt = (Gt * Gt).sum(axis=1)
        better = alive & np.isfinite(rt) & (rt < resid)
        X[better], G[better], resid[better] = trial[better], Gt[better], rt[better]
        mu = np.where(better, np.maximum(mu * 0.2, 1e-12), np.minimum(mu * 5.0, 1e12))
        small = norm <= 1e-13 * (1.0 + np.abs(X).max(axis=1))
        if np.all(small | ~alive | (resid == 0)):
            break
    alive &= np.isfinite(X).all(axis=1)
    return X[alive]


def _converged(system: _System, X: np.ndarray, rel: float) -> np.ndarray:
    """Rows where Newton's step |H^-1 grad f| is below rel * (1 + |x|): roots, not flat ground.

    Where f flattens out (x exp(-x^2 - y^2) far from the origin) the gradient is tiny without
    being zero; there the Hessian is tiny too and the Newton step stays large.
    """
    G = system.numpy("grad")(*X.T)
    H = system.numpy("hess")(*X.T)
    ok = np.isfinite(G).all(axis=1) & np.isfinite(H).all(axis=(1, 2))
    G[~ok] = 0.0
    H[~ok] = 0.0
    step = np.linalg.norm((np.linalg.pinv(H) @ G[..., None])[..., 0], axis=1)
    return ok & (step <= rel * (1.0 + np.abs(X).max(axis=1)))


def _distinct(points: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Rows of points more than tol * (1 + |x|) apart (the first of each cluster kept)."""
    if len(points) == 0:
        return points
    points = points[np.lexsort(points.T[::-1])]
    keep: list[np.ndarray] = []
    for p in points:
        if (
            not keep
            or np.min(np.max(np.abs(np.asarray(keep) - p), axis=1) / (1.0 + np.abs(p).max())) > tol
        ):
            keep.append(p)
    return np.asarray(keep)


def _numeric_search(
    system: _System, box: np.ndarray, grid: int, tolerance: float
) -> list[np.ndarray]:
    n = system.n
    axes = [np.linspace(lo, hi, grid) for lo, hi in box]
    starts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, n)
    width = box[:, 1] - box[:, 0]
    grad, hess = system.numpy("grad"), system.numpy("hess")
    G0 = grad(*starts.T)
    typical = np.linalg.norm(G0[np.isfinite(G0).all(axis=1)], axis=1)
    scale = max(1.0, float(np.median(typical))) if typical.size else 1.0
    spacing = float(np.min(width)) / max(grid - 1, 1)
    limits = _levenberg_marquardt(system, starts.copy(), cap=2.0 * spacing)
    if len(limits) == 0:
        return []
    near = _converged(system, limits, 1e-6) & (
        np.linalg.norm(grad(*limits.T), axis=1) <= 1e-4 * scale
    )
    roots = []
    for x0 in _distinct(limits[near], 1e-7):
        sol = scipy.optimize.root(
            lambda v: grad(*v),
            x0,
            jac=lambda v: hess(*v),
            method="hybr",
            options={"xtol": 1e-15},
        )
        x = sol.x if np.all(np.isfinite(sol.x)) else x0
        if np.max(np.abs(grad(*x))) <= tolerance * scale and _converged(system, x[None], 1e-8)[0]:
            roots.append(x)
    if not roots:
        return []
    roots_arr = _distinct(np.asarray(roots), 1e-6)
    # coordinates below the polish's resolution are zero (not -1.4e-25)
    roots_arr[np.abs(roots_arr) <= 1e-14 * (1.0 + np.abs(roots_arr).max(axis=1, keepdims=True))] = (
        0.0
    )
    slack = 1e-9 * width
    inside = np.all((roots_arr >= box[:, 0] - slack) & (roots_arr <= box[:, 1] + slack), axis=1)
    return list(roots_arr[inside])


# ------------------------------------------------------------------------------ public functions


def CriticalPoints(
    f: Any,
    variables: Any = None,
    domain: str = "Reals",
    *,
    method: str = "Automatic",
    search_range: Any = (-5.0, 5.0),
    grid: int | None = None,
    tolerance: float = 1e-9,
) -> list[CriticalPoint]:
    """The real critical points of f (where grad f = 0), each classified by the Hessian test.

    Parameters
    ----------
    f : sympy.Expr, str or callable
        A scalar function, e.g. ``"x**2 + y**2"`` or ``lambda x, y: x**2 - y**2`` (what a
        formula string may contain: see :func:`netchain.calculus.Grad`).
    variables : str, sympy.Symbol or sequence of them, optional
        The variables (default: a Python function's argument names, else the free symbols
        sorted by name).
    domain : {"Reals"}, default "Reals"
        Where the critical points lie (only real points are supported).
    method : {"Automatic", "Exact", "Numeric"}, default "Automatic"
        "Exact": only what SymPy solves (for polynomial and rational f, all isolated real
        critical points, exactly; otherwise what ``sympy.solve`` finds). "Numeric": only the
        numeric search. "Automatic": exact for polynomial and rational f; otherwise
        ``sympy.solve``'s answers completed by the numeric search.
    search_range : (low, high) or sequence of (low, high), default (-5, 5)
        The box (per variable) of the numeric search's starting grid; the numeric search
        returns the critical points inside it (so for a periodic f, those in the box).
    grid : int, optional
        Starting points per variable (default: about 3000 ** (1 / n), at least 3). The
        numeric search can miss a critical point whose basin is small next to the grid's
        spacing (a narrow bump in three variables); a finer grid or a smaller box finds it.
    tolerance : float, default 1e-9
        A polished numeric root must have every gradient component below
        ``tolerance * max(1, median |grad f| over the starts)``.

    Returns
    -------
    list of CriticalPoint
        Sorted by their coordinates. Exact points carry SymPy numbers; numeric ones floats.
        Critical points that are not isolated (f = x**2 in (x, y) has the line x = 0) are
        given once, with the free variables in the point and kind "Degenerate", when SymPy
        finds them.

    Raises
    ------
    ValueError
        For a non-scalar f, symbols in f other than the variables, an unknown domain or
        method, or a bad search range.

    Examples
    --------
    >>> from netchain.calculus import CriticalPoints
    >>> [str(p) for p in CriticalPoints("x**2 - y**2", ["x", "y"])]
    ['SaddlePoint at (x = 0, y = 0)']
    """
    if domain != "Reals":
        raise ValueError(f"domain must be 'Reals', got {domain!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(tolerance, numbers.Real) or not tolerance > 0:
        raise ValueError(f"tolerance must be a positive number, got {tolerance!r}")
    system = _System(f, variables)
    box = _box(search_range, system.n)
    if grid is None:
        grid = max(3, round(3000 ** (1.0 / system.n)))
    if not isinstance(grid, numbers.Integral) or grid < 1:
        raise ValueError(f"grid must be a positive int, got {grid!r}")

    if all(g == 0 for g in system.grad):
        # a constant function: every point is critical
        return [system.free_point({})]
    points: list[CriticalPoint] = []
    complete = False
    if method in ("Automatic", "Exact"):
        poly = _polynomial_system(system)
        if poly is not None:
            exact = _exact_polynomial(system, *poly)
            if exact is None:
                points = _exact_solve(system)
                complete = bool(points)
            else:
                points, complete = exact, True
        else:
            points = _exact_solve(system)
    if method == "Numeric" or (method == "Automatic" and not complete):
        known = np.array([p.numeric for p in points if p.isolated]).reshape(-1, system.n)
        for x in _numeric_search(system, box, int(grid), float(tolerance)):
            if (
                len(known)
                and np.min(np.max(np.abs(known - x), axis=1) / (1.0 + np.abs(x).max())) <= 1e-6
            ):
                continue
            points.append(system.numeric_point(x))
    return sorted(points, key=lambda p: tuple(p.numeric))


def ClassifyCriticalPoint(f: Any, variables: Any, point: Any, *, tolerance: float = 1e-4) -> str:
    """Classify a critical point by the eigenvalues of the Hessian there.

    Parameters
    ----------
    f : sympy.Expr, str or callable
        A scalar function.
    variables : str, sympy.Symbol, sequence of them, or None
        The variables (None: see :func:`CriticalPoints`).
    point : sequence of numbers, dict or CriticalPoint
        The point: coordinates in the order of the variables, or ``{variable: value}``.
        Exact numbers (ints, SymPy rationals and radicals) are classified with 60-digit
        arithmetic; floats in float64.
    tolerance : float, default 1e-4
        How far a floating point may be from a critical point: the Newton step
        |H^-1 grad f| there must be at most ``tolerance * (1 + |point|)``.

    Returns
    -------
    {"Minimum", "Maximum", "SaddlePoint", "Degenerate"}
        All eigenvalues positive: a strict local minimum; all negative: a maximum; both signs:
        a saddle point; otherwise (a zero eigenvalue, the others of one sign) the test cannot
        decide: "Degenerate".

    Raises
    ------
    ValueError
        If the point is not a critical point, or has the wrong number of coordinates.

    Examples
    --------
    >>> from netchain.calculus import ClassifyCriticalPoint
    >>> ClassifyCriticalPoint("x**2 + y**2", ["x", "y"], (0, 0))
    'Minimum'
    """
    system = _System(f, variables)
    if isinstance(point, CriticalPoint):
        point = point.point
    if isinstance(point, dict):
        by_name = {(k if isinstance(k, str) else k.name): v for k, v in point.items()}
        missing = [s.name for s in system.symbols if s.name not in by_name]
        if missing:
            raise ValueError(f"point: no value for the variables {missing}")
        point = [by_name[s.name] for s in system.symbols]
    coords = list(np.asarray(point, dtype=object).reshape(-1))
    if len(coords) != system.n:
        raise ValueError(
            f"point has {len(coords)} coordinates but there are {system.n} variables "
            f"{list(system.symbols)}"
        )
    exact = all(
        isinstance(c, numbers.Integral | sp.Rational)
        or (isinstance(c, sp.Basic) and c.is_number and not c.has(sp.Float))
        for c in coords
    )
    if exact:
        vals = tuple(sp.sympify(c) for c in coords)
        with mpmath.workdps(_DIGITS):
            g = system.mp("grad")(*[mpmath.mpf(sp.N(v, _DIGITS)) for v in vals])
            if any(abs(mpmath.mpmathify(x)) > mpmath.mpf(10) ** (-25) for x in g):
                raise ValueError(
                    f"point {tuple(vals)} is not a critical point: the gradient there is "
                    f"{[float(mpmath.re(mpmath.mpmathify(x))) for x in g]}"
                )
        return system.exact_point(vals).kind
    x = np.asarray([float(c) for c in coords], dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"point must be finite, got {tuple(x)}")
    g = system.numpy("grad")(*x)
    H = system.numpy("hess")(*x)
    step = np.linalg.pinv(H) @ g
    if not np.all(np.isfinite(step)) or np.linalg.norm(step) > tolerance * (1 + np.abs(x).max()):
        raise ValueError(
            f"point {tuple(x)} is not a critical point: the gradient there is {g.tolist()} "
            f"(a Newton step of length {np.linalg.norm(step):.3g}); tolerance {tolerance}"
        )
    return system.numeric_point(x).kind
