"""The course tour: ``netchain tour [--out DIR]`` replays the course summary in six steps.

1. an artificial neuron and a linear layer (output size 10, input size 5) checked against
   W @ x + b;
2. the surface of x^2 + y^2, its gradient field, its critical point classified by the Hessian,
   and gradient descent drawn on its contours;
3. XOR and the four nets of the course, with their outputs and decision regions;
4. the activation functions and their derivatives;
5. backpropagation by hand through a net with one hidden layer, every chain-rule factor
   printed layer by layer, the weight update computed, and every number checked against
   netchain.autodiff (and the update against NetTrain's SGD step) to 1e-12 in float64;
6. an MLP trained on the bundled UCI digits, as ``netchain train`` does, with its loss curve.

Each step prints its results and writes its pictures to DIR, with an ``index.html`` that shows
them in order with their captions. It takes seconds; every check is recorded, and the command
fails (exit status 1) if one does not hold.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Check", "Picture", "Step", "run_tour", "write_index"]

#: Tolerance of the float64 checks of step 5 (backpropagation against netchain.autodiff).
BACKPROP_TOLERANCE = 1e-12


@dataclass
class Picture:
    """A picture written by the tour: its file name (in the output folder) and caption."""

    file: str
    caption: str


@dataclass
class Check:
    """A number the tour computed two ways: their largest difference and the tolerance."""

    name: str
    error: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return bool(self.error <= self.tolerance)


@dataclass
class Step:
    """One step of the tour: what it printed, drew and checked."""

    number: int
    title: str
    lines: list[str] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0


class _Recorder:
    """Prints a step's lines as they come and keeps them, with its pictures and checks."""

    def __init__(self, step: Step, out: Path, echo: Callable[[str], Any]) -> None:
        self.step = step
        self.out = out
        self.echo = echo

    def say(self, text: str = "") -> None:
        for line in text.split("\n"):
            self.step.lines.append(line)
            self.echo(line)

    def picture(self, fig: Any, name: str, caption: str) -> None:
        file = f"step{self.step.number}-{name}.png"
        fig.save(self.out / file)
        fig.close()
        self.step.pictures.append(Picture(file, caption))
        self.say(f"  [picture] {file}: {caption}")

    def check(self, name: str, a: Any, b: Any, tolerance: float) -> float:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        error = float(np.max(np.abs(a - b))) if a.size else 0.0
        c = Check(name, error, tolerance)
        self.step.checks.append(c)
        mark = "ok" if c.ok else f"FAILED (tolerance {tolerance:.0e})"
        self.say(f"      check {name}: max |difference| = {error:.1e}  {mark}")
        return error

    def require(self, name: str, holds: bool) -> None:
        """A check that is a statement rather than two numbers."""
        c = Check(name, 0.0 if holds else 1.0, 0.0)
        self.step.checks.append(c)
        self.say(f"      check {name}: {'ok' if holds else 'FAILED'}")


def _v(a: Any, digits: int = 6) -> str:
    """A vector or matrix as text, signed fixed-point numbers."""
    a = np.asarray(a, dtype=np.float64) + 0.0  # no "-0.000000"
    if a.ndim == 0:
        return f"{float(a):+.{digits}f}"
    if a.ndim == 1:
        return "[" + ", ".join(f"{v:+.{digits}f}" for v in a) + "]"
    rows = [_v(r, digits) for r in a]
    return "[" + (",\n" + " " * 0).join(rows) + "]"


def _block(label: str, a: Any, indent: int = 6, digits: int = 6) -> str:
    """``label = value`` with matrix rows aligned under the first."""
    text = _v(a, digits)
    lines = text.split("\n")
    pad = " " * (indent + len(label) + 4)
    head = " " * indent + f"{label} = " + lines[0]
    return "\n".join([head] + [pad + line for line in lines[1:]])


# ---------------------------------------------------------------------------- step 1


def _step_neuron(r: _Recorder) -> None:
    from netchain import LinearLayer, LogisticSigmoid, NetChain, NetExtract, NetInitialize
    from netchain.plot import NetPlot

    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    r.say("An artificial neuron computes y = f(w . x + b): a weighted sum of its inputs plus a")
    r.say("bias, passed through an activation function f (here the logistic sigmoid).")
    neuron = NetInitialize(
        NetChain([LinearLayer(1, biases=[0.5]), LogisticSigmoid], input=5),
        random_seed=1234,
        working_precision="Real64",
    )
    w = NetExtract(neuron, (1, "Weights"))[0]
    b = NetExtract(neuron, (1, "Biases"))[0]
    z = float(w @ x + b)
    y = float(neuron(x)[0])
    r.say("  neuron = NetChain([LinearLayer(1, biases=[0.5]), LogisticSigmoid], input=5)")
    r.say(_block("w", w, 2) + f"   b = {b:+.6f}")
    r.say(f"  x = {x.tolist()}:  w . x + b = {z:+.6f},  y = 1 / (1 + exp(-{z:.6f})) = {y:.6f}")
    r.check("neuron(x) = sigmoid(w . x + b)", y, 1.0 / (1.0 + np.exp(-z)), 1e-12)

    r.say("")
    r.say("A linear layer is many neurons side by side without the activation: y = W x + b,")
    r.say("with W of shape (output size, input size).")
    biases = np.round(np.random.default_rng(5).normal(0, 0.1, 10), 3)
    layer = NetInitialize(
        NetChain([LinearLayer(10, biases=biases, input=5)]),
        random_seed=1234,
        working_precision="Real64",
    )
    W = NetExtract(layer, (1, "Weights"))
    b10 = NetExtract(layer, (1, "Biases"))
    out = layer(x)
    r.say(
        "  layer = NetChain([LinearLayer(10, biases=b, input=5)]), W initialised by NetInitialize"
    )
    r.say(f"  W has shape {W.shape}, b has shape {b10.shape}:")
    r.say(_block("W", W, 2, 4))
    r.say(_block("b", b10, 2, 4))
    r.say(_block("layer(x)  ", out, 2, 4))
    r.say(_block("W @ x + b ", W @ x + b10, 2, 4))
    r.say(f"  output size {out.shape[0]}, input size {x.shape[0]}")
    r.check("layer(x) = W @ x + b", out, W @ x + b10, 1e-12)
    r.picture(
        NetPlot(layer, units=True, title="LinearLayer(10, input=5): 50 weights"),
        "linear-layer",
        "A linear layer with input size 5 and output size 10: every output unit is joined to "
        "every input by a weight (blue positive, red negative, thicker for larger).",
    )


# ---------------------------------------------------------------------------- step 2


def _step_calculus(r: _Recorder) -> None:
    from netchain.calculus import CriticalPoints, Grad, GradientDescent, Hessian
    from netchain.plot import ContourPlot, Plot3D, VectorDensityPlot

    f = "x**2 + y**2"
    grad = Grad(f, ["x", "y"])
    hess = Hessian(f, ["x", "y"])
    r.say(f"f(x, y) = {f}")
    r.say(f"  gradient    grad f = {list(grad)}")
    r.say(f"  Hessian     H = {hess.tolist()}")
    points = CriticalPoints(f, ["x", "y"])
    for p in points:
        eig = ", ".join(f"{e:g}" for e in p.eigenvalues)
        r.say(f"  critical point (grad f = 0): {p}  (Hessian eigenvalues {eig}: all positive)")
    saddle = CriticalPoints("x**2 - y**2", ["x", "y"])[0]
    eig = ", ".join(f"{e:g}" for e in saddle.eigenvalues)
    r.say(f"  for contrast, x**2 - y**2: {saddle}  (eigenvalues {eig}: both signs)")
    r.require(
        "one critical point, a minimum at (0, 0)",
        len(points) == 1 and points[0].point == (0, 0) and points[0].kind == "Minimum",
    )

    lr, x0 = 0.1, np.array([2.5, -2.0])
    descent = GradientDescent(lambda x, y: x**2 + y**2, x0, lr, 50)
    r.say("")
    r.say(
        f"Gradient descent x <- x - {lr} grad f(x) from ({x0[0]:g}, {x0[1]:g}), the gradient "
        "from netchain.autodiff:"
    )
    for k in (0, 1, 2, 3, 10, 25, 50):
        px, py = descent.trajectory[k]
        r.say(f"  step {k:2d}: ({px:+.6f}, {py:+.6f})   f = {descent.values[k]:.6g}")
    closed = (1 - 2 * lr) ** np.arange(51)[:, None] * x0
    r.say(f"  each step multiplies the point by 1 - 2 * {lr} = {1 - 2 * lr:g}")
    r.check("descent = (1 - 2 lr)^k x0", descent.trajectory, closed, 1e-12)

    r.picture(
        Plot3D(f, ("x", -3, 3), ("y", -3, 3), points=points, trajectory=descent),
        "surface",
        "The surface z = x^2 + y^2 with its minimum (red) and the gradient-descent path.",
    )
    r.picture(
        VectorDensityPlot(grad, ("x", -3, 3), ("y", -3, 3), title="grad f = (2x, 2y)"),
        "gradient-field",
        "The gradient (2x, 2y) of x^2 + y^2: arrows point uphill, away from the minimum; the "
        "colour is the gradient's length, zero at the minimum.",
    )
    r.picture(
        ContourPlot(f, ("x", -3, 3), ("y", -3, 3), trajectory=descent, points=points),
        "descent",
        f"Gradient descent on the contours of x^2 + y^2 (learning rate {lr}, 50 steps): "
        "each step goes against the gradient, across the contour lines.",
    )


# ---------------------------------------------------------------------------- step 3


def _step_xor(r: _Recorder) -> None:
    from netchain import LinearLayer, NetChain, NetTrain, Ramp
    from netchain.plot import DecisionRegionsPlot

    data = {(1, 1): 0, (0, 0): 0, (1, 0): 1, (0, 1): 1}
    X = np.array(list(data), dtype=float)
    y = np.array(list(data.values()))
    r.say("XOR: {(1, 1): 0, (0, 0): 0, (1, 0): 1, (0, 1): 1}; four nets trained by NetTrain")
    r.say("(ADAM, mean squared error, training_progress_reporting=None):")
    specs = [
        ("NetChain([LinearLayer(1)])", [LinearLayer(1)], "no hidden layer"),
        ("NetChain([16, 1])", [16, 1], "one linear hidden layer of 16"),
        ("NetChain([16, 16, 1])", [16, 16, 1], "two linear hidden layers"),
        ("NetChain([16, Ramp, 1])", [16, Ramp, 1], "16 with Ramp"),
    ]
    r.say(f"  {'net':<28}{'(1,1)':>9}{'(0,0)':>9}{'(1,0)':>9}{'(0,1)':>9}")
    nets, titles = [], []
    for text, layers, title in specs:
        trained = NetTrain(NetChain(layers), data, training_progress_reporting=None)
        out = np.asarray(trained(X), dtype=np.float64)
        r.say(
            f"  {text:<28}" + "".join(f"{round(float(v), 4) + 0.0:9.4f}" for v in out)
        )  # no "-0.0000"
        nets.append(trained)
        titles.append(f"{text.removeprefix('NetChain(')[:-1]}: {title}")
    A = np.column_stack([X, np.ones(4)])
    best_linear = A @ np.linalg.lstsq(A, y.astype(float), rcond=None)[0]
    r.say("Without an activation a chain of linear layers is one linear function, and the")
    r.say(f"best linear fit to XOR (least squares) is {_v(best_linear, 3)}: 1/2 everywhere.")
    r.say("Ramp (ReLU) between the layers bends the plane, and the net fits XOR.")
    lin = np.asarray(nets[0](X), dtype=np.float64)
    r.check("linear net = least-squares fit (1/2)", lin, best_linear, 1e-2)
    ramp = np.asarray(nets[3](X), dtype=np.float64)
    r.check("Ramp net fits XOR", ramp, y, 0.1)
    r.picture(
        DecisionRegionsPlot(nets, X, y, titles=titles, resolution=120),
        "xor-decision-regions",
        "The outputs of the four XOR nets over the plane (white is 0.5, the decision level; "
        "the black line is the boundary). The three linear nets give 0.5 everywhere; only the "
        "net with Ramp separates the classes.",
    )


# ---------------------------------------------------------------------------- step 4


def _step_activations(r: _Recorder) -> None:
    from netchain import autodiff as ad
    from netchain.autodiff import Tensor
    from netchain.plot import ActivationPlot

    xs = np.array([-2.0, 0.5, 2.0])
    r.say("Activation functions and their derivatives (the derivatives from netchain.autodiff,")
    r.say("checked against their closed forms):")
    sig = 1 / (1 + np.exp(-xs))
    cases = [
        ("LogisticSigmoid", ad.sigmoid, sig, sig * (1 - sig), "s(x) (1 - s(x))"),
        ("Ramp (ReLU)", ad.relu, np.maximum(xs, 0), (xs > 0) * 1.0, "1 if x > 0 else 0"),
        ("Tanh", ad.tanh, np.tanh(xs), 1 - np.tanh(xs) ** 2, "1 - tanh(x)^2"),
    ]
    r.say(f"  {'function':<17}{'x':>7}{'f(x)':>11}{'f_prime(x)':>13}   closed form of f'")
    for name, fn, value, deriv, form in cases:
        auto = ad.grad(lambda t, fn=fn: fn(t).sum())(xs)
        with ad.no_grad():
            val = fn(Tensor(xs)).numpy()
        for i, xv in enumerate(xs):
            r.say(
                f"  {name if i == 0 else '':<17}{xv:7.2f}{val[i]:11.6f}{auto[i]:13.6f}"
                + (f"   {form}" if i == 0 else "")
            )
        r.check(f"{name} derivative", auto, deriv, 1e-12)
        r.check(f"{name} value", val, value, 1e-12)
    z = np.array([1.0, 2.0, 0.5])
    with ad.no_grad():
        s = ad.softmax(Tensor(z)).numpy()
    jac = np.array([ad.grad(lambda t, i=i: ad.softmax(t)[i : i + 1].sum())(z) for i in range(3)])
    closed = np.diag(s) - np.outer(s, s)
    r.say(f"  Softmax over z = {z.tolist()}: s = {_v(s, 4)} (sums to {s.sum():.1f});")
    r.say("  its Jacobian from netchain.autodiff, against the closed form s_i (delta_ij - s_j):")
    r.say(_block("ds/dz", jac, 2, 4))
    r.check("softmax Jacobian", jac, closed, 1e-12)
    r.picture(
        ActivationPlot(["LogisticSigmoid", "Ramp", "Tanh", "Softmax"]),
        "activations",
        "Sigmoid, ReLU (Ramp), tanh and softmax (its first output over the logits (x, 0), "
        "which is the sigmoid of x) with their derivatives (dashed).",
    )


# ---------------------------------------------------------------------------- step 5


def _step_backprop(r: _Recorder) -> None:
    from netchain import LinearLayer, LogisticSigmoid, NetChain, NetInitialize, NetTrain
    from netchain.autodiff import Tensor, constant, mean_squared_error
    from netchain.layers import Context
    from netchain.nets.chain import arrays_for
    from netchain.plot import NetPlot
    from netchain.train.nettrain import make_objective

    tol = BACKPROP_TOLERANCE
    net = NetInitialize(
        NetChain(
            [
                LinearLayer(3, biases=[0.1, -0.2, 0.05]),
                LogisticSigmoid,
                LinearLayer(1, biases=[0.3]),
            ],
            input=2,
        ),
        random_seed=7,
        working_precision="Real64",
    )
    W1 = net.layers[0].arrays["Weights"].copy()
    b1 = net.layers[0].arrays["Biases"].copy()
    W2 = net.layers[2].arrays["Weights"].copy()
    b2 = net.layers[2].arrays["Biases"].copy()
    x = np.array([1.0, 0.0])
    t = np.array([1.0])
    objective, _, _ = make_objective(net, None, np.array([1.0]))
    r.say("The net: NetChain([LinearLayer(3), LogisticSigmoid, LinearLayer(1)], input=2) in")
    r.say("float64, one XOR example x = (1, 0) with target t = 1, and the loss NetTrain picks")
    r.say(f"for it: {objective.name}, L = (y - t)^2 for one output.")
    r.say(_block("W1", W1, 2) + "\n" + _block("b1", b1, 2))
    r.say(_block("W2", W2, 2) + "\n" + _block("b2", b2, 2))
    r.say("Every number below is computed by hand with NumPy and then checked against")
    r.say("netchain.autodiff: the same net run forward by its own layers on Tensors, and one")
    r.say("backward() pass of the engine, keeping the gradient at every layer's output.")

    # ---- the forward pass by hand
    z1 = W1 @ x + b1
    a1 = 1.0 / (1.0 + np.exp(-z1))
    yv = W2 @ a1 + b2
    L = float(((yv - t) ** 2).mean())
    r.say("")
    r.say("Forward pass, layer by layer:")
    r.say("  layer 1 (LinearLayer[3])    z1 = W1 x + b1")
    r.say(_block("z1", z1))
    r.say("  layer 2 (LogisticSigmoid)   a1 = sigmoid(z1) = 1 / (1 + exp(-z1))")
    r.say(_block("a1", a1))
    r.say("  layer 3 (LinearLayer[1])    y = W2 a1 + b2")
    r.say(_block("y ", yv))
    r.say(f"  loss                        L = (y - t)^2 = {L:.12f}")

    # ---- the same forward pass and its backward pass by netchain.autodiff
    params = {
        id(net.layers[0]): {
            "Weights": Tensor(W1, requires_grad=True),
            "Biases": Tensor(b1, requires_grad=True),
        },
        id(net.layers[2]): {
            "Weights": Tensor(W2, requires_grad=True),
            "Biases": Tensor(b2, requires_grad=True),
        },
    }
    ctx = Context(training=False, params=params)
    h = Tensor(x[None], requires_grad=True)
    hidden = [h]
    for layer in net.layers:
        h = layer.forward(arrays_for(layer, ctx), [h], ctx).retain_grad()
        hidden.append(h)
    loss = mean_squared_error(h, constant(t[None]))
    loss.backward()
    ad_z1, ad_a1, ad_y = (v.data[0] for v in hidden[1:])
    with_net = np.asarray(net(x), dtype=np.float64)
    r.check("z1 (forward)", z1, ad_z1, tol)
    r.check("a1 (forward)", a1, ad_a1, tol)
    r.check(
        "y (forward, also net(x))", np.concatenate([yv, yv]), np.concatenate([ad_y, with_net]), tol
    )
    r.check("L (forward)", L, float(loss.data), tol)

    # ---- the backward pass by hand: the chain rule from the loss back to the input
    r.say("")
    r.say("Backward pass: the chain rule, from the loss back to the input. Each layer turns the")
    r.say("gradient of L with respect to its output into the gradients with respect to its")
    r.say("arrays and its input, which is the previous layer's output.")
    dL_dy = 2.0 * (yv - t)
    r.say("  loss:    dL/dy = 2 (y - t)")
    r.say(_block("dL/dy ", dL_dy))
    r.check("dL/dy", dL_dy, hidden[3].grad[0], tol)

    dL_dW2 = np.outer(dL_dy, a1)
    dL_db2 = dL_dy
    dL_da1 = W2.T @ dL_dy
    r.say("  layer 3 (LinearLayer[1]), y = W2 a1 + b2. A weight's gradient is the gradient at")
    r.say("  its output times the input it multiplies; a bias's is the gradient at its output.")
    r.say("           dL/dW2 = dL/dy a1^T        (dy/dW2 = a1; shapes (1,) x (3,) -> (1, 3))")
    r.say(_block("dL/dW2", dL_dW2))
    r.check("dL/dW2", dL_dW2, params[id(net.layers[2])]["Weights"].grad, tol)
    r.say("           dL/db2 = dL/dy             (dy/db2 = 1)")
    r.say(_block("dL/db2", dL_db2))
    r.check("dL/db2", dL_db2, params[id(net.layers[2])]["Biases"].grad, tol)
    r.say("           dL/da1 = W2^T dL/dy        (dy/da1 = W2; passed down to layer 2)")
    r.say(_block("dL/da1", dL_da1))
    r.check("dL/da1", dL_da1, hidden[2].grad[0], tol)

    da1_dz1 = a1 * (1.0 - a1)
    dL_dz1 = dL_da1 * da1_dz1
    r.say("  layer 2 (LogisticSigmoid), a1 = sigmoid(z1), elementwise, no arrays of its own:")
    r.say("           da1/dz1 = sigmoid(z1) (1 - sigmoid(z1)) = a1 (1 - a1)")
    r.say(_block("da1/dz1", da1_dz1))
    r.say("           dL/dz1 = dL/da1 * da1/dz1  (elementwise product)")
    r.say(_block("dL/dz1", dL_dz1))
    r.check("dL/dz1", dL_dz1, hidden[1].grad[0], tol)

    dL_dW1 = np.outer(dL_dz1, x)
    dL_db1 = dL_dz1
    dL_dx = W1.T @ dL_dz1
    r.say("  layer 1 (LinearLayer[3]), z1 = W1 x + b1:")
    r.say("           dL/dW1 = dL/dz1 x^T        (shapes (3,) x (2,) -> (3, 2); x2 = 0 gives 0s)")
    r.say(_block("dL/dW1", dL_dW1))
    r.check("dL/dW1", dL_dW1, params[id(net.layers[0])]["Weights"].grad, tol)
    r.say("           dL/db1 = dL/dz1")
    r.say(_block("dL/db1", dL_db1))
    r.check("dL/db1", dL_db1, params[id(net.layers[0])]["Biases"].grad, tol)
    r.say("           dL/dx  = W1^T dL/dz1       (what a layer before this one would get)")
    r.say(_block("dL/dx ", dL_dx))
    r.check("dL/dx", dL_dx, hidden[0].grad[0], tol)

    # ---- the update
    lr = 0.5
    W1n, b1n = W1 - lr * dL_dW1, b1 - lr * dL_db1
    W2n, b2n = W2 - lr * dL_dW2, b2 - lr * dL_db2
    r.say("")
    r.say(
        f"Weight update, one step of gradient descent with learning rate {lr}: w <- w - {lr} dL/dw"
    )
    r.say(_block("W1", W1n, 2) + "\n" + _block("b1", b1n, 2))
    r.say(_block("W2", W2n, 2) + "\n" + _block("b2", b2n, 2))
    a1n = 1.0 / (1.0 + np.exp(-(W1n @ x + b1n)))
    Ln = float(((W2n @ a1n + b2n - t) ** 2).mean())
    r.say(f"  the loss falls from {L:.12f} to {Ln:.12f}")
    stepped = NetTrain(
        net,
        {tuple(x): float(t[0])},
        method="SGD",
        learning_rate=lr,
        batch_size=1,
        max_training_rounds=1,
        training_progress_reporting=None,
    )
    r.say("  NetTrain(net, {(1, 0): 1}, method='SGD', learning_rate=0.5, batch_size=1,")
    r.say("           max_training_rounds=1) takes the same step:")
    for k, (Wn, bn) in ((1, (W1n, b1n)), (3, (W2n, b2n))):
        layer = stepped.layers[k - 1]
        r.check(f"W{1 if k == 1 else 2} after NetTrain's step", Wn, layer.arrays["Weights"], tol)
        r.check(f"b{1 if k == 1 else 2} after NetTrain's step", bn, layer.arrays["Biases"], tol)
    r.check("loss after the step", Ln, float(((np.asarray(stepped(x)) - t) ** 2).mean()), tol)
    r.require("the loss fell", Ln < L)
    r.picture(
        NetPlot(net, units=True, title="the 2-3-1 net of step 5, before the update"),
        "backprop-net",
        "The net of the backpropagation example: 2 inputs, 3 sigmoid units, 1 output; "
        "lines are weights (blue positive, red negative, thicker for larger).",
    )


# ---------------------------------------------------------------------------- step 6


def _step_digits(r: _Recorder) -> None:
    from netchain import NetChain, NetTrain
    from netchain.datasets.tasks import load_task
    from netchain.models import MODELS
    from netchain.plot import ConfusionMatrixPlot, FeatureSpacePlot, NetPlot

    entry = MODELS["mlp"]
    task = load_task("digits", entry.input_form)
    options = dict(entry.defaults["digits"])
    net = entry.build(task.X_train.shape[1:], task.labels)
    r.say(f"data: {task.description}")
    r.say(
        f"      {len(task.X_train)} training and {len(task.X_test)} test examples of shape "
        f"{task.X_train.shape[1:]}"
    )
    r.say("net (netchain.models.mlp, what `netchain train` trains):")
    r.say("\n".join("  " + line for line in net.table().split("\n")))
    opts = ", ".join(f"{k}={v}" for k, v in options.items())
    r.say(f"NetTrain(net, data, 'All', {opts}, random_seed=1234)")
    results = NetTrain(
        net,
        (task.X_train, task.y_train),
        "All",
        random_seed=1234,
        training_progress_reporting=None,
        **options,
    )
    trained = results.trained_net
    losses = results.round_losses
    for k in sorted({1, 2, 5, 10, 20, len(losses)}):
        if k <= len(losses):
            r.say(f"  round {k:3d}: training loss {losses[k - 1]:.4f}")
    pred = np.asarray(trained(task.X_test))
    acc = float(np.mean(pred == task.y_test))
    r.say(
        f"  {results.rounds} rounds in {results.total_time:.2f} s; test accuracy {acc:.4f} "
        f"({int(np.sum(pred == task.y_test))} of {len(task.y_test)})"
    )
    r.require("test accuracy at least 0.95", acc >= 0.95)
    r.require("the loss fell tenfold", losses[-1] <= losses[0] / 10)
    r.picture(
        results.loss_plot(title="MLP on the UCI digits: training loss per round"),
        "loss",
        f"The training loss (cross-entropy) of the MLP on the digits, round by round "
        f"({results.rounds} rounds of ADAM).",
    )
    r.picture(
        NetPlot(trained, title="netchain.models.mlp"),
        "mlp",
        "The MLP's layers with their output shapes and parameter counts.",
    )
    r.picture(
        ConfusionMatrixPlot(task.y_test, pred, labels=task.labels),
        "confusion",
        f"Test-set confusion matrix: rows are the true digits, columns the predictions "
        f"(accuracy {acc:.3f}).",
    )
    hidden = NetChain(trained.layers[:2])(task.X_test)  # after LinearLayer(128) and Ramp
    centred = hidden - hidden.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    r.picture(
        FeatureSpacePlot(
            centred @ vt[:2].T,
            task.y_test,
            title="hidden layer (128 units), first two principal components",
        ),
        "hidden-features",
        "The test digits in the net's hidden layer, projected on its two principal "
        "components: the classes the net separates already gather there.",
    )


STEPS: list[tuple[str, Callable[[_Recorder], None]]] = [
    ("An artificial neuron and a linear layer", _step_neuron),
    ("Gradients, critical points and gradient descent on x^2 + y^2", _step_calculus),
    ("XOR: why a net needs a nonlinearity", _step_xor),
    ("Activation functions and their derivatives", _step_activations),
    ("Backpropagation by hand", _step_backprop),
    ("Training an MLP on the digits", _step_digits),
]


def run_tour(
    out: str | Path = "netchain-tour", *, echo: Callable[[str], Any] = print
) -> list[Step]:
    """Replay the course: run the six steps, print them, write the pictures and index.html.

    Parameters
    ----------
    out : str or path, default "netchain-tour"
        The folder for the pictures and ``index.html`` (created if needed).
    echo : callable, default print
        Where printed lines go.

    Returns
    -------
    list of Step
        What each step printed, drew and checked (see :attr:`Check.ok`).
    """
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    steps = []
    for number, (title, run) in enumerate(STEPS, start=1):
        step = Step(number, title)
        heading = f"Step {number}. {title}"
        echo("")
        echo(heading)
        echo("=" * len(heading))
        start = time.perf_counter()
        run(_Recorder(step, folder, echo))
        step.seconds = time.perf_counter() - start
        steps.append(step)
    write_index(folder, steps)
    return steps


def write_index(folder: Path, steps: list[Step]) -> Path:
    """Write ``index.html``: the steps in order, their text and their pictures with captions."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>netchain: the course tour</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;"
        "color:#222}pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:13px}"
        "figure{margin:1.5em 0}img{max-width:100%;border:1px solid #ddd}"
        "figcaption{color:#555;font-size:14px;margin-top:.3em}.fail{color:#b00}</style>",
        "</head><body>",
        "<h1>netchain: the course tour</h1>",
        "<p>Produced by <code>netchain tour</code>: the foundations of neural networks in six "
        "steps, each with what it printed and the pictures it drew.</p>",
    ]
    for step in steps:
        failed = [c for c in step.checks if not c.ok]
        parts.append(
            f'<h2 id="step{step.number}">Step {step.number}. {html.escape(step.title)}</h2>'
        )
        parts.append("<pre>" + html.escape("\n".join(step.lines)) + "</pre>")
        for pic in step.pictures:
            parts.append(
                f'<figure><img src="{html.escape(pic.file)}" alt="{html.escape(pic.caption)}">'
                f"<figcaption>{html.escape(pic.caption)}</figcaption></figure>"
            )
        verdict = (
            f"all {len(step.checks)} checks hold"
            if not failed
            else f'<span class="fail">{len(failed)} of {len(step.checks)} checks failed</span>'
        )
        parts.append(f"<p><small>{verdict}; {step.seconds:.1f} s</small></p>")
    parts.append("</body></html>")
    path = folder / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
