"""Nets: ``NetChain``, output decoders, net operations, saving and loading."""

from netchain.nets.chain import NetChain, arrays_for, as_layer, leaf_layers
from netchain.nets.decoders import NetDecoder
from netchain.nets.io import NetLoad, NetSave, layer_from_json, layer_to_json
from netchain.nets.operations import NetExtract, NetInformation, NetInitialize

__all__ = [
    "NetChain",
    "NetDecoder",
    "NetExtract",
    "NetInformation",
    "NetInitialize",
    "NetLoad",
    "NetSave",
    "arrays_for",
    "as_layer",
    "layer_from_json",
    "layer_to_json",
    "leaf_layers",
]
