"""Autoencoders: a dense one with a bottleneck of k units and a convolutional one (strided
convolutions down, transposed convolutions up), with ``encode``, ``decode`` and the
reconstruction loss.

An autoencoder is a net trained to give back its input through a narrow middle layer, the
code; the first half (the encoder) then maps examples to codes and the second (the decoder)
codes back to examples. Here the net is a :class:`~netchain.nets.NetChain` of two named nets,
"Encoder" and "Decoder", trained by :func:`~netchain.train.NetTrain` with the input as the
target, so every gradient goes through :mod:`netchain.autodiff`. Images keep their shape
((C, H, W) for the convolutional one); the dense one flattens whatever it is given.

With a linear code, a linear decoder and the squared error, the best k-unit autoencoder spans
the same subspace as the first k principal components (Baldi & Hornik, 1989); the
nonlinear ones can do better, which is what makes them worth training.

References
----------
Hinton & Salakhutdinov (2006), "Reducing the dimensionality of data with neural networks",
Science 313; Baldi & Hornik (1989), "Neural networks and principal component analysis";
Masci, Meier, Ciresan & Schmidhuber (2011), "Stacked convolutional auto-encoders for
hierarchical feature extraction"; Goodfellow, Bengio & Courville (2016), "Deep Learning",
ch. 14.
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from netchain import backend
from netchain.layers import (
    ConvolutionLayer,
    DeconvolutionLayer,
    ElementwiseLayer,
    FlattenLayer,
    LinearLayer,
    MeanSquaredLossLayer,
    ReshapeLayer,
)
from netchain.nets import NetChain, NetLoad, NetSave
from netchain.train import NetTrain

__all__ = ["Autoencoder", "ConvolutionalAutoencoder", "autoencoder_embedding"]

_OUTPUTS = ("LogisticSigmoid", None)


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _sizes(value: Any, name: str) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, tuple | list):
        raise ValueError(f"{name} must be a tuple of positive ints, got {value!r}")
    return tuple(_positive_int(v, name) for v in value)


class _Autoencoder:
    """What the two autoencoders share: training, encoding, decoding, the loss, saving."""

    kind: ClassVar[str] = ""

    net: NetChain
    results_: Any

    # ------------------------------------------------------------------ to override
    def config(self) -> dict[str, Any]:
        raise NotImplementedError

    def _build(self, input_shape: tuple[int, ...]) -> NetChain:
        raise NotImplementedError

    # ------------------------------------------------------------------ parts
    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The shape of one example (known once built or trained)."""
        return None if self.net is None else self.net.input_shape

    @property
    def encoder(self) -> NetChain:
        """The encoder: examples -> codes of shape (k,)."""
        self._check_built()
        return self.net.layers[0]

    @property
    def decoder(self) -> NetChain:
        """The decoder: codes (k,) -> examples."""
        self._check_built()
        return self.net.layers[1]

    def _check_built(self) -> None:
        if self.net is None:
            raise ValueError(f"this {self.kind} has not been trained yet; call fit(X) first")

    def _check_trained(self) -> None:
        self._check_built()
        if self.net.uninitialized():
            raise ValueError(f"this {self.kind} has not been trained yet; call fit(X) first")

    def _examples(self, X: Any, name: str = "X") -> Any:
        """Validate a batch of examples against the input shape (flattening for the dense
        autoencoder when the examples' size fits)."""
        A = backend.as_float_array(X, name=name)
        shape = self.input_shape
        if shape is None:
            return A
        if A.ndim >= 2 and math.prod(A.shape[1:]) == math.prod(shape):
            A = A.reshape(len(A), *shape)
        if tuple(A.shape[1:]) != tuple(shape):
            raise ValueError(
                f"{name}: this {self.kind} takes a batch of examples of shape {shape}, got an "
                f"array of shape {tuple(A.shape)}"
            )
        return A

    # ------------------------------------------------------------------ training
    def fit(
        self,
        X: Any,
        *,
        loss: Any = "Automatic",
        validation_set: Any = None,
        random_seed: Any = 1234,
        training_progress_reporting: Any = None,
        **options: Any,
    ) -> _Autoencoder:
        """Train the autoencoder to reproduce ``X``.

        Parameters
        ----------
        X : array_like of shape (N, *input_shape)
            Training examples (the dense autoencoder also takes them flattened, (N, d)).
            With a sigmoid output they must lie in [0, 1] (pixels scaled to [0, 1]).
        loss : "Automatic", "MeanSquared", "CrossEntropy" or a loss layer
            "Automatic": binary cross-entropy computed from the logits for a sigmoid output
            (NetTrain's choice for a net ending in LogisticSigmoid), the squared error for a
            linear one.
        validation_set : array_like or float, optional
            Held-out examples (the net with the lowest validation loss is kept), or a
            fraction of ``X``.
        random_seed : int or numpy.random.Generator, default 1234
            Initialisation and batch order; the same seed gives the same net.
        training_progress_reporting : default None
            As NetTrain's.
        **options
            Other NetTrain options (``max_training_rounds``, ``batch_size``,
            ``learning_rate``, ``learning_rate_schedule``, ...).

        Returns
        -------
        self
            With the trained net in ``net`` and NetTrain's results in ``results_``.

        Raises
        ------
        ValueError
            For examples of the wrong shape, NaN values, or values outside [0, 1] with a
            sigmoid output.
        """
        A = backend.as_float_array(X, name="X")
        if A.ndim < 2 or len(A) == 0:
            raise ValueError(f"X must be a non-empty batch of examples, got shape {A.shape}")
        if self.net is None:
            self.net = self._build(tuple(int(s) for s in A.shape[1:]))
        A = self._examples(A)
        if not bool(np.all(np.isfinite(A))):
            raise ValueError("X contains NaN or infinity")
        if self.output == "LogisticSigmoid" and (A.min() < 0 or A.max() > 1):
            raise ValueError(
                f"X: an autoencoder with a sigmoid output reconstructs values in [0, 1], got "
                f"values in [{float(A.min()):.3g}, {float(A.max()):.3g}]; scale the data or use "
                "output=None"
            )
        val = validation_set
        if val is not None and not isinstance(val, numbers.Real):
            V = self._examples(val, "validation_set")
            val = (V, V.reshape(len(V), -1) if self._flat_target else V)
        target = A.reshape(len(A), -1) if self._flat_target else A
        results = NetTrain(
            self.net,
            (A, target),
            "All",
            loss=self._loss_layer(loss),
            validation_set=val,
            random_seed=random_seed,
            training_progress_reporting=training_progress_reporting,
            **options,
        )
        self.net = results.trained_net
        self.results_ = results
        return self

    _flat_target: ClassVar[bool] = False

    def _loss_layer(self, loss: Any) -> Any:
        from netchain.layers import CrossEntropyLossLayer

        if loss == "Automatic":
            return None
        if loss == "MeanSquared":
            return MeanSquaredLossLayer()
        if loss == "CrossEntropy":
            if self.output != "LogisticSigmoid":
                raise ValueError("loss='CrossEntropy' needs output='LogisticSigmoid'")
            return CrossEntropyLossLayer("Binary")
        if isinstance(loss, str):
            raise ValueError(
                f"loss must be 'Automatic', 'MeanSquared', 'CrossEntropy' or a loss layer, got "
                f"{loss!r}"
            )
        return loss

    # ------------------------------------------------------------------ use
    def encode(self, X: Any) -> np.ndarray:
        """The codes of a batch: array of shape (N, k) (float32 for a float32 net).

        Raises
        ------
        ValueError
            Before training, or for examples of the wrong shape.
        """
        self._check_trained()
        return np.asarray(self.encoder(self._examples(X)))

    def decode(self, Z: Any) -> np.ndarray:
        """Examples made from codes ``Z`` of shape (N, k): array of shape (N, *input_shape)
        ((N, d) for the dense autoencoder)."""
        self._check_trained()
        Z = backend.as_float_array(Z, name="Z")
        if Z.ndim != 2 or Z.shape[1] != self.k:
            raise ValueError(f"Z must have shape (N, {self.k}), got {tuple(Z.shape)}")
        return np.asarray(self.decoder(Z))

    def reconstruct(self, X: Any) -> np.ndarray:
        """decode(encode(X)), computed in one pass through the net."""
        self._check_trained()
        return np.asarray(self.net(self._examples(X)))

    def reconstruction_loss(self, X: Any, *, per_example: bool = False) -> Any:
        """The mean squared error between examples and their reconstructions, averaged over
        every element (pixel) of the examples.

        Parameters
        ----------
        X : array_like of shape (N, *input_shape)
        per_example : bool, default False
            Return one error per example (array of shape (N,)) instead of their mean.

        Returns
        -------
        float or ndarray
        """
        A = self._examples(X)
        R = self.reconstruct(A).reshape(len(A), -1)
        err = ((R.astype(np.float64) - A.reshape(len(A), -1)) ** 2).mean(axis=1)
        return err if per_example else float(err.mean())

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path, metadata: dict | None = None) -> Path:
        """Save the trained net and this model's settings to one safetensors file
        (:func:`~netchain.nets.NetSave`); read it back with :meth:`load`."""
        self._check_trained()
        meta = {"model": self.kind, "config": self.config(), **(metadata or {})}
        return NetSave(self.net, path, metadata=meta)

    @classmethod
    def load(cls, path: str | Path) -> _Autoencoder:
        """An autoencoder saved by :meth:`save`.

        Raises
        ------
        ValueError
            If the file holds another kind of net.
        """
        meta = NetLoad(path, "Metadata")
        if meta.get("model") != cls.kind:
            raise ValueError(
                f"{str(path)!r} holds {meta.get('model') or 'a plain net'}, not a {cls.kind}"
            )
        model = cls(**meta["config"])
        model.net = NetLoad(path)
        return model

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{self.kind}({args})"


class Autoencoder(_Autoencoder):
    """A dense autoencoder with a bottleneck of ``k`` units.

    Encoder: for each size h in ``hidden``, LinearLayer(h) and Ramp; then LinearLayer(k) (a
    linear code). Decoder: the hidden sizes in reverse, each LinearLayer(h) and Ramp; then
    LinearLayer(d) back to the input's size and the output activation.

    Parameters
    ----------
    k : int, default 32
        Size of the code.
    hidden : tuple of int, default (256,)
        Sizes of the hidden layers of the encoder (mirrored in the decoder).
    output : "LogisticSigmoid" or None, default "LogisticSigmoid"
        The output activation: a sigmoid for data in [0, 1] (pixels), None for any real data
        (standardise it first).
    input_shape : int or tuple of int, optional
        The shape of one example; otherwise taken from the data in :meth:`fit`. Examples of
        rank > 1 are flattened; reconstructions come back flat, (N, d).

    Attributes
    ----------
    net : NetChain or None
        NetChain({"Encoder": ..., "Decoder": ...}), built at construction when
        ``input_shape`` is given, else in :meth:`fit`.
    encoder, decoder : NetChain
    results_ : NetTrainResults
        The last training run.

    Raises
    ------
    ValueError
        For non-positive sizes or an unknown output.

    Examples
    --------
    >>> import numpy as np
    >>> from netchain.models import Autoencoder
    >>> X = np.random.default_rng(0).random((256, 20))
    >>> ae = Autoencoder(4, hidden=(16,)).fit(X, max_training_rounds=2)
    >>> ae.encode(X).shape
    (256, 4)
    """

    kind = "Autoencoder"
    _flat_target = True

    def __init__(
        self,
        k: int = 32,
        hidden: Any = (256,),
        output: str | None = "LogisticSigmoid",
        input_shape: Any = None,
    ) -> None:
        self.k = _positive_int(k, "k")
        self.hidden = _sizes(hidden, "hidden") if hidden != () else ()
        if output not in _OUTPUTS:
            raise ValueError(f"output must be 'LogisticSigmoid' or None, got {output!r}")
        self.output = output
        if isinstance(input_shape, numbers.Integral) and not isinstance(input_shape, bool):
            input_shape = (input_shape,)
        self._input = None if input_shape is None else _sizes(input_shape, "input_shape")
        self.net = None if self._input is None else self._build(self._input)
        self.results_ = None

    def config(self) -> dict[str, Any]:
        shape = self.input_shape or self._input
        return {
            "k": self.k,
            "hidden": list(self.hidden),
            "output": self.output,
            "input_shape": None if shape is None else list(shape),
        }

    def _build(self, input_shape: tuple[int, ...]) -> NetChain:
        d = math.prod(input_shape)
        enc: list[Any] = []
        for h in self.hidden:
            enc += [LinearLayer(h), "Ramp"]
        enc.append(LinearLayer(self.k))
        dec: list[Any] = []
        for h in reversed(self.hidden):
            dec += [LinearLayer(h), "Ramp"]
        dec.append(LinearLayer(d))
        if self.output is not None:
            dec.append(ElementwiseLayer(self.output))
        return NetChain(
            {"Encoder": NetChain(enc), "Decoder": NetChain(dec, input=self.k)},
            input=input_shape,
        )

    def reconstruct(self, X: Any) -> np.ndarray:
        """decode(encode(X)): array of shape (N, d), the examples flattened."""
        return super().reconstruct(X)


class ConvolutionalAutoencoder(_Autoencoder):
    """A convolutional autoencoder for images (C, H, W): strided convolutions down, a dense
    bottleneck of ``k`` units, transposed convolutions up.

    Encoder: for each c in ``channels``, ConvolutionLayer(c, 3, stride=2, padding_size=1) and
    Ramp (each halves the height and width); FlattenLayer; LinearLayer(k) (a linear code).
    Decoder: LinearLayer back to the last feature maps' size and Ramp; ReshapeLayer; for each
    channel count in reverse, DeconvolutionLayer(c', 4, stride=2, padding_size=1) (each
    doubles the size) with Ramp between them, the last one giving the C image channels; and
    the output activation.

    Parameters
    ----------
    k : int, default 32
        Size of the code.
    channels : tuple of int, default (16, 32)
        Feature maps after each strided convolution.
    output : "LogisticSigmoid" or None, default "LogisticSigmoid"
    input_shape : tuple (C, H, W), optional
        H and W must be divisible by 2 ** len(channels) (28 = 4 * 7 for two stages).

    Raises
    ------
    ValueError
        For bad sizes, or images whose sides the stages cannot halve exactly.
    """

    kind = "ConvolutionalAutoencoder"

    def __init__(
        self,
        k: int = 32,
        channels: Any = (16, 32),
        output: str | None = "LogisticSigmoid",
        input_shape: Any = None,
    ) -> None:
        self.k = _positive_int(k, "k")
        self.channels = _sizes(channels, "channels")
        if output not in _OUTPUTS:
            raise ValueError(f"output must be 'LogisticSigmoid' or None, got {output!r}")
        self.output = output
        self._input = None if input_shape is None else _sizes(input_shape, "input_shape")
        self.net = None if self._input is None else self._build(self._input)
        self.results_ = None

    def config(self) -> dict[str, Any]:
        shape = self.input_shape or self._input
        return {
            "k": self.k,
            "channels": list(self.channels),
            "output": self.output,
            "input_shape": None if shape is None else list(shape),
        }

    def _build(self, input_shape: tuple[int, ...]) -> NetChain:
        if len(input_shape) != 3:
            raise ValueError(
                f"ConvolutionalAutoencoder takes images of shape (C, H, W), got examples of "
                f"shape {tuple(input_shape)}"
            )
        C, H, W = input_shape
        f = 2 ** len(self.channels)
        if H % f or W % f:
            raise ValueError(
                f"ConvolutionalAutoencoder with {len(self.channels)} stages needs height and "
                f"width divisible by {f}, got images of shape {tuple(input_shape)}"
            )
        enc: list[Any] = []
        for c in self.channels:
            enc += [ConvolutionLayer(c, 3, stride=2, padding_size=1), "Ramp"]
        enc += [FlattenLayer(), LinearLayer(self.k)]
        small = (self.channels[-1], H // f, W // f)
        dec: list[Any] = [LinearLayer(math.prod(small)), "Ramp", ReshapeLayer(small)]
        outs = [*reversed(self.channels[:-1]), C]
        for i, c in enumerate(outs):
            dec.append(DeconvolutionLayer(c, 4, stride=2, padding_size=1))
            if i < len(outs) - 1:
                dec.append("Ramp")
        if self.output is not None:
            dec.append(ElementwiseLayer(self.output))
        return NetChain(
            {"Encoder": NetChain(enc), "Decoder": NetChain(dec, input=self.k)},
            input=tuple(input_shape),
        )


def autoencoder_embedding(
    X: Any,
    n: int,
    *,
    hidden: Any = (128,),
    standardize: bool = True,
    random_seed: Any = 1234,
    **options: Any,
) -> np.ndarray:
    """Codes of a dense autoencoder with an ``n``-unit bottleneck trained on ``X`` (what
    ``DimensionReduce(X, n, method="Autoencoder")`` returns).

    Parameters
    ----------
    X : array_like of shape (N, d)
        Real features.
    n : int
        Size of the code.
    hidden : tuple of int, default (128,)
        Hidden layers of the encoder (mirrored in the decoder).
    standardize : bool, default True
        Centre each feature and scale it to unit variance first (constant features are only
        centred); the decoder is linear and the loss the squared error.
    random_seed : int or numpy.random.Generator, default 1234
    **options
        NetTrain options (``max_training_rounds``, ``batch_size``, ``learning_rate`` ...);
        by default NetTrain's (about 5,000 batches of 64).

    Returns
    -------
    ndarray of shape (N, n), float64

    Raises
    ------
    ValueError
        For data that is not a non-empty 2-D array of finite numbers, or a bad ``n``.
    """
    A = np.asarray(backend.to_numpy(backend.as_float_array(X, name="data")), dtype=np.float64)
    if A.ndim != 2 or A.shape[0] < 1:
        raise ValueError(f"data must be a non-empty 2-D array (N, d), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("data contains NaN or infinity")
    n = _positive_int(n, "n")
    if standardize:
        sd = A.std(axis=0)
        A = (A - A.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    ae = Autoencoder(n, hidden=hidden, output=None)
    ae.fit(A.astype(np.float32), loss="MeanSquared", random_seed=random_seed, **options)
    return ae.encode(A.astype(np.float32)).astype(np.float64)


# ---------------------------------------------------------------------- the command line


def _cli_run(cls: type[_Autoencoder], **kwargs: Any) -> Any:
    """The ``netchain train --net ...`` job of an autoencoder: train on the task's training
    part, report the test reconstruction error, save."""

    def run(args: Any, task: Any, options: dict[str, Any]) -> int:
        import time

        Xtr, Xte = task.X_train, task.X_test
        unit = bool(Xtr.min() >= 0 and Xtr.max() <= 1)
        model = cls(output="LogisticSigmoid" if unit else None, **kwargs)
        print(f"data: {task.description}")
        print(f"      {len(Xtr)} training and {len(Xte)} test examples of shape {Xtr.shape[1:]}")
        start = time.perf_counter()
        model.fit(
            Xtr,
            random_seed=args.seed,
            training_progress_reporting=None if args.quiet else "ProgressBar",
            **options,
        )
        print(model.net)
        res = model.results_
        print(
            f"trained {res.rounds} rounds in {time.perf_counter() - start:.1f} s "
            f"(final loss {res.round_losses[-1]:.4f}, {res.loss})"
        )
        mse = model.reconstruction_loss(Xte)
        base = float(((Xte - Xtr.mean(axis=0)) ** 2).mean())
        print(
            f"test reconstruction error: {mse:.5f} (mean squared error per element; "
            f"the mean training example gives {base:.5f})"
        )
        out = Path(args.out or f"{args.data}-{args.net}.safetensors")
        meta = {**task.metadata, "net": args.net, "seed": args.seed, "test_mse": mse}
        model.save(out, metadata=meta)
        print(f"saved the trained {cls.kind} to {out}")
        return 0

    return run


def _cli_evaluate(cls: type[_Autoencoder]) -> Any:
    def evaluate(path: Any, meta: dict[str, Any], task: Any) -> int:
        model = cls.load(path)
        mse = model.reconstruction_loss(task.X_test)
        print(f"test reconstruction error: {mse:.5f} (mean squared error per element)")
        return 0

    return evaluate


def _register() -> None:
    from netchain.models import ModelEntry, register

    options = {"batch_size": 64, "learning_rate": 2e-3, "learning_rate_schedule": "Cosine"}
    register(
        ModelEntry(
            "autoencoder",
            "dense autoencoder: 256, Ramp, code 32 | 256, Ramp, input size, LogisticSigmoid "
            "(reports the test reconstruction error)",
            lambda shape, labels: Autoencoder(32, input_shape=shape).net,
            "vector",
            ("digits", "mnist"),
            {
                "digits": {**options, "max_training_rounds": 100},
                "mnist": {**options, "max_training_rounds": 15},
            },
            run=_cli_run(Autoencoder, k=32),
            evaluate=_cli_evaluate(Autoencoder),
        )
    )
    register(
        ModelEntry(
            "convautoencoder",
            "convolutional autoencoder: conv 16@3x3/2, conv 32@3x3/2, code 32 | transposed "
            "conv 16@4x4/2, 1@4x4/2, LogisticSigmoid (reports the test reconstruction error)",
            lambda shape, labels: ConvolutionalAutoencoder(32, input_shape=shape).net,
            "image",
            ("digits", "mnist"),
            {
                "digits": {**options, "max_training_rounds": 100},
                "mnist": {**options, "max_training_rounds": 20},
            },
            run=_cli_run(ConvolutionalAutoencoder, k=32),
            evaluate=_cli_evaluate(ConvolutionalAutoencoder),
        )
    )


_register()
