"""An artificial neuron and a linear layer: y = W x + b.

A LinearLayer with output size 10 and input size 5, initialised at random, applied to
[1, 2, 3, 4, 5]; its output is checked against W @ x + b computed from the arrays NetExtract
returns. Runs in a second.

    python examples/linear_layer.py
"""

import numpy as np

from netchain import LinearLayer, NetChain, NetExtract, NetInitialize

net = NetInitialize(NetChain([LinearLayer(10, input=5)]), random_seed=1234)
print(net)
x = np.array([1, 2, 3, 4, 5])
y = net(x)
W, b = NetExtract(net, (1, "Weights")), NetExtract(net, (1, "Biases"))
print("W has shape", W.shape, "and b has shape", b.shape)
print("net(x)    =", np.round(y, 4))
print("W @ x + b =", np.round(W @ x + b, 4))
assert np.allclose(y, W @ x + b, rtol=1e-5)
print("equal: a linear layer is y = W x + b")
