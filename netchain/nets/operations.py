"""Net operations: NetInitialize, NetExtract, NetInformation."""

from __future__ import annotations

import math
import numbers
from typing import Any

from netchain import backend
from netchain.layers import Layer, shape_argument
from netchain.nets.chain import NetChain, leaf_layers

__all__ = ["NetExtract", "NetInformation", "NetInitialize"]

INIT_METHODS = ("Kaiming", "Xavier")


def NetInitialize(
    net: NetChain,
    method: str = "Kaiming",
    random_seed: Any = 1234,
    *,
    reinitialize: bool = False,
    working_precision: Any = None,
    input: Any = None,
) -> NetChain:
    """A copy of ``net`` with every uninitialised array given a value.

    Parameters
    ----------
    net : NetChain
    method : {"Kaiming", "Xavier"}, default "Kaiming"
        Weights are drawn from N(0, 2 / fan_in) (He et al., 2015, "Delving deep into
        rectifiers") or U(-a, a) with a = sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010);
        biases start at 0.
    random_seed : int or numpy.random.Generator, default 1234
        The same seed gives the same arrays, bit for bit.
    reinitialize : bool, default False
        Also replace arrays that already have values (Wolfram's ``NetInitialize[net, All]``).
    working_precision : {"Real32", "Real64"}, optional
        The dtype of all arrays (default: the net's current dtype, float32 for a new net).
    input : int or tuple, optional
        The input shape, if the net does not know it yet.

    Returns
    -------
    NetChain
        A new net; ``net`` itself is unchanged.

    Raises
    ------
    ValueError
        For an unknown method, or when the input shape is unknown.
    """
    if method not in INIT_METHODS:
        raise ValueError(f"NetInitialize method must be one of {INIT_METHODS}, got {method!r}")
    rng = backend.rng(random_seed)
    dtype = net.dtype if working_precision is None else backend.precision_dtype(working_precision)
    new = net.copy()
    if input is not None:
        new.input = shape_argument(input, "input")
        new._infer(new.input)
    if new.input_shape is None:
        raise ValueError(
            "NetInitialize: the net's input shape is unknown; give NetChain(..., input=...) or "
            "NetInitialize(net, input=...)"
        )
    for _, layer in leaf_layers(new):
        for name in layer.arrays:
            if name in layer.disabled:
                continue
            current = layer.arrays[name]
            if current is None or reinitialize:
                layer.arrays[name] = layer.initial_array(name, rng, method, dtype)
            elif current.dtype != dtype:
                layer.arrays[name] = current.astype(dtype)
    return new


def _child(net: Layer, key: Any, trail: str) -> Layer:
    children = getattr(net, "children", None)
    if children is None:
        raise ValueError(f"NetExtract: {trail} is a layer, not a net; it has no part {key!r}")
    items = children()
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        n = len(items)
        if not (1 <= key <= n or -n <= key <= -1):
            raise ValueError(f"NetExtract: position {key} is out of range 1..{n} in {trail}")
        return items[key - 1 if key > 0 else key][1]
    if isinstance(key, str):
        for name, child in items:
            if name == key:
                return child
        raise ValueError(
            f"NetExtract: no layer named {key!r} in {trail}; names: {[n for n, _ in items]}"
        )
    raise TypeError(f"NetExtract: a part is a position (int, from 1) or a name, got {key!r}")


def NetExtract(net: NetChain, spec: Any) -> Any:
    """A layer or an array of a net.

    Parameters
    ----------
    net : NetChain
    spec : int, str or tuple
        A layer position (from 1, as in the Wolfram Language; negative counts from the end) or
        name gives a copy of that layer; a tuple such as ``(1, "Weights")`` (or ``(2, 1,
        "Biases")`` for nested nets) gives a copy of the array as a NumPy array.

    Raises
    ------
    ValueError
        For a position out of range, an unknown name or array, or an uninitialised array.
    """
    parts = spec if isinstance(spec, tuple) else (spec,)
    if not parts:
        raise ValueError("NetExtract: empty specification")
    node: Layer = net
    trail = "the net"
    for k, key in enumerate(parts):
        last = k == len(parts) - 1
        if last and isinstance(key, str) and getattr(node, "children", None) is None:
            if key not in node.arrays or key in node.disabled:
                raise ValueError(
                    f"NetExtract: {trail} has no array {key!r}; arrays: "
                    f"{[n for n in node.arrays if n not in node.disabled]}"
                )
            arr = node.arrays[key]
            if arr is None:
                raise ValueError(f"NetExtract: array {key!r} of {trail} is not initialized")
            return backend.to_numpy(arr).copy()
        node = _child(node, key, trail)
        trail = f"{node.name} at {parts[: k + 1]}"
    return node.copy()


INFORMATION = (
    "ArraysCount",
    "ArraysTotalElementCount",
    "ArraysDimensions",
    "Layers",
    "LayersCount",
    "InputPorts",
    "OutputPorts",
)


def NetInformation(net: NetChain, prop: str | None = None) -> Any:
    """Facts about a net.

    Parameters
    ----------
    net : NetChain
    prop : str, optional
        "ArraysCount" (number of arrays), "ArraysTotalElementCount" (their total number of
        elements), "ArraysDimensions" (path -> shape), "Layers" (path -> layer), "LayersCount",
        "InputPorts" / "OutputPorts" (port name -> shape). None gives a dict of all of them.

    Raises
    ------
    ValueError
        For an unknown property.
    """
    if prop is None:
        return {p: NetInformation(net, p) for p in INFORMATION}
    if prop not in INFORMATION:
        raise ValueError(f"NetInformation: unknown property {prop!r}; known: {INFORMATION}")
    leaves = list(leaf_layers(net))
    if prop == "LayersCount":
        return len(leaves)
    if prop == "Layers":
        return {path: layer for path, layer in leaves}
    if prop in ("ArraysCount", "ArraysTotalElementCount", "ArraysDimensions"):
        dims: dict[tuple[Any, ...], tuple[int, ...]] = {}
        for path, layer in leaves:
            for name in layer.arrays:
                if name in layer.disabled:
                    continue
                a = layer.arrays[name]
                shape = tuple(a.shape) if a is not None else layer.array_shapes.get(name)
                if shape is not None:
                    dims[(*path, name)] = tuple(int(s) for s in shape)
        if prop == "ArraysDimensions":
            return dims
        if prop == "ArraysCount":
            return len(dims)
        return sum(math.prod(s) for s in dims.values())
    if prop == "InputPorts":
        return dict(zip(net.input_ports, net.input_shapes))
    return dict(zip(net.output_ports, net.output_shapes))
