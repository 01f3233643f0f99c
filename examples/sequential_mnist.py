"""Sequential MNIST: an LSTM reads each 28x28 image as 28 steps of 28 pixels (one row a step)
and classifies it from its last state.

Data: the MNIST test set in ../shared/data/mnist (IDX files), split as everywhere in netchain:
the first 8,000 images for training, the last 2,000 for testing. Net: LongShortTermMemoryLayer(128),
SequenceLastLayer, LinearLayer(10), SoftmaxLayer; Adam, 15 rounds, batch 64, learning rate 2e-3
with a cosine schedule. Expect a test accuracy of about 0.975 in roughly a minute on two cores
(the same as ``netchain train --net lstm --data mnist --images ... --labels ...``).

    python examples/sequential_mnist.py [IMAGES LABELS]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from netchain import NetTrain
from netchain.datasets import load_mnist
from netchain.models import lstm_classifier

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def main() -> None:
    images = sys.argv[1] if len(sys.argv) > 2 else DATA / "t10k-images-idx3-ubyte.gz"
    labels = sys.argv[2] if len(sys.argv) > 2 else DATA / "t10k-labels-idx1-ubyte.gz"
    ds = load_mnist(images, labels)
    X = ds.X.astype(np.float32) / 255.0  # (N, 28, 28): 28 steps of 28 features
    Xtr, Xte, ytr, yte = X[:8000], X[8000:], ds.y[:8000], ds.y[8000:]
    net = lstm_classifier((28, 28), list(range(10)), 128)
    print(net)
    t0 = time.perf_counter()
    trained = NetTrain(
        net,
        (Xtr, ytr),
        max_training_rounds=15,
        batch_size=64,
        learning_rate=2e-3,
        learning_rate_schedule="Cosine",
    )
    accuracy = float(np.mean(np.asarray(trained(Xte)) == yte))
    print(
        f"trained in {time.perf_counter() - t0:.1f} s; test accuracy {accuracy:.4f} on 2,000 images"
    )
    # what the LSTM has seen after each row of one test image: the class probabilities of
    # the prefix (the net takes sequences of any length up to 28 as a padded batch)
    prefixes = [Xte[0][:k] for k in (7, 14, 21, 28)]
    for k, probs in zip((7, 14, 21, 28), trained(prefixes, "Probabilities")):
        best = max(probs, key=probs.get)
        print(f"after {k:2d} rows: {best} with probability {probs[best]:.2f} (label {yte[0]})")


if __name__ == "__main__":
    main()
