"""Layer specifications: parameters, shape inference, initialisation, and forward computations
written with :mod:`netchain.autodiff` operations. Losses are layers too."""

from netchain.layers.base import (
    LAYER_TYPES,
    Context,
    Layer,
    ShapeError,
    format_shape,
    shape_argument,
)
from netchain.layers.basic import (
    ELEMENTWISE_FUNCTIONS,
    DropoutLayer,
    ElementwiseFunction,
    ElementwiseLayer,
    LinearLayer,
    LogisticSigmoid,
    Ramp,
    SoftmaxLayer,
    Tanh,
)
from netchain.layers.loss import (
    CrossEntropyLossLayer,
    LossLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
)

__all__ = [
    "ELEMENTWISE_FUNCTIONS",
    "LAYER_TYPES",
    "Context",
    "CrossEntropyLossLayer",
    "DropoutLayer",
    "ElementwiseFunction",
    "ElementwiseLayer",
    "Layer",
    "LinearLayer",
    "LogisticSigmoid",
    "LossLayer",
    "MeanAbsoluteLossLayer",
    "MeanSquaredLossLayer",
    "Ramp",
    "ShapeError",
    "SoftmaxLayer",
    "Tanh",
    "format_shape",
    "shape_argument",
]
