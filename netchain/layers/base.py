"""What every layer shares: ports, shape inference, arrays, initialisation, serialisation.

A layer is a specification (its constructor arguments) plus arrays (weights, biases, moving
statistics). Shapes are per example, without the batch axis: a layer taking vectors of length
5 has the input shape ``(5,)`` and works on batches of shape ``(N, 5)``. A layer's forward
computation is written with :mod:`netchain.autodiff` operations and never has a backward of
its own.

Writing a layer
---------------
Subclass :class:`Layer`, set ``array_names`` (trainable arrays, in order) and optionally
``state_names`` (arrays updated during training but not by gradients), and implement:

- ``config()``: the constructor arguments as JSON-compatible values (no arrays);
- ``infer(input_shapes)``: the output shapes for the given input shapes, raising
  :class:`ShapeError` on a mismatch, and setting ``self.array_shapes``;
- ``forward(arrays, inputs, ctx)``: the computation on batched Tensors.

Every subclass is registered by its class name, which is how a saved net names it; loading
only ever instantiates registered classes.
"""

from __future__ import annotations

import copy
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, ClassVar

from netchain import backend
from netchain.autodiff import Tensor
from netchain.backend import xp

__all__ = ["LAYER_TYPES", "Context", "Layer", "ShapeError", "format_shape", "shape_argument"]

#: Registered layer classes by name (what a saved net may instantiate).
LAYER_TYPES: dict[str, type[Layer]] = {}

Shape = tuple[int | None, ...]


class ShapeError(ValueError):
    """A shape that does not fit a layer's port."""


def format_shape(shape: Any) -> str:
    """A shape as a string: ``(3,)``, ``()``, or ``unknown``."""
    if shape is None:
        return "unknown"
    return (
        "("
        + ", ".join("T" if s is None else str(s) for s in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def shape_argument(value: Any, name: str) -> Shape | None:
    """Validate a size or shape argument: None, a positive int n (meaning ``(n,)``) or a tuple
    of positive ints, where "Varying" (or None) marks a sequence axis whose length may change
    from batch to batch (stored as None).

    Raises
    ------
    ValueError
        Naming the argument, for anything else.
    """
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1:
        return (int(value),)
    if isinstance(value, str) and value == "Varying":
        return (None,)
    if isinstance(value, tuple | list) and all(
        (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1)
        or v is None
        or v == "Varying"
        for v in value
    ):
        return tuple(None if v is None or v == "Varying" else int(v) for v in value)
    raise ValueError(
        f"{name} must be a positive int or a tuple of positive ints (or 'Varying' for a "
        f"sequence axis), got {value!r}"
    )


@dataclass
class Context:
    """What a forward pass needs to know besides its inputs.

    Attributes
    ----------
    training : bool
        True while training: dropout drops, batch normalisation uses batch statistics.
    rng : numpy.random.Generator or None
        The generator for stochastic layers in training.
    updates : dict
        Where layers put new values of their state arrays (moving statistics) during training,
        keyed by ``(id(layer), array name)``.
    params : dict or None
        The Tensors to compute with, keyed by ``id(layer)`` (set by the trainer); layers not
        found there compute with constants of their own arrays.
    lengths : dict
        Real lengths of padded sequence batches, keyed by ``id(tensor)`` with values
        ``(tensor, lengths)`` (see :mod:`netchain.layers.structural`); empty when every
        sequence has its full length.
    """

    training: bool = False
    rng: Any = None
    updates: dict = field(default_factory=dict)
    params: dict | None = None
    lengths: dict = field(default_factory=dict)


class Layer:
    """Base class of all layers (see the module docstring for how to write one)."""

    input_ports: ClassVar[tuple[str, ...]] = ("Input",)
    output_ports: ClassVar[tuple[str, ...]] = ("Output",)
    array_names: ClassVar[tuple[str, ...]] = ()
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("_"):
            LAYER_TYPES[cls.__name__] = cls

    def __init__(self) -> None:
        self.arrays: dict[str, Any] = {n: None for n in (*self.array_names, *self.state_names)}
        self.array_shapes: dict[str, Shape] = {}
        self.input_shapes: list[Shape | None] = [None] * len(self.input_ports)
        self.output_shapes: list[Shape | None] = [None] * len(self.output_ports)
        self.disabled: set[str] = set()

    # ------------------------------------------------------------------ to override
    def config(self) -> dict[str, Any]:
        """Constructor arguments as JSON-compatible values."""
        return {}

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Layer:
        """Rebuild a layer from :meth:`config` (arrays are set separately)."""
        return cls(**cfg)

    def declared_input_shapes(self) -> list[Shape | None]:
        """Input shapes known from the layer's own arguments (``input=``, given weights)."""
        return [None] * len(self.input_ports)

    def default_input_shapes(self) -> list[Shape | None]:
        """Input shapes to assume when nothing else says (a net guessing its input shape);
        by default the declared ones."""
        return self.declared_input_shapes()

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        """Output shapes for the given input shapes; sets ``self.array_shapes``."""
        return list(input_shapes)

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Any:
        """The computation on batched Tensors; returns a Tensor or a list (one per port)."""
        raise NotImplementedError

    def fan(self, name: str) -> tuple[int, int]:
        """(fan_in, fan_out) of an array, for Kaiming and Xavier initialisation."""
        shape = self.array_shapes[name]
        if len(shape) < 2:
            return (shape[0] if shape else 1, shape[0] if shape else 1)
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive

    def initial_array(self, name: str, rng: Any, method: str, dtype: Any) -> Any:
        """A fresh value for an array: weights by ``method``, biases and state at zero."""
        shape = self.array_shapes[name]
        if name in self.array_names and len(shape) >= 2:
            fan_in, fan_out = self.fan(name)
            if method == "Kaiming":
                values = rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)
            elif method == "Xavier":
                limit = math.sqrt(6.0 / (fan_in + fan_out))
                values = rng.uniform(-limit, limit, shape)
            else:
                raise ValueError(f"method must be 'Kaiming' or 'Xavier', got {method!r}")
            return xp.asarray(values, dtype=dtype)
        return xp.zeros(shape, dtype=dtype)

    # ------------------------------------------------------------------ shared machinery
    @property
    def name(self) -> str:
        return type(self).__name__

    def bind(self, input_shapes: list[Shape | None], where: str) -> list[Shape | None]:
        """Infer and store shapes; ``where`` names the layer in error messages."""
        if any(s is None for s in input_shapes):
            self.input_shapes = list(input_shapes)
            self.output_shapes = [None] * len(self.output_ports)
            return self.output_shapes
        declared = self.declared_input_shapes()
        for port, want, got in zip(self.input_ports, declared, input_shapes):
            if want is not None and tuple(want) != tuple(got):
                raise ShapeError(
                    f"{where}: port {port!r} expects shape {format_shape(want)}, "
                    f"got {format_shape(got)}"
                )
        try:
            out = self.infer([tuple(s) for s in input_shapes])
        except ShapeError as exc:
            raise ShapeError(f"{where}: {exc}") from None
        for n, arr in self.arrays.items():
            want = self.array_shapes.get(n)
            if arr is not None and want is not None and tuple(arr.shape) != tuple(want):
                raise ShapeError(
                    f"{where}: array {n!r} has shape {format_shape(arr.shape)} but inputs of shape "
                    f"{format_shape(input_shapes[0])} need {format_shape(want)}"
                )
        self.input_shapes = [tuple(s) for s in input_shapes]
        self.output_shapes = [tuple(s) for s in out]
        return self.output_shapes

    def uninitialized(self) -> list[str]:
        """Names of arrays that have no value yet."""
        return [n for n, a in self.arrays.items() if a is None and n not in self.disabled]

    def parameter_count(self) -> int:
        """Number of trainable elements (known arrays or known shapes)."""
        total = 0
        for n in self.array_names:
            if n in self.disabled:
                continue
            a = self.arrays.get(n)
            if a is not None:
                total += int(a.size)
            elif n in self.array_shapes:
                total += math.prod(self.array_shapes[n])
        return total

    def copy(self) -> Layer:
        """A copy with its own arrays."""
        new = copy.copy(self)
        new.arrays = {k: (None if v is None else v.copy()) for k, v in self.arrays.items()}
        new.array_shapes = dict(self.array_shapes)
        new.input_shapes = list(self.input_shapes)
        new.output_shapes = list(self.output_shapes)
        new.disabled = set(self.disabled)
        return new

    def set_array(self, name: str, value: Any, dtype: Any = None) -> None:
        """Validate and store a given array (``weights=``, ``biases=``, a loaded file)."""
        a = backend.as_float_array(value, dtype, name=f"{self.name} {name}")
        if a.dtype not in (xp.float32, xp.float64):
            a = a.astype(xp.float32)
        if not bool(xp.all(xp.isfinite(a))):
            raise ValueError(f"{self.name}: array {name!r} contains NaN or infinity")
        self.arrays[name] = xp.ascontiguousarray(a)

    def summary(self) -> str:
        """One line describing the layer, as shown in a net's table."""
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if v is not None)
        return f"{self.name}[{args}]" if args else self.name

    def __repr__(self) -> str:
        shape = self.output_shapes[0] if self.output_shapes else None
        return f"{self.summary()} -> {format_shape(shape)}"
