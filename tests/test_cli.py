"""The netchain command: the main job on the bundled digits, MNIST, evaluate, info, --help."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

from netchain import NetLoad
from netchain.cli import main
from netchain.nets import leaf_layers


def _accuracy(text: str) -> float:
    return float(re.search(r"test accuracy: ([0-9.]+)", text).group(1))


def test_main_job_trains_on_digits_saves_and_evaluates(tmp_path, capsys):
    out = tmp_path / "digits.safetensors"
    assert main(["train", "--quiet", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    acc = _accuracy(printed)
    assert acc >= 0.97
    assert "LinearLayer[128]" in printed and out.is_file()
    assert main(["evaluate", str(out)]) == 0
    assert _accuracy(capsys.readouterr().out) == acc
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "SoftmaxLayer" in info and "9610 parameters" in info and "data=digits" in info


def test_train_resumes_from_a_checkpoint_to_the_same_net(tmp_path, capsys):
    whole, part = tmp_path / "whole.safetensors", tmp_path / "part.safetensors"
    ck = tmp_path / "ck"
    assert (
        main(["train", "--quiet", "--rounds", "4", "--out", str(whole), "--checkpoint", str(ck)])
        == 0
    )
    first = capsys.readouterr().out
    for k in (3, 4):  # as if the run had been stopped after round 2
        (ck / f"checkpoint-round-0000{k}.safetensors").unlink()
    argv = ["train", "--quiet", "--rounds", "4", "--out", str(part), "--resume", str(ck)]
    assert main(argv) == 0
    assert _accuracy(capsys.readouterr().out) == _accuracy(first)
    # the resumed run went on checkpointing into the folder it resumed from
    assert (ck / "checkpoint-round-00004.safetensors").is_file()
    (ck / "checkpoint-round-00004.safetensors").unlink()
    assert main([*argv, "--seed", "5"]) == 2  # the flags, not NetTrain's names, in the error
    assert "another --seed" in capsys.readouterr().err
    assert main([*argv, "--batch-size", "16"]) == 2  # which option changed, then and now
    assert "batch_size: 32 then, 16 now" in capsys.readouterr().err
    assert main([*argv, "--net", "cnn"]) == 2
    assert "another net" in capsys.readouterr().err
    a, b = (leaf_layers(NetLoad(p)) for p in (whole, part))
    for (_, la), (_, lb) in zip(a, b, strict=True):
        for name, arr in la.arrays.items():
            if arr is not None:
                assert np.array_equal(arr, lb.arrays[name]), name


@pytest.mark.slow
def test_mlp_on_mnist_reaches_95_percent(tmp_path, capsys, mnist_paths):
    images, labels = mnist_paths
    out = tmp_path / "mnist.safetensors"
    code = main(
        [
            "train",
            "--quiet",
            "--data",
            "mnist",
            "--images",
            str(images),
            "--labels",
            str(labels),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "8000 training and 2000 test" in printed
    assert _accuracy(printed) >= 0.95
    assert main(["evaluate", str(out)]) == 0
    assert _accuracy(capsys.readouterr().out) == _accuracy(printed)


def test_errors_are_reported_without_a_traceback(tmp_path, capsys):
    assert main(["train", "--data", "mnist", "--quiet"]) == 2
    assert "--images" in capsys.readouterr().err
    bad = tmp_path / "bad.safetensors"
    bad.write_text("not a net")
    assert main(["evaluate", str(bad)]) == 2
    assert "not a saved netchain net" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.safetensors")]) == 2


@pytest.mark.parametrize("command", [[], ["train"], ["evaluate"], ["info"]])
def test_help_on_every_subcommand(command):
    proc = subprocess.run(
        [sys.executable, "-m", "netchain.cli", *command, "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert "usage: netchain" in proc.stdout


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--rounds", "0"], "--rounds must be a positive number"),
        (["--batch-size", "-3"], "--batch-size must be a positive"),
        (["--learning-rate", "0"], "--learning-rate must be a positive"),
        (["--text", "x.txt"], "--text goes with --data text"),
        (["--images", "x.idx"], "--images and --labels go with --data mnist"),
        (["--out", "{tmp}"], "is a folder"),
        (["--out", "{tmp}/missing/net.safetensors"], "does not exist"),
        (["--checkpoint", "{tmp}/missing/ck"], "does not exist"),
        (["--checkpoint", ""], "--checkpoint needs a path"),
        (["--learning-rate", "inf"], "--learning-rate must be a positive"),
        (["--seed", "-1"], "--seed must be a non-negative integer"),
        (["--resume", "{tmp}/nothing"], "no such checkpoint"),
        (["--net", "rbm", "--data", "mnist", "--checkpoint", "{tmp}"], "--checkpoint and --resume"),
    ],
)
def test_train_checks_its_arguments_before_any_work(argv, message, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["train", "--quiet", *argv]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""  # nothing loaded, nothing trained


def test_evaluate_refuses_another_data_set_and_info_keeps_metadata_on_one_line(tmp_path, capsys):
    from netchain import LinearLayer, NetChain, NetInitialize, NetSave

    path = tmp_path / "n.safetensors"
    net = NetInitialize(NetChain([LinearLayer(10)], input=64))
    NetSave(net, path, metadata={"data": "digits", "vocabulary": "ab\ncd" * 30})
    assert main(["evaluate", str(path), "--data", "mnist"]) == 2
    assert "trained on --data digits" in capsys.readouterr().err
    assert main(["info", str(path)]) == 0
    meta_line = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("metadata")
    ]
    assert len(meta_line) == 1 and "vocabulary='ab\\ncd" in meta_line[0]


def test_tour_into_an_existing_file_is_a_clean_error(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["tour", "--out", str(f)]) == 2
    assert "is a file; the tour writes its pictures into a folder" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path)]) == 2
    assert "is a folder, not a saved net" in capsys.readouterr().err


def test_a_loss_that_is_not_finite_in_round_1_and_ctrl_c_end_cleanly(tmp_path, capsys, monkeypatch):
    out = tmp_path / "n.safetensors"
    with pytest.warns(UserWarning, match="the loss became"):
        code = main(["train", "--quiet", "--learning-rate", "1e30", "--out", str(out)])
    assert code == 0
    assert "final loss none: stopped in round 1 (NonFiniteLoss)" in capsys.readouterr().out

    import netchain

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(netchain, "NetTrain", interrupted)
    ck = tmp_path / "ck"
    assert main(["train", "--quiet", "--out", str(out), "--checkpoint", str(ck)]) == 130
    err = capsys.readouterr().err
    assert "interrupted; go on with the same command and --resume" in err and str(ck) in err
    assert "Traceback" not in err
