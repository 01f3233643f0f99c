"""Grids of small images: digits, reconstructions, samples from a generative model, frames of
a predicted sequence."""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np

from netchain.backend import to_numpy
from netchain.plot._figure import NetFigure, new_figure

__all__ = ["ImageGridPlot"]


def ImageGridPlot(
    images: Any,
    *,
    columns: int | None = None,
    row_labels: Any = None,
    title: str | None = None,
    colormap: str = "gray",
    value_range: tuple[float, float] | None = (0.0, 1.0),
    cell_size: float = 0.7,
    dpi: float = 100,
) -> NetFigure:
    """Small grey-scale images in a grid, without axes.

    Parameters
    ----------
    images : array_like
        (n, H, W) or (n, 1, H, W): n images filled in row by row, ``columns`` to a row; or
        (rows, columns, H, W) with columns > 1: one row of the grid per first index (e.g.
        originals above their reconstructions, or the frames of several sequences).
    columns : int, optional
        Images per row for (n, H, W) input (default: at most 10).
    row_labels : sequence of str, optional
        A label at the left of each row.
    title : str, optional
    colormap : str, default "gray"
        A Matplotlib colour map; "gray" shows 0 as black and 1 as white.
    value_range : (float, float) or None, default (0, 1)
        The values shown as the ends of the colour map; None scales each image to its own
        minimum and maximum.
    cell_size : float, default 0.7
        Inches per image.
    dpi : float, default 100

    Returns
    -------
    NetFigure
        ``data``: "images", the grid as an array (rows, columns, H, W) (unused cells NaN).

    Raises
    ------
    ValueError
        For arrays of another rank, no images, or a wrong number of row labels.
    """
    A = np.asarray(to_numpy(images), dtype=np.float64)
    if A.ndim == 4 and A.shape[1] == 1:  # single-channel images (n, 1, H, W)
        A = A[:, 0]
    if A.ndim == 3:
        n = A.shape[0]
        if n == 0:
            raise ValueError("ImageGridPlot: no images")
        cols = int(columns) if columns is not None else min(n, 10)
        if cols < 1:
            raise ValueError(f"ImageGridPlot: columns must be a positive int, got {columns!r}")
        rows = -(-n // cols)
        grid = np.full((rows * cols, *A.shape[1:]), np.nan)
        grid[:n] = A
        grid = grid.reshape(rows, cols, *A.shape[1:])
    elif A.ndim == 4 and A.shape[0] > 0 and A.shape[1] > 0:
        grid = A
    else:
        raise ValueError(
            "ImageGridPlot: images must have shape (n, H, W), (n, 1, H, W) or "
            f"(rows, columns, H, W), got {A.shape}"
        )
    rows, cols = grid.shape[:2]
    labels = None if row_labels is None else [str(s) for s in row_labels]
    if labels is not None and len(labels) != rows:
        raise ValueError(f"ImageGridPlot: {len(labels)} row labels for {rows} rows")
    left = 1.0 if labels else 0.1
    fig = new_figure(left + cols * cell_size, 0.1 + rows * cell_size + (0.4 if title else 0), dpi)
    cmap = matplotlib.colormaps[colormap]
    vmin, vmax = (None, None) if value_range is None else value_range
    for r in range(rows):
        for c in range(cols):
            ax = fig.add_subplot(rows, cols, r * cols + c + 1)
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
            if not np.all(np.isnan(grid[r, c])):
                ax.imshow(grid[r, c], cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            if labels and c == 0:
                ax.set_ylabel(labels[r], rotation=0, ha="right", va="center", fontsize="small")
    if title:
        fig.suptitle(title)
    fig.subplots_adjust(
        left=left / (left + cols * cell_size), right=0.99, bottom=0.01, wspace=0.05, hspace=0.05
    )
    fig.data = {"images": grid}
    return fig
