"""``NetGraph``: layers connected by named ports, with several inputs and outputs.

A graph is a list (or dict) of layers plus connections between their ports, in the Wolfram
Language's notation::

    NetGraph({"lstm": LongShortTermMemoryLayer(32), "last": SequenceLastLayer(),
              "a": LinearLayer(8), "b": LinearLayer(8), "cat": CatenateLayer(), "out": 3},
             {"lstm": "last", "last": "a", NetPort("Input2"): "b", ("a", "b"): ...})

Connections are a dict ``{source: destination}`` or a list of pairs (a tuple of more than two
is a chain ``a -> b -> c``). A source or destination is a layer (its position from 1, or its
name), a list of layers (several sources into one layer: ``["a", "b"] -> "cat"``; one source
into several layers: ``"a" -> ["b", "c"]``), a port of the graph (``NetPort("Input")``, ``NetPort("Output2")``) or a port of a layer
(``NetPort(("lstm", "State"))``).

Ports that are not connected become ports of the graph: inputs take their port's name
("Input", "Target" ...; numbered "Input1", "Input2" ... when several layers leave the same
port open), and so do outputs of layers that feed nothing (beside outputs named with
``NetPort("...")`` as destinations). When the connections name graph inputs with
``NetPort("...")`` as sources, the graph's inputs are exactly those, and an unconnected required
input is an error. Optional ports (a recurrent layer's "State") are only used when connected.

A cycle, a name that is no layer, a port a layer does not have, or an input connected twice
raises a ValueError that names them.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from netchain import backend
from netchain.autodiff import Tensor, constant, no_grad
from netchain.backend import xp
from netchain.layers import (
    Context,
    ElementwiseLayer,
    Layer,
    ShapeError,
    SoftmaxLayer,
    format_shape,
    shape_argument,
)
from netchain.layers.structural import (
    pad_sequences,
    propagate_lengths,
    sequence_lengths,
    set_sequence_lengths,
)
from netchain.nets import io
from netchain.nets.chain import (
    EVAL_CHUNK,
    NetChain,
    _LayerList,
    _one_or_batch,
    _ragged,
    arrays_for,
    as_layer,
    shape_fits,
)
from netchain.nets.decoders import NetDecoder

__all__ = ["NetGraph", "NetPort", "PortData", "evaluate_port", "run_layer"]

GRAPH = None  # the "layer index" of the graph's own ports in an endpoint (None, port)


class NetPort:
    """A named port: of the graph, ``NetPort("Input")``, or of a layer inside it,
    ``NetPort(("lstm", "State"))`` (also ``NetPort("lstm", "State")`` and, through nested
    nets, ``NetPort((2, 1, "Output"))``).

    Raises
    ------
    ValueError
        For an empty specification or a port name that is not a string.
    """

    __slots__ = ("path",)

    def __init__(self, *spec: Any) -> None:
        if len(spec) == 1 and isinstance(spec[0], tuple | list):
            spec = tuple(spec[0])
        if not spec:
            raise ValueError("NetPort needs a port name or (layer, port)")
        if not isinstance(spec[-1], str):
            raise ValueError(f"NetPort: the port name must be a string, got {spec[-1]!r}")
        for part in spec[:-1]:
            if not (isinstance(part, str) or _is_int(part)):
                raise ValueError(
                    f"NetPort: a layer is named by its position (int) or name (str), got {part!r}"
                )
        self.path = tuple(int(p) if _is_int(p) else p for p in spec)

    @property
    def is_graph_port(self) -> bool:
        """Whether this is a port of the graph itself (a bare name)."""
        return len(self.path) == 1

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NetPort) and other.path == self.path

    def __hash__(self) -> int:
        return hash(("NetPort", self.path))

    def __repr__(self) -> str:
        if self.is_graph_port:
            return f"NetPort({self.path[0]!r})"
        return f"NetPort({self.path!r})"


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


# ----------------------------------------------------------------------------- running layers


def reachable(starts: Iterable[int], successors: Callable[[int], Iterable[int]]) -> set[int]:
    """The layer indices reachable from ``starts`` (included) by repeatedly following
    ``successors``."""
    seen: set[int] = set()
    stack = list(starts)
    while stack:
        j = stack.pop()
        if j in seen:
            continue
        seen.add(j)
        stack.extend(successors(j))
    return seen


def _per_port(
    value: Any, ports: tuple[str, ...], side: str, what: str, convert: Callable[[Any, Any], Any]
) -> dict[str, Any]:
    """A NetGraph option by port: a dict by port name, or one value for the only port;
    ``convert(value, port name or None)`` validates each."""
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if k not in ports:
                raise ValueError(
                    f"NetGraph {side}: the graph has no {side} port {k!r}; ports: {list(ports)}"
                )
            out[k] = convert(v, k)
        return out
    if len(ports) != 1:
        raise ValueError(
            f"NetGraph {side}: the graph has {side} ports {list(ports)}; give a dict "
            f"{{port: {what}}}"
        )
    return {ports[0]: convert(value, None)}


def _name_ports(ends: list[tuple[int, str]], names: list[str]) -> list[str]:
    """Names for new graph ports at the layer ports ``ends``: a port's own name where it is
    the only one of that name and still free, else that name numbered from 1 (skipping names
    taken). Each name is appended to ``names`` as it is chosen; returns them in order."""
    counts: dict[str, int] = {}
    for _, p in ends:
        counts[p] = counts.get(p, 0) + 1
    numbered: dict[str, int] = {}
    chosen = []
    for _, p in ends:
        if counts[p] == 1 and p not in names:
            name = p
        else:
            k = numbered.get(p, 0) + 1
            while f"{p}{k}" in names:
                k += 1
            numbered[p] = k
            name = f"{p}{k}"
        names.append(name)
        chosen.append(name)
    return chosen


def run_layer(
    layer: Layer,
    inputs: Mapping[str, Any],
    ctx: Context,
    outputs: Sequence[str] = ("Output",),
    drop_final: bool = False,
) -> dict[str, Tensor]:
    """Apply any layer or net to named input Tensors; returns its output Tensors by port.

    ``inputs`` maps port names to Tensors (a list of Tensors for a variadic port).
    ``drop_final`` leaves out the final softmax / sigmoid of a net (the logits are returned).
    """
    if isinstance(layer, NetChain):
        return {"Output": layer.run(inputs["Input"], ctx, drop_final)}
    if isinstance(layer, NetGraph):
        res = layer.run_ports(dict(inputs), ctx, drop_final=drop_final)
        return res
    if drop_final and _final_kind(layer):
        x = inputs["Input"]
        return {"Output": x}
    optional_in = getattr(layer, "optional_input_ports", ())
    optional_out = getattr(layer, "optional_output_ports", ())
    if (any(p in inputs for p in optional_in) or any(p in optional_out for p in outputs)) and (
        hasattr(layer, "forward_ports")
    ):
        return layer.forward_ports(arrays_for(layer, ctx), inputs, ctx)
    if getattr(layer, "variadic", False):
        args = list(inputs["Input"])
    else:
        args = [inputs[p] for p in layer.input_ports]
    y = layer.forward(arrays_for(layer, ctx), args, ctx)
    if ctx.lengths and not getattr(layer, "sequence_aware", False):
        propagate_lengths(ctx, layer, args, y)
    if isinstance(y, Tensor):
        return {layer.output_ports[0]: y}
    return dict(zip(layer.output_ports, y))


def _final_kind(layer: Layer) -> bool:
    """Whether NetTrain folds this layer into the loss (softmax, logistic sigmoid)."""
    return isinstance(layer, SoftmaxLayer) or (
        isinstance(layer, ElementwiseLayer) and layer.function_name == "LogisticSigmoid"
    )


# ----------------------------------------------------------------------------- port data


class PortData:
    """Arrays for several ports, one example per row in each (NetTrain's data for a graph).

    Indexing with rows (an index array or a slice) gives the same rows of every array;
    ``data[port]`` with a port name gives that array.
    """

    def __init__(self, arrays: Mapping[str, Any]) -> None:
        self.arrays = dict(arrays)
        lengths = {len(a) for a in self.arrays.values()}
        if len(lengths) > 1:
            sizes = {k: len(a) for k, a in self.arrays.items()}
            raise ValueError(f"data: every port needs the same number of examples, got {sizes}")
        self.n = lengths.pop() if lengths else 0

    def __len__(self) -> int:
        return self.n

    def keys(self) -> list[str]:
        return list(self.arrays)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, str):
            return self.arrays[index]
        return PortData({k: a[index] for k, a in self.arrays.items()})

    def astype(self, dtype: Any, copy: bool = True) -> PortData:
        """Floating arrays cast to ``dtype`` (others unchanged)."""
        return PortData(
            {
                k: a.astype(dtype, copy=copy)
                if getattr(a, "dtype", None) is not None and a.dtype.kind == "f"
                else a
                for k, a in self.arrays.items()
            }
        )

    def tensors(self) -> dict[str, Tensor]:
        """Constant Tensors of the arrays, by port."""
        return {k: constant(a) for k, a in self.arrays.items()}

    def __repr__(self) -> str:
        return f"PortData({', '.join(f'{k}: {tuple(a.shape)}' for k, a in self.arrays.items())})"


class _PortView:
    """What NetTrain's loss selection needs to know about one output port of a graph."""

    def __init__(self, graph: NetGraph, port: str) -> None:
        self.graph = graph
        self.port = port
        self.output_shape = graph.output_shapes[graph.output_ports.index(port)]
        self.decoder = graph.decoders.get(port)
        self.dtype = graph.dtype

    def final_layer(self) -> Layer:
        return self.graph.final_layer(self.port)


# ----------------------------------------------------------------------------- NetGraph


class NetGraph(_LayerList):
    """A graph of layers joined at named ports (see the module docstring for the notation).

    Parameters
    ----------
    layers : sequence or mapping
        The layers (a mapping names them; a list names them by position from 1), with
        NetChain's shorthand (an int n is ``LinearLayer(n)``, ``Ramp`` ...). Layers are copied.
    connections : mapping or sequence of pairs
        ``{source: destination}`` or ``[(source, destination), ...]``.
    input : shape or dict, optional
        The shape of one example at the graph's input port, or ``{port: shape}``.
    output : NetDecoder, "Scalar" or dict, optional
        A decoder for the output port, or ``{port: decoder}``.

    Raises
    ------
    ValueError
        For a cycle, a name or position that is no layer, a port that does not exist, an
        input connected twice, an unconnected required input when the graph's inputs are
        named, or shapes that do not fit (naming the layer, the port and both shapes).
    TypeError
        For an element that is not a layer or a malformed connection.

    Examples
    --------
    >>> from netchain import NetGraph, NetPort, LinearLayer, CatenateLayer
    >>> g = NetGraph({"a": LinearLayer(3), "b": LinearLayer(3), "cat": CatenateLayer()},
    ...              {NetPort("Input1"): "a", NetPort("Input2"): "b", ("a", "b"): "cat"},
    ...              input={"Input1": 2, "Input2": 4})
    >>> g.input_ports, g.output_ports
    (('Input1', 'Input2'), ('Output',))
    """

    def __init__(
        self,
        layers: Sequence[Any] | Mapping[str, Any],
        connections: Any = (),
        input: Any = None,
        output: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(layers, Mapping):
            items = [(str(k), v) for k, v in layers.items()]
            named = True
        elif isinstance(layers, Sequence) and not isinstance(layers, str):
            items = [(str(i + 1), v) for i, v in enumerate(layers)]
            named = False
        else:
            raise TypeError(f"NetGraph needs a list or dict of layers, got {type(layers).__name__}")
        if not items:
            raise ValueError("NetGraph needs at least one layer")
        names = [k for k, _ in items]
        if len(set(names)) != len(names):
            raise ValueError("NetGraph layer names must be distinct")
        self.layers = [as_layer(v, f"NetGraph layer {k!r}") for k, v in items]
        self.names = names
        self.named = named
        edges = self._parse_connections(connections)
        self._wire(edges, input, output)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_edges(
        cls,
        layers: list[Layer],
        names: list[str],
        named: bool,
        edges: list[tuple[tuple[Any, str], tuple[Any, str]]],
        input: Any = None,
        output: Any = None,
        explicit_inputs: bool = True,
        explicit_outputs: bool = True,
        port_order: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> NetGraph:
        """Build a graph from resolved edges ``((layer index or None, port), (layer index or
        None, port))`` (None: a port of the graph); layers are used as they are.
        ``port_order`` gives the order of the graph's input and output ports."""
        g = cls.__new__(cls)
        Layer.__init__(g)
        g.layers = layers
        g.names = names
        g.named = named
        g._wire(list(edges), input, output, explicit_inputs, explicit_outputs, port_order)
        return g

    def _index(self, key: Any, trail: str) -> int:
        if _is_int(key):
            n = len(self.layers)
            if not (1 <= key <= n or -n <= key <= -1):
                raise ValueError(f"NetGraph: {trail}: layer position {key} is out of range 1..{n}")
            return key - 1 if key > 0 else n + key
        if isinstance(key, str):
            if key in self.names:
                return self.names.index(key)
            raise ValueError(
                f"NetGraph: {trail}: there is no layer named {key!r}; layers: {self.names}"
            )
        raise TypeError(
            f"NetGraph: {trail}: a layer is given by its position (int) or name (str), got {key!r}"
        )

    def _ports_of(self, i: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        layer = self.layers[i]
        ins = tuple(layer.input_ports) + tuple(getattr(layer, "optional_input_ports", ()))
        outs = tuple(layer.output_ports) + tuple(getattr(layer, "optional_output_ports", ()))
        return ins, outs

    def _label(self, i: int) -> str:
        layer = self.layers[i]
        return (
            f"{layer.name} {self.names[i]!r}" if self.named else f"{layer.name} at position {i + 1}"
        )

    def _parse_connections(self, connections: Any) -> list[tuple[Any, Any]]:
        if isinstance(connections, Mapping):
            pairs = list(connections.items())
        elif isinstance(connections, Sequence) and not isinstance(connections, str):
            pairs = []
            for c in connections:
                if not isinstance(c, tuple) or len(c) < 2:
                    raise TypeError(
                        f"NetGraph: a connection is a pair (source, destination) or a chain "
                        f"(a, b, c), got {c!r}"
                    )
                pairs.extend(zip(c[:-1], c[1:]))
        else:
            raise TypeError(
                f"NetGraph connections must be a dict or a list of pairs, got {type(connections).__name__}"
            )
        edges: list[tuple[Any, Any]] = []
        for src, dst in pairs:
            trail = f"connection {src!r} -> {dst!r}"
            sources = (
                list(src)
                if isinstance(src, list | tuple) and not isinstance(src, NetPort)
                else [src]
            )
            if not sources:
                raise ValueError(f"NetGraph: {trail}: no sources")
            resolved = [self._source(s, trail) for s in sources]
            dests = list(dst) if isinstance(dst, list) else [dst]
            for d in dests:
                target = self._destination(d, trail)
                for s in resolved:
                    edges.append((s, target))
        return edges

    def _layer_port(self, spec: NetPort, trail: str, side: str) -> tuple[Any, str]:
        """The endpoint a NetPort names in a connection: a graph port, or an existing
        ``side`` ("input" or "output") port of one of the graph's layers."""
        if spec.is_graph_port:
            return (GRAPH, spec.path[0])
        if len(spec.path) != 2:
            raise ValueError(
                f"NetGraph: {trail}: connect ports of the graph's own layers, got {spec!r}"
            )
        i = self._index(spec.path[0], trail)
        port = spec.path[1]
        ins, outs = self._ports_of(i)
        ports = ins if side == "input" else outs
        if port not in ports:
            raise ValueError(
                f"NetGraph: {trail}: {self._label(i)} has no {side} port {port!r}; it has {list(ports)}"
            )
        return (i, port)

    def _source(self, spec: Any, trail: str) -> tuple[Any, str]:
        if isinstance(spec, NetPort):
            return self._layer_port(spec, trail, "output")
        i = self._index(spec, trail)
        return (i, self.layers[i].output_ports[0])

    def _destination(self, spec: Any, trail: str) -> tuple[Any, str | None]:
        if isinstance(spec, NetPort):
            return self._layer_port(spec, trail, "input")
        if isinstance(spec, list | tuple):
            raise ValueError(f"NetGraph: {trail}: a destination is a layer or a port, got {spec!r}")
        return (self._index(spec, trail), None)

    def _wire(
        self,
        edges: list[tuple[Any, Any]],
        input: Any,
        output: Any,
        explicit_inputs: bool | None = None,
        explicit_outputs: bool | None = None,
        port_order: tuple[Sequence[str], Sequence[str]] | None = None,
    ) -> None:
        n = len(self.layers)
        feeds: list[dict[str, list[tuple[Any, str]]]] = [dict() for _ in range(n)]
        graph_out: dict[str, tuple[Any, str]] = {}
        named_inputs: list[str] = []
        resolved: list[tuple[tuple[Any, str], tuple[Any, str]]] = []
        for src, dst in edges:
            if src[0] is GRAPH and src[1] not in named_inputs:
                named_inputs.append(src[1])
            if dst[0] is GRAPH:
                if dst[1] in graph_out:
                    raise ValueError(
                        f"NetGraph: the graph's output port {dst[1]!r} is connected twice"
                    )
                if src[0] is GRAPH:
                    raise ValueError(
                        f"NetGraph: the graph's input {src[1]!r} is connected straight to its output"
                    )
                graph_out[dst[1]] = src
                resolved.append((src, dst))
                continue
            i, port = dst
            layer = self.layers[i]
            if port is None:
                if getattr(layer, "variadic", False):
                    port = "Input"
                else:
                    free = [p for p in layer.input_ports if p not in feeds[i]]
                    if not free:
                        raise ValueError(
                            f"NetGraph: input port {layer.input_ports[-1]!r} of "
                            f"{self._label(i)} is connected twice (its input ports: "
                            f"{list(layer.input_ports)})"
                        )
                    port = free[0]
            if port in feeds[i] and not (getattr(layer, "variadic", False) and port == "Input"):
                raise ValueError(f"NetGraph: port {port!r} of {self._label(i)} is connected twice")
            feeds[i].setdefault(port, []).append(src)
            resolved.append((src, (i, port)))
        self.feeds = feeds
        self.order = self._toposort()
        if explicit_inputs is None:
            explicit_inputs = bool(named_inputs)
        # unconnected inputs
        open_inputs: list[tuple[int, str]] = []
        for i, layer in enumerate(self.layers):
            if getattr(layer, "variadic", False) and "Input" not in feeds[i]:
                raise ValueError(
                    f"NetGraph: {self._label(i)} has no inputs connected; connect its sources with "
                    f"[a, b, ...] -> {self.names[i]!r}"
                )
            for p in layer.input_ports:
                if p not in feeds[i]:
                    open_inputs.append((i, p))
        if open_inputs and explicit_inputs:
            i, p = open_inputs[0]
            raise ValueError(
                f"NetGraph: input port {p!r} of {self._label(i)} is not connected (the graph's "
                f"inputs are named {named_inputs}); connect it, e.g. NetPort({p!r}) -> "
                f"{self.names[i]!r}"
            )
        inputs = list(named_inputs)
        for (i, p), name in zip(open_inputs, _name_ports(open_inputs, inputs)):
            feeds[i][p] = [(GRAPH, name)]
            resolved.append(((GRAPH, name), (i, p)))
        if not inputs:
            raise ValueError("NetGraph: the graph has no input port")
        # outputs
        if explicit_outputs is None:
            explicit_outputs = False
        outputs = list(graph_out)
        if not explicit_outputs:
            used = {s for f in feeds for srcs in f.values() for s in srcs}
            used |= set(graph_out.values())
            loose = [
                (i, p)
                for i, layer in enumerate(self.layers)
                for p in layer.output_ports
                if (i, p) not in used
            ]
            for (i, p), name in zip(loose, _name_ports(loose, outputs)):
                graph_out[name] = (i, p)
                resolved.append(((i, p), (GRAPH, name)))
        if not outputs:
            raise ValueError("NetGraph: the graph has no output port (every output feeds a layer)")
        if port_order is not None:
            rank_in = {p: k for k, p in enumerate(port_order[0])}
            rank_out = {p: k for k, p in enumerate(port_order[1])}
            inputs.sort(key=lambda p: rank_in.get(p, len(rank_in)))
            outputs.sort(key=lambda p: rank_out.get(p, len(rank_out)))
        self.graph_outputs = graph_out
        self.links = resolved
        self.input_ports = tuple(inputs)
        self.output_ports = tuple(outputs)
        self._plans: dict[Any, list[int]] = {}
        # shapes and decoders
        self.declared: dict[str, Any] = {}
        if input is not None:
            self.declared = _per_port(
                input,
                self.input_ports,
                "input",
                "shape",
                lambda v, k: shape_argument(
                    v, "NetGraph input" if k is None else f"NetGraph input {k!r}"
                ),
            )
        self.decoders: dict[str, NetDecoder] = {}
        if output is not None:
            self.decoders = _per_port(
                output, self.output_ports, "output", "decoder", lambda v, k: _decoder(v)
            )
        self.input_shapes = [self.declared.get(p) for p in self.input_ports]
        self.output_shapes = [None] * len(self.output_ports)
        self.bind(self._initial_shapes(), "NetGraph")

    def _toposort(self) -> list[int]:
        n = len(self.layers)
        deps = [
            {s[0] for srcs in self.feeds[i].values() for s in srcs if s[0] is not GRAPH}
            for i in range(n)
        ]
        order: list[int] = []
        done: set[int] = set()
        pending = set(range(n))
        while pending:
            ready = sorted(i for i in pending if deps[i] <= done)
            if not ready:
                cycle = self._find_cycle(deps, pending)
                raise ValueError(
                    "NetGraph: the connections form a cycle: "
                    + " -> ".join(repr(self.names[i]) if self.named else str(i + 1) for i in cycle)
                )
            for i in ready:
                order.append(i)
                done.add(i)
                pending.discard(i)
        return order

    def _find_cycle(self, deps: list[set[int]], pending: set[int]) -> list[int]:
        start = min(pending)
        path, seen = [start], {start: 0}
        node = start
        while True:
            nxt = min(d for d in deps[node] if d in pending)
            if nxt in seen:
                cyc = path[seen[nxt] :]
                return [*reversed(cyc), cyc[-1]]
            seen[nxt] = len(path)
            path.append(nxt)
            node = nxt

    # ------------------------------------------------------------------ shapes
    def _initial_shapes(self) -> list[Any]:
        shapes = []
        for p in self.input_ports:
            shape = self.declared.get(p)
            if shape is None:
                for i, layer in enumerate(self.layers):
                    for q, srcs in self.feeds[i].items():
                        if (GRAPH, p) in srcs and q in layer.input_ports:
                            own = layer.default_input_shapes()
                            k = layer.input_ports.index(q)
                            if k < len(own) and own[k] is not None:
                                shape = tuple(own[k])
            shapes.append(shape)
        return shapes

    def declared_input_shapes(self) -> list[Any]:
        return [self.declared.get(p) for p in self.input_ports]

    def default_input_shapes(self) -> list[Any]:
        return self._initial_shapes()

    def bind(self, input_shapes: list[Any], where: str) -> list[Any]:
        if len(input_shapes) != len(self.input_ports):
            raise ShapeError(
                f"{where}: the graph has input ports {list(self.input_ports)}, got "
                f"{len(input_shapes)} shapes"
            )
        known: dict[tuple[Any, str], Any] = {}
        for p, shape in zip(self.input_ports, input_shapes):
            if shape is not None:
                shape = tuple(shape)
                declared = self.declared.get(p)
                if declared is not None and not shape_fits(declared, shape):
                    raise ShapeError(
                        f"{where}: port {p!r} expects shape {format_shape(declared)}, got "
                        f"{format_shape(shape)}"
                    )
            known[(GRAPH, p)] = shape
        for i in self.order:
            layer = self.layers[i]
            where_i = f"{where}: {self._label(i)}"
            if getattr(layer, "variadic", False):
                shapes = [known[s] for s in self.feeds[i]["Input"]]
            else:
                shapes = [known[self.feeds[i][p][0]] for p in layer.input_ports]
            for p in getattr(layer, "optional_input_ports", ()):
                if p in self.feeds[i]:
                    got = known[self.feeds[i][p][0]]
                    want = layer.port_shape(p)
                    if got is not None and tuple(got) != tuple(want):
                        raise ShapeError(
                            f"{where_i}: port {p!r} expects shape {format_shape(want)}, got "
                            f"{format_shape(got)}"
                        )
            outs = layer.bind(shapes, where_i)
            for p, s in zip(layer.output_ports, outs):
                known[(i, p)] = s
            for p in getattr(layer, "optional_output_ports", ()):
                known[(i, p)] = layer.port_shape(p)
        self.input_shapes = [known[(GRAPH, p)] for p in self.input_ports]
        self.output_shapes = [known[self.graph_outputs[p]] for p in self.output_ports]
        for p, dec in self.decoders.items():
            shape = self.output_shapes[self.output_ports.index(p)]
            if shape is not None and (len(shape) != 1 or shape[0] != dec.size):
                raise ShapeError(
                    f"{where}: the decoder {dec!r} of port {p!r} needs an output vector of length "
                    f"{dec.size}, but the port gives {format_shape(shape)}"
                )
        self._shapes = known
        return self.output_shapes

    def port_shapes(self) -> dict[str, Any]:
        """Shapes of one example at every port of the graph, inputs then outputs."""
        return {
            **dict(zip(self.input_ports, self.input_shapes)),
            **dict(zip(self.output_ports, self.output_shapes)),
        }

    # ---- the NetChain-like interface NetTrain and NetInitialize use
    @property
    def input_shape(self) -> Any:
        """The input shape (one input port), a dict of them (several, once all are known), or
        None while one is unknown."""
        if len(self.input_ports) == 1:
            return self.input_shapes[0]
        if any(s is None for s in self.input_shapes):
            return None
        return dict(zip(self.input_ports, self.input_shapes))

    @property
    def output_shape(self) -> Any:
        """The output shape (one output port) or a dict of them."""
        if len(self.output_ports) == 1:
            return self.output_shapes[0]
        return dict(zip(self.output_ports, self.output_shapes))

    @property
    def input(self) -> Any:
        return (
            self.declared.get(self.input_ports[0]) if len(self.input_ports) == 1 else self.declared
        )

    @input.setter
    def input(self, shape: Any) -> None:
        if isinstance(shape, Mapping):
            for k, v in shape.items():
                self.declared[k] = None if v is None else tuple(v)
        else:
            self.declared[self.input_ports[0]] = None if shape is None else tuple(shape)

    def _infer(self, input_shape: Any) -> None:
        if isinstance(input_shape, Mapping):
            shapes = [input_shape.get(p, s) for p, s in zip(self.input_ports, self.input_shapes)]
        elif input_shape is None:
            shapes = self._initial_shapes()
        else:
            shapes = [input_shape]
        self.bind(shapes, "NetGraph")

    def set_input_shapes(self, shapes: Mapping[str, Any], name: str = "data") -> None:
        """Fix the input shapes from data (port -> shape of one example), checking known ones.

        Raises
        ------
        ValueError
            Naming the port and both shapes when data does not fit.
        """
        new = []
        for p, have in zip(self.input_ports, self.input_shapes):
            got = tuple(shapes[p])
            if have is not None and not shape_fits(have, got):
                raise ValueError(
                    f"{name}: the graph's port {p!r} expects examples of shape "
                    f"{format_shape(have)}, got {format_shape(got)}"
                )
            new.append(got if have is None else have)
        for p, s in zip(self.input_ports, new):
            if self.declared.get(p) is None:
                self.declared[p] = s
        self.bind(new, "NetGraph")

    @property
    def decoder(self) -> NetDecoder | None:
        """The decoder of the output port when there is one output port."""
        if len(self.output_ports) != 1:
            return None
        return self.decoders.get(self.output_ports[0])

    @decoder.setter
    def decoder(self, value: NetDecoder | None) -> None:
        port = self.output_ports[0]
        if value is None:
            self.decoders.pop(port, None)
        else:
            self.decoders[port] = value

    def takes_port_data(self, data: Any) -> bool:
        """Whether ``data`` is a dict keyed by this graph's port names."""
        return (
            isinstance(data, Mapping)
            and bool(data)
            and all(isinstance(k, str) for k in data)
            and all(k in self.input_ports or k in self.output_ports for k in data)
        )

    def port_data(self, data: Mapping[str, Any], name: str = "data") -> tuple[PortData, PortData]:
        """Split ``{port: array}`` training data into inputs and targets by port.

        Raises
        ------
        ValueError
            For a missing input port, no target port, non-numeric or non-finite inputs, or ports
            with different numbers of examples.
        """
        missing = [p for p in self.input_ports if p not in data]
        if missing:
            raise ValueError(
                f"{name}: no data for the graph's input port {missing[0]!r}; it needs "
                f"{list(self.input_ports)} and targets for some of {list(self.output_ports)}"
            )
        targets = [p for p in self.output_ports if p in data]
        if not targets:
            raise ValueError(
                f"{name}: no targets: give arrays for some of the output ports {list(self.output_ports)}"
            )
        inputs = {}
        for p in self.input_ports:
            a = xp.asarray(data[p])
            if a.dtype.kind not in "fiub":
                raise TypeError(f"{name}: port {p!r} must hold numbers, got dtype {a.dtype}")
            a = backend.as_float_array(a, name=f"{name} {p!r}")
            if a.ndim == 0 or len(a) == 0:
                raise ValueError(
                    f"{name}: port {p!r} needs one example per row, got shape {a.shape}"
                )
            if not bool(xp.all(xp.isfinite(a))):
                raise ValueError(f"{name}: port {p!r} contains NaN or infinity")
            inputs[p] = a
        outputs = {}
        for p in targets:
            y = data[p]
            y = y if hasattr(y, "shape") else np.asarray(y)
            if y.ndim == 0:
                raise ValueError(f"{name}: port {p!r} needs one target per example")
            if y.dtype.kind == "f" and not bool(xp.all(xp.isfinite(xp.asarray(y)))):
                raise ValueError(f"{name}: port {p!r} contains NaN or infinity")
            outputs[p] = y
        X, Y = PortData(inputs), PortData(outputs)
        if len(X) != len(Y):
            raise ValueError(f"{name}: {len(X)} examples at the input ports but {len(Y)} targets")
        return X, Y

    def port_view(self, port: str) -> _PortView:
        """One output port seen as a one-output net (for NetTrain's choice of loss)."""
        if port not in self.output_ports:
            raise ValueError(
                f"the graph has no output port {port!r}; ports: {list(self.output_ports)}"
            )
        return _PortView(self, port)

    def final_layer(self, port: str | None = None) -> Layer:
        """The layer that produces an output port (innermost, through nested nets)."""
        port = self.output_ports[0] if port is None else port
        i, p = self.graph_outputs[port]
        layer = self.layers[i]
        if isinstance(layer, NetChain):
            return layer.final_layer()
        if isinstance(layer, NetGraph):
            return layer.final_layer(p)
        return layer

    # ------------------------------------------------------------------ structure
    def edges(self) -> list[tuple[Any, Any]]:
        """The connections as ``(source, target)`` pairs of layer names (as :meth:`children`
        gives them), with "Input" and "Output" standing for the graph's own ports; each pair
        once (the port-level connections are ``self.links``)."""

        def name(e: tuple[Any, str], port_side: str) -> Any:
            if e[0] is GRAPH:
                return port_side
            return self.names[e[0]] if self.named else e[0] + 1

        pairs: list[tuple[Any, Any]] = []
        for src, dst in self.links:
            pair = (name(src, "Input"), name(dst, "Output"))
            if pair not in pairs:
                pairs.append(pair)
        return pairs

    def copy(self) -> NetGraph:
        new = super().copy()
        new.feeds = [{p: list(s) for p, s in f.items()} for f in self.feeds]
        new.graph_outputs = dict(self.graph_outputs)
        new.links = list(self.links)
        new.order = list(self.order)
        new._plans = {}
        new.declared = dict(self.declared)
        new.decoders = dict(self.decoders)
        new._shapes = dict(getattr(self, "_shapes", {}))
        return new

    def config(self) -> dict[str, Any]:
        raise NotImplementedError("NetGraph is serialised by its to_json")

    def endpoint_of(self, port: NetPort | str) -> tuple[Any, str]:
        """The (layer index or None, port) whose value a NetPort names: a graph port, a
        layer's output, or for a layer's input port the source that feeds it."""
        if isinstance(port, str):
            port = NetPort(port)
        if port.is_graph_port:
            name = port.path[0]
            if name in self.input_ports:
                return (GRAPH, name)
            if name in self.output_ports:
                return self.graph_outputs[name]
            raise ValueError(
                f"the graph has no port {name!r}; ports: {list(self.input_ports + self.output_ports)}"
            )
        i = self._index(port.path[0], f"{port!r}")
        name = port.path[-1]
        ins, outs = self._ports_of(i)
        if len(port.path) == 2 and name in outs:
            return (i, name)
        if len(port.path) == 2 and name in ins:
            if name not in self.feeds[i]:
                raise ValueError(f"{port!r}: port {name!r} of {self._label(i)} is not connected")
            srcs = self.feeds[i][name]
            if len(srcs) != 1:
                raise ValueError(f"{port!r}: port {name!r} of {self._label(i)} has several sources")
            return srcs[0]
        raise ValueError(
            f"{port!r}: {self._label(i)} has no port {name!r}; inputs {list(ins)}, outputs {list(outs)}"
        )

    # ------------------------------------------------------------------ computation
    def _feeders(self, i: int) -> list[int]:
        """The layers whose outputs feed layer ``i``."""
        return [s[0] for srcs in self.feeds[i].values() for s in srcs if s[0] is not GRAPH]

    def _plan(self, wanted: tuple[tuple[Any, str], ...]) -> list[int]:
        plan = self._plans.get(wanted)
        if plan is None:
            need = reachable((w[0] for w in wanted if w[0] is not GRAPH), self._feeders)
            plan = [i for i in self.order if i in need]
            self._plans[wanted] = plan
        return plan

    def run_ports(
        self,
        inputs: Mapping[str, Tensor],
        ctx: Context,
        wanted: Sequence[tuple[Any, str]] | None = None,
        drop_final: Any = False,
    ) -> dict[Any, Tensor]:
        """Compute the graph on batches of Tensors by input port.

        Returns the output Tensors by output port (or, with ``wanted`` endpoints, by endpoint).
        ``drop_final`` (True, or a set of output ports) leaves the final softmax / sigmoid of
        those outputs out, for a loss computed from logits.
        """
        for p in self.input_ports:
            if p not in inputs:
                raise ValueError(f"the graph needs its input port {p!r}; got {sorted(inputs)}")
        if drop_final is True:
            drop = set(self.output_ports)
        elif drop_final:
            drop = set(drop_final)
        else:
            drop = set()
        targets = (
            tuple(self.graph_outputs[p] for p in self.output_ports)
            if wanted is None
            else tuple(wanted)
        )
        values: dict[tuple[Any, str], Tensor] = {(GRAPH, p): inputs[p] for p in self.input_ports}
        consumers = self._consumed_outputs()
        extra: dict[int, set[str]] = {}
        for w in targets:
            if w[0] is not GRAPH:
                extra.setdefault(w[0], set()).add(w[1])
        for i in self._plan(targets):
            layer = self.layers[i]
            args: dict[str, Any] = {}
            for p, srcs in self.feeds[i].items():
                if getattr(layer, "variadic", False) and p == "Input":
                    args[p] = [values[s] for s in srcs]
                else:
                    args[p] = values[srcs[0]]
            want = consumers[i] if i not in extra else tuple(extra[i] | set(consumers[i]))
            res = run_layer(layer, args, ctx, want)
            for p, t in res.items():
                values[(i, p)] = t
        if wanted is not None:
            return {w: values[w] for w in wanted}
        out: dict[Any, Tensor] = {}
        for p in self.output_ports:
            src = self.graph_outputs[p]
            if p in drop and src[0] is not GRAPH:
                layer = self.layers[src[0]]
                args = {
                    q: values[s[0]]
                    for q, s in self.feeds[src[0]].items()
                    if not getattr(layer, "variadic", False)
                }
                if isinstance(layer, NetChain | NetGraph) or _final_kind(layer):
                    out[p] = run_layer(layer, args, ctx, (src[1],), drop_final=True)[src[1]]
                    continue
            out[p] = values[src]
        return out

    def _consumed_outputs(self) -> list[tuple[str, ...]]:
        cached = getattr(self, "_consumed", None)
        if cached is None or len(cached) != len(self.layers):
            used: list[set[str]] = [set() for _ in self.layers]
            for src, _ in self.links:
                if src[0] is not GRAPH:
                    used[src[0]].add(src[1])
            cached = [tuple(sorted(u)) for u in used]
            self._consumed = cached
        return cached

    def run(self, x: Any, ctx: Context, drop_final: Any = False) -> Any:
        """NetChain's interface: a Tensor for a one-input graph (or a dict by port); returns a
        Tensor for a one-output graph, else a dict by output port."""
        inputs = x if isinstance(x, Mapping) else {self.input_ports[0]: x}
        out = self.run_ports(inputs, ctx, drop_final=drop_final)
        if len(self.output_ports) == 1:
            return out[self.output_ports[0]]
        return out

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Any:
        out = self.run_ports(dict(zip(self.input_ports, inputs)), ctx)
        if len(self.output_ports) == 1:
            return out[self.output_ports[0]]
        return [out[p] for p in self.output_ports]

    # ------------------------------------------------------------------ evaluation
    def prepare_inputs(
        self, x: Any, name: str = "input"
    ) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        """Validate inputs: returns (batch arrays by port, whether one example was given,
        lengths by port for padded sequences).

        Raises
        ------
        ValueError
            For an uninitialised net, a missing or unknown port, wrong shapes, NaN or infinity,
            or ports with different numbers of examples.
        """
        self._check_initialized()
        if isinstance(x, Mapping):
            unknown = set(x) - set(self.input_ports)
            if unknown:
                raise ValueError(
                    f"{name}: the graph has no input port {sorted(unknown)[0]!r}; ports: {list(self.input_ports)}"
                )
            given = dict(x)
        elif len(self.input_ports) == 1:
            given = {self.input_ports[0]: x}
        else:
            raise ValueError(
                f"{name}: the graph has input ports {list(self.input_ports)}; give a dict {{port: array}}"
            )
        arrays, lengths, singles = {}, {}, set()
        dtype = self.dtype
        for p, shape in zip(self.input_ports, self.input_shapes):
            if p not in given:
                raise ValueError(f"{name}: missing the graph's input port {p!r}")
            if shape is None:
                raise ValueError(
                    f"{name}: the shape of port {p!r} is unknown; give input= or train first"
                )
            v = given[p]
            L = None
            if _ragged(v, len(shape)):
                X, L = pad_sequences(v, shape[0], dtype, f"{name} {p!r}")
            else:
                X = backend.as_float_array(v, dtype, name=f"{name} {p!r}")
            batch = _one_or_batch(X, shape)
            if batch is None:
                raise ValueError(
                    f"{name}: the graph's port {p!r} expects one example of shape "
                    f"{format_shape(shape)} or a batch of them, got shape {tuple(X.shape)}"
                )
            X, single = batch
            if not bool(xp.all(xp.isfinite(X))):
                raise ValueError(f"{name}: port {p!r} contains NaN or infinity")
            arrays[p] = X
            singles.add(single)
            if L is not None:
                lengths[p] = L
        sizes = {len(a) for a in arrays.values()}
        if len(sizes) > 1 or len(singles) > 1:
            raise ValueError(
                f"{name}: every input port needs the same number of examples, got "
                f"{ {p: tuple(a.shape) for p, a in arrays.items()} }"
            )
        if 0 in sizes:
            raise ValueError(f"{name}: empty batch")
        return arrays, singles.pop(), lengths

    def evaluate_endpoints(
        self,
        arrays: Mapping[str, Any],
        lengths: Mapping[str, Any],
        wanted: Sequence[tuple[Any, str]],
    ) -> tuple[list[Any], list[Any]]:
        """Values (and lengths, or None) of endpoints for validated batches, in chunks."""
        n = len(next(iter(arrays.values())))
        chunks: list[list[Any]] = [[] for _ in wanted]
        lens: list[list[Any]] = [[] for _ in wanted]
        with no_grad():
            for start in range(0, n, EVAL_CHUNK):
                ctx = Context(training=False)
                inputs = {}
                for p, a in arrays.items():
                    t = constant(a[start : start + EVAL_CHUNK])
                    if p in lengths:
                        set_sequence_lengths(ctx, t, lengths[p][start : start + EVAL_CHUNK])
                    inputs[p] = t
                res = self.run_ports(inputs, ctx, wanted)
                for k, w in enumerate(wanted):
                    chunks[k].append(res[w].data)
                    lens[k].append(sequence_lengths(ctx, res[w]))
        values = [c[0] if len(c) == 1 else xp.concatenate(c) for c in chunks]
        out_lengths = [None if any(v is None for v in ls) else xp.concatenate(ls) for ls in lens]
        return values, out_lengths

    def __call__(self, x: Any, prop: Any = None) -> Any:
        """Apply the graph to one example or a batch.

        Parameters
        ----------
        x : array_like or dict
            For one input port an array (one example, a batch, or a list of sequences of
            different lengths); otherwise ``{port: array}``.
        prop : str or NetPort, optional
            A decoder property ("Decision", "Probabilities", "TopProbabilities"), or a
            ``NetPort`` whose values to return: a port of the graph, or of a layer inside it,
            e.g. ``NetPort((2, "Output"))``.

        Returns
        -------
        The output (NumPy array, decoded when the port has a decoder) for one output port,
        else a dict by output port.
        """
        if isinstance(prop, NetPort):
            return evaluate_port(self, x, prop)
        arrays, single, lengths = self.prepare_inputs(x)
        wanted = [self.graph_outputs[p] for p in self.output_ports]
        values, out_lengths = self.evaluate_endpoints(arrays, lengths, wanted)
        results = {}
        for p, v, L in zip(self.output_ports, values, out_lengths):
            dec = self.decoders.get(p)
            if dec is not None:
                results[p] = dec.decode(v, prop, single)
                continue
            if prop not in (None, "Decision") and not self.decoders:
                raise ValueError(f"property {prop!r} needs an output decoder (NetDecoder)")
            results[p] = _unbatch(v, L, single)
        if len(results) == 1:
            return next(iter(results.values()))
        return results

    # ------------------------------------------------------------------ display and saving
    def _endpoint_label(self, e: tuple[Any, str]) -> str:
        if e[0] is GRAPH:
            return f"NetPort({e[1]!r})"
        main_in = self.layers[e[0]].input_ports
        main_out = self.layers[e[0]].output_ports
        if (len(main_out) == 1 and e[1] == main_out[0]) or (
            len(main_in) == 1 and e[1] == main_in[0]
        ):
            return repr(self.names[e[0]]) if self.named else str(e[0] + 1)
        key = self.names[e[0]] if self.named else e[0] + 1
        return f"NetPort(({key!r}, {e[1]!r}))"

    def table(self) -> str:
        """The layers with their output shapes and parameter counts, then the connections."""
        rows = [
            ("", f"NetPort({p!r})", format_shape(s), "")
            for p, s in zip(self.input_ports, self.input_shapes)
        ]
        extra = f"; inputs {list(self.input_ports)}, outputs {list(self.output_ports)}"
        lines = self._table_lines("NetGraph", rows, extra)
        conns = [f"{self._endpoint_label(s)} -> {self._endpoint_label(d)}" for s, d in self.links]
        lines.append("  connections: " + ", ".join(conns))
        return "\n".join(lines)

    def summary(self) -> str:
        return f"NetGraph[{len(self.layers)} layers]"

    def to_json(self, layer_to_json: Any) -> dict[str, Any]:
        """The JSON description (layers, resolved connections, shapes, decoders)."""

        def end(e: tuple[Any, str]) -> list[Any]:
            return [None if e[0] is GRAPH else e[0], e[1]]

        return {
            "type": "NetGraph",
            "names": self.names if self.named else None,
            "layers": [layer_to_json(layer) for layer in self.layers],
            "edges": [[end(s), end(d)] for s, d in self.links],
            "inputs": {
                p: None if s is None else ["Varying" if v is None else v for v in s]
                for p, s in zip(self.input_ports, self.input_shapes)
            },
            "input_order": list(self.input_ports),
            "output_order": list(self.output_ports),
            "decoders": {p: d.config() for p, d in self.decoders.items()},
        }


def _graph_from_json(desc: dict[str, Any], layer_from_json: Any) -> NetGraph:
    layers = [layer_from_json(c) for c in desc["layers"]]
    names = desc.get("names")
    named = names is not None
    names = list(names) if named else [str(i + 1) for i in range(len(layers))]

    def end(e: list[Any]) -> tuple[Any, str]:
        return (GRAPH if e[0] is None else int(e[0]), str(e[1]))

    edges = [(end(s), end(d)) for s, d in desc["edges"]]
    inputs = {p: s for p, s in (desc.get("inputs") or {}).items() if s is not None}
    decoders = {p: NetDecoder.from_config(c) for p, c in (desc.get("decoders") or {}).items()}
    order = (desc.get("input_order", []), desc.get("output_order", []))
    return NetGraph.from_edges(
        layers, names, named, edges, inputs or None, decoders or None, port_order=order
    )


io.CONTAINERS["NetGraph"] = _graph_from_json


def _decoder(value: Any) -> NetDecoder:
    if isinstance(value, NetDecoder):
        return value
    if value == "Scalar":
        return NetDecoder("Scalar")
    raise TypeError(f"an output decoder must be a NetDecoder or 'Scalar', got {value!r}")


def _unbatch(v: Any, L: Any, single: bool) -> Any:
    v = backend.to_numpy(v)
    if single:
        return v[0]
    if L is not None:
        L = backend.to_numpy(L)
        return [v[k, : int(n)] for k, n in enumerate(L)]
    return v


# ----------------------------------------------------------------------------- inner ports


def evaluate_port(net: Layer, x: Any, port: NetPort) -> Any:
    """The values at a port of a net (a NetChain or a NetGraph) for input ``x``:
    ``NetPort((2, "Output"))`` is what layer 2 gives, ``NetPort((2, "Input"))`` what it gets,
    ``NetPort(("lstm", "State"))`` the final state of a recurrent layer; a path through nested
    nets such as ``NetPort((2, 1, "Output"))`` reaches inside them.

    Raises
    ------
    ValueError
        For a port that does not exist.
    """
    if not isinstance(port, NetPort):
        raise TypeError(f"expected a NetPort, got {port!r}")
    if isinstance(net, NetGraph):
        graph = net
    elif isinstance(net, NetChain):
        graph = _chain_as_graph(net)
    else:
        raise TypeError(f"evaluate_port needs a NetChain or NetGraph, got {type(net).__name__}")
    arrays, single, lengths = graph.prepare_inputs(x)
    path = port.path
    if len(path) > 2:
        # reach into a nested net: compute what it receives, then recurse
        i = graph._index(path[0], repr(port))
        inner = graph.layers[i]
        if not isinstance(inner, NetChain | NetGraph):
            raise ValueError(f"{port!r}: {graph._label(i)} is a layer, not a net")
        wanted = [graph.feeds[i][p][0] for p in inner.input_ports]
        values, _ = graph.evaluate_endpoints(arrays, lengths, wanted)
        inner_x = {p: backend.to_numpy(v) for p, v in zip(inner.input_ports, values)}
        if single:
            inner_x = {p: v[0] for p, v in inner_x.items()}
        if isinstance(inner, NetChain):
            inner_x = inner_x["Input"]
        return evaluate_port(inner, inner_x, NetPort(path[1:]))
    e = graph.endpoint_of(port)
    values, out_lengths = graph.evaluate_endpoints(arrays, lengths, [e])
    return _unbatch(values[0], out_lengths[0], single)


def _chain_as_graph(chain: NetChain) -> NetGraph:
    """A NetChain seen as a graph (sharing its layers), for evaluating inner ports."""
    n = len(chain.layers)
    edges: list[tuple[tuple[Any, str], tuple[Any, str]]] = [((GRAPH, "Input"), (0, "Input"))]
    for i in range(1, n):
        edges.append(((i - 1, "Output"), (i, "Input")))
    edges.append(((n - 1, "Output"), (GRAPH, "Output")))
    names = list(chain.names)
    g = NetGraph.from_edges(
        list(chain.layers), names, chain.named, edges, {"Input": chain.input_shape}
    )
    return g
