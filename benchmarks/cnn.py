"""Convolutional nets: netchain against PyTorch 2.13 on the CPU (2 threads, float32, same weights).

Rows (the goal is a ratio netchain / PyTorch <= 1.5, stretch <= 1.0):

- LeNet-5 training step: one step (forward, cross-entropy, backward, Adam update) at batch 64
  on 1x28x28 inputs; netchain times ``Trainer.step``, exactly what NetTrain runs per batch.
  Quality: the loss of the first step on the same batch and weights (equal up to float32
  rounding if both compute the same thing).
- conv 3x3 forward + backward: N=64, C=16, 28x28, 32 filters 3x3, padding 1, gradients for
  the input, the weights and the biases. Quality: the sum of the weight gradient.
- 2x2 max pooling forward + backward on that convolution's output shape (64, 32, 28, 28).
  Quality: the sum of the input gradient (each window passes on exactly its upstream value).
- The same convolution and pooling forward only (no gradient recording), for reference.

Run: ``python benchmarks/cnn.py`` (about two minutes); ``--case pool`` runs matching rows.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from _harness import Case, main, median_time  # noqa: E402

BATCH = 64
SEED = 0


def _lenet_arrays() -> tuple[dict, np.ndarray, np.ndarray]:
    """LeNet-5 weights (netchain's Kaiming initialisation), one batch of inputs and labels."""
    from netchain.models import lenet
    from netchain.nets import NetInitialize, leaf_layers

    net = NetInitialize(lenet((1, 28, 28)), random_seed=SEED)
    arrays = {
        path: {k: v.copy() for k, v in layer.arrays.items() if v is not None}
        for path, layer in leaf_layers(net)
        if any(v is not None for v in layer.arrays.values())
    }
    rng = np.random.default_rng(SEED)
    X = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH)
    return arrays, X, y


def lenet_ours() -> dict:
    from netchain.models import lenet
    from netchain.nets import NetInitialize
    from netchain.train import Trainer, make_optimizer
    from netchain.train.nettrain import make_objective

    net = NetInitialize(lenet((1, 28, 28)), random_seed=SEED)
    _, X, y = _lenet_arrays()
    objective, T, _ = make_objective(net, None, y)
    trainer = Trainer(net, objective, make_optimizer("ADAM", 0.0, None), np.random.default_rng(0))
    first = trainer.step(X, T, 1e-3)
    seconds = median_time(lambda: trainer.step(X, T, 1e-3), repeats=60, warmup=10)
    return {"seconds": seconds, "quality": first}


def _torch():
    import torch

    torch.set_num_threads(2)
    return torch


def lenet_peer() -> dict:
    torch = _torch()
    nn = torch.nn
    arrays, X, y = _lenet_arrays()
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )
    trainable = [m for m in model if isinstance(m, nn.Conv2d | nn.Linear)]
    with torch.no_grad():
        for module, (_, arr) in zip(trainable, sorted(arrays.items())):
            module.weight.copy_(torch.from_numpy(arr["Weights"]))
            module.bias.copy_(torch.from_numpy(arr["Biases"]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    xb, yb = torch.from_numpy(X), torch.from_numpy(y)

    def step() -> float:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        return float(loss)

    first = step()
    seconds = median_time(step, repeats=60, warmup=10)
    return {"seconds": seconds, "quality": first}


def _conv_data() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((BATCH, 16, 28, 28), dtype=np.float32)
    w = (rng.standard_normal((32, 16, 3, 3)) * 0.1).astype(np.float32)
    b = rng.standard_normal(32).astype(np.float32)
    g = rng.standard_normal((BATCH, 32, 28, 28), dtype=np.float32)
    return x, w, b, g


def conv_ours() -> dict:
    from netchain.autodiff import Tensor, convolution

    x, w, b, g = _conv_data()
    tx, tw, tb = (Tensor(a, requires_grad=True) for a in (x, w, b))

    def run() -> None:
        tx.grad = tw.grad = tb.grad = None
        convolution(tx, tw, tb, padding=1).backward(g)

    seconds = median_time(run)
    return {"seconds": seconds, "quality": float(tw.grad.sum())}


def conv_peer() -> dict:
    torch = _torch()
    x, w, b, g = (torch.from_numpy(a) for a in _conv_data())
    x.requires_grad_(True)
    w.requires_grad_(True)
    b.requires_grad_(True)

    def run() -> None:
        x.grad = w.grad = b.grad = None
        torch.nn.functional.conv2d(x, w, b, padding=1).backward(g)

    seconds = median_time(run)
    return {"seconds": seconds, "quality": float(w.grad.sum())}


def conv_forward_ours() -> dict:
    from netchain.autodiff import convolution, no_grad

    x, w, b, _ = _conv_data()
    with no_grad():
        seconds = median_time(lambda: convolution(x, w, b, padding=1))
        total = float(convolution(x, w, b, padding=1).data.sum())
    return {"seconds": seconds, "quality": total}


def conv_forward_peer() -> dict:
    torch = _torch()
    x, w, b, _ = (torch.from_numpy(a) for a in _conv_data())
    with torch.no_grad():
        seconds = median_time(lambda: torch.nn.functional.conv2d(x, w, b, padding=1))
        total = float(torch.nn.functional.conv2d(x, w, b, padding=1).sum())
    return {"seconds": seconds, "quality": total}


def _pool_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((BATCH, 32, 28, 28), dtype=np.float32)
    g = rng.standard_normal((BATCH, 32, 14, 14), dtype=np.float32)
    return x, g


def pool_ours() -> dict:
    from netchain.autodiff import Tensor, pooling

    x, g = _pool_data()
    tx = Tensor(x, requires_grad=True)

    def run() -> None:
        tx.grad = None
        pooling(tx, 2).backward(g)

    seconds = median_time(run)
    return {"seconds": seconds, "quality": float(tx.grad.sum())}


def pool_peer() -> dict:
    torch = _torch()
    x, g = (torch.from_numpy(a) for a in _pool_data())
    x.requires_grad_(True)

    def run() -> None:
        x.grad = None
        torch.nn.functional.max_pool2d(x, 2).backward(g)

    seconds = median_time(run)
    return {"seconds": seconds, "quality": float(x.grad.sum())}


def pool_forward_ours() -> dict:
    from netchain.autodiff import no_grad, pooling

    x, _ = _pool_data()
    with no_grad():
        seconds = median_time(lambda: pooling(x, 2))
        total = float(pooling(x, 2).data.sum())
    return {"seconds": seconds, "quality": total}


def pool_forward_peer() -> dict:
    torch = _torch()
    x, _ = (torch.from_numpy(a) for a in _pool_data())
    with torch.no_grad():
        seconds = median_time(lambda: torch.nn.functional.max_pool2d(x, 2))
        total = float(torch.nn.functional.max_pool2d(x, 2).sum())
    return {"seconds": seconds, "quality": total}


CASES = [
    Case("LeNet-5 training step, batch 64", lenet_ours, lenet_peer),
    Case("conv 16->32 3x3 pad 1, 64x28x28, forward + backward", conv_ours, conv_peer),
    Case("max pool 2x2, 64x32x28x28, forward + backward", pool_ours, pool_peer),
    Case("conv 16->32 3x3 pad 1, 64x28x28, forward only", conv_forward_ours, conv_forward_peer),
    Case("max pool 2x2, 64x32x28x28, forward only", pool_forward_ours, pool_forward_peer),
]

if __name__ == "__main__":
    main(CASES, peer_name="PyTorch", description=__doc__.splitlines()[0])
