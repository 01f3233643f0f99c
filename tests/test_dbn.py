"""Deep belief networks on MNIST (fixed split): greedy pretraining then fine-tuning with
NetTrain reaches 0.95 test accuracy, and with only 500 labelled examples the pretrained net
beats the same net from a random initialisation. This is the full configuration of the
example and of ``netchain train --net dbn`` (about 25 s on one core)."""

from __future__ import annotations

import numpy as np
import pytest

from netchain import NetLoad
from netchain.layers import ElementwiseLayer, LinearLayer
from netchain.models import MODELS, DeepBeliefNetwork, RestrictedBoltzmannMachine


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1, user_api="blas"):
        yield


def test_dbn_reaches_95_percent_and_pretraining_helps_with_500_labels(mnist_split, tmp_path):
    Xtr, Xte, ytr, yte = mnist_split
    Xtr, Xte = Xtr.reshape(8000, -1), Xte.reshape(2000, -1)
    dbn = DeepBeliefNetwork((500, 500), rbm_options={"max_training_rounds": 10})
    dbn.pretrain(Xtr)
    assert [r.n_hidden for r in dbn.rbms_] == [500, 500]
    assert dbn.rbms_[1].n_visible == 500
    # the classifier starts from the RBMs' weights
    net = dbn.classifier(784, list(range(10)))
    assert isinstance(net.layers[0], LinearLayer) and isinstance(net.layers[1], ElementwiseLayer)
    np.testing.assert_array_equal(net.layers[2].arrays["Weights"], dbn.rbms_[1].weights_)

    # few labels: the first 500 training images, pretraining used all 8,000 without labels
    few = dict(max_training_rounds=40, learning_rate=1e-3)
    pretrained = dbn.fit(Xtr[:500], ytr[:500], **few).score(Xte, yte)
    scratch = DeepBeliefNetwork((500, 500)).fit(Xtr[:500], ytr[:500], pretrain=False, **few)
    random_init = scratch.score(Xte, yte)
    assert pretrained > random_init + 0.02, (pretrained, random_init)

    # all labels
    dbn.fit(Xtr, ytr, max_training_rounds=10, learning_rate=1e-3)
    acc = dbn.score(Xte, yte)
    assert acc >= 0.95, acc
    again = DeepBeliefNetwork.load(dbn.save(tmp_path / "dbn.safetensors"))
    np.testing.assert_array_equal(again.predict(Xte), dbn.predict(Xte))
    assert NetLoad(tmp_path / "dbn.safetensors", "Metadata")["config"]["hidden"] == [500, 500]


def test_dbn_arguments_and_errors(tmp_path):
    with pytest.raises(ValueError, match="hidden"):
        DeepBeliefNetwork(())
    with pytest.raises(ValueError, match="unknown options"):
        DeepBeliefNetwork((4,), rbm_options={"steps": 3})
    dbn = DeepBeliefNetwork((4,), rbm_options={"max_training_rounds": 1})
    with pytest.raises(ValueError, match="fine-tuned"):
        dbn.predict(np.zeros((1, 3)))
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 6)), np.array(["a", "b"] * 20)
    dbn.fit(X, y, max_training_rounds=1)
    assert set(dbn.predict(X)) <= {"a", "b"}
    with pytest.raises(ValueError, match="6"):
        dbn.fit(np.zeros((4, 5)), y[:4])
    with pytest.raises(ValueError, match="one label per example"):
        DeepBeliefNetwork((3,)).fit(X, y[:5])
    with pytest.raises(ValueError, match="not a DeepBeliefNetwork"):
        DeepBeliefNetwork.load(
            RestrictedBoltzmannMachine(2, max_training_rounds=1)
            .fit(rng.random((10, 3)))
            .save(tmp_path / "rbm.safetensors")
        )
    assert MODELS["dbn"].build((784,), list(range(10))).output_shape == (10,)


def test_cli_dbn_trains_and_evaluates(tmp_path, capsys, mnist_paths):
    from netchain.cli import main

    images, labels = mnist_paths
    out = tmp_path / "dbn.safetensors"
    args = ["train", "--net", "dbn", "--data", "mnist", "--images", str(images), "--labels",
            str(labels), "--rounds", "2", "--quiet", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    acc = float(printed.split("test accuracy:")[1].split()[0])
    assert acc > 0.9, acc
    assert main(["evaluate", str(out)]) == 0  # a classifier: the CLI's own accuracy
    assert f"test accuracy: {acc:.4f}" in capsys.readouterr().out
