"""The ``netchain`` command: train a net on real data, evaluate a saved net, show its layers.

netchain train                      # MLP on the bundled UCI digits, prints test accuracy
netchain train --data mnist --images t10k-images-idx3-ubyte.gz --labels t10k-labels-idx1-ubyte.gz
netchain train --net lstm --data mnist --images ... --labels ...   # sequential MNIST
netchain train --net charlstm --data text --text tinyshakespeare.txt.gz
netchain train --net convautoencoder --data mnist --images ... --labels ...  # reconstruction error
netchain evaluate digits-mlp.safetensors
netchain info digits-mlp.safetensors
netchain tour --out tour            # the course in six steps, pictures and index.html in tour/
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from netchain.datasets.tasks import Task, load_task  # noqa: F401 - part of the command's API

DATASETS = ("digits", "mnist", "text")


def accuracy(net: Any, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of examples whose decoded prediction equals the label."""
    pred = np.asarray(net(X))
    return float(np.mean(pred == y))


def training_options(args: argparse.Namespace, entry: Any) -> dict[str, Any]:
    """The model's default NetTrain options for the data set, with the command line's
    --rounds, --batch-size and --learning-rate over them."""
    options = dict(entry.defaults.get(args.data, {}))
    if args.rounds is not None:
        options["max_training_rounds"] = args.rounds
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    if args.learning_rate is not None:
        options["learning_rate"] = args.learning_rate
    return options


def _final(results: Any) -> str:
    """The last round's loss, or why there is none (a loss that was not finite in round 1)."""
    if results.round_losses:
        return f"{results.round_losses[-1]:.4f}"
    return f"none: stopped in round 1 ({results.stop_reason})"


def checkpoint_options(args: argparse.Namespace) -> dict[str, Any]:
    """NetTrain's checkpoint options from --checkpoint and --resume."""
    options: dict[str, Any] = {}
    if args.checkpoint:
        options["training_progress_checkpointing"] = args.checkpoint
    if args.resume:
        options["resume_from"] = args.resume
    return options


def check_train_arguments(args: argparse.Namespace) -> None:
    """Everything about the command line that can be wrong, checked before any data is read or
    any training time spent: the numbers, the options that go with another data set, and
    where the net will be saved.

    Raises
    ------
    ValueError
        Naming the option, what it needs and what it got.
    """
    from netchain.nets.io import writable_destination

    for option, value, ok, need in (
        ("--rounds", args.rounds, lambda v: v >= 1, "a positive number of rounds"),
        ("--batch-size", args.batch_size, lambda v: v >= 1, "a positive batch size"),
        (
            "--learning-rate",
            args.learning_rate,
            lambda v: 0 < v < float("inf"),
            "a positive number",
        ),
        ("--seed", args.seed, lambda v: 0 <= v < 2**63, "a non-negative integer"),
    ):
        if value is not None and not ok(value):
            raise ValueError(f"{option} must be {need}, got {value}")
    if args.text and args.data != "text":
        raise ValueError(f"--text goes with --data text, not --data {args.data}")
    if (args.images or args.labels) and args.data != "mnist":
        raise ValueError(f"--images and --labels go with --data mnist, not --data {args.data}")
    args.out = str(args.out or f"{args.data}-{args.net}.safetensors")
    writable_destination(args.out, "--out")
    for option, value in (("--checkpoint", args.checkpoint), ("--resume", args.resume)):
        if value is not None and not value.strip():
            raise ValueError(f"{option} needs a path, got {value!r}")
    if args.resume and not Path(args.resume).exists():
        raise ValueError(f"--resume: no such checkpoint file or folder: {args.resume!r}")
    if args.resume and not args.checkpoint:  # go on checkpointing where the run left off
        args.checkpoint = args.resume
    if args.checkpoint:
        from netchain.train.checkpoint import checkpointing

        kind = "File" if Path(args.checkpoint).is_file() else "Directory"
        args.checkpoint = (kind, args.checkpoint)
        checkpointing(args.checkpoint)


def cmd_train(args: argparse.Namespace) -> int:
    from netchain import NetSave, NetTrain
    from netchain.models import MODELS

    entry = MODELS[args.net]
    if args.data not in entry.data:
        raise ValueError(
            f"--net {args.net} trains on --data {' or '.join(entry.data)}, not {args.data!r}"
        )
    if entry.run is not None and (args.checkpoint or args.resume):
        raise ValueError(
            f"--checkpoint and --resume work with the classifiers and the text model, not with "
            f"--net {args.net} (it trains in stages of its own)"
        )
    check_train_arguments(args)
    if args.data == "text":
        return _train_text(args, entry)
    task = load_task(args.data, entry.input_form, args.images, args.labels)
    options = training_options(args, entry)
    if entry.run is not None:  # not a classifier: the model reports its own measure
        return entry.run(args, task, options)
    options.update(checkpoint_options(args))
    net = entry.build(task.X_train.shape[1:], task.labels)
    print(f"data: {task.description}")
    print(
        f"      {len(task.X_train)} training and {len(task.X_test)} test examples of shape {task.X_train.shape[1:]}"
    )
    print(net)
    t0 = time.perf_counter()
    results = NetTrain(
        net,
        (task.X_train, task.y_train),
        "All",
        random_seed=args.seed,
        training_progress_reporting=None if args.quiet else "ProgressBar",
        **options,
    )
    trained = results.trained_net
    acc = accuracy(trained, task.X_test, task.y_test)
    print(
        f"trained {results.rounds} rounds in {time.perf_counter() - t0:.1f} s "
        f"(final loss {_final(results)}, {results.examples_per_second:,.0f} examples/s)"
    )
    print(f"test accuracy: {acc:.4f} ({int(round(acc * len(task.y_test)))} of {len(task.y_test)})")
    out = Path(args.out or f"{args.data}-{args.net}.safetensors")
    meta = {**task.metadata, "net": args.net, "seed": args.seed, "test_accuracy": acc}
    NetSave(trained, out, metadata=meta)
    print(f"saved the trained net to {out}")
    return 0


def _train_text(args: argparse.Namespace, entry: Any) -> int:
    """Train a language model on a text (its last 10% held out) and report the validation
    cross-entropy per character and a sample."""
    from netchain import NetSave, NetTrain
    from netchain.models import rnn

    if not args.text:
        raise ValueError("--data text needs --text PATH (a text file; .gz is read as gzip)")
    task = rnn.load_text_task(args.text)
    if min(len(task.train_ids), len(task.valid_ids)) <= rnn.TEXT_STEPS:
        raise ValueError(
            f"--text {args.text}: too short for windows of {rnn.TEXT_STEPS} characters "
            f"({len(task.train_ids)} characters to train on and {len(task.valid_ids)} held out; "
            f"the held-out last 10% needs more than {rnn.TEXT_STEPS})"
        )
    X, Y = rnn.text_windows(task.train_ids, rnn.TEXT_STEPS)
    options = dict(entry.defaults.get("text", {}))
    if args.rounds is not None:
        options["max_training_rounds"] = args.rounds
    if args.batch_size is not None:
        options["batch_size"] = args.batch_size
    if args.learning_rate is not None:
        options["learning_rate"] = args.learning_rate
    options.update(checkpoint_options(args))
    net = entry.build((rnn.TEXT_STEPS,), task.vocabulary)
    print(f"data: {task.description}")
    print(f"      {len(X)} training windows of {rnn.TEXT_STEPS} characters")
    print(net)
    t0 = time.perf_counter()
    results = NetTrain(
        net,
        (X, Y),
        "All",
        random_seed=args.seed,
        training_progress_reporting=None if args.quiet else "ProgressBar",
        **options,
    )
    trained = results.trained_net
    ce = rnn.text_cross_entropy(trained, task.valid_ids)
    print(
        f"trained {results.rounds} rounds in {time.perf_counter() - t0:.1f} s "
        f"(final loss {_final(results)}, {results.examples_per_second:,.0f} windows/s)"
    )
    print(f"validation cross-entropy: {ce:.4f} nats per character ({ce / np.log(2):.3f} bits)")
    text = rnn.sample(trained, task.vocabulary, "\n", 300, 0.8, random_seed=args.seed)
    print("sample (temperature 0.8):\n" + text)
    out = Path(args.out or f"text-{args.net}.safetensors")
    meta = {
        **task.metadata,
        "net": args.net,
        "seed": args.seed,
        "vocabulary": "".join(task.vocabulary),
        "validation_cross_entropy": ce,
    }
    NetSave(trained, out, metadata=meta)
    print(f"saved the trained net to {out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from netchain import NetLoad
    from netchain.models import MODELS

    meta = NetLoad(args.file, "Metadata")
    entry = MODELS.get(meta.get("net", ""))
    hook = None if entry is None else entry.evaluate
    net = NetLoad(args.file) if hook is None else None
    if args.data and meta.get("data") and args.data != meta["data"]:
        raise ValueError(
            f"{args.file} was trained on --data {meta['data']}; it cannot be evaluated on "
            f"--data {args.data}"
        )
    data = args.data or meta.get("data")
    if data is None:
        raise ValueError(f"{args.file} does not say what data it was trained on; give --data")
    if data == "text":
        from netchain.models import rnn

        path = args.text or meta.get("text")
        if not path:
            raise ValueError(f"{args.file}: give --text PATH, the text it was trained on")
        task = rnn.load_text_task(path, meta.get("valid_fraction", 0.1))
        ce = rnn.text_cross_entropy(net, task.valid_ids)
        print(f"data: {task.description}")
        print(f"validation cross-entropy: {ce:.4f} nats per character ({ce / np.log(2):.3f} bits)")
        return 0
    task = load_task(
        data,
        meta.get("input_form", "vector"),
        args.images or meta.get("images"),
        args.labels or meta.get("labels"),
    )
    print(f"data: {task.description}")
    if hook is not None:  # not a classifier: the model measures itself
        return hook(args.file, meta, task)
    acc = accuracy(net, task.X_test, task.y_test)
    print(f"test accuracy: {acc:.4f} ({int(round(acc * len(task.y_test)))} of {len(task.y_test)})")
    return 0


def _shown(value: Any) -> str:
    """A metadata value on one line: long or multi-line strings quoted and shortened."""
    if isinstance(value, str) and (len(value) > 60 or not value.isprintable()):
        text = repr(value)
        return text if len(text) <= 64 else text[:60] + "...'"
    return str(value)


def cmd_info(args: argparse.Namespace) -> int:
    from netchain import NetLoad

    net = NetLoad(args.file)
    meta = NetLoad(args.file, "Metadata")
    print(net)
    if meta:
        print("metadata: " + ", ".join(f"{k}={_shown(v)}" for k, v in meta.items()))
    return 0


def cmd_tour(args: argparse.Namespace) -> int:
    from netchain.tour import run_tour

    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(
            f"--out {args.out!r} is a file; the tour writes its pictures into a folder"
        )
    start = time.perf_counter()
    steps = run_tour(args.out)
    checks = [c for s in steps for c in s.checks]
    failed = [c for c in checks if not c.ok]
    pictures = sum(len(s.pictures) for s in steps)
    print()
    print(
        f"{len(checks) - len(failed)} of {len(checks)} checks hold; {pictures} pictures and "
        f"index.html written to {Path(args.out).resolve()} in {time.perf_counter() - start:.1f} s"
    )
    for c in failed:
        print(f"FAILED: {c.name} (difference {c.error:.2e}, tolerance {c.tolerance:.0e})")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    from netchain.models import MODELS

    parser = argparse.ArgumentParser(
        prog="netchain",
        description="Train neural nets on real data with netchain, evaluate and inspect saved nets.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "train",
        help="train a net and print its test accuracy",
        description="Train a net on a fixed split of real data, print the test accuracy and save "
        "the trained net. With no options: an MLP on the bundled UCI digits.",
    )
    p.add_argument(
        "--net", default="mlp", choices=sorted(MODELS), help="architecture (default: mlp)"
    )
    p.add_argument("--data", default="digits", choices=DATASETS, help="data set (default: digits)")
    p.add_argument("--images", help="IDX file of images (for --data mnist)")
    p.add_argument("--labels", help="IDX file of labels (for --data mnist)")
    p.add_argument("--text", help="a text file, .gz allowed (for --data text)")
    p.add_argument("--rounds", type=int, help="training rounds (default: per model and data)")
    p.add_argument("--batch-size", type=int, help="batch size (default: per model and data)")
    p.add_argument(
        "--learning-rate", type=float, help="learning rate (default: per model and data)"
    )
    p.add_argument("--seed", type=int, default=1234, help="random seed (default: 1234)")
    p.add_argument("--out", help="where to save the net (default: DATA-NET.safetensors)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--checkpoint",
        metavar="DIR",
        help="save a checkpoint after every round in DIR (created if its parent exists)",
    )
    p.add_argument(
        "--resume",
        metavar="PATH",
        help="go on from a checkpoint (a file, or the latest in a folder) written with "
        "--checkpoint and the same options (--rounds may be larger), checkpointing on into "
        "the same place unless --checkpoint says otherwise; the result equals an "
        "uninterrupted run",
    )
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "evaluate",
        help="reload a saved net and print its test accuracy",
        description="Reload a net saved by 'netchain train' and print its accuracy on the same "
        "test split.",
    )
    p.add_argument("file", help="a net saved by 'netchain train'")
    p.add_argument("--data", choices=DATASETS, help="data set (default: the one it was trained on)")
    p.add_argument("--images", help="IDX file of images (default: the one it was trained on)")
    p.add_argument("--labels", help="IDX file of labels (default: the one it was trained on)")
    p.add_argument("--text", help="the text file (default: the one it was trained on)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser(
        "info",
        help="print a saved net's layer table",
        description="Print a saved net's layers, "
        "output shapes and parameter counts, and the facts saved with it.",
    )
    p.add_argument("file", help="a saved net")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser(
        "tour",
        help="replay the course in six steps, printing results and writing pictures",
        description="Replay the course: a neuron and a linear layer, gradients and gradient "
        "descent, XOR, activation functions, backpropagation by hand (checked against "
        "netchain.autodiff), and an MLP on the digits. Pictures and an index.html go to --out.",
    )
    p.add_argument(
        "--out", default="netchain-tour", help="folder for the pictures (default: netchain-tour)"
    )
    p.set_defaults(func=cmd_tour)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``netchain`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        hint = ""
        if getattr(args, "checkpoint", None):
            where = args.checkpoint[1] if isinstance(args.checkpoint, tuple) else args.checkpoint
            hint = f"; go on with the same command and --resume {where}"
        print(f"\nnetchain {args.command}: interrupted{hint}", file=sys.stderr)
        return 130
    except (ValueError, TypeError, OSError) as exc:  # OSError: unreadable, read-only, a folder
        message = str(exc)
        for python, flag in _FLAGS.items():  # NetTrain's words for what the user typed
            message = message.replace(python, flag)
        print(f"netchain {args.command}: error: {message}", file=sys.stderr)
        return 2


_FLAGS = {
    "training_progress_checkpointing": "--checkpoint",
    "resume_from": "--resume",
    "another random_seed": "another --seed",
    "max_training_rounds=": "--rounds ",
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
