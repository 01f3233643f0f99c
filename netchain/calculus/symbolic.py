"""Symbolic derivatives on SymPy: reading functions and variables, ``Grad`` and ``Hessian``.

A function may be given as a SymPy expression, as a string such as ``"x**2 + y**2"`` (``^``
is read as a power, as in the course's notation), or as a Python function of symbols
(``lambda x, y: x**2 + y**2``); a list, tuple or SymPy array of them is a vector (or tensor)
function. Variables are names or SymPy symbols; a name matches the symbol of that name in the
function.

A formula string may contain only numbers (``2``, ``0.5``, ``1e-3``, ``2j``), names that do
not start with an underscore, whitespace, and the operators ``+ - * / ** ^ ( ) ,``. A name is
one of the variables, one of SymPy's public mathematical names (functions such as ``exp``,
``sin``, ``log``, ``sqrt``, ``Abs``, ``Max`` and constants such as ``pi``, ``E``, ``I``, ``oo``;
``abs``, ``max`` and ``min`` mean ``Abs``, ``Max`` and ``Min``), or else a new real symbol
(a new function when followed by ``(``). Anything else (a ``.``, a quote, brackets, ``=``,
``#``, ``lambda`` or another Python keyword, a name such as ``__import__``) raises ValueError
before anything is evaluated, and the formula is evaluated with no Python builtins, so a string
cannot run Python code.
"""

from __future__ import annotations

import inspect
import io
import keyword
import numbers
import tokenize
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy as sp
from sympy.parsing.sympy_parser import auto_number, auto_symbol, convert_xor, parse_expr

__all__ = ["Grad", "Hessian", "as_expression", "lambdify_numpy"]

# Unknown names become symbols, numbers SymPy numbers, ^ a power. SymPy's other standard
# transformations (lambda notation, x!, 0.[3]) need tokens a formula may not contain.
_TRANSFORMATIONS = (auto_symbol, auto_number, convert_xor)

# What a formula string may hold (see the module docstring): checked token by token.
_FORMULA_OPERATORS = frozenset({"+", "-", "*", "/", "**", "^", "(", ")", ","})
_FORMULA_SPACING = frozenset(
    {tokenize.NEWLINE, tokenize.NL, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER}
)
_FORMULA_RULE = (
    "a formula may contain only numbers, names not starting with '_', whitespace and the "
    "operators + - * / ** ^ ( ) ,"
)
_FORMULA_NAMES: dict[str, Any] | None = None


def _formula_names() -> dict[str, Any]:
    """The names a formula string can use, besides its variables (built once).

    SymPy's public names whose values are SymPy objects, SymPy classes (``exp``, ``Symbol``,
    ``Integer``, ...) or the plain functions of ``sympy.functions`` (``sqrt``, ``root``).
    Left out are the helpers that return or read Python strings (``S``, ``sympify``,
    ``srepr``, printers), so nothing in a formula can make a string for SymPy to evaluate.
    """
    global _FORMULA_NAMES
    if _FORMULA_NAMES is None:
        names: dict[str, Any] = {}
        for name, value in vars(sp).items():
            if name.startswith("_"):
                continue
            if (
                isinstance(value, sp.Basic)
                or (isinstance(value, type) and issubclass(value, sp.Basic))
                or (
                    isinstance(value, types.FunctionType)
                    and value.__module__.startswith("sympy.functions")
                )
            ):
                names[name] = value
        names.update(abs=sp.Abs, max=sp.Max, min=sp.Min)
        _FORMULA_NAMES = names
    return _FORMULA_NAMES


def _check_formula_tokens(text: str) -> None:
    """Raise ValueError unless every token of text is one a formula may contain."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError) as exc:
        reason = exc.args[0] if exc.args else exc
        raise ValueError(
            f"f: cannot read {text!r} as a formula ({reason}; are the parentheses balanced?)"
        ) from None
    for tok in tokens:
        kind, piece = tok.type, tok.string
        if kind in _FORMULA_SPACING or kind == tokenize.NUMBER:
            continue
        if kind == tokenize.NAME:
            if piece.startswith("_"):
                what = f"the name {piece!r} (names may not start with '_')"
            elif keyword.iskeyword(piece):
                what = f"the Python keyword {piece!r}"
            else:
                continue
        elif kind == tokenize.OP and piece in _FORMULA_OPERATORS:
            continue
        elif kind == tokenize.STRING:
            what = f"the string {piece}"
        elif kind == tokenize.COMMENT:
            what = f"the comment {piece!r}"
        else:
            what = f"{piece!r}"
        raise ValueError(
            f"formula {text!r}: {what} at column {tok.start[1]} is not allowed "
            f"(argument f: {_FORMULA_RULE})"
        )


def _names_of(variables: Any) -> list[Any]:
    """Split a variables argument into a list of names (str) and symbols."""
    if isinstance(variables, str):
        found = sp.symbols(variables, seq=True)
        if not found:
            raise ValueError(f"variables: no variable names in {variables!r}")
        return [s.name for s in found]
    if isinstance(variables, sp.Symbol):
        return [variables]
    if isinstance(variables, Sequence) or isinstance(variables, sp.NDimArray | sp.MatrixBase):
        items = list(variables)
        if not items:
            raise ValueError("variables must not be empty")
        out: list[Any] = []
        for v in items:
            if isinstance(v, str):
                name = v.strip()
                if not name.isidentifier():
                    raise ValueError(f"variables: {v!r} is not a valid variable name")
                out.append(name)
            elif isinstance(v, sp.Symbol):
                out.append(v)
            else:
                raise TypeError(
                    f"variables must be names (str) or SymPy symbols, got {v!r} of type "
                    f"{type(v).__name__}"
                )
        return out
    raise TypeError(
        "variables must be a name, a list of names or SymPy symbols, got "
        f"{type(variables).__name__}"
    )


def _parse_string(text: str, local: dict[str, Any]) -> sp.Expr:
    source = text.strip()
    if not source:
        raise ValueError(f"f: the formula {text!r} is empty")
    _check_formula_tokens(source)
    global_dict = {"__builtins__": {}, **_formula_names()}
    try:
        expr = parse_expr(
            source,
            local_dict=dict(local),
            global_dict=global_dict,
            transformations=_TRANSFORMATIONS,
        )
    except (
        SyntaxError,
        TypeError,
        ValueError,
        AttributeError,
        NameError,
        ZeroDivisionError,
        tokenize.TokenError,
    ) as exc:
        raise ValueError(f"f: cannot read {text!r} as a formula ({exc})") from None
    if not isinstance(expr, sp.Basic):
        raise ValueError(f"f: {text!r} is not a formula (it reads as {type(expr).__name__})")
    # names in a formula stand for real numbers, as in the course
    unnamed = {s: sp.Symbol(s.name, real=True) for s in expr.free_symbols if s.name not in local}
    return expr.xreplace(unnamed) if unnamed else expr


def _to_sympy(f: Any, local: dict[str, Any], symbols: list[sp.Symbol] | None) -> Any:
    """f (without a Python function) as a SymPy expression or Array."""
    if isinstance(f, str):
        return _parse_string(f, local)
    if isinstance(f, sp.MatrixBase):
        return sp.Array(f.tolist()) if f.cols != 1 else sp.Array(list(f))
    if isinstance(f, sp.NDimArray):
        return sp.ImmutableDenseNDimArray(f.applyfunc(lambda e: _to_sympy(e, local, symbols)))
    if isinstance(f, list | tuple):
        if not f:
            raise ValueError("f: an empty list is not a function")
        parts = [_to_sympy(e, local, symbols) for e in f]
        return sp.ImmutableDenseNDimArray(
            [p.tolist() if isinstance(p, sp.NDimArray) else p for p in parts]
        )
    if isinstance(f, sp.Basic):
        return f
    if isinstance(f, numbers.Number | np.number):
        return sp.sympify(f)
    raise TypeError(
        "f must be a SymPy expression, a string such as 'x**2 + y**2', a Python function of "
        f"symbols, or a list of these, got {type(f).__name__}"
    )


def _callable_names(f: Callable[..., Any]) -> list[str]:
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        raise ValueError(
            "f: cannot read the argument names of this function; give the variables"
        ) from None
    names = [
        p.name
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]
    if not names:
        raise ValueError("f: a Python function of no arguments has no variables; give them")
    return names


def as_expression(f: Any, variables: Any = None) -> tuple[Any, tuple[sp.Symbol, ...]]:
    """Read a function and its variables into SymPy.

    Parameters
    ----------
    f : sympy.Expr, str, callable, or list / tuple / SymPy array of these
        The function (see the module docstring).
    variables : str, sympy.Symbol or sequence of them, optional
        The variables, in order. Default: the argument names of a Python function, otherwise
        the function's free symbols sorted by name. Names are created as real symbols unless
        the function already has a symbol of that name.

    Returns
    -------
    expr : sympy.Expr or sympy.ImmutableDenseNDimArray
    variables : tuple of sympy.Symbol

    Raises
    ------
    ValueError
        For a string that is not a formula or holds anything but numbers, names not starting
        with ``_``, whitespace and ``+ - * / ** ^ ( ) ,`` (see the module docstring); no
        variables, or repeated variables.
    TypeError
        For anything else.
    """
    given = None if variables is None else _names_of(variables)
    if given is None and callable(f) and not isinstance(f, sp.Basic):
        given = _callable_names(f)
    local: dict[str, Any] = {}
    if given is not None:
        for v in given:
            if isinstance(v, str):
                local[v] = sp.Symbol(v, real=True)
            else:
                local[v.name] = v
    if callable(f) and not isinstance(f, sp.Basic | sp.NDimArray | sp.MatrixBase):
        syms = [local[v] if isinstance(v, str) else v for v in given]
        try:
            value = f(*syms)
        except Exception as exc:  # a user's function: report what happened
            raise ValueError(
                f"f: calling the Python function with the symbols {syms} failed: {exc}"
            ) from exc
        expr = _to_sympy(value, local, syms)
    else:
        expr = _to_sympy(f, local, None)
    free = expr.free_symbols
    if given is None:
        symbols = tuple(sorted(free, key=lambda s: s.name))
        if not symbols:
            raise ValueError(f"f = {expr} has no variables; give them")
    else:
        by_name = {s.name: s for s in free}
        symbols = tuple((by_name.get(v, local[v]) if isinstance(v, str) else v) for v in given)
    if len({s.name for s in symbols}) != len(symbols):
        raise ValueError(f"variables must be distinct, got {list(symbols)}")
    return expr, symbols


def _jacobian(expr: Any, symbols: tuple[sp.Symbol, ...]) -> sp.ImmutableDenseNDimArray:
    if isinstance(expr, sp.NDimArray):
        shape = expr.shape
        flat = list(sp.flatten(expr.tolist())) if expr.rank() else [expr[()]]
    else:
        shape = ()
        flat = [expr]
    rows = [sp.diff(e, s) for e in flat for s in symbols]
    return sp.ImmutableDenseNDimArray(rows, (*shape, len(symbols)))


def Grad(f: Any, variables: Any = None) -> sp.ImmutableDenseNDimArray:
    """The gradient of a function, or the Jacobian of a vector of functions.

    Parameters
    ----------
    f : sympy.Expr, str, callable, or list / tuple / SymPy array of these
        A scalar function such as ``"x**2 + y**2"``, ``x**2 + y**2`` with SymPy symbols, or
        ``lambda x, y: x**2 + y**2``; or a vector (any array) of them. A formula string may
        contain only numbers, names not starting with ``_`` (the variables, SymPy's functions
        and constants such as ``exp``, ``sin``, ``log``, ``sqrt``, ``pi``, ``E``), whitespace
        and the operators ``+ - * / ** ^ ( ) ,`` (``^`` is a power); it is never run as
        Python code.
    variables : str, sympy.Symbol or sequence of them, optional
        The variables to differentiate by, in order (default: see :func:`as_expression`).

    Returns
    -------
    sympy.ImmutableDenseNDimArray
        For a scalar f, the vector (df/dx1, ..., df/dxn) of shape (n,). For an array of shape
        s, the array of shape s + (n,) whose last index is the variable: a vector's Jacobian
        J[i, j] = dfi/dxj. Hence ``Grad(Grad(f, v), v)`` is the Hessian (as in the Wolfram
        Language's ``Grad``). ``.tomatrix()`` gives a SymPy Matrix of a rank-2 result.

    Raises
    ------
    ValueError
        For a formula string with anything else in it (a ``.``, quotes, brackets, ``=``, a
        keyword, a name starting with ``_``: "formula ...: ... is not allowed"), a formula
        that does not parse (``"x +* y"``, unbalanced parentheses), or bad variables.
    TypeError
        For an f or variables of the wrong type.

    Examples
    --------
    >>> from netchain.calculus import Grad
    >>> Grad("x**2 + y**2", ["x", "y"])
    [2*x, 2*y]
    >>> Grad(["x*y", "x + y"], ["x", "y"])
    [[y, x], [1, 1]]
    """
    expr, symbols = as_expression(f, variables)
    return _jacobian(expr, symbols)


def Hessian(f: Any, variables: Any = None) -> sp.ImmutableDenseNDimArray:
    """The Hessian matrix of second derivatives, ``Grad(Grad(f, v), v)``.

    Parameters
    ----------
    f : sympy.Expr, str or callable
        A scalar function.
    variables : str, sympy.Symbol or sequence of them, optional
        The variables (default: see :func:`as_expression`).

    Returns
    -------
    sympy.ImmutableDenseNDimArray of shape (n, n)
        H[i, j] = d2f / dxi dxj (symmetric for smooth f).

    Raises
    ------
    ValueError
        For a vector-valued f, or a formula string that is not allowed or does not parse
        (the rules are those of :func:`Grad`).

    Examples
    --------
    >>> from netchain.calculus import Hessian
    >>> Hessian("x**2 + y**2", ["x", "y"])
    [[2, 0], [0, 2]]
    """
    expr, symbols = as_expression(f, variables)
    if isinstance(expr, sp.NDimArray):
        raise ValueError(f"Hessian needs a scalar function, got an array of shape {expr.shape}")
    return _jacobian(_jacobian(expr, symbols), symbols)


def lambdify_numpy(exprs: Any, symbols: Sequence[sp.Symbol]) -> Callable[..., np.ndarray]:
    """A NumPy function evaluating SymPy expressions at arrays of points.

    Parameters
    ----------
    exprs : sympy.Expr or array of them
    symbols : sequence of sympy.Symbol
        The arguments, in order.

    Returns
    -------
    callable
        ``fn(*arrays)`` broadcasting its arguments together and returning a float64 array of
        shape ``broadcast shape + expression shape`` (constants are broadcast too).

    Raises
    ------
    ValueError
        When the expressions have free symbols other than ``symbols``.
    """
    arr = exprs if isinstance(exprs, sp.NDimArray) else None
    shape = arr.shape if arr is not None else ()
    flat = (
        list(sp.flatten(arr.tolist()))
        if arr is not None and arr.rank()
        else [exprs if arr is None else arr[()]]
    )
    extra = set().union(*(sp.sympify(e).free_symbols for e in flat)) - set(symbols)
    if extra:
        raise ValueError(
            f"the function has symbols other than its variables {list(symbols)}: "
            f"{sorted(s.name for s in extra)}; give them values first"
        )
    fns = [sp.lambdify(list(symbols), e, modules="numpy") for e in flat]

    def fn(*args: Any) -> np.ndarray:
        arrays = [np.asarray(a, dtype=np.float64) for a in args]
        base = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        with np.errstate(all="ignore"):
            parts = [np.broadcast_to(np.asarray(g(*arrays)), base) for g in fns]
        out = np.stack(parts, axis=-1) if parts else np.empty((*base, 0))
        if np.iscomplexobj(out):
            out = np.where(np.abs(out.imag) <= 1e-12 * (1 + np.abs(out.real)), out.real, np.nan)
        return out.astype(np.float64, copy=False).reshape(tuple(base) + tuple(shape))

    return fn
