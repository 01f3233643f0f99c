"""Why a net needs a nonlinearity: the course's four XOR nets and their decision regions,
the activation functions with their derivatives, and the net diagrams.

NetChain([LinearLayer(1)]), NetChain([16, 1]) and NetChain([16, 16, 1]) are all linear
functions of their input, and the best linear fit to XOR is 1/2 everywhere; NetChain([16,
Ramp, 1]) fits it. The pictures show each net's output over the plane.

Run:  python examples/xor_and_activations.py [OUT_DIR]   (about 5 seconds)
Writes xor-regions.png, activations.png, xor-net.png and xor-units.png to OUT_DIR.
"""

import sys
from pathlib import Path

import numpy as np

from netchain import LinearLayer, NetChain, NetTrain, Ramp
from netchain.plot import ActivationPlot, DecisionRegionsPlot, NetPlot

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(".")
out.mkdir(parents=True, exist_ok=True)

data = {(1, 1): 0, (0, 0): 0, (1, 0): 1, (0, 1): 1}
X = np.array(list(data), dtype=float)
y = np.array(list(data.values()))
nets = {
    "[LinearLayer(1)]": [LinearLayer(1)],
    "[16, 1]": [16, 1],
    "[16, 16, 1]": [16, 16, 1],
    "[16, Ramp, 1]": [16, Ramp, 1],
}
trained = {}
for name, layers in nets.items():
    trained[name] = NetTrain(NetChain(layers), data, training_progress_reporting=None)
    print(f"NetChain({name:<17}) on (1,1) (0,0) (1,0) (0,1):", np.round(trained[name](X), 3))

DecisionRegionsPlot(list(trained.values()), X, y, titles=list(trained)).save(
    out / "xor-regions.png"
)
ActivationPlot(
    ["LogisticSigmoid", "Ramp", "Tanh", "Softmax", "ELU", "GELU", "SoftPlus", "SELU"]
).save(out / "activations.png")
NetPlot(trained["[16, Ramp, 1]"]).save(out / "xor-net.png")
small = NetTrain(NetChain([4, Ramp, 1]), data, training_progress_reporting=None)
print("NetChain([4, Ramp, 1]):", np.round(small(X), 3))
NetPlot(small, units=True, title="NetChain([4, Ramp, 1]) trained on XOR").save(
    out / "xor-units.png"
)
print(f"pictures written to {out.resolve()}")
