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
    CatenateLayer,
    CrossEntropyLossLayer,
    DropoutLayer,
    ElementwiseLayer,
    EmbeddingLayer,
    GatedRecurrentLayer,
    LinearLayer,
    LogisticSigmoid,
    LongShortTermMemoryLayer,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    PartLayer,
    Ramp,
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
    "CrossEntropyLossLayer",
    "DropoutLayer",
    "ElementwiseLayer",
    "EmbeddingLayer",
    "GatedRecurrentLayer",
    "LinearLayer",
    "LogisticSigmoid",
    "LongShortTermMemoryLayer",
    "MeanAbsoluteLossLayer",
    "MeanSquaredLossLayer",
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
