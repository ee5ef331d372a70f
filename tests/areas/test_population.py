"""People on the grid: spread from villages (summing exactly to the imported totals) or
read from a population raster."""

from __future__ import annotations

import math

import h3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from shapely.geometry import box
from sqlalchemy import func, select

from service.areas.population import import_population_raster, largest_remainder
from service.store.database import session_scope
from service.store.models import CellPopulation, VillageCell
from tests.areas.conftest import CENTRE, LAT, LON, import_areas, village, write_layer


@given(
    st.integers(0, 10**7),
    st.lists(st.floats(0, 1e6, allow_nan=False, allow_infinity=False), min_size=1, max_size=40),
)
def test_largest_remainder_sums_exactly_and_stays_within_one_person(total, weights):
    shares = largest_remainder(total, weights)
    assert sum(shares) == total and all(s >= 0 for s in shares)
    weight_sum = math.fsum(weights)
    if weight_sum > 0:
        for share, weight in zip(shares, weights, strict=True):
            assert abs(share - total * weight / weight_sum) < 1 + 1e-6


def test_village_without_cluster_fills_a_disk_with_halving_weights(tmp_path, settings, sessions):
    path = write_layer(tmp_path / "v.geojson", [village("V1", "Buôn A", CENTRE, 1000)])
    import_areas(sessions, settings, path)
    with sessions() as session:
        cells = {c.h3_cell: c for c in session.scalars(select(VillageCell))}
    assert set(cells) == {h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 1)}
    # Weights 1 (centre) and 1/2 for each of 6 neighbours: 1000 x 1/4 and 1000 x 1/8.
    assert cells[h3.str_to_int(CENTRE)].people == 250 and cells[h3.str_to_int(CENTRE)].centre
    assert sorted(c.people for c in cells.values() if not c.centre) == [125] * 6


def test_grid_population_sums_to_the_imported_total(tmp_path, settings, sessions):
    near = h3.grid_ring(CENTRE, 1)[0]  # overlapping disks add up
    far = h3.latlng_to_cell(LAT + 0.05, LON + 0.05, 9)
    cluster = box(LON + 0.02, LAT - 0.03, LON + 0.03, LAT - 0.02)
    villages = [
        village("V1", "A", CENTRE, 1001),
        village("V2", "B", near, 7),
        village("V3", "C", far, 333_333),
        village("V4", "D", h3.latlng_to_cell(LAT - 0.025, LON + 0.025, 9), 2999, geometry=cluster),
        village("V5", "No count", h3.latlng_to_cell(LAT + 0.1, LON, 9), None),
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    with sessions() as session:
        total = session.scalar(select(func.sum(CellPopulation.people)))
        per_village = dict(
            session.execute(
                select(VillageCell.village_code, func.sum(VillageCell.people)).group_by(
                    VillageCell.village_code
                )
            ).all()
        )
        cluster_cells = session.scalar(
            select(func.count()).select_from(VillageCell).where(VillageCell.village_code == "V4")
        )
    assert total == 1001 + 7 + 333_333 + 2999
    assert per_village == {"V1": 1001, "V2": 7, "V3": 333_333, "V4": 2999, "V5": 0}
    # The cluster (about 1.1 x 1.1 km) holds about ten resolution-9 cell centres.
    assert 6 <= cluster_cells <= 16


def test_cells_belong_to_the_commune_holding_their_centre(tmp_path, settings, sessions):
    west = {"code": "W", "name": "West", "geometry": box(LON - 1, LAT - 1, LON - 0.0001, LAT + 1)}
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", [west]))
    import_areas(
        sessions, settings,
        write_layer(tmp_path / "v.geojson", [village("V1", "A", CENTRE, 70, commune="E")]),
    )  # fmt: skip
    with sessions() as session:
        rows = session.execute(select(CellPopulation.h3_cell, CellPopulation.commune_code)).all()
    for cell, commune in rows:
        lat, lon = h3.cell_to_latlng(h3.int_to_str(cell))
        # West of the line: the polygon's commune; east: the village's own commune.
        assert commune == ("W" if lon < LON - 0.0001 else "E")


def test_population_raster_replaces_the_villages_people(tmp_path, settings, sessions):
    rasterio = pytest.importorskip("rasterio")
    import numpy as np
    from rasterio.transform import from_origin

    import_areas(
        sessions, settings, write_layer(tmp_path / "v.geojson", [village("V1", "A", CENTRE, 50)])
    )
    people = np.array([[10.5, 0, -99], [3.25, 7, 1]], dtype="float32")  # -99: nodata
    path = tmp_path / "worldpop.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=3, height=2, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(LON, LAT, 0.001, 0.001), nodata=-99,
    ) as out:  # fmt: skip
        out.write(people, 1)
    with session_scope(sessions) as session:
        stored = import_population_raster(session, settings, path)
    assert stored == pytest.approx(10.5 + 3.25 + 7 + 1)
    with sessions() as session:
        sources = set(session.scalars(select(CellPopulation.source)))
        total = session.scalar(select(func.sum(CellPopulation.people)))
        village_people = session.scalar(select(func.sum(VillageCell.people)))
    assert sources == {"raster"} and total == pytest.approx(21.75)
    assert village_people == 50  # village cells still serve village statuses
