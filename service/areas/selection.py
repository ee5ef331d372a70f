"""One commune or one village as a filter: which cells, zones and villages lie in it.

Districts were abolished in 2025, so the commune is the planning and reporting unit
(DESIGN.md "Vietnam in 2026"); a village (thôn, buôn) is the unit the programme counts.
The same rule serves ``/v1/cells``, ``/v1/deadzones``, ``/v1/villages`` and ``/v1/plan``:

* a cell is in a **commune** when its centre lies in the commune's polygon, or when it is
  a cell the population grid gives to that commune (``cell_population.commune_code``: a
  village of the commune that spills over the border), or a village cell of one of the
  commune's villages;
* a cell is in a **village** when it is one of the village's cells
  (``service.areas.population``); at a coarser resolution, when it is the parent of one;
* a dead zone is in an area when one of its cells is, or it touches one of its villages
  (the same cell-centre rule counts a commune's open zones on the progress page);
* both given: the village must belong to the commune.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import h3
import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidInput, NotFound
from service.store.models import CellPopulation, Commune, Village, VillageCell


@dataclass(frozen=True)
class AreaFilter:
    """The cells (working resolution) and villages of a commune or a village."""

    commune: str | None
    village: str | None
    polygon: BaseGeometry | None  # the commune's, WGS84; None for a village alone
    cells: frozenset[int]  # working-resolution cells known to lie in the area
    villages: frozenset[str]  # codes of the area's villages
    resolution: int  # the working resolution of ``cells``

    def contains(self, cells: Sequence[int], *, resolution: int | None = None) -> np.ndarray:
        """A boolean per cell (H3 integers, all of ``resolution``, default working)."""
        resolution = self.resolution if resolution is None else resolution
        if not len(cells):
            return np.zeros(0, dtype=bool)
        if resolution == self.resolution:
            known = self.cells
        else:
            known = frozenset(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(c), resolution))
                              for c in self.cells)  # fmt: skip
        inside = np.fromiter((c in known for c in cells), dtype=bool, count=len(cells))
        if self.polygon is not None and self.village is None:
            latlng = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells])
            inside |= shapely.contains_xy(self.polygon, latlng[:, 1], latlng[:, 0])
        return inside

    def bounds(self) -> tuple[float, float, float, float]:
        """(min lon, min lat, max lon, max lat) of the area, WGS84 degrees."""
        lats: list[float] = []
        lons: list[float] = []
        for cell in self.cells:
            for lat, lon in h3.cell_to_boundary(h3.int_to_str(cell)):
                lats.append(lat)
                lons.append(lon)
        if self.polygon is not None and self.village is None:
            min_x, min_y, max_x, max_y = self.polygon.bounds
            lons += [min_x, max_x]
            lats += [min_y, max_y]
        if not lats:
            raise InvalidInput("the area has neither a polygon nor cells: give bbox=", field="bbox")
        return min(lons), min(lats), max(lons), max(lats)


def area_filter(
    session: Session, *, commune: str | None, village: str | None, resolution: int
) -> AreaFilter | None:
    """The filter of ``commune`` and/or ``village`` (codes as imported), None when neither
    is given. Unknown codes are ``NotFound``; a village outside the commune is refused."""
    if commune is None and village is None:
        return None
    polygon = None
    if commune is not None:
        row = session.get(Commune, commune)
        has_villages = session.scalar(
            select(Village.code).where(Village.commune_code == commune).limit(1)
        )
        if row is None and has_villages is None:
            raise NotFound(f"no commune with code {commune!r}", field="commune")
        polygon = row.geom if row is not None else None
    if village is not None:
        found = session.get(Village, village)
        if found is None:
            raise NotFound(f"no village with code {village!r}", field="village")
        if commune is not None and found.commune_code != commune:
            raise InvalidInput(
                f"village {village!r} is in commune {found.commune_code!r}, not {commune!r}",
                field="village",
            )
        codes = frozenset({village})
        cells = frozenset(
            int(c)
            for c in session.scalars(
                select(VillageCell.h3_cell).where(VillageCell.village_code == village)
            )
        )
    else:
        codes = frozenset(
            session.scalars(select(Village.code).where(Village.commune_code == commune))
        )
        cells = frozenset(
            int(c)
            for c in session.scalars(
                select(CellPopulation.h3_cell).where(CellPopulation.commune_code == commune)
            )
        ) | frozenset(
            int(c)
            for c in session.scalars(
                select(VillageCell.h3_cell).where(VillageCell.village_code.in_(sorted(codes)))
            )
        )
    if polygon is not None:
        shapely.prepare(polygon)
    return AreaFilter(
        commune=commune, village=village, polygon=polygon, cells=cells, villages=codes,
        resolution=resolution,
    )  # fmt: skip


def zone_in_area(area: AreaFilter, cells: Sequence[str], villages: Sequence[str] | None) -> bool:
    """Whether a dead zone (its H3 cells as strings, its village codes) lies in ``area``."""
    if villages and area.villages.intersection(villages):
        return True
    ints = [h3.str_to_int(c) for c in cells]
    resolution = h3.get_resolution(cells[0]) if cells else area.resolution
    return bool(area.contains(ints, resolution=resolution).any())
