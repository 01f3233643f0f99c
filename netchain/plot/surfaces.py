"""Functions of two variables: a surface, its contours with a descent drawn on them, and a
vector field (such as a gradient) over a background coloured by the vectors' length."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from netchain.plot._common import (
    as_points,
    as_trajectory,
    check_colormap,
    check_count,
    grid_function,
    parse_range,
    vector_field,
)
from netchain.plot._figure import NetFigure, new_figure

__all__ = ["ContourPlot", "Plot3D", "VectorDensityPlot"]

MARK = "#d62728"
PATH = "#ff7f0e"
MAX_ARROWS = 200  # per axis: 40 000 arrows already fill any figure


def _grid(xspec: Any, yspec: Any, n: int) -> tuple[tuple[str, str], np.ndarray, np.ndarray]:
    xname, x0, x1 = parse_range(xspec, "xspec")
    yname, y0, y1 = parse_range(yspec, "yspec")
    if xname == yname:
        raise ValueError(f"the two ranges need different variables, both are {xname!r}")
    n = check_count(n, "plot_points")
    return (xname, yname), np.linspace(x0, x1, n), np.linspace(y0, y1, n)


def _marked_3d(points: Any, f: Any) -> np.ndarray:
    P = as_points(points)
    if P.shape[1] == 2 and len(P):
        P = np.column_stack([P, f(P[:, 0], P[:, 1])])
    return P.reshape(-1, 3)


def Plot3D(
    f: Any,
    xspec: Any,
    yspec: Any,
    *,
    points: Any = None,
    trajectory: Any = None,
    plot_points: int = 50,
    colormap: str = "viridis",
    title: str | None = None,
    view: tuple[float, float] = (30.0, -60.0),
    figsize: tuple[float, float] = (7.0, 5.5),
    dpi: float = 100,
) -> NetFigure:
    """The surface z = f(x, y), with points and a trajectory marked on it.

    Parameters
    ----------
    f : callable, str or sympy.Expr
        ``f(x, y)`` (called on whole arrays when it is vectorised), or a formula in the two
        variables named by the ranges, such as ``"x**2 + y**2"`` (numbers, names, whitespace
        and ``+ - * / ** ^ ( ) ,`` only: see :func:`netchain.calculus.Grad`).
    xspec, yspec : (str, float, float)
        ``("x", -3, 3)``: a variable's name and range.
    points : sequence of (x, y) or (x, y, z), or CriticalPoint objects, optional
        Points to mark (the minimum); z defaults to f(x, y).
    trajectory : array of shape (k, 2) or DescentResult, optional
        A path drawn on the surface.
    plot_points : int, default 50
        Grid points per axis, from 2 to 2000.
    colormap : str or matplotlib.colors.Colormap, default "viridis"
        A name in ``matplotlib.colormaps``.
    title : str, optional
    view : (elevation, azimuth), default (30, -60)
    figsize : (float, float), default (7, 5.5)
        Inches; with ``dpi`` the PNG's size in pixels.
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "x" (n,), "y" (n,), "z" (n, n) with z[i, j] = f(x[j], y[i]), "points" (m, 3),
        "trajectory" (k, 3).

    Raises
    ------
    ValueError
        For malformed ranges, points or trajectory; plot_points outside 2..2000; a colormap
        that is not a Matplotlib colormap name; an f that does not give one real number per
        point (an array of another shape, a string), or that fails when called.
    TypeError
        For an f that is neither a function nor a formula.
    """
    names, xs, ys = _grid(xspec, yspec, plot_points)
    cmap = check_colormap(colormap)
    fn = grid_function(f, names)
    X, Y = np.meshgrid(xs, ys)
    Z = fn(X, Y)
    P = _marked_3d(points, fn)
    T, label = as_trajectory(trajectory)
    T3 = np.column_stack([T, fn(T[:, 0], T[:, 1])]) if len(T) else np.empty((0, 3))

    fig = new_figure(*figsize, dpi=dpi)
    ax = fig.add_subplot(projection="3d", computed_zorder=False)  # marks stay on top
    Zm = np.ma.masked_invalid(Z)
    ax.plot_surface(X, Y, Zm, cmap=cmap, linewidth=0, antialiased=True, alpha=0.9)
    if len(T3):
        ax.plot(
            T3[:, 0],
            T3[:, 1],
            T3[:, 2],
            "-o",
            color=PATH,
            markersize=2.5,
            lw=1.5,
            label=label or "trajectory",
            zorder=5,
        )
    if len(P):
        ax.scatter(
            P[:, 0],
            P[:, 1],
            P[:, 2],
            color=MARK,
            s=45,
            depthshade=False,
            zorder=6,
            label="marked points",
        )
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_zlabel("f")
    ax.view_init(*view)
    ax.set_title(title if title is not None else _title(f, names))
    if len(T3) or len(P):
        ax.legend(loc="upper left", fontsize="small")
    fig.data = {"x": xs, "y": ys, "z": Z, "points": P, "trajectory": T3}
    return fig


def _title(f: Any, names: tuple[str, str]) -> str:
    if callable(f) and not isinstance(f, str):
        name = getattr(f, "__name__", "f")
        return f"{'f' if name == '<lambda>' else name}({names[0]}, {names[1]})"
    return str(f)


def ContourPlot(
    f: Any,
    xspec: Any,
    yspec: Any,
    *,
    trajectory: Any = None,
    points: Any = None,
    contours: int | Any = 20,
    plot_points: int = 200,
    colormap: str = "viridis",
    log_scale: bool = False,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 5.2),
    dpi: float = 100,
) -> NetFigure:
    """Filled contours of f(x, y) with a descent trajectory and points drawn on them.

    Parameters
    ----------
    f : callable, str or sympy.Expr
        As in :func:`Plot3D`.
    xspec, yspec : (str, float, float)
    trajectory : array of shape (k, 2) or DescentResult, optional
        Drawn as a line through its points, the start marked with a circle and the end with
        a star.
    points : sequence of (x, y) or CriticalPoint objects, optional
        Marked with crosses.
    contours : int or sequence of float, default 20
        The number of contour levels, or the levels.
    plot_points : int, default 200
        Grid points per axis, from 2 to 2000.
    colormap : str or matplotlib.colors.Colormap, default "viridis"
        A name in ``matplotlib.colormaps``.
    log_scale : bool, default False
        Levels spaced evenly in log(f - min f + 1) (for valleys such as Rosenbrock's).
    title : str, optional
    figsize : (float, float), default (6.4, 5.2)
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "x", "y", "z" (as in Plot3D), "levels", "trajectory" (k, 2), "points" (m, 2).

    Raises
    ------
    ValueError
        As :func:`Plot3D`; also for an f that is not finite anywhere in the range, or bad
        contours.
    TypeError
        For an f that is neither a function nor a formula.
    """
    names, xs, ys = _grid(xspec, yspec, plot_points)
    cmap = check_colormap(colormap)
    fn = grid_function(f, names)
    X, Y = np.meshgrid(xs, ys)
    Z = fn(X, Y)
    finite = Z[np.isfinite(Z)]
    if finite.size == 0:
        raise ValueError("f is not finite anywhere in the plot range")
    if np.ndim(contours) == 0:
        if not isinstance(contours, int | np.integer) or contours < 2:
            raise ValueError(f"contours must be an int >= 2 or a list of levels, got {contours!r}")
        lo, hi = float(finite.min()), float(finite.max())
        if hi == lo:
            hi = lo + 1.0
        if log_scale:
            levels = lo - 1.0 + np.geomspace(1.0, hi - lo + 1.0, int(contours))
        else:
            levels = MaxNLocator(int(contours)).tick_values(lo, hi)
    else:
        levels = np.sort(np.asarray(contours, dtype=np.float64))
    T, label = as_trajectory(trajectory)
    P = as_points(points)[:, :2] if points is not None else np.empty((0, 2))

    fig = new_figure(*figsize, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    Zm = np.ma.masked_invalid(Z)
    filled = ax.contourf(X, Y, Zm, levels=levels, cmap=cmap, extend="both")
    ax.contour(X, Y, Zm, levels=levels, colors="k", linewidths=0.4, alpha=0.5)
    fig.colorbar(filled, ax=ax, label="f")
    if len(T):
        ax.plot(T[:, 0], T[:, 1], "-", color=PATH, lw=1.8, label=label or "trajectory")
        if len(T) <= 200:
            ax.plot(T[:, 0], T[:, 1], "o", color=PATH, markersize=2.5)
        ax.plot(
            T[0, 0], T[0, 1], "o", color="white", markeredgecolor="k", markersize=8, label="start"
        )
        ax.plot(
            T[-1, 0], T[-1, 1], "*", color=MARK, markeredgecolor="k", markersize=13, label="end"
        )
    if len(P):
        ax.plot(
            P[:, 0],
            P[:, 1],
            "X",
            color=MARK,
            markeredgecolor="white",
            markersize=10,
            linestyle="none",
            label="marked points",
        )
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_aspect("auto")
    ax.set_title(title if title is not None else _title(f, names))
    if len(T) or len(P):
        ax.legend(loc="upper right", fontsize="small", framealpha=0.85)
    fig.data = {"x": xs, "y": ys, "z": Z, "levels": levels, "trajectory": T, "points": P}
    return fig


def VectorDensityPlot(
    field: Any,
    xspec: Any,
    yspec: Any,
    *,
    arrows: int = 15,
    plot_points: int = 150,
    normalize: bool = True,
    colormap: str = "viridis",
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 5.2),
    dpi: float = 100,
) -> NetFigure:
    """Arrows of a vector field over a background coloured by the vectors' length.

    Parameters
    ----------
    field : callable, pair of formulas, or SymPy vector
        ``field(x, y) -> (u, v)``, ``("2*x", "2*y")``, or ``Grad("x**2 + y**2", ["x", "y"])``.
    xspec, yspec : (str, float, float)
    arrows : int, default 15
        Arrows per axis, from 2 to 200.
    plot_points : int, default 150
        Background grid points per axis, from 2 to 2000.
    normalize : bool, default True
        Draw arrows of one length (the direction; the background shows the length), as in the
        course's picture; False scales them by the vectors' length.
    colormap : str or matplotlib.colors.Colormap, default "viridis"
        A name in ``matplotlib.colormaps``.
    title : str, optional
    figsize : (float, float), default (6.4, 5.2)
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "x", "y" (background axes), "magnitude" (n, n) = |(u, v)| on that grid,
        "arrow_x", "arrow_y" (m, m) arrow positions, "u", "v" (m, m) the field there.

    Raises
    ------
    ValueError
        For malformed ranges; plot_points outside 2..2000 or arrows outside 2..200; a colormap
        that is not a Matplotlib colormap name; a field that does not give two real components
        (u, v) of the points' shape.
    TypeError
        For a field that is neither a function nor formulas.
    """
    names, xs, ys = _grid(xspec, yspec, plot_points)
    cmap = check_colormap(colormap)
    fn = vector_field(field, names)
    arrows = check_count(arrows, "arrows", high=MAX_ARROWS, what="arrows per axis")
    X, Y = np.meshgrid(xs, ys)
    U, V = fn(X, Y)
    M = np.hypot(U, V)
    ax_, ay_ = np.linspace(xs[0], xs[-1], arrows), np.linspace(ys[0], ys[-1], arrows)
    AX, AY = np.meshgrid(ax_, ay_)
    AU, AV = fn(AX, AY)
    if normalize:
        length = np.hypot(AU, AV)
        safe = np.where(length > 0, length, 1.0)
        DU, DV = AU / safe, AV / safe
    else:
        DU, DV = AU, AV

    fig = new_figure(*figsize, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(xs, ys, np.ma.masked_invalid(M), shading="auto", cmap=cmap)
    fig.colorbar(mesh, ax=ax, label="length of the vector")
    spacing = min((xs[-1] - xs[0]) / arrows, (ys[-1] - ys[0]) / arrows)
    ax.quiver(
        AX,
        AY,
        DU,
        DV,
        color="white",
        edgecolor="k",
        linewidth=0.3,
        pivot="mid",
        angles="xy",
        scale_units="xy",
        scale=(1.0 / (0.8 * spacing)) if normalize else None,
        width=0.004,
    )
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(title if title is not None else "vector field")
    fig.data = {"x": xs, "y": ys, "magnitude": M, "arrow_x": AX, "arrow_y": AY, "u": AU, "v": AV}
    return fig
