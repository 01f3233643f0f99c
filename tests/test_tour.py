"""`netchain tour`: the course replayed into a temporary folder, every check holding."""

from __future__ import annotations

import re

import matplotlib.image
import numpy as np

from netchain import tour
from netchain.cli import main


def test_tour_runs_into_a_folder(tmp_path, capsys):
    out = tmp_path / "tour"
    assert main(["tour", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for number in range(1, 7):
        assert f"Step {number}. " in printed
    assert "FAILED" not in printed
    summary = re.search(r"(\d+) of (\d+) checks hold; (\d+) pictures", printed)
    assert summary and summary.group(1) == summary.group(2)
    n_pictures = int(summary.group(3))

    # the index shows every picture, in step order, with its caption
    index = (out / "index.html").read_text(encoding="utf-8")
    shown = re.findall(r'<img src="([^"]+)"', index)
    assert len(shown) == n_pictures >= 11
    steps = [int(re.match(r"step(\d)-", name).group(1)) for name in shown]
    assert steps == sorted(steps) and set(steps) == set(range(1, 7))
    assert index.count("<figcaption>") == n_pictures
    assert sorted(p.name for p in out.glob("*.png")) == sorted(shown)
    for name in shown:
        image = matplotlib.image.imread(out / name)
        assert image.shape[0] > 200 and image.shape[1] > 200
        assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 1

    # step 1: the linear layer of output size 10 and input size 5, against W @ x + b
    assert "W has shape (10, 5), b has shape (10,)" in printed
    # step 3: the four nets; only the one with Ramp fits XOR
    rows = dict(re.findall(r"^  (NetChain\(\[[^\n]*?\]\))\s+([\d. ]+)$", printed, flags=re.M))
    assert len(rows) == 4
    ramp = np.array(rows["NetChain([16, Ramp, 1])"].split(), dtype=float)
    np.testing.assert_allclose(ramp, [0, 0, 1, 1], atol=0.1)
    linear = np.array(rows["NetChain([LinearLayer(1)])"].split(), dtype=float)
    np.testing.assert_allclose(linear, 0.5, atol=0.01)
    # step 5: every chain-rule factor and the update, checked to 1e-12
    for factor in ("dL/dy", "dL/dW2", "dL/db2", "dL/da1", "da1/dz1", "dL/dz1", "dL/dW1", "dL/dx"):
        assert re.search(rf"^\s+{re.escape(factor)}\s+= [\[+-]", printed, flags=re.M), factor
    step5 = printed[printed.index("Step 5.") : printed.index("Step 6.")]
    errors = [float(e) for e in re.findall(r"max \|difference\| = ([\d.e+-]+)", step5)]
    assert len(errors) >= 15 and max(errors) <= 1e-12
    # step 6: the MLP on the digits as `netchain train` trains it
    acc = float(re.search(r"test accuracy (\d\.\d+)", printed).group(1))
    assert acc >= 0.95


def test_backprop_step_checks_every_factor(tmp_path):
    step = tour.Step(5, "Backpropagation by hand")
    tour._step_backprop(tour._Recorder(step, tmp_path, lambda line: None))
    names = [c.name for c in step.checks]
    for want in ("dL/dW1", "dL/db1", "dL/dW2", "dL/db2", "dL/dz1", "dL/da1", "dL/dx"):
        assert want in names
    assert all(c.ok for c in step.checks)
    assert all(c.tolerance <= tour.BACKPROP_TOLERANCE for c in step.checks)
    assert step.pictures and (tmp_path / step.pictures[0].file).is_file()
