"""The H3 cells that make up the scenario's box, the unit on which the truth is defined.

The simulated signal is constant over each resolution-9 cell (see ``coverage``), so the truth of
a cell is exactly the expected value of the readings taken inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import h3
import numpy as np
import numpy.typing as npt
from h3.api import basic_int as h3i

from simulation.terrain import Box

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

RESOLUTION = 9

# A phone's true position is drawn within this distance of its cell's centre, so that it stays
# inside the cell: a resolution-9 hexagon's edge is 150-200 m around 12° N (H3's average is
# 174 m at the equator's scale, 201 m measured in this box), and its inscribed circle has a
# radius of edge x sqrt(3)/2, at least 130 m. The test suite checks this on every draw.
MAX_JITTER_KM = 0.1


@dataclass(frozen=True)
class CellGrid:
    """All resolution-9 cells whose centres lie in the box, sorted by H3 index.

    ``cell`` holds H3 indexes as int64 (H3's top bit is always 0, so they fit), ``lat``/``lon``
    the centres in degrees, ``x``/``y`` the centres in the box's km frame.
    """

    box: Box
    cell: IntArray
    lat: FloatArray
    lon: FloatArray
    x: FloatArray
    y: FloatArray

    def __len__(self) -> int:
        return int(self.cell.size)

    def index_of(self, cells: IntArray) -> IntArray:
        """Row of each H3 index in this grid, -1 for cells outside it."""
        cells = np.asarray(cells, dtype=np.int64)
        pos = np.searchsorted(self.cell, cells)
        pos = np.clip(pos, 0, self.cell.size - 1)
        return np.where(self.cell[pos] == cells, pos, -1)

    def h3_strings(self) -> list[str]:
        """The cells as H3 hex strings (``89...ff``), the form maps and GeoJSON use."""
        return [h3.int_to_str(int(c)) for c in self.cell]


def build_cell_grid(box: Box) -> CellGrid:
    """Every resolution-9 cell whose centre falls in ``box``."""
    poly = h3.LatLngPoly(
        [(box.south, box.west), (box.south, box.east), (box.north, box.east), (box.north, box.west)]
    )
    cells = np.array(sorted(h3i.polygon_to_cells(poly, RESOLUTION)), dtype=np.int64)
    centres = np.array([h3i.cell_to_latlng(int(c)) for c in cells], dtype=np.float64)
    lat = centres[:, 0].copy()
    lon = centres[:, 1].copy()
    x, y = box.to_xy(lat, lon)
    return CellGrid(box=box, cell=cells, lat=lat, lon=lon, x=x, y=y)
