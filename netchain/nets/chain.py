"""``NetChain``: layers applied one after another, with the Wolfram Language's shorthand."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from netchain import backend
from netchain.autodiff import Tensor, constant, no_grad
from netchain.backend import xp
from netchain.layers import (
    ELEMENTWISE_FUNCTIONS,
    Context,
    ElementwiseFunction,
    ElementwiseLayer,
    Layer,
    LinearLayer,
    ShapeError,
    format_shape,
    shape_argument,
)
from netchain.layers.structural import (
    pad_sequences,
    propagate_lengths,
    sequence_lengths,
    set_sequence_lengths,
)
from netchain.nets.decoders import NetDecoder

__all__ = ["NetChain", "as_layer", "leaf_layers", "shape_fits"]

EVAL_CHUNK = 4096


def as_layer(item: Any, where: str) -> Layer:
    """Turn a NetChain element into a layer (a copy), applying the Wolfram shorthand.

    An int n is ``LinearLayer(n)``; ``Ramp``, ``Tanh``, ``LogisticSigmoid`` and the names of
    elementwise functions are ``ElementwiseLayer``s; a layer or net is copied.
    """
    if isinstance(item, Layer):
        return item.copy()
    if isinstance(item, numbers.Integral) and not isinstance(item, bool):
        return LinearLayer(int(item))
    if isinstance(item, ElementwiseFunction):
        return ElementwiseLayer(item)
    if isinstance(item, str) and item in ELEMENTWISE_FUNCTIONS:
        return ElementwiseLayer(item)
    raise TypeError(
        f"{where}: expected a layer, an int (LinearLayer size), Ramp / Tanh / LogisticSigmoid or "
        f"an elementwise function name, got {item!r}"
    )


def leaf_layers(
    layer: Layer, prefix: tuple[Any, ...] = ()
) -> Iterator[tuple[tuple[Any, ...], Layer]]:
    """Every non-container layer inside ``layer`` with its path of names."""
    children = getattr(layer, "children", None)
    if children is None:
        yield prefix, layer
        return
    for name, child in children():
        yield from leaf_layers(child, (*prefix, name))


def shape_fits(shape: Any, example: tuple[int, ...]) -> bool:
    """Whether an example shape fits a port shape whose None axes take any length."""
    return len(shape) == len(example) and all(s is None or s == e for s, e in zip(shape, example))


def _ragged(x: Any, rank: int) -> bool:
    """Whether ``x`` is a list of sequences of different lengths (for a port of rank ``rank``)."""
    if not isinstance(x, list | tuple) or not x or rank < 1:
        return False
    try:
        shapes = {xp.shape(v) for v in x}
    except (TypeError, ValueError):
        return False
    return len(shapes) > 1 and all(len(s) == rank for s in shapes)


class _Container(Layer):
    """What every layer made of layers shares (NetChain, NetGraph, the net operators):
    counts and the dtype over its leaf layers, found through ``children()``."""

    def children(self) -> list[tuple[Any, Layer]]:
        raise NotImplementedError

    def uninitialized(self) -> list[str]:
        return [
            "/".join(map(str, (*path, n)))
            for path, layer in leaf_layers(self)
            for n in layer.uninitialized()
        ]

    def parameter_count(self) -> int:
        return sum(layer.parameter_count() for _, layer in leaf_layers(self))

    @property
    def dtype(self) -> Any:
        """The dtype of the net's arrays (float32 unless initialised otherwise)."""
        for _, layer in leaf_layers(self):
            for a in layer.arrays.values():
                if a is not None:
                    return a.dtype
        return backend.default_float()

    def _check_initialized(self) -> None:
        """Raise a ValueError naming the first arrays that have no value yet, if any."""
        missing = self.uninitialized()
        if missing:
            raise ValueError(
                f"the net has uninitialized arrays ({', '.join(missing[:3])}"
                f"{', ...' if len(missing) > 3 else ''}); use NetInitialize(net) or NetTrain"
            )


class _LayerList(_Container):
    """A container of a list of layers, named (``named``, ``names``) or by position: NetChain
    and NetGraph."""

    layers: list[Layer]
    names: list[Any]
    named: bool

    def children(self) -> list[tuple[Any, Layer]]:
        """(name, layer) pairs: positions from 1 for a list, names for a dict."""
        if self.named:
            return list(zip(self.names, self.layers))
        return [(i + 1, layer) for i, layer in enumerate(self.layers)]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def copy(self) -> _LayerList:
        new = super().copy()
        new.layers = [layer.copy() for layer in self.layers]
        new.names = list(self.names)
        return new

    def _table_lines(self, kind: str, rows: list[tuple[str, ...]], extra: str = "") -> list[str]:
        """The layer table: a title, the header and ``rows`` (the first rows) followed by one
        row per layer (position, layer, output shape, parameter count), in columns."""
        rows = list(rows)
        for i, layer in enumerate(self.layers):
            label = layer.summary()
            if self.named:
                label = f"{self.names[i]}: {label}"
            count = layer.parameter_count()
            rows.append(
                (
                    str(i + 1),
                    label,
                    format_shape(layer.output_shapes[0]) if layer.output_shapes else "",
                    str(count) if count else "",
                )
            )
        head = ("#", "layer", "output shape", "parameters")
        widths = [max(len(r[k]) for r in [*rows, head]) for k in range(4)]
        lines = [
            f"{kind} ({len(self.layers)} layers, {self.parameter_count()} parameters"
            + (", uninitialized" if self.uninitialized() else "")
            + extra
            + ")"
        ]
        for r in [head, *rows]:
            lines.append(
                "  "
                + "  ".join(
                    c.ljust(w) if k != 3 else c.rjust(w) for k, (c, w) in enumerate(zip(r, widths))
                )
            )
        return lines

    def __repr__(self) -> str:
        return self.table()

    def table(self) -> str:
        raise NotImplementedError


def _one_or_batch(X: Any, shape: Any) -> tuple[Any, bool] | None:
    """``(batch, True)`` for one example of ``shape`` (made a batch of one), ``(X, False)`` for
    a batch of them, None when ``X`` is neither."""
    if X.ndim == len(shape) and shape_fits(shape, tuple(X.shape)):
        return X[None], True
    if X.ndim == len(shape) + 1 and shape_fits(shape, tuple(X.shape[1:])):
        return X, False
    return None


class NetChain(_LayerList):
    """A chain of layers, each feeding the next.

    Parameters
    ----------
    layers : sequence or mapping
        The layers in order (a mapping gives them names). Shorthand as in the Wolfram
        Language: an int n is ``LinearLayer(n)``; ``Ramp``, ``Tanh``, ``LogisticSigmoid`` (or
        names such as "ReLU", "GELU") are ``ElementwiseLayer``s. Layers are copied.
    input : int or tuple of int, optional
        The shape of one input example (otherwise taken from the first layer, or from the data
        at training time).
    output : NetDecoder or "Scalar", optional
        How outputs are returned: ``NetDecoder("Class", labels)`` turns probabilities into
        labels; "Scalar" gives a length-1 output as a number.

    Raises
    ------
    ValueError
        When shapes do not fit, naming the layer position, the port and both shapes.
    TypeError
        For an element that is not a layer.

    Examples
    --------
    >>> from netchain import NetChain, LinearLayer, Ramp
    >>> net = NetChain([LinearLayer(16), Ramp, 1], input=2)
    """

    def __init__(
        self,
        layers: Sequence[Any] | Mapping[str, Any],
        input: Any = None,
        output: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(layers, Mapping):
            items = [(str(k), v) for k, v in layers.items()]
        elif isinstance(layers, Sequence) and not isinstance(layers, str):
            items = [(str(i + 1), v) for i, v in enumerate(layers)]
        else:
            raise TypeError(f"NetChain needs a list or dict of layers, got {type(layers).__name__}")
        if not items:
            raise ValueError("NetChain needs at least one layer")
        self.names = [k for k, _ in items]
        if len(set(self.names)) != len(self.names):
            raise ValueError("NetChain layer names must be distinct")
        self.layers: list[Layer] = [
            as_layer(v, f"NetChain element {i + 1}") for i, (_, v) in enumerate(items)
        ]
        self.named = isinstance(layers, Mapping)
        self.input = shape_argument(input, "NetChain input")
        if isinstance(output, str):
            if output != "Scalar":
                raise ValueError(
                    f"NetChain output must be a NetDecoder or 'Scalar', got {output!r}"
                )
            output = NetDecoder("Scalar")
        if output is not None and not isinstance(output, NetDecoder):
            raise TypeError(f"NetChain output must be a NetDecoder, got {output!r}")
        self.decoder = output
        self._infer(self.input)

    # ------------------------------------------------------------------ structure

    def _where(self, i: int) -> str:
        label = f"{self.layers[i].name} at position {i + 1}"
        if self.named:
            label += f" ({self.names[i]!r})"
        return label

    def declared_input_shapes(self) -> list[Any]:
        return [self.input]

    def default_input_shapes(self) -> list[Any]:
        if self.input is not None:
            return [self.input]
        return self.layers[0].default_input_shapes()[:1]

    def _infer(self, input_shape: Any) -> None:
        shape = input_shape
        if shape is None:
            shape = self.default_input_shapes()[0]
        self.bind([shape], "NetChain")

    def bind(self, input_shapes: list[Any], where: str) -> list[Any]:
        shape = input_shapes[0]
        if shape is not None and self.input is not None and tuple(shape) != self.input:
            raise ShapeError(
                f"{where}: port 'Input' expects shape {format_shape(self.input)}, "
                f"got {format_shape(shape)}"
            )
        self.input_shapes = [None if shape is None else tuple(shape)]
        for i, layer in enumerate(self.layers):
            if layer.input_ports != ("Input",) or len(layer.output_ports) != 1:
                raise ShapeError(
                    f"{self._where(i)}: a NetChain needs layers with one input and one output, "
                    f"this one has ports {layer.input_ports} -> {layer.output_ports}"
                )
            own = layer.default_input_shapes()[0]
            if shape is None and own is not None and i == 0:
                shape = own
            shape = layer.bind([shape], self._where(i))[0]
        self.output_shapes = [shape]
        if self.decoder is not None and shape is not None:
            size = self.decoder.size
            if len(shape) != 1 or shape[0] != size:
                raise ShapeError(
                    f"NetChain: the output decoder {self.decoder!r} needs an output vector of "
                    f"length {size}, but the last layer gives {format_shape(shape)}"
                )
        return self.output_shapes

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The shape of one input example, once known."""
        return self.input_shapes[0]

    @property
    def output_shape(self) -> tuple[int, ...] | None:
        """The shape of one output example, once known."""
        return self.output_shapes[0]

    def config(self) -> dict[str, Any]:
        raise NotImplementedError("NetChain is serialised by netchain.nets.io")

    # ------------------------------------------------------------------ computation
    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return self.run(inputs[0], ctx)

    def run(self, x: Tensor, ctx: Context, drop_final: bool = False) -> Tensor:
        """Apply the layers to a batch; ``drop_final`` leaves out the innermost last layer."""
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            if drop_final and i == last:
                if isinstance(layer, NetChain):
                    return layer.run(x, ctx, drop_final=True)
                return x
            if isinstance(layer, NetChain):
                x = layer.run(x, ctx)
            elif ctx.lengths and not getattr(layer, "sequence_aware", False):
                y = layer.forward(arrays_for(layer, ctx), [x], ctx)
                propagate_lengths(ctx, layer, [x], y)
                x = y
            else:
                x = layer.forward(arrays_for(layer, ctx), [x], ctx)
        return x

    def final_layer(self) -> Layer:
        """The innermost last layer (what NetTrain looks at to choose the loss)."""
        last = self.layers[-1]
        return last.final_layer() if isinstance(last, NetChain) else last

    def prepare_input(self, x: Any, name: str = "input") -> tuple[Any, bool]:
        """Validate an input: returns (batch array in the net's dtype, whether it was one example).

        Raises
        ------
        ValueError
            For an uninitialised net, ragged lists, NaN or infinity, or a wrong shape.
        """
        X, single, _ = self.prepare_batch(x, name)
        return X, single

    def prepare_batch(self, x: Any, name: str = "input") -> tuple[Any, bool, Any]:
        """As :meth:`prepare_input`, also accepting a list of sequences of different lengths
        (padded into one batch): returns (batch, whether it was one example, lengths or None)."""
        self._check_initialized()
        shape = self.input_shape
        if shape and (shape[0] is None or len(shape) >= 2) and _ragged(x, len(shape)):
            steps = shape[0]
            X, lengths = pad_sequences(x, steps, self.dtype, name)
        else:
            X, lengths = backend.as_float_array(x, self.dtype, name=name), None
        batch = _one_or_batch(X, shape)
        if batch is None:
            raise ValueError(
                f"{name}: the net's port 'Input' expects one example of shape {format_shape(shape)} "
                f"or a batch of shape (N, {', '.join(map(str, shape))}), got shape {tuple(X.shape)}"
            )
        X, single = batch
        if X.shape[0] == 0:
            raise ValueError(f"{name}: empty batch")
        if not bool(xp.all(xp.isfinite(X))):
            raise ValueError(f"{name} contains NaN or infinity")
        return X, single, lengths

    def evaluate(self, X: Any, ctx: Context | None = None) -> Any:
        """Outputs for a validated batch (no gradients), evaluated in chunks."""
        ctx = ctx or Context(training=False)
        outs = []
        with no_grad():
            for start in range(0, X.shape[0], EVAL_CHUNK):
                outs.append(self.run(constant(X[start : start + EVAL_CHUNK]), ctx).data)
        return outs[0] if len(outs) == 1 else xp.concatenate(outs)

    def _evaluate_ragged(self, X: Any, lengths: Any, prop: Any) -> Any:
        """Outputs for a padded batch of sequences: one array per sequence, cut to its length
        when the output is still a sequence."""
        outs, out_lengths = [], []
        with no_grad():
            for start in range(0, X.shape[0], EVAL_CHUNK):
                ctx = Context(training=False)
                xt = constant(X[start : start + EVAL_CHUNK])
                set_sequence_lengths(ctx, xt, lengths[start : start + EVAL_CHUNK])
                y = self.run(xt, ctx)
                outs.append(y.data)
                out_lengths.append(sequence_lengths(ctx, y))
        out = outs[0] if len(outs) == 1 else xp.concatenate(outs)
        if self.decoder is not None:
            return self.decoder.decode(out, prop, False)
        if prop not in (None, "Decision"):
            raise ValueError(f"property {prop!r} needs an output decoder (NetDecoder)")
        out = backend.to_numpy(out)
        if any(L is None for L in out_lengths):
            return out
        L = backend.to_numpy(xp.concatenate(out_lengths))
        return [out[k, : int(n)] for k, n in enumerate(L)]

    def __call__(self, x: Any, prop: Any = None) -> Any:
        """Apply the net to one example or a batch.

        Parameters
        ----------
        x : array_like
            One example of the input shape, or a batch with a leading batch axis. Integer and
            uint8 data are cast to floating point. For a net on sequences, a list of sequences
            of different lengths is padded into one batch and each gives what it gives alone
            (outputs that are still sequences come back as a list, each cut to its length).
        prop : str or NetPort, optional
            With a class decoder: "Decision" (default), "Probabilities" (a dict from label to
            probability) or "TopProbabilities". A ``NetPort((layer, port))`` gives the values
            of that port of an inner layer instead (e.g. ``NetPort((2, "Output"))``).

        Returns
        -------
        ndarray, number, label, or dict
            The output (a NumPy array; the batch axis is dropped for one example), decoded when
            the net has an output decoder.
        """
        if prop is not None and not isinstance(prop, str):
            from netchain.nets.graph import evaluate_port

            return evaluate_port(self, x, prop)
        X, single, lengths = self.prepare_batch(x)
        if lengths is not None:
            return self._evaluate_ragged(X, lengths, prop)
        out = self.evaluate(X)
        if self.decoder is not None:
            return self.decoder.decode(out, prop, single)
        if prop not in (None, "Decision"):
            raise ValueError(f"property {prop!r} needs an output decoder (NetDecoder)")
        out = backend.to_numpy(out)
        return out[0] if single else out

    # ------------------------------------------------------------------ display
    def table(self) -> str:
        """The layer table: position, layer, output shape and parameter count."""
        rows = [("", "Input", format_shape(self.input_shape), "")]
        return "\n".join(self._table_lines("NetChain", rows))

    def summary(self) -> str:
        return f"NetChain[{len(self.layers)} layers]"


def arrays_for(layer: Layer, ctx: Context) -> dict[str, Tensor]:
    """The arrays a layer computes with: the trainer's Tensors, or constants of its arrays."""
    params = getattr(ctx, "params", None)
    if params is not None:
        found = params.get(id(layer))
        if found is not None:
            return found
    return {n: constant(a) for n, a in layer.arrays.items() if a is not None}
