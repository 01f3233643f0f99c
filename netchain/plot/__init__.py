"""Pictures on Matplotlib: surfaces, contours and vector fields of functions of two variables,
loss curves, decision regions, feature spaces, confusion matrices, net diagrams, activation
functions and grids of small images.

Every function returns a :class:`NetFigure`, a Matplotlib figure with ``save(path)`` (PNG,
SVG or PDF by the extension) and ``data`` (the arrays it shows); a notebook displays it as the
value of a cell. Without a display, Matplotlib's non-interactive Agg backend is used.

Nothing else in netchain imports this package, with one deliberate exception:
``NetTrainResults.loss_plot()`` imports :func:`LossPlot` lazily, when it is called.

>>> from netchain.plot import ContourPlot
>>> from netchain.calculus import GradientDescent
>>> descent = GradientDescent(lambda x, y: x**2 + 3 * y**2, [2.5, -2.0], 0.1, 40)
>>> fig = ContourPlot("x**2 + 3*y**2", ("x", -3, 3), ("y", -3, 3), trajectory=descent)
>>> fig.data["trajectory"].shape
(41, 2)
"""

from netchain.plot._figure import NetFigure, display_available
from netchain.plot.classifiers import DecisionRegionsPlot, FeatureSpacePlot
from netchain.plot.images import ImageGridPlot
from netchain.plot.nets import ActivationPlot, NetPlot
from netchain.plot.surfaces import ContourPlot, Plot3D, VectorDensityPlot
from netchain.plot.training import ConfusionMatrixPlot, LossPlot

__all__ = [
    "ActivationPlot",
    "ConfusionMatrixPlot",
    "ContourPlot",
    "DecisionRegionsPlot",
    "FeatureSpacePlot",
    "ImageGridPlot",
    "LossPlot",
    "NetFigure",
    "NetPlot",
    "Plot3D",
    "VectorDensityPlot",
    "display_available",
]
