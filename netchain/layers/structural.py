"""Layers that rearrange or combine arrays: sequence layers (SequenceLastLayer,
SequenceMostLayer, SequenceRestLayer, SequenceReverseLayer), CatenateLayer, ThreadingLayer,
TotalLayer and PartLayer; and the bookkeeping of padded sequences.

Sequences are (T, ...) per example, (N, T, ...) in a batch. A batch of sequences of
different lengths is padded at the end; its real lengths travel beside the padded tensor in
``ctx.lengths`` (see :func:`sequence_lengths`), and every sequence layer honours them, so that a
padded batch gives what each sequence gives alone.

Layers with several inputs (CatenateLayer, ThreadingLayer, TotalLayer) have one port "Input"
that takes any number of arrays (``variadic = True``): in a NetGraph, ``[a, b] -> layer``
connects both, in order.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Callable, Sequence
from functools import reduce
from typing import Any

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.backend import xp
from netchain.layers.base import Context, Layer, Shape, ShapeError, format_shape
from netchain.layers.basic import DropoutLayer, ElementwiseLayer, SoftmaxLayer

__all__ = [
    "CatenateLayer",
    "PartLayer",
    "SequenceLastLayer",
    "SequenceMostLayer",
    "SequenceRestLayer",
    "SequenceReverseLayer",
    "ThreadingLayer",
    "TotalLayer",
    "pad_sequences",
    "propagate_lengths",
    "sequence_lengths",
    "set_sequence_lengths",
]


# ----------------------------------------------------------------------------- padded sequences


def sequence_lengths(ctx: Context | None, t: Tensor) -> Any:
    """The real lengths (int64 array of shape (N,)) of the padded batch ``t``, or None when
    every sequence in it has the full length."""
    table = getattr(ctx, "lengths", None)
    if not table:
        return None
    entry = table.get(id(t))
    if entry is None or entry[0] is not t:
        return None
    return entry[1]


def set_sequence_lengths(ctx: Context | None, t: Tensor, lengths: Any) -> None:
    """Record the real lengths of a padded batch ``t`` (None records nothing). The context
    keeps ``t`` alive for the pass, so its id cannot be reused by another tensor."""
    if lengths is None or ctx is None:
        return
    ctx.lengths[id(t)] = (t, lengths)


#: Layers whose output keeps the time axis of their input step by step.
_STEPWISE = (ElementwiseLayer, DropoutLayer, SoftmaxLayer)


def propagate_lengths(ctx: Context, layer: Layer, inputs: Sequence[Tensor], output: Any) -> None:
    """After a layer that does not handle lengths itself, carry its input's lengths to its
    output when the layer works step by step (elementwise layers, dropout, softmax)."""
    if not ctx.lengths or not isinstance(output, Tensor) or not inputs:
        return
    if isinstance(layer, _STEPWISE) and sequence_lengths(ctx, output) is None:
        L = sequence_lengths(ctx, inputs[0])
        if L is not None and output.shape[:2] == inputs[0].shape[:2]:
            set_sequence_lengths(ctx, output, L)


def pad_sequences(
    sequences: Sequence[Any], steps: int | None = None, dtype: Any = None, name: str = "input"
) -> tuple[Any, Any]:
    """Stack sequences of different lengths into one padded batch.

    Parameters
    ----------
    sequences : sequence of array_like, each of shape (T_k, ...)
        The same trailing shape for all.
    steps : int, optional
        The padded length (default: the longest sequence).
    dtype : dtype, optional
        Default: float32 for integers, else the sequences' own.
    name : str
        Used in error messages.

    Returns
    -------
    batch : ndarray of shape (N, steps, ...)
        Zeros after each sequence's end.
    lengths : ndarray of int64, shape (N,)

    Raises
    ------
    ValueError
        For no sequences, different trailing shapes, or a sequence longer than ``steps``.
    """
    arrays = [xp.asarray(s) for s in sequences]
    if not arrays:
        raise ValueError(f"{name}: no sequences")
    if any(a.ndim == 0 for a in arrays):
        raise ValueError(f"{name}: each sequence must have a time axis, got a single number")
    tails = {a.shape[1:] for a in arrays}
    if len(tails) != 1:
        raise ValueError(
            f"{name}: sequences must share the shape of one step, got {sorted(tails)[:4]}"
        )
    lengths = xp.asarray([len(a) for a in arrays], dtype=xp.int64)
    T = int(lengths.max()) if steps is None else int(steps)
    if lengths.max() > T:
        raise ValueError(
            f"{name}: a sequence has {int(lengths.max())} steps but the net takes at most {T}"
        )
    if dtype is None:
        kinds = {a.dtype.kind for a in arrays}
        dtype = arrays[0].dtype if kinds == {"f"} else xp.float32
    batch = xp.zeros((len(arrays), T, *arrays[0].shape[1:]), dtype=dtype)
    for k, a in enumerate(arrays):
        batch[k, : len(a)] = a
    return batch, lengths


def _seq_shape(shape: Shape, layer: str, at_least: int = 1) -> Shape:
    if len(shape) < 1:
        raise ShapeError(f"port 'Input' needs a sequence (T, ...), got {format_shape(shape)}")
    T = shape[0]
    if T is not None and T < at_least:
        raise ShapeError(
            f"port 'Input' needs sequences of at least {at_least} steps, got {format_shape(shape)}"
        )
    return shape


def _short(L: Any, need: int, layer: str) -> None:
    if int(L.min()) < need:
        raise ValueError(
            f"{layer}: a sequence of length {int(L.min())} is too short (at least {need} "
            f"step{'s' if need > 1 else ''} needed)"
        )


class _SequenceLayer(Layer):
    """Base of the sequence layers: no arguments, lengths honoured."""

    sequence_aware = True

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Layer:
        return cls()


class SequenceLastLayer(_SequenceLayer):
    """The last element of a sequence: (T, ...) -> (...).

    With padded sequences, the last real element of each.

    Raises
    ------
    ValueError
        For a sequence of length 0.
    """

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        return [tuple(_seq_shape(shape, self.name)[1:])]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        L = sequence_lengths(ctx, x)
        if L is None:
            return ad.getitem(x, (slice(None), -1))
        _short(L, 1, self.name)
        return ad.getitem(x, (xp.arange(x.shape[0]), L - 1))


class _DropOneLayer(_SequenceLayer):
    """A sequence less one element, the one that ``_keep`` (a slice of the time axis) leaves
    out: (T, ...) -> (T - 1, ...); padded sequences each lose one real element."""

    _keep: slice

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        T = _seq_shape(shape, self.name, 2)[0]
        return [(None if T is None else T - 1, *shape[1:])]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        if x.shape[1] < 2:
            raise ValueError(f"{self.name}: sequences need at least 2 steps, got {x.shape[1]}")
        y = ad.getitem(x, (slice(None), self._keep))
        L = sequence_lengths(ctx, x)
        if L is not None:
            _short(L, 1, self.name)
            set_sequence_lengths(ctx, y, L - 1)
        return y


class SequenceMostLayer(_DropOneLayer):
    """All but the last element of a sequence: (T, ...) -> (T - 1, ...).

    With padded sequences, each loses its last real element.
    """

    _keep = slice(None, -1)


class SequenceRestLayer(_DropOneLayer):
    """All but the first element of a sequence: (T, ...) -> (T - 1, ...)."""

    _keep = slice(1, None)


def reverse_sequences(x: Tensor, L: Any) -> Tensor:
    """Reverse each sequence of a batch in time; padded ones within their real length
    (the padding stays at the end)."""
    if L is None:
        return ad.getitem(x, (slice(None), slice(None, None, -1)))
    T = x.shape[1]
    t = xp.arange(T)[None, :]
    idx = xp.where(t < L[:, None], L[:, None] - 1 - t, t)
    return ad.getitem(x, (xp.arange(x.shape[0])[:, None], idx))


class SequenceReverseLayer(_SequenceLayer):
    """A sequence in reverse order: (T, ...) -> (T, ...), each padded sequence reversed
    within its real length."""

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        return [tuple(_seq_shape(shape, self.name))]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        L = sequence_lengths(ctx, x)
        y = reverse_sequences(x, L)
        set_sequence_lengths(ctx, y, L)
        return y


# ----------------------------------------------------------------------------- combining layers


def _level_axis(level: int, rank: int, layer: str) -> int:
    """A 1-based per-example level (negative from the end) as a batch axis."""
    if not -rank <= level <= rank or level == 0:
        raise ShapeError(
            f"level {level} is out of range for inputs of rank {rank} (use 1..{rank} or -{rank}..-1)"
        )
    return level if level > 0 else rank + 1 + level


def _check_level(level: Any, layer: str) -> int:
    if not isinstance(level, numbers.Integral) or isinstance(level, bool) or level == 0:
        raise ValueError(
            f"{layer} level must be a nonzero int (1 = first axis of an example, -1 = last), "
            f"got {level!r}"
        )
    return int(level)


def _shared_lengths(ctx: Context, inputs: Sequence[Tensor]) -> Any:
    found = [sequence_lengths(ctx, x) for x in inputs]
    first = found[0]
    if first is None or any(f is None or not bool(xp.all(f == first)) for f in found[1:]):
        return None
    return first


class CatenateLayer(Layer):
    """Joins several arrays along one level: shapes must agree on every other axis.

    Parameters
    ----------
    level : int, default 1
        The axis of one example to join along: 1 is the first (vectors end to end, sequences
        one after another), -1 the last (features of the same time steps side by side).

    Notes
    -----
    Port "Input" takes any number of arrays (in a NetGraph: ``["a", "b"] -> "cat"``). Padded
    sequences keep their lengths when joined along a level other than time (1).

    Raises
    ------
    ValueError
        For a zero or non-int level, or shapes that disagree (naming them).
    """

    variadic = True
    sequence_aware = True

    def __init__(self, level: int = 1) -> None:
        super().__init__()
        self.level = _check_level(level, "CatenateLayer")

    def config(self) -> dict[str, Any]:
        return {"level": self.level}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        if not input_shapes:
            raise ShapeError("port 'Input' needs at least one array")
        ranks = {len(s) for s in input_shapes}
        if len(ranks) != 1:
            raise ShapeError(
                f"port 'Input' needs arrays of one rank, got shapes "
                f"{', '.join(format_shape(s) for s in input_shapes)}"
            )
        rank = ranks.pop()
        if rank == 0:
            raise ShapeError("port 'Input' cannot join scalars; give vectors or arrays")
        ax = _level_axis(self.level, rank, self.name) - 1
        out = list(input_shapes[0])
        for s in input_shapes[1:]:
            for k in range(rank):
                if k == ax:
                    continue
                if s[k] is not None and out[k] is not None and s[k] != out[k]:
                    raise ShapeError(
                        f"port 'Input': arrays of shapes "
                        f"{', '.join(format_shape(x) for x in input_shapes)} cannot be joined "
                        f"at level {self.level} (axis {k + 1} differs)"
                    )
        sizes = [s[ax] for s in input_shapes]
        out[ax] = None if any(v is None for v in sizes) else sum(sizes)
        return [tuple(out)]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        rank = inputs[0].ndim - 1
        ax = _level_axis(self.level, rank, self.name)
        y = inputs[0] if len(inputs) == 1 else ad.concatenate(inputs, axis=ax)
        if ax != 1:
            set_sequence_lengths(ctx, y, _shared_lengths(ctx, inputs))
        return y

    def summary(self) -> str:
        return f"CatenateLayer[{self.level}]"


#: Named functions for ThreadingLayer: (netchain operation on two tensors, NumPy function).
THREADING_FUNCTIONS: dict[str, Callable[[Any, Any], Tensor]] = {
    "Plus": ad.add,
    "Subtract": ad.sub,
    "Times": ad.mul,
    "Divide": ad.div,
    "Max": ad.maximum,
    "Min": ad.minimum,
    "Power": ad.pow,
}


def _broadcast_shapes(shapes: list[Shape], layer: str) -> Shape:
    out: list[int | None] = []
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    for k in range(rank):
        sizes = {p[k] for p in padded if p[k] != 1}
        known = {v for v in sizes if v is not None}
        if len(known) > 1:
            raise ShapeError(
                f"port 'Input': arrays of shapes {', '.join(format_shape(s) for s in shapes)} "
                "do not broadcast together"
            )
        out.append(known.pop() if known else (None if None in sizes else 1))
    return tuple(out)


class ThreadingLayer(Layer):
    """Applies a function elementwise across several arrays (broadcasting as NumPy does).

    Parameters
    ----------
    f : str or callable
        "Plus", "Subtract", "Times", "Divide", "Max", "Min", "Power" (folded from the left over
        more than two inputs), or a Python function of the input Tensors written with netchain
        operations (such a layer cannot be saved).

    Raises
    ------
    ValueError
        For an unknown name.
    """

    variadic = True
    sequence_aware = True

    def __init__(self, f: Any) -> None:
        super().__init__()
        if isinstance(f, str):
            if f not in THREADING_FUNCTIONS:
                raise ValueError(
                    f"ThreadingLayer: unknown function {f!r}; known: {sorted(THREADING_FUNCTIONS)}"
                )
            self.function_name = f
            self.f = None
        elif callable(f):
            self.function_name = getattr(f, "__name__", "function")
            self.f = f
        else:
            raise TypeError(f"ThreadingLayer needs a function or a name, got {f!r}")

    def config(self) -> dict[str, Any]:
        if self.f is not None:
            raise ValueError(
                f"ThreadingLayer with the Python function {self.function_name!r} cannot be "
                f"saved; use one of {sorted(THREADING_FUNCTIONS)}"
            )
        return {"f": self.function_name}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        if not input_shapes:
            raise ShapeError("port 'Input' needs at least one array")
        return [_broadcast_shapes(input_shapes, self.name)]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        if self.f is not None:
            y = self.f(*inputs)
        else:
            y = reduce(THREADING_FUNCTIONS[self.function_name], inputs)
        set_sequence_lengths(ctx, y, _shared_lengths(ctx, inputs))
        return y

    def summary(self) -> str:
        return f"ThreadingLayer[{self.function_name}]"


class TotalLayer(Layer):
    """The elementwise sum of several arrays of the same shape."""

    variadic = True
    sequence_aware = True

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> TotalLayer:
        return cls()

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        if not input_shapes:
            raise ShapeError("port 'Input' needs at least one array")
        first = tuple(input_shapes[0])
        for s in input_shapes[1:]:
            if len(s) != len(first) or any(
                a is not None and b is not None and a != b for a, b in zip(s, first)
            ):
                raise ShapeError(
                    f"port 'Input' needs arrays of one shape, got "
                    f"{', '.join(format_shape(x) for x in input_shapes)}"
                )
        return [first]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        y = reduce(operator.add, inputs)
        set_sequence_lengths(ctx, y, _shared_lengths(ctx, inputs))
        return y


# ----------------------------------------------------------------------------- PartLayer


def _encode_item(item: Any) -> Any:
    if isinstance(item, slice):
        return {"span": [item.start, item.stop, item.step]}
    return item


def _decode_item(item: Any) -> Any:
    if isinstance(item, dict) and "span" in item:
        return slice(*item["span"])
    return item


def _check_item(item: Any) -> Any:
    if isinstance(item, bool):
        raise ValueError(
            f"PartLayer: a part is an int, a list of ints, 'All' or a span, got {item!r}"
        )
    if isinstance(item, numbers.Integral):
        if item == 0:
            raise ValueError("PartLayer: parts are numbered from 1 (negative from the end); got 0")
        return int(item)
    if item == "All":
        return item
    if isinstance(item, slice):
        for v in (item.start, item.stop, item.step):
            if v is not None and (not isinstance(v, numbers.Integral) or v == 0):
                raise ValueError(
                    f"PartLayer: a span takes nonzero ints (1-based, inclusive), got {item!r}"
                )
        return slice(
            None if item.start is None else int(item.start),
            None if item.stop is None else int(item.stop),
            None if item.step is None else int(item.step),
        )
    if (
        isinstance(item, list | tuple)
        and item
        and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) and v != 0 for v in item
        )
    ):
        return [int(v) for v in item]
    raise ValueError(
        f"PartLayer: a part is an int, a list of nonzero ints, 'All' or a span slice(i, j), "
        f"got {item!r}"
    )


def _zero_based(i: int, n: int | None, where: str) -> int:
    if n is not None and not (1 <= i <= n or -n <= i <= -1):
        raise ShapeError(f"part {i} is out of range for {where} of length {n}")
    return i - 1 if i > 0 else i


def _span(s: slice, n: int | None, where: str) -> tuple[slice, int | None]:
    """A 1-based inclusive span (Wolfram's i ;; j ;; k) as a Python slice, with its length."""
    step = 1 if s.step is None else s.step
    if step < 0:
        raise ShapeError("spans with a negative step are not supported; use SequenceReverseLayer")
    start = 1 if s.start is None else s.start
    stop = -1 if s.stop is None else s.stop
    py = slice(start - 1 if start > 0 else start, stop if stop > 0 else (stop + 1 or None), step)
    if n is None:
        return py, None
    a = start if start > 0 else n + 1 + start
    b = stop if stop > 0 else n + 1 + stop
    if not (1 <= a <= n and 1 <= b <= n) or b < a:
        raise ShapeError(f"span {start};;{stop} is out of range for {where} of length {n}")
    return py, len(range(n)[py])


class PartLayer(Layer):
    """Extracts part of each example, in the Wolfram Language's part notation.

    Parameters
    ----------
    spec : int, list of int, "All", slice, or a tuple of them
        One item per level, from the first axis of an example: an int i (from 1; negative from
        the end) takes element i and drops the axis; a list takes those elements; "All" keeps the
        axis; ``slice(i, j)`` (or ``slice(i, j, k)``) is the span i ;; j (;; k), 1-based and
        inclusive: ``slice(2, -1)`` is everything from the second element on.

    Raises
    ------
    ValueError
        For parts numbered 0 or of the wrong type; ShapeError when a part is out of range.

    Examples
    --------
    ``PartLayer(1)`` is the first element; ``PartLayer(("All", 2))`` the second feature of
    every step of a sequence; ``PartLayer(slice(1, 3))`` the first three elements.
    """

    sequence_aware = True

    def __init__(self, spec: Any) -> None:
        super().__init__()
        items = spec if isinstance(spec, tuple) else (spec,)
        if not items:
            raise ValueError("PartLayer needs a part specification")
        self.spec = tuple(_check_item(i) for i in items)

    def config(self) -> dict[str, Any]:
        return {"spec": [_encode_item(i) for i in self.spec]}

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> PartLayer:
        return cls(tuple(_decode_item(i) for i in cfg["spec"]))

    def _index(self, shape: Shape) -> tuple[tuple[Any, ...], Shape]:
        if len(self.spec) > len(shape):
            raise ShapeError(
                f"part specification {self._show()} has {len(self.spec)} levels but the input "
                f"{format_shape(shape)} has {len(shape)}"
            )
        index: list[Any] = []
        out: list[int | None] = []
        lists = 0
        for k, item in enumerate(self.spec):
            n = shape[k]
            where = f"level {k + 1}"
            if isinstance(item, int):
                index.append(_zero_based(item, n, where))
            elif item == "All":
                index.append(slice(None))
                out.append(n)
            elif isinstance(item, slice):
                py, size = _span(item, n, where)
                index.append(py)
                out.append(size)
            else:
                lists += 1
                index.append(xp.asarray([_zero_based(i, n, where) for i in item]))
                out.append(len(item))
        if lists > 1:
            raise ShapeError("PartLayer takes a list of parts at one level at most")
        out.extend(shape[len(self.spec) :])
        return tuple(index), tuple(out)

    def _show(self) -> str:
        return repr(self.spec[0] if len(self.spec) == 1 else self.spec)

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        (shape,) = input_shapes
        return [self._index(tuple(shape))[1]]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        index, _ = self._index(tuple(x.shape[1:]))
        lists = [k for k, i in enumerate(index) if not isinstance(i, slice | int)]
        if lists:
            # one fancy index: keep it in place by indexing the other levels first
            k = lists[0]
            first = (slice(None), *[i if j != k else slice(None) for j, i in enumerate(index)])
            y = ad.getitem(x, first)
            kept = 1 + sum(1 for j, i in enumerate(index) if j < k and not isinstance(i, int))
            y = ad.getitem(y, (slice(None),) * kept + (index[k],))
        else:
            y = ad.getitem(x, (slice(None), *index))
        if self.spec[0] == "All":
            set_sequence_lengths(ctx, y, sequence_lengths(ctx, x))
        return y

    def summary(self) -> str:
        return f"PartLayer[{self._show()}]"
