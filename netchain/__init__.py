"""netchain: the foundations of neural networks and machine learning, in the Wolfram Language's
vocabulary, on its own backpropagation engine over NumPy.

>>> from netchain import NetChain, LinearLayer, Ramp, NetTrain
>>> data = {(1, 1): 0, (0, 0): 0, (1, 0): 1, (0, 1): 1}
>>> trained = NetTrain(NetChain([LinearLayer(16), Ramp, 1]), data,
...                    training_progress_reporting=None)
>>> [round(v) for v in trained([[1, 1], [0, 0], [1, 0], [0, 1]])]
[0, 0, 1, 1]
"""

from netchain.autodiff import Tensor, check_grad, grad, no_grad, value_and_grad
from netchain.layers import (
    BasicRecurrentLayer,
    BatchNormalizationLayer,
    CatenateLayer,
    ConvolutionalLSTMLayer,
    ConvolutionLayer,
    CrossEntropyLossLayer,
    DeconvolutionLayer,
    DropoutLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    FlattenLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LogisticSigmoid,
    LongShortTermMemoryLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    MultidimensionalLSTMLayer,
    PaddingLayer,
    PartLayer,
    PoolingLayer,
    Ramp,
    ReshapeLayer,
    SequenceLastLayer,
    SequenceMostLayer,
    SequenceRestLayer,
    SequenceReverseLayer,
    SoftmaxLayer,
    Tanh,
    ThreadingLayer,
    TotalLayer,
)
from netchain.nets import (
    NetBidirectionalOperator,
    NetChain,
    NetDecoder,
    NetDrop,
    NetExtract,
    NetFlatten,
    NetGraph,
    NetInformation,
    NetInitialize,
    NetLoad,
    NetMapOperator,
    NetPort,
    NetReplacePart,
    NetSave,
    NetTake,
)
from netchain.train import NetTrain, NetTrainResults

__version__ = "0.1.0"

__all__ = [
    "BasicRecurrentLayer",
    "CatenateLayer",
    "BatchNormalizationLayer",
    "ConvolutionLayer",
    "ConvolutionalLSTMLayer",
    "CrossEntropyLossLayer",
    "DeconvolutionLayer",
    "DropoutLayer",
    "ElementwiseLayer",
    "EmbeddingLayer",
    "GatedRecurrentLayer",
    "FlattenLayer",
    "LinearLayer",
    "LogisticSigmoid",
    "LongShortTermMemoryLayer",
    "MeanAbsoluteLossLayer",
    "MeanSquaredLossLayer",
    "MultidimensionalLSTMLayer",
    "NetBidirectionalOperator",
    "NetChain",
    "NetDecoder",
    "NetDrop",
    "NetExtract",
    "NetFlatten",
    "NetGraph",
    "NetInformation",
    "NetInitialize",
    "NetLoad",
    "NetMapOperator",
    "NetPort",
    "NetReplacePart",
    "NetSave",
    "NetTake",
    "NetTrain",
    "NetTrainResults",
    "PartLayer",
    "Ramp",
    "SequenceLastLayer",
    "SequenceMostLayer",
    "SequenceRestLayer",
    "SequenceReverseLayer",
    "PaddingLayer",
    "PoolingLayer",
    "ReshapeLayer",
    "SoftmaxLayer",
    "Tanh",
    "Tensor",
    "ThreadingLayer",
    "TotalLayer",
    "check_grad",
    "grad",
    "no_grad",
    "value_and_grad",
]

# The Wolfram-style functions of the upper floors, imported on first use so that
# `import netchain` stays light (SymPy and Matplotlib load only when asked for).
_LAZY = {
    **dict.fromkeys(
        [
            "Classify",
            "Predict",
            "ClassifierMeasurements",
            "PredictorMeasurements",
            "FindClusters",
            "ClusterClassify",
            "DimensionReduce",
            "FindAnomalies",
            "FindFrequentItemsets",
        ],
        "netchain.ml",
    ),
    **dict.fromkeys(
        ["Grad", "Hessian", "CriticalPoints", "ClassifyCriticalPoint", "GradientDescent"],
        "netchain.calculus",
    ),
    **dict.fromkeys(
        [
            "Plot3D",
            "ContourPlot",
            "VectorDensityPlot",
            "LossPlot",
            "DecisionRegionsPlot",
            "FeatureSpacePlot",
            "ConfusionMatrixPlot",
            "NetPlot",
            "ActivationPlot",
        ],
        "netchain.plot",
    ),
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'netchain' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ += sorted(_LAZY)  # `from netchain import *` gives these too
