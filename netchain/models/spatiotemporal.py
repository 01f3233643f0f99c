"""A deep spatio-temporal net: stacked convolutional LSTMs predicting the next frames of
moving-digit sequences (Moving MNIST made from the MNIST images).

The data (Srivastava, Mansimov & Salakhutdinov, 2015): two digits bounce inside a 64 x 64
frame, each moving in a straight line at its own constant speed and reflected by the edges;
where they overlap, the brighter pixel wins. A sequence has 20 frames: the first 10 are
observed, the last 10 are to be predicted.

The net (after Shi et al., 2015): each 64 x 64 frame is cut into 4 x 4 patches, giving a
(16, 16, 16) tensor (16 patch pixels as channels on a 16 x 16 grid), as Shi et al. did; a stack
of ConvolutionalLSTMLayers reads the sequence, and a 1 x 1 convolution with a sigmoid at
every step turns the last layer's states into the next frame's patches. The net sees 19 steps:
the 10 observed frames, then 9 blank (all-zero) frames, and at step t it predicts frame t + 1,
so its outputs at steps 10 to 19 are the 10 predicted frames (one stack plays the encoder on
the observed frames and the forecaster on the blank ones). It is trained on all 19
predictions with the binary cross-entropy (Shi et al.'s loss); the test error is the mean
squared error per pixel of the 10 predicted frames, against the baseline of repeating the last
observed frame (and of predicting empty frames).

References
----------
Shi, Chen, Wang, Yeung, Wong & Woo (2015), "Convolutional LSTM network: a machine learning
approach for precipitation nowcasting", NIPS; Srivastava, Mansimov & Salakhutdinov (2015),
"Unsupervised learning of video representations using LSTMs", ICML.
"""

from __future__ import annotations

import numbers
import time
from pathlib import Path
from typing import Any

import numpy as np

from netchain import backend
from netchain.layers import ConvolutionalLSTMLayer, ConvolutionLayer, ElementwiseLayer
from netchain.nets import NetChain, NetLoad, NetMapOperator, NetSave

__all__ = [
    "convlstm_predictor",
    "frame_prediction_data",
    "frame_prediction_errors",
    "from_patches",
    "moving_digits",
    "predict_frames",
    "to_patches",
]

OBSERVED = 10
FUTURE = 10
PATCH = 4


def _int(value: Any, name: str, minimum: int = 1) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def moving_digits(
    images: Any,
    n_sequences: int,
    *,
    frames: int = 20,
    size: int = 64,
    digits: int = 2,
    speed: tuple[float, float] = (2.0, 4.0),
    random_seed: Any = 1234,
) -> np.ndarray:
    """Sequences of digits bouncing in a square frame.

    Each sequence picks ``digits`` images at random, a random start position for each
    (anywhere the image fits), a direction uniform on the circle and a speed uniform in
    ``speed`` (pixels per frame). A digit moves in a straight line and is reflected by the
    frame's edges; frames take the pixelwise maximum of the digits.

    Parameters
    ----------
    images : array_like of shape (M, h, w)
        Grey-level images in [0, 1] (MNIST: 28 x 28).
    n_sequences : int
    frames : int, default 20
    size : int, default 64
        Frames are size x size (at least the images' size).
    digits : int, default 2
    speed : (float, float), default (2, 4)
    random_seed : int or numpy.random.Generator, default 1234

    Returns
    -------
    ndarray of shape (n_sequences, frames, size, size), float32

    Raises
    ------
    ValueError
        For images that are not a stack of 2-D images in [0, 1] or do not fit the frame, or
        bad counts.

    Notes
    -----
    Vectorised over the sequences: the only loops are over frames and digits.
    """
    imgs = np.asarray(backend.to_numpy(backend.as_float_array(images, name="images")))
    if imgs.ndim == 4 and imgs.shape[1] == 1:
        imgs = imgs[:, 0]
    if imgs.ndim != 3 or len(imgs) == 0:
        raise ValueError(f"images must have shape (M, h, w), got {imgs.shape}")
    if imgs.min() < 0 or imgs.max() > 1:
        raise ValueError("images must hold grey levels in [0, 1]")
    n = _int(n_sequences, "n_sequences")
    frames = _int(frames, "frames")
    digits = _int(digits, "digits")
    size = _int(size, "size")
    h, w = imgs.shape[1:]
    if h > size or w > size:
        raise ValueError(f"images of {h} x {w} do not fit frames of {size} x {size}")
    lo, hi = float(speed[0]), float(speed[1])
    if not 0 <= lo <= hi:
        raise ValueError(f"speed must be (low, high) with 0 <= low <= high, got {speed!r}")
    rng = backend.rng(random_seed)
    limit = np.array([size - h, size - w], dtype=np.float64)  # the top-left corner's range
    which = rng.integers(0, len(imgs), (n, digits))
    pos = rng.random((n, digits, 2)) * limit
    angle = rng.random((n, digits)) * 2 * np.pi
    v = np.stack([np.sin(angle), np.cos(angle)], axis=-1) * rng.uniform(lo, hi, (n, digits, 1))
    out = np.zeros((n, frames, size, size), dtype=np.float32)
    seq = np.arange(n)[:, None, None]
    rows, cols = np.arange(h), np.arange(w)
    for f in range(frames):
        for k in range(digits):
            top = np.rint(pos[:, k, 0]).astype(np.int64)
            left = np.rint(pos[:, k, 1]).astype(np.int64)
            r = (top[:, None] + rows)[:, :, None]
            c = (left[:, None] + cols)[:, None, :]
            frame = out[:, f]
            frame[seq, r, c] = np.maximum(frame[seq, r, c], imgs[which[:, k]])
        pos = pos + v
        below, above = pos < 0, pos > limit
        pos = np.where(below, -pos, np.where(above, 2 * limit - pos, pos))
        v = np.where(below | above, -v, v)
    return out


def to_patches(frames: Any, patch: int = PATCH) -> np.ndarray:
    """Cut frames (..., H, W) into patch x patch blocks: (..., patch^2, H / patch, W / patch),
    the pixels of each block as channels (row-major within the block)."""
    a = np.asarray(frames)
    *lead, H, W = a.shape
    if H % patch or W % patch:
        raise ValueError(f"frames of {H} x {W} do not divide into {patch} x {patch} patches")
    a = a.reshape(*lead, H // patch, patch, W // patch, patch)
    k = len(lead)
    a = a.transpose(*range(k), k + 1, k + 3, k, k + 2)
    return np.ascontiguousarray(a.reshape(*lead, patch * patch, H // patch, W // patch))


def from_patches(x: Any, patch: int = PATCH) -> np.ndarray:
    """The inverse of :func:`to_patches`: (..., patch^2, h, w) -> (..., h patch, w patch)."""
    a = np.asarray(x)
    *lead, C, h, w = a.shape
    if C != patch * patch:
        raise ValueError(f"{C} channels are not {patch} x {patch} patches")
    k = len(lead)
    a = a.reshape(*lead, patch, patch, h, w).transpose(*range(k), k + 2, k, k + 3, k + 1)
    return np.ascontiguousarray(a.reshape(*lead, h * patch, w * patch))


def frame_prediction_data(
    sequences: Any, observed: int = OBSERVED, patch: int = PATCH
) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets for next-frame training (see the module notes).

    Parameters
    ----------
    sequences : array_like of shape (N, F, H, W)
        F = observed + future frames.
    observed : int, default 10

    Returns
    -------
    X : ndarray of shape (N, F - 1, patch^2, H / patch, W / patch)
        Frames 1 .. observed, then F - 1 - observed blank frames.
    Y : ndarray of the same shape
        Frames 2 .. F: step t's target is frame t + 1.
    """
    S = np.asarray(sequences, dtype=np.float32)
    if S.ndim != 4 or S.shape[1] <= observed:
        raise ValueError(
            f"sequences must have shape (N, F, H, W) with more than {observed} frames, got "
            f"{S.shape}"
        )
    inp = S[:, :-1].copy()
    inp[:, observed:] = 0.0
    return to_patches(inp, patch), to_patches(S[:, 1:], patch)


def convlstm_predictor(
    frame_shape: Any = (16, 16, 16),
    hidden: Any = (32, 32),
    kernel: int = 3,
) -> NetChain:
    """Stacked ConvolutionalLSTMLayers, then at every step a 1 x 1 convolution back to the
    frame's channels and a sigmoid: sequences ("Varying", C, h, w) -> the same shape.

    Parameters
    ----------
    frame_shape : tuple (C, h, w), default (16, 16, 16)
        One frame in patches (a 64 x 64 frame in 4 x 4 patches).
    hidden : tuple of int, default (32, 32)
        Channels of each ConvolutionalLSTMLayer.
    kernel : int, default 3
    """
    C = int(frame_shape[0])
    layers: list[Any] = [ConvolutionalLSTMLayer(h, kernel) for h in hidden]
    layers += [NetMapOperator(ConvolutionLayer(C, 1)), ElementwiseLayer("LogisticSigmoid")]
    return NetChain(layers, input=("Varying", *frame_shape))


def predict_frames(
    net: NetChain,
    observed: Any,
    future: int = FUTURE,
    patch: int = PATCH,
    batch: int = 32,
) -> np.ndarray:
    """The net's predictions of the ``future`` frames after the ``observed`` ones.

    Parameters
    ----------
    net : NetChain
        A trained :func:`convlstm_predictor`.
    observed : array_like of shape (N, T, H, W)
    future : int, default 10

    Returns
    -------
    ndarray of shape (N, future, H, W)
    """
    obs = np.asarray(observed, dtype=np.float32)
    N, T = obs.shape[:2]
    blank = np.zeros((N, future - 1, *obs.shape[2:]), dtype=np.float32)
    X = to_patches(np.concatenate([obs, blank], axis=1), patch)
    out = [np.asarray(net(X[s : s + batch]))[:, T - 1 :] for s in range(0, N, batch)]
    return from_patches(np.concatenate(out), patch)


def frame_prediction_errors(
    net: NetChain, sequences: Any, observed: int = OBSERVED, patch: int = PATCH
) -> dict[str, float]:
    """Mean squared error per pixel of the predicted frames, with two baselines.

    Returns
    -------
    dict
        "ConvLSTM": the net's error; "last frame": repeating the last observed frame;
        "empty frames": predicting zeros.
    """
    S = np.asarray(sequences, dtype=np.float32)
    future = S[:, observed:]
    pred = predict_frames(net, S[:, :observed], future.shape[1], patch)
    last = S[:, observed - 1 : observed]
    return {
        "ConvLSTM": float(np.mean((pred - future) ** 2)),
        "last frame": float(np.mean((last - future) ** 2)),
        "empty frames": float(np.mean(future**2)),
    }


# ---------------------------------------------------------------------- the command line

TRAIN_SEQUENCES = 1000
TEST_SEQUENCES = 200


def _sequences(task: Any, seed: int) -> tuple[np.ndarray, np.ndarray]:
    imgs_tr = task.X_train.reshape(len(task.X_train), 28, 28)
    imgs_te = task.X_test.reshape(len(task.X_test), 28, 28)
    train = moving_digits(imgs_tr, TRAIN_SEQUENCES, random_seed=seed)
    test = moving_digits(imgs_te, TEST_SEQUENCES, random_seed=seed + 1)
    return train, test


def _run(args: Any, task: Any, options: dict[str, Any]) -> int:
    """``netchain train --net convlstm --data mnist``: moving digits made from the training
    images (1,000 sequences) and from the test images (200), next-frame training, the test
    error of the 10 predicted frames against the baselines."""
    from netchain.train import NetTrain

    if task.X_train.shape[-2:] != (28, 28):
        raise ValueError("--net convlstm makes its sequences from 28 x 28 MNIST digits")
    train, test = _sequences(task, args.seed)
    X, Y = frame_prediction_data(train)
    print(f"data: {task.description}")
    print(
        f"      {len(train)} training sequences (training digits) and {len(test)} test "
        f"sequences (test digits), 2 digits bouncing in 64 x 64, {OBSERVED} frames in, "
        f"{FUTURE} out"
    )
    net = convlstm_predictor()
    print(net)
    start = time.perf_counter()
    res = NetTrain(
        net,
        (X, Y),
        "All",
        random_seed=args.seed,
        training_progress_reporting=None if args.quiet else "ProgressBar",
        **options,
    )
    print(
        f"trained {res.rounds} rounds in {time.perf_counter() - start:.1f} s "
        f"(final loss {res.round_losses[-1]:.4f}, {res.loss})"
    )
    errors = frame_prediction_errors(res.trained_net, test)
    _print_errors(errors)
    out = Path(args.out or f"{args.data}-{args.net}.safetensors")
    meta = {**task.metadata, "net": args.net, "seed": args.seed, "test_mse": errors["ConvLSTM"]}
    NetSave(res.trained_net, out, metadata=meta)
    print(f"saved the trained net to {out}")
    return 0


def _print_errors(errors: dict[str, float]) -> None:
    print(
        f"test error of the {FUTURE} predicted frames: {errors['ConvLSTM']:.5f} (mean squared "
        f"error per pixel; repeating the last frame {errors['last frame']:.5f}, empty frames "
        f"{errors['empty frames']:.5f})"
    )


def _evaluate(path: Any, meta: dict[str, Any], task: Any) -> int:
    _, test = _sequences(task, int(meta.get("seed", 1234)))
    _print_errors(frame_prediction_errors(NetLoad(path), test))
    return 0


def _register() -> None:
    from netchain.models import ModelEntry, register

    register(
        ModelEntry(
            "convlstm",
            "ConvLSTM frame predictor: ConvolutionalLSTMLayer(32, 3) x 2 on 4 x 4 patches of "
            "64 x 64 moving-digit frames, 1 x 1 convolution, LogisticSigmoid (reports the test "
            "error of 10 predicted frames)",
            lambda shape, labels: convlstm_predictor(),
            "image",
            ("mnist",),
            {"mnist": {"max_training_rounds": 10, "batch_size": 4, "learning_rate": 2e-3}},
            run=_run,
            evaluate=_evaluate,
        )
    )


_register()
