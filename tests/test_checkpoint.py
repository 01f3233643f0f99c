"""NetTrain checkpoints: written atomically each round, opened by NetLoad as the net of that
round, and resumed to the same result as an uninterrupted run, bit for bit; a resume with
other data, another net or other options is refused before any training."""

from __future__ import annotations

import os

import numpy as np
import pytest

from netchain import (
    BatchNormalizationLayer,
    CatenateLayer,
    DropoutLayer,
    LinearLayer,
    NetChain,
    NetGraph,
    NetLoad,
    NetPort,
    NetSave,
    NetTrain,
    Ramp,
    SoftmaxLayer,
)
from netchain.nets import leaf_layers


class Interrupted(Exception):
    pass


def _stop_after(k: int):
    """A progress callback that interrupts training after round k (as a crash would)."""

    def report(info: dict) -> None:
        if info["round"] == k:
            raise Interrupted

    return report


def _arrays(net) -> dict:
    return {
        (path, name): a
        for path, layer in leaf_layers(net)
        for name, a in layer.arrays.items()
        if a is not None
    }


def _assert_same_net(a, b) -> None:
    A, B = _arrays(a), _arrays(b)
    assert A.keys() == B.keys()
    for key in A:
        np.testing.assert_array_equal(A[key], B[key], err_msg=str(key))


@pytest.fixture
def problem(rng):
    X = rng.standard_normal((240, 6)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + 0.5 * X[:, 2] > 0).astype(int)
    # dropout (uses the generator), batch normalisation (arrays updated outside the
    # optimiser), a validation fraction (the best round is returned) and a schedule
    net = NetChain([16, BatchNormalizationLayer(), Ramp, DropoutLayer(0.2), 2, SoftmaxLayer()])
    options = dict(
        batch_size=32,
        max_training_rounds=7,
        validation_set=0.25,
        learning_rate_schedule="Cosine",
        random_seed=11,
        training_progress_reporting=None,
    )
    return net, (X, y), options


@pytest.mark.parametrize("method", ["ADAM", ("SGD", {"momentum": 0.9}), "RMSProp"])
def test_resumed_run_equals_the_uninterrupted_run(problem, tmp_path, method):
    net, data, options = problem
    options = {**options, "method": method}
    whole = NetTrain(net, data, "All", **options)
    folder = tmp_path / "ckpt"
    with pytest.raises(Interrupted):
        NetTrain(
            net,
            data,
            **{**options, "training_progress_reporting": _stop_after(3)},
            training_progress_checkpointing=("Directory", folder),
        )
    assert sorted(os.listdir(folder)) == [
        f"checkpoint-round-0000{k}.safetensors" for k in (1, 2, 3)
    ]
    resumed = NetTrain(net, data, "All", **options, resume_from=folder)
    _assert_same_net(whole.trained_net, resumed.trained_net)
    assert resumed.round_losses == whole.round_losses
    assert resumed.validation_losses == whole.validation_losses
    assert (resumed.rounds, resumed.batches, resumed.best_round) == (
        whole.rounds,
        whole.batches,
        whole.best_round,
    )
    assert resumed.stop_reason == whole.stop_reason == "MaxTrainingRounds"


def test_each_checkpoint_opens_as_the_net_of_its_round(problem, tmp_path):
    net, data, options = problem
    short = NetTrain(
        net, data, "All", **{**options, "max_training_rounds": 2, "validation_set": None}
    )
    path = tmp_path / "last.safetensors"
    NetTrain(
        net,
        data,
        **{**options, "max_training_rounds": 2, "validation_set": None},
        training_progress_checkpointing=str(path),
    )
    assert os.listdir(tmp_path) == ["last.safetensors"]  # one file, replaced every round
    _assert_same_net(NetLoad(path), short.trained_net)
    probe = data[0][:5]
    np.testing.assert_array_equal(NetLoad(path)(probe), short.trained_net(probe))


def test_resuming_a_finished_run_returns_its_net_and_more_rounds_train_on(problem, tmp_path):
    net, data, options = problem
    options = {**options, "validation_set": None, "max_training_rounds": 3}
    path = tmp_path / "c.safetensors"
    done = NetTrain(net, data, "All", **options, training_progress_checkpointing=path)
    again = NetTrain(net, data, "All", **options, resume_from=path)
    _assert_same_net(done.trained_net, again.trained_net)
    assert again.rounds == 3 and again.round_losses == done.round_losses
    longer = NetTrain(net, data, "All", **{**options, "max_training_rounds": 5}, resume_from=path)
    assert longer.rounds == 5 and longer.round_losses[:3] == done.round_losses


def test_graph_nets_resume_too(rng, tmp_path):
    X1 = rng.standard_normal((200, 2)).astype(np.float32)
    X2 = rng.standard_normal((200, 3)).astype(np.float32)
    Y = (X1 @ [1.0, -2.0] + X2 @ [0.5, 0.0, 1.0])[:, None].astype(np.float32)
    g = NetGraph(
        {"a": LinearLayer(3), "b": LinearLayer(3), "cat": CatenateLayer(), "out": LinearLayer(1)},
        [(NetPort("Input1"), "a"), (NetPort("Input2"), "b"), (["a", "b"], "cat"), ("cat", "out")],
    )
    data = {"Input1": X1, "Input2": X2, "Output": Y}
    options = dict(max_training_rounds=5, batch_size=16, training_progress_reporting=None)
    whole = NetTrain(g, data, **options)
    path = tmp_path / "g.safetensors"
    with pytest.raises(Interrupted):
        NetTrain(
            g,
            data,
            **{**options, "training_progress_reporting": _stop_after(2)},
            training_progress_checkpointing=path,
        )
    _assert_same_net(whole, NetTrain(g, data, **options, resume_from=path))
    with pytest.raises(ValueError, match="other data"):
        NetTrain(g, {**data, "Input2": X2 + 1}, **options, resume_from=path)


def test_a_resume_with_other_data_net_or_options_is_refused(problem, tmp_path):
    net, (X, y), options = problem
    path = tmp_path / "c.safetensors"
    NetTrain(
        net,
        (X, y),
        **{**options, "max_training_rounds": 2},
        training_progress_checkpointing=path,
    )
    before = path.read_bytes()
    with pytest.raises(ValueError, match="other data"):
        NetTrain(net, (X[:-8], y[:-8]), **options, resume_from=path)
    with pytest.raises(ValueError, match="another random_seed"):
        NetTrain(net, (X, y), **{**options, "random_seed": 12}, resume_from=path)
    with pytest.raises(ValueError, match="other options"):
        NetTrain(net, (X, y), **{**options, "batch_size": 16}, resume_from=path)
    with pytest.raises(ValueError, match="other options"):
        NetTrain(net, (X, y), **{**options, "method": ("ADAM", {"beta1": 0.8})}, resume_from=path)
    other = NetChain([8, Ramp, 2, SoftmaxLayer()])
    with pytest.raises(ValueError, match="another net"):
        NetTrain(other, (X, y), **options, resume_from=path)
    assert path.read_bytes() == before


def test_bad_checkpoint_options_fail_before_training(problem, tmp_path):
    net, data, options = problem
    calls = []
    quiet = {**options, "training_progress_reporting": calls.append}
    with pytest.raises(ValueError, match="training_progress_checkpointing must be"):
        NetTrain(net, data, **quiet, training_progress_checkpointing=("Folder", tmp_path))
    with pytest.raises(ValueError, match="does not exist"):
        NetTrain(net, data, **quiet, training_progress_checkpointing=tmp_path / "no" / "c")
    with pytest.raises(ValueError, match="is a folder"):
        NetTrain(net, data, **quiet, training_progress_checkpointing=("File", tmp_path))
    (tmp_path / "plain").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        NetTrain(
            net, data, **quiet, training_progress_checkpointing=("Directory", tmp_path / "plain")
        )
    with pytest.raises(FileNotFoundError, match="no such file"):
        NetTrain(net, data, **quiet, resume_from=tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="holds no checkpoint"):
        NetTrain(net, data, **quiet, resume_from=tmp_path)
    saved = NetTrain(net, data, **{**options, "max_training_rounds": 1})
    NetSave(saved, tmp_path / "net.safetensors")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        NetTrain(net, data, **quiet, resume_from=tmp_path / "net.safetensors")
    with pytest.raises(ValueError, match="not a saved netchain net"):
        NetTrain(net, data, **quiet, resume_from=tmp_path / "plain")
    assert calls == []  # no round was trained


def test_a_failed_checkpoint_write_keeps_the_previous_one(problem, tmp_path, monkeypatch):
    net, data, options = problem
    options = {**options, "validation_set": None}
    path = tmp_path / "c.safetensors"
    NetTrain(
        net, data, **{**options, "max_training_rounds": 1}, training_progress_checkpointing=path
    )
    first = path.read_bytes()

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(ValueError, match="training_progress_checkpointing: .*No space left"):
        NetTrain(net, data, **options, training_progress_checkpointing=path)
    assert path.read_bytes() == first
    assert os.listdir(tmp_path) == ["c.safetensors"]  # no temporary file left behind


def test_optimizer_state_that_does_not_fit_is_an_error():
    from netchain.autodiff import Tensor
    from netchain.train import ADAM

    params = [Tensor(np.ones((2, 3), np.float32), requires_grad=True)]
    opt = ADAM()
    with pytest.raises(ValueError, match=r"'0/0'.*6 float32.*shape \(5,\)"):
        opt.load_state_arrays(params, 3, {"0/0": np.zeros(5, np.float32)})
    with pytest.raises(ValueError, match="no parameter"):
        opt.load_state_arrays(params, 3, {"1/0": np.zeros(6, np.float32)})
    good = {"0/0": np.full(6, 0.5, np.float32), "0/1": np.ones(6, np.float32)}
    opt.load_state_arrays(params, 3, good)
    assert opt.t == 3 and opt.state_arrays(params)["0/0"][0] == 0.5


def _interrupted(net, data, options, k, destination):
    with pytest.raises(Interrupted):
        NetTrain(
            net,
            data,
            **{**options, "training_progress_reporting": _stop_after(k)},
            training_progress_checkpointing=destination,
        )


def test_other_generators_and_infinite_losses_checkpoint_and_resume(problem, tmp_path):
    net, (X, y), options = problem
    # an MT19937 generator's state holds an array; a validation loss may overflow to inf
    reg = NetChain([8, Ramp, 1])
    Yr = (X.sum(1) * 10).astype(np.float32)
    Xv = X[:10].copy()
    Xv[0, 0] = 3e38
    seed = lambda: np.random.Generator(np.random.MT19937(1))  # noqa: E731
    opts = {**options, "validation_set": (Xv, Yr[:10]), "learning_rate_schedule": None}
    whole = NetTrain(reg, (X, Yr), "All", **{**opts, "random_seed": seed()})
    assert whole.validation_losses[0] == np.inf
    folder = tmp_path / "ck"
    _interrupted(reg, (X, Yr), {**opts, "random_seed": seed()}, 2, ("Directory", folder))
    resumed = NetTrain(reg, (X, Yr), "All", **{**opts, "random_seed": seed()}, resume_from=folder)
    _assert_same_net(whole.trained_net, resumed.trained_net)
    assert resumed.validation_losses == whole.validation_losses
    with pytest.raises(ValueError, match="another random_seed"):
        NetTrain(reg, (X, Yr), **{**opts, "random_seed": 1}, resume_from=folder)


def test_schedules_rounds_and_starting_arrays_are_compared(problem, tmp_path):
    net, data, options = problem
    options = {**options, "validation_set": None}
    path = tmp_path / "c.safetensors"
    fast = {**options, "learning_rate_schedule": lambda step, total: 1.0}
    _interrupted(net, data, fast, 3, path)
    slow = {**options, "learning_rate_schedule": lambda step, total: 0.001}
    with pytest.raises(ValueError, match="other options"):
        NetTrain(net, data, **slow, resume_from=path)
    with pytest.raises(ValueError, match="after round 3, beyond max_training_rounds=2"):
        NetTrain(net, data, **{**fast, "max_training_rounds": 2}, resume_from=path)
    with pytest.raises(ValueError, match="other options"):
        NetTrain(net, data, **{**fast, "working_precision": "Real64"}, resume_from=path)
    # a net that comes with other arrays is another starting point
    other = NetTrain(net, data, **{**options, "max_training_rounds": 1})
    with pytest.raises(ValueError, match="arrays it came with"):
        NetTrain(other, data, **fast, resume_from=path)
    # no schedule and "Constant" are the same
    plain = tmp_path / "p.safetensors"
    _interrupted(net, data, {**options, "learning_rate_schedule": None}, 2, plain)
    NetTrain(net, data, **{**options, "learning_rate_schedule": "Constant"}, resume_from=plain)


def test_a_fresh_run_refuses_a_folder_of_older_checkpoints_and_clears_temporaries(
    problem, tmp_path
):
    net, data, options = problem
    options = {**options, "validation_set": None, "max_training_rounds": 2}
    folder = tmp_path / "ck"
    NetTrain(net, data, **options, training_progress_checkpointing=("Directory", folder))
    with pytest.raises(ValueError, match="already holds checkpoints"):
        NetTrain(net, data, **options, training_progress_checkpointing=("Directory", folder))
    # a killed writer's temporary file goes; resuming into the same folder is allowed
    stale = folder / ".checkpoint-round-00003.safetensors.x1y2z3.tmp"
    stale.write_bytes(b"partial")
    NetTrain(
        net,
        data,
        **{**options, "max_training_rounds": 3},
        training_progress_checkpointing=str(folder) + os.sep,  # a bare path ending in a separator
        resume_from=folder,
    )
    assert not stale.exists()
    assert sorted(os.listdir(folder))[-1] == "checkpoint-round-00003.safetensors"


def _rewrite_state(path, change):
    """A checkpoint whose training state was edited by ``change`` (bit rot, tampering)."""
    import json

    from safetensors import safe_open
    from safetensors.numpy import save

    with safe_open(str(path), framework="numpy") as fh:
        header = dict(fh.metadata())
        arrays = {k: fh.get_tensor(k) for k in fh.keys()}
    state = json.loads(header["netchain.training"])
    change(state, arrays)
    header["netchain.training"] = json.dumps(state)
    path.write_bytes(save(arrays, metadata=header))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda st, arr: st.pop("rounds"), "'rounds'"),
        (lambda st, arr: st.update(random_state=3), "'random_state'"),
        (lambda st, arr: st.update(random_state={"bit_generator": "PCG64"}), "generator's state"),
        (lambda st, arr: st.update(round_losses=[]), "'round_losses' is \\[\\]"),
        (
            lambda st, arr: [arr.pop(k) for k in list(arr) if "optimizer/" in k],
            "optimizer's arrays",
        ),
        (lambda st, arr: st.pop("stop_reason"), "'stop_reason'"),
        (lambda st, arr: st.update(best_round=99), "'best_round'"),
        (lambda st, arr: st.update(best_validation_loss="x"), "'best_validation_loss'"),
        (lambda st, arr: st.update(round_losses=["a", "b"]), "'round_losses'"),
        (lambda st, arr: st.update(batches=-1), "'batches'"),
        (
            lambda st, arr: arr.update(
                {k: v[:-1] for k, v in arr.items() if k.endswith("optimizer/0/0")}
            ),
            "damaged checkpoint.*optimizer state",
        ),
        (
            lambda st, arr: arr.update({k: v[:-1] for k, v in arr.items() if k.endswith("best/0")}),
            "best net's arrays do not fit",
        ),
    ],
)
def test_a_damaged_checkpoint_is_a_clear_error(problem, tmp_path, change, message):
    net, data, options = problem
    path = tmp_path / "c.safetensors"
    _interrupted(net, data, options, 2, path)
    _rewrite_state(path, change)
    with pytest.raises(ValueError, match=message):
        NetTrain(net, data, **options, resume_from=path)


def test_a_file_in_place_of_a_folder_is_named(problem, tmp_path):
    net, data, options = problem
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a folder"):
        NetTrain(
            net,
            data,
            **options,
            training_progress_checkpointing=("Directory", tmp_path / "afile" / "d"),
        )


def test_schedule_functions_are_compared_across_processes(problem, tmp_path):
    # the fingerprint of a function must not depend on memory addresses (a nested code
    # object's repr holds one), so a resume in a new process is accepted
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(
        """
        import sys, numpy as np
        from netchain import NetChain, NetTrain, Ramp, SoftmaxLayer
        rng = np.random.default_rng(0)
        X = rng.standard_normal((64, 3)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
        def sched(step, total, g=0.5):
            return sum(w for w in (g, g))
        kw = dict(batch_size=16, learning_rate_schedule=sched, training_progress_reporting=None)
        net = NetChain([4, Ramp, 2, SoftmaxLayer()])
        if sys.argv[1] == "write":
            NetTrain(net, (X, y), max_training_rounds=2, training_progress_checkpointing=sys.argv[2], **kw)
        else:
            print(NetTrain(net, (X, y), "RoundsCompleted", max_training_rounds=3, resume_from=sys.argv[2], **kw))
        """
    )
    path = str(tmp_path / "s.safetensors")
    for mode in ("write", "read"):
        done = subprocess.run(
            [sys.executable, "-c", script, mode, path], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    import functools

    from netchain.train.checkpoint import schedule_key

    def f(step, total, k=1.0):
        return k

    assert schedule_key(f) != schedule_key(lambda step, total, k=0.001: k)
    assert schedule_key(functools.partial(f, k=1.0)) != schedule_key(functools.partial(f, k=0.1))
    assert schedule_key(None) == schedule_key("Constant")


def test_a_resume_cannot_write_into_another_runs_folder(problem, tmp_path):
    net, data, options = problem
    options = {**options, "validation_set": None, "max_training_rounds": 3}
    a, b = tmp_path / "a", tmp_path / "b"
    _interrupted(net, data, options, 1, ("Directory", a))
    NetTrain(
        net, data, **{**options, "random_seed": 5}, training_progress_checkpointing=("Directory", b)
    )
    with pytest.raises(ValueError, match="already holds checkpoints"):
        NetTrain(
            net, data, **options, resume_from=a, training_progress_checkpointing=("Directory", b)
        )
    NetTrain(net, data, **options, resume_from=a, training_progress_checkpointing=("Directory", a))
    assert len(os.listdir(a)) == 3


def test_a_seedless_run_with_a_validation_fraction_says_why_it_cannot_resume(problem, tmp_path):
    net, data, options = problem
    options = {**options, "random_seed": None}
    path = tmp_path / "c.safetensors"
    _interrupted(net, data, options, 1, path)
    with pytest.raises(ValueError, match="random_seed=None a validation fraction is drawn afresh"):
        NetTrain(net, data, **options, resume_from=path)
