"""The first layers: LinearLayer, ElementwiseLayer (Ramp, Tanh, LogisticSigmoid ...),
SoftmaxLayer and DropoutLayer."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.backend import xp
from netchain.layers.base import Context, Layer, Shape, ShapeError, format_shape, shape_argument

__all__ = [
    "ELEMENTWISE_FUNCTIONS",
    "DropoutLayer",
    "ElementwiseFunction",
    "ElementwiseLayer",
    "LinearLayer",
    "LogisticSigmoid",
    "Ramp",
    "SoftmaxLayer",
    "Tanh",
]


class LinearLayer(Layer):
    """A fully connected layer y = W x + b.

    Parameters
    ----------
    n : int, optional
        The output size. May be omitted when ``weights`` are given.
    weights : array_like of shape (n, m), optional
        Fixed initial weights; otherwise initialised by NetInitialize / NetTrain.
    biases : array_like of shape (n,), None or False, optional
        Initial biases (None: zeros at initialisation; False: no biases).
    input : int or tuple, optional
        The input size m (or shape; inputs of rank > 1 are flattened, as in the Wolfram
        Language's LinearLayer).

    Notes
    -----
    Arrays: "Weights" of shape (n, m) and "Biases" of shape (n,). Inputs of shape (N, m) give
    outputs of shape (N, n); the computation is one fused matrix product plus bias
    (:func:`netchain.autodiff.linear`).

    Raises
    ------
    ValueError
        For a non-positive size, weights that are not 2-D, or biases that do not match.
    """

    array_names = ("Weights", "Biases")

    def __init__(
        self, n: int | None = None, weights: Any = None, biases: Any = None, input: Any = None
    ) -> None:
        super().__init__()
        if n is not None:
            n = shape_argument(n, "LinearLayer n")
            if len(n) != 1:
                raise ValueError(f"LinearLayer n must be an int, got {n}")
            n = n[0]
        self.input = shape_argument(input, "LinearLayer input")
        if weights is not None:
            self.set_array("Weights", weights)
            W = self.arrays["Weights"]
            if W.ndim != 2:
                raise ValueError(f"LinearLayer weights must be 2-D (n, m), got shape {W.shape}")
            if n is not None and W.shape[0] != n:
                raise ValueError(f"LinearLayer weights have {W.shape[0]} rows but n = {n}")
            n = W.shape[0]
            if self.input is not None and math.prod(self.input) != W.shape[1]:
                raise ValueError(
                    f"LinearLayer weights have {W.shape[1]} columns but input is {self.input}"
                )
        if n is None:
            raise ValueError("LinearLayer needs its output size n (or weights=)")
        self.n = n
        if biases is False:
            self.disabled.add("Biases")
        elif biases is not None:
            self.set_array(
                "Biases", biases, self.arrays["Weights"].dtype if weights is not None else None
            )
            if self.arrays["Biases"].shape != (n,):
                raise ValueError(
                    f"LinearLayer biases must have shape ({n},), got {self.arrays['Biases'].shape}"
                )

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"n": self.n}
        if self.input is not None:
            cfg["input"] = list(self.input)
        if "Biases" in self.disabled:
            cfg["biases"] = False
        return cfg

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> LinearLayer:
        return cls(cfg["n"], biases=cfg.get("biases"), input=cfg.get("input"))

    def declared_input_shapes(self) -> list[Shape | None]:
        return [self.input]

    def default_input_shapes(self) -> list[Shape | None]:
        if self.input is not None:
            return [self.input]
        W = self.arrays.get("Weights")
        return [None if W is None else (int(W.shape[1]),)]

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        if any(s is None for s in shape):
            raise ShapeError(f"port 'Input' needs a fixed shape, got {format_shape(shape)}")
        m = math.prod(shape)
        W = self.arrays.get("Weights")
        if W is not None and W.shape[1] != m and self.input is None:
            raise ShapeError(
                f"port 'Input' expects shape ({W.shape[1]},) (from its weights), got {format_shape(shape)}"
            )
        self.array_shapes = {"Weights": (self.n, m), "Biases": (self.n,)}
        return [(self.n,)]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        (x,) = inputs
        if x.ndim != 2:
            x = x.reshape(x.shape[0], -1)
        return ad.linear(x, arrays["Weights"], arrays.get("Biases"))

    def summary(self) -> str:
        return f"LinearLayer[{self.n}]"


class ElementwiseFunction:
    """A named scalar function for :class:`ElementwiseLayer` (``Ramp``, ``Tanh`` ...).

    Parameters
    ----------
    name : str
        Its name in the Wolfram vocabulary and in saved nets.
    fn : callable
        The autodiff primitive applying it to a Tensor.
    """

    def __init__(self, name: str, fn: Callable[[Tensor], Tensor]) -> None:
        self.name = name
        self.fn = fn

    def __call__(self, x: Any) -> Any:
        """Apply to a Tensor (differentiably) or to numbers (returning an array)."""
        if isinstance(x, Tensor):
            return self.fn(x)
        with ad.no_grad():
            return self.fn(Tensor(x, dtype=xp.float64)).numpy()

    def __repr__(self) -> str:
        return self.name


Ramp = ElementwiseFunction("Ramp", ad.relu)
Ramp.__doc__ = "The ramp (ReLU) max(x, 0)."
Tanh = ElementwiseFunction("Tanh", ad.tanh)
LogisticSigmoid = ElementwiseFunction("LogisticSigmoid", ad.sigmoid)

#: Names accepted by ElementwiseLayer, mapped to their functions.
ELEMENTWISE_FUNCTIONS: dict[str, ElementwiseFunction] = {
    "Ramp": Ramp,
    "ReLU": Ramp,
    "Tanh": Tanh,
    "LogisticSigmoid": LogisticSigmoid,
    "Sigmoid": LogisticSigmoid,
    "ELU": ElementwiseFunction("ELU", ad.elu),
    "SELU": ElementwiseFunction("SELU", ad.selu),
    "GELU": ElementwiseFunction("GELU", ad.gelu),
    "SoftPlus": ElementwiseFunction("SoftPlus", ad.softplus),
}


class ElementwiseLayer(Layer):
    """Applies a function to every element: y = f(x), of any shape.

    Parameters
    ----------
    f : ElementwiseFunction, str or callable
        ``Ramp``, ``Tanh``, ``LogisticSigmoid``, or one of the names "Ramp", "ReLU", "Tanh",
        "LogisticSigmoid", "Sigmoid", "ELU", "SELU", "GELU", "SoftPlus"; or a Python function
        of a Tensor written with netchain operations (such a layer cannot be saved).

    Raises
    ------
    ValueError
        For an unknown name.
    """

    def __init__(self, f: Any) -> None:
        super().__init__()
        if isinstance(f, str):
            if f not in ELEMENTWISE_FUNCTIONS:
                raise ValueError(
                    f"ElementwiseLayer: unknown function {f!r}; known: {sorted(ELEMENTWISE_FUNCTIONS)}"
                )
            f = ELEMENTWISE_FUNCTIONS[f]
        elif not isinstance(f, ElementwiseFunction):
            if not callable(f):
                raise TypeError(f"ElementwiseLayer needs a function or a name, got {f!r}")
            f = ElementwiseFunction(getattr(f, "__name__", "function"), f)
            f.custom = True  # type: ignore[attr-defined]
        self.f = f

    @property
    def function_name(self) -> str:
        return self.f.name

    def config(self) -> dict[str, Any]:
        if getattr(self.f, "custom", False):
            raise ValueError(
                f"ElementwiseLayer with the Python function {self.f.name!r} cannot be saved; "
                "use one of the named functions"
            )
        return {"f": self.f.name}

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ElementwiseLayer:
        return cls(cfg["f"])

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return self.f.fn(inputs[0])

    def summary(self) -> str:
        return f"ElementwiseLayer[{self.f.name}]"


class SoftmaxLayer(Layer):
    """Softmax over the last axis: exp(x) / sum(exp(x)), outputs summing to 1.

    As the last layer of a classifier, NetTrain pairs it with cross-entropy computed from the
    logits it receives (never forming log 0).
    """

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        if len(shape) == 0:
            raise ShapeError("port 'Input' needs at least a vector, got a scalar shape ()")
        return [shape]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> SoftmaxLayer:
        return cls()

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return ad.softmax(inputs[0], axis=-1)


class DropoutLayer(Layer):
    """Sets each element to 0 with probability p in training, scaling the rest by 1 / (1 - p).

    In evaluation it is the identity (inverted dropout; Srivastava et al., 2014).

    Parameters
    ----------
    p : float, default 0.5
        The drop probability, in [0, 1).

    Raises
    ------
    ValueError
        For p outside [0, 1).
    """

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not isinstance(p, numbers.Real) or not 0 <= p < 1:
            raise ValueError(f"DropoutLayer p must be in [0, 1), got {p!r}")
        self.p = float(p)

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> DropoutLayer:
        return cls(cfg["p"])

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        if not ctx.training or self.p == 0:
            return x
        if ctx.rng is None:
            raise RuntimeError("DropoutLayer in training needs a random generator (ctx.rng)")
        keep = ctx.rng.random(x.shape, dtype=xp.float64 if x.dtype == xp.float64 else xp.float32)
        mask = (keep >= self.p).astype(x.dtype)
        mask *= 1.0 / (1.0 - self.p)
        return x * ad.as_tensor(mask)
