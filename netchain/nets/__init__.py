"""Nets: ``NetChain``, ``NetGraph`` and ports, output decoders, net operations, saving and
loading."""

from netchain.nets.chain import NetChain, arrays_for, as_layer, leaf_layers
from netchain.nets.decoders import NetDecoder
from netchain.nets.graph import NetGraph, NetPort, PortData, evaluate_port, run_layer
from netchain.nets.io import NetLoad, NetSave, layer_from_json, layer_to_json
from netchain.nets.operations import NetExtract, NetInformation, NetInitialize
from netchain.nets.operators import NetBidirectionalOperator, NetMapOperator
from netchain.nets.surgery import NetDrop, NetFlatten, NetReplacePart, NetTake

__all__ = [
    "NetBidirectionalOperator",
    "NetChain",
    "NetDecoder",
    "NetDrop",
    "NetExtract",
    "NetFlatten",
    "NetGraph",
    "NetInformation",
    "NetInitialize",
    "NetLoad",
    "NetMapOperator",
    "NetPort",
    "NetReplacePart",
    "NetSave",
    "NetTake",
    "PortData",
    "arrays_for",
    "as_layer",
    "evaluate_port",
    "layer_from_json",
    "layer_to_json",
    "leaf_layers",
    "run_layer",
]
