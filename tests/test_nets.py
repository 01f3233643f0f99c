"""Layers and NetChain: shorthand, shapes and their errors, evaluation, decoders, net operations,
saving and loading."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from netchain import (
    CrossEntropyLossLayer,
    DropoutLayer,
    ElementwiseLayer,
    LinearLayer,
    LogisticSigmoid,
    MeanSquaredLossLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetInformation,
    NetInitialize,
    NetLoad,
    NetSave,
    Ramp,
    SoftmaxLayer,
    Tanh,
)
from netchain.autodiff import Tensor, check_grad
from netchain.layers import Context


def test_linear_layer_is_w_x_plus_b():
    net = NetInitialize(NetChain([LinearLayer(10, input=5)]), random_seed=3)
    W, b = NetExtract(net, (1, "Weights")), NetExtract(net, (1, "Biases"))
    assert W.shape == (10, 5) and b.shape == (10,)
    b = np.random.default_rng(0).standard_normal(10).astype(np.float32)
    net = NetChain([LinearLayer(10, weights=W, biases=b)])
    x = np.array([1, 2, 3, 4, 5])
    np.testing.assert_allclose(net(x), W @ x + b, rtol=1e-6)
    assert net(x).shape == (10,)
    assert net(np.stack([x, x])).shape == (2, 10)


def test_shorthand_builds_the_layers():
    net = NetChain([16, Ramp, 8, Tanh, "GELU", 3, SoftmaxLayer()], input=4)
    kinds = [layer.summary() for layer in net.layers]
    assert kinds == [
        "LinearLayer[16]",
        "ElementwiseLayer[Ramp]",
        "LinearLayer[8]",
        "ElementwiseLayer[Tanh]",
        "ElementwiseLayer[GELU]",
        "LinearLayer[3]",
        "SoftmaxLayer",
    ]
    assert net.output_shape == (3,)


def test_the_table_shows_shapes_and_parameter_counts():
    text = repr(NetChain([LinearLayer(16), Ramp, 1], input=2))
    assert "LinearLayer[16]" in text and "(16,)" in text and "48" in text and "17" in text
    assert "65 parameters" in text


def test_shape_mismatch_names_position_port_and_shapes():
    with pytest.raises(
        ValueError,
        match=r"LinearLayer at position 2: port 'Input' expects shape \(4,\), got \(3,\)",
    ):
        NetChain([LinearLayer(3, input=2), LinearLayer(2, input=4)])
    net = NetInitialize(NetChain([LinearLayer(3), 1], input=2))
    with pytest.raises(ValueError, match=r"expects one example of shape \(2,\).*got shape \(3,\)"):
        net([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"decoder.*length 3"):
        NetChain([LinearLayer(2)], input=2, output=NetDecoder("Class", ["a", "b", "c"]))


def test_uninitialized_net_refuses_to_evaluate():
    with pytest.raises(ValueError, match="NetInitialize"):
        NetChain([LinearLayer(3)], input=2)([1.0, 2.0])


def test_bad_layer_specifications():
    with pytest.raises(TypeError, match="element 2"):
        NetChain([LinearLayer(3), object()])
    with pytest.raises(ValueError, match="unknown function"):
        ElementwiseLayer("Swish")
    with pytest.raises(ValueError, match="positive"):
        LinearLayer(0)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        DropoutLayer(1.5)
    with pytest.raises(ValueError, match="target form"):
        CrossEntropyLossLayer("Indices")


def test_evaluation_rejects_ragged_nan_and_empty_inputs():
    net = NetInitialize(NetChain([LinearLayer(3)], input=2))
    with pytest.raises(ValueError, match="rectangular"):
        net([[1.0, 2.0], [3.0]])
    with pytest.raises(ValueError, match="NaN"):
        net([np.nan, 1.0])
    with pytest.raises(ValueError, match="empty"):
        net(np.zeros((0, 2)))
    with pytest.raises(TypeError, match="real numbers"):
        net(["a", "b"])


def test_uint8_inputs_are_cast_without_wrapping():
    net = NetChain([LinearLayer(weights=[[1.0, 1.0]], biases=[0.0])])
    assert net(np.array([200, 100], dtype=np.uint8))[0] == pytest.approx(300.0)


def test_dropout_is_identity_in_evaluation_and_0_or_2_in_training():
    layer = DropoutLayer(0.5)
    x = Tensor(np.ones((200, 50), dtype=np.float32))
    assert layer.forward({}, [x], Context(training=False)) is x
    y = layer.forward({}, [x], Context(training=True, rng=np.random.default_rng(0))).data
    assert set(np.unique(y)) == {0.0, 2.0}
    assert 0.45 < (y == 0).mean() < 0.55
    net = NetInitialize(NetChain([LinearLayer(4), DropoutLayer(0.5)], input=3))
    np.testing.assert_array_equal(net([1.0, 2.0, 3.0]), net([1.0, 2.0, 3.0]))


def test_class_decoder_gives_labels_and_probabilities():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    net = NetChain(
        [LinearLayer(weights=W, biases=np.zeros(3)), SoftmaxLayer()],
        output=NetDecoder("Class", ["cat", "dog", "fish"]),
    )
    assert net([3.0, 0.0]) == "cat"
    assert list(net([[0.0, 5.0], [4.0, 0.0]])) == ["dog", "cat"]
    probs = net([0.0, 0.0], "Probabilities")
    assert set(probs) == {"cat", "dog", "fish"}
    assert probs["cat"] == pytest.approx(1 / 3, rel=1e-6)
    with pytest.raises(ValueError, match="not one of the decoder's labels"):
        net.decoder.encode(["cow"])
    with pytest.raises(ValueError, match="distinct"):
        NetDecoder("Class", ["a", "a"])


def test_net_initialize_is_reproducible_and_leaves_the_net_alone():
    net = NetChain([LinearLayer(8), Ramp, 2], input=3)
    a = NetInitialize(net, random_seed=7)
    b = NetInitialize(net, random_seed=7)
    c = NetInitialize(net, "Xavier", random_seed=8)
    for spec in [(1, "Weights"), (3, "Weights")]:
        np.testing.assert_array_equal(NetExtract(a, spec), NetExtract(b, spec))
        assert not np.array_equal(NetExtract(a, spec), NetExtract(c, spec))
    assert net.uninitialized() and not a.uninitialized()
    W = NetExtract(
        NetInitialize(NetChain([LinearLayer(500, input=400)]), random_seed=1), (1, "Weights")
    )
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)  # Kaiming
    W = NetExtract(
        NetInitialize(NetChain([LinearLayer(500, input=400)]), "Xavier", random_seed=1),
        (1, "Weights"),
    )
    assert np.abs(W).max() <= np.sqrt(6 / 900) and W.std() == pytest.approx(
        np.sqrt(2 / 900), rel=0.02
    )
    with pytest.raises(ValueError, match="Kaiming"):
        NetInitialize(net, "Orthogonal")
    with pytest.raises(ValueError, match="input shape is unknown"):
        NetInitialize(NetChain([LinearLayer(3)]))


def test_net_extract_and_information():
    net = NetInitialize(
        NetChain(
            {"hidden": LinearLayer(4), "act": Ramp, "out": LinearLayer(2, biases=False)}, input=3
        )
    )
    assert NetExtract(net, ("hidden", "Weights")).shape == (4, 3)
    assert NetExtract(net, (-1, "Weights")).shape == (2, 4)
    assert isinstance(NetExtract(net, 1), LinearLayer)
    info = NetInformation(net)
    assert info["ArraysCount"] == 3
    assert info["ArraysTotalElementCount"] == 4 * 3 + 4 + 2 * 4
    assert info["LayersCount"] == 3
    assert info["InputPorts"] == {"Input": (3,)} and info["OutputPorts"] == {"Output": (2,)}
    with pytest.raises(ValueError, match="no array 'Biases'"):
        NetExtract(net, ("out", "Biases"))
    with pytest.raises(ValueError, match="out of range"):
        NetExtract(net, 4)
    with pytest.raises(ValueError, match="unknown property"):
        NetInformation(net, "Weights")


def test_nested_chains():
    inner = NetChain([LinearLayer(4), Ramp], input=3)
    net = NetInitialize(NetChain([inner, LinearLayer(2)]))
    assert net.output_shape == (2,)
    assert NetExtract(net, (1, 1, "Weights")).shape == (4, 3)
    x = np.array([0.5, -1.0, 2.0])
    W1, b1 = NetExtract(net, (1, 1, "Weights")), NetExtract(net, (1, 1, "Biases"))
    W2, b2 = NetExtract(net, (2, "Weights")), NetExtract(net, (2, "Biases"))
    np.testing.assert_allclose(net(x), W2 @ np.maximum(W1 @ x + b1, 0) + b2, rtol=1e-5, atol=1e-6)


def test_loss_layers_compute_their_losses():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    loss = CrossEntropyLossLayer("Index").loss(Tensor(p), np.array([0, 2]))
    assert loss.item() == pytest.approx(-(np.log(0.7) + np.log(0.8)) / 2)
    loss = CrossEntropyLossLayer("Binary").loss(Tensor([0.9, 0.2]), [1.0, 0.0])
    assert loss.item() == pytest.approx(-(np.log(0.9) + np.log(0.8)) / 2)
    assert MeanSquaredLossLayer().loss(Tensor([1.0, 3.0]), [0.0, 1.0]).item() == pytest.approx(2.5)


def test_a_net_is_differentiable_end_to_end_in_float64(rng):
    net = NetInitialize(
        NetChain([LinearLayer(5), Tanh, LinearLayer(3), LogisticSigmoid], input=4),
        working_precision="Real64",
    )
    from netchain.nets import leaf_layers

    W = NetExtract(net, (1, "Weights"))

    def f(x, w):
        layer = [lay for _, lay in leaf_layers(net)][0]
        ctx = Context(
            params={id(layer): {"Weights": w, "Biases": Tensor(NetExtract(net, (1, "Biases")))}}
        )
        return net.run(x, ctx)

    assert check_grad(f, rng.standard_normal((2, 4)), W) < 1e-7


# ------------------------------------------------------------------ saving and loading
def test_save_and_load_round_trip(tmp_path: Path):
    net = NetInitialize(
        NetChain(
            [LinearLayer(6), Ramp, DropoutLayer(0.3), LinearLayer(3, biases=False), SoftmaxLayer()],
            input=(2, 2),
            output=NetDecoder("Class", ["a", 2, ("t", 1)]),
        ),
        random_seed=5,
    )
    path = NetSave(net, tmp_path / "net.safetensors", metadata={"note": "hello"})
    loaded = NetLoad(path)
    x = np.random.default_rng(0).standard_normal((7, 2, 2))
    assert list(loaded(x)) == list(net(x))
    assert loaded(x[0], "Probabilities") == net(x[0], "Probabilities")
    assert loaded.decoder.labels == ["a", 2, ("t", 1)]
    assert NetLoad(path, "Metadata") == {"note": "hello"}
    assert repr(loaded) == repr(net)
    assert [p.name for p in tmp_path.iterdir()] == ["net.safetensors"]  # no temporary left


def test_saving_is_atomic_and_refuses_unsavable_nets(tmp_path: Path):
    good = NetInitialize(NetChain([LinearLayer(2)], input=2))
    path = tmp_path / "net.safetensors"
    NetSave(good, path)
    before = path.read_bytes()
    custom = NetInitialize(NetChain([LinearLayer(2), ElementwiseLayer(lambda x: x * 2)], input=2))
    with pytest.raises(ValueError, match="cannot be saved"):
        NetSave(custom, path)
    with pytest.raises(ValueError, match="uninitialized"):
        NetSave(NetChain([LinearLayer(2)], input=2), path)
    with pytest.raises(ValueError, match="JSON"):
        NetSave(good, path, metadata={"x": object()})
    with pytest.raises(ValueError, match="does not exist"):
        NetSave(good, tmp_path / "missing" / "net.safetensors")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.safetensors"]


def test_loading_a_truncated_or_foreign_file_gives_a_clear_error(tmp_path: Path):
    net = NetInitialize(NetChain([LinearLayer(4)], input=3))
    path = NetSave(net, tmp_path / "net.safetensors")
    data = path.read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a saved netchain net"):
        NetLoad(tmp_path / "cut.safetensors")
    (tmp_path / "text.safetensors").write_text("hello")
    with pytest.raises(ValueError, match="not a saved netchain net"):
        NetLoad(tmp_path / "text.safetensors")
    from safetensors.numpy import save_file

    save_file({"w": np.zeros(3, dtype=np.float32)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(ValueError, match="not a saved netchain net"):
        NetLoad(tmp_path / "foreign.safetensors")
    with pytest.raises(FileNotFoundError):
        NetLoad(tmp_path / "nothing.safetensors")


def test_loading_never_instantiates_unknown_types(tmp_path: Path):
    import json

    from safetensors.numpy import save_file

    desc = {"format": "netchain-net", "version": 1, "net": {"type": "os.system", "config": {}}}
    save_file({}, str(tmp_path / "evil.safetensors"), metadata={"netchain": json.dumps(desc)})
    with pytest.raises(ValueError, match="unknown layer type"):
        NetLoad(tmp_path / "evil.safetensors")
    assert not os.path.exists("pwned")


def test_saved_files_get_ordinary_permissions_and_links_are_followed(tmp_path: Path):
    net = NetInitialize(NetChain([LinearLayer(2)], input=2))
    old = os.umask(0o022)
    try:
        path = NetSave(net, tmp_path / "a.safetensors")
        assert path.stat().st_mode & 0o777 == 0o644
        existing = tmp_path / "b.safetensors"
        existing.write_bytes(b"")
        existing.chmod(0o640)
        NetSave(net, existing)
        assert existing.stat().st_mode & 0o777 == 0o640
        target = tmp_path / "target.safetensors"
        link = tmp_path / "link.safetensors"
        link.symlink_to(target)
        NetSave(net, link)
        assert link.is_symlink() and NetLoad(link).output_shape == (2,)
    finally:
        os.umask(old)


def test_bad_destinations_and_metadata(tmp_path: Path):
    net = NetInitialize(NetChain([LinearLayer(2)], input=2))
    with pytest.raises(ValueError, match="is a folder"):
        NetSave(net, tmp_path)
    with pytest.raises(TypeError, match="path must be"):
        NetSave(net, 5)
    with pytest.raises(TypeError, match="metadata must be a dict"):
        NetSave(net, tmp_path / "x.safetensors", metadata=[1, 2])
    with pytest.raises(ValueError, match="NaN"):
        NetSave(net, tmp_path / "x.safetensors", metadata={"a": float("nan")})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "description",
    [
        [1, 2],
        {"format": "netchain-net", "version": "2", "net": {}},
        {"format": "netchain-net", "version": 1},
        {"format": "netchain-net", "version": 1, "net": {"type": "NetChain", "layers": 5}},
        {"format": "netchain-net", "version": 1, "net": {"type": "ElementwiseLayer", "config": {}}},
    ],
    ids=[
        "a list",
        "a string version",
        "no net",
        "layers not a list",
        "a config without its argument",
    ],
)
def test_damaged_descriptions_give_a_value_error(description, tmp_path: Path):
    import json

    from safetensors.numpy import save_file

    path = tmp_path / "damaged.safetensors"
    save_file({}, str(path), metadata={"netchain": json.dumps(description)})
    with pytest.raises(ValueError, match="not a saved netchain net|damaged net description"):
        NetLoad(path)
