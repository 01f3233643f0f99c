"""NetGraph: layers joined at named ports, several inputs and outputs, inner ports, surgery.

A small two-input, two-output graph on synthetic data: a GRU reads a sequence, a LinearLayer a
side vector; their features are joined (CatenateLayer) and feed a classifier ("Class") and a
regressor ("Value"). NetTrain takes data by port; the trained graph is evaluated at its outputs
and at an inner port, cut with NetTake, flattened, saved and loaded. A few seconds.

    python examples/netgraph_ports.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from netchain import (
    CatenateLayer,
    GatedRecurrentLayer,
    LinearLayer,
    NetChain,
    NetDecoder,
    NetFlatten,
    NetGraph,
    NetLoad,
    NetPort,
    NetSave,
    NetTake,
    NetTrain,
    Ramp,
    SequenceLastLayer,
    SoftmaxLayer,
)


def main() -> None:
    rng = np.random.default_rng(0)
    n = 2000
    seq = rng.standard_normal((n, 12, 2)).astype(np.float32)
    side = rng.standard_normal((n, 3)).astype(np.float32)
    label = np.where(seq[:, :, 0].sum(axis=1) + side[:, 0] > 0, "up", "down")
    value = (seq[:, -3:, 1].mean(axis=1) - side[:, 2]).astype(np.float32)

    graph = NetGraph(
        {
            "gru": GatedRecurrentLayer(16),
            "last": SequenceLastLayer(),
            "side": NetChain([LinearLayer(8), Ramp]),
            "cat": CatenateLayer(),
            "classify": NetChain([LinearLayer(2), SoftmaxLayer()]),
            "regress": LinearLayer(1),
        },
        [
            (NetPort("Sequence"), "gru", "last"),
            (NetPort("Side"), "side"),
            (["last", "side"], "cat"),
            ("cat", ["classify", "regress"]),
            ("classify", NetPort("Class")),
            ("regress", NetPort("Value")),
        ],
        input={"Sequence": (12, 2), "Side": 3},
        output={"Class": NetDecoder("Class", ["down", "up"])},
    )
    print(graph)
    train = slice(0, 1600)
    test = slice(1600, n)
    results = NetTrain(
        graph,
        {"Sequence": seq[train], "Side": side[train], "Class": label[train], "Value": value[train]},
        "All",
        max_training_rounds=30,
        learning_rate=3e-3,
        training_progress_reporting=None,
    )
    print(results, "-", results.loss)
    trained = results.trained_net
    out = trained({"Sequence": seq[test], "Side": side[test]})
    print(f"class accuracy {np.mean(np.asarray(out['Class']) == label[test]):.3f}")
    print(f"value mean absolute error {np.abs(out['Value'] - value[test]).mean():.3f}")
    features = trained({"Sequence": seq[test], "Side": side[test]}, NetPort(("cat", "Output")))
    print(f"inner port ('cat', 'Output'): shape {features.shape}")
    encoder = NetTake(trained, "cat")
    print(f"NetTake up to 'cat': inputs {encoder.input_ports}, outputs {encoder.output_ports}")
    flat = NetFlatten(trained)
    print(f"NetFlatten: {flat.names}")
    with tempfile.TemporaryDirectory() as folder:
        back = NetLoad(NetSave(trained, Path(folder) / "graph.safetensors"))
    same = back({"Sequence": seq[test], "Side": side[test]})["Value"]
    print(f"saved and loaded: same values {np.array_equal(same, out['Value'])}")


if __name__ == "__main__":
    main()
