"""GET /v1/cells and /v1/summary: GeoJSON of decided cells, validated against the models."""

from __future__ import annotations

import h3
import pytest
import shapely

from service.api.routes.coverage import CellCollection, Summary
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

BBOX = "108.0,12.6,108.1,12.75"


@pytest.fixture
def grid(settings, sessions):
    dead = sorted(h3.grid_disk(CENTRE, 1))
    # MobiFone covers a ring farther than dead_guard_rings (2) from the dead cells, so that
    # they stay dead for the best of all operators.
    covered = sorted(h3.grid_ring(CENTRE, 4))
    # Four no-service readings of three phones a cell: the least evidence of a dead call.
    items = [
        reading_in(c, device=f"d{c}{i % 3}", no_service=True, days_ago=1 + i)
        for c in dead
        for i in range(4)
    ]
    items += [reading_in(c, device=f"c{c}{i}", dbm=-85, mnc=1) for c in covered for i in range(3)]
    items += [reading_in(h3.grid_ring(CENTRE, 3)[0], device="one", dbm=-85)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    return dead, covered


def test_cells_are_hexagons_with_their_evidence(client, grid):
    dead, covered = grid
    response = client.get("/v1/cells", params={"bbox": BBOX})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = CellCollection.model_validate(response.json())
    by_cell = {f.properties.h3: f for f in body.features}
    assert {c for c, f in by_cell.items() if f.properties.status == "dead"} == set(dead)
    assert {c for c, f in by_cell.items() if f.properties.status == "covered"} == set(covered)
    assert by_cell[h3.grid_ring(CENTRE, 3)[0]].properties.status == "unknown"
    feature = by_cell[CENTRE]
    assert (feature.properties.readings, feature.properties.devices) == (4, 3)
    assert feature.properties.no_service_share == 1.0
    polygon = shapely.geometry.shape(feature.geometry)
    assert polygon.is_valid and polygon.contains(
        shapely.Point(*reversed(h3.cell_to_latlng(CENTRE)))
    )
    assert (body.resolution, body.coarsened) == (9, False)


def test_cells_filtered_by_operator_radio_and_status(client, grid):
    dead, covered = grid
    viettel = client.get("/v1/cells", params={"bbox": BBOX, "operator": "452-04"}).json()
    assert {f["properties"]["status"] for f in viettel["features"]} == {"dead", "unknown"}
    only_dead = client.get("/v1/cells", params={"bbox": BBOX, "status": "dead"}).json()
    assert len(only_dead["features"]) == len(dead)
    gsm = client.get("/v1/cells", params={"bbox": BBOX, "radio": "gsm"}).json()
    assert gsm["features"] == []


def test_roll_up_resolution_on_request(client, grid):
    body = client.get("/v1/cells", params={"bbox": BBOX, "resolution": 8}).json()
    assert body["resolution"] == 8
    assert {h3.get_resolution(f["properties"]["h3"]) for f in body["features"]} == {8}


def test_too_large_a_bbox_is_answered_at_a_coarser_resolution(db_url, grid):
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.settings import Settings
    from tests.conftest import TEST_SECRET

    settings = Settings(
        database_url=db_url, device_secret=TEST_SECRET, max_bbox_cells=200, aggregate_interval_s=0
    )
    with TestClient(create_app(settings)) as client:
        body = client.get("/v1/cells", params={"bbox": BBOX}).json()
        assert (body["resolution"], body["requested_resolution"], body["coarsened"]) == (7, 9, True)
        refused = client.get("/v1/cells", params={"bbox": "100,5,115,20"})
        assert refused.status_code == 422
        assert refused.json()["field"] == "bbox"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "a,b,c,d"}, "bbox"),
        ({"bbox": "108.1,12.6,108.0,12.7"}, "bbox"),
        ({"bbox": "108,12,nan,13"}, "bbox"),
        ({"bbox": BBOX, "operator": "viettel"}, "operator"),
        ({"bbox": BBOX, "radio": "5g"}, "radio"),
        ({"bbox": BBOX, "resolution": 10}, "resolution"),
        ({"bbox": BBOX, "status": "dead,bad"}, "status"),
        ({}, "bbox"),
    ],
)
def test_bad_queries_name_the_parameter(client, params, field):
    response = client.get("/v1/cells", params=params)
    assert response.status_code == 422
    body = response.json()
    fields = [body.get("field")] + [e["field"] for e in body.get("errors", [])]
    assert field in fields, body


def test_summary_counts_per_status_and_operator(client, grid):
    dead, covered = grid
    body = Summary.model_validate(client.get("/v1/summary").json())
    assert body.cells.dead == len(dead)
    assert body.cells.covered == len(covered)
    assert body.operators["452-04"].dead == len(dead)
    assert body.operators["452-01"].covered == len(covered)
    assert body.dead_zones["any"].zones == 1
    assert body.readings_waiting == 0
    assert body.aggregated_at is not None


def test_summary_before_any_aggregation(client):
    body = client.get("/v1/summary").json()
    assert body["cells"] == {"covered": 0, "weak": 0, "dead": 0, "unknown": 0}
    assert body["aggregated_at"] is None


def test_cells_carry_the_estimate_and_include_inferred_adds_unmeasured_cells(client, grid):
    dead, covered = grid
    params = {"bbox": BBOX, "operator": "452-04"}
    measured = CellCollection.model_validate(client.get("/v1/cells", params=params).json())
    by_cell = {f.properties.h3: f.properties for f in measured.features}
    assert set(by_cell) == set(dead) | {h3.grid_ring(CENTRE, 3)[0]}
    centre = by_cell[CENTRE]
    assert centre.status == "dead" and centre.inferred_status is None  # measured: kept
    assert centre.p_dead is not None and centre.p_dead > 0.9
    assert centre.estimate_sd is not None and centre.estimate_dbm is not None

    wider = CellCollection.model_validate(
        client.get("/v1/cells", params=params | {"include": "inferred"}).json()
    )
    extra = {f.properties.h3: f.properties for f in wider.features}.keys() - by_cell.keys()
    assert extra, "the estimate reaches cells next to the dead ones"
    ring2 = set(h3.grid_ring(CENTRE, 2))
    props = {f.properties.h3: f.properties for f in wider.features}
    assert all(props[c].status == "unknown" and props[c].readings == 0 for c in extra)
    assert any(props[c].inferred_status == "dead" for c in extra & ring2)

    only_dead = client.get(
        "/v1/cells", params=params | {"include": "inferred", "status": "dead"}
    ).json()
    assert all(
        "dead" in (f["properties"]["status"], f["properties"]["inferred_status"])
        for f in only_dead["features"]
    )
    per_radio = client.get("/v1/cells", params=params | {"radio": "lte"}).json()
    assert all(f["properties"]["p_dead"] is None for f in per_radio["features"])
    refused = client.get("/v1/cells", params=params | {"include": "everything"})
    assert refused.status_code == 422


def _reached_only_on_3g(sessions, settings) -> list[str]:
    """Viettel reaches CENTRE and its ring only on 3G: covered for any signal, dead for
    broadband. Four readings of three phones a cell: enough for a dead call (Wilson bound
    0.51). Returns the cells, decided."""
    disk = sorted(h3.grid_disk(CENTRE, 1))
    items = [
        reading_in(c, device=f"u{c}{i % 3}", dbm=-78.0 - i, radio="umts", days_ago=1 + i)
        for c in disk
        for i in range(4)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    return disk


def test_summary_counts_the_scope_it_is_asked_for(client, settings, sessions):
    disk = _reached_only_on_3g(sessions, settings)
    anyway = Summary.model_validate(client.get("/v1/summary").json())
    broadband = Summary.model_validate(
        client.get("/v1/summary", params={"radio": "broadband"}).json()
    )
    assert (anyway.radio, broadband.radio) == ("any", "broadband")
    assert (anyway.cells.covered, anyway.cells.dead) == (len(disk), 0)
    assert (broadband.cells.covered, broadband.cells.dead) == (0, len(disk))
    assert "any" not in anyway.dead_zones
    assert broadband.dead_zones["any"].zones == 1
    assert broadband.dead_zones["452-04"].zones == 1
    refused = client.get("/v1/summary", params={"radio": "lte"})
    assert refused.status_code == 422 and "radio" in refused.text


def test_include_inferred_honours_the_broadband_scope(client, settings, sessions):
    # The estimate of each scope says so around the measured cells.
    disk = _reached_only_on_3g(sessions, settings)
    params = {"bbox": BBOX, "operator": "452-04", "include": "inferred"}
    scopes = {}
    for radio in ("any", "broadband"):
        body = CellCollection.model_validate(
            client.get("/v1/cells", params=params | {"radio": radio}).json()
        )
        scopes[radio] = {f.properties.h3: f.properties for f in body.features}
    ring2 = set(h3.grid_ring(CENTRE, 2))
    assert all(scopes["broadband"][c].status == "dead" for c in disk)
    assert all(scopes["any"][c].status == "covered" for c in disk)
    assert all(p.p_dead is not None and p.estimate_sd is not None
               for p in scopes["broadband"].values())  # fmt: skip
    assert ring2 <= scopes["broadband"].keys()
    assert all(scopes["broadband"][c].inferred_status == "dead" for c in ring2)
    assert all(scopes["any"][c].inferred_status == "covered" for c in ring2)
    assert all(scopes["broadband"][c].p_dead > 0.9 > scopes["any"][c].p_dead for c in ring2)


def test_best_of_all_map_rows_name_each_operators_status(sessions, grid):
    """A best-of-all cell the coverage map gives a popup carries each operator's own
    decision there, on either database; the other rows carry none. Only operators the frame
    holds are named: the public best-of-all page names none."""
    from service.publish.mapdata import decided_cells

    dead, covered = grid
    with sessions() as session:
        frame = decided_cells(session, resolutions=[9])
        public = decided_cells(session, operators=["any"], resolutions=[9])
        others = decided_cells(session, operators=["any", "452-01"], resolutions=[9])
        viettel = decided_cells(session, operators=["any", "452-04"], resolutions=[9])
    best = frame[frame["operator"] == "any"].set_index("h3")["operator_statuses"]
    # Viettel (the readings' default network) has no signal there; MobiFone was not measured.
    assert {best[c] for c in dead} == {"452-04=dead"}
    assert {best[c] for c in covered} == {""}  # covered cells have no popup
    assert set(frame.loc[frame["operator"] != "any", "operator_statuses"]) == {""}
    assert set(public["operator_statuses"]) == {""}
    assert set(others["operator_statuses"]) == {""}  # MobiFone has no decision there
    named = viettel[viettel["operator"] == "any"].set_index("h3")["operator_statuses"]
    assert {named[c] for c in dead} == {"452-04=dead"}  # the operator the frame holds
