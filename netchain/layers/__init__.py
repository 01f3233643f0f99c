"""Layer specifications: parameters, shape inference, initialisation, and forward computations
written with :mod:`netchain.autodiff` operations. Losses are layers too."""

from netchain.layers.base import LAYER_TYPES, Context, Layer, ShapeError, format_shape
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
from netchain.layers.conv import (
    BatchNormalizationLayer,
    ConvolutionLayer,
    DeconvolutionLayer,
    FlattenLayer,
    PaddingLayer,
    PoolingLayer,
    ReshapeLayer,
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
    "BatchNormalizationLayer",
    "Context",
    "ConvolutionLayer",
    "CrossEntropyLossLayer",
    "DeconvolutionLayer",
    "DropoutLayer",
    "ElementwiseFunction",
    "ElementwiseLayer",
    "FlattenLayer",
    "Layer",
    "LinearLayer",
    "LogisticSigmoid",
    "LossLayer",
    "MeanAbsoluteLossLayer",
    "MeanSquaredLossLayer",
    "PaddingLayer",
    "PoolingLayer",
    "Ramp",
    "ReshapeLayer",
    "ShapeError",
    "SoftmaxLayer",
    "Tanh",
    "format_shape",
]
