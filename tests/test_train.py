"""NetTrain: the course's XOR nets, data forms, losses, optimisers against PyTorch, validation,
stopping, reproducibility, non-finite losses and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import (
    CrossEntropyLossLayer,
    LinearLayer,
    LogisticSigmoid,
    MeanAbsoluteLossLayer,
    NetChain,
    NetDecoder,
    NetExtract,
    NetInitialize,
    NetTrain,
    Ramp,
    SoftmaxLayer,
    Tanh,
)
from netchain.autodiff import Tensor
from netchain.train import ADAM, SGD, RMSProp, TrainingWarning, optimizers

XOR = {(1, 1): 0, (0, 0): 0, (1, 0): 1, (0, 1): 1}
XOR_INPUTS = [[1, 1], [0, 0], [1, 0], [0, 1]]
QUIET = {"training_progress_reporting": None}


# ------------------------------------------------------------------ the course's XOR nets
@pytest.mark.parametrize(
    "layers",
    [[LinearLayer(1)], [16, 1], [16, 16, 1]],
    ids=["no hidden layer", "one linear hidden layer", "two linear hidden layers"],
)
def test_xor_without_an_activation_stays_at_one_half(layers):
    trained = NetTrain(NetChain(layers), XOR, **QUIET)
    out = trained(XOR_INPUTS)
    assert out.shape == (4,)
    np.testing.assert_allclose(out, 0.5, atol=0.02)


def test_xor_with_ramp_is_solved():
    trained = NetTrain(NetChain([16, Ramp, 1]), XOR, **QUIET)
    np.testing.assert_allclose(trained(XOR_INPUTS), [0, 0, 1, 1], atol=0.05)
    assert isinstance(trained([1, 0]), float)


def test_nettrain_returns_a_new_net_and_leaves_its_argument_unchanged():
    net = NetInitialize(NetChain([16, Ramp, 1], input=2), random_seed=1)
    before = NetExtract(net, (1, "Weights"))
    trained = NetTrain(net, XOR, max_training_rounds=50, **QUIET)
    np.testing.assert_array_equal(NetExtract(net, (1, "Weights")), before)
    assert not np.array_equal(NetExtract(trained, (1, "Weights")), before)


def test_the_same_seed_gives_the_same_net_bit_for_bit():
    nets = [
        NetTrain(NetChain([8, Tanh, 1]), XOR, max_training_rounds=200, random_seed=s, **QUIET)
        for s in (5, 5, 6)
    ]
    for spec in [(1, "Weights"), (3, "Biases")]:
        np.testing.assert_array_equal(NetExtract(nets[0], spec), NetExtract(nets[1], spec))
        assert not np.array_equal(NetExtract(nets[0], spec), NetExtract(nets[2], spec))


def test_all_data_forms_train_the_same_net():
    X = np.array(XOR_INPUTS, dtype=float)
    y = np.array([0.0, 0.0, 1.0, 1.0])
    forms = [
        XOR,
        [((1, 1), 0), ((0, 0), 0), ((1, 0), 1), ((0, 1), 1)],
        (X, y),
        {"Input": X, "Output": y},
    ]
    nets = [NetTrain(NetChain([4, Ramp, 1]), f, max_training_rounds=30, **QUIET) for f in forms]
    for n in nets[1:]:
        np.testing.assert_array_equal(
            NetExtract(n, (1, "Weights")), NetExtract(nets[0], (1, "Weights"))
        )


# ------------------------------------------------------------------ losses chosen as in Wolfram
def test_loss_is_chosen_from_the_last_layer_and_the_targets():
    X = np.random.default_rng(0).standard_normal((20, 3))
    classes = np.arange(20) % 3
    r = NetTrain(
        NetChain([LinearLayer(3), SoftmaxLayer()]),
        (X, classes),
        "All",
        max_training_rounds=2,
        **QUIET,
    )
    assert r.loss == "CrossEntropy (Index)"
    probs = np.eye(3)[classes] * 0.8 + 0.2 / 3
    r = NetTrain(
        NetChain([LinearLayer(3), SoftmaxLayer()]),
        (X, probs),
        "All",
        max_training_rounds=2,
        **QUIET,
    )
    assert r.loss == "CrossEntropy (Probabilities)"
    r = NetTrain(
        NetChain([LinearLayer(1), LogisticSigmoid]),
        (X, classes % 2),
        "All",
        max_training_rounds=2,
        **QUIET,
    )
    assert r.loss == "CrossEntropy (Binary)"
    r = NetTrain(NetChain([LinearLayer(2)]), (X, X[:, :2]), "All", max_training_rounds=2, **QUIET)
    assert r.loss == "MeanSquared"
    r = NetTrain(
        NetChain([LinearLayer(2)]),
        (X, X[:, :2]),
        "All",
        loss=MeanAbsoluteLossLayer(),
        max_training_rounds=2,
        **QUIET,
    )
    assert r.loss == "MeanAbsolute"


def test_softmax_classifier_with_labels_learns_iris():
    from netchain.datasets import load_iris, standardize, train_test_split

    ds = load_iris()
    names = np.array(ds.target_names)[ds.y]
    Xtr, Xte, ytr, yte = train_test_split(ds.X, names, 0.3, random_seed=0)
    Xtr, Xte = standardize(Xtr, Xte)
    net = NetChain([16, Tanh, 3, SoftmaxLayer()], output=NetDecoder("Class", ds.target_names))
    trained = NetTrain(net, (Xtr, ytr), max_training_rounds=100, learning_rate=0.01, **QUIET)
    assert np.mean(trained(Xte) == yte) >= 0.9
    p = trained(Xte[0], "Probabilities")
    assert set(p) == set(ds.target_names) and sum(p.values()) == pytest.approx(1, rel=1e-5)


def test_explicit_cross_entropy_on_probabilities_without_fusion():
    X = np.random.default_rng(1).standard_normal((30, 2))
    y = (X[:, 0] > 0).astype(int)
    net = NetChain([LinearLayer(2), SoftmaxLayer()])
    r = NetTrain(
        net,
        (X, y),
        "All",
        loss=CrossEntropyLossLayer("Index"),
        max_training_rounds=200,
        learning_rate=0.02,
        **QUIET,
    )
    assert r.round_losses[-1] < r.round_losses[0] * 0.5
    assert np.mean(r.trained_net(X).argmax(axis=1) == y) > 0.9


# ------------------------------------------------------------------ optimisers
@pytest.mark.parametrize("numba", [True, False])
def test_adam_with_a_constant_gradient_moves_by_the_learning_rate(numba, monkeypatch):
    if not numba:
        monkeypatch.setattr(optimizers._KERNELS, "_loaded", False)
    w = Tensor(np.zeros(5), requires_grad=True)
    opt = ADAM()
    for step in range(1, 6):
        w.grad = np.ones(5)
        opt.update([w], 1.0)
        np.testing.assert_allclose(w.data, -float(step), rtol=1e-7)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ADAM(0.8, 0.99, 1e-6, 0.01, 0.5),
        lambda: SGD(0.9, 0.01, 0.3),
        lambda: RMSProp(0.8, 1e-6, 0.0, ("L2Norm", 1.0)),
    ],
)
def test_numba_and_array_expression_updates_agree(make, monkeypatch):
    rng = np.random.default_rng(0)
    start = rng.standard_normal(50)
    grads = [rng.standard_normal(50) for _ in range(4)]
    results = []
    for numba in (True, False):
        if not numba:
            monkeypatch.setattr(optimizers._KERNELS, "_loaded", False)
        w = Tensor(start.copy(), requires_grad=True)
        opt = make()
        for g in grads:
            w.grad = g.copy()
            opt.update([w], 0.05)
        results.append(w.data.copy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "method, torch_opt",
    [
        (("ADAM", {}), lambda p, torch: torch.optim.Adam(p, lr=0.01)),
        (
            ("ADAM", {"beta1": 0.8}),
            lambda p, torch: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.999)),
        ),
        (("SGD", {"momentum": 0.9}), lambda p, torch: torch.optim.SGD(p, lr=0.01, momentum=0.9)),
        (("RMSProp", {}), lambda p, torch: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-8)),
    ],
)
def test_training_steps_equal_pytorch_in_float64(method, torch_opt):
    """Three full steps (forward, softmax cross-entropy, backward, update) from the same
    weights on the same batches agree with PyTorch to 1e-10."""
    torch = pytest.importorskip("torch")
    from netchain.train import Trainer, make_optimizer
    from netchain.train.nettrain import make_objective

    rng = np.random.default_rng(0)
    W1, b1 = rng.standard_normal((6, 4)), rng.standard_normal(6)
    W2, b2 = rng.standard_normal((3, 6)), rng.standard_normal(3)
    X, y = rng.standard_normal((3, 8, 4)), rng.integers(0, 3, (3, 8))
    net = NetChain(
        [
            LinearLayer(weights=W1, biases=b1),
            Tanh,
            LinearLayer(weights=W2, biases=b2),
            SoftmaxLayer(),
        ]
    )
    obj, _, _ = make_objective(net, None, y[0])
    trainer = Trainer(net, obj, make_optimizer(method, 0.001, None), rng)
    model = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3)
    ).double()
    with torch.no_grad():
        for lin, W, b in ((model[0], W1, b1), (model[2], W2, b2)):
            lin.weight.copy_(torch.tensor(W))
            lin.bias.copy_(torch.tensor(b))
    opt = torch_opt(model.parameters(), torch)
    for group in opt.param_groups:
        group["weight_decay"] = 0.001
    for k in range(3):
        ours = trainer.step(X[k], y[k], 0.01)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(torch.tensor(X[k])), torch.tensor(y[k]))
        loss.backward()
        opt.step()
        assert ours == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(
        NetExtract(net, (1, "Weights")), model[0].weight.detach().numpy(), rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(
        NetExtract(net, (3, "Biases")), model[2].bias.detach().numpy(), rtol=1e-10, atol=1e-12
    )


def test_gradient_clipping_by_value_limits_each_step():
    w = Tensor(np.zeros(3), requires_grad=True)
    opt = SGD(gradient_clipping=0.5)
    w.grad = np.array([10.0, -0.2, -7.0])
    opt.update([w], 1.0)
    np.testing.assert_allclose(w.data, [-0.5, 0.2, 0.5])
    opt = SGD(gradient_clipping=("L2Norm", 1.0))
    w.grad = np.array([3.0, 4.0, 0.0])
    before = w.data.copy()
    opt.update([w], 1.0)
    np.testing.assert_allclose(before - w.data, [0.6, 0.8, 0.0])


# ------------------------------------------------------------------ validation, stopping, results
def _regression(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 1))
    return X, np.sin(X[:, 0]) + 0.05 * rng.standard_normal(n)


def test_results_object_and_validation_fraction():
    X, y = _regression()
    r = NetTrain(
        NetChain([16, Tanh, 1]), (X, y), "All", validation_set=0.25, max_training_rounds=30, **QUIET
    )
    assert r.rounds == 30 and len(r.round_losses) == 30 and len(r.validation_losses) == 30
    assert r.round_losses[-1] < r.round_losses[0]
    assert r.best_round == int(np.argmin(r.validation_losses)) + 1
    assert r.stop_reason == "MaxTrainingRounds"
    assert r["FinalRoundLoss"] == r.round_losses[-1]
    assert r.examples_per_second > 0 and r.total_time > 0
    assert r.batches == 30 * int(np.ceil(150 / 64))
    assert "30 rounds" in repr(r)
    losses = NetTrain(
        NetChain([16, Tanh, 1]), (X, y), "RoundLossList", max_training_rounds=3, **QUIET
    )
    assert len(losses) == 3


def test_the_net_with_the_best_validation_loss_is_returned():
    X, y = _regression(40)
    Xv, yv = _regression(40, seed=1)
    r = NetTrain(NetChain([64, Ramp, 64, Ramp, 1]), (X, y), "All", validation_set=(Xv, yv),
                 max_training_rounds=60, learning_rate=0.01, **QUIET)  # fmt: skip
    best = min(r.validation_losses)
    from netchain.autodiff import mean_squared_error

    assert mean_squared_error(Tensor(r.trained_net(Xv)), yv).item() == pytest.approx(best, rel=1e-4)


def test_stopping_criterion_patience():
    X, y = _regression(64)
    r = NetTrain(NetChain([4, Tanh, 1]), (X, y), "All", learning_rate=1e-7, max_training_rounds=500,
                 training_stopping_criterion={"patience": 3, "min_delta": 1e-3}, **QUIET)  # fmt: skip
    assert (
        r.stop_reason == "StoppingCriterion" and r.rounds == 4
    )  # the best round, then 3 without progress


def test_progress_callback_receives_each_round():
    seen = []
    NetTrain(NetChain([2, 1]), XOR, max_training_rounds=5, training_progress_reporting=seen.append)
    assert [d["round"] for d in seen] == [1, 2, 3, 4, 5]
    assert all(np.isfinite(d["loss"]) for d in seen)


def test_progress_bar_is_drawn(capsys):
    NetTrain(NetChain([2, 1]), XOR, max_training_rounds=3)
    assert "NetTrain" in capsys.readouterr().err


def test_a_non_finite_loss_stops_training_and_returns_the_last_finite_net():
    X, y = _regression(64)
    with pytest.warns(TrainingWarning, match="loss became"):
        r = NetTrain(NetChain([32, Ramp, 1]), (X, y * 1e3), "All", method="SGD", learning_rate=1e6,
                     batch_size=8, max_training_rounds=50, **QUIET)  # fmt: skip
    assert r.stop_reason == "NonFiniteLoss"
    out = r.trained_net(X)
    assert np.all(np.isfinite(out))
    for spec in [(1, "Weights"), (3, "Weights")]:
        assert np.all(np.isfinite(NetExtract(r.trained_net, spec)))


def test_working_precision_real64():
    trained = NetTrain(
        NetChain([4, Tanh, 1]), XOR, max_training_rounds=3, working_precision="Real64", **QUIET
    )
    assert NetExtract(trained, (1, "Weights")).dtype == np.float64
    assert trained(XOR_INPUTS).dtype == np.float64


def test_learning_rate_schedules():
    for sched in ["Cosine", "Linear", "Exponential", lambda step, total: 0.5]:
        r = NetTrain(
            NetChain([4, Tanh, 1]),
            XOR,
            "All",
            max_training_rounds=5,
            learning_rate_schedule=sched,
            **QUIET,
        )
        assert len(r.round_losses) == 5
    with pytest.raises(ValueError, match="learning_rate_schedule"):
        NetTrain(NetChain([2, 1]), XOR, learning_rate_schedule="Step")


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "data, error, match",
    [
        ({(1, 2, 3): 0, (4, 5, 6): 1}, ValueError, r"expects examples of shape \(2,\), got \(3,\)"),
        ([((1, 2), 0), ((1,), 1)], ValueError, "same shape"),
        ({(np.nan, 1): 0, (0, 0): 1}, ValueError, "NaN"),
        ({}, ValueError, "empty"),
        ([], ValueError, "empty"),
        ("xor", TypeError, "must be a dict"),
        ([1, 2, 3], TypeError, r"\(input, output\) pairs"),
        ((np.zeros((3, 2)), np.zeros(2)), ValueError, "3 inputs but 2 outputs"),
        ({(1, 1): "yes", (0, 0): "no"}, ValueError, "decoder"),
    ],
)
def test_bad_data_is_rejected_with_a_clear_message(data, error, match):
    net = NetInitialize(NetChain([3, Ramp, 1], input=2))
    with pytest.raises(error, match=match):
        NetTrain(net, data, **QUIET)


@pytest.mark.parametrize(
    "options, match",
    [
        ({"method": "Newton"}, "method must be one of"),
        ({"method": ("ADAM", {"beta3": 0.1})}, "unknown option"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_training_rounds": -1}, "max_training_rounds"),
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"validation_set": 1.5}, r"\(0, 1\)"),
        ({"training_progress_reporting": "Print"}, "training_progress_reporting"),
        ({"training_stopping_criterion": "early"}, "training_stopping_criterion"),
        ({"gradient_clipping": -1}, "gradient_clipping"),
        ({"working_precision": "Real16"}, "working_precision"),
    ],
)
def test_bad_options_are_rejected(options, match):
    with pytest.raises(ValueError, match=match):
        NetTrain(NetChain([2, 1]), XOR, **{**QUIET, **options})


def test_bad_prop_and_unknown_label_and_bad_class_index():
    with pytest.raises(ValueError, match="prop must be one of"):
        NetTrain(NetChain([2, 1]), XOR, "Weights")
    net = NetChain([2, SoftmaxLayer()], output=NetDecoder("Class", ["a", "b"]))
    with pytest.raises(ValueError, match="label 'c' is not one of"):
        NetTrain(net, {(0, 1): "a", (1, 0): "c"}, **QUIET)
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 1\]"):
        NetTrain(NetChain([2, SoftmaxLayer()]), {(0, 1): 0, (1, 0): 5}, **QUIET)
    with pytest.raises(TypeError, match="loss must be a loss layer"):
        NetTrain(NetChain([2, 1]), XOR, loss="MSE")
