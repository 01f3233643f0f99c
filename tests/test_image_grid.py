"""ImageGridPlot: grids of small images (samples, reconstructions, frames)."""

from __future__ import annotations

import numpy as np
import pytest

from netchain.plot import ImageGridPlot


def test_image_grid_layouts(tmp_path, rng):
    images = rng.random((13, 8, 8))
    fig = ImageGridPlot(images, columns=5, title="thirteen")
    grid = fig.data["images"]
    assert grid.shape == (3, 5, 8, 8)
    np.testing.assert_array_equal(grid.reshape(15, 8, 8)[:13], images)
    assert np.isnan(grid[2, 3:]).all()
    assert len(fig.axes) == 15
    path = fig.save(tmp_path / "grid.png")
    assert path.stat().st_size > 1000
    rows = ImageGridPlot(rng.random((2, 4, 6, 6)), row_labels=["a", "b"], value_range=None)
    assert rows.data["images"].shape == (2, 4, 6, 6)
    assert rows.axes[0].get_ylabel() == "a" and rows.axes[4].get_ylabel() == "b"
    channels = ImageGridPlot(rng.random((3, 1, 5, 5)))
    assert channels.data["images"].shape == (1, 3, 5, 5)
    with pytest.raises(ValueError, match="row labels"):
        ImageGridPlot(rng.random((2, 4, 6, 6)), row_labels=["a"])
    with pytest.raises(ValueError, match="shape"):
        ImageGridPlot(rng.random((5, 5)))
    with pytest.raises(ValueError, match="no images"):
        ImageGridPlot(np.zeros((0, 5, 5)))
