"""netchain.plot: the arrays behind each picture, and saved files that decode."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import matplotlib.image
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection, QuadMesh
from matplotlib.quiver import Quiver
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from netchain import LinearLayer, LogisticSigmoid, NetChain, NetInitialize, NetTrain, Ramp
from netchain.calculus import CriticalPoints, Grad, GradientDescent
from netchain.plot import (
    ActivationPlot,
    ConfusionMatrixPlot,
    ContourPlot,
    DecisionRegionsPlot,
    FeatureSpacePlot,
    LossPlot,
    NetFigure,
    NetPlot,
    Plot3D,
    VectorDensityPlot,
)

ROOT = Path(__file__).resolve().parents[1]
XOR = {(1, 1): 0, (0, 0): 0, (1, 0): 1, (0, 1): 1}
XOR_X = np.array([[1, 1], [0, 0], [1, 0], [0, 1]], dtype=float)
XOR_Y = np.array([0, 0, 1, 1])


def decoded(path: Path) -> np.ndarray:
    """A saved PNG as an (H, W, channels) array, checked to have more than one colour."""
    image = matplotlib.image.imread(path)
    colours = np.unique(image.reshape(-1, image.shape[-1]), axis=0)
    assert len(colours) > 1, f"{path} is a single colour"
    return image


def assert_png(fig: NetFigure, path: Path, dpi: float = 100) -> np.ndarray:
    fig.save(path, dpi=dpi)
    image = decoded(path)
    w, h = fig.get_size_inches()
    assert image.shape[:2] == (round(h * dpi), round(w * dpi))
    return image


@pytest.fixture(scope="module")
def xor_net():
    return NetTrain(NetChain([16, Ramp, 1]), XOR, training_progress_reporting=None)


# ------------------------------------------------------------------------------ surfaces


def test_plot3d_surface_points_and_trajectory(tmp_path):
    descent = GradientDescent("x**2 + y**2", [2.5, -2.0], 0.1, 25)
    minimum = CriticalPoints("x**2 + y**2")
    fig = Plot3D(
        "x**2 + y**2",
        ("x", -3, 3),
        ("y", -2, 2),
        points=minimum,
        trajectory=descent,
        plot_points=31,
    )
    xs, ys, Z = fig.data["x"], fig.data["y"], fig.data["z"]
    assert xs[0] == -3 and xs[-1] == 3 and ys[0] == -2 and ys[-1] == 2 and len(xs) == 31
    np.testing.assert_allclose(Z, xs[None, :] ** 2 + ys[:, None] ** 2)
    np.testing.assert_array_equal(fig.data["points"], [[0.0, 0.0, 0.0]])
    T = fig.data["trajectory"]
    np.testing.assert_allclose(T[:, :2], descent.trajectory)
    np.testing.assert_allclose(T[:, 2], descent.values)
    (ax,) = fig.axes
    assert any(isinstance(c, Poly3DCollection) for c in ax.collections)
    assert ax.get_xlim() == (-3, 3) and ax.get_ylim() == (-2, 2)
    xl, yl, zl = ax.lines[0].get_data_3d()
    np.testing.assert_allclose(np.column_stack([xl, yl, zl]), T)
    assert_png(fig, tmp_path / "surface.png")
    svg = fig.save(tmp_path / "surface.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg


def test_plot3d_python_function_vectorised_or_not():
    import math

    a = Plot3D(lambda x, y: np.exp(-(x**2) - y**2), ("x", -1, 1), ("y", -1, 1), plot_points=9)
    b = Plot3D(lambda x, y: math.exp(-(x**2) - y**2), ("x", -1, 1), ("y", -1, 1), plot_points=9)
    np.testing.assert_allclose(a.data["z"], b.data["z"])
    assert a.data["z"][4, 4] == 1.0


def test_contour_plot_with_descent(tmp_path):
    descent = GradientDescent(lambda x, y: x**2 + 3 * y**2, [2.5, -2.0], 0.1, 40)
    fig = ContourPlot(
        "x**2 + 3*y**2", ("x", -3, 3), ("y", -3, 3), trajectory=descent, points=[(0, 0)]
    )
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the plot and its colour bar
    np.testing.assert_allclose(ax.lines[0].get_xydata(), descent.trajectory)
    start, end = ax.lines[2].get_xydata(), ax.lines[3].get_xydata()
    np.testing.assert_allclose(start[0], [2.5, -2.0])
    np.testing.assert_allclose(end[0], descent.point)
    np.testing.assert_allclose(ax.lines[4].get_xydata(), [[0.0, 0.0]])
    assert ax.get_xlim() == (-3, 3) and ax.get_ylim() == (-3, 3)
    levels = fig.data["levels"]
    assert levels[0] <= fig.data["z"].min() and levels[-1] >= 36.0
    np.testing.assert_allclose(
        fig.data["z"][100, 100], fig.data["x"][100] ** 2 + 3 * 0.0**2, atol=1e-3
    )
    assert_png(fig, tmp_path / "contour.png", dpi=50)


def test_contour_plot_levels_and_errors():
    fig = ContourPlot(
        "(1 - x)**2 + 100*(y - x**2)**2", ("x", -2, 2), ("y", -1, 3), contours=12, log_scale=True
    )
    lv = fig.data["levels"]
    assert len(lv) == 12 and lv[0] == pytest.approx(fig.data["z"].min())
    ratios = np.diff(np.log(lv - lv[0] + 1))
    np.testing.assert_allclose(ratios, ratios[0])  # evenly spaced in log(f - min + 1)
    fig = ContourPlot(lambda x, y: x + y, ("a", 0, 1), ("b", 0, 1), contours=[0.5, 1.0, 1.5])
    np.testing.assert_array_equal(fig.data["levels"], [0.5, 1.0, 1.5])
    with pytest.raises(ValueError, match="xspec"):
        ContourPlot("x", ("x", 1), ("y", 0, 1))
    with pytest.raises(ValueError, match="low < high"):
        ContourPlot("x", ("x", 1, 0), ("y", 0, 1))
    with pytest.raises(ValueError, match="different variables"):
        ContourPlot("x", ("x", 0, 1), ("x", 0, 1))
    with pytest.raises(ValueError, match="symbols other than"):
        ContourPlot("x + z", ("x", 0, 1), ("y", 0, 1))
    with pytest.raises(ValueError, match=r"shape \(k, 2\)"):
        ContourPlot("x", ("x", 0, 1), ("y", 0, 1), trajectory=[1, 2, 3])


def test_vector_density_plot_of_a_gradient(tmp_path):
    fig = VectorDensityPlot(
        Grad("x**2 + y**2", ["x", "y"]), ("x", -3, 3), ("y", -3, 3), arrows=7, plot_points=41
    )
    ax = fig.axes[0]
    (quiver,) = [c for c in ax.collections if isinstance(c, Quiver)]
    AX, AY = fig.data["arrow_x"], fig.data["arrow_y"]
    length = np.hypot(2 * AX, 2 * AY)
    safe = np.where(length > 0, length, 1)
    np.testing.assert_allclose(quiver.U.reshape(AX.shape), 2 * AX / safe)
    np.testing.assert_allclose(quiver.V.reshape(AX.shape), 2 * AY / safe)
    np.testing.assert_allclose(quiver.get_offsets(), np.column_stack([AX.ravel(), AY.ravel()]))
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    xs, ys = fig.data["x"], fig.data["y"]
    want = 2 * np.hypot(xs[None, :], ys[:, None])
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(want.shape), want)
    # the same field as a Python function, unnormalised
    fig2 = VectorDensityPlot(
        lambda x, y: (2 * x, 2 * y), ("x", -3, 3), ("y", -3, 3), arrows=7, normalize=False
    )
    np.testing.assert_allclose(fig2.data["u"], 2 * AX)
    assert_png(fig, tmp_path / "field.png")
    with pytest.raises(ValueError, match="two components"):
        VectorDensityPlot(["x", "y", "x*y"], ("x", 0, 1), ("y", 0, 1))
    with pytest.raises(ValueError, match="two components"):
        VectorDensityPlot(lambda x, y: x, ("x", 0, 1), ("y", 0, 1))


def test_functions_of_the_wrong_shape_or_type_raise_clear_errors():
    x, y = ("x", -3, 3), ("y", -3, 3)
    with pytest.raises(ValueError, match=r"f\(x, y\) must return one real number.*shape \(3,\)"):
        Plot3D(lambda x, y: np.zeros(3), x, y)
    with pytest.raises(ValueError, match=r"grid of shape \(200, 200\) it returned shape \(2, 2\)"):
        ContourPlot(lambda x, y: np.ones((2, 2)), x, y)
    with pytest.raises(ValueError, match=r"f\(-3.0, -3.0\) returned 'a' \(of type str\)"):
        Plot3D(lambda x, y: "a", x, y, plot_points=5)
    with pytest.raises(ValueError, match=r"returned None"):
        ContourPlot(lambda x, y: None, x, y, plot_points=5)
    with pytest.raises(ValueError, match=r"f: calling f\(-3.0, -3.0\) failed: TypeError"):
        Plot3D(lambda x: x, x, y, plot_points=5)
    with pytest.raises(ValueError, match=r"components \(u, v\) of the points' shape \(150, 150\)"):
        VectorDensityPlot(lambda x, y: (np.zeros(3), y), x, y)
    with pytest.raises(ValueError, match="two components.*got 3 components"):
        VectorDensityPlot(lambda x, y: (x, y, x), x, y)
    with pytest.raises(ValueError, match="two real components"):
        VectorDensityPlot(lambda x, y: ("u", y), x, y)
    with pytest.raises(ValueError, match=r"'<lambda>' must return one real number.*shape \(\)"):
        ActivationPlot([lambda t: t.sum()], points=11)
    # a function that answers one number a point when called on numbers, but another shape
    # on arrays (here it flattens them), is still evaluated point by point
    fig = Plot3D(lambda x, y: np.ravel(x) + 2 * np.ravel(y), x, y, plot_points=5)
    np.testing.assert_allclose(fig.data["z"], fig.data["x"][None, :] + 2 * fig.data["y"][:, None])


def test_plot_points_are_capped_and_colormaps_checked(rng):
    x, y = ("x", -3, 3), ("y", -3, 3)
    big = r"must be an int from 2 to 2000, got 100000"
    with pytest.raises(ValueError, match=r"plot_points \(grid points per axis\) " + big):
        Plot3D("x**2", x, y, plot_points=100_000)
    with pytest.raises(ValueError, match="plot_points .* got 2001"):
        ContourPlot("x**2", x, y, plot_points=2001)
    with pytest.raises(ValueError, match="plot_points .* got 100000"):
        VectorDensityPlot(("x", "y"), x, y, plot_points=100_000)
    with pytest.raises(
        ValueError, match=r"arrows \(arrows per axis\) must be an int from 2 to 200"
    ):
        VectorDensityPlot(("x", "y"), x, y, arrows=10**6)
    with pytest.raises(ValueError, match="resolution .* from 2 to 2000, got 100000"):
        DecisionRegionsPlot(lambda P: P[:, 0], XOR_X, resolution=100_000)
    with pytest.raises(ValueError, match=r"points \(points on each curve\) .* 100000"):
        ActivationPlot(["Tanh"], points=10**9)
    with pytest.raises(ValueError, match="plot_points .* got True"):
        Plot3D("x**2", x, y, plot_points=True)
    calls = [
        lambda c: Plot3D("x**2", x, y, plot_points=5, colormap=c),
        lambda c: ContourPlot("x**2 + y", x, y, plot_points=5, colormap=c),
        lambda c: VectorDensityPlot(("x", "y"), x, y, plot_points=5, colormap=c),
        lambda c: DecisionRegionsPlot(lambda P: P[:, 0], XOR_X, resolution=5, colormap=c),
        lambda c: FeatureSpacePlot(rng.normal(size=(30, 2)), rng.normal(size=30), colormap=c),
        lambda c: ConfusionMatrixPlot([0, 1, 1], [0, 1, 0], colormap=c),
    ]
    for call in calls:
        with pytest.raises(
            ValueError, match=r"colormap must be a Matplotlib colormap name.*'bogus'"
        ):
            call("bogus")
    with pytest.raises(ValueError, match=r"did you mean \['viridis'"):
        Plot3D("x**2", x, y, colormap="virdis")
    # a Colormap object is used as given
    fig = ConfusionMatrixPlot([0, 1, 1], [0, 1, 0], colormap=matplotlib.colormaps["magma"])
    assert fig.axes[0].images[0].get_cmap().name == "magma"


# ------------------------------------------------------------------------------ training


def test_loss_plot_from_nettrain_results(tmp_path):
    results = NetTrain(
        NetChain([8, Ramp, 1]),
        XOR,
        "All",
        validation_set=XOR,
        max_training_rounds=30,
        training_progress_reporting=None,
    )
    for fig in (LossPlot(results), results.loss_plot()):
        ax = fig.axes[0]
        train, val = ax.lines[0], ax.lines[1]
        np.testing.assert_array_equal(train.get_xdata(), np.arange(1, 31))
        np.testing.assert_allclose(train.get_ydata(), results.round_losses)
        np.testing.assert_allclose(val.get_ydata(), results.validation_losses)
        assert ax.get_xlabel() == "round" and "MeanSquared" in ax.get_title()
        assert fig.data["best_round"] == results.best_round
    assert_png(fig, tmp_path / "loss.png")


def test_loss_plot_other_forms_and_log_scale():
    fig = LossPlot({"training": [1.0, 0.1, 0.001], "validation": [1.2, 0.2, 0.01]})
    assert fig.axes[0].get_yscale() == "log"
    fig = LossPlot([0.5, 0.4, 0.3])
    assert fig.axes[0].get_yscale() == "linear" and len(fig.axes[0].lines) == 1
    with pytest.raises(ValueError, match=r"validation must be numbers .*\['a'\]"):
        LossPlot({"training": [1.0], "validation": ["a"]})
    with pytest.raises(ValueError, match="no training losses"):
        LossPlot([])
    with pytest.raises(ValueError, match="unknown keys"):
        LossPlot({"train": [1.0]})
    with pytest.raises(TypeError, match="LossPlot needs"):
        LossPlot(3.0)


def test_confusion_matrix_matches_scikit_learn(tmp_path, rng):
    metrics = pytest.importorskip("sklearn.metrics")
    y_true = rng.integers(0, 5, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 5, 300))
    fig = ConfusionMatrixPlot(y_true, y_pred)
    want = metrics.confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(fig.data["matrix"], want)
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.images[0].get_array(), want)
    assert fig.data["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert [t.get_text() for t in ax.texts[:5]] == [str(v) for v in want[0]]
    norm = ConfusionMatrixPlot(y_true, y_pred, normalize=True)
    np.testing.assert_allclose(norm.data["shown"], want / want.sum(axis=1, keepdims=True))
    assert_png(fig, tmp_path / "cm.png")


def test_confusion_matrix_labels_and_errors():
    fig = ConfusionMatrixPlot(["cat", "dog", "dog"], ["cat", "cat", "dog"], labels=["dog", "cat"])
    np.testing.assert_array_equal(fig.data["matrix"], [[1, 1], [0, 1]])
    fig = ConfusionMatrixPlot(np.array([[5, 1], [2, 7]]), labels=["a", "b"])
    assert fig.data["accuracy"] == pytest.approx(12 / 15)
    with pytest.raises(ValueError, match="'bird' is not one of"):
        ConfusionMatrixPlot(["cat", "bird"], ["cat", "cat"], labels=["cat", "dog"])
    with pytest.raises(ValueError, match="one length"):
        ConfusionMatrixPlot([1, 2], [1])
    with pytest.raises(ValueError, match="square"):
        ConfusionMatrixPlot(np.ones((2, 3)))


# ------------------------------------------------------------------------------ classifiers


def test_decision_regions_of_the_xor_net(tmp_path, xor_net):
    fig = DecisionRegionsPlot(xor_net, XOR_X, XOR_Y, resolution=61)
    (panel,) = fig.data["panels"]
    assert panel["mode"] == "score"
    xs, ys, V = fig.data["x"], fig.data["y"], panel["values"]
    assert xs[0] == -0.25 and xs[-1] == 1.25  # the data's range with 25% padding
    np.testing.assert_allclose(
        V,
        xor_net(np.column_stack([g.ravel() for g in np.meshgrid(xs, ys)])).reshape(61, 61),
        rtol=1e-6,
    )
    for (px, py), target in zip(XOR_X, XOR_Y):
        i, j = np.argmin(np.abs(ys - py)), np.argmin(np.abs(xs - px))
        assert abs(V[i, j] - target) < 0.1
    ax = fig.axes[0]
    assert any(isinstance(c, QuadMesh) for c in ax.collections)
    assert len(ax.collections) > 2  # the mesh, the boundary contour and the data
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    np.testing.assert_allclose(
        np.concatenate([p.get_offsets() for p in points]), XOR_X[np.argsort(XOR_Y, kind="stable")]
    )
    assert_png(fig, tmp_path / "xor.png")


def test_decision_regions_of_four_linear_and_nonlinear_nets(xor_net):
    linear = NetTrain(NetChain([LinearLayer(1)]), XOR, training_progress_reporting=None)
    fig = DecisionRegionsPlot([linear, xor_net], XOR_X, XOR_Y, titles=["linear", "ramp"])
    assert [ax.get_title() for ax in fig.axes if ax.get_title()] == ["linear", "ramp"]
    lin, ramp = fig.data["panels"]
    # the best linear fit of XOR is 1/2 everywhere: no boundary is drawn for it
    np.testing.assert_allclose(lin["values"], 0.5, atol=1e-3)


def test_decision_regions_labels_and_probabilities(rng):
    class Nearest:
        """A 3-class nearest-centre classifier with a predict method (string labels)."""

        centres = np.array([[0.0, 0.0], [4.0, 0.0], [0.0, 4.0]])
        names = np.array(["a", "b", "c"])

        def predict(self, P):
            d = ((P[:, None, :] - self.centres[None]) ** 2).sum(-1)
            return self.names[d.argmin(1)]

        def probabilities(self, P):
            d = -((P[:, None, :] - self.centres[None]) ** 2).sum(-1)
            e = np.exp(d - d.max(1, keepdims=True))
            return e / e.sum(1, keepdims=True)

    model = Nearest()
    X = np.concatenate([c + rng.normal(0, 0.5, (20, 2)) for c in model.centres])
    y = np.repeat(model.names, 20)
    fig = DecisionRegionsPlot([model, model.probabilities], X, y, resolution=50)
    labels, probs = fig.data["panels"]
    assert labels["mode"] == "labels" and labels["classes"] == ["a", "b", "c"]
    assert probs["mode"] == "probabilities" and probs["classes"] == [0, 1, 2]
    np.testing.assert_array_equal(labels["values"], probs["values"])  # the same regions
    GX, GY = np.meshgrid(fig.data["x"], fig.data["y"])
    want = model.predict(np.column_stack([GX.ravel(), GY.ravel()])).reshape(GX.shape)
    np.testing.assert_array_equal(np.asarray(labels["classes"])[labels["values"]], want)


def test_decision_regions_bad_input(xor_net):
    with pytest.raises(ValueError, match=r"\(n, 2\)"):
        DecisionRegionsPlot(xor_net, np.zeros((4, 3)))
    with pytest.raises(ValueError, match="3 labels for 4 points"):
        DecisionRegionsPlot(xor_net, XOR_X, [0, 1, 1])
    with pytest.raises(TypeError, match="predict method"):
        DecisionRegionsPlot(42, XOR_X)
    with pytest.raises(ValueError, match="one label"):
        DecisionRegionsPlot(lambda P: np.zeros(3), XOR_X)


def test_feature_space_plot(tmp_path, rng):
    E = np.concatenate([rng.normal(m, 1, (50, 2)) for m in (0, 5, 10)])
    labels = np.repeat(["x", "y", "z"], 50)
    fig = FeatureSpacePlot(E, labels, title="three blobs")
    ax = fig.axes[0]
    groups = [c for c in ax.collections if isinstance(c, PathCollection)]
    assert len(groups) == 3 and fig.data["classes"] == ["x", "y", "z"]
    for k, g in enumerate(groups):
        np.testing.assert_allclose(g.get_offsets(), E[50 * k : 50 * (k + 1)])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["x", "y", "z"]
    assert_png(fig, tmp_path / "features.png")
    cont = FeatureSpacePlot(E, E[:, 0])  # 150 distinct numbers: a colour scale
    assert len(cont.axes) == 2
    three = FeatureSpacePlot(np.column_stack([E, E[:, 0]]), labels)
    assert three.axes[0].name == "3d"
    with pytest.raises(ValueError, match=r"\(n, 2\) or \(n, 3\)"):
        FeatureSpacePlot(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="labels has 2 entries"):
        FeatureSpacePlot(E, [1, 2])


# ------------------------------------------------------------------------------ nets


def test_net_plot_of_a_chain(tmp_path):
    from netchain.models import mlp

    net = mlp((64,), list(range(10)))
    fig = NetPlot(net)
    nodes = fig.data["nodes"]
    assert [n["label"] for n in nodes] == [
        "Input",
        "1  LinearLayer[128]",
        "2  ElementwiseLayer[Ramp]",
        "3  LinearLayer[10]",
        "4  SoftmaxLayer",
        "Output",
    ]
    assert [n["shape"] for n in nodes] == ["(64,)", "(128,)", "(128,)", "(10,)", "(10,)", "(10,)"]
    assert [n["parameters"] for n in nodes] == [0, 64 * 128 + 128, 0, 1290, 0, 0]
    assert fig.data["edges"] == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 5)]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "1  LinearLayer[128]" in texts and any("8,320 parameters" in t for t in texts)
    assert_png(fig, tmp_path / "net.png")


def test_net_plot_nested_and_duck_typed_graph():
    nested = NetChain([NetChain([8, Ramp]), 1], input=3)
    fig = NetPlot(nested)
    assert [n["name"] for n in fig.data["nodes"]] == ["Input", "1.1", "1.2", "2", "Output"]
    assert fig.data["levels"] == [0, 1, 2, 3, 4]

    class Graph:
        """What a NetGraph offers NetPlot: children, edges and shapes."""

        input_shapes = [(4,)]
        output_shapes = [(2,)]

        def __init__(self):
            self.parts = {"a": LinearLayer(3, input=4), "b": LinearLayer(3, input=4)}
            self.parts["a"].bind([(4,)], "a")
            self.parts["b"].bind([(4,)], "b")
            self.parts["sum"] = LinearLayer(2, input=3)

        def children(self):
            return list(self.parts.items())

        def edges(self):
            return [("Input", "a"), ("Input", "b"), ("a", "sum"), ("b", "sum"), ("sum", "Output")]

    fig = NetPlot(Graph())
    names = [n["name"] for n in fig.data["nodes"]]
    assert names == ["Input", "a", "b", "sum", "Output"]
    assert fig.data["levels"] == [0, 1, 1, 2, 3]  # a and b side by side
    with pytest.raises(TypeError, match="children"):
        NetPlot(LinearLayer(3))


def test_net_plot_units(tmp_path):
    net = NetInitialize(NetChain([LinearLayer(3), LogisticSigmoid, 1], input=2), random_seed=3)
    fig = NetPlot(net, units=True)
    assert fig.data["columns"] == [2, 3, 1]
    W1 = net.layers[0].arrays["Weights"]
    np.testing.assert_allclose(fig.data["weights"][0], W1)
    lines = [c for c in fig.axes[0].collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in lines] == [6, 3]
    widths = lines[0].get_linewidths()
    order = np.argsort(np.abs(np.asarray(W1, dtype=float)).ravel())
    assert np.all(np.diff(np.asarray(widths)[order]) >= 0)  # thicker for larger |w|
    assert_png(fig, tmp_path / "units.png")
    with pytest.raises(ValueError, match="at most 32"):
        NetPlot(NetChain([64, 1], input=2), units=True)


def test_activation_plot_derivatives_from_autodiff(tmp_path):
    fig = ActivationPlot(["LogisticSigmoid", "Ramp", "Tanh", "Softmax"], range=(-3, 3), points=61)
    x = fig.data["x"]
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(fig.data["LogisticSigmoid"]["value"], s, rtol=1e-12)
    np.testing.assert_allclose(fig.data["LogisticSigmoid"]["derivative"], s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(fig.data["Ramp"]["value"], np.maximum(x, 0))
    np.testing.assert_array_equal(fig.data["Ramp"]["derivative"][x != 0], (x[x != 0] > 0) * 1.0)
    t = np.tanh(x)
    np.testing.assert_allclose(fig.data["Tanh"]["derivative"], 1 - t**2, rtol=1e-12, atol=1e-15)
    soft = fig.data["Softmax (first of x, 0)"]
    np.testing.assert_allclose(soft["value"], s, rtol=1e-12)
    np.testing.assert_allclose(soft["derivative"], s * (1 - s), rtol=1e-10)
    axes = [ax for ax in fig.axes if ax.lines]
    assert len(axes) == 4
    np.testing.assert_allclose(axes[2].lines[-1].get_ydata(), 1 - t**2, rtol=1e-12, atol=1e-15)
    assert_png(fig, tmp_path / "activations.png")
    with pytest.raises(ValueError, match="unknown function"):
        ActivationPlot(["Swish2"])


# ------------------------------------------------------------------------------ the figure


def test_figure_save_and_notebook_display(tmp_path):
    fig = LossPlot([3.0, 2.0, 1.0], figsize=(4, 3))
    image = assert_png(fig, tmp_path / "small.png", dpi=80)
    assert image.shape[:2] == (240, 320)
    png = fig._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        fig.save(tmp_path / "x.jpg")
    assert fig.save(tmp_path / "x.pdf").read_bytes()[:4] == b"%PDF"


def test_import_chooses_agg_without_a_display_and_leaves_pyplot_alone():
    code = (
        "import sys, matplotlib, netchain.plot; "
        "print('matplotlib.pyplot' in sys.modules, matplotlib.rcParams['backend'])"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout.split()
    assert [out[0], out[1].lower()] == ["False", "agg"]


def test_nothing_below_plot_imports_it():
    """The layering: only netchain.plot itself, the command line, the tour, and one method of
    NetTrainResults (lazily, inside the method) import netchain.plot."""
    pattern = re.compile(
        r"^(\s*)(from netchain\.plot\b|import netchain\.plot\b|from netchain import .*\bplot\b)",
        re.M,
    )
    for path in (ROOT / "netchain").rglob("*.py"):
        rel = path.relative_to(ROOT / "netchain").as_posix()
        if rel.startswith("plot/") or rel in ("cli.py", "tour.py") or rel.startswith("tour/"):
            continue
        for m in pattern.finditer(path.read_text()):
            assert rel == "train/nettrain.py" and m.group(1), f"{rel} imports netchain.plot"


def test_figures_join_pyplot_only_in_a_window_session(monkeypatch):
    """In a pyplot session with a window backend, figures are pyplot's (plt.show() shows
    them) and close() releases them; otherwise pyplot never sees them."""
    import matplotlib.pyplot as plt

    from netchain.plot import _figure

    standalone = LossPlot([1.0, 0.5])
    assert standalone.canvas.manager is None
    monkeypatch.setattr(_figure, "_pyplot_window_backend", lambda: True)
    fig = LossPlot([1.0, 0.5])
    assert isinstance(fig, NetFigure) and plt.fignum_exists(fig.number)
    fig.close()
    assert not plt.fignum_exists(fig.number)
