"""The fixed splits of the real data sets, shaped for a model's input form.

This is what ``netchain train`` / ``evaluate`` and the course tour train and test on, so that
every figure they print can be reproduced from the bundled data (digits) or the IDX files a
user points to (MNIST).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Task", "load_task"]


@dataclass
class Task:
    """A classification task with its fixed split."""

    X_train: np.ndarray
    X_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray
    labels: list[Any]
    description: str
    metadata: dict[str, Any]


def _shape_for(form: str, image: tuple[int, int]) -> tuple[int, ...]:
    h, w = image
    if form == "vector":
        return (h * w,)
    if form == "image":
        return (1, h, w)
    if form == "sequence":
        return (h, w)
    raise ValueError(f"unknown input form {form!r}")


def load_task(data: str, form: str, images: str | None = None, labels: str | None = None) -> Task:
    """Load a data set with its fixed split, shaped for a model's input form.

    digits: the bundled UCI digits, a stratified 75/25 split with seed 0, features standardised
    with the training part's mean and standard deviation. mnist: IDX files, pixels scaled to
    [0, 1], the first 80% of the file for training and the rest for testing (8,000 / 2,000 for
    the 10,000-image test set).
    """
    from netchain import datasets

    if data not in ("digits", "mnist"):
        raise ValueError(f"data must be 'digits' or 'mnist', got {data!r}")
    if data == "digits":
        ds = datasets.load_digits()
        Xtr, Xte, ytr, yte = datasets.train_test_split(ds.X, ds.y, 0.25, random_seed=0)
        Xtr, Xte = datasets.standardize(Xtr, Xte)
        shape = _shape_for(form, (8, 8))
        meta = {"data": "digits"}
        desc = "UCI digits (bundled), stratified 75/25 split, seed 0, standardised"
    elif data == "mnist":
        if not images or not labels:
            raise ValueError("--data mnist needs --images PATH and --labels PATH (IDX files)")
        ds = datasets.load_mnist(images, labels)
        X = ds.X.astype(np.float32) / 255.0
        n_train = int(round(0.8 * len(X)))
        Xtr, Xte, ytr, yte = X[:n_train], X[n_train:], ds.y[:n_train], ds.y[n_train:]
        h, w = ds.X.shape[1:]
        shape = _shape_for(form, (h, w))
        meta = {
            "data": "mnist",
            "images": str(Path(images).resolve()),
            "labels": str(Path(labels).resolve()),
        }
        desc = f"MNIST from {images}, first {n_train} / last {len(X) - n_train} split"
    else:  # pragma: no cover - checked above
        raise AssertionError(data)
    Xtr = np.ascontiguousarray(Xtr.reshape(len(Xtr), *shape), dtype=np.float32)
    Xte = np.ascontiguousarray(Xte.reshape(len(Xte), *shape), dtype=np.float32)
    labels_list = list(range(10))
    return Task(Xtr, Xte, ytr, yte, labels_list, desc, {**meta, "input_form": form})
