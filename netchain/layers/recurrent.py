"""Recurrent layers (BasicRecurrentLayer, LongShortTermMemoryLayer, GatedRecurrentLayer) and
EmbeddingLayer.

A recurrent layer takes sequences of shape (T, F) per example ((N, T, F) in a batch; T may be
None, "varying") and returns the whole output sequence (T, n). Each is one fused primitive of
:mod:`netchain.autodiff.recurrent`, so back-propagation through time costs one tape node per
sequence. Padded batches with real lengths (see :mod:`netchain.layers.structural`) give what
each sequence gives alone.

Ports: "Input" -> "Output" (what a NetChain uses), plus the optional ports "State" (and for
the LSTM "CellState"), both as inputs (the initial state; zeros when not connected) and as
outputs (the state after each sequence's last real step), which a NetGraph connects with
``NetPort(("lstm", "State"))``.

Arrays and gate order are PyTorch's, so that :func:`load_torch_weights` can take a
``torch.nn.LSTM`` / ``GRU`` / ``RNN`` state dict as it is:

============================  ===================================================================
layer                         arrays (gate blocks stacked along the first axis)
============================  ===================================================================
LongShortTermMemoryLayer(n)   "InputWeights" (4n, F), "StateWeights" (4n, n), "Biases" (4n,);
                              gates input i, forget f, candidate ("memory") g, output o
GatedRecurrentLayer(n)        "InputWeights" (3n, F), "StateWeights" (3n, n), "InputBiases" (3n,),
                              "StateBiases" (3n,); gates reset r, update z, candidate n
BasicRecurrentLayer(n)        "InputWeights" (n, F), "StateWeights" (n, n), "Biases" (n,)
============================  ===================================================================

Initialisation (whatever NetInitialize's method, since He and Glorot's variance arguments are
for feed-forward layers): input weights uniform Glorot per gate block, state weights an
orthogonal matrix per gate block (Saxe, McClelland & Ganguli, 2014), biases 0 except the LSTM's
forget gate, 1 (Jozefowicz, Zaremba & Sutskever, 2015).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.backend import blas_threads, xp
from netchain.layers.base import Context, Layer, Shape, ShapeError, format_shape
from netchain.layers.structural import sequence_lengths, set_sequence_lengths

__all__ = [
    "BasicRecurrentLayer",
    "EmbeddingLayer",
    "GatedRecurrentLayer",
    "LongShortTermMemoryLayer",
    "load_torch_weights",
]


def _units(n: Any, layer: str) -> int:
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{layer} needs a positive number of units n, got {n!r}")
    return int(n)


def _sequence_input(value: Any, layer: str) -> Shape | None:
    """``input=``: the feature size F, or a sequence shape (T, F) with T an int or "Varying"."""
    if value is None:
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1:
        return (None, int(value))
    if isinstance(value, tuple | list) and len(value) == 2:
        T, F = value
        T = None if T in (None, "Varying") else T
        ok_T = T is None or (isinstance(T, numbers.Integral) and not isinstance(T, bool) and T >= 1)
        ok_F = isinstance(F, numbers.Integral) and not isinstance(F, bool) and F >= 1
        if ok_T and ok_F:
            return (None if T is None else int(T), int(F))
    raise ValueError(
        f"{layer} input must be the feature size F or a sequence shape (T, F) with T an int or "
        f"'Varying', got {value!r}"
    )


def _orthogonal(n: int, rng: Any) -> Any:
    """A random orthogonal matrix: Q of the QR factorisation of a Gaussian matrix, its columns'
    signs fixed by R's diagonal so that it is uniformly (Haar) distributed (Mezzadri, 2007)."""
    with blas_threads(1):  # a small LAPACK call: a second thread only waits
        q, r = xp.linalg.qr(xp.asarray(rng.standard_normal((n, n))))
    return q * xp.sign(xp.diag(r))


class _Recurrent(Layer):
    """What the three recurrent layers share."""

    gates: ClassVar[int] = 1
    array_names = ("InputWeights", "StateWeights", "Biases")
    state_ports: ClassVar[tuple[str, ...]] = ("State",)
    sequence_aware = True

    def __init__(self, n: int, input: Any = None) -> None:
        super().__init__()
        self.n = _units(n, self.name)
        self.input = _sequence_input(input, self.name)

    # ---- ports beyond Input -> Output (used by NetGraph)
    @property
    def optional_input_ports(self) -> tuple[str, ...]:
        return self.state_ports

    @property
    def optional_output_ports(self) -> tuple[str, ...]:
        return self.state_ports

    def port_shape(self, port: str) -> Shape:
        """The per-example shape of an optional port: a state vector (n,)."""
        if port not in self.state_ports:
            raise ValueError(f"{self.name} has no port {port!r}")
        return (self.n,)

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"n": self.n}
        if self.input is not None:
            cfg["input"] = ["Varying" if self.input[0] is None else self.input[0], self.input[1]]
        return cfg

    def declared_input_shapes(self) -> list[Shape | None]:
        if self.input is not None and self.input[0] is not None:
            return [self.input]
        return [None]

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        shape = tuple(input_shapes[0])
        if len(shape) != 2 or shape[1] is None:
            raise ShapeError(
                f"port 'Input' needs sequences of vectors (T, F), got {format_shape(shape)}"
            )
        T, F = shape
        if self.input is not None and self.input[1] != F:
            raise ShapeError(
                f"port 'Input' expects vectors of size {self.input[1]}, got {format_shape(shape)}"
            )
        W = self.arrays.get("InputWeights")
        if W is not None and W.shape[1] != F:
            raise ShapeError(
                f"port 'Input' expects vectors of size {W.shape[1]} (from its weights), got "
                f"{format_shape(shape)}"
            )
        G = self.gates * self.n
        self.array_shapes = self._array_shapes(G, F)
        return [(T, self.n)]

    def _array_shapes(self, G: int, F: int) -> dict[str, Shape]:
        return {"InputWeights": (G, F), "StateWeights": (G, self.n), "Biases": (G,)}

    def fan(self, name: str) -> tuple[int, int]:
        shape = self.array_shapes[name]
        return (shape[1], self.n) if len(shape) == 2 else (self.n, self.n)

    def initial_array(self, name: str, rng: Any, method: str, dtype: Any) -> Any:
        if method not in ("Kaiming", "Xavier"):
            raise ValueError(f"method must be 'Kaiming' or 'Xavier', got {method!r}")
        shape = self.array_shapes[name]
        n = self.n
        if name == "InputWeights":
            limit = math.sqrt(6.0 / (shape[1] + n))
            values = rng.uniform(-limit, limit, shape)
        elif name == "StateWeights":
            values = xp.concatenate([_orthogonal(n, rng) for _ in range(self.gates)])
        else:
            values = xp.zeros(shape)
            self._bias_init(name, values)
        return xp.asarray(values, dtype=dtype)

    def _bias_init(self, name: str, values: Any) -> None:
        return None

    def _state_inputs(self, inputs: Mapping[str, Tensor]) -> list[Tensor | None]:
        return [inputs.get(p) for p in self.state_ports]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return self.forward_ports(arrays, {"Input": inputs[0]}, ctx)["Output"]

    def forward_ports(
        self, arrays: dict[str, Tensor], inputs: Mapping[str, Tensor], ctx: Context
    ) -> dict[str, Tensor]:
        """The computation with every port: inputs "Input" (and optionally the states), outputs
        "Output" and the final states."""
        x = inputs["Input"]
        L = sequence_lengths(ctx, x)
        outs = self._run(arrays, x, self._state_inputs(inputs), L)
        set_sequence_lengths(ctx, outs[0], L)
        return dict(zip(("Output", *self.state_ports), outs))

    def _run(
        self, arrays: dict[str, Tensor], x: Tensor, states: list[Tensor | None], L: Any
    ) -> tuple[Tensor, ...]:
        raise NotImplementedError

    def summary(self) -> str:
        return f"{self.name}[{self.n}]"


class LongShortTermMemoryLayer(_Recurrent):
    """A long short-term memory layer (Hochreiter & Schmidhuber, 1997; with the forget gate of
    Gers, Schmidhuber & Cummins, 2000): sequences (T, F) -> (T, n).

    Parameters
    ----------
    n : int
        Number of units (the size of the hidden and cell states).
    input : int or tuple, optional
        The feature size F, or the sequence shape (T, F) with T an int or "Varying".

    Notes
    -----
    With i, f, o the sigmoid gates and g the tanh candidate, all of W x + U h + b::

        c_t = f * c_{t-1} + i * g        h_t = o * tanh(c_t)

    Arrays: "InputWeights" W (4n, F), "StateWeights" U (4n, n), "Biases" b (4n,), gate blocks
    in the order i, f, g, o (PyTorch's; its two biases add up to ours). Ports "State" and
    "CellState" (inputs: initial h and c, zeros by default; outputs: the final h and c).

    Raises
    ------
    ValueError
        For a non-positive n or a malformed input shape.
    """

    gates = 4
    state_ports = ("State", "CellState")

    def _bias_init(self, name: str, values: Any) -> None:
        values[self.n : 2 * self.n] = 1.0

    def _run(
        self, arrays: dict[str, Tensor], x: Tensor, states: list[Tensor | None], L: Any
    ) -> tuple[Tensor, ...]:
        return ad.lstm(
            x,
            arrays["InputWeights"],
            arrays["StateWeights"],
            arrays.get("Biases"),
            states[0],
            states[1],
            L,
        )


class GatedRecurrentLayer(_Recurrent):
    """A gated recurrent unit layer (Cho et al., 2014): sequences (T, F) -> (T, n).

    Parameters
    ----------
    n : int
        Number of units.
    input : int or tuple, optional
        The feature size F, or the sequence shape (T, F) with T an int or "Varying".

    Notes
    -----
    PyTorch's formulation, with the reset gate applied to the state part of the candidate::

        r = s(W_r x + b_ir + U_r h + b_hr)     z = s(W_z x + b_iz + U_z h + b_hz)
        n = tanh(W_n x + b_in + r * (U_n h + b_hn))     h_t = (1 - z) * n + z * h_{t-1}

    Arrays: "InputWeights" (3n, F), "StateWeights" (3n, n), "InputBiases" (3n,), "StateBiases"
    (3n,), gate blocks in the order r, z, n. Port "State" (initial / final h).
    """

    gates = 3
    array_names = ("InputWeights", "StateWeights", "InputBiases", "StateBiases")

    def _array_shapes(self, G: int, F: int) -> dict[str, Shape]:
        return {
            "InputWeights": (G, F),
            "StateWeights": (G, self.n),
            "InputBiases": (G,),
            "StateBiases": (G,),
        }

    def _run(
        self, arrays: dict[str, Tensor], x: Tensor, states: list[Tensor | None], L: Any
    ) -> tuple[Tensor, ...]:
        return ad.gru(
            x,
            arrays["InputWeights"],
            arrays["StateWeights"],
            arrays.get("InputBiases"),
            arrays.get("StateBiases"),
            states[0],
            L,
        )


class BasicRecurrentLayer(_Recurrent):
    """A basic (Elman) recurrent layer h_t = f(W x_t + U h_{t-1} + b): sequences (T, F) -> (T, n).

    Parameters
    ----------
    n : int
        Number of units.
    activation : {"Tanh", "Ramp"}, default "Tanh"
        f (the ramp is PyTorch's ``nonlinearity="relu"``).
    input : int or tuple, optional
        The feature size F, or the sequence shape (T, F) with T an int or "Varying".

    Notes
    -----
    Arrays: "InputWeights" (n, F), "StateWeights" (n, n), "Biases" (n,). Port "State".

    Raises
    ------
    ValueError
        For an unknown activation.
    """

    def __init__(self, n: int, activation: Any = "Tanh", input: Any = None) -> None:
        super().__init__(n, input)
        name = getattr(activation, "name", activation)
        if name == "ReLU":
            name = "Ramp"
        if name not in ("Tanh", "Ramp"):
            raise ValueError(
                f"BasicRecurrentLayer activation must be 'Tanh' or 'Ramp', got {activation!r}"
            )
        self.activation = name

    def config(self) -> dict[str, Any]:
        return {**super().config(), "activation": self.activation}

    def _run(
        self, arrays: dict[str, Tensor], x: Tensor, states: list[Tensor | None], L: Any
    ) -> tuple[Tensor, ...]:
        return ad.rnn(
            x,
            arrays["InputWeights"],
            arrays["StateWeights"],
            arrays.get("Biases"),
            states[0],
            L,
            self.activation,
        )

    def summary(self) -> str:
        return f"BasicRecurrentLayer[{self.n}, {self.activation}]"


def _numpy(value: Any) -> Any:
    """A copy of an array, or of a tensor from another library (via its .numpy()), as an
    array of the backend."""
    if hasattr(value, "detach"):
        value = value.detach()
    if hasattr(value, "cpu"):
        value = value.cpu()
    if hasattr(value, "numpy") and not isinstance(value, xp.ndarray):
        value = value.numpy()
    return xp.array(value, copy=True)


def load_torch_weights(layer: Layer, state_dict: Mapping[str, Any], suffix: str = "_l0") -> Layer:
    """A copy of a recurrent layer with the weights of a PyTorch recurrent module.

    Parameters
    ----------
    layer : LongShortTermMemoryLayer, GatedRecurrentLayer or BasicRecurrentLayer
    state_dict : mapping
        ``module.state_dict()`` of a ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` (tensors or arrays;
        PyTorch is not imported), with keys ``weight_ih{suffix}``, ``weight_hh{suffix}`` and, if
        the module has biases, ``bias_ih{suffix}``, ``bias_hh{suffix}``.
    suffix : str, default "_l0"
        Which layer of a stacked module ("_l1", ...), or its reverse direction ("_l0_reverse").

    Returns
    -------
    Layer
        The copy, its arrays set (gate order and formulas are the same; an LSTM's or basic
        RNN's two biases are added into "Biases").

    Raises
    ------
    TypeError
        For a layer that is not recurrent.
    ValueError
        For missing keys or arrays whose shapes do not fit the layer's size.
    """
    if not isinstance(layer, _Recurrent):
        raise TypeError(f"load_torch_weights needs a recurrent layer, got {type(layer).__name__}")
    keys = {k: f"{k}{suffix}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    for k in ("weight_ih", "weight_hh"):
        if keys[k] not in state_dict:
            raise ValueError(
                f"load_torch_weights: the state dict has no {keys[k]!r}; keys: {sorted(state_dict)[:8]}"
            )
    Wi = _numpy(state_dict[keys["weight_ih"]])
    Wh = _numpy(state_dict[keys["weight_hh"]])
    G = layer.gates * layer.n
    if Wi.ndim != 2 or Wi.shape[0] != G or Wh.shape != (G, layer.n):
        raise ValueError(
            f"load_torch_weights: {layer.name} with {layer.n} units needs weight_ih of shape "
            f"({G}, F) and weight_hh of shape ({G}, {layer.n}), got {Wi.shape} and {Wh.shape}"
        )
    has_bias = keys["bias_ih"] in state_dict
    bi = _numpy(state_dict[keys["bias_ih"]]) if has_bias else xp.zeros(G, dtype=Wi.dtype)
    bh = _numpy(state_dict[keys["bias_hh"]]) if has_bias else xp.zeros(G, dtype=Wi.dtype)
    new = layer.copy()
    dtype = Wi.dtype if Wi.dtype in (xp.float32, xp.float64) else xp.float32
    new.set_array("InputWeights", Wi, dtype)
    new.set_array("StateWeights", Wh, dtype)
    if isinstance(layer, GatedRecurrentLayer):
        new.set_array("InputBiases", bi, dtype)
        new.set_array("StateBiases", bh, dtype)
    else:
        new.set_array("Biases", bi + bh, dtype)
    if layer.input is None or layer.input[1] != Wi.shape[1]:
        new.input = (None if layer.input is None else layer.input[0], int(Wi.shape[1]))
    return new


# ----------------------------------------------------------------------------- EmbeddingLayer


def _index_text(value: Any, exact_below: float | None) -> str:
    """An index as text: the integer itself, or "about 1e+12" for a float past the range
    where its dtype holds whole numbers exactly (the digits shown would be rounding)."""
    if exact_below is not None and abs(float(value)) > exact_below:
        return f"about {float(value):.6g}"
    return str(int(value))


def embedding_indices(values: Any, n: int) -> Any:
    """Class indices in [0, n) as an intp array, checked on the values as given.

    Integer arrays are checked exactly, before any cast. Float arrays (a net reads its input
    in its float dtype) must hold whole numbers; an index past the float's exact integer range
    (2**24 for float32) is reported as "about ..." rather than with rounded digits.

    Raises
    ------
    ValueError
        For values that are not whole numbers, or indices outside [0, n), naming (up to five
        of) the offending values.
    """
    raw = xp.asarray(values)
    kind = raw.dtype.kind
    if kind not in "biuf":
        raise ValueError(
            f"EmbeddingLayer: inputs must be whole numbers (class indices), got dtype {raw.dtype}"
        )
    exact_below = None
    if kind == "f":
        whole = xp.isfinite(raw) & (xp.floor(raw) == raw)
        if not bool(xp.all(whole)):
            bad = raw[~whole]
            raise ValueError(
                "EmbeddingLayer: inputs must be whole numbers (class indices), got "
                f"{bad.size} that are not, such as {float(bad.reshape(-1)[0])!r}"
            )
        exact_below = float(2 ** (xp.finfo(raw.dtype).nmant + 1))
    outside = (raw < 0) | (raw >= n)
    if bool(xp.any(outside)):
        bad = xp.unique(raw[outside])
        shown = ", ".join(_index_text(v, exact_below) for v in bad[:5].tolist())
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        note = ""
        if exact_below is not None and float(xp.abs(bad).max()) > exact_below:
            note = (
                f" ({raw.dtype} input holds whole numbers exactly only up to "
                f"2**{xp.finfo(raw.dtype).nmant + 1} = {int(exact_below)}, so larger ones are "
                "rounded)"
            )
        raise ValueError(
            f"EmbeddingLayer: indices must lie in [0, {n - 1}], got {shown}{more}{note}"
        )
    return raw.astype(xp.intp)


class EmbeddingLayer(Layer):
    """Maps integer class indices to learned vectors (a lookup table).

    Parameters
    ----------
    size : int
        The length of each vector.
    n : int
        The number of classes: indices run from 0 to n - 1.
    input : int or tuple, optional
        The shape of one example of indices: () for one index, (T,) for a sequence (T may be
        "Varying").

    Notes
    -----
    Array "Weights" (n, size), initialised from N(0, 1) (as PyTorch's ``nn.Embedding``). Inputs
    of shape (N, ...) of whole numbers give outputs (N, ..., size). Its gradient is a
    scatter-add of the output gradient into the rows that were looked up.

    Raises
    ------
    ValueError
        For non-positive sizes; at run time for indices that are not whole numbers in [0, n),
        naming the offending values (see :func:`embedding_indices`).
    """

    array_names = ("Weights",)
    sequence_aware = True

    def __init__(self, size: int, n: int, input: Any = None) -> None:
        super().__init__()
        self.size = _units(size, "EmbeddingLayer size")
        self.n = _units(n, "EmbeddingLayer n (the number of classes)")
        if input is None:
            self.input = None
        elif isinstance(input, numbers.Integral) and not isinstance(input, bool) and input >= 1:
            self.input = (int(input),)
        elif isinstance(input, tuple | list):
            self.input = tuple(None if v == "Varying" else int(v) for v in input)
        else:
            raise ValueError(f"EmbeddingLayer input must be a shape, got {input!r}")

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"size": self.size, "n": self.n}
        if self.input is not None:
            cfg["input"] = ["Varying" if v is None else v for v in self.input]
        return cfg

    def declared_input_shapes(self) -> list[Shape | None]:
        if self.input is not None and None not in self.input:
            return [self.input]
        return [None]

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        shape = tuple(input_shapes[0])
        self.array_shapes = {"Weights": (self.n, self.size)}
        return [(*shape, self.size)]

    def initial_array(self, name: str, rng: Any, method: str, dtype: Any) -> Any:
        return xp.asarray(rng.standard_normal(self.array_shapes[name]), dtype=dtype)

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        idx = embedding_indices(x.data, self.n)
        y = ad.getitem(arrays["Weights"], idx)
        set_sequence_lengths(ctx, y, sequence_lengths(ctx, x))
        return y

    def summary(self) -> str:
        return f"EmbeddingLayer[{self.size}, {self.n}]"
