"""Dead zones on the H3 grid: components, outlines, stable ids (and the stored zones on
SQLite and PostGIS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import delete, inspect, select, text

from service.engine.results import write_zones
from service.engine.zones import (
    NearestCovered,
    Zone,
    _zone_evidence,
    assign_ids,
    cells_to_outline,
    centres_box,
    connected_components,
    describe_zones,
    might_reach,
)
from service.store.database import session_scope
from service.store.models import DeadZone, ZoneCell
from service.store.schema import alembic_config, upgrade_database
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

ring = sorted(h3.grid_ring(CENTRE, 2))


def test_neighbours_form_one_zone():
    cells = h3.grid_disk(CENTRE, 1)
    assert connected_components(cells) == [sorted(cells)]


def test_a_ring_is_one_zone_with_a_hole():
    (zone,) = connected_components(ring)
    outline = cells_to_outline(zone)
    assert outline.is_valid
    assert len(outline.geoms) == 1
    assert len(outline.geoms[0].interiors) == 1  # the covered middle stays a hole


def test_within_a_limit_answers_as_the_nearest_distance_does():
    """``within_m`` (the incremental path's test of a zone's distance to signal) against
    each cell's nearest distance measured alone: at exactly the distance, just under it,
    far beyond it, and for the NaN (never) and infinite (any) limits."""
    rng = np.random.default_rng(5)
    disk = [h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 40)]
    covered = [int(c) for c in rng.choice(disk, 25, replace=False)]
    cells = [int(c) for c in rng.choice(disk, 400)]
    nearest = NearestCovered(covered)
    exact = np.array([nearest.distance_m([c]) for c in cells])
    limits = np.concatenate(
        [
            exact[:100],
            np.nextafter(exact[100:200], 0),
            rng.uniform(0, 30_000, 100),
            [np.nan] * 50,
            [np.inf] * 50,
        ]
    )
    for strict in (False, True):
        reached = exact < limits if strict else exact <= limits
        expected = np.where(np.isnan(limits), False, reached | np.isposinf(limits))
        assert nearest.within_m(cells, limits, strict=strict).tolist() == expected.tolist()
    # At exactly its distance a cell is within (not strictly), and never nearer than it.
    assert nearest.within_m(cells[:100], exact[:100]).all()
    assert not nearest.within_m(cells[:100], exact[:100], strict=True).any()
    assert not NearestCovered([]).within_m(cells, limits).any()


@given(
    lat=st.floats(-84, 84),
    lon=st.floats(-180, 180),
    spread=st.integers(0, 6),
    offsets=st.lists(st.tuples(st.floats(-0.6, 0.6), st.floats(-0.6, 0.6)), min_size=1,
                     max_size=6),
    limit=st.floats(0, 60_000),
)  # fmt: skip
@example(lat=12.0, lon=179.9, spread=0, offsets=[(0.0, 0.2)], limit=30_000.0)  # antimeridian
@example(lat=80.0, lon=0.0, spread=1, offsets=[(0.1, 0.6)], limit=15_000.0)  # far north
def test_a_zones_box_never_misses_a_point_within_its_limit(lat, lon, spread, offsets, limit):
    """``might_reach`` (which zones the incremental path measures when a covered cell comes
    or goes) may say yes too often, never no where a point lies within the limit of one
    of the zone's centres: at any latitude short of the poles, across the antimeridian."""
    home = h3.latlng_to_cell(lat, lon, 7)
    zone = [h3.str_to_int(c) for c in h3.grid_disk(home, spread)]
    centres = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in zone])
    points = np.array([
        (min(max(lat + dlat, -89.9), 89.9), (lon + dlon + 180) % 360 - 180)
        for dlat, dlon in offsets
    ])  # fmt: skip
    box = np.array([centres_box(zone)])
    for point in points:
        nearest = min(h3.great_circle_distance(tuple(point), tuple(c), "m") for c in centres)
        if nearest <= limit:
            assert might_reach(box, np.array([limit]), point[None, :]).all()
        assert might_reach(box, np.array([nearest]), point[None, :]).all()


def test_a_zones_box_tells_the_far_zones_apart():
    """The box answers no for a zone far from every changed cell, yes for a box not known
    (a zone stored before boxes were) and for a limit of a quarter of the globe, and no
    when no cell changed."""
    here = [h3.str_to_int(c) for c in h3.grid_disk(CENTRE, 2)]
    box = np.array(centres_box(here))
    lat, lon = h3.cell_to_latlng(CENTRE)
    far = np.array([[lat + 0.5, lon]])  # about 55 km north
    boxes = np.array([box, box, [np.nan] * 4, box])
    limits = np.array([1_000.0, 60_000.0, 1_000.0, 1.1e7])
    assert might_reach(boxes, limits, far).tolist() == [False, True, True, True]
    assert not might_reach(boxes, limits, np.empty((0, 2))).any()


def test_zones_evidence_is_each_zones_own_cells():
    """``describe_zones`` sums the evidence of all the zones in one group-by (issue 12):
    each zone's readings, first and last seen are still those of its own cells, against
    a reduction per zone, for zones of one cell and of many, given in any order."""
    rng = np.random.default_rng(3)
    disk = sorted(h3.grid_disk(CENTRE, 12))
    picked = [str(c) for c in rng.choice(disk, 120, replace=False)]
    components = sorted((sorted(g) for g in connected_components(picked)), key=lambda g: -len(g))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    ints = [h3.str_to_int(c) for c in rng.permutation(picked)]
    first = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 10**6, len(ints))]
    last = [
        f + timedelta(days=int(d))
        for f, d in zip(first, rng.integers(0, 90, len(ints)), strict=True)
    ]
    dead = pd.DataFrame({
        "h3_cell": ints,
        "readings": rng.integers(1, 500, len(ints)),
        "first_seen": pd.to_datetime(first, utc=True),
        "last_seen": pd.to_datetime(last, utc=True),
    })  # fmt: skip
    devices = pd.DataFrame({"h3_cell": pd.Series([], dtype=np.int64), "device": []})
    ids = [f"z{i}" for i in range(len(components))]
    zones = describe_zones(
        "452-04", ids, components, dead=dead, devices=devices, dead_operators={},
        nearest=NearestCovered([]), resolution=9,
    )  # fmt: skip
    assert len(components) > 5 and any(len(c) == 1 for c in components)
    by_cell = dead.set_index("h3_cell")
    for zone, cells in zip(zones, components, strict=True):
        rows = by_cell.loc[[h3.str_to_int(c) for c in cells]]
        assert zone.readings == int(rows["readings"].sum())
        assert zone.first_seen == rows["first_seen"].min().to_pydatetime()
        assert zone.last_seen == rows["last_seen"].max().to_pydatetime()
        assert isinstance(zone.first_seen, datetime) and zone.first_seen.tzinfo is not None


def test_two_zones_one_cell_apart_stay_apart():
    a = h3.grid_disk(CENTRE, 1)
    far = h3.grid_ring(CENTRE, 4)[0]
    b = h3.grid_disk(far, 1)
    # The closest cells of a and b are two steps apart: one cell lies between them.
    assert min(h3.grid_distance(x, y) for x in a for y in b) == 2
    assert len(connected_components([*a, *b])) == 2


def test_a_one_cell_gap_of_unknown_can_be_bridged():
    a, b = CENTRE, h3.grid_ring(CENTRE, 2)[0]
    between = set(h3.grid_ring(a, 1)) & set(h3.grid_ring(b, 1))
    assert len(connected_components([a, b])) == 2
    assert len(connected_components([a, b], bridge=between)) == 1
    assert len(connected_components([a, b], bridge=set())) == 2


def test_outline_area_matches_the_cells():
    cells = sorted(h3.grid_disk(CENTRE, 2))
    outline = cells_to_outline(cells)
    assert outline.is_valid and isinstance(outline, shapely.MultiPolygon)
    hexes = shapely.union_all(
        [shapely.Polygon([(x, y) for y, x in h3.cell_to_boundary(c)]) for c in cells]
    )
    assert outline.symmetric_difference(hexes).area < 1e-12


def test_a_growing_zone_keeps_its_id():
    old = {"dz-any-a": sorted(h3.grid_disk(CENTRE, 1))}
    grown = [sorted(h3.grid_disk(CENTRE, 2))]
    assert assign_ids(grown, old, "any") == ["dz-any-a"]


def test_a_split_zone_keeps_its_id_on_the_larger_part():
    big = sorted(h3.grid_disk(CENTRE, 1))
    small = [h3.grid_ring(CENTRE, 3)[0]]
    old = {"dz-any-a": sorted([*big, *small])}
    ids = assign_ids([big, small], old, "any")
    assert ids[0] == "dz-any-a"
    assert ids[1] == f"dz-any-{small[0]}"


def test_two_merging_zones_keep_the_larger_ones_id():
    left, right = sorted(h3.grid_disk(CENTRE, 1)), [h3.grid_ring(CENTRE, 2)[0]]
    old = {"dz-any-left": left, "dz-any-right": right}
    assert assign_ids([sorted([*left, *right])], old, "any") == ["dz-any-left"]


def dead_cell(cell, devices=3):
    """No service on ``devices`` phones, the first one twice: with three phones, four
    readings, the least evidence of a dead call (Wilson bound 0.51 > 0.5)."""
    again = reading_in(cell, device=f"d{cell}0", no_service=True, days_ago=2)
    return [
        *(reading_in(cell, device=f"d{cell}{i}", no_service=True) for i in range(devices)),
        again,
    ]


def covered_cell(cell):
    return [reading_in(cell, device=f"c{cell}{i}", dbm=-80) for i in range(3)]


def zones_of(client, operator="any"):
    return client.get("/v1/deadzones", params={"operator": operator}).json()


def test_stored_zone_keeps_its_id_as_it_grows(client, settings, sessions):
    first = sorted(h3.grid_disk(CENTRE, 1))
    items = [r for c in first for r in dead_cell(c)]
    items += [r for c in h3.grid_ring(CENTRE, 3) for r in covered_cell(c)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    (zone,) = zones_of(client)["zones"]
    assert zone["cell_count"] == 7
    assert zone["area_km2"] == pytest.approx(sum(h3.cell_area(c, "km^2") for c in first), abs=1e-4)
    assert zone["distance_to_covered_m"] == pytest.approx(
        h3.great_circle_distance(
            h3.cell_to_latlng(first[0]), h3.cell_to_latlng(h3.grid_ring(CENTRE, 3)[0]), "m"
        ),
        rel=0.6,
    )
    ingest(sessions, settings, [r for c in ring for r in dead_cell(c)])
    decide(sessions, settings)
    (grown,) = zones_of(client)["zones"]
    assert (grown["id"], grown["cell_count"]) == (zone["id"], 19)


def test_zone_detail_has_a_valid_outline_and_its_cells(client, settings, sessions):
    cells = sorted(h3.grid_disk(CENTRE, 1))
    ingest(sessions, settings, [r for c in cells for r in dead_cell(c)])
    decide(sessions, settings)
    (zone,) = zones_of(client)["zones"]
    feature = client.get(f"/v1/deadzones/{zone['id']}").json()
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert shapely.geometry.shape(feature["geometry"]).is_valid
    assert sorted(feature["cells"]) == cells
    assert feature["properties"]["readings"] == 28  # four a cell (dead_cell)
    assert feature["properties"]["devices"] == 21
    assert feature["properties"]["operators_affected"] == ["452-04"]


def test_a_built_site_closes_the_zone(client, settings, sessions):
    ingest(sessions, settings, dead_cell(CENTRE))
    decide(sessions, settings)
    assert zones_of(client)["total"] == 1
    fresh = [reading_in(CENTRE, device=f"n{i}", dbm=-80, days_ago=0.5) for i in range(3)]
    ingest(sessions, settings, fresh)
    decide(sessions, settings)
    assert zones_of(client)["total"] == 0


def test_unknown_zone_id_is_404(client):
    response = client.get("/v1/deadzones/dz-nope")
    assert response.status_code == 404
    assert "dz-nope" in response.json()["message"]


def test_rewritten_zones_each_keep_their_own_values(settings, sessions):
    """Zones written again in one statement (``write_zones``) each store their own values,
    and a zone the session holds reads them as stored."""
    when = datetime(2026, 11, 1, tzinfo=UTC)

    def zone(k: int, scale: int) -> Zone:
        cells = sorted(h3.grid_disk(sorted(h3.grid_ring(CENTRE, 8))[k * 5], k % 2))
        return Zone(
            id=f"dz-452-04-test{k}", operator="452-04", cells=cells, resolution=9,
            area_km2=0.1 * k * scale, outline=cells_to_outline(cells), readings=10 * k + scale,
            devices=k + scale, first_seen=when, last_seen=when, operators_affected=["452-04"],
            distance_to_covered_m=100.0 * k + scale, priority=float(k * scale),
            extra={"population": float(k + 1000 * scale)},
        )  # fmt: skip

    with sessions() as session:
        write_zones(session, [zone(k, 1) for k in range(6)], now=when, ranks=None)
        session.commit()
        held = session.get(DeadZone, "dz-452-04-test3")
        assert held is not None and held.readings == 31
        again = [zone(k, 2) for k in range(6)]
        session.execute(delete(ZoneCell))  # as a run does before writing the zones again
        write_zones(session, again, now=when, ranks=None)
        session.commit()
        assert held.readings == 32  # the session's zone, as stored
    with sessions() as session:
        for expected in again:
            stored = session.get(DeadZone, expected.id)
            assert stored is not None
            assert (stored.cells, stored.cell_count, stored.area_km2, stored.readings) == (
                expected.cells,
                len(expected.cells),
                expected.area_km2,
                expected.readings,
            )
            assert (stored.devices, stored.distance_to_covered_m, stored.priority) == (
                expected.devices,
                expected.distance_to_covered_m,
                expected.priority,
            )
            assert stored.population == expected.extra["population"]
            assert shapely.equals(stored.outline, expected.outline)


def test_zone_evidence_keeps_each_zones_place_when_one_has_no_cells():
    """One group-by serves every zone's figures; a zone without cells (none is made today:
    a connected component is never empty) gets nothing, and the zones after it keep their
    own figures rather than shifting up one."""
    day = pd.Timestamp("2026-11-01", tz="UTC")
    by_cell = pd.DataFrame(
        {"readings": [3, 4, 5], "first_seen": [day, day - pd.Timedelta(days=2), day],
         "last_seen": [day, day, day + pd.Timedelta(days=1)]},
        index=[11, 12, 13],
    )  # fmt: skip
    evidence = _zone_evidence(by_cell, [[11, 12], [], [13]])
    assert evidence["readings"].tolist() == [7, 0, 5]
    assert evidence["first_seen"].iloc[0] == day - pd.Timedelta(days=2)
    assert pd.isna(evidence["first_seen"].iloc[1])
    assert evidence["last_seen"].iloc[2] == day + pd.Timedelta(days=1)


def test_the_boxes_of_zones_stored_before_them_are_computed_from_their_cells(
    settings, sessions, engine
):
    """Migration 0022 gives every active zone the box of its cells' centres and leaves
    gone zones without one (a box is read for active zones only; a zone written again
    gets its own)."""
    from alembic import command

    active, gone = sorted(h3.grid_disk(CENTRE, 1)), sorted(h3.grid_ring(CENTRE, 4))[:3]
    box = centres_box([h3.str_to_int(c) for c in active])
    ingest(sessions, settings, [r for c in active for r in dead_cell(c)])
    decide(sessions, settings)
    with session_scope(sessions) as session:
        zones = session.scalars(select(DeadZone).where(DeadZone.active.is_(True))).all()
        assert {tuple(z.cells) for z in zones} == {tuple(active)}  # each scope's one zone
        zone = zones[0]
        assert (zone.box_south, zone.box_north, zone.box_west, zone.box_east) == box
        zone_id = zone.id
        session.add(DeadZone(**{
            **{c.name: getattr(zone, c.name) for c in DeadZone.__table__.columns},
            "id": "dz-gone", "active": False, "cells": gone,
        }))  # fmt: skip
    with engine.begin() as conn:
        config = alembic_config(engine.url.render_as_string(hide_password=False))
        config.attributes["connection"] = conn
        command.downgrade(config, "0021")
        assert "box_south" not in {c["name"] for c in inspect(conn).get_columns("dead_zones")}
    upgrade_database(engine)
    query = text("SELECT id, box_south, box_north, box_west, box_east FROM dead_zones")
    with engine.connect() as conn:
        boxes = {row[0]: tuple(row[1:]) for row in conn.execute(query)}
    assert boxes[zone_id] == pytest.approx(box)
    assert boxes["dz-gone"] == (None, None, None, None)
