"""Nets: ``NetChain``, ``NetGraph`` and ports, output decoders, net operations, saving and
loading."""

from netchain.nets.chain import NetChain, arrays_for, as_layer, leaf_layers
from netchain.nets.decoders import NetDecoder
from netchain.nets.graph import NetGraph, NetPort, PortData, evaluate_port, run_layer
from netchain.nets.io import NetLoad, NetSave, layer_from_json, layer_to_json
from netchain.nets.operations import NetExtract, NetInformation, NetInitialize

__all__ = [
    "NetChain",
    "NetDecoder",
    "NetExtract",
    "NetGraph",
    "NetInformation",
    "NetInitialize",
    "NetLoad",
    "NetPort",
    "NetSave",
    "PortData",
    "arrays_for",
    "as_layer",
    "evaluate_port",
    "layer_from_json",
    "layer_to_json",
    "leaf_layers",
    "run_layer",
]
