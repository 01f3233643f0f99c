"""``NetTrain``: fitting a net's arrays to data by minibatch gradient descent."""

from __future__ import annotations

import json
import math
import numbers
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netchain import autodiff as _ad
from netchain import backend
from netchain.autodiff import Tensor, constant, no_grad
from netchain.autodiff import nn as F
from netchain.backend import xp
from netchain.layers import (
    Context,
    CrossEntropyLossLayer,
    ElementwiseLayer,
    LossLayer,
    SoftmaxLayer,
    format_shape,
)
from netchain.nets import NetChain, NetDecoder, NetGraph, NetInitialize, PortData, leaf_layers
from netchain.nets.chain import shape_fits
from netchain.train.checkpoint import (
    CheckpointState,
    checkpointing,
    existing_checkpoints,
    fingerprint,
    read_checkpoint,
    remove_stale_temporaries,
    schedule_key,
    write_checkpoint,
)
from netchain.train.data import parse_data
from netchain.train.optimizers import Optimizer, make_optimizer

__all__ = ["NetTrain", "NetTrainResults", "Objective", "Trainer", "TrainingWarning"]


class TrainingWarning(UserWarning):
    """Training stopped early for a reason the user should know (a non-finite loss)."""


# ---------------------------------------------------------------------------- the loss


@dataclass
class Objective:
    """The loss NetTrain minimises.

    Attributes
    ----------
    name : str
        "CrossEntropy (Index)", "CrossEntropy (Probabilities)", "CrossEntropy (Binary)",
        "MeanSquared" or "MeanAbsolute".
    drop_final : bool
        Whether the net's last layer (softmax / sigmoid) is folded into the loss, which is then
        computed from logits.
    fn : callable
        ``fn(output_tensor, target_batch) -> loss tensor``.
    """

    name: str
    drop_final: bool
    fn: Callable[[Tensor, Any], Tensor]

    def __call__(self, z: Tensor, y: Any) -> Tensor:
        return self.fn(z, y)


def _is_sigmoid(layer: Any) -> bool:
    return isinstance(layer, ElementwiseLayer) and layer.function_name == "LogisticSigmoid"


def _class_indices(Y: Any, n_classes: int, name: str) -> Any:
    if Y.dtype.kind == "f":
        if not np.all(Y == np.round(Y)):
            raise ValueError(f"{name}: class targets must be whole numbers (class indices)")
    elif Y.dtype.kind not in "iub":
        raise ValueError(
            f"{name}: class labels of dtype {Y.dtype} need an output decoder: "
            "NetChain(..., output=NetDecoder('Class', labels))"
        )
    idx = Y.astype(np.int64)
    if idx.size and (idx.min() < 0 or idx.max() >= n_classes):
        raise ValueError(
            f"{name}: class indices must lie in [0, {n_classes - 1}] for a softmax over "
            f"{n_classes} classes, got {idx.min()}..{idx.max()}"
        )
    return idx


def make_objective(
    net: NetChain, loss: Any, Y: Any, name: str = "data"
) -> tuple[Objective, Any, bool]:
    """Choose the loss and prepare the targets.

    Returns (objective, targets as an array, whether a length-1 output meets scalar targets).

    Raises
    ------
    ValueError
        For targets that do not fit the net's output or the loss.
    TypeError
        For a ``loss`` that is not a loss layer.
    """
    if loss is not None and not isinstance(loss, LossLayer):
        raise TypeError(
            "loss must be a loss layer such as MeanSquaredLossLayer() or "
            f"CrossEntropyLossLayer('Index'), got {loss!r}"
        )
    out = net.output_shape
    final = net.final_layer()
    n = len(Y)
    dtype = net.dtype
    decoder = net.decoder
    if decoder is not None and decoder.kind == "Class":
        idx = decoder.encode(list(Y), f"{name} outputs")
        form = "Index"
        if loss is not None and not (
            isinstance(loss, CrossEntropyLossLayer) and loss.target_form == "Index"
        ):
            raise ValueError(
                f"a net with a class decoder trains with CrossEntropyLossLayer('Index'), not {loss!r}"
            )
        return _cross_entropy(form, isinstance(final, SoftmaxLayer)), xp.asarray(idx), False
    if Y.dtype.kind not in "fiub":
        raise ValueError(
            f"{name}: outputs are labels of dtype {Y.dtype}; give the net an output decoder: "
            "NetChain(..., output=NetDecoder('Class', labels))"
        )
    ce = isinstance(loss, CrossEntropyLossLayer)
    if (loss is None and isinstance(final, SoftmaxLayer)) or (
        ce and loss.target_form in ("Index", "Probabilities")
    ):
        C = out[-1]
        if (
            shape_fits(out[:-1], Y.shape[1:])
            and (loss is None or loss.target_form == "Index")
            and (Y.dtype.kind != "f" or Y.ndim == len(out))
        ):
            idx = _class_indices(Y, C, f"{name} outputs")
            return _cross_entropy("Index", isinstance(final, SoftmaxLayer)), xp.asarray(idx), False
        if shape_fits(out, Y.shape[1:]):
            T = backend.as_float_array(Y, dtype)
            if T.min() < 0 or not np.allclose(backend.to_numpy(T.sum(axis=-1)), 1.0, atol=1e-4):
                raise ValueError(f"{name}: probability targets must be non-negative and sum to 1")
            return _cross_entropy("Probabilities", isinstance(final, SoftmaxLayer)), T, False
        raise ValueError(
            f"{name}: for a net whose port 'Output' has shape {format_shape(out)} the targets "
            f"must be class indices of shape (N{''.join(', ' + str(s) for s in out[:-1])}) or "
            f"probabilities of shape (N, {', '.join(map(str, out))}), got {Y.shape}"
        )
    T = backend.as_float_array(Y, dtype)
    scalar = False
    if not shape_fits(out, T.shape[1:]):
        if out == (1,) and T.ndim == 1:
            T, scalar = T.reshape(n, 1), True
        else:
            raise ValueError(
                f"{name}: the net's port 'Output' has shape {format_shape(out)}, but the targets "
                f"have shape {format_shape(T.shape[1:])} per example"
            )
    binary = (loss is None and _is_sigmoid(final)) or (ce and loss.target_form == "Binary")
    if binary:
        if T.min() < 0 or T.max() > 1:
            raise ValueError(
                f"{name}: binary cross-entropy needs targets in [0, 1], got {T.min()}..{T.max()}"
            )
        if _is_sigmoid(final):
            return (
                Objective("CrossEntropy (Binary)", True, F.binary_cross_entropy_with_logits),
                T,
                scalar,
            )
        return Objective("CrossEntropy (Binary)", False, F.binary_cross_entropy), T, scalar
    if loss is None or type(loss).__name__ == "MeanSquaredLossLayer":
        return Objective("MeanSquared", False, F.mean_squared_error), T, scalar
    return Objective(type(loss).__name__.removesuffix("LossLayer"), False, loss.loss), T, scalar


def _cross_entropy(form: str, fused: bool) -> Objective:
    name = f"CrossEntropy ({form})"
    if form == "Index":
        if fused:
            return Objective(name, True, F.softmax_cross_entropy_index)
        return Objective(name, False, F.cross_entropy)
    if fused:
        return Objective(name, True, F.softmax_cross_entropy)
    return Objective(name, False, F.cross_entropy)


def _graph_data(net: NetGraph, data: Any, name: str) -> tuple[PortData, PortData]:
    """A graph's data by port: ``{port: array}``, or for a graph with one input and one
    output port any of NetTrain's data forms."""
    if net.takes_port_data(data):
        return net.port_data(data, name)
    if len(net.input_ports) != 1 or len(net.output_ports) != 1:
        raise ValueError(
            f"{name}: a graph with input ports {list(net.input_ports)} and output ports "
            f"{list(net.output_ports)} trains on a dict {{port: array}}, got {type(data).__name__}"
        )
    X, Y = parse_data(data, name)
    return PortData({net.input_ports[0]: X}), PortData({net.output_ports[0]: Y})


def _graph_shapes(net: NetGraph, X: PortData, Xv: PortData | None) -> None:
    """Fix a graph's input shapes from the data (checking the validation set's)."""
    shapes = {p: tuple(X[p].shape[1:]) for p in net.input_ports}
    net.set_input_shapes(shapes, "data")
    if Xv is not None:
        for p in net.input_ports:
            if tuple(Xv[p].shape[1:]) != shapes[p]:
                raise ValueError(
                    f"validation_set: port {p!r} has examples of shape "
                    f"{format_shape(Xv[p].shape[1:])}, the training data {format_shape(shapes[p])}"
                )


def _graph_objective(
    net: NetGraph, loss: Any, Y: PortData, name: str = "data"
) -> tuple[Objective, PortData, list[str]]:
    """The loss of a graph: the sum over the output ports that have targets of each port's
    loss (chosen as for a chain ending in that port's layer)."""
    parts: dict[str, Objective] = {}
    targets: dict[str, Any] = {}
    scalars: list[str] = []
    for p in Y.keys():
        obj, T, scalar = make_objective(net.port_view(p), loss, Y[p], f"{name} {p!r}")
        parts[p], targets[p] = obj, T
        if scalar:
            scalars.append(p)
    drop = frozenset(p for p, o in parts.items() if o.drop_final)
    ports = list(parts)

    def fn(z: Any, y: PortData) -> Tensor:
        if not isinstance(z, dict):
            z = {net.output_ports[0]: z}
        losses = [parts[p](z[p], y[p]) for p in ports]
        return losses[0] if len(losses) == 1 else _ad.sum(_ad.stack(losses))

    label = (
        " + ".join(f"{o.name} at {p!r}" for p, o in parts.items())
        if len(parts) > 1
        else parts[ports[0]].name
    )
    return Objective(label, drop, fn), PortData(targets), scalars  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- one step


class Trainer:
    """One training step (forward, loss, backward, update) of a net, in place.

    The net's arrays are wrapped in Tensors that share their memory, so the optimiser's
    in-place updates are the net's new values.

    Parameters
    ----------
    net : NetChain
        An initialised net; its arrays are changed by :meth:`step`.
    objective : Objective
    optimizer : Optimizer
    rng : numpy.random.Generator
        For dropout and other stochastic layers.
    """

    def __init__(self, net: NetChain, objective: Objective, optimizer: Optimizer, rng: Any) -> None:
        self.net = net
        self.objective = objective
        self.optimizer = optimizer
        self.params: list[Tensor] = []
        self.layers = []
        params: dict[int, dict[str, Tensor]] = {}
        for _, layer in leaf_layers(net):
            mine: dict[str, Tensor] = {}
            for name, arr in layer.arrays.items():
                if arr is None or name in layer.disabled:
                    continue
                if name in layer.array_names:
                    t = constant(arr, requires_grad=True)  # shares the net's array
                    self.params.append(t)
                    mine[name] = t
                else:
                    mine[name] = constant(arr)
            params[id(layer)] = mine
            self.layers.append(layer)
        self.ctx = Context(training=True, rng=rng, params=params)

    def loss(self, xb: Any, yb: Any, training: bool = True) -> Tensor:
        """The loss of a batch (recorded for backward when training)."""
        self.ctx.training = training
        x = xb.tensors() if isinstance(xb, PortData) else constant(xb)
        z = self.net.run(x, self.ctx, self.objective.drop_final)
        return self.objective(z, yb)

    def step(self, xb: Any, yb: Any, lr: float) -> float:
        """Train on one batch; returns its loss (before the update). A non-finite loss leaves
        the arrays unchanged."""
        self.ctx.updates.clear()
        loss = self.loss(xb, yb)
        value = float(loss.data)
        if not math.isfinite(value):
            return value
        for p in self.params:
            p.grad = None
        loss.backward()
        self.optimizer.update(self.params, lr)
        for (layer_id, name), value_arr in self.ctx.updates.items():
            for layer in self.layers:
                if id(layer) == layer_id:
                    layer.arrays[name] = value_arr
                    self.ctx.params[layer_id][name] = constant(value_arr)
        return value

    def evaluate_loss(self, X: Any, Y: Any, batch: int = 4096) -> float:
        """Mean loss over a data set in evaluation mode (no dropout, no gradients)."""
        total = 0.0
        with no_grad():
            for s in range(0, len(X), batch):
                xb, yb = X[s : s + batch], Y[s : s + batch]
                total += float(self.loss(xb, yb, training=False).data) * len(xb)
        self.ctx.training = True
        return total / len(X)

    def snapshot(self) -> list[Any]:
        return [xp.array(p._data, copy=True) for p in self.params]

    def restore(self, arrays: list[Any]) -> None:
        for p, a in zip(self.params, arrays):
            p._data.reshape(-1)[...] = a.reshape(-1)
            p.bump_version()


# ---------------------------------------------------------------------------- results


@dataclass
class NetTrainResults:
    """What a NetTrain run produced (``NetTrain(..., prop="All")``).

    Attributes
    ----------
    trained_net : NetChain
    round_losses : list of float
        Mean training loss of each round.
    validation_losses : list of float
        Validation loss after each round (empty without a validation set).
    total_time : float
        Seconds.
    examples_per_second : float
    stop_reason : str
        "MaxTrainingRounds", "StoppingCriterion", "TimeGoal" or "NonFiniteLoss".
    rounds, batches : int
        Rounds and batches completed.
    loss : str
        The loss minimised.
    best_round : int or None
        The round (from 1) whose net was returned, with a validation set.
    """

    trained_net: NetChain
    round_losses: list[float] = field(default_factory=list)
    validation_losses: list[float] = field(default_factory=list)
    total_time: float = 0.0
    examples_per_second: float = 0.0
    stop_reason: str = ""
    rounds: int = 0
    batches: int = 0
    loss: str = ""
    method: str = ""
    learning_rate: float = 0.0
    batch_size: int = 0
    best_round: int | None = None

    PROPERTIES = {
        "TrainedNet": "trained_net",
        "RoundLossList": "round_losses",
        "ValidationLossList": "validation_losses",
        "TotalTrainingTime": "total_time",
        "ExamplesPerSecond": "examples_per_second",
        "StopReason": "stop_reason",
        "RoundsCompleted": "rounds",
        "BatchesCompleted": "batches",
        "LossFunction": "loss",
        "FinalRoundLoss": None,
        "FinalValidationLoss": None,
    }

    def __getitem__(self, prop: str) -> Any:
        """Wolfram-style property access: ``results["RoundLossList"]``."""
        if prop == "FinalRoundLoss":
            return self.round_losses[-1] if self.round_losses else math.nan
        if prop == "FinalValidationLoss":
            return self.validation_losses[-1] if self.validation_losses else math.nan
        attr = self.PROPERTIES.get(prop)
        if attr is None:
            raise KeyError(f"unknown NetTrain property {prop!r}; known: {sorted(self.PROPERTIES)}")
        return getattr(self, attr)

    def loss_plot(self, **options: Any) -> Any:
        """The training (and validation) loss per round as a figure: ``LossPlot(self)``.

        Options are those of :func:`netchain.plot.LossPlot`. The import of netchain.plot is
        inside this method on purpose: it is the one place below netchain.plot that uses it
        (the house's layering keeps pictures on top), and Matplotlib is loaded only when a
        picture is asked for.
        """
        from netchain.plot import LossPlot

        return LossPlot(self, **options)

    def __repr__(self) -> str:
        val = (
            f", validation loss {self.validation_losses[-1]:.4g}" if self.validation_losses else ""
        )
        last = self.round_losses[-1] if self.round_losses else math.nan
        return (
            f"NetTrainResults({self.rounds} rounds, {self.batches} batches, loss {last:.4g}{val}, "
            f"{self.total_time:.2f} s, stopped by {self.stop_reason})"
        )


# ---------------------------------------------------------------------------- options


def _schedule(spec: Any) -> Callable[[int, int], float]:
    if spec is None or spec == "Constant":
        return lambda step, total: 1.0
    if spec == "Cosine":
        return lambda step, total: 0.5 * (1.0 + math.cos(math.pi * step / max(total, 1)))
    if spec == "Linear":
        return lambda step, total: max(1.0 - step / max(total, 1), 0.0)
    if spec == "Exponential":
        return lambda step, total: 0.01 ** (step / max(total, 1))
    if callable(spec):
        return spec
    raise ValueError(
        "learning_rate_schedule must be 'Constant', 'Cosine', 'Linear', 'Exponential' or a "
        f"function f(step, total_steps) giving a multiplier, got {spec!r}"
    )


def _positive_int(value: Any, name: str, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _stopping(spec: Any) -> tuple[int, float, str] | None:
    if spec is None:
        return None
    if isinstance(spec, numbers.Integral) and not isinstance(spec, bool):
        return _positive_int(spec, "training_stopping_criterion patience"), 0.0, "Automatic"
    if isinstance(spec, dict):
        unknown = set(spec) - {"patience", "min_delta", "criterion"}
        if unknown:
            raise ValueError(f"training_stopping_criterion: unknown keys {sorted(unknown)}")
        patience = _positive_int(spec.get("patience", 3), "training_stopping_criterion patience")
        delta = float(spec.get("min_delta", 0.0))
        crit = spec.get("criterion", "Automatic")
        if crit not in ("Automatic", "Loss", "ValidationLoss"):
            raise ValueError(
                f"training_stopping_criterion criterion must be 'Loss' or 'ValidationLoss', got {crit!r}"
            )
        return patience, delta, crit
    raise ValueError(
        "training_stopping_criterion must be a patience (int) or a dict with 'patience', "
        f"'min_delta' and 'criterion', got {spec!r}"
    )


PROPS = ("TrainedNet", "All", *(k for k in NetTrainResults.PROPERTIES if k != "TrainedNet"))


@dataclass
class _Loop:
    """The training loop's counters at its start: fresh, or as a checkpoint left them."""

    best_val: float = math.inf  # lowest validation loss so far
    best_watch: float = math.inf  # lowest watched loss (early stopping)
    best_arrays: list[Any] | None = None  # the parameters at the best validation loss
    since_best: int = 0
    step: int = 0  # batches done
    r0: int = 0  # the first round to run
    before: float = 0.0  # seconds spent before a resume
    stop_reason: str = "MaxTrainingRounds"

    def resume(
        self,
        saved: CheckpointState,
        trainer: Trainer,
        rng: Any,
        results: NetTrainResults,
        path: Any,
        rounds: int,
        time_goal: float | None,
    ) -> None:
        """Put the optimiser, the generator, the results and these counters back as the
        checkpoint ``saved`` (already checked against this run) recorded them."""
        st = saved.state
        try:
            trainer.optimizer.load_state_arrays(
                trainer.params, st["optimizer_steps"], saved.optimizer
            )
        except ValueError as exc:
            raise ValueError(f"resume_from: damaged checkpoint {str(path)!r}: {exc}") from None
        try:
            rng.bit_generator.state = st["random_state"]
        except (TypeError, ValueError, KeyError) as exc:
            raise ValueError(
                f"resume_from: damaged training state in {str(path)!r}: the random "
                f"generator's state does not fit ({exc})"
            ) from None
        best = None if saved.best is None else [xp.asarray(a) for a in saved.best]
        if best is not None and [(a.size, a.dtype) for a in best] != [
            (p._data.size, p._data.dtype) for p in trainer.params
        ]:
            raise ValueError(
                f"resume_from: damaged checkpoint {str(path)!r}: the best net's arrays do not "
                "fit the net"
            )
        results.round_losses = list(st["round_losses"])
        results.validation_losses = list(st["validation_losses"])
        results.rounds = self.r0 = st["rounds"]
        results.batches = self.step = st["batches"]
        results.best_round = st["best_round"]
        self.best_val, self.best_watch = st["best_validation_loss"], st["best_watched"]
        self.since_best, self.best_arrays, self.before = st["since_best"], best, st["elapsed"]
        done = st["stop_reason"]  # why the run that wrote it stopped, if it had
        if (
            done in ("StoppingCriterion", "NonFiniteLoss")
            or (done == "MaxTrainingRounds" and self.r0 >= rounds)
            or (done == "TimeGoal" and time_goal is not None and self.before >= time_goal)
        ):
            self.stop_reason, self.r0 = done, rounds


def _resumes_from(ckpt: Any, resume_from: Any) -> bool:
    """Whether a run resumes from the "Directory" it writes its checkpoints into."""
    if resume_from is None:
        return False
    source = Path(os.path.realpath(resume_from))
    return (source if source.is_dir() else source.parent) == ckpt.path


def _jsonable_options(options: dict[str, Any]) -> dict[str, Any]:
    """The options as JSON gives them back (tuples as lists), for comparing with a checkpoint's."""
    return json.loads(json.dumps(options, default=repr))


def _check_resume(
    saved: CheckpointState,
    fingerprints: dict[str, str],
    path: Any,
    seed: Any,
    options: dict[str, Any],
) -> None:
    """Refuse a resume whose net, data or options differ from the run that wrote the
    checkpoint (the result could not equal an uninterrupted run)."""
    what = {  # in this order: a seed or option may also change what NetTrain makes of the data
        "seed": "another random_seed",
        "net": "another net (its layers, shapes or the arrays it came with)",
        "options": "other options (batch size, method and its settings, learning rate and "
        "schedule, loss, stopping criterion or working precision)",
        "data": "other data (training or validation arrays, or their split)",
    }
    theirs = saved.state.get("fingerprints") or {}
    for key, text in what.items():
        if theirs.get(key) != fingerprints[key]:
            hint = ""
            if key == "data" and seed is None:
                hint = (
                    " (with random_seed=None a validation fraction is drawn afresh; give the "
                    "run an int seed to resume it)"
                )
            then = saved.state.get("options")
            if key == "options" and isinstance(then, dict):
                now = _jsonable_options(options)
                changed = [k for k in sorted(set(then) | set(now)) if then.get(k) != now.get(k)]
                hint = (
                    " ("
                    + "; ".join(f"{k}: {then.get(k)!r} then, {now.get(k)!r} now" for k in changed)
                    + ")"
                )
            raise ValueError(
                f"resume_from: the checkpoint {str(path)!r} was written by a run with {text} "
                f"than this call; resume with the same net, data and options{hint}"
            )


def _reporter(spec: Any, total: int) -> Any:
    if spec is None or spec == "None":
        return None
    if spec == "ProgressBar":
        from tqdm.auto import tqdm

        return tqdm(total=total, unit="round", desc="NetTrain", leave=True, dynamic_ncols=True)
    if callable(spec):
        return spec
    raise ValueError(
        f"training_progress_reporting must be 'ProgressBar', None or a function, got {spec!r}"
    )


# ---------------------------------------------------------------------------- NetTrain


def NetTrain(
    net: NetChain,
    data: Any,
    prop: str = "TrainedNet",
    *,
    loss: Any = None,
    batch_size: int = 64,
    max_training_rounds: int | None = None,
    method: Any = "ADAM",
    learning_rate: float | None = None,
    l2_regularization: float = 0.0,
    gradient_clipping: Any = None,
    learning_rate_schedule: Any = None,
    validation_set: Any = None,
    training_stopping_criterion: Any = None,
    training_progress_reporting: Any = "ProgressBar",
    training_progress_checkpointing: Any = None,
    resume_from: Any = None,
    time_goal: float | None = None,
    random_seed: Any = 1234,
    working_precision: Any = None,
) -> Any:
    """Train a net on data and return a trained copy.

    Parameters
    ----------
    net : NetChain or NetGraph
        The net to train (uninitialised arrays are initialised with Kaiming's method from
        ``random_seed``); it is left unchanged.
    data
        A dict ``{input: output}``, a list of ``(input, output)`` pairs, a tuple ``(X, Y)``
        or ``{"Input": X, "Output": Y}``.
        A NetGraph takes ``{port: array}``: an array for each of its input ports and targets
        for one or more of its output ports (``{"Input1": X1, "Input2": X2, "Output": Y}``);
        the loss is the sum of each such port's loss, chosen as for a chain ending in the
        layer that feeds the port.
    prop : str, default "TrainedNet"
        What to return: "TrainedNet", "All" (a :class:`NetTrainResults`), or one of its
        properties ("RoundLossList", "ValidationLossList", "FinalRoundLoss", ...).
    loss : loss layer, optional
        As in the Wolfram Language when not given: a net ending in SoftmaxLayer with class
        targets gets cross-entropy, one ending in LogisticSigmoid binary cross-entropy (both
        computed from the logits), any other mean squared error.
    batch_size : int, default 64
    max_training_rounds : int, optional
        Passes over the data; by default enough for about 5,000 batches (at least 10 rounds,
        at most 10,000).
    method : {"ADAM", "SGD", "RMSProp"} or (name, options), default "ADAM"
        Options: ADAM beta1, beta2, epsilon; SGD momentum; RMSProp beta, epsilon.
    learning_rate : float, optional
        Default 0.001 (ADAM, RMSProp) or 0.01 (SGD).
    l2_regularization : float, default 0
        Adds l2 * w to every array's gradient.
    gradient_clipping : float or ("L2Norm", float), optional
        Clip each gradient element into [-c, c], or the joint gradient norm to c.
    learning_rate_schedule : {"Constant", "Cosine", "Linear", "Exponential"} or callable
        A multiplier of the learning rate; a callable gets (step, total_steps).
    validation_set : data or float, optional
        Data in any of the forms above, or a fraction in (0, 1) of the training data held out
        at random. With it, the net with the lowest validation loss is returned.
    training_stopping_criterion : int or dict, optional
        A patience: stop when the validation loss (the training loss without a validation set)
        has not improved for that many rounds; or ``{"patience": k, "min_delta": d,
        "criterion": "Loss" | "ValidationLoss"}``.
    training_progress_reporting : "ProgressBar", None or callable, default "ProgressBar"
        A tqdm bar with the round, loss and validation loss; None is silent; a callable gets a
        dict each round.
    training_progress_checkpointing : path, ("File", path) or ("Directory", path), optional
        After every round, save a checkpoint atomically: the net (``NetLoad`` opens it) with
        the loop's state (optimiser moments, random generator, losses, counters). "File"
        replaces one file each round; "Directory" (created if its parent exists) keeps one
        ``checkpoint-round-NNNNN.safetensors`` per round, and must not already hold
        checkpoints unless the run resumes. A bare path is a "Directory" when it is an
        existing folder or ends with a separator, else a "File". A checkpoint that cannot be
        written stops training with a ValueError (earlier ones stay as they were).
    resume_from : path, optional
        A checkpoint file, or a folder of them (the latest is taken): training goes on from
        the round after it. With the same net, data and options as the run that wrote it,
        the result equals that of an uninterrupted run, bit for bit; other data, another net
        (layers, shapes or the arrays it came with), another random_seed or other options (batch
        size, method and its settings, learning rate and schedule, loss, stopping criterion,
        precision) raise a ValueError. A schedule given as a function is compared by its code,
        not by values it captures. ``max_training_rounds`` may be larger (to train further),
        not below the rounds done. A checkpoint of a finished run returns its net.
    time_goal : float, optional
        Stop after this many seconds (counting the time before a resume).
    random_seed : int or numpy.random.Generator, default 1234
        The same seed gives the same trained net, bit for bit, on one machine.
    working_precision : {"Real32", "Real64"}, optional
        Default: the net's precision (float32 for a new net).

    Returns
    -------
    NetChain or NetTrainResults or a property

    Raises
    ------
    ValueError, TypeError
        For malformed data, data that does not fit the net (naming the port and both shapes),
        unknown methods or options, a checkpoint destination that cannot be written, or a
        ``resume_from`` that is not a checkpoint of this run. Nothing is trained then.
    FileNotFoundError
        If ``resume_from`` names no file or folder.

    Warns
    -----
    TrainingWarning
        When a loss is NaN or infinite: training stops and the last net whose loss was finite
        is returned.
    """
    # ---- options first, so that a mistake costs nothing
    if not isinstance(net, NetChain | NetGraph):
        raise TypeError(f"NetTrain needs a NetChain or NetGraph, got {type(net).__name__}")
    graph = isinstance(net, NetGraph)
    if prop not in PROPS:
        raise ValueError(f"NetTrain prop must be one of {PROPS}, got {prop!r}")
    batch_size = _positive_int(batch_size, "batch_size")
    rounds = _positive_int(max_training_rounds, "max_training_rounds", allow_none=True)
    optimizer = make_optimizer(method, l2_regularization, gradient_clipping)
    if learning_rate is None:
        learning_rate = optimizer.default_learning_rate
    if (
        not isinstance(learning_rate, numbers.Real)
        or isinstance(learning_rate, bool)
        or not learning_rate > 0
    ):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
    schedule = _schedule(learning_rate_schedule)
    stopping = _stopping(training_stopping_criterion)
    if time_goal is not None and (not isinstance(time_goal, numbers.Real) or time_goal <= 0):
        raise ValueError(f"time_goal must be a positive number of seconds, got {time_goal!r}")
    if not (
        training_progress_reporting in (None, "None", "ProgressBar")
        or callable(training_progress_reporting)
    ):
        raise ValueError(
            "training_progress_reporting must be 'ProgressBar', None or a function, got "
            f"{training_progress_reporting!r}"
        )
    if working_precision is not None:
        backend.precision_dtype(working_precision)
    ckpt = checkpointing(training_progress_checkpointing)
    resumed = None if resume_from is None else read_checkpoint(resume_from)
    if existing_checkpoints(ckpt) and not _resumes_from(ckpt, resume_from):
        raise ValueError(
            f"training_progress_checkpointing: the folder {str(ckpt.path)!r} already holds "
            "checkpoints of another run; go on from them with resume_from (that folder), or "
            "give an empty or new folder"
        )
    rng = backend.rng(random_seed)
    seed_key = rng.bit_generator.state if rng is random_seed else random_seed
    seed_key = int(seed_key) if isinstance(seed_key, numbers.Integral) else seed_key
    init_rng, split_rng, train_rng = rng.spawn(3)

    # ---- data
    X, Y = _graph_data(net, data, "data") if graph else parse_data(data)
    Xv = Yv = None
    if isinstance(validation_set, numbers.Real) and not isinstance(validation_set, bool):
        frac = float(validation_set)
        if not 0 < frac < 1:
            raise ValueError(
                f"validation_set as a fraction must lie in (0, 1), got {validation_set}"
            )
        n_val = int(round(frac * len(X)))
        if n_val < 1 or n_val >= len(X):
            raise ValueError(
                f"validation_set={frac} leaves no validation or no training examples of {len(X)}"
            )
        perm = split_rng.permutation(len(X))
        Xv, Yv = X[perm[:n_val]], Y[perm[:n_val]]
        X, Y = X[perm[n_val:]], Y[perm[n_val:]]
    elif validation_set is not None:
        Xv, Yv = (
            _graph_data(net, validation_set, "validation_set")
            if graph
            else parse_data(validation_set, "validation_set")
        )

    # ---- the net: shapes from the data, then arrays
    trained = net.copy()
    example = None if graph else tuple(X.shape[1:])
    if graph:
        _graph_shapes(trained, X, Xv)
    elif trained.input_shape is None:
        trained.input = example
        trained._infer(example)
    elif not shape_fits(trained.input_shape, example):
        raise ValueError(
            f"data: the net's port 'Input' expects examples of shape "
            f"{format_shape(trained.input_shape)}, got {format_shape(example)}"
        )
    if Xv is not None and not graph and tuple(Xv.shape[1:]) != example:
        raise ValueError(
            f"validation_set: inputs have shape {format_shape(Xv.shape[1:])} per example, the "
            f"training data {format_shape(example)}"
        )
    trained = NetInitialize(trained, "Kaiming", init_rng, working_precision=working_precision)
    dtype = trained.dtype
    X = X.astype(dtype, copy=False)
    make = _graph_objective if graph else make_objective
    objective, T, scalar = make(trained, loss, Y)
    Tv = None
    if Xv is not None:
        Xv = Xv.astype(dtype, copy=False)
        _, Tv, _ = make(trained, loss, Yv, "validation_set")
    if graph:
        for p in scalar:
            trained.decoders.setdefault(p, NetDecoder("Scalar"))
    elif scalar and trained.decoder is None:
        trained.decoder = NetDecoder("Scalar")
    fingerprints = None
    if ckpt is not None or resumed is not None:
        options = {
            "batch_size": batch_size,
            "optimizer": optimizer.settings(),
            "learning_rate": float(learning_rate),
            "schedule": schedule_key(learning_rate_schedule),
            "stopping": stopping,
            "loss": objective.name,
            "precision": str(dtype),
        }
        fingerprints = fingerprint(trained, net, (X, T, Xv, Tv), options, seed_key)
    if resumed is not None:
        _check_resume(resumed, fingerprints, resume_from, random_seed, options)
        for path, layer in leaf_layers(trained):
            for name, arr in resumed.net_arrays.get(path, {}).items():
                if arr is not None and name not in layer.disabled:
                    layer.arrays[name] = xp.asarray(arr, dtype=layer.arrays[name].dtype).copy()

    # ---- the loop
    n = len(X)
    per_round = math.ceil(n / batch_size)
    if rounds is None:
        rounds = max(10, min(10_000, math.ceil(5000 / per_round)))
    total_steps = rounds * per_round
    if resumed is not None and resumed.state["rounds"] > rounds:
        raise ValueError(
            f"resume_from: the checkpoint was written after round {resumed.state['rounds']}, "
            f"beyond max_training_rounds={rounds}"
        )
    if ckpt is not None:
        remove_stale_temporaries(ckpt)
    trainer = Trainer(trained, objective, optimizer, train_rng)
    results = NetTrainResults(
        trained_net=trained,
        loss=objective.name,
        method=optimizer.name,
        learning_rate=float(learning_rate),
        batch_size=batch_size,
    )
    loop = _Loop()
    if resumed is not None:
        loop.resume(resumed, trainer, train_rng, results, resume_from, rounds, time_goal)
    best_val, best_watch, best_arrays, since_best = (
        loop.best_val,
        loop.best_watch,
        loop.best_arrays,
        loop.since_best,
    )
    step, r0, before, stop_reason = loop.step, loop.r0, loop.before, loop.stop_reason
    reporter = _reporter(training_progress_reporting, rounds)
    if reporter is not None and hasattr(reporter, "update") and r0:
        reporter.update(min(r0, rounds))
    start = time.perf_counter() - before
    # overflow in a diverging run is reported once, below, as a non-finite loss
    with backend.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for r in range(r0, rounds):
                order = train_rng.permutation(n)
                total = 0.0
                for b in range(per_round):
                    idx = order[b * batch_size : (b + 1) * batch_size]
                    lr = learning_rate * schedule(step, total_steps)
                    value = trainer.step(X[idx], T[idx], lr)
                    if not math.isfinite(value):
                        if step > 0:
                            optimizer.undo(trainer.params)
                        warnings.warn(
                            f"NetTrain: the loss became {value} in round {r + 1}, batch {b + 1}; "
                            "training stopped and the last net whose loss was finite is returned "
                            "(try a smaller learning_rate or gradient_clipping)",
                            TrainingWarning,
                            stacklevel=2,
                        )
                        stop_reason = "NonFiniteLoss"
                        break
                    total += value * len(idx)
                    step += 1
                    results.batches += 1
                if stop_reason == "NonFiniteLoss":
                    break
                results.rounds += 1
                results.round_losses.append(total / n)
                val = None
                if Xv is not None:
                    val = trainer.evaluate_loss(Xv, Tv)
                    results.validation_losses.append(val)
                if val is not None and val < best_val:
                    best_val, best_arrays, results.best_round = val, trainer.snapshot(), r + 1
                if stopping is not None:
                    patience, delta, crit = stopping
                    watched = results.round_losses[-1] if crit == "Loss" or val is None else val
                    if watched < best_watch - delta:
                        best_watch, since_best = watched, 0
                    else:
                        since_best += 1
                elapsed = time.perf_counter() - start
                finished = None
                if stopping is not None and since_best >= patience:
                    finished = "StoppingCriterion"
                elif time_goal is not None and elapsed >= time_goal:
                    finished = "TimeGoal"
                elif r + 1 == rounds:
                    finished = "MaxTrainingRounds"
                if ckpt is not None:
                    state = {
                        "rounds": results.rounds,
                        "batches": results.batches,
                        "round_losses": results.round_losses,
                        "validation_losses": results.validation_losses,
                        "best_round": results.best_round,
                        "best_validation_loss": best_val,
                        "best_watched": best_watch,
                        "since_best": since_best,
                        "optimizer_steps": trainer.optimizer.t,
                        "random_state": train_rng.bit_generator.state,
                        "elapsed": time.perf_counter() - start,
                        "stop_reason": finished,
                        "fingerprints": fingerprints,
                        "options": _jsonable_options(options),
                    }
                    write_checkpoint(
                        ckpt.destination(r + 1),
                        trained,
                        state,
                        trainer.optimizer.state_arrays(trainer.params),
                        best_arrays,
                    )
                if reporter is not None:
                    info = {
                        "round": r + 1,
                        "rounds": rounds,
                        "loss": results.round_losses[-1],
                        "validation_loss": val,
                        "learning_rate": lr,
                        "time": elapsed,
                    }
                    if callable(reporter) and not hasattr(reporter, "update"):
                        reporter(info)
                    else:
                        post = {"loss": f"{info['loss']:.4g}"}
                        if val is not None:
                            post["val"] = f"{val:.4g}"
                        reporter.set_postfix(post, refresh=False)
                        reporter.update(1)
                if finished is not None:
                    stop_reason = finished
                    break
        finally:
            if reporter is not None and hasattr(reporter, "close"):
                reporter.close()
    if best_arrays is not None:
        trainer.restore(best_arrays)
    results.total_time = time.perf_counter() - start
    results.examples_per_second = (
        results.batches * batch_size / results.total_time if results.total_time > 0 else 0.0
    )
    results.stop_reason = stop_reason
    if prop == "TrainedNet":
        return trained
    if prop == "All":
        return results
    return results[prop]
