"""NetTake, NetDrop, NetReplacePart and NetFlatten on chains and graphs: the parts compute
what the same layers computed inside the whole net."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import (
    LinearLayer,
    NetChain,
    NetDecoder,
    NetInitialize,
    NetLoad,
    NetSave,
    Ramp,
    SoftmaxLayer,
)
from netchain.layers import CatenateLayer, LongShortTermMemoryLayer, SequenceLastLayer
from netchain.nets import NetDrop, NetFlatten, NetGraph, NetPort, NetReplacePart, NetTake


@pytest.fixture
def chain():
    return NetInitialize(
        NetChain(
            [
                NetChain([LinearLayer(4), Ramp]),
                NetChain({"x": LinearLayer(3), "y": Ramp}),
                LinearLayer(2),
                SoftmaxLayer(),
            ],
            input=5,
            output=NetDecoder("Class", ["p", "q"]),
        ),
        random_seed=4,
    )


@pytest.fixture
def graph():
    return NetInitialize(
        NetGraph(
            {
                "a": LinearLayer(3),
                "b": NetChain([LinearLayer(3), Ramp]),
                "c": LinearLayer(2),
                "cat": CatenateLayer(),
                "d": LinearLayer(2),
            },
            [(NetPort("X"), "a"), (NetPort("Y"), "b"), (["a", "b"], "cat", "d"), ("a", "c")],
            input={"X": 2, "Y": 4},
        ),
        random_seed=4,
    )


def _data(rng):
    return {"X": rng.standard_normal((6, 2)), "Y": rng.standard_normal((6, 4))}


def test_take_and_drop_on_a_chain(chain, rng):
    x = rng.standard_normal((7, 5))
    for n in (1, 2, 3):
        part = NetTake(chain, n)
        assert len(part) == n and part.decoder is None
        np.testing.assert_allclose(part(x), chain(x, NetPort((n, "Output"))))
    tail = NetTake(chain, -2)
    assert tail.input_shape == (3,) and tail.decoder is not None
    middle = chain(x, NetPort((2, "Output")))
    assert list(tail(middle)) == list(chain(x))
    both = NetTake(chain, (2, 3))
    np.testing.assert_allclose(
        both(chain(x, NetPort((1, "Output")))), chain(x, NetPort((3, "Output"))), rtol=1e-6
    )
    head = NetDrop(chain, -1)
    assert len(head) == 3
    np.testing.assert_allclose(head(x), chain(x, NetPort((3, "Output"))))
    rest = NetDrop(chain, 1)
    assert list(rest(chain(x, NetPort((1, "Output"))))) == list(chain(x))
    assert len(NetDrop(chain, (3, 4))) == 2
    named = NetChain({"in": LinearLayer(3), "act": Ramp, "out": LinearLayer(1)}, input=2)
    assert NetTake(named, "act").names == ["in", "act"]
    with pytest.raises(ValueError, match="out of range"):
        NetTake(chain, 5)
    with pytest.raises(ValueError, match="middle"):
        NetDrop(chain, (2, 3))
    with pytest.raises(ValueError, match="every layer"):
        NetDrop(chain, 4)
    with pytest.raises(ValueError, match="no layer named 'z'"):
        NetTake(named, "z")


def test_take_and_drop_on_a_graph(graph, rng):
    data = _data(rng)
    upto = NetTake(graph, "cat")
    assert set(upto.names) == {"a", "b", "cat"} and upto.output_ports == ("Output",)
    np.testing.assert_allclose(upto(data), graph(data, NetPort(("cat", "Output"))))
    between = NetTake(graph, ("b", "d"))
    assert between.names == ["b", "cat", "d"]
    assert between.input_ports == ("Y", "Input")  # what 'a' gave 'cat' is now an input
    a_out = graph(data, NetPort(("a", "Output")))
    np.testing.assert_allclose(
        between({"Y": data["Y"], "Input": a_out}), graph(data)["Output2"], rtol=1e-6, atol=1e-6
    )
    port = NetTake(graph, NetPort(("c", "Output")))
    assert port.names == ["a", "c"] and port.input_ports == ("X",)
    dropped = NetDrop(graph, "cat")
    assert set(dropped.names) == {"a", "b", "c"}
    out = dropped(data)
    np.testing.assert_allclose(out["Output1"], graph(data)["Output1"])
    np.testing.assert_allclose(out["Output"], graph(data, NetPort(("b", "Output"))))
    with pytest.raises(ValueError, match="no path"):
        NetTake(graph, ("c", "d"))


def test_replace_part(chain, graph, rng):
    x = rng.standard_normal((3, 5))
    new = NetReplacePart(chain, {3: LinearLayer(2)})
    assert new.layers[2].uninitialized() == ["Weights", "Biases"]
    assert chain.layers[2].uninitialized() == []
    W = np.ones((2, 3), dtype=np.float32)
    swapped = NetReplacePart(chain, {(3, "Weights"): W})
    np.testing.assert_array_equal(swapped.layers[2].arrays["Weights"], W)
    with pytest.raises(ValueError, match=r"must have shape \(2, 3\)"):
        NetReplacePart(chain, {(3, "Weights"): np.ones((3, 3))})
    with pytest.raises(ValueError, match="expects shape"):
        NetReplacePart(chain, {(2, "x"): LinearLayer(3, input=7)})
    nested = NetReplacePart(chain, {(2, "y"): "Tanh"})
    assert nested.layers[1].layers[1].function_name == "Tanh"
    plain = NetReplacePart(chain, {"Output": None})
    assert plain.decoder is None and plain(x).shape == (3, 2)
    wider = NetReplacePart(NetChain([LinearLayer(3), Ramp]), {"Input": 6})
    assert wider.input_shape == (6,)
    g2 = NetReplacePart(graph, {"c": LinearLayer(5)})
    assert g2.output_shapes == [(5,), (2,)]
    with pytest.raises(ValueError, match="expects shape"):
        NetReplacePart(graph, {"d": LinearLayer(2, input=3)})
    with pytest.raises(ValueError, match=r"expects shape \(4,\).*got \(7,\)"):
        NetReplacePart(graph, {NetPort("Y"): 7})  # b's weights take vectors of 4
    fresh = NetGraph(
        {"a": LinearLayer(3), "b": LinearLayer(3), "t": "Ramp"}, {"a": "t"}, input={"Input1": 2}
    )
    g3 = NetReplacePart(fresh, {NetPort("Input2"): 7})
    assert g3.input_shape == {"Input1": (2,), "Input2": (7,)}


def test_flatten_chain(chain, rng):
    x = rng.standard_normal((4, 5))
    flat = NetFlatten(chain)
    assert flat.names == ["1/1", "1/2", "2/x", "2/y", "3", "4"]
    assert all(not isinstance(layer, NetChain) for layer in flat.layers)
    assert list(flat(x)) == list(chain(x))
    plain = NetFlatten(NetChain([NetChain([LinearLayer(3), Ramp]), LinearLayer(1)], input=2))
    assert not plain.named and len(plain) == 3


def test_flatten_graph_and_save(graph, rng, tmp_path):
    data = _data(rng)
    flat = NetFlatten(graph)
    assert flat.names == ["a", "b/1", "b/2", "c", "cat", "d"]
    out, want = flat(data), graph(data)
    for k in want:
        np.testing.assert_allclose(out[k], want[k], rtol=1e-6)
    back = NetLoad(NetSave(flat, tmp_path / "flat.safetensors"))
    for k, v in back(data).items():
        np.testing.assert_array_equal(v, out[k])
    # a chain holding a graph becomes one graph
    seq = NetInitialize(
        NetChain(
            [
                NetGraph({"l": LongShortTermMemoryLayer(3), "s": SequenceLastLayer()}, {"l": "s"}),
                LinearLayer(2),
            ],
            input=(4, 2),
        )
    )
    flat_seq = NetFlatten(seq)
    assert isinstance(flat_seq, NetGraph) and flat_seq.names == ["1/l", "1/s", "2"]
    xs = rng.standard_normal((3, 4, 2))
    np.testing.assert_allclose(flat_seq(xs), seq(xs), rtol=1e-6)
