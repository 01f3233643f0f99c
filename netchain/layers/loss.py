"""Loss layers: ports "Input" and "Target", output "Loss" (the mean over the batch)."""

from __future__ import annotations

from typing import Any

from netchain import autodiff as ad
from netchain.autodiff import Tensor
from netchain.layers.base import Context, Layer, Shape, ShapeError, format_shape

__all__ = ["CrossEntropyLossLayer", "LossLayer", "MeanAbsoluteLossLayer", "MeanSquaredLossLayer"]


class LossLayer(Layer):
    """Base of the loss layers: ``Input`` (the net's output) and ``Target`` give ``Loss``."""

    input_ports = ("Input", "Target")
    output_ports = ("Loss",)

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        inp, tgt = input_shapes
        if tuple(inp) != tuple(tgt):
            raise ShapeError(
                f"port 'Target' expects the input's shape {format_shape(inp)}, got {format_shape(tgt)}"
            )
        return [()]

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> LossLayer:
        return cls(**cfg)

    def loss(self, output: Tensor, target: Any) -> Tensor:
        """The loss of a batch of outputs against targets (a Tensor of shape ())."""
        raise NotImplementedError

    def forward(self, arrays: dict[str, Tensor], inputs: list[Tensor], ctx: Context) -> Tensor:
        return self.loss(inputs[0], inputs[1])


class MeanSquaredLossLayer(LossLayer):
    """Mean over all elements of (input - target)^2."""

    def loss(self, output: Tensor, target: Any) -> Tensor:
        return ad.mean_squared_error(output, target)


class MeanAbsoluteLossLayer(LossLayer):
    """Mean over all elements of |input - target|."""

    def loss(self, output: Tensor, target: Any) -> Tensor:
        return ad.mean_absolute_error(output, target)


class CrossEntropyLossLayer(LossLayer):
    """Cross-entropy of predicted probabilities against targets.

    Parameters
    ----------
    target_form : {"Index", "Probabilities", "Binary"}, default "Index"
        "Index": the input is a probability vector and the target a class index;
        "Probabilities": the target is a probability vector of the input's shape;
        "Binary": input and target are probabilities of the positive class.

    Notes
    -----
    NetTrain computes this loss from the logits when the net ends in a SoftmaxLayer ("Index",
    "Probabilities") or a LogisticSigmoid ("Binary"), which is exact where the probabilities
    round to 0 or 1.

    Raises
    ------
    ValueError
        For an unknown target form.
    """

    FORMS = ("Index", "Probabilities", "Binary")

    def __init__(self, target_form: str = "Index") -> None:
        super().__init__()
        if target_form not in self.FORMS:
            raise ValueError(
                f"CrossEntropyLossLayer target form must be one of {self.FORMS}, got {target_form!r}"
            )
        self.target_form = target_form

    def config(self) -> dict[str, Any]:
        return {"target_form": self.target_form}

    def infer(self, input_shapes: list[Shape]) -> list[Shape]:
        inp, tgt = input_shapes
        if self.target_form == "Index":
            if len(inp) == 0 or tuple(tgt) != tuple(inp[:-1]):
                raise ShapeError(
                    f"port 'Target' expects class indices of shape {format_shape(inp[:-1])} for "
                    f"probabilities of shape {format_shape(inp)}, got {format_shape(tgt)}"
                )
            return [()]
        return super().infer(input_shapes)

    def loss(self, output: Tensor, target: Any) -> Tensor:
        if self.target_form == "Binary":
            return ad.binary_cross_entropy(output, target)
        return ad.cross_entropy(output, target)

    def summary(self) -> str:
        return f"CrossEntropyLossLayer[{self.target_form!r}]"
