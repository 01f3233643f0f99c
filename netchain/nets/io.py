"""Saving and loading nets: one safetensors file whose metadata holds the net's JSON description.

A saved net is a valid safetensors file (Hugging Face's format: a JSON header, then raw
little-endian arrays). Its header metadata carries, under the key ``"netchain"``, the JSON
description of the net (layer types and constructor arguments, shapes, decoder), and under
``"netchain.metadata"`` any user metadata. Loading parses JSON and instantiates only
registered layer classes: it never runs code from the file (no pickle).

Files are written atomically: to a temporary file in the same folder, flushed to disk, then
renamed over the destination, so a failure leaves any earlier file intact and never a
half-written one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from netchain import backend
from netchain.layers import LAYER_TYPES, Layer
from netchain.nets.chain import NetChain, leaf_layers
from netchain.nets.decoders import NetDecoder

__all__ = [
    "EXTRA_PREFIX",
    "NetLoad",
    "NetSave",
    "decode_net",
    "encode_net",
    "layer_from_json",
    "layer_to_json",
    "read_net_file",
    "writable_destination",
    "write_atomically",
]

FORMAT = "netchain-net"
VERSION = 1

#: Arrays whose keys start with this are not the net's (a checkpoint's training state).
EXTRA_PREFIX = "netchain.training:"

#: Container types and how to rebuild them from JSON; other modules may add theirs.
CONTAINERS: dict[str, Any] = {}


def layer_to_json(layer: Layer) -> dict[str, Any]:
    """The JSON description of a layer or net (without its arrays)."""
    if isinstance(layer, NetChain):
        return {
            "type": "NetChain",
            "names": layer.names if layer.named else None,
            "input": None if layer.input_shape is None else list(layer.input_shape),
            "decoder": None if layer.decoder is None else layer.decoder.config(),
            "layers": [layer_to_json(c) for c in layer.layers],
        }
    to_json = getattr(layer, "to_json", None)
    if to_json is not None:
        return to_json(layer_to_json)
    desc: dict[str, Any] = {"type": layer.name, "config": layer.config()}
    if layer.input_shapes and layer.input_shapes[0] is not None:
        desc["input_shapes"] = [None if s is None else list(s) for s in layer.input_shapes]
    return desc


def layer_from_json(desc: Any) -> Layer:
    """Rebuild a layer or net from :func:`layer_to_json` (registered types only).

    Raises
    ------
    ValueError
        For an unknown type or a malformed description.
    """
    if not isinstance(desc, dict) or "type" not in desc:
        raise ValueError(f"malformed layer description: {str(desc)[:80]!r}")
    kind = desc["type"]
    if kind == "NetChain":
        children = [layer_from_json(c) for c in desc["layers"]]
        names = desc.get("names")
        layers: Any = dict(zip(names, children)) if names else children
        decoder = None if desc.get("decoder") is None else NetDecoder.from_config(desc["decoder"])
        return NetChain(layers, input=desc.get("input"), output=decoder)
    if kind in CONTAINERS:
        return CONTAINERS[kind](desc, layer_from_json)
    cls = LAYER_TYPES.get(kind)
    if cls is None:
        raise ValueError(f"unknown layer type {kind!r} in the saved net")
    cfg = desc.get("config", {})
    if not isinstance(cfg, dict):
        raise ValueError(f"malformed configuration for {kind}")
    return cls.from_config(cfg)


def _array_key(path: tuple[Any, ...], name: str) -> str:
    return "/".join(map(str, (*path, name)))


def writable_destination(path: Any, who: str) -> Path:
    """Check a file destination before any work is done: a path (str or path-like), not a
    folder, in an existing folder we may write to. A symbolic link is followed (its target is
    replaced, the link kept).

    Raises
    ------
    TypeError
        If ``path`` is not a str or path-like.
    ValueError
        Naming the path and what is wrong with it.
    """
    if not isinstance(path, str | os.PathLike) or str(path) == "":
        raise TypeError(f"{who}: path must be a non-empty str or path-like, got {path!r}")
    dest = Path(os.path.realpath(path))
    if dest.is_dir():
        raise ValueError(f"{who}: {str(path)!r} is a folder; give a file name")
    if dest.parent.exists() and not dest.parent.is_dir():
        raise ValueError(f"{who}: {str(dest.parent)!r} is a file, not a folder")
    if not dest.parent.is_dir():
        raise ValueError(f"{who}: folder {str(dest.parent)!r} does not exist")
    if not os.access(dest.parent, os.W_OK):
        raise ValueError(f"{who}: folder {str(dest.parent)!r} is not writable")
    return dest


def write_atomically(dest: Path, blob: bytes) -> None:
    """Write ``blob`` to a temporary file beside ``dest``, flush it to disk, give it the
    permissions an ordinary new file gets (or those of the file it replaces), then rename it
    over ``dest``. On failure the temporary file is removed and ``dest`` is left as it was.

    Raises
    ------
    ValueError
        When the file system refuses (read-only, full, no permission), naming ``dest``.
    """
    try:
        mode = dest.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise ValueError(f"could not write {str(dest)!r}: {exc.strerror or exc}") from None
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise


def NetSave(net: NetChain, path: str | os.PathLike, metadata: dict | None = None) -> Path:
    """Save a net (its description and arrays) to one safetensors file, atomically.

    Parameters
    ----------
    net : NetChain
        An initialised net.
    path : str or path-like
        The destination (conventionally ending in ``.safetensors``); its folder must exist.
    metadata : dict, optional
        JSON-compatible facts to keep with the net (read back with
        ``NetLoad(path, "Metadata")``).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ValueError
        For an uninitialised net, a layer that cannot be saved (a Python-function
        ElementwiseLayer), or metadata that is not JSON-compatible. Nothing is written then.
    TypeError
        If ``net`` is not a net.
    """
    if not isinstance(net, Layer):
        raise TypeError(f"NetSave needs a net, got {type(net).__name__}")
    missing = net.uninitialized() if hasattr(net, "children") else []
    if missing:
        raise ValueError(
            f"NetSave: the net has uninitialized arrays: {missing[:3]}; train or initialize it first"
        )
    dest = writable_destination(path, "NetSave")
    write_atomically(dest, encode_net(net, "NetSave", metadata))
    return dest


def encode_net(
    net: NetChain,
    who: str,
    metadata: dict | None = None,
    extra_header: dict[str, str] | None = None,
    extra_arrays: dict[str, Any] | None = None,
) -> bytes:
    """The bytes of a saved net (what :func:`NetSave` writes), optionally with more header
    entries and arrays (a training checkpoint's state: keys starting with
    :data:`EXTRA_PREFIX`, which :func:`NetLoad` leaves aside).

    Raises
    ------
    TypeError, ValueError
        For metadata that is not a JSON-compatible dict, naming ``who``.
    """
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"{who}: metadata must be a dict, got {type(metadata).__name__}")
    description = {"format": FORMAT, "version": VERSION, "net": layer_to_json(net)}
    try:
        header = {"netchain": json.dumps(description, allow_nan=False)}
        if metadata is not None:
            header["netchain.metadata"] = json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{who}: metadata must be JSON-compatible (no NaN or infinity): {exc}"
        ) from None
    header.update(extra_header or {})
    tensors = {}
    for lpath, layer in leaf_layers(net):
        for name, arr in layer.arrays.items():
            if arr is not None:
                tensors[_array_key(lpath, name)] = np.ascontiguousarray(backend.to_numpy(arr))
    for key, arr in (extra_arrays or {}).items():
        assert key.startswith(EXTRA_PREFIX)
        tensors[key] = np.ascontiguousarray(backend.to_numpy(arr))
    from safetensors.numpy import save

    return save(tensors, metadata=header)


def NetLoad(path: str | os.PathLike, prop: str | None = None) -> Any:
    """Load a net saved by :func:`NetSave`.

    Parameters
    ----------
    path : str or path-like
    prop : {None, "Metadata"}
        None gives the net; "Metadata" the dict given to NetSave (or {}).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a saved netchain net: not safetensors, truncated, without the
        netchain description, of a newer format version, or with arrays that do not fit.
    """
    if prop not in (None, "Metadata"):
        raise ValueError(f"NetLoad: prop must be None or 'Metadata', got {prop!r}")
    header, arrays = read_net_file(path, "NetLoad")
    if prop == "Metadata":
        return header["netchain.metadata"]
    return decode_net(header, arrays, path, "NetLoad")


def read_net_file(path: Any, who: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header (``"netchain"``: the description, ``"netchain.metadata"``: the user's
    dict, other entries as strings) and all arrays of a saved net.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`NetLoad`, naming ``who``.
    """
    p = Path(path)
    if p.is_dir():
        raise ValueError(f"{who}: {str(p)!r} is a folder, not a saved net")
    if not p.is_file():
        raise FileNotFoundError(f"{who}: no such file: {str(p)!r}")
    from safetensors import safe_open

    try:
        with safe_open(str(p), framework="numpy") as fh:
            header = fh.metadata() or {}
            keys = list(fh.keys())
            arrays = {k: fh.get_tensor(k) for k in keys}
    except Exception as exc:  # safetensors raises its own error types for damaged files
        raise ValueError(f"{who}: {str(p)!r} is not a saved netchain net ({exc})") from None
    if "netchain" not in header:
        raise ValueError(
            f"{who}: {str(p)!r} is a safetensors file but not a saved netchain net "
            "(no netchain description in its header)"
        )
    try:
        description = json.loads(header["netchain"])
        user = json.loads(header.get("netchain.metadata", "{}"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{who}: damaged net description in {str(p)!r}: {exc}") from None
    if not isinstance(description, dict) or description.get("format") != FORMAT:
        raise ValueError(f"{who}: {str(p)!r} is not a saved netchain net")
    version = description.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ValueError(f"{who}: damaged net description in {str(p)!r}: version {version!r}")
    if version > VERSION:
        raise ValueError(
            f"{who}: {str(p)!r} was saved by a newer netchain (format version "
            f"{version}; this one reads up to {VERSION})"
        )
    header = dict(header)
    header["netchain"] = description
    header["netchain.metadata"] = user if isinstance(user, dict) else {}
    return header, arrays


def decode_net(header: dict[str, Any], arrays: dict[str, Any], path: Any, who: str) -> Any:
    """The net of :func:`read_net_file`'s header and arrays (arrays whose keys start with
    :data:`EXTRA_PREFIX` left aside).

    Raises
    ------
    ValueError
        For a description that does not describe a net or arrays that do not fit.
    """
    p = Path(path)
    description = header["netchain"]
    try:
        net = layer_from_json(description["net"])
        used = set()
        for lpath, layer in leaf_layers(net):
            for name in layer.arrays:
                if name in layer.disabled:
                    continue
                key = _array_key(lpath, name)
                if key not in arrays:
                    raise ValueError(f"{who}: {str(p)!r} lacks the array {key!r}")
                layer.set_array(name, arrays[key])
                used.add(key)
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        # a description that parses as JSON but does not describe a net
        raise ValueError(
            f"{who}: damaged net description in {str(p)!r} ({type(exc).__name__}: {exc})"
        ) from None
    extra = {k for k in set(arrays) - used if not k.startswith(EXTRA_PREFIX)}
    if extra:
        raise ValueError(f"{who}: {str(p)!r} has arrays no layer uses: {sorted(extra)[:3]}")
    net.bind(list(net.input_shapes), who)
    return net
