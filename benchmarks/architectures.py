"""The course's other architectures: one training step of netchain against PyTorch 2.13 on the
CPU (float32, the same weights and data on both sides), where PyTorch has an equivalent.

Rows (the goal is a ratio netchain / PyTorch <= 1.5):

- dense autoencoder 784-256-32-256-784 (Ramp, sigmoid output), batch 64: forward, binary
  cross-entropy from the logits against the input, backward, Adam update. netchain times
  ``Trainer.step`` (what NetTrain runs per batch) of ``Autoencoder(32)``'s net; PyTorch an
  ``nn.Sequential`` with ``BCEWithLogitsLoss``.
- convolutional autoencoder (``ConvolutionalAutoencoder(32)``: conv 16@3x3/2, conv 32@3x3/2,
  code 32, transposed conv 16@4x4/2 and 1@4x4/2), batch 64 of 1x28x28, the same step.
- ConvLSTM frame predictor (``convlstm_predictor()``: two ConvolutionalLSTMLayer(32, 3) on
  sequences of 19 frames of 16x16x16, a 1x1 convolution per step, sigmoid output), batch 16,
  the same step. PyTorch has no ConvLSTM; its side is the usual cell loop (the input
  convolution of all steps at once, then per step the state convolution and the gates, as
  netchain computes it).

The quality column is the loss of the first step on each side (equal up to float32 rounding
when both compute the same function). RBMs, deep belief nets and the multi-dimensional LSTM
have no PyTorch counterpart and are not timed here.

Run: ``python benchmarks/architectures.py`` (about three minutes); ``--case ConvLSTM`` runs
matching rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from _harness import Case, main, median_time  # noqa: E402

SEED = 0
LR = 1e-3


# ---------------------------------------------------------------------- the nets and data


def _net(kind: str):
    from netchain.models import Autoencoder, ConvolutionalAutoencoder, convlstm_predictor
    from netchain.nets import NetInitialize

    if kind == "dense":
        net = Autoencoder(32, hidden=(256,), input_shape=(784,)).net
    elif kind == "conv":
        net = ConvolutionalAutoencoder(32, input_shape=(1, 28, 28)).net
    else:
        net = NetInitialize(convlstm_predictor(), input=(19, 16, 16, 16), random_seed=SEED)
    return NetInitialize(net, random_seed=SEED)


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    if kind == "dense":
        X = rng.random((64, 784), dtype=np.float32)
        return X, X
    if kind == "conv":
        X = rng.random((64, 1, 28, 28), dtype=np.float32)
        return X, X
    X = rng.random((16, 19, 16, 16, 16), dtype=np.float32)
    Y = rng.random((16, 19, 16, 16, 16), dtype=np.float32)
    return X, Y


def _arrays(kind: str) -> list[dict]:
    """The arrays of the netchain net's parametric layers, in order."""
    from netchain.nets import leaf_layers

    return [
        {k: v.copy() for k, v in layer.arrays.items() if v is not None}
        for _, layer in leaf_layers(_net(kind))
        if any(v is not None for v in layer.arrays.values())
    ]


def ours(kind: str) -> dict:
    from netchain.train import Trainer, make_optimizer
    from netchain.train.nettrain import make_objective

    net = _net(kind)
    X, Y = _data(kind)
    objective, T, _ = make_objective(net, None, Y)
    trainer = Trainer(net, objective, make_optimizer("ADAM", 0.0, None), np.random.default_rng(0))
    first = trainer.step(X, T, LR)
    repeats = 8 if kind == "convlstm" else 40
    seconds = median_time(lambda: trainer.step(X, T, LR), repeats=repeats, warmup=2)
    return {"seconds": seconds, "quality": first}


# ---------------------------------------------------------------------- PyTorch


def _torch():
    import torch

    torch.set_num_threads(2)
    return torch


def _load(torch, modules, arrays) -> None:
    with torch.no_grad():
        for m, arr in zip(modules, arrays):
            m.weight.copy_(torch.from_numpy(arr["Weights"]))
            m.bias.copy_(torch.from_numpy(arr["Biases"]))


def _train_step(torch, model_fn, params, X, Y):
    opt = torch.optim.Adam(params, lr=LR)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    xb, yb = torch.from_numpy(X), torch.from_numpy(Y)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model_fn(xb), yb)
        loss.backward()
        opt.step()
        return float(loss.detach())

    return step


def peer(kind: str) -> dict:
    torch = _torch()
    nn = torch.nn
    arrays = _arrays(kind)
    X, Y = _data(kind)
    if kind == "dense":
        model = nn.Sequential(
            nn.Linear(784, 256),
            nn.ReLU(),
            nn.Linear(256, 32),
            nn.Linear(32, 256),
            nn.ReLU(),
            nn.Linear(256, 784),
        )
        _load(torch, [m for m in model if isinstance(m, nn.Linear)], arrays)
        step = _train_step(torch, model, model.parameters(), X, Y)
    elif kind == "conv":
        model = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * 7 * 7, 32),
            nn.Linear(32, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1),
        )
        trainable = [m for m in model if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear)]
        _load(torch, trainable, arrays)
        step = _train_step(torch, model, model.parameters(), X, Y)
    else:
        F = nn.functional
        params = []
        layers = []
        for arr in arrays[:2]:
            wx, wh, b = (
                torch.tensor(arr[k], requires_grad=True)
                for k in ("InputWeights", "StateWeights", "Biases")
            )
            layers.append((wx, wh, b))
            params += [wx, wh, b]
        w1 = torch.tensor(arrays[2]["Weights"], requires_grad=True)
        b1 = torch.tensor(arrays[2]["Biases"], requires_grad=True)
        params += [w1, b1]

        def convlstm(x, wx, wh, b):
            N, T = x.shape[:2]
            a_in = F.conv2d(x.reshape(N * T, *x.shape[2:]), wx, b, padding=1)
            a_in = a_in.reshape(N, T, *a_in.shape[1:])
            h = c = None
            outs = []
            for t in range(T):
                a = a_in[:, t] if h is None else a_in[:, t] + F.conv2d(h, wh, padding=1)
                i, f, g, o = a.chunk(4, dim=1)
                ig, g = torch.sigmoid(i), torch.tanh(g)
                c = ig * g if c is None else torch.sigmoid(f) * c + ig * g
                h = torch.sigmoid(o) * torch.tanh(c)
                outs.append(h)
            return torch.stack(outs, dim=1)

        def model(x):
            for wx, wh, b in layers:
                x = convlstm(x, wx, wh, b)
            N, T = x.shape[:2]
            z = F.conv2d(x.reshape(N * T, *x.shape[2:]), w1, b1)
            return z.reshape(N, T, *z.shape[1:])

        step = _train_step(torch, model, params, X, Y)
    first = step()
    repeats = 8 if kind == "convlstm" else 40
    seconds = median_time(step, repeats=repeats, warmup=2)
    return {"seconds": seconds, "quality": first}


CASES = [
    Case(
        "dense autoencoder 784-256-32, batch 64: one Adam step",
        lambda: ours("dense"),
        lambda: peer("dense"),
    ),
    Case(
        "conv autoencoder 1x28x28, code 32, batch 64: one Adam step",
        lambda: ours("conv"),
        lambda: peer("conv"),
    ),
    Case(
        "ConvLSTM(32,3) x 2, 19 frames of 16x16x16, batch 16: one Adam step",
        lambda: ours("convlstm"),
        lambda: peer("convlstm"),
    ),
]

if __name__ == "__main__":
    main(CASES, peer_name="PyTorch", description=__doc__.splitlines()[0])
