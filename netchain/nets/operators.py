"""Net operators: nets built around other nets.

``NetMapOperator(net)`` applies a net to every element of a sequence (every time step) with
shared arrays; ``NetBidirectionalOperator(net)`` runs a recurrent net forwards and a copy of it
backwards over a sequence and joins the two output sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.layers import Context, Layer, ShapeError, format_shape
from netchain.layers.structural import (
    reverse_sequences,
    sequence_lengths,
    set_sequence_lengths,
)
from netchain.nets import io
from netchain.nets.chain import _Container, as_layer
from netchain.nets.graph import run_layer

__all__ = ["NetBidirectionalOperator", "NetMapOperator"]


class _Operator(_Container):
    """What the operators share: children, copies, counts."""

    sequence_aware = True

    def config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{self.name} is serialised by its to_json")


class NetMapOperator(_Operator):
    """Applies a net to each element of a sequence, with the same arrays at every step:
    (T, ...) -> (T, ...) per example.

    Parameters
    ----------
    net : layer or net
        What to apply to one element (with NetChain's shorthand: an int n is
        ``LinearLayer(n)``). It is copied; it is the child "Net" of the operator.

    Notes
    -----
    The batch and time axes are merged, so the net runs once on N T elements (one matrix
    product for a LinearLayer). Padded sequences keep their lengths.

    Examples
    --------
    A per-step classifier on top of an LSTM: ``NetChain([LongShortTermMemoryLayer(64),
    NetMapOperator(LinearLayer(10)), SoftmaxLayer()])``.
    """

    def __init__(self, net: Any) -> None:
        super().__init__()
        self.net = as_layer(net, "NetMapOperator")
        if len(self.net.input_ports) != 1 or len(self.net.output_ports) != 1:
            raise ValueError(
                f"NetMapOperator needs a net with one input and one output, got ports "
                f"{self.net.input_ports} -> {self.net.output_ports}"
            )

    def children(self) -> list[tuple[Any, Layer]]:
        return [("Net", self.net)]

    def declared_input_shapes(self) -> list[Any]:
        return [None]

    def infer(self, input_shapes: list[Any]) -> list[Any]:
        shape = tuple(input_shapes[0])
        if len(shape) < 1:
            raise ShapeError(f"port 'Input' needs a sequence (T, ...), got {format_shape(shape)}")
        (out,) = self.net.bind([shape[1:]], f"{self.net.name} inside NetMapOperator")
        return [(shape[0], *out)]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        N, T = x.shape[0], x.shape[1]
        flat = x.reshape(N * T, *x.shape[2:])
        y = run_layer(self.net, {"Input": flat}, ctx)["Output"]
        y = y.reshape(N, T, *y.shape[1:])
        set_sequence_lengths(ctx, y, sequence_lengths(ctx, x))
        return y

    def copy(self) -> NetMapOperator:
        new = super().copy()
        new.net = self.net.copy()
        return new

    def summary(self) -> str:
        return f"NetMapOperator[{self.net.summary()}]"

    def to_json(self, layer_to_json: Any) -> dict[str, Any]:
        return {"type": "NetMapOperator", "net": layer_to_json(self.net)}


class NetBidirectionalOperator(_Operator):
    """Runs a recurrent net forwards and another backwards over each sequence and joins the two
    output sequences step by step (Schuster & Paliwal, 1997): (T, F) -> (T, H_f + H_b).

    Parameters
    ----------
    net : layer or net, or a pair (forward, backward)
        One net: the backward net is a copy of it (with its own arrays). Children
        "ForwardNet" and "BackwardNet".
    aggregation : {"Catenate", "Total"}, default "Catenate"
        Join the outputs feature by feature, or add them.

    Notes
    -----
    The backward net reads each sequence reversed (a padded one within its real length), and
    its outputs are reversed back, so that step t of the result sees the whole sequence.

    Raises
    ------
    ValueError
        For an unknown aggregation, or nets that do not return sequences.
    """

    def __init__(self, net: Any, aggregation: str = "Catenate") -> None:
        super().__init__()
        if isinstance(net, Sequence) and not isinstance(net, str) and len(net) == 2:
            fwd, bwd = net
            self.forward_net = as_layer(fwd, "NetBidirectionalOperator forward net")
            self.backward_net = as_layer(bwd, "NetBidirectionalOperator backward net")
        else:
            self.forward_net = as_layer(net, "NetBidirectionalOperator")
            self.backward_net = self.forward_net.copy()
        if aggregation not in ("Catenate", "Total"):
            raise ValueError(
                f"NetBidirectionalOperator aggregation must be 'Catenate' or 'Total', got {aggregation!r}"
            )
        self.aggregation = aggregation

    def children(self) -> list[tuple[Any, Layer]]:
        return [("ForwardNet", self.forward_net), ("BackwardNet", self.backward_net)]

    def declared_input_shapes(self) -> list[Any]:
        return self._own_shape("declared_input_shapes")

    def default_input_shapes(self) -> list[Any]:
        return self._own_shape("default_input_shapes")

    def _own_shape(self, method: str) -> list[Any]:
        for net in (self.forward_net, self.backward_net):
            own = getattr(net, method)()[0]
            if own is not None:
                return [own]
        return [None]

    def infer(self, input_shapes: list[Any]) -> list[Any]:
        shape = tuple(input_shapes[0])
        (f,) = self.forward_net.bind([shape], "NetBidirectionalOperator ForwardNet")
        (b,) = self.backward_net.bind([shape], "NetBidirectionalOperator BackwardNet")
        for s, which in ((f, "forward"), (b, "backward")):
            if s is None or len(s) < 1 or s[0] != shape[0]:
                raise ShapeError(
                    f"the {which} net must return a sequence as long as its input "
                    f"{format_shape(shape)}, got {format_shape(s)}"
                )
        if self.aggregation == "Total":
            if tuple(f) != tuple(b):
                raise ShapeError(
                    f"'Total' needs outputs of one shape, got {format_shape(f)} and {format_shape(b)}"
                )
            return [tuple(f)]
        if len(f) != len(b) or tuple(f[:-1]) != tuple(b[:-1]):
            raise ShapeError(
                f"the outputs {format_shape(f)} and {format_shape(b)} cannot be joined feature by feature"
            )
        return [(*f[:-1], f[-1] + b[-1])]

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        x = inputs[0]
        L = sequence_lengths(ctx, x)
        yf = run_layer(self.forward_net, {"Input": x}, ctx)["Output"]
        xr = reverse_sequences(x, L)
        set_sequence_lengths(ctx, xr, L)
        yb = reverse_sequences(run_layer(self.backward_net, {"Input": xr}, ctx)["Output"], L)
        y = yf + yb if self.aggregation == "Total" else ad.concatenate([yf, yb], axis=-1)
        set_sequence_lengths(ctx, y, L)
        return y

    def copy(self) -> NetBidirectionalOperator:
        new = super().copy()
        new.forward_net = self.forward_net.copy()
        new.backward_net = self.backward_net.copy()
        return new

    def summary(self) -> str:
        return f"NetBidirectionalOperator[{self.forward_net.summary()}]"

    def to_json(self, layer_to_json: Any) -> dict[str, Any]:
        return {
            "type": "NetBidirectionalOperator",
            "forward": layer_to_json(self.forward_net),
            "backward": layer_to_json(self.backward_net),
            "aggregation": self.aggregation,
        }


def _map_from_json(desc: dict[str, Any], layer_from_json: Any) -> NetMapOperator:
    op = NetMapOperator.__new__(NetMapOperator)
    Layer.__init__(op)
    op.net = layer_from_json(desc["net"])
    return op


def _bidirectional_from_json(
    desc: dict[str, Any], layer_from_json: Any
) -> NetBidirectionalOperator:
    op = NetBidirectionalOperator.__new__(NetBidirectionalOperator)
    Layer.__init__(op)
    op.forward_net = layer_from_json(desc["forward"])
    op.backward_net = layer_from_json(desc["backward"])
    agg = desc.get("aggregation", "Catenate")
    if agg not in ("Catenate", "Total"):
        raise ValueError(f"malformed NetBidirectionalOperator aggregation {agg!r}")
    op.aggregation = agg
    return op


io.CONTAINERS["NetMapOperator"] = _map_from_json
io.CONTAINERS["NetBidirectionalOperator"] = _bidirectional_from_json
