"""Why XOR needs an activation function.

Four nets of the course trained on the XOR table {(1,1): 0, (0,0): 0, (1,0): 1, (0,1): 1}:
no hidden layer, one linear hidden layer of 16, two linear hidden layers of 16, and one hidden
layer of 16 with Ramp (ReLU). A composition of linear maps is linear, and the best linear fit of
XOR is 0.5 everywhere; with Ramp the net fits the table. Runs in a few seconds.

    python examples/xor.py
"""

import numpy as np

from netchain import LinearLayer, NetChain, NetTrain, Ramp

data = {(1, 1): 0, (0, 0): 0, (1, 0): 1, (0, 1): 1}
inputs = [[1, 1], [0, 0], [1, 0], [0, 1]]
nets = {
    "NetChain([LinearLayer(1)])": NetChain([LinearLayer(1)]),
    "NetChain([16, 1])": NetChain([16, 1]),
    "NetChain([16, 16, 1])": NetChain([16, 16, 1]),
    "NetChain([16, Ramp, 1])": NetChain([16, Ramp, 1]),
}
for name, net in nets.items():
    trained = NetTrain(net, data, training_progress_reporting=None)
    print(f"{name:28s} -> {np.round(trained(inputs), 3)}   (targets [0 0 1 1])")
