"""NetGraph and NetPort: construction forms, automatic ports, errors, evaluation of outer and
inner ports, nesting, training with several ports, saving and loading."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import (
    LinearLayer,
    LogisticSigmoid,
    NetChain,
    NetDecoder,
    NetInitialize,
    NetLoad,
    NetSave,
    NetTrain,
    Ramp,
    SoftmaxLayer,
)
from netchain.layers import (
    CatenateLayer,
    GatedRecurrentLayer,
    LongShortTermMemoryLayer,
    MeanSquaredLossLayer,
    SequenceLastLayer,
    ThreadingLayer,
    TotalLayer,
)
from netchain.nets import NetExtract, NetGraph, NetPort


def _two_input_graph() -> NetGraph:
    return NetGraph(
        {"a": LinearLayer(3), "b": LinearLayer(3), "cat": CatenateLayer(), "out": LinearLayer(2)},
        [(NetPort("Input1"), "a"), (NetPort("Input2"), "b"), (["a", "b"], "cat"), ("cat", "out")],
        input={"Input1": 2, "Input2": 4},
    )


def test_list_graph_with_int_connections_equals_the_chain(rng):
    g = NetInitialize(NetGraph([LinearLayer(5), Ramp, LinearLayer(2)], {1: 2, 2: 3}, input=3))
    assert g.input_ports == ("Input",) and g.output_ports == ("Output",)
    chain = NetChain([layer.copy() for layer in g.layers], input=3)
    x = rng.standard_normal((4, 3))
    np.testing.assert_allclose(g(x), chain(x))
    np.testing.assert_allclose(g(x[0]), chain(x[0]))


def test_several_inputs_and_the_catenation_order(rng):
    g = NetInitialize(_two_input_graph())
    assert g.input_ports == ("Input1", "Input2") and g.output_ports == ("Output",)
    x1, x2 = rng.standard_normal((5, 2)), rng.standard_normal((5, 4))
    out = g({"Input1": x1, "Input2": x2})
    la, lb, lo = (g.layers[i] for i in (0, 1, 3))
    a = x1 @ la.arrays["Weights"].T + la.arrays["Biases"]
    b = x2 @ lb.arrays["Weights"].T + lb.arrays["Biases"]
    want = np.concatenate([a, b], axis=1) @ lo.arrays["Weights"].T + lo.arrays["Biases"]
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        g({"Input1": x1, "Input2": x2}, NetPort(("cat", "Output"))),
        np.concatenate([a, b], 1),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        g({"Input1": x1, "Input2": x2}, NetPort((2, "Output"))), b, rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="give a dict"):
        g(x1)
    with pytest.raises(ValueError, match="missing the graph's input port 'Input2'"):
        g({"Input1": x1})
    with pytest.raises(ValueError, match="same number of examples"):
        g({"Input1": x1, "Input2": x2[:3]})


def test_unconnected_ports_become_graph_ports(rng):
    g = NetGraph(
        {"a": LinearLayer(2), "b": LinearLayer(3), "t": TotalLayer(), "c": LinearLayer(1)},
        {("a", "b"): "t"},
    )
    # 'a', 'b' and 'c' leave their inputs open; 't' and 'c' their outputs
    assert g.input_ports == ("Input1", "Input2", "Input3")
    assert g.output_ports == ("Output1", "Output2")
    with pytest.raises(ValueError, match="one shape"):
        NetGraph(
            {"a": LinearLayer(2), "b": LinearLayer(3), "t": TotalLayer()},
            {("a", "b"): "t"},
            input={"Input1": 2, "Input2": 2},
        )
    named = NetGraph(
        {"lstm": LongShortTermMemoryLayer(4), "last": SequenceLastLayer()},
        {"lstm": "last", NetPort(("lstm", "State")): NetPort("State")},
        input=(5, 2),
    )
    assert named.input_ports == ("Input",)
    assert named.output_ports == ("State", "Output")
    assert named.port_shapes() == {"Input": (5, 2), "State": (4,), "Output": (4,)}


def test_errors_name_what_is_wrong():
    with pytest.raises(ValueError, match=r"cycle: 1 -> 2 -> 1|cycle: 2 -> 1 -> 2"):
        NetGraph([LinearLayer(2), LinearLayer(2)], {1: 2, 2: 1})
    with pytest.raises(ValueError, match="cycle") as err:
        NetGraph(
            {"a": 2, "b": 2, "c": 2, "t": TotalLayer()},
            [("a", "t"), ("c", "t"), ("t", "b"), ("b", "c")],
        )
    cycle = str(err.value).split("cycle: ")[1]
    assert cycle in (
        "'c' -> 't' -> 'b' -> 'c'",
        "'t' -> 'b' -> 'c' -> 't'",
        "'b' -> 'c' -> 't' -> 'b'",
    )
    with pytest.raises(ValueError, match="no layer named 'x'"):
        NetGraph({"a": 2}, {"a": "x"})
    with pytest.raises(ValueError, match="position 3 is out of range"):
        NetGraph([2, 2], {1: 3})
    with pytest.raises(ValueError, match="input port 'Input' of LinearLayer 'b' is not connected"):
        NetGraph({"a": 2, "b": 2}, {NetPort("X"): "a"})
    with pytest.raises(ValueError, match="no output port 'Memory'"):
        NetGraph({"a": LongShortTermMemoryLayer(2)}, {NetPort(("a", "Memory")): NetPort("M")})
    with pytest.raises(ValueError, match="no input port 'Target'"):
        NetGraph({"a": 2, "b": 2}, {"a": NetPort(("b", "Target"))})
    with pytest.raises(ValueError, match="connected twice"):
        NetGraph({"a": 2, "b": 2, "c": 2}, {"a": "c", "b": "c"})
    with pytest.raises(ValueError, match="no inputs connected"):
        NetGraph({"a": 2, "cat": CatenateLayer()}, {})
    with pytest.raises(ValueError, match=r"port 'State' expects shape \(4,\), got \(3,\)"):
        NetGraph(
            {"a": LinearLayer(3), "l": LongShortTermMemoryLayer(4)},
            {NetPort("X"): "a", "a": NetPort(("l", "State")), NetPort("S"): "l"},
            input={"X": 2, "S": (5, 2)},
        )
    with pytest.raises(TypeError):
        NetGraph({"a": 2}, 5)


def test_states_pass_between_recurrent_layers(rng):
    """An encoder's final state starts a decoder: the values equal doing it by hand."""
    g = NetInitialize(
        NetGraph(
            {"enc": LongShortTermMemoryLayer(4), "dec": LongShortTermMemoryLayer(4)},
            {
                NetPort("Source"): "enc",
                NetPort("Target"): "dec",
                NetPort(("enc", "State")): NetPort(("dec", "State")),
                NetPort(("enc", "CellState")): NetPort(("dec", "CellState")),
                "dec": NetPort("Output"),
            },
            input={"Source": (6, 3), "Target": (5, 3)},
        ),
        random_seed=5,
    )
    assert g.output_ports == ("Output", "Output1")  # the encoder's own output is left open
    src, tgt = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 5, 3))
    out = g({"Source": src, "Target": tgt})["Output"]
    from netchain.autodiff import lstm

    enc, dec = g.layers
    _, h, c = lstm(
        src.astype(np.float32), *[enc.arrays[n] for n in ("InputWeights", "StateWeights", "Biases")]
    )
    want, _, _ = lstm(
        tgt.astype(np.float32),
        *[dec.arrays[n] for n in ("InputWeights", "StateWeights", "Biases")],
        h,
        c,
    )
    np.testing.assert_allclose(out, want.data, atol=1e-6)


def test_nesting_chains_and_graphs(rng):
    inner = NetGraph(
        {"x": LinearLayer(4), "y": LinearLayer(4), "plus": ThreadingLayer("Plus")},
        [(NetPort("Input"), "x"), (NetPort("Input"), "y"), (["x", "y"], "plus")],
    )
    chain = NetInitialize(NetChain([inner, Ramp, NetChain([LinearLayer(2)])], input=3))
    x = rng.standard_normal((5, 3))
    g = chain.layers[0]
    a = x @ g.layers[0].arrays["Weights"].T + g.layers[0].arrays["Biases"]
    b = x @ g.layers[1].arrays["Weights"].T + g.layers[1].arrays["Biases"]
    h = np.maximum(a + b, 0)
    last = chain.layers[2].layers[0]
    np.testing.assert_allclose(
        chain(x), h @ last.arrays["Weights"].T + last.arrays["Biases"], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        chain(x, NetPort((1, "plus", "Output"))), a + b, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_array_equal(
        NetExtract(chain, (1, "x", "Weights")), g.layers[0].arrays["Weights"]
    )
    outer = NetInitialize(NetGraph({"c": chain, "s": LogisticSigmoid}, {"c": "s"}))
    assert outer.output_shape == (2,)


def test_train_with_two_inputs_and_a_regression_target(rng):
    X1 = rng.standard_normal((400, 2)).astype(np.float32)
    X2 = rng.standard_normal((400, 4)).astype(np.float32)
    Y = (X1 @ [1.0, -2.0] + X2 @ [0.5, 0.0, 1.0, -1.0])[:, None].astype(np.float32)
    g = NetGraph(
        {"a": LinearLayer(3), "b": LinearLayer(3), "cat": CatenateLayer(), "out": LinearLayer(1)},
        [(NetPort("Input1"), "a"), (NetPort("Input2"), "b"), (["a", "b"], "cat"), ("cat", "out")],
    )
    res = NetTrain(
        g,
        {"Input1": X1, "Input2": X2, "Output": Y},
        "All",
        max_training_rounds=60,
        learning_rate=0.02,
        training_progress_reporting=None,
        validation_set=0.2,
    )
    assert res.loss == "MeanSquared"
    assert res.validation_losses[-1] < 1e-3
    trained = res.trained_net
    pred = trained({"Input1": X1[:10], "Input2": X2[:10]})
    np.testing.assert_allclose(pred, Y[:10], atol=0.1)
    assert g.uninitialized(), "NetTrain must leave its argument unchanged"
    with pytest.raises(ValueError, match="no data for the graph's input port 'Input2'"):
        NetTrain(g, {"Input1": X1, "Output": Y}, training_progress_reporting=None)
    with pytest.raises(ValueError, match="port 'Input1' expects examples of shape"):
        NetTrain(
            NetInitialize(trained),
            {"Input1": X2, "Input2": X2, "Output": Y},
            training_progress_reporting=None,
        )


def test_train_a_graph_with_two_outputs_and_a_decoder(rng):
    """A shared trunk with a classification head (folded softmax) and a regression head."""
    X = rng.standard_normal((600, 3)).astype(np.float32)
    label = np.where(X[:, 0] + X[:, 1] > 0, "pos", "neg")
    value = (X[:, 2] * 2.0).astype(np.float32)
    g = NetGraph(
        {
            "trunk": NetChain([LinearLayer(16), Ramp]),
            "cls": NetChain([LinearLayer(2), SoftmaxLayer()]),
            "reg": LinearLayer(1),
        },
        {
            "trunk": ["cls"],
            NetPort(("trunk", "Output")): "reg",
            "cls": NetPort("Class"),
            "reg": NetPort("Value"),
        },
        input=3,
        output={"Class": NetDecoder("Class", ["neg", "pos"])},
    )
    res = NetTrain(
        g,
        {"Input": X[:500], "Class": label[:500], "Value": value[:500]},
        "All",
        max_training_rounds=40,
        learning_rate=0.01,
        training_progress_reporting=None,
    )
    assert "CrossEntropy (Index)" in res.loss and "MeanSquared" in res.loss
    out = res.trained_net(X[500:])
    assert np.mean(np.asarray(out["Class"]) == label[500:]) > 0.95
    assert np.abs(out["Value"] - value[500:]).mean() < 0.15
    # training only one of the outputs
    res1 = NetTrain(
        g,
        {"Input": X, "Value": value},
        "All",
        max_training_rounds=2,
        training_progress_reporting=None,
    )
    assert res1.loss == "MeanSquared"


def test_graph_with_a_loss_layer_port(rng):
    X = rng.standard_normal((50, 3)).astype(np.float32)
    g = NetInitialize(
        NetGraph(
            {"net": LinearLayer(2), "loss": MeanSquaredLossLayer()},
            {"net": "loss"},
            input={"Input": 3, "Target": 2},
        )
    )
    assert g.input_ports == ("Input", "Target") and g.output_ports == ("Loss",)
    T = rng.standard_normal((50, 2)).astype(np.float32)
    W, b = g.layers[0].arrays["Weights"], g.layers[0].arrays["Biases"]
    want = np.mean((X @ W.T + b - T) ** 2)
    assert g({"Input": X, "Target": T}) == pytest.approx(want, rel=1e-5)


def test_saving_keeps_graphs_intact(tmp_path, rng):
    g = NetInitialize(
        NetGraph(
            {
                "lstm": LongShortTermMemoryLayer(5),
                "gru": GatedRecurrentLayer(5),
                "last": SequenceLastLayer(),
                "side": NetChain([LinearLayer(5), Ramp]),
                "cat": CatenateLayer(),
                "out": LinearLayer(3),
                "sm": SoftmaxLayer(),
            },
            [
                (NetPort("Tokens"), "lstm"),
                (NetPort("Side"), "side"),
                (NetPort(("lstm", "State")), NetPort(("gru", "State"))),
                ("lstm", "gru", "last"),
                (["side", "last"], "cat", "out", "sm"),
                (NetPort(("gru", "State")), NetPort("Final")),
            ],
            input={"Tokens": (6, 2), "Side": 4},
            output={"Output": NetDecoder("Class", ["a", "b", "c"])},
        )
    )
    path = NetSave(g, tmp_path / "graph.safetensors")
    back = NetLoad(path)
    assert back.input_ports == g.input_ports and back.output_ports == g.output_ports
    assert back.links == g.links
    assert back.edges() == g.edges()
    data = {"Tokens": rng.standard_normal((4, 6, 2)), "Side": rng.standard_normal((4, 4))}
    a, b = g(data), back(data)
    assert list(a["Output"]) == list(b["Output"])
    np.testing.assert_array_equal(a["Final"], b["Final"])
    np.testing.assert_array_equal(
        g(data, "Probabilities")["Output"][0]["a"], back(data, "Probabilities")["Output"][0]["a"]
    )
    chain = NetInitialize(NetChain([g.layers[5].copy(), SoftmaxLayer()], input=10))
    nested = NetInitialize(NetGraph([chain, LinearLayer(2)], {1: 2}))
    back = NetLoad(NetSave(nested, tmp_path / "nested.safetensors"))
    x = rng.standard_normal((3, 10))
    np.testing.assert_array_equal(back(x), nested(x))


def test_information_and_saving_an_uninitialized_graph(tmp_path):
    from netchain import NetInformation

    g = NetGraph({"a": LinearLayer(2), "b": LinearLayer(3)}, {}, input={"Input1": 4, "Input2": 5})
    assert NetInformation(g, "InputPorts") == {"Input1": (4,), "Input2": (5,)}
    assert NetInformation(g, "OutputPorts") == {"Output1": (2,), "Output2": (3,)}
    assert NetInformation(g, "LayersCount") == 2
    with pytest.raises(ValueError, match="uninitialized arrays"):
        NetSave(g, tmp_path / "g.safetensors")
    assert not (tmp_path / "g.safetensors").exists()
