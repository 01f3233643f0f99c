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
from netchain.layers.recurrent import (
    BasicRecurrentLayer,
    EmbeddingLayer,
    GatedRecurrentLayer,
    LongShortTermMemoryLayer,
    load_torch_weights,
)
from netchain.layers.structural import (
    CatenateLayer,
    PartLayer,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    ThreadingLayer,
    TotalLayer,
    pad_sequences,
)

__all__ = [
    "ELEMENTWISE_FUNCTIONS",
    "LAYER_TYPES",
    "BasicRecurrentLayer",
    "CatenateLayer",
    "Context",
    "CrossEntropyLossLayer",
    "DropoutLayer",
    "ElementwiseFunction",
    "ElementwiseLayer",
    "EmbeddingLayer",
    "GatedRecurrentLayer",
    "Layer",
    "LinearLayer",
    "LogisticSigmoid",
    "LongShortTermMemoryLayer",
    "LossLayer",
    "MeanAbsoluteLossLayer",
    "MeanSquaredLossLayer",
    "PartLayer",
    "Ramp",
    "SequenceLastLayer",
    "SequenceMostLayer",
    "SequenceRestLayer",
    "SequenceReverseLayer",
    "ShapeError",
    "SoftmaxLayer",
    "Tanh",
    "ThreadingLayer",
    "TotalLayer",
    "format_shape",
    "shape_argument",
    "load_torch_weights",
    "pad_sequences",
]
