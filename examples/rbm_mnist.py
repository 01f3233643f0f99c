"""A restricted Boltzmann machine on binarised MNIST: training by contrastive divergence,
the pseudo-log-likelihood rising round by round, and samples drawn by 1,000 steps of Gibbs
sampling from a start that holds nothing of any digit.

128 binary hidden units, 784 binary visible units (the first 8,000 images of the MNIST test
set, pixels above 0.5 set to 1), CD-10 with learning rate 0.05 and momentum 0.5 for 15 rounds.
The pseudo-log-likelihood sum_i log p(v_i | v_-i) of 500 held-out images (the last 2,000 of
the file) is printed after every round. Then 30 chains start from independent pixels with
the visible biases' probabilities and run 1,000 Gibbs steps; the picture shows p(v | h) at
their last step (they look like handwritten 0s, 3s, 4s, 5s, 7s, 8s and 9s), with the learned
weights of 30 hidden units (detectors of strokes and parts of digits) below them. The machine is saved and reloaded.

Run (about 25 s on one core)::

    OMP_NUM_THREADS=1 python examples/rbm_mnist.py [IMAGES.idx.gz LABELS.idx.gz] [--out DIR]

Measured: -159.3 nats after the first round, -95.9 after the fifteenth (500 test images),
rising in every round; -90.0 on all 2,000 test images.
From the command line: ``netchain train --net rbm --data mnist --images ... --labels ...``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from netchain.datasets import load_mnist
from netchain.models import RestrictedBoltzmannMachine
from netchain.plot import ImageGridPlot

DATA = (
    Path(
        os.environ.get("NETCHAIN_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    / "mnist"
)


def main(images: str, labels: str, out: Path) -> list[float]:
    data = load_mnist(images, labels)
    X = (data.X.reshape(len(data.X), -1) > 127).astype(np.float32)
    X_train, X_test = X[:8000], X[8000:]

    rbm = RestrictedBoltzmannMachine(128, k=10, learning_rate=0.05, max_training_rounds=15)
    start = time.perf_counter()

    def report(info: dict) -> None:
        print(
            f"round {info['round']:2d}: pseudo-log-likelihood {info['pseudo_log_likelihood']:8.2f} "
            f"nats per test image ({time.perf_counter() - start:.1f} s)"
        )

    rbm.fit(X_train, monitor=X_test[:500], progress=report)
    pll = rbm.pseudo_log_likelihoods_
    rising = sum(b > a for a, b in zip(pll, pll[1:]))
    print(f"the pseudo-log-likelihood rose in {rising} of {len(pll) - 1} rounds")
    print(f"all 2,000 test images: {rbm.pseudo_log_likelihood(X_test):.2f} nats per image")

    start = time.perf_counter()
    samples = rbm.sample(30, 1000, random_seed=0)
    print(f"30 chains of 1,000 Gibbs steps in {time.perf_counter() - start:.1f} s")
    W = rbm.weights_[:30]
    filters = (W - W.min(axis=1, keepdims=True)) / np.ptp(W, axis=1, keepdims=True)
    grid = np.concatenate([samples.reshape(3, 10, 28, 28), filters.reshape(3, 10, 28, 28)])
    fig = ImageGridPlot(
        grid,
        row_labels=["samples", "", "", "weights", "", ""],
        title="RBM, 128 hidden units: samples after 1,000 Gibbs steps; weights of 30 units",
    )
    out.mkdir(parents=True, exist_ok=True)
    print(f"picture: {fig.save(out / 'rbm_samples.png')}")

    with tempfile.TemporaryDirectory() as folder:
        path = rbm.save(Path(folder) / "rbm.safetensors")
        again = RestrictedBoltzmannMachine.load(path)
        assert np.array_equal(again.free_energy(X_test), rbm.free_energy(X_test))
        print(f"saved and reloaded ({path.stat().st_size / 1024:.0f} KiB): same free energies")
    return pll


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="IDX images and labels")
    parser.add_argument("--out", default=".", help="folder for the picture")
    args = parser.parse_args()
    files = args.files or [
        str(DATA / "t10k-images-idx3-ubyte.gz"),
        str(DATA / "t10k-labels-idx1-ubyte.gz"),
    ]
    main(files[0], files[1], Path(args.out))
