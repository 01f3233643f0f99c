"""Pictures of nets: the layers as a diagram with their shapes, the units of a small dense net,
and the activation functions with their derivatives."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Rectangle

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.backend import to_numpy
from netchain.layers import ELEMENTWISE_FUNCTIONS, ElementwiseFunction
from netchain.layers.base import format_shape
from netchain.plot._common import check_count
from netchain.plot._figure import NetFigure, new_figure

__all__ = ["ActivationPlot", "NetPlot"]

MAX_CURVE_POINTS = 100_000  # points on one activation curve

BOX = "#e8eef7"
BOX_EDGE = "#3b5b8c"
PORT = "#f3efe0"


# ---------------------------------------------------------------------------- describing layers


def _children(net: Any) -> list[tuple[Any, Any]] | None:
    children = getattr(net, "children", None)
    return list(children()) if callable(children) else None


def _shape_text(shapes: Any) -> str:
    if not shapes:
        return ""
    if len(shapes) == 1:
        return format_shape(shapes[0])
    return ", ".join(format_shape(s) for s in shapes)


def _label(layer: Any) -> str:
    summary = getattr(layer, "summary", None)
    text = summary() if callable(summary) else type(layer).__name__
    return text if len(text) <= 42 else text[:39] + "..."


def _params(layer: Any) -> int:
    count = getattr(layer, "parameter_count", None)
    try:
        return int(count()) if callable(count) else 0
    except (TypeError, ValueError):
        return 0


def _node(name: Any, layer: Any, path: tuple[Any, ...]) -> dict[str, Any]:
    position = ".".join(str(p) for p in path)
    n = _params(layer)
    shape = _shape_text(getattr(layer, "output_shapes", None))
    detail = shape + (f"   {n:,} parameters" if n else "")
    return {
        "name": position,
        "label": f"{position}  {_label(layer)}",
        "detail": detail,
        "shape": shape,
        "parameters": n,
        "path": path,
    }


def _flatten(net: Any, path: tuple[Any, ...], nodes: list, groups: list) -> list[int]:
    """Leaves of a container in order (nested chains expanded); returns their node indices."""
    indices = []
    for name, child in _children(net) or []:
        sub = (*path, name)
        inner = _children(child)
        if inner is not None and not callable(getattr(child, "edges", None)):
            start = len(nodes)
            got = _flatten(child, sub, nodes, groups)
            if got:
                groups.append(
                    {
                        "label": f"{'.'.join(map(str, sub))}  {_label(child)}",
                        "nodes": list(range(start, len(nodes))),
                    }
                )
            indices += got
        else:
            nodes.append(_node(name, child, sub))
            indices.append(len(nodes) - 1)
    return indices


def _graph_levels(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Longest-path layering of a DAG given as index pairs (node 0 is the input)."""
    level = [0] * n
    for _ in range(n):
        changed = False
        for a, b in edges:
            if level[b] < level[a] + 1:
                level[b] = level[a] + 1
                changed = True
        if not changed:
            break
    return level


# ---------------------------------------------------------------------------- the layer diagram


def NetPlot(
    net: Any,
    *,
    units: bool = False,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> NetFigure:
    """The layers of a net as a diagram, each with its output shape and parameter count.

    Parameters
    ----------
    net : NetChain or any container
        Drawn through its ``children()`` (``(name, layer)`` pairs) and each layer's
        ``summary()``, ``output_shapes`` and ``parameter_count()``; nested chains are shown as
        groups. A container that also has ``edges()``, returning ``(source, target)`` pairs of
        child names with "Input" and "Output" for its ports, is drawn as that graph, layered
        by the longest path from the input; otherwise children are joined in order.
    units : bool, default False
        Draw every unit of a small dense net instead (a chain of LinearLayers and elementwise
        layers on vectors, at most 32 units a layer): a column of circles per layer, a line per
        weight, blue for positive and red for negative, thicker for larger magnitude.
    title : str, optional
    figsize : (float, float), optional
        Default: grows with the number of layers.
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "nodes" (dicts with "name", "label", "shape", "parameters"), "edges"
        (index pairs), "levels"; with ``units=True``: "columns" (units per column) and
        "weights" (one array per LinearLayer).

    Raises
    ------
    TypeError
        For something without ``children()``.
    ValueError
        With ``units=True``, for a net that is not a small dense chain.
    """
    if _children(net) is None:
        raise TypeError(
            f"NetPlot needs a net with children() (a NetChain), got {type(net).__name__}"
        )
    if units:
        return _unit_plot(net, title, figsize, dpi)
    input_shape = _shape_text(getattr(net, "input_shapes", None))
    nodes: list[dict[str, Any]] = [
        {
            "name": "Input",
            "label": "Input",
            "detail": input_shape,
            "shape": input_shape,
            "parameters": 0,
            "path": (),
        }
    ]
    groups: list[dict[str, Any]] = []
    edges_fn = getattr(net, "edges", None)
    if callable(edges_fn):
        index = {}
        for name, child in _children(net) or []:
            nodes.append(_node(name, child, (name,)))
            index[name] = len(nodes) - 1
        nodes.append(
            {
                "name": "Output",
                "label": "Output",
                "detail": _shape_text(getattr(net, "output_shapes", None)),
                "shape": _shape_text(getattr(net, "output_shapes", None)),
                "parameters": 0,
                "path": (),
            }
        )
        index["Input"], index["Output"] = 0, len(nodes) - 1
        edges = []
        for a, b in edges_fn():
            if a not in index or b not in index:
                raise ValueError(f"NetPlot: edge {a!r} -> {b!r} names an unknown part")
            edges.append((index[a], index[b]))
    else:
        leaves = _flatten(net, (), nodes, groups)
        decoder = getattr(net, "decoder", None)
        out_shape = _shape_text(getattr(net, "output_shapes", None))
        nodes.append(
            {
                "name": "Output",
                "label": "Output",
                "detail": out_shape + (f"   {decoder!r}" if decoder is not None else ""),
                "shape": out_shape,
                "parameters": 0,
                "path": (),
            }
        )
        chain = [0, *leaves, len(nodes) - 1]
        edges = list(zip(chain[:-1], chain[1:]))
    levels = _graph_levels(len(nodes), edges)
    depth = max(levels) + 1
    per_level: dict[int, list[int]] = {}
    for i, lv in enumerate(levels):
        per_level.setdefault(lv, []).append(i)
    width_nodes = max(len(v) for v in per_level.values())
    box_w, box_h, gap = 4.2, 0.62, 1.0
    pos = {}
    for lv, members in per_level.items():
        for k, i in enumerate(members):
            x = (k - (len(members) - 1) / 2) * (box_w + 0.5)
            pos[i] = (x, -lv * gap)

    size = figsize or (max(5.2, 4.6 * width_nodes + 0.6), 0.72 * depth + 0.9)
    fig = new_figure(*size, dpi=dpi)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96 if title is None else 0.9))
    ax.set_axis_off()
    for g in groups:
        ys = [pos[i][1] for i in g["nodes"]]
        xs = [pos[i][0] for i in g["nodes"]]
        ax.add_patch(
            Rectangle(
                (min(xs) - box_w / 2 - 0.15, min(ys) - box_h / 2 - 0.12),
                box_w + 0.3,
                max(ys) - min(ys) + box_h + 0.42,
                facecolor="none",
                edgecolor="0.55",
                linestyle="--",
                lw=1,
            )
        )
        ax.text(
            min(xs) + box_w / 2 + 0.1,
            max(ys) + box_h / 2 + 0.14,
            g["label"],
            ha="right",
            va="bottom",
            fontsize=7,
            color="0.35",
        )
    for i, node in enumerate(nodes):
        x, y = pos[i]
        port = node["name"] in ("Input", "Output") and not node["path"]
        ax.add_patch(
            FancyBboxPatch(
                (x - box_w / 2, y - box_h / 2),
                box_w,
                box_h,
                boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=PORT if port else BOX,
                edgecolor=BOX_EDGE,
                lw=1.2,
            )
        )
        ax.text(
            x,
            y + 0.1,
            node["label"],
            ha="center",
            va="center",
            fontsize=9,
            fontweight="bold" if port else "normal",
            family="monospace",
        )
        if node["detail"]:
            ax.text(
                x, y - 0.15, node["detail"], ha="center", va="center", fontsize=7.5, color="0.3"
            )
    for a, b in edges:
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.add_patch(
            FancyArrowPatch(
                (xa, ya - box_h / 2),
                (xb, yb + box_h / 2),
                arrowstyle="-|>",
                mutation_scale=11,
                color=BOX_EDGE,
                lw=1.1,
            )
        )
    span = (width_nodes - 1) / 2 * (box_w + 0.5) + box_w / 2 + 0.3
    ax.set_xlim(-span, span)
    ax.set_ylim(-(depth - 1) * gap - box_h / 2 - 0.15, box_h / 2 + 0.45)
    if title is not None:
        fig.suptitle(title)
    fig.data = {
        "nodes": [{k: v for k, v in n.items() if k != "detail"} for n in nodes],
        "edges": edges,
        "levels": levels,
    }
    return fig


def _unit_plot(net: Any, title: str | None, figsize: Any, dpi: float) -> NetFigure:
    from netchain.layers import ElementwiseLayer, LinearLayer, SoftmaxLayer

    leaves = []
    stack = list(reversed(_children(net) or []))
    while stack:
        name, layer = stack.pop()
        inner = _children(layer)
        if inner is not None:
            stack.extend(reversed(inner))
        else:
            leaves.append(layer)
    shape = (getattr(net, "input_shapes", None) or [None])[0]
    if shape is None or len(shape) != 1:
        raise ValueError(
            f"NetPlot(units=True) needs a net on vectors with a known input size, got input "
            f"shape {format_shape(shape)}"
        )
    columns = [int(shape[0])]
    captions = ["input"]
    weights: list[Any] = []
    for layer in leaves:
        if isinstance(layer, LinearLayer):
            columns.append(int(layer.n))
            captions.append(f"Linear[{layer.n}]")
            W = layer.arrays.get("Weights")
            weights.append(None if W is None else np.asarray(to_numpy(W), dtype=np.float64))
        elif isinstance(layer, ElementwiseLayer | SoftmaxLayer):
            fname = layer.function_name if isinstance(layer, ElementwiseLayer) else "Softmax"
            captions[-1] += f"\n+ {fname}"
        else:
            raise ValueError(
                "NetPlot(units=True) draws chains of LinearLayers and elementwise layers, not "
                f"{type(layer).__name__}"
            )
    if max(columns) > 32:
        raise ValueError(f"NetPlot(units=True) draws at most 32 units a layer, got {max(columns)}")
    size = figsize or (max(4.5, 1.9 * len(columns) + 0.6), max(3.2, 0.42 * max(columns) + 1.4))
    fig = new_figure(*size, dpi=dpi)
    ax = fig.add_axes((0.02, 0.02, 0.96, 0.96 if title is None else 0.9))
    ax.set_axis_off()
    ys = [np.arange(c)[::-1] - (c - 1) / 2 for c in columns]
    cmap = matplotlib.colormaps["RdBu"]
    top = max([float(np.abs(W).max()) for W in weights if W is not None and W.size] + [1e-12])
    for k, W in enumerate(weights):
        src, dst = ys[k], ys[k + 1]
        J, I = np.meshgrid(np.arange(len(dst)), np.arange(len(src)), indexing="ij")
        segments = np.stack(
            [
                np.stack([np.full(J.size, 2.0 * k), src[I.ravel()]], axis=1),
                np.stack([np.full(J.size, 2.0 * (k + 1)), dst[J.ravel()]], axis=1),
            ],
            axis=1,
        )
        if W is None:
            lines = LineCollection(segments, colors="0.7", linewidths=0.6, zorder=1)
        else:
            w = W[J.ravel(), I.ravel()]
            lines = LineCollection(
                segments,
                colors=cmap(0.5 + 0.5 * w / top),
                linewidths=0.4 + 2.6 * np.abs(w) / top,
                zorder=1,
            )
        ax.add_collection(lines)
    for k in range(len(columns)):
        for y in ys[k]:
            ax.add_patch(
                Circle((2.0 * k, y), 0.22, facecolor=BOX, edgecolor=BOX_EDGE, lw=1.2, zorder=2)
            )
    half = (max(columns) - 1) / 2
    for k in range(len(columns)):
        ax.text(2.0 * k, -half - 0.5, captions[k], ha="center", va="top", fontsize=8)
    ax.set_xlim(-0.8, 2.0 * (len(columns) - 1) + 0.8)
    ax.set_ylim(-half - 1.6, half + 0.6)
    ax.set_aspect("equal")
    if title is not None:
        fig.suptitle(title)
    fig.data = {"columns": columns, "weights": weights}
    return fig


# ---------------------------------------------------------------------------- activations

_SOFTMAX_NAMES = ("Softmax", "SoftmaxLayer")


def _activation(spec: Any) -> tuple[str, Any]:
    """(display name, function of a Tensor of shape (N,) giving a Tensor of shape (N,))."""
    if isinstance(spec, str):
        if spec in _SOFTMAX_NAMES:

            def first_softmax(t: Tensor) -> Tensor:
                # the first output of softmax over the two logits (x, 0)
                logits = ad.stack([t, t * 0.0], axis=1)
                return ad.softmax(logits, axis=1)[:, 0]

            return "Softmax (first of x, 0)", first_softmax
        if spec not in ELEMENTWISE_FUNCTIONS:
            raise ValueError(
                f"ActivationPlot: unknown function {spec!r}; known: "
                f"{sorted([*ELEMENTWISE_FUNCTIONS, 'Softmax'])}"
            )
        fn = ELEMENTWISE_FUNCTIONS[spec]
        return spec, fn.fn
    if isinstance(spec, ElementwiseFunction):
        return spec.name, spec.fn
    if callable(spec):
        return getattr(spec, "__name__", "f"), spec
    raise TypeError(f"ActivationPlot: expected a function name or a function, got {spec!r}")


def ActivationPlot(
    functions: Sequence[Any] | Any = ("LogisticSigmoid", "Ramp", "Tanh", "Softmax"),
    *,
    range: tuple[float, float] = (-4.0, 4.0),  # noqa: A002 - the Wolfram name for a plot range
    points: int = 401,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> NetFigure:
    """Each activation function with its derivative, one panel each.

    Derivatives come from :func:`netchain.autodiff.grad` (the backward passes the nets use):
    for an elementwise f, the gradient of sum(f(x)) is f'(x) at every x.

    Parameters
    ----------
    functions : sequence of str, ElementwiseFunction or callable
        Names of elementwise functions ("LogisticSigmoid", "Ramp", "Tanh", "ELU", "SELU",
        "GELU", "SoftPlus", ...), "Softmax" (drawn as the first output of softmax over the
        logits (x, 0), which is the logistic sigmoid of x), ``Ramp`` and its kin, or functions
        of a Tensor written with netchain operations.
    range : (float, float), default (-4, 4)
    points : int, default 401
        Points on each curve, from 2 to 100 000.
    title : str, optional
    figsize : (float, float), optional
        Default: 3.2 x 3 inches per panel, up to four a row.
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "x" (points,) and, per function name, a dict with "value" and "derivative".

    Raises
    ------
    ValueError
        For an unknown name, an empty list, a bad range, points outside 2..100 000, or a
        function that does not return one number per input.
    """
    specs = (
        [functions]
        if isinstance(functions, str | ElementwiseFunction)
        or (callable(functions) and not isinstance(functions, Sequence))
        else list(functions)
    )
    if not specs:
        raise ValueError("ActivationPlot needs at least one function")
    lo, hi = float(range[0]), float(range[1])
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"range must be (low, high) with low < high, got {range!r}")
    points = check_count(points, "points", high=MAX_CURVE_POINTS, what="points on each curve")
    xs = np.linspace(lo, hi, int(points))
    n = len(specs)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig = new_figure(
        *(figsize or (3.2 * cols + 0.4, 3.0 * rows + 0.4)), dpi=dpi, layout="constrained"
    )
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    data: dict[str, Any] = {"x": xs}
    for ax, spec in zip(axes, specs):
        name, fn = _activation(spec)
        with ad.no_grad():
            out = fn(Tensor(xs, dtype=np.float64))
        value = np.asarray(out.numpy() if hasattr(out, "numpy") else out)
        if value.shape != xs.shape or value.dtype.kind not in "biuf":
            raise ValueError(
                f"ActivationPlot: the function {name!r} must return one real number per input: "
                f"on a Tensor of shape {xs.shape} it returned "
                + (
                    f"shape {value.shape}"
                    if value.dtype.kind in "biufc"
                    else f"{type(out).__name__} {out!r}"
                )
            )
        value = value.astype(np.float64)
        derivative = np.asarray(ad.grad(lambda t, fn=fn: fn(t).sum())(xs), dtype=np.float64)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.axvline(0, color="0.6", lw=0.6)
        ax.plot(xs, value, lw=2, label="f(x)")
        ax.plot(xs, derivative, lw=1.6, ls="--", label="f'(x)")
        ax.set_title(name, fontsize=10)
        ax.set_xlim(lo, hi)
        ax.grid(alpha=0.25)
        ax.legend(fontsize="small", loc="upper left")
        data[name] = {"value": value, "derivative": derivative}
    for ax in axes[n:]:
        ax.set_axis_off()
    if title is not None:
        fig.suptitle(title)
    fig.data = data
    return fig
