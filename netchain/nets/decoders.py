"""Output decoders: turning a net's output arrays into decisions (Wolfram's NetDecoder)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from netchain.backend import to_numpy

__all__ = ["NetDecoder"]


def _json_label(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool | int | float | str) or v is None:
        return v
    if isinstance(v, tuple):
        return {"tuple": [_json_label(x) for x in v]}
    raise TypeError(
        f"class label {v!r} cannot be saved: use str, int, float, bool or tuples of them"
    )


def _label_from_json(v: Any) -> Any:
    if isinstance(v, dict) and "tuple" in v:
        return tuple(_label_from_json(x) for x in v["tuple"])
    return v


class NetDecoder:
    """Interprets a net's output.

    Parameters
    ----------
    kind : {"Class", "Scalar"}
        "Class": the output is a probability vector over ``labels``; the net gives the most
        probable label, or with ``"Probabilities"`` a mapping from label to probability.
        "Scalar": a length-1 output vector is given as a number.
    labels : sequence of hashable, required for "Class"
        The class labels, in the order of the output vector (distinct; any hashable values).

    Raises
    ------
    ValueError
        For an unknown kind, missing, repeated or empty labels.
    """

    KINDS = ("Class", "Scalar")

    def __init__(self, kind: str = "Class", labels: Sequence[Any] | None = None) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"NetDecoder kind must be one of {self.KINDS}, got {kind!r}")
        self.kind = kind
        if kind == "Class":
            if labels is None or isinstance(labels, str):
                raise ValueError("NetDecoder('Class', labels) needs a sequence of class labels")
            labels = [x.item() if isinstance(x, np.generic) else x for x in labels]
            if len(labels) < 1:
                raise ValueError("NetDecoder('Class', labels): labels must not be empty")
            try:
                index = {lab: i for i, lab in enumerate(labels)}
            except TypeError:
                raise TypeError("NetDecoder labels must be hashable") from None
            if len(index) != len(labels):
                raise ValueError("NetDecoder labels must be distinct")
            self.labels = list(labels)
            self.index = index
            kinds = {type(v) for v in self.labels}
            # one plain type (ints, strings ...): decisions for a batch come as a NumPy array
            self._array = (
                np.asarray(self.labels)
                if len(kinds) == 1 and kinds <= {int, float, str, bool}
                else None
            )
        else:
            self.labels = None
            self.index = {}
            self._array = None

    @property
    def size(self) -> int | None:
        """The length of output vector this decoder expects."""
        return len(self.labels) if self.kind == "Class" else 1

    def encode(self, targets: Any, name: str = "targets") -> Any:
        """Class labels to indices (int64).

        Raises
        ------
        ValueError
            Naming the first label the decoder does not know.
        """
        out = np.empty(len(targets), dtype=np.int64)
        for i, t in enumerate(targets):
            key = t.item() if isinstance(t, np.generic) else t
            if isinstance(key, list):
                key = tuple(key)
            try:
                out[i] = self.index[key]
            except (KeyError, TypeError):
                raise ValueError(
                    f"{name}: label {key!r} is not one of the decoder's labels {self.labels}"
                ) from None
        return out

    def decode(self, output: Any, prop: str | None, single: bool) -> Any:
        """Decode a batch of outputs; ``single`` unwraps the one example."""
        out = to_numpy(output)
        if self.kind == "Scalar":
            vals = out.reshape(len(out))
            return float(vals[0]) if single else vals
        if prop in (None, "Decision"):
            idx = out.argmax(axis=-1)
            if single:
                return self.labels[int(idx[0])]
            if self._array is not None:
                return self._array[idx]
            return [self.labels[i] for i in idx]
        if prop == "Probabilities":
            rows = [{lab: float(p) for lab, p in zip(self.labels, row)} for row in out]
            return rows[0] if single else rows
        if prop == "TopProbabilities":
            rows = [
                sorted(((lab, float(p)) for lab, p in zip(self.labels, row)), key=lambda t: -t[1])
                for row in out
            ]
            return rows[0] if single else rows
        raise ValueError(
            f"unknown property {prop!r}; use 'Decision', 'Probabilities' or 'TopProbabilities'"
        )

    def config(self) -> dict[str, Any]:
        cfg: dict[str, Any] = {"kind": self.kind}
        if self.kind == "Class":
            cfg["labels"] = [_json_label(v) for v in self.labels]
        return cfg

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> NetDecoder:
        labels = cfg.get("labels")
        if labels is not None:
            labels = [_label_from_json(v) for v in labels]
        return cls(cfg["kind"], labels)

    def __repr__(self) -> str:
        if self.kind == "Class":
            shown = self.labels if len(self.labels) <= 6 else [*self.labels[:5], "..."]
            return f"NetDecoder('Class', {shown})"
        return f"NetDecoder({self.kind!r})"
