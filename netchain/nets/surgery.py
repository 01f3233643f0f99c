"""Net surgery: NetTake, NetDrop, NetReplacePart and NetFlatten, on chains and graphs.

Each returns a new net (the argument is unchanged, its arrays copied), with shapes inferred
again, so that a replacement that does not fit is reported naming the layer and both shapes.
Layers are named as in the net: positions from 1 (negative from the end) or names.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from netchain.layers import Layer
from netchain.nets.chain import NetChain, as_layer
from netchain.nets.decoders import NetDecoder
from netchain.nets.graph import GRAPH, NetGraph, NetPort, _chain_as_graph, reachable

__all__ = ["NetDrop", "NetFlatten", "NetReplacePart", "NetTake"]


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _position(net: NetChain | NetGraph, key: Any, fn: str) -> int:
    """A layer given by position (from 1; negative from the end) or name, as a 0-based index."""
    n = len(net.layers)
    if _is_int(key):
        if not (1 <= key <= n or -n <= key <= -1):
            raise ValueError(f"{fn}: position {key} is out of range 1..{n}")
        return key - 1 if key > 0 else n + key
    if isinstance(key, str):
        if key in net.names and (net.named or isinstance(net, NetGraph)):
            return net.names.index(key)
        raise ValueError(f"{fn}: there is no layer named {key!r}; layers: {net.names}")
    raise TypeError(f"{fn}: a layer is a position (int) or a name (str), got {key!r}")


def _check_net(net: Any, fn: str) -> None:
    if not isinstance(net, NetChain | NetGraph):
        raise TypeError(f"{fn} needs a NetChain or NetGraph, got {type(net).__name__}")


def _rebuild_chain(
    net: NetChain, keep: list[int], keep_decoder: bool, input_shape: Any
) -> NetChain:
    layers = [net.layers[i].copy() for i in keep]
    items: Any = {net.names[i]: layer for i, layer in zip(keep, layers)} if net.named else layers
    decoder = net.decoder if keep_decoder else None
    return NetChain(items, input=input_shape, output=decoder)


def _chain_range(net: NetChain, spec: Any, fn: str) -> tuple[int, int]:
    """(start, stop) 0-based, stop exclusive, for NetTake's and NetDrop's chain specs."""
    n = len(net.layers)
    if isinstance(spec, tuple | list):
        if len(spec) != 2:
            raise ValueError(f"{fn}: a range is (first, last), got {spec!r}")
        a, b = (_position(net, s, fn) for s in spec)
        if b < a:
            raise ValueError(f"{fn}: the range {spec!r} is empty (last comes before first)")
        return a, b + 1
    if _is_int(spec):
        if spec == 0 or abs(spec) > n:
            raise ValueError(f"{fn}: {spec} layers is out of range for a chain of {n}")
        return (0, spec) if spec > 0 else (n + spec, n)
    return 0, _position(net, spec, fn) + 1


# ----------------------------------------------------------------------------- graph helpers


def _ancestors(g: NetGraph, i: int) -> set[int]:
    return reachable([i], g._feeders)


def _descendants(g: NetGraph, i: int) -> set[int]:
    return reachable(
        [i], lambda j: [dst[0] for src, dst in g.links if src[0] == j and dst[0] is not GRAPH]
    )


def _unique(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    k = 1
    while f"{name}{k}" in taken:
        k += 1
    return f"{name}{k}"


def _subgraph(g: NetGraph, keep: set[int], outputs: dict[str, tuple[int, str]] | None) -> NetGraph:
    """The graph of the layers ``keep``: sources outside it become graph inputs; ``outputs``
    (name -> endpoint) are the outputs, or None to keep the graph's own and expose loose ones."""
    order = [i for i in range(len(g.layers)) if i in keep]
    remap = {i: k for k, i in enumerate(order)}
    layers = [g.layers[i].copy() for i in order]
    names = [g.names[i] for i in order]
    edges: list[tuple[tuple[Any, str], tuple[Any, str]]] = []
    shapes: dict[str, Any] = {}
    taken = set()
    made: dict[tuple[Any, str], str] = {}
    for src, dst in g.links:
        if dst[0] is GRAPH or dst[0] not in keep:
            continue
        new_dst = (remap[dst[0]], dst[1])
        if src[0] is GRAPH:
            name = src[1]
            taken.add(name)
            shapes[name] = g._shapes.get(src)
            edges.append(((GRAPH, name), new_dst))
        elif src[0] in keep:
            edges.append(((remap[src[0]], src[1]), new_dst))
        else:
            name = made.get(src)
            if name is None:
                name = _unique(dst[1], taken | set(made.values()))
                made[src] = name
                shapes[name] = g._shapes.get(src)
            edges.append(((GRAPH, name), new_dst))
    out_names: list[str] = []
    if outputs is None:
        for src, dst in g.links:
            if dst[0] is GRAPH and src[0] is not GRAPH and src[0] in keep:
                edges.append(((remap[src[0]], src[1]), dst))
                out_names.append(dst[1])
        explicit = False
    else:
        for name, src in outputs.items():
            edges.append(((remap[src[0]], src[1]), (GRAPH, name)))
            out_names.append(name)
        explicit = True
    decoders = {p: d for p, d in g.decoders.items() if p in out_names}
    inputs = {p: s for p, s in shapes.items() if s is not None}
    in_order = [p for p in g.input_ports if p in shapes] + [
        p for p in shapes if p not in g.input_ports
    ]
    return NetGraph.from_edges(
        layers,
        names,
        g.named,
        edges,
        inputs or None,
        decoders or None,
        explicit_inputs=True,
        explicit_outputs=explicit,
        port_order=(in_order, [p for p in g.output_ports if p in out_names] + out_names),
    )


def _graph_endpoint(g: NetGraph, spec: Any, fn: str) -> tuple[int, str]:
    if isinstance(spec, NetPort):
        e = g.endpoint_of(spec)
        if e[0] is GRAPH:
            raise ValueError(f"{fn}: {spec!r} is an input of the graph, not a layer's output")
        return e
    i = _position(g, spec, fn)
    return (i, g.layers[i].output_ports[0])


def _output_name(g: NetGraph, e: tuple[int, str]) -> str:
    for name, src in g.graph_outputs.items():
        if src == e:
            return name
    return e[1]


# ----------------------------------------------------------------------------- NetTake / NetDrop


def NetTake(net: NetChain | NetGraph, spec: Any) -> NetChain | NetGraph:
    """The part of a net up to a layer, or between two layers.

    Parameters
    ----------
    net : NetChain or NetGraph
    spec : int, str, NetPort or (start, end)
        For a chain: n (the first n layers; -n the last n), a layer name or position (the layers
        up to it), or (start, end) (from start to end, inclusive). For a graph: a layer or a
        ``NetPort((layer, port))`` (that layer and everything it depends on, its output becoming
        the graph's output), or (start, end) (the layers on paths from start to end; what start
        and the others received from outside becomes inputs of the new graph).

    Returns
    -------
    NetChain or NetGraph
        A new net with copies of the arrays.

    Raises
    ------
    ValueError
        For positions out of range, unknown names, or an empty part.
    """
    _check_net(net, "NetTake")
    if isinstance(net, NetChain):
        a, b = _chain_range(net, spec, "NetTake")
        shape = net.layers[a].input_shapes[0] if a > 0 else net.input_shape
        return _rebuild_chain(net, list(range(a, b)), b == len(net.layers), shape)
    if isinstance(spec, tuple | list) and not isinstance(spec, NetPort):
        if len(spec) != 2:
            raise ValueError(f"NetTake: a range is (start, end), got {spec!r}")
        start = _graph_endpoint(net, spec[0], "NetTake")[0]
        end = _graph_endpoint(net, spec[1], "NetTake")
        keep = _descendants(net, start) & _ancestors(net, end[0])
        if not keep:
            raise ValueError(f"NetTake: no path leads from {spec[0]!r} to {spec[1]!r}")
        return _subgraph(net, keep, {_output_name(net, end): end})
    end = _graph_endpoint(net, spec, "NetTake")
    return _subgraph(net, _ancestors(net, end[0]), {_output_name(net, end): end})


def NetDrop(net: NetChain | NetGraph, spec: Any) -> NetChain | NetGraph:
    """A net without some of its layers.

    Parameters
    ----------
    net : NetChain or NetGraph
    spec : int, str, (first, last) or list of layers
        For a chain: n (drop the first n layers; -n the last n) or (first, last) (drop that
        range; only at either end of the chain). For a graph: a layer or a list of layers to
        remove with everything that depends on them; outputs that fed them become outputs of
        the graph.

    Raises
    ------
    ValueError
        For positions out of range, unknown names, or dropping every layer.
    """
    _check_net(net, "NetDrop")
    n = len(net.layers)
    if isinstance(net, NetChain):
        if isinstance(spec, tuple | list):
            a, b = _chain_range(net, spec, "NetDrop")
            if a != 0 and b != n:
                raise ValueError(
                    "NetDrop: dropping layers from the middle of a chain would join layers that "
                    "did not meet; drop from either end, or use a NetGraph"
                )
        elif _is_int(spec):
            if spec == 0 or abs(spec) > n:
                raise ValueError(f"NetDrop: {spec} layers is out of range for a chain of {n}")
            a, b = (0, spec) if spec > 0 else (n + spec, n)
        else:
            raise TypeError(
                f"NetDrop: a chain takes a count n or a range (first, last), got {spec!r}"
            )
        keep = [i for i in range(n) if not a <= i < b]
        if not keep:
            raise ValueError("NetDrop: that would drop every layer")
        shape = net.layers[keep[0]].input_shapes[0] if keep[0] > 0 else net.input_shape
        return _rebuild_chain(net, keep, keep[-1] == n - 1, shape)
    specs = spec if isinstance(spec, list) else [spec]
    gone: set[int] = set()
    for s in specs:
        gone |= _descendants(net, _position(net, s, "NetDrop"))
    keep = set(range(n)) - gone
    if not keep:
        raise ValueError("NetDrop: that would drop every layer")
    return _subgraph(net, keep, None)


# ----------------------------------------------------------------------------- NetReplacePart


def NetReplacePart(net: NetChain | NetGraph, replacements: Any) -> NetChain | NetGraph:
    """A net with layers, arrays, the input shape or the output decoder replaced.

    Parameters
    ----------
    net : NetChain or NetGraph
    replacements : dict or list of pairs
        ``{part: value}``. A part is a layer (position, name, or a path ``(2, 1)`` into nested
        nets; the value a layer or shorthand), an array ``(position, ..., "Weights")`` (the value
        an array of the same shape), "Input" (the value a shape) or "Output" (a NetDecoder or
        "Scalar"); for a graph also ``NetPort(name)`` for its ports.

    Raises
    ------
    ValueError
        For an unknown part, or a replacement that does not fit (shapes are inferred again and
        a mismatch is reported naming the layer and both shapes).
    """
    _check_net(net, "NetReplacePart")
    if isinstance(replacements, Mapping):
        pairs = list(replacements.items())
    elif isinstance(replacements, tuple) and len(replacements) == 2:
        pairs = [replacements]
    elif isinstance(replacements, Sequence):
        pairs = list(replacements)
    else:
        raise TypeError(f"NetReplacePart: give {{part: value}}, got {replacements!r}")
    new = net.copy()
    for part, value in pairs:
        new = _replace(new, part, value)
    return _reinfer(new)


def _reinfer(net: NetChain | NetGraph) -> NetChain | NetGraph:
    if isinstance(net, NetChain):
        net._infer(net.input)
    else:
        shapes = [net.declared.get(p) for p in net.input_ports]
        if all(s is None for s in shapes):
            shapes = net._initial_shapes()
        net._plans = {}
        net.bind(shapes, "NetReplacePart")
    return net


def _replace(net: Any, part: Any, value: Any) -> Any:
    fn = "NetReplacePart"
    if isinstance(part, NetPort) and part.is_graph_port:
        part = part.path[0]
    if isinstance(part, str) and part not in net.names:
        if (
            isinstance(net, NetChain)
            and part == "Input"
            or (isinstance(net, NetGraph) and part in net.input_ports)
        ):
            from netchain.layers import shape_argument

            shape = shape_argument(value, f"{fn} {part!r}")
            if isinstance(net, NetChain):
                net.input = shape
            else:
                net.declared[part] = shape
            return net
        if (isinstance(net, NetChain) and part == "Output") or (
            isinstance(net, NetGraph) and part in net.output_ports
        ):
            dec = NetDecoder("Scalar") if value == "Scalar" else value
            if dec is not None and not isinstance(dec, NetDecoder):
                raise TypeError(
                    f"{fn}: the output takes a NetDecoder, 'Scalar' or None, got {value!r}"
                )
            if isinstance(net, NetChain):
                net.decoder = dec
            elif dec is None:
                net.decoders.pop(part, None)
            else:
                net.decoders[part] = dec
            return net
    path = part if isinstance(part, tuple) else (part,)
    if not path:
        raise ValueError(f"{fn}: empty part")
    return _replace_path(net, path, value, fn)


def _replace_path(node: Any, path: tuple[Any, ...], value: Any, fn: str) -> Any:
    key, rest = path[0], path[1:]
    if not isinstance(node, NetChain | NetGraph):
        if len(path) == 1 and isinstance(key, str):
            if key not in node.arrays or key in node.disabled:
                raise ValueError(
                    f"{fn}: {node.name} has no array {key!r}; arrays: "
                    f"{[n for n in node.arrays if n not in node.disabled]}"
                )
            dtype = next((a.dtype for a in node.arrays.values() if a is not None), None)
            old_shape = node.array_shapes.get(key)
            node.set_array(key, value, dtype)
            got = tuple(node.arrays[key].shape)
            if old_shape is not None and got != tuple(old_shape):
                raise ValueError(
                    f"{fn}: array {key!r} of {node.name} must have shape {tuple(old_shape)}, got {got}"
                )
            return node
        raise ValueError(f"{fn}: {node.name} is a layer, not a net; it has no part {key!r}")
    i = _position(node, key, fn)
    if rest:
        node.layers[i] = _replace_path(node.layers[i], rest, value, fn)
        return node
    new_layer = as_layer(value, f"{fn} {key!r}")
    if isinstance(node, NetGraph):
        old = node.layers[i]
        for p in node.feeds[i]:
            ports = tuple(new_layer.input_ports) + tuple(
                getattr(new_layer, "optional_input_ports", ())
            )
            if p not in ports and not (getattr(new_layer, "variadic", False) and p == "Input"):
                raise ValueError(
                    f"{fn}: the new layer {new_layer.name} has no input port {p!r} that "
                    f"{old.name} {node.names[i]!r} is connected at"
                )
        outs = tuple(new_layer.output_ports) + tuple(
            getattr(new_layer, "optional_output_ports", ())
        )
        for src, _ in node.links:
            if src[0] == i and src[1] not in outs:
                raise ValueError(
                    f"{fn}: the new layer {new_layer.name} has no output port {src[1]!r} that "
                    f"{old.name} {node.names[i]!r} feeds from"
                )
        node._consumed = None
    node.layers[i] = new_layer
    return node


# ----------------------------------------------------------------------------- NetFlatten


def _has_graph(net: Layer) -> bool:
    if isinstance(net, NetGraph):
        return True
    if isinstance(net, NetChain):
        return any(_has_graph(layer) for layer in net.layers)
    return False


def _flat_chain(net: NetChain, prefix: str) -> list[tuple[str, Layer]]:
    items: list[tuple[str, Layer]] = []
    for name, layer in zip(net.names, net.layers):
        full = f"{prefix}{name}"
        if isinstance(layer, NetChain):
            items.extend(_flat_chain(layer, f"{full}/"))
        else:
            items.append((full, layer))
    return items


def NetFlatten(net: NetChain | NetGraph) -> NetChain | NetGraph:
    """A net with its nested NetChains and NetGraphs replaced by their layers.

    Parameters
    ----------
    net : NetChain or NetGraph

    Returns
    -------
    NetChain or NetGraph
        A chain of chains is one chain; anything with a graph inside becomes one graph. Inner
        layers are named by their paths joined with "/" (``"2/1"``: layer 1 of the net at 2),
        the same paths that name their arrays; a chain of unnamed chains stays unnamed.
        Operators (NetMapOperator, NetBidirectionalOperator) are kept whole.
    """
    _check_net(net, "NetFlatten")
    src = net.copy()
    if isinstance(src, NetChain) and not _has_graph(src):
        items = _flat_chain(src, "")
        layers: Any = [layer for _, layer in items]
        if any(c.named for c in _chains(src)):
            layers = dict(items)
        return NetChain(layers, input=src.input_shape, output=src.decoder)
    graph = _chain_as_graph(src) if isinstance(src, NetChain) else src
    if isinstance(src, NetChain) and src.decoder is not None:
        graph.decoders["Output"] = src.decoder
    return _flatten_graph(graph)


def _chains(net: NetChain) -> list[NetChain]:
    out = [net]
    for layer in net.layers:
        if isinstance(layer, NetChain):
            out.extend(_chains(layer))
    return out


def _flatten_graph(g: NetGraph) -> NetGraph:
    """Inline nested nets of a graph, repeatedly, until none is left."""
    while any(isinstance(layer, NetChain | NetGraph) for layer in g.layers):
        k = next(i for i, layer in enumerate(g.layers) if isinstance(layer, NetChain | NetGraph))
        inner = g.layers[k]
        if isinstance(inner, NetChain):
            inner = _chain_as_graph(inner)
        g = _inline(g, k, inner)
    return g


def _inline(g: NetGraph, k: int, inner: NetGraph) -> NetGraph:
    prefix = f"{g.names[k]}/"
    layers: list[Layer] = []
    names: list[str] = []
    outer_map: dict[int, int] = {}
    inner_map: dict[int, int] = {}
    for i, layer in enumerate(g.layers):
        if i == k:
            for j, sub in enumerate(inner.layers):
                inner_map[j] = len(layers)
                layers.append(sub)
                names.append(prefix + inner.names[j])
        else:
            outer_map[i] = len(layers)
            layers.append(layer)
            names.append(g.names[i])

    def outer_src(src: tuple[Any, str]) -> list[tuple[Any, str]]:
        if src[0] is GRAPH:
            return [src]
        if src[0] == k:
            inner_src = inner.graph_outputs[src[1]]
            return inner_src_to_outer(inner_src)
        return [(outer_map[src[0]], src[1])]

    def inner_src_to_outer(src: tuple[Any, str]) -> list[tuple[Any, str]]:
        if src[0] is GRAPH:
            feeders = g.feeds[k].get(src[1], [])
            return [s2 for s in feeders for s2 in outer_src(s)]
        return [(inner_map[src[0]], src[1])]

    edges: list[tuple[tuple[Any, str], tuple[Any, str]]] = []
    for src, dst in g.links:
        if dst[0] == k:
            continue  # replaced by the inner connections below
        new_dst = dst if dst[0] is GRAPH else (outer_map[dst[0]], dst[1])
        for s in outer_src(src):
            edges.append((s, new_dst))
    for src, dst in inner.links:
        if dst[0] is GRAPH:
            continue
        for s in inner_src_to_outer(src):
            edges.append((s, (inner_map[dst[0]], dst[1])))
    inputs = {p: s for p, s in zip(g.input_ports, g.input_shapes) if s is not None}
    return NetGraph.from_edges(
        layers,
        names,
        True,
        edges,
        inputs or None,
        dict(g.decoders) or None,
        explicit_inputs=True,
        explicit_outputs=True,
        port_order=(list(g.input_ports), list(g.output_ports)),
    )
