"""Recurrent and sequence layers in nets: shapes, PyTorch weights, padded batches, the
sequence layers' semantics, embeddings, operators, saving, gradient clipping."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import (
    LinearLayer,
    NetChain,
    NetInitialize,
    NetLoad,
    NetSave,
    NetTrain,
    SoftmaxLayer,
    Tanh,
    check_grad,
)
from netchain.autodiff import Tensor
from netchain.layers import (
    BasicRecurrentLayer,
    CatenateLayer,
    Context,
    EmbeddingLayer,
    GatedRecurrentLayer,
    LongShortTermMemoryLayer,
    PartLayer,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    ShapeError,
    ThreadingLayer,
    TotalLayer,
    load_torch_weights,
    pad_sequences,
)
from netchain.layers.recurrent import embedding_indices
from netchain.layers.structural import set_sequence_lengths
from netchain.nets import NetBidirectionalOperator, NetMapOperator, NetPort, arrays_for


def test_shapes_and_parameter_counts():
    net = NetChain(
        [LongShortTermMemoryLayer(8), GatedRecurrentLayer(5), BasicRecurrentLayer(4)],
        input=(7, 3),
    )
    assert [layer.output_shapes[0] for layer in net.layers] == [(7, 8), (7, 5), (7, 4)]
    assert net.layers[0].parameter_count() == 4 * 8 * (3 + 8 + 1)
    assert net.layers[1].parameter_count() == 3 * 5 * (8 + 5 + 2)
    assert net.layers[2].parameter_count() == 4 * (5 + 4 + 1)
    varying = NetChain([LongShortTermMemoryLayer(8), SequenceLastLayer(), 2], input=("Varying", 3))
    assert varying.input_shape == (None, 3) and varying.output_shape == (2,)


def test_shape_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"LongShortTermMemoryLayer at position 1.*\(T, F\)"):
        NetChain([LongShortTermMemoryLayer(4)], input=5)
    with pytest.raises(ValueError, match="SequenceMostLayer at position 1"):
        NetChain([SequenceMostLayer()], input=(1, 3))
    with pytest.raises(ValueError, match="positive number of units"):
        LongShortTermMemoryLayer(0)
    with pytest.raises(ValueError, match="'Tanh' or 'Ramp'"):
        BasicRecurrentLayer(3, "Sigmoid")
    with pytest.raises(ValueError, match="expects vectors of size 4"):
        NetChain([LongShortTermMemoryLayer(3, input=4)], input=(5, 2))


def test_initialisation_is_orthogonal_with_forget_bias(rng):
    net = NetInitialize(NetChain([LongShortTermMemoryLayer(6)], input=(3, 2)), random_seed=1)
    layer = net.layers[0]
    U = layer.arrays["StateWeights"].astype(np.float64)
    for k in range(4):
        block = U[6 * k : 6 * (k + 1)]
        np.testing.assert_allclose(block @ block.T, np.eye(6), atol=1e-5)
    b = layer.arrays["Biases"]
    np.testing.assert_array_equal(b[6:12], 1)
    np.testing.assert_array_equal(np.delete(b, np.s_[6:12]), 0)


@pytest.mark.parametrize(
    "kind", ["LongShortTermMemoryLayer", "GatedRecurrentLayer", "BasicRecurrentLayer"]
)
def test_torch_weights_give_torch_outputs(kind, rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(1)
    F, H = 3, 5
    module = {
        "LongShortTermMemoryLayer": torch.nn.LSTM,
        "GatedRecurrentLayer": torch.nn.GRU,
        "BasicRecurrentLayer": torch.nn.RNN,
    }[kind](F, H, batch_first=True).double()
    layer = {
        "LongShortTermMemoryLayer": LongShortTermMemoryLayer,
        "GatedRecurrentLayer": GatedRecurrentLayer,
        "BasicRecurrentLayer": BasicRecurrentLayer,
    }[kind](H)
    loaded = load_torch_weights(layer, module.state_dict())
    net = NetChain([loaded], input=(6, F))
    x = rng.standard_normal((4, 6, F))
    expected = module(torch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(net(x), expected, atol=1e-12)
    with pytest.raises(ValueError, match="weight_ih_l1"):
        load_torch_weights(layer, module.state_dict(), suffix="_l1")
    with pytest.raises(TypeError):
        load_torch_weights(LinearLayer(3), module.state_dict())


def _ragged(rng, lengths, F=3):
    return [rng.standard_normal((n, F)) for n in lengths]


@pytest.mark.parametrize("mid", [GatedRecurrentLayer(4), BasicRecurrentLayer(4, "Ramp")])
def test_ragged_input_equals_each_sequence_alone(mid, rng):
    net = NetInitialize(
        NetChain(
            [
                LongShortTermMemoryLayer(5),
                Tanh,
                SequenceReverseLayer(),
                mid,
                SequenceRestLayer(),
                SequenceMostLayer(),
                NetMapOperator(LinearLayer(2)),
            ],
            input=("Varying", 3),
        ),
        random_seed=3,
    )
    seqs = _ragged(rng, [6, 3, 9, 4])
    outs = net(seqs)
    assert [o.shape for o in outs] == [(4, 2), (1, 2), (7, 2), (2, 2)]
    for o, s in zip(outs, seqs):
        np.testing.assert_allclose(o, net(s), atol=1e-5)
    last = NetChain([*net.layers, SequenceLastLayer()], input=("Varying", 3))
    batch = last(seqs)
    assert batch.shape == (4, 2)
    for row, s in zip(batch, seqs):
        np.testing.assert_allclose(row, last(s), atol=1e-5)


def test_padding_to_a_fixed_length_and_too_long_sequences(rng):
    net = NetInitialize(NetChain([GatedRecurrentLayer(3), SequenceLastLayer()], input=(5, 2)))
    seqs = _ragged(rng, [5, 2], F=2)
    out = net(seqs)
    assert out.shape == (2, 3)
    alone = NetChain([GatedRecurrentLayer(3), SequenceLastLayer()], input=("Varying", 2))
    alone.layers[0].arrays = dict(net.layers[0].arrays)
    np.testing.assert_allclose(out[1], alone(seqs[1]), atol=1e-6)
    with pytest.raises(ValueError, match="at most 5"):
        net(_ragged(rng, [6, 2], F=2))
    with pytest.raises(ValueError, match="share the shape of one step"):
        pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))])


def _seq_apply(layer, x, lengths=None):
    ctx = Context()
    xt = Tensor(x, requires_grad=True)
    if lengths is not None:
        set_sequence_lengths(ctx, xt, np.asarray(lengths))
    return layer.forward({}, [xt], ctx), ctx


def test_sequence_layers_semantics(rng):
    x = np.arange(2 * 4 * 2, dtype=float).reshape(2, 4, 2)
    y, _ = _seq_apply(SequenceLastLayer(), x)
    np.testing.assert_array_equal(y.data, x[:, -1])
    y, _ = _seq_apply(SequenceLastLayer(), x, [2, 4])
    np.testing.assert_array_equal(y.data, [x[0, 1], x[1, 3]])
    y, _ = _seq_apply(SequenceMostLayer(), x)
    np.testing.assert_array_equal(y.data, x[:, :-1])
    y, _ = _seq_apply(SequenceRestLayer(), x)
    np.testing.assert_array_equal(y.data, x[:, 1:])
    y, _ = _seq_apply(SequenceReverseLayer(), x)
    np.testing.assert_array_equal(y.data, x[:, ::-1])
    y, ctx = _seq_apply(SequenceReverseLayer(), x, [3, 4])
    np.testing.assert_array_equal(y.data[0], x[0, [2, 1, 0, 3]])
    np.testing.assert_array_equal(y.data[1], x[1, ::-1])
    y, ctx = _seq_apply(SequenceRestLayer(), x, [3, 4])
    from netchain.layers.structural import sequence_lengths

    np.testing.assert_array_equal(sequence_lengths(ctx, y), [2, 3])
    with pytest.raises(ValueError, match="length 0"):
        _seq_apply(SequenceLastLayer(), x, [0, 4])


def test_sequence_layers_gradients(rng):
    x = rng.standard_normal((3, 5, 2))
    L = np.array([5, 2, 4])
    for layer in (SequenceLastLayer(), SequenceReverseLayer(), SequenceMostLayer()):
        for lengths in (None, L):

            def f(t, layer=layer, lengths=lengths):
                ctx = Context()
                if lengths is not None:
                    set_sequence_lengths(ctx, t, lengths)
                return layer.forward({}, [t], ctx)

            assert check_grad(f, x) < 1e-8


def test_embedding_layer(rng):
    net = NetInitialize(NetChain([EmbeddingLayer(3, 10)], input=(4,)), random_seed=0)
    W = net.layers[0].arrays["Weights"]
    idx = np.array([[1, 2, 9, 0], [3, 3, 3, 3]])
    np.testing.assert_array_equal(net(idx), W[idx])
    with pytest.raises(ValueError, match=r"\[0, 9\]"):
        net(np.array([[1, 2, 10, 0]]))
    with pytest.raises(ValueError, match="whole numbers"):
        net(np.array([[1, 2.5, 3, 0]]))
    # its gradient is the scatter-add of the output gradient
    layer = net.layers[0]
    Wt = Tensor(W.astype(np.float64), requires_grad=True)
    out = layer.forward({"Weights": Wt}, [Tensor(idx.astype(np.float64))], Context())
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros_like(Wt.data)
    np.add.at(expected, idx, g)
    np.testing.assert_allclose(Wt.grad, expected)


def test_embedding_layer_reports_the_indices_it_was_given():
    net = NetInitialize(NetChain([EmbeddingLayer(3, 10)], input=(4,)), random_seed=0)
    # the offending values themselves, not the min..max of the batch
    with pytest.raises(ValueError, match=r"\[0, 9\], got -1, 10, 11, 12, 13 and 3 more$"):
        net(np.array([[10, 11, 12, 13], [14, 15, 16, -1]]))
    with pytest.raises(ValueError, match=r"\[0, 9\], got 16777216$"):  # 2**24: still exact
        net(np.array([[1, 2, 3, 2**24]]))
    # the net reads its input as float32: 10**12 arrives as 999999995904, which is not shown
    # as if it were the index given
    with pytest.raises(ValueError, match=r"got about 1e\+12 \(float32 .* 2\*\*24 = 16777216") as e:
        net(np.array([[1, 2, 3, 10**12]]))
    assert "999999995904" not in str(e.value)
    # integer indices are checked as given, before any float cast
    with pytest.raises(ValueError, match=r"got 1000000000000$"):
        embedding_indices(np.array([[1, 10**12]]), 10)
    with pytest.raises(ValueError, match=r"got 9007199254740993$"):  # 2**53 + 1
        embedding_indices(np.array([2**53 + 1]), 10)
    with pytest.raises(ValueError, match="whole numbers .* dtype <U1"):
        embedding_indices(np.array(["a"]), 10)
    np.testing.assert_array_equal(embedding_indices(np.array([[0.0, 9.0]]), 10), [[0, 9]])


def test_combining_layers():
    a = np.arange(6.0).reshape(1, 2, 3)
    b = np.ones((1, 2, 3))
    ctx = Context()
    cat1 = CatenateLayer().forward({}, [Tensor(a), Tensor(b)], ctx).data
    assert cat1.shape == (1, 4, 3)
    cat2 = CatenateLayer(-1).forward({}, [Tensor(a), Tensor(b)], ctx).data
    np.testing.assert_array_equal(cat2, np.concatenate([a, b], axis=-1))
    assert CatenateLayer(-1).infer([(2, 3), (2, 5)]) == [(2, 8)]
    with pytest.raises(ShapeError, match="cannot be joined"):
        CatenateLayer(-1).infer([(2, 3), (4, 5)])
    for name, fn in [("Plus", np.add), ("Times", np.multiply), ("Max", np.maximum)]:
        got = ThreadingLayer(name).forward({}, [Tensor(a), Tensor(b), Tensor(a)], ctx).data
        np.testing.assert_array_equal(got, fn(fn(a, b), a))
    with pytest.raises(ValueError, match="unknown function"):
        ThreadingLayer("Hypot")
    np.testing.assert_array_equal(TotalLayer().forward({}, [Tensor(a), Tensor(b)], ctx).data, a + b)
    with pytest.raises(ShapeError):
        TotalLayer().infer([(2, 3), (3, 2)])


def test_part_layer():
    x = np.arange(2 * 4 * 3, dtype=float).reshape(2, 4, 3)
    cases = [
        (1, x[:, 0], (3,)),
        (-1, x[:, -1], (3,)),
        ([2, 4], x[:, [1, 3]], (2, 3)),
        (("All", 2), x[:, :, 1], (4,)),
        (slice(2, 3), x[:, 1:3], (2, 3)),
        ((slice(2, -1), [1, 3]), x[:, 1:, :][:, :, [0, 2]], (3, 2)),
        ((2, [3, 1]), x[:, 1, [2, 0]], (2,)),
    ]
    for spec, want, shape in cases:
        layer = PartLayer(spec)
        assert layer.infer([(4, 3)]) == [shape], spec
        np.testing.assert_array_equal(layer.forward({}, [Tensor(x)], Context()).data, want)
    with pytest.raises(ShapeError, match="out of range"):
        PartLayer(5).infer([(4, 3)])
    with pytest.raises(ValueError, match="from 1"):
        PartLayer(0)
    assert (
        check_grad(lambda t: PartLayer((slice(2, -1), [1, 3])).forward({}, [t], Context()), x)
        < 1e-8
    )


def test_bidirectional_operator(rng):
    bi = NetInitialize(
        NetChain([NetBidirectionalOperator(GatedRecurrentLayer(4))], input=("Varying", 2)),
        random_seed=2,
    )
    x = rng.standard_normal((3, 6, 2))
    out = bi(x)
    assert out.shape == (3, 6, 8)
    op = bi.layers[0]
    fwd = NetChain([op.forward_net.copy()], input=("Varying", 2))
    bwd = NetChain([op.backward_net.copy()], input=("Varying", 2))
    np.testing.assert_allclose(out[..., :4], fwd(x), atol=1e-6)
    np.testing.assert_allclose(out[..., 4:], bwd(x[:, ::-1])[:, ::-1], atol=1e-6)
    assert not np.allclose(
        op.forward_net.arrays["StateWeights"], op.backward_net.arrays["StateWeights"]
    )
    seqs = _ragged(rng, [4, 2], F=2)
    outs = bi(seqs)
    for o, s in zip(outs, seqs):
        np.testing.assert_allclose(o, bi(s), atol=1e-6)


def test_saving_recurrent_nets(tmp_path, rng):
    net = NetInitialize(
        NetChain(
            [
                EmbeddingLayer(4, 12),
                NetBidirectionalOperator(LongShortTermMemoryLayer(5)),
                BasicRecurrentLayer(3, "Ramp"),
                NetMapOperator(NetChain([LinearLayer(6), Tanh])),
                PartLayer(("All", slice(1, 4))),
                SequenceLastLayer(),
                LinearLayer(2),
                SoftmaxLayer(),
            ],
            input=("Varying",),
        )
    )
    path = NetSave(net, tmp_path / "rnn.safetensors")
    back = NetLoad(path)
    x = rng.integers(0, 12, (3, 7))
    np.testing.assert_array_equal(back(x), net(x))
    assert back.input_shape == (None,)


def test_inner_ports_of_a_chain(rng):
    net = NetInitialize(
        NetChain([LongShortTermMemoryLayer(4), SequenceLastLayer(), LinearLayer(2)], input=(5, 3))
    )
    x = rng.standard_normal((2, 5, 3))
    seq = net(x, NetPort((1, "Output")))
    np.testing.assert_allclose(net(x, NetPort((2, "Output"))), seq[:, -1])
    # the final state of an LSTM is its last output
    np.testing.assert_allclose(net(x, NetPort((1, "State"))), seq[:, -1], atol=1e-7)
    np.testing.assert_allclose(net(x, NetPort((3, "Input"))), seq[:, -1])
    with pytest.raises(ValueError, match="no port 'Cell'"):
        net(x, NetPort((1, "Cell")))


def test_gradient_clipping_bounds_the_update(rng):
    X = rng.standard_normal((16, 6, 3)).astype(np.float32) * 3
    Y = rng.integers(0, 2, 16)
    net = NetInitialize(
        NetChain(
            [LongShortTermMemoryLayer(8), SequenceLastLayer(), 2, SoftmaxLayer()], input=(6, 3)
        )
    )
    common = dict(
        method=("SGD", {"momentum": 0.0}),
        learning_rate=1.0,
        max_training_rounds=1,
        batch_size=16,
        training_progress_reporting=None,
    )

    def change(trained):
        return np.concatenate(
            [
                (trained.layers[i].arrays[n] - net.layers[i].arrays[n]).ravel()
                for i in (0, 2)
                for n in net.layers[i].arrays
            ]
        )

    d = change(NetTrain(net, (X, Y), gradient_clipping=("L2Norm", 1e-3), **common))
    assert np.linalg.norm(d) == pytest.approx(1e-3, rel=1e-3)
    d = change(NetTrain(net, (X, Y), gradient_clipping=1e-4, **common))
    assert np.abs(d).max() == pytest.approx(1e-4, rel=1e-3)


def test_trains_on_a_sequence_task(rng):
    """Is the sum of a sequence of +-1 positive? Needs memory of every step."""
    X = rng.choice([-1.0, 1.0], size=(600, 9, 1)).astype(np.float32)
    Y = (X.sum(axis=(1, 2)) > 0).astype(int)
    for layer in (LongShortTermMemoryLayer(12), GatedRecurrentLayer(12)):
        net = NetChain([layer, SequenceLastLayer(), 2, SoftmaxLayer()], input=(9, 1))
        trained = NetTrain(
            net,
            (X[:500], Y[:500]),
            max_training_rounds=40,
            batch_size=32,
            learning_rate=0.01,
            training_progress_reporting=None,
        )
        acc = np.mean(trained(X[500:]).argmax(axis=1) == Y[500:])
        assert acc > 0.95, (layer.name, acc)


def test_state_port_of_an_inner_layer_via_forward_ports(rng):
    layer = NetInitialize(NetChain([LongShortTermMemoryLayer(3)], input=(4, 2))).layers[0]
    x = Tensor(rng.standard_normal((2, 4, 2)))
    ctx = Context()
    out = layer.forward_ports(arrays_for(layer, ctx), {"Input": x}, ctx)
    assert set(out) == {"Output", "State", "CellState"}
    h0 = Tensor(rng.standard_normal((2, 3)))
    again = layer.forward_ports(arrays_for(layer, ctx), {"Input": x, "State": h0}, ctx)
    assert not np.allclose(again["Output"].data, out["Output"].data)
    with pytest.raises(ValueError, match="no port"):
        layer.port_shape("Memory")
