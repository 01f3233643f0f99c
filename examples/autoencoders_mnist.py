"""Autoencoders on MNIST against principal components analysis.

A convolutional autoencoder (strided convolutions down to a 32-unit code, transposed
convolutions back up) and a dense one (784-256-32-256-784) learn to reproduce the digits of
the fixed split (the first 8,000 images of the MNIST test set for training, the last 2,000 for
testing, pixels in [0, 1]); their test reconstruction error (mean squared error per pixel) is
set against that of PCA with 32 components on the same data. The picture shows test digits,
their PCA reconstructions and both autoencoders' reconstructions; the trained nets are saved
and loaded back.

Run (about 1.5 minutes on one core of an idle machine)::

    OMP_NUM_THREADS=1 python examples/autoencoders_mnist.py [IMAGES.idx.gz LABELS.idx.gz] [--out DIR]

Without file arguments it reads ../shared/data/mnist/t10k-*-ubyte.gz next to the repository
(or under the folder named by the environment variable NETCHAIN_SHARED_DATA).
Measured: convolutional 0.0073, dense 0.0088, PCA(32) 0.0174 (44 s and 11 s of training). The same runs from the command
line::

    netchain train --net convautoencoder --data mnist --images IMAGES --labels LABELS
    netchain train --net autoencoder --data mnist --images IMAGES --labels LABELS
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from netchain.datasets import load_mnist
from netchain.ml import PCA
from netchain.models import Autoencoder, ConvolutionalAutoencoder
from netchain.plot import ImageGridPlot

DATA = (
    Path(
        os.environ.get("NETCHAIN_SHARED_DATA")
        or Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    / "mnist"
)


def main(images: str, labels: str, out: Path) -> dict[str, float]:
    data = load_mnist(images, labels)
    X = data.X.astype(np.float32)[:, None] / 255.0  # (N, 1, 28, 28)
    X_train, X_test = X[:8000], X[8000:]
    flat_train, flat_test = X_train.reshape(8000, -1), X_test.reshape(2000, -1)
    options = {"batch_size": 64, "learning_rate": 2e-3, "learning_rate_schedule": "Cosine"}

    start = time.perf_counter()
    pca = PCA(32).fit(flat_train)
    pca_rec = pca.inverse_transform(pca.transform(flat_test))
    errors = {"PCA(32)": float(np.mean((pca_rec - flat_test) ** 2))}
    print(f"PCA(32): test error {errors['PCA(32)']:.5f} ({time.perf_counter() - start:.1f} s)")

    conv = ConvolutionalAutoencoder(32)
    start = time.perf_counter()
    conv.fit(X_train, max_training_rounds=20, **options)
    errors["convolutional"] = conv.reconstruction_loss(X_test)
    print(conv.net.layers[0])
    print(conv.net.layers[1])
    print(
        f"convolutional autoencoder: test error {errors['convolutional']:.5f} "
        f"({time.perf_counter() - start:.1f} s, {conv.results_.rounds} rounds)"
    )

    dense = Autoencoder(32, hidden=(256,))
    start = time.perf_counter()
    dense.fit(flat_train, max_training_rounds=15, **options)
    errors["dense"] = dense.reconstruction_loss(flat_test)
    print(
        f"dense autoencoder:         test error {errors['dense']:.5f} "
        f"({time.perf_counter() - start:.1f} s, {dense.results_.rounds} rounds)"
    )
    for name in ("convolutional", "dense"):
        verdict = "below" if errors[name] < errors["PCA(32)"] else "NOT below"
        print(f"  {name}: {verdict} PCA(32)'s error, {errors[name] / errors['PCA(32)']:.2f} of it")

    shown = X_test[:10, 0]
    grid = np.stack(
        [
            shown,
            pca_rec[:10].reshape(10, 28, 28).clip(0, 1),
            conv.reconstruct(X_test[:10])[:, 0],
            dense.reconstruct(flat_test[:10]).reshape(10, 28, 28),
        ]
    )
    fig = ImageGridPlot(
        grid,
        row_labels=["test digits", "PCA(32)", "convolutional", "dense"],
        title="reconstructions through a 32-number code",
    )
    out.mkdir(parents=True, exist_ok=True)
    print(f"picture: {fig.save(out / 'autoencoder_reconstructions.png')}")

    with tempfile.TemporaryDirectory() as folder:
        path = conv.save(Path(folder) / "cae.safetensors")
        again = ConvolutionalAutoencoder.load(path)
        assert np.array_equal(again.encode(X_test), conv.encode(X_test))
        print(f"saved and reloaded ({path.stat().st_size / 1024:.0f} KiB): same codes")
    return errors


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
