"""NetTrain's data forms, validated once at the boundary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from netchain import backend

__all__ = ["parse_data"]


def _stack(values: Any, name: str) -> Any:
    try:
        arr = np.asarray(values)
    except ValueError as exc:
        raise ValueError(
            f"{name}: examples must all have the same shape (ragged lists?): {exc}"
        ) from None
    if arr.dtype == object:
        # object arrays come from ragged lists or mixed types; tell which
        lengths = {np.shape(v) for v in values} if isinstance(values, Sequence) else set()
        if len(lengths) > 1:
            raise ValueError(
                f"{name}: examples must all have the same shape, got shapes {sorted(lengths)[:4]}"
            )
    return arr


def parse_data(data: Any, name: str = "data") -> tuple[Any, Any]:
    """Split training data into (inputs, outputs).

    Accepted forms:

    - a dict ``{input: output, ...}`` (inputs as tuples or numbers);
    - a list of ``(input, output)`` pairs;
    - a tuple ``(X, Y)`` of arrays with one example per row;
    - a dict ``{"Input": X, "Output": Y}``.

    Returns
    -------
    X : ndarray of shape (N, ...), floating
    Y : ndarray of shape (N, ...) (numbers, or labels of any type as an object array)

    Raises
    ------
    TypeError
        For anything else.
    ValueError
        For empty data, ragged examples, NaN or infinity in the inputs, non-numeric inputs,
        or different numbers of inputs and outputs.
    """
    if isinstance(data, Mapping):
        if "Input" in data and "Output" in data and len(data) == 2:
            X, Y = data["Input"], data["Output"]
        else:
            X, Y = list(data.keys()), list(data.values())
    elif isinstance(data, tuple) and len(data) == 2:
        X, Y = data
    elif isinstance(data, list):
        bad = next(
            (i for i, d in enumerate(data) if not (isinstance(d, tuple | list) and len(d) == 2)),
            None,
        )
        if bad is not None:
            raise TypeError(
                f"{name}: a list must hold (input, output) pairs; element {bad} is {data[bad]!r}"
            )
        X = [d[0] for d in data]
        Y = [d[1] for d in data]
    else:
        raise TypeError(
            f"{name} must be a dict {{input: output}}, a list of (input, output) pairs, a tuple "
            f"(X, Y) or {{'Input': X, 'Output': Y}}, got {type(data).__name__}"
        )
    Xa = _stack(X, f"{name} inputs")
    if Xa.dtype.kind not in "fiub":
        raise TypeError(f"{name}: inputs must be numbers, got dtype {Xa.dtype}")
    Xa = backend.as_float_array(Xa, name=f"{name} inputs")
    if Xa.ndim == 0:
        raise ValueError(f"{name}: inputs must have one example per row, got a single number")
    Ya = Y if isinstance(Y, np.ndarray) else _stack(Y, f"{name} outputs")
    if len(Xa) == 0:
        raise ValueError(f"{name} is empty: at least one example is needed")
    if Ya.ndim == 0 or len(Ya) != len(Xa):
        raise ValueError(
            f"{name}: {len(Xa)} inputs but {Ya.size if Ya.ndim == 0 else len(Ya)} outputs"
        )
    if not np.isfinite(backend.to_numpy(Xa)).all():
        raise ValueError(f"{name}: inputs contain NaN or infinity")
    if Ya.dtype.kind == "f" and not np.isfinite(Ya).all():
        raise ValueError(f"{name}: outputs contain NaN or infinity")
    return Xa, Ya
