"""Pictures of classifiers in two dimensions: decision regions, and data in a feature space."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.colors import BoundaryNorm, ListedColormap, TwoSlopeNorm

from netchain.backend import to_numpy
from netchain.plot._common import check_colormap, check_count
from netchain.plot._figure import NetFigure, new_figure

__all__ = ["DecisionRegionsPlot", "FeatureSpacePlot"]


def _class_colors(k: int) -> list[Any]:
    name = "tab10" if k <= 10 else "tab20"
    cmap = matplotlib.colormaps[name]
    return [cmap(i % cmap.N) for i in range(k)]


def _as_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "numpy") and callable(value.numpy):
        value = value.numpy()
    if isinstance(value, list | tuple):
        return np.asarray(value)
    return np.asarray(to_numpy(value))


def _predict(classifier: Any, P: np.ndarray) -> np.ndarray:
    if hasattr(classifier, "predict") and callable(classifier.predict):
        out = classifier.predict(P)
    elif callable(classifier):
        out = classifier(P)
    else:
        raise TypeError(
            "classifier must have a predict method (an estimator) or be callable (a net), got "
            f"{type(classifier).__name__}"
        )
    out = _as_numpy(out)
    if out.shape[:1] != (len(P),):
        raise ValueError(
            f"the classifier gave output of shape {out.shape} for {len(P)} points; expected one "
            "label, score or probability vector per point"
        )
    return out


def _is_numeric(a: np.ndarray) -> bool:
    return a.dtype.kind in "fiub"


def DecisionRegionsPlot(
    classifier: Any,
    X: Any,
    y: Any = None,
    *,
    titles: Sequence[str] | None = None,
    resolution: int = 200,
    padding: float = 0.25,
    threshold: float = 0.5,
    colormap: str = "RdBu_r",
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> NetFigure:
    """The regions of the plane a 2-D classifier assigns to each class, with the data on top.

    Parameters
    ----------
    classifier : estimator, net or callable, or a list of them
        Anything with ``predict(points)`` (a fitted estimator) or callable on a batch of
        points of shape (N, 2) (a net). A list draws one panel per classifier, side by side.
        Outputs are read as: one number per point (a score, as from a net with one output):
        coloured continuously, the boundary drawn at ``threshold``; a vector per point
        (probabilities): the class of the largest; labels: one colour per class.
    X : array_like of shape (n, 2)
        The data (sets the plotted range).
    y : array_like of shape (n,), optional
        Their classes, colouring the data points.
    titles : sequence of str, optional
        One per panel.
    resolution : int, default 200
        Grid points per axis, from 2 to 2000.
    padding : float, default 0.25
        Margin around the data, as a fraction of its range (at least 0.5 when the range is 0).
    threshold : float, default 0.5
        The decision level of scores.
    colormap : str or matplotlib.colors.Colormap, default "RdBu_r"
        For scores: a name in ``matplotlib.colormaps``.
    figsize : (float, float), optional
        Default: 4.2 x 3.8 inches per panel.
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "x", "y" (grid axes), "panels": per classifier a dict with "mode" ("score",
        "probabilities" or "labels"), "values" (resolution, resolution): the score, or the
        class index into "classes", at each grid point, and "classes".

    Raises
    ------
    ValueError
        When X is not (n, 2), y has another length, a classifier's output does not have
        one entry per point, resolution is outside 2..2000, or colormap is not a Matplotlib
        colormap name.
    TypeError
        For a classifier that neither predicts nor is callable.
    """
    models = list(classifier) if isinstance(classifier, list | tuple) else [classifier]
    if not models:
        raise ValueError("DecisionRegionsPlot needs at least one classifier")
    Xa = np.asarray(to_numpy(X) if not isinstance(X, list | tuple) else X, dtype=np.float64)
    if Xa.ndim != 2 or Xa.shape[1] != 2 or Xa.shape[0] == 0:
        raise ValueError(f"X must be a non-empty array of 2-D points (n, 2), got shape {Xa.shape}")
    if not np.all(np.isfinite(Xa)):
        raise ValueError("X contains NaN or infinity")
    ya = None
    if y is not None:
        ya = np.asarray(to_numpy(y) if not isinstance(y, list | tuple) else y).reshape(-1)
        if ya.size != Xa.shape[0]:
            raise ValueError(f"y has {ya.size} labels for {Xa.shape[0]} points")
    if titles is not None and len(titles) != len(models):
        raise ValueError(f"{len(titles)} titles for {len(models)} classifiers")
    resolution = check_count(resolution, "resolution")
    score_cmap = check_colormap(colormap)

    lo, hi = Xa.min(axis=0), Xa.max(axis=0)
    pad = np.maximum(padding * (hi - lo), np.where(hi > lo, 0.0, 0.5))
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    GX, GY = np.meshgrid(xs, ys)
    P = np.column_stack([GX.ravel(), GY.ravel()])

    n = len(models)
    size = figsize or (4.2 * n + 0.6, 3.9)
    fig = new_figure(*size, dpi=dpi, layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    data_classes = (
        [c.item() if isinstance(c, np.generic) else c for c in np.unique(ya)]
        if ya is not None
        else []
    )
    panels = []
    for k, (model, ax) in enumerate(zip(models, axes)):
        out = _predict(model, P)
        if (
            _is_numeric(out)
            and (out.ndim == 1 or (out.ndim == 2 and out.shape[1] == 1))
            and (out.dtype.kind == "f")
        ):
            mode = "score"
            values = out.reshape(resolution, resolution).astype(np.float64)
            classes = data_classes
            finite = values[np.isfinite(values)]
            low = float(finite.min()) if finite.size else threshold
            high = float(finite.max()) if finite.size else threshold
            # white at the threshold, blue below, red above
            norm = TwoSlopeNorm(
                vcenter=threshold,
                vmin=min(low, threshold - 0.5),
                vmax=max(high, threshold + 0.5),
            )
            mesh = ax.pcolormesh(
                xs,
                ys,
                values,
                shading="auto",
                norm=norm,
                cmap=score_cmap,
                alpha=0.85,
            )
            fig.colorbar(mesh, ax=ax, fraction=0.046, pad=0.04, label="output")
            # a boundary only where the output really crosses the threshold (a net whose
            # output is constant up to rounding has none)
            if low < threshold < high and high - low > 1e-3 * max(1.0, abs(threshold)):
                ax.contour(xs, ys, values, levels=[threshold], colors="k", linewidths=1.5)
        else:
            if _is_numeric(out) and out.ndim == 2:
                mode = "probabilities"
                idx = out.argmax(axis=1)
                classes = list(range(out.shape[1]))
                if data_classes and all(isinstance(c, int | np.integer) for c in data_classes):
                    classes = list(range(max(out.shape[1], max(data_classes) + 1)))
                codes = idx
            else:
                mode = "labels"
                flat = out.reshape(len(P), -1)[:, 0] if out.ndim > 1 else out
                seen = [c.item() if isinstance(c, np.generic) else c for c in np.unique(flat)]
                classes = list(dict.fromkeys([*data_classes, *seen]))
                try:
                    classes = sorted(classes)
                except TypeError:
                    pass
                lookup = {c: i for i, c in enumerate(classes)}
                uniq, inverse = np.unique(flat, return_inverse=True)
                codes = np.array(
                    [lookup[u.item() if isinstance(u, np.generic) else u] for u in uniq]
                )[inverse.reshape(-1)]
            values = codes.reshape(resolution, resolution)
            colors = _class_colors(len(classes))
            cmap = ListedColormap(colors)
            norm = BoundaryNorm(np.arange(len(classes) + 1) - 0.5, len(classes))
            ax.pcolormesh(xs, ys, values, shading="auto", cmap=cmap, norm=norm, alpha=0.35)
            if len(classes) > 1:
                ax.contour(
                    xs, ys, values, levels=np.arange(len(classes)) + 0.5, colors="k", linewidths=0.8
                )
        if ya is not None:
            point_classes = classes if mode != "score" else data_classes
            colors = _class_colors(max(len(point_classes), 1))
            if mode == "score":
                cm = score_cmap
                numeric = _is_numeric(ya)
                for c in point_classes:
                    sel = ya == c
                    if numeric:
                        color = cm(0.0 if float(c) <= threshold else 1.0)
                    else:
                        color = colors[point_classes.index(c)]
                    ax.scatter(
                        Xa[sel, 0],
                        Xa[sel, 1],
                        color=color,
                        edgecolor="k",
                        s=70,
                        zorder=3,
                        label=str(c),
                    )
            else:
                lookup = {c: i for i, c in enumerate(point_classes)}
                for c in data_classes:
                    sel = ya == c
                    ax.scatter(
                        Xa[sel, 0],
                        Xa[sel, 1],
                        color=colors[lookup.get(c, 0)],
                        edgecolor="k",
                        s=40 if len(Xa) > 50 else 70,
                        zorder=3,
                        label=str(c),
                    )
            if len(data_classes) <= 12 and k == 0:
                ax.legend(title="class", fontsize="small", loc="best", framealpha=0.85)
        else:
            ax.scatter(Xa[:, 0], Xa[:, 1], color="k", s=20, zorder=3)
        ax.set_xlim(xs[0], xs[-1])
        ax.set_ylim(ys[0], ys[-1])
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        if titles is not None:
            ax.set_title(titles[k])
        panels.append({"mode": mode, "values": values, "classes": classes})
    fig.data = {"x": xs, "y": ys, "panels": panels}
    return fig


def FeatureSpacePlot(
    embedding: Any,
    labels: Any = None,
    *,
    title: str | None = None,
    colormap: str = "viridis",
    marker_size: float | None = None,
    figsize: tuple[float, float] = (6.4, 5.2),
    dpi: float = 100,
) -> NetFigure:
    """Points of a 2-D or 3-D embedding (t-SNE, PCA, a net's hidden layer), coloured by label.

    Parameters
    ----------
    embedding : array_like of shape (n, 2) or (n, 3)
    labels : array_like of shape (n,), optional
        Classes (one colour each, with a legend), or numbers with more than 20 distinct values
        (a continuous colour scale with a colour bar).
    title : str, optional
    colormap : str or matplotlib.colors.Colormap, default "viridis"
        For continuous labels: a name in ``matplotlib.colormaps``.
    marker_size : float, optional
        Default: smaller for more points.
    figsize : (float, float), default (6.4, 5.2)
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "points" (n, d), "labels" (n,) or None, "classes" (for class labels).

    Raises
    ------
    ValueError
        For an embedding that is not (n, 2) or (n, 3), non-finite values, labels of another
        length, or a colormap that is not a Matplotlib colormap name.
    """
    E = np.asarray(
        to_numpy(embedding) if not isinstance(embedding, list | tuple) else embedding,
        dtype=np.float64,
    )
    if E.ndim != 2 or E.shape[1] not in (2, 3) or E.shape[0] == 0:
        raise ValueError(f"embedding must have shape (n, 2) or (n, 3), got {E.shape}")
    if not np.all(np.isfinite(E)):
        raise ValueError("embedding contains NaN or infinity")
    cmap = check_colormap(colormap)
    lab = None
    if labels is not None:
        lab = np.asarray(to_numpy(labels) if not isinstance(labels, list | tuple) else labels)
        lab = lab.reshape(-1)
        if lab.size != E.shape[0]:
            raise ValueError(f"labels has {lab.size} entries for {E.shape[0]} points")
    size = marker_size if marker_size is not None else float(np.clip(3000 / len(E), 4, 60))

    three = E.shape[1] == 3
    fig = new_figure(*figsize, dpi=dpi, layout=None if three else "constrained")
    ax = fig.add_subplot(projection="3d") if three else fig.add_subplot()
    cols = [E[:, i] for i in range(E.shape[1])]
    classes = None
    if lab is None:
        ax.scatter(*cols, s=size, color="C0")
    else:
        uniq = np.unique(lab)
        continuous = lab.dtype.kind == "f" and uniq.size > 20
        if continuous:
            sc = ax.scatter(*cols, c=lab, s=size, cmap=cmap)
            fig.colorbar(sc, ax=ax, label="label")
        else:
            classes = [c.item() if isinstance(c, np.generic) else c for c in uniq]
            colors = _class_colors(len(classes))
            for c, color in zip(classes, colors):
                sel = lab == c
                ax.scatter(
                    *[col[sel] for col in cols],
                    s=size,
                    color=color,
                    label=str(c),
                    alpha=0.85,
                    edgecolor="none",
                )
            if len(classes) <= 20:
                ax.legend(
                    title="class",
                    fontsize="small",
                    markerscale=max(1.0, 30 / size),
                    loc="best",
                    framealpha=0.85,
                )
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    if three:
        ax.set_zlabel("dimension 3")
    ax.set_title(title if title is not None else "feature space")
    fig.data = {"points": E, "labels": lab, "classes": classes}
    return fig
