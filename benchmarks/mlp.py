"""One training step of an MLP, netchain against PyTorch 2.13 on the CPU (2 threads, float32).

The MLP is 784-256-128-10 with ReLU, softmax cross-entropy and Adam (lr 0.001), from the same
initial weights on both sides; a step is forward, loss, backward and update (for netchain,
exactly what NetTrain does per batch: ``netchain.train.Trainer.step``). Also the XOR net
2-16-1 (Ramp, mean squared error, Adam) on its full batch of 4.

    python benchmarks/mlp.py            # the whole table (about a minute)
    python benchmarks/mlp.py --case 128 # one row
"""

from __future__ import annotations

import numpy as np
from _harness import Case, main, median_time

SIZES = (784, 256, 128, 10)
XOR_SIZES = (2, 16, 1)


def _weights(sizes: tuple[int, ...], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        W = (rng.standard_normal((n, m)) * np.sqrt(2.0 / m)).astype(np.float32)
        b = (rng.standard_normal(n) * 0.01).astype(np.float32)
        out.append((W, b))
    return out


def _data(batch: int, sizes: tuple[int, ...], classes: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    if classes:
        y = rng.integers(0, sizes[-1], batch)
    else:
        y = rng.integers(0, 2, (batch, 1)).astype(np.float32)
    return X, y


def _repeats(batch: int) -> int:
    return 300 if batch <= 32 else (100 if batch <= 128 else 30)


def ours(batch: int, sizes: tuple[int, ...] = SIZES, classes: bool = True) -> dict:
    from netchain import LinearLayer, NetChain, Ramp, SoftmaxLayer
    from netchain.train import ADAM, Trainer
    from netchain.train.nettrain import make_objective

    layers = []
    for i, (W, b) in enumerate(_weights(sizes)):
        layers.append(LinearLayer(weights=W, biases=b))
        if i < len(sizes) - 2:
            layers.append(Ramp)
    if classes:
        layers.append(SoftmaxLayer())
    net = NetChain(layers, input=sizes[0])
    X, y = _data(batch, sizes, classes)
    objective, T, _ = make_objective(net, None, y)
    trainer = Trainer(net, objective, ADAM(), np.random.default_rng(0))
    seconds = median_time(lambda: trainer.step(X, T, 1e-3), repeats=_repeats(batch), warmup=10)
    return {"seconds": seconds}


def peer(batch: int, sizes: tuple[int, ...] = SIZES, classes: bool = True) -> dict:
    import torch

    torch.set_num_threads(2)
    mods = []
    for i, (W, b) in enumerate(_weights(sizes)):
        lin = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*mods)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss() if classes else torch.nn.MSELoss()
    X, y = _data(batch, sizes, classes)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(Xt), yt)
        loss.backward()
        opt.step()

    return {"seconds": median_time(step, repeats=_repeats(batch), warmup=10)}


CASES = [
    Case(f"MLP 784-256-128-10, batch {b}", lambda b=b: ours(b), lambda b=b: peer(b))
    for b in (1, 32, 128, 1024)
] + [
    Case(
        "XOR 2-16-1, batch 4",
        lambda: ours(4, XOR_SIZES, classes=False),
        lambda: peer(4, XOR_SIZES, classes=False),
    )
]

if __name__ == "__main__":
    main(CASES, peer_name="PyTorch", description=__doc__.splitlines()[0])
