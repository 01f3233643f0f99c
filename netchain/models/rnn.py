"""Recurrent architectures: an LSTM sequence classifier (sequential MNIST: an image read as 28
steps of 28 pixels) and a character-level LSTM language model with sampling.

The language model reads characters as class indices, embeds them, runs an LSTM and predicts
the next character at every step (``NetMapOperator(LinearLayer(V))`` and a softmax over the
vocabulary). It is trained on windows of a text and measured by the cross-entropy of the next
character in nats (natural logarithm) on a held-out tail of the text.

References
----------
Hochreiter & Schmidhuber (1997); Graves (2013), "Generating sequences with recurrent neural
networks"; Karpathy, Johnson & Fei-Fei (2015), "Visualizing and understanding recurrent
networks" (character-level models, the tiny Shakespeare text); Le, Jaitly & Hinton (2015) for
pixel-by-pixel and row-by-row sequential MNIST.
"""

from __future__ import annotations

import gzip
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from netchain import backend
from netchain.autodiff import Tensor, constant, no_grad
from netchain.backend import xp
from netchain.layers import (
    Context,
    EmbeddingLayer,
    LinearLayer,
    LongShortTermMemoryLayer,
    SequenceLastLayer,
    SoftmaxLayer,
)
from netchain.nets import NetChain, NetDecoder, NetMapOperator, arrays_for, run_layer

__all__ = [
    "TextTask",
    "char_lstm",
    "encode_text",
    "load_text",
    "load_text_task",
    "lstm_classifier",
    "sample",
    "text_cross_entropy",
    "text_windows",
]


# ----------------------------------------------------------------------------- classifiers


def lstm_classifier(input_shape: Any, labels: list[Any], n: int = 128) -> NetChain:
    """An LSTM sequence classifier: LongShortTermMemoryLayer(n), SequenceLastLayer,
    LinearLayer(classes), SoftmaxLayer, with a class decoder over ``labels``.

    Parameters
    ----------
    input_shape : tuple (T, F)
        The sequence shape (T may be "Varying").
    labels : list
        The class labels.
    n : int, default 128
        LSTM units.
    """
    return NetChain(
        [
            LongShortTermMemoryLayer(n),
            SequenceLastLayer(),
            LinearLayer(len(labels)),
            SoftmaxLayer(),
        ],
        input=input_shape,
        output=NetDecoder("Class", labels),
    )


# ----------------------------------------------------------------------------- language model


def char_lstm(vocabulary_size: int, n: int = 256, embedding: int = 64) -> NetChain:
    """A character-level LSTM language model: EmbeddingLayer(embedding, V),
    LongShortTermMemoryLayer(n), NetMapOperator(LinearLayer(V)), SoftmaxLayer.

    Input: character indices of shape (T,) ("Varying" T); output: for every step a probability
    vector over the V characters of the next one.

    Parameters
    ----------
    vocabulary_size : int
        V, the number of distinct characters.
    n : int, default 256
        LSTM units.
    embedding : int, default 64
        Size of the character vectors.
    """
    return NetChain(
        [
            EmbeddingLayer(embedding, vocabulary_size),
            LongShortTermMemoryLayer(n),
            NetMapOperator(LinearLayer(vocabulary_size)),
            SoftmaxLayer(),
        ],
        input=("Varying",),
    )


def load_text(path: str | os.PathLike) -> str:
    """A text file's contents (gzip when the name ends in .gz), decoded as UTF-8.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        For an empty file.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such text file: {str(p)!r}")
    raw = p.read_bytes()
    if p.name.endswith(".gz"):
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    if not text:
        raise ValueError(f"the text file {str(p)!r} is empty")
    return text


def encode_text(text: str, vocabulary: list[str]) -> np.ndarray:
    """Characters as indices into ``vocabulary`` (int64).

    Raises
    ------
    ValueError
        Naming the first character that is not in the vocabulary.
    """
    index = {c: i for i, c in enumerate(vocabulary)}
    try:
        return np.fromiter((index[c] for c in text), dtype=np.int64, count=len(text))
    except KeyError as exc:
        raise ValueError(f"character {exc.args[0]!r} is not in the vocabulary") from None


def text_windows(ids: Any, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows of ``steps`` characters and, for each, the next characters.

    Returns
    -------
    X, Y : int64 arrays of shape (windows, steps)
        ``Y[k, t]`` is the character after ``X[k, t]``.

    Raises
    ------
    ValueError
        When the text is shorter than one window plus one character.
    """
    ids = np.asarray(ids)
    count = (len(ids) - 1) // steps
    if count < 1:
        raise ValueError(f"a text of {len(ids)} characters has no window of {steps} steps")
    X = ids[: count * steps].reshape(count, steps)
    Y = ids[1 : count * steps + 1].reshape(count, steps)
    return X, Y


@dataclass
class TextTask:
    """A character-level language-modelling task: the text split into a training head and a
    held-out tail."""

    vocabulary: list[str]
    train_ids: np.ndarray
    valid_ids: np.ndarray
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


def load_text_task(path: str | os.PathLike, valid_fraction: float = 0.1) -> TextTask:
    """Read a text and hold out its last ``valid_fraction`` (by characters) for validation.

    The vocabulary is every distinct character of the whole text, sorted.

    Raises
    ------
    ValueError
        For a fraction outside (0, 1) or a text too short to split.
    """
    if not 0 < valid_fraction < 1:
        raise ValueError(f"valid_fraction must lie in (0, 1), got {valid_fraction}")
    text = load_text(path)
    vocabulary = sorted(set(text))
    ids = encode_text(text, vocabulary)
    cut = int(round(len(ids) * (1 - valid_fraction)))
    if cut < 2 or len(ids) - cut < 2:
        raise ValueError(f"the text of {len(ids)} characters is too short to split")
    desc = (
        f"{Path(path).name}: {len(ids):,} characters, {len(vocabulary)} distinct; the last "
        f"{len(ids) - cut:,} ({valid_fraction:.0%}) held out"
    )
    meta = {"data": "text", "text": str(Path(path).resolve()), "valid_fraction": valid_fraction}
    return TextTask(vocabulary, ids[:cut], ids[cut:], desc, meta)


def text_cross_entropy(net: NetChain, ids: Any, steps: int = 200, batch: int = 256) -> float:
    """Mean cross-entropy (nats per character) of a language model predicting each next
    character of ``ids``, read in non-overlapping windows of ``steps`` characters (each window
    starts from a zero state).

    Raises
    ------
    ValueError
        When the text is shorter than one window.
    """
    X, Y = text_windows(ids, steps)
    dtype = net.dtype
    total = 0.0
    with no_grad():
        for s in range(0, len(X), batch):
            xb = constant(xp.asarray(X[s : s + batch], dtype=dtype))
            z = net.run(xb, Context(training=False), drop_final=True).data
            z = z - z.max(axis=-1, keepdims=True)
            logp = z - xp.log(xp.exp(z).sum(axis=-1, keepdims=True))
            yb = xp.asarray(Y[s : s + batch])
            total += float(-xp.take_along_axis(logp, yb[..., None], axis=-1).sum())
    return total / Y.size


def sample(
    net: NetChain,
    vocabulary: list[str],
    prime: str = "",
    length: int = 200,
    temperature: float = 1.0,
    random_seed: Any = None,
) -> str:
    """Generate text from a character-level language model, one character at a time.

    The net reads ``prime`` (or, when empty, a newline if the vocabulary has one), then draws
    each next character from its predicted distribution sharpened by ``temperature``:
    p_i^(1/temperature), renormalised. Recurrent states are carried from step to step, so each
    character costs one step of the net.

    Parameters
    ----------
    net : NetChain
        A trained model as built by :func:`char_lstm` (layers applied one step at a time;
        recurrent layers keep their states).
    vocabulary : list of str
        The characters, in the order of the net's outputs.
    prime : str, default ""
        Text to start from (its characters must be in the vocabulary).
    length : int, default 200
        Number of characters to generate.
    temperature : float, default 1.0
        Below 1: more likely characters, more repetitive; above 1: more varied.
    random_seed : int or numpy.random.Generator, optional

    Returns
    -------
    str
        The generated characters (without the prime).

    Raises
    ------
    ValueError
        For a non-positive temperature or length, or characters outside the vocabulary.
    """
    if not (
        isinstance(temperature, int | float) and temperature > 0 and math.isfinite(temperature)
    ):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    if not isinstance(length, int) or length < 1:
        raise ValueError(f"length must be a positive int, got {length!r}")
    rng = backend.rng(random_seed)
    if not prime:
        prime = "\n" if "\n" in vocabulary else vocabulary[0]
    ids = encode_text(prime, vocabulary)
    stepper = _Stepper(net)
    probs = None
    for i in ids:
        probs = stepper.step(int(i))
    out = []
    for _ in range(length):
        logp = np.log(np.maximum(probs, 1e-30)) / temperature
        p = np.exp(logp - logp.max())
        p /= p.sum()
        k = int(rng.choice(len(p), p=p))
        out.append(vocabulary[k])
        probs = stepper.step(k)
    return "".join(out)


class _Stepper:
    """Runs a chain one time step at a time, carrying the states of its recurrent layers."""

    def __init__(self, net: NetChain) -> None:
        if not isinstance(net, NetChain):
            raise TypeError(f"sample needs a NetChain language model, got {type(net).__name__}")
        self.net = net
        self.states: dict[int, dict[str, Tensor]] = {}
        self.dtype = net.dtype

    def step(self, index: int) -> np.ndarray:
        ctx = Context(training=False)
        with no_grad():
            x: Tensor = constant(xp.asarray([[index]], dtype=self.dtype))
            for k, layer in enumerate(self.net.layers):
                ports = getattr(layer, "optional_output_ports", ())
                if ports and hasattr(layer, "forward_ports"):
                    inputs = {"Input": x, **self.states.get(k, {})}
                    res = layer.forward_ports(arrays_for(layer, ctx), inputs, ctx)
                    self.states[k] = {p: res[p] for p in ports}
                    x = res["Output"]
                else:
                    x = run_layer(layer, {"Input": x}, ctx)["Output"]
        return backend.to_numpy(x.data)[0, -1].astype(np.float64)


# ----------------------------------------------------------------------------- registry

from netchain.models import ModelEntry, register  # noqa: E402 - the registry imports this module last

#: Window length (characters) the command-line tool trains the language model on.
TEXT_STEPS = 100

register(
    ModelEntry(
        "lstm",
        "LSTM sequence classifier: LongShortTermMemoryLayer(128) over the rows of an image, "
        "SequenceLastLayer, LinearLayer(classes), SoftmaxLayer",
        lambda shape, labels: lstm_classifier(shape, labels, 128),
        "sequence",
        ("digits", "mnist"),
        {
            "digits": {"max_training_rounds": 40, "batch_size": 32, "learning_rate": 2e-3},
            "mnist": {
                "max_training_rounds": 15,
                "batch_size": 64,
                "learning_rate": 2e-3,
                "learning_rate_schedule": "Cosine",
            },
        },
    )
)

register(
    ModelEntry(
        "charlstm",
        "character-level LSTM language model: EmbeddingLayer(64, V), LongShortTermMemoryLayer(256), "
        "NetMapOperator(LinearLayer(V)), SoftmaxLayer; trained on windows of 100 characters",
        lambda shape, labels: char_lstm(len(labels), 256, 64),
        "text",
        ("text",),
        {
            "text": {
                "max_training_rounds": 4,
                "batch_size": 64,
                "learning_rate": 3e-3,
                "learning_rate_schedule": "Cosine",
                "gradient_clipping": ("L2Norm", 5.0),
            }
        },
    )
)
