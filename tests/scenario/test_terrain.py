"""The random fields and terrain pieces behave as their docstrings say."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simulation import SIZES
from simulation.cells import build_cell_grid
from simulation.terrain import Box, GaussianField, Valley, valleys_loss_db

BOX = Box(south=12.5, west=108.0, north=12.8, east=108.3)


def test_gaussian_field_has_unit_variance_and_the_asked_correlation_length() -> None:
    field = GaussianField(np.random.default_rng(3), BOX, correlation_km=0.5, step_km=0.1)
    rng = np.random.default_rng(4)
    x = rng.uniform(2, BOX.width_km - 2, 40_000)
    y = rng.uniform(2, BOX.height_km - 2, 40_000)
    a = field.at_xy(x, y)
    assert float(np.std(a)) == pytest.approx(1.0, abs=0.1)
    # Correlation exp(-r²/(2L²)): 0.61 at r = L, 0.14 at r = 2L.
    near = field.at_xy(x + 0.5, y)
    far = field.at_xy(x + 1.0, y)
    assert float(np.corrcoef(a, near)[0, 1]) == pytest.approx(math.exp(-0.5), abs=0.08)
    assert float(np.corrcoef(a, far)[0, 1]) == pytest.approx(math.exp(-2.0), abs=0.08)


def test_valley_loss_is_its_depth_on_the_axis_and_fades_off_it() -> None:
    valley = Valley(0.0, 0.0, 5.0, 0.0, width_km=0.5, depth_db=30.0)
    loss = valley.loss_db(np.array([2.5, 2.5, 2.5, 8.0]), np.array([0.0, 0.5, 1.0, 0.0]))
    assert loss[0] == pytest.approx(30.0)
    assert loss[1] == pytest.approx(30.0 * math.exp(-1.0))
    assert loss[2] < 0.02 * 30.0
    assert loss[3] < 1e-6
    deeper = Valley(2.5, -1.0, 2.5, 1.0, width_km=0.5, depth_db=35.0)
    both = valleys_loss_db([valley, deeper], np.array([2.5]), np.array([0.0]))
    assert both[0] == pytest.approx(35.0)  # the deepest, not the sum


def test_box_frame_round_trips() -> None:
    x, y = BOX.to_xy(np.array([12.6]), np.array([108.1]))
    lat, lon = BOX.to_latlon(x, y)
    assert lat[0] == pytest.approx(12.6) and lon[0] == pytest.approx(108.1)


def test_province_box_holds_about_170_000_cells() -> None:
    grid = build_cell_grid(SIZES["province"].box)
    assert 150_000 <= len(grid) <= 190_000
    assert np.all(np.diff(grid.cell) > 0)  # sorted, so index_of can binary-search
    assert np.array_equal(grid.index_of(grid.cell[[0, 5, -1]]), [0, 5, len(grid) - 1])
    assert grid.index_of(np.array([0]))[0] == -1
