"""Recurrent training steps: netchain against PyTorch (CPU, 2 threads, float32, same weights).

One training step (forward, cross-entropy loss, backward, Adam update) of an LSTM with 128
units on sequences of 50 steps of 32 features, batch 32, its last output classified by a
LinearLayer(10); the same with a GRU. Both sides start from the same weights and data; the
quality column is the loss of the first step on each side (equal when the two compute the same
function).

    python benchmarks/rnn.py            # both cases, 3 alternating rounds
    python benchmarks/rnn.py --case GRU
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
from _harness import Case, main, median_time  # noqa: E402

N, T, F, H, C = 32, 50, 32, 128, 10
LR = 1e-3


def _problem(kind: str) -> dict[str, np.ndarray]:
    """Data and initial weights, in PyTorch's layout, from one seed."""
    rng = np.random.default_rng(0)
    G = 4 if kind == "LSTM" else 3
    k = 1 / np.sqrt(H)
    f32 = np.float32
    return {
        "X": rng.standard_normal((N, T, F)).astype(f32),
        "y": rng.integers(0, C, N),
        "Wi": rng.uniform(-k, k, (G * H, F)).astype(f32),
        "Wh": rng.uniform(-k, k, (G * H, H)).astype(f32),
        "bi": rng.uniform(-k, k, G * H).astype(f32),
        "bh": rng.uniform(-k, k, G * H).astype(f32),
        "W": rng.uniform(-k, k, (C, H)).astype(f32),
        "b": rng.uniform(-k, k, C).astype(f32),
    }


def ours(kind: str) -> dict:
    from netchain import LinearLayer, NetChain, SoftmaxLayer
    from netchain.layers import GatedRecurrentLayer, LongShortTermMemoryLayer, SequenceLastLayer
    from netchain.train.nettrain import Trainer, make_objective
    from netchain.train.optimizers import make_optimizer

    p = _problem(kind)
    rec = LongShortTermMemoryLayer(H) if kind == "LSTM" else GatedRecurrentLayer(H)
    net = NetChain([rec, SequenceLastLayer(), LinearLayer(C), SoftmaxLayer()], input=(T, F))
    layer = net.layers[0]
    layer.set_array("InputWeights", p["Wi"])
    layer.set_array("StateWeights", p["Wh"])
    if kind == "LSTM":
        layer.set_array("Biases", p["bi"] + p["bh"])
    else:
        layer.set_array("InputBiases", p["bi"])
        layer.set_array("StateBiases", p["bh"])
    net.layers[2].set_array("Weights", p["W"])
    net.layers[2].set_array("Biases", p["b"])
    objective, targets, _ = make_objective(net, None, p["y"])
    trainer = Trainer(net, objective, make_optimizer("ADAM", 0.0, None), np.random.default_rng(0))
    first = trainer.step(p["X"], targets, LR)
    seconds = median_time(lambda: trainer.step(p["X"], targets, LR), repeats=30, warmup=3)
    return {"seconds": seconds, "quality": first}


def peer(kind: str) -> dict:
    import torch

    torch.set_num_threads(2)
    p = _problem(kind)
    rnn = (torch.nn.LSTM if kind == "LSTM" else torch.nn.GRU)(F, H, batch_first=True)
    head = torch.nn.Linear(H, C)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(p["Wi"]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(p["Wh"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(p["bi"]))
        rnn.bias_hh_l0.copy_(torch.from_numpy(p["bh"]))
        head.weight.copy_(torch.from_numpy(p["W"]))
        head.bias.copy_(torch.from_numpy(p["b"]))
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    X = torch.from_numpy(p["X"])
    y = torch.from_numpy(p["y"])

    def step() -> float:
        opt.zero_grad()
        out, _ = rnn(X)
        loss = torch.nn.functional.cross_entropy(head(out[:, -1]), y)
        loss.backward()
        opt.step()
        return float(loss)

    first = step()
    seconds = median_time(step, repeats=30, warmup=3)
    return {"seconds": seconds, "quality": first}


CASES = [
    Case(
        "LSTM(128), input 32, T=50, batch 32: one Adam step",
        lambda: ours("LSTM"),
        lambda: peer("LSTM"),
    ),
    Case(
        "GRU(128), input 32, T=50, batch 32: one Adam step",
        lambda: ours("GRU"),
        lambda: peer("GRU"),
    ),
]

if __name__ == "__main__":
    main(CASES, peer_name="PyTorch", description=__doc__.splitlines()[0])
