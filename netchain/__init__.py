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
    BatchNormalizationLayer,
    ConvolutionLayer,
    CrossEntropyLossLayer,
    DeconvolutionLayer,
    DropoutLayer,
    ElementwiseLayer,
    FlattenLayer,
    LinearLayer,
    LogisticSigmoid,
    MeanAbsoluteLossLayer,
    MeanSquaredLossLayer,
    PaddingLayer,
    PoolingLayer,
    Ramp,
    ReshapeLayer,
    SoftmaxLayer,
    Tanh,
)
from netchain.nets import (
    NetChain,
    NetDecoder,
    NetExtract,
    NetInformation,
    NetInitialize,
    NetLoad,
    NetSave,
)
from netchain.train import NetTrain, NetTrainResults

__version__ = "0.1.0"

__all__ = [
    "BatchNormalizationLayer",
    "ConvolutionLayer",
    "CrossEntropyLossLayer",
    "DeconvolutionLayer",
    "DropoutLayer",
    "ElementwiseLayer",
    "FlattenLayer",
    "LinearLayer",
    "LogisticSigmoid",
    "MeanAbsoluteLossLayer",
    "MeanSquaredLossLayer",
    "NetChain",
    "NetDecoder",
    "NetExtract",
    "NetInformation",
    "NetInitialize",
    "NetLoad",
    "NetSave",
    "NetTrain",
    "NetTrainResults",
    "PaddingLayer",
    "PoolingLayer",
    "Ramp",
    "ReshapeLayer",
    "SoftmaxLayer",
    "Tanh",
    "Tensor",
    "check_grad",
    "grad",
    "no_grad",
    "value_and_grad",
]
