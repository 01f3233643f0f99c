"""A multi-dimensional LSTM reads MNIST digits from their four corners.

Each 28 x 28 image is averaged over 2 x 2 blocks (14 x 14); a MultidimensionalLSTMLayer with
16 units per direction scans it from each corner along anti-diagonals (27 wavefront steps, each
vectorised over the diagonal's cells, the batch and the four directions), every cell seeing
its pixel and the states of its two neighbours towards the corner; the four hidden maps (64
channels) are max-pooled 2 x 2 and a LinearLayer classifies them. Trained by NetTrain for 8
rounds on the fixed split (the first 8,000 images of the MNIST test set; the last 2,000 for
testing), saved and loaded back.

Run (about 60 s on one core)::

    OMP_NUM_THREADS=1 python examples/mdlstm_mnist.py [IMAGES.idx.gz LABELS.idx.gz]

Measured: test accuracy 0.9825. From the command line::

    netchain train --net mdlstm --data mnist --images IMAGES --labels LABELS
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from netchain import NetLoad, NetSave, NetTrain
from netchain.datasets import load_mnist
from netchain.models import mdlstm_classifier

DATA = (
    Path(
        os.environ.get("NETCHAIN_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    / "mnist"
)


def main(images: str, labels: str) -> float:
    data = load_mnist(images, labels)
    X = data.X.astype(np.float32)[:, None] / 255.0  # (N, 1, 28, 28)
    X_train, X_test, y_train, y_test = X[:8000], X[8000:], data.y[:8000], data.y[8000:]

    net = mdlstm_classifier((1, 28, 28), list(range(10)), n=16)
    print(net)
    start = time.perf_counter()
    results = NetTrain(
        net,
        (X_train, y_train),
        "All",
        max_training_rounds=8,
        batch_size=32,
        learning_rate=2e-3,
        learning_rate_schedule="Cosine",
    )
    trained = results.trained_net
    print(
        f"{results.rounds} rounds in {time.perf_counter() - start:.1f} s, final loss "
        f"{results.round_losses[-1]:.4f}"
    )
    accuracy = float(np.mean(trained(X_test) == y_test))
    print(f"test accuracy: {accuracy:.4f}")
    with tempfile.TemporaryDirectory() as folder:
        path = NetSave(trained, Path(folder) / "mdlstm.safetensors")
        assert np.array_equal(NetLoad(path)(X_test), trained(X_test))
        print(f"saved and reloaded ({path.stat().st_size / 1024:.0f} KiB): same predictions")
    return accuracy


if __name__ == "__main__":
    if len(sys.argv) == 3:
        main(sys.argv[1], sys.argv[2])
    else:
        main(str(DATA / "t10k-images-idx3-ubyte.gz"), str(DATA / "t10k-labels-idx1-ubyte.gz"))
