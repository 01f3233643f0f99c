"""LeNet-5 on MNIST: build the net, show its layer table, train it for 10 rounds and report the
test accuracy on the fixed split (the first 8,000 images of the MNIST test set for training,
the last 2,000 for testing), then save it and load it back.

Shows: ConvolutionLayer, PoolingLayer, FlattenLayer and shape inference (the table prints each
layer's output shape), NetTrain on images, NetSave / NetLoad.

Run (about 15 s on an idle two-core machine; a busy one can make the two BLAS threads
wait for each other for far longer, and OMP_NUM_THREADS=1 is then faster)::

    python examples/lenet_mnist.py [IMAGES.idx.gz LABELS.idx.gz]

Without arguments it reads ../shared/data/mnist/t10k-*-ubyte.gz next to the repository. It
reaches about 0.985 test accuracy. The same run from the command line::

    netchain train --net lenet --data mnist --images IMAGES --labels LABELS
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from netchain import NetLoad, NetSave, NetTrain
from netchain.datasets import load_mnist
from netchain.models import lenet

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def main(images: str, labels: str) -> float:
    data = load_mnist(images, labels)
    X = data.X.astype(np.float32)[:, None] / 255.0  # (N, 1, 28, 28): channels first
    X_train, X_test = X[:8000], X[8000:]
    y_train, y_test = data.y[:8000], data.y[8000:]

    net = lenet((1, 28, 28), labels=list(range(10)))
    print(net)

    start = time.perf_counter()
    results = NetTrain(
        net,
        (X_train, y_train),
        "All",
        max_training_rounds=10,
        batch_size=64,
        learning_rate=1e-3,
        random_seed=1234,
    )
    trained = results.trained_net
    print(
        f"{results.rounds} rounds in {time.perf_counter() - start:.1f} s, final loss "
        f"{results.round_losses[-1]:.4f}"
    )

    accuracy = float(np.mean(trained(X_test) == y_test))
    print(f"test accuracy: {accuracy:.4f}")

    with tempfile.TemporaryDirectory() as folder:
        path = NetSave(trained, Path(folder) / "lenet.safetensors")
        again = NetLoad(path)
        assert np.array_equal(again(X_test), trained(X_test))
        print(f"saved and reloaded ({path.stat().st_size / 1024:.0f} KiB): same predictions")
    return accuracy


if __name__ == "__main__":
    if len(sys.argv) == 3:
        main(sys.argv[1], sys.argv[2])
    else:
        main(str(DATA / "t10k-images-idx3-ubyte.gz"), str(DATA / "t10k-labels-idx1-ubyte.gz"))
