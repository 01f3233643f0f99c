"""Pictures of training and of a classifier's errors: the loss per round, the confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from netchain.backend import to_numpy
from netchain.plot._common import check_colormap
from netchain.plot._figure import NetFigure, new_figure

__all__ = ["ConfusionMatrixPlot", "LossPlot"]


def _losses(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values if values is not None else [], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(
            f"LossPlot: {name} must be numbers (one loss a round), got {values!r}"
        ) from None
    return arr


def LossPlot(
    results: Any,
    *,
    log_scale: bool | None = None,
    title: str | None = None,
    figsize: tuple[float, float] = (6.4, 4.4),
    dpi: float = 100,
) -> NetFigure:
    """The training loss (and the validation loss) per round.

    Parameters
    ----------
    results : NetTrainResults, mapping or sequence
        What ``NetTrain(..., prop="All")`` returns (anything with ``round_losses`` and
        optionally ``validation_losses`` and ``best_round``); or ``{"training": [...],
        "validation": [...]}``; or a sequence of training losses.
    log_scale : bool, optional
        A logarithmic loss axis. Default: when the positive losses span more than two decades.
    title : str, optional
        Default: the loss and the optimiser, when the results say them.
    figsize : (float, float), default (6.4, 4.4)
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "rounds" (1..n), "training" (n,), "validation" (m,), "best_round".

    Raises
    ------
    ValueError
        When there are no training losses to draw.
    TypeError
        For anything else.
    """
    best = None
    label = None
    if hasattr(results, "round_losses"):
        train = _losses(results.round_losses, "round_losses")
        val = _losses(getattr(results, "validation_losses", None), "validation_losses")
        best = getattr(results, "best_round", None)
        loss, method = getattr(results, "loss", ""), getattr(results, "method", "")
        if loss or method:
            label = f"{loss} loss" + (f", {method}" if method else "")
    elif isinstance(results, Mapping):
        unknown = set(results) - {"training", "validation"}
        if unknown:
            raise ValueError(
                f"LossPlot: unknown keys {sorted(unknown)}; use 'training', 'validation'"
            )
        train = _losses(results.get("training"), "training")
        val = _losses(results.get("validation"), "validation")
    elif isinstance(results, list | tuple | np.ndarray):
        train, val = _losses(results, "losses"), np.empty(0)
    else:
        raise TypeError(
            "LossPlot needs NetTrain results (prop='All'), a dict of loss lists or a list of "
            f"losses, got {type(results).__name__}"
        )
    if train.size == 0:
        raise ValueError("LossPlot: there are no training losses to draw (no round completed)")
    rounds = np.arange(1, train.size + 1)
    both = np.concatenate([train, val])
    positive = both[np.isfinite(both) & (both > 0)]
    if log_scale is None:
        log_scale = bool(
            positive.size == both[np.isfinite(both)].size
            and positive.size
            and positive.max() / positive.min() > 100
        )

    fig = new_figure(*figsize, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    marker = "o" if train.size <= 40 else None
    ax.plot(rounds, train, marker=marker, markersize=3.5, lw=1.8, label="training loss")
    if val.size:
        ax.plot(
            np.arange(1, val.size + 1),
            val,
            marker=marker,
            markersize=3.5,
            lw=1.8,
            label="validation loss",
        )
    if best is not None and val.size:
        ax.axvline(best, color="0.4", lw=1, ls=":", label=f"best round ({best})")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("round")
    ax.set_ylabel("loss")
    ax.set_xlim(0.5, max(train.size, val.size) + 0.5)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title(title if title is not None else (label or "loss per round"))
    fig.data = {"rounds": rounds, "training": train, "validation": val, "best_round": best}
    return fig


def _class_index(values: np.ndarray, classes: list[Any], name: str) -> np.ndarray:
    lookup = {c: i for i, c in enumerate(classes)}
    uniq, inverse = np.unique(values, return_inverse=True)
    try:
        codes = np.array([lookup[u.item() if isinstance(u, np.generic) else u] for u in uniq])
    except KeyError as exc:
        raise ValueError(
            f"{name}: label {exc.args[0]!r} is not one of the labels {classes}"
        ) from None
    return codes[inverse.reshape(-1)]


def ConfusionMatrixPlot(
    y_true: Any,
    y_pred: Any = None,
    *,
    labels: Any = None,
    normalize: bool = False,
    colormap: str = "Blues",
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: float = 100,
) -> NetFigure:
    """The confusion matrix: how often each true class (row) was predicted as each class
    (column).

    Parameters
    ----------
    y_true : array_like of shape (n,)
        The true labels; or, with ``y_pred`` omitted, a square matrix of counts.
    y_pred : array_like of shape (n,), optional
        The predicted labels.
    labels : sequence, optional
        The classes in display order (default: the sorted labels that occur).
    normalize : bool, default False
        Show each row divided by its sum (the recall of each class on the diagonal).
    colormap : str or matplotlib.colors.Colormap, default "Blues"
        A name in ``matplotlib.colormaps``.
    title : str, optional
        Default: the accuracy.
    figsize : (float, float), optional
        Default: grows with the number of classes.
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "matrix" (k, k) counts, "shown" (what is drawn, normalised or not),
        "labels", "accuracy".

    Raises
    ------
    ValueError
        For label arrays of different lengths or that are empty, labels not in ``labels``,
        a count matrix that is not square, or a colormap that is not a Matplotlib colormap
        name.
    """
    cmap = check_colormap(colormap)
    if y_pred is None:
        M = np.asarray(to_numpy(y_true), dtype=np.float64)
        if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
            raise ValueError(f"a confusion matrix must be square, got shape {M.shape}")
        if np.any(M < 0) or not np.all(np.isfinite(M)):
            raise ValueError("a confusion matrix must hold non-negative finite counts")
        classes = list(labels) if labels is not None else list(range(M.shape[0]))
        if len(classes) != M.shape[0]:
            raise ValueError(f"{len(classes)} labels for a {M.shape[0]} x {M.shape[0]} matrix")
    else:
        yt = np.asarray(to_numpy(y_true) if not isinstance(y_true, list) else y_true)
        yp = np.asarray(to_numpy(y_pred) if not isinstance(y_pred, list) else y_pred)
        yt, yp = yt.reshape(-1), yp.reshape(-1)
        if yt.size == 0 or yt.size != yp.size:
            raise ValueError(
                f"y_true and y_pred must be non-empty and of one length, got {yt.size} and {yp.size}"
            )
        if labels is None:
            classes = [
                c.item() if isinstance(c, np.generic) else c
                for c in np.unique(np.concatenate([yt, yp]))
            ]
        else:
            classes = list(labels)
        k = len(classes)
        it = _class_index(yt, classes, "y_true")
        ip = _class_index(yp, classes, "y_pred")
        M = np.bincount(it * k + ip, minlength=k * k).reshape(k, k).astype(np.float64)
    k = M.shape[0]
    total = M.sum()
    accuracy = float(np.trace(M) / total) if total else float("nan")
    if normalize:
        rows = M.sum(axis=1, keepdims=True)
        shown = np.divide(M, rows, out=np.zeros_like(M), where=rows > 0)
    else:
        shown = M

    size = figsize or (max(4.0, 1.0 + 0.55 * k), max(3.6, 0.8 + 0.5 * k))
    fig = new_figure(*size, dpi=dpi, layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap=cmap, interpolation="nearest")
    fig.colorbar(image, ax=ax, label="fraction of the row" if normalize else "count")
    ax.set_xticks(range(k), [str(c) for c in classes], rotation=45 if k > 12 else 0)
    ax.set_yticks(range(k), [str(c) for c in classes])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if k <= 30:
        top = shown.max() if shown.size else 0
        for i in range(k):
            for j in range(k):
                text = f"{shown[i, j]:.2f}" if normalize else f"{int(M[i, j])}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize="small" if k > 10 else "medium",
                    color="white" if shown[i, j] > 0.55 * top else "black",
                )
    ax.set_title(
        title
        if title is not None
        else f"accuracy {accuracy:.3f} ({int(np.trace(M))} of {int(total)})"
    )
    fig.data = {"matrix": M, "shown": shown, "labels": classes, "accuracy": accuracy}
    return fig
