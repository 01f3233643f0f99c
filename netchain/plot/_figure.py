"""The figure every netchain picture returns, and where it is drawn.

Pictures are Matplotlib figures of the class :class:`NetFigure`, which adds ``save(path)`` and
keeps the arrays it was drawn from in ``figure.data``.

Where a figure lives:

- without a display (a server, CI) netchain selects Matplotlib's non-interactive Agg backend when
  it is first imported, unless the user chose one (``MPLBACKEND``, or pyplot already imported);
- in Jupyter a figure is a plain object that the notebook shows as a PNG when it is a cell's
  value (it is not registered with pyplot, so it is not shown twice);
- in a session where pyplot is already in use with a window backend, figures are created
  through pyplot, so ``plt.show()`` shows them as it shows the user's own;
- otherwise (scripts) figures stay outside pyplot's registry: nothing accumulates, and
  ``save`` writes them.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["NetFigure", "display_available", "new_figure"]

FORMATS = ("png", "svg", "pdf")
_NON_INTERACTIVE = {"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"}


def display_available() -> bool:
    """Whether a window can be opened (always on macOS and Windows; X11 or Wayland on Linux)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _in_jupyter() -> bool:
    return "ipykernel" in sys.modules


def _choose_backend() -> None:
    """Select Agg when there is no display and the user has not chosen a backend."""
    if os.environ.get("MPLBACKEND") or "matplotlib.pyplot" in sys.modules or _in_jupyter():
        return
    if not display_available():
        matplotlib.use("Agg")


def _pyplot_window_backend() -> bool:
    """True when the user already works with pyplot on a window backend."""
    if _in_jupyter() or "matplotlib.pyplot" not in sys.modules:
        return False
    backend = str(matplotlib.get_backend()).lower()
    return backend not in _NON_INTERACTIVE and not backend.startswith("module://")


class NetFigure(Figure):
    """A Matplotlib figure with ``save(path)`` and the arrays it shows in ``data``.

    Attributes
    ----------
    data : dict
        The arrays behind the picture (grids, values, points, trajectories, ...), as documented
        by the function that made it.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.data: dict[str, Any] = {}

    def save(self, path: str | os.PathLike, *, dpi: float | None = None, **options: Any) -> Path:
        """Write the figure to a file, the format given by its extension.

        Parameters
        ----------
        path : str or path-like
            Ends in ``.png``, ``.svg`` or ``.pdf``.
        dpi : float, optional
            Dots per inch (default: the figure's, 100): a PNG is ``figsize * dpi`` pixels.
        **options
            Passed to :meth:`matplotlib.figure.Figure.savefig`.

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        ValueError
            For another extension.
        """
        path = Path(path)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in FORMATS:
            raise ValueError(
                f"save: the file name must end in .png, .svg or .pdf, got {str(path)!r}"
            )
        self.savefig(path, format=fmt, dpi=dpi if dpi is not None else self.dpi, **options)
        return path

    def to_png(self, dpi: float | None = None) -> bytes:
        """The figure as PNG bytes."""
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=dpi if dpi is not None else self.dpi)
        return buf.getvalue()

    def _repr_png_(self) -> bytes:  # Jupyter's rich display
        return self.to_png()

    def close(self) -> None:
        """Release the figure from pyplot if pyplot manages it (a no-op otherwise)."""
        if self.canvas.manager is not None and "matplotlib.pyplot" in sys.modules:
            import matplotlib.pyplot as plt

            plt.close(self)


def new_figure(
    width: float, height: float, dpi: float = 100, layout: str | None = None
) -> NetFigure:
    """A new :class:`NetFigure` of ``width`` x ``height`` inches (see the module docstring);
    ``layout="constrained"`` keeps colour bars and labels from overlapping."""
    if _pyplot_window_backend():
        import matplotlib.pyplot as plt

        return plt.figure(figsize=(width, height), dpi=dpi, layout=layout, FigureClass=NetFigure)
    fig = NetFigure(figsize=(width, height), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


_choose_backend()
