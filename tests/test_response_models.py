"""Routes that answer pre-serialised bytes for speed (orjson) still answer exactly their
documented response model: each body is validated against it (tipg's habit, STYLE.md)."""

from __future__ import annotations

from pathlib import Path

import h3
import pytest

from service.api.routes.areas import Plan
from service.api.routes.coverage import CellCollection, ZoneFeature, ZoneList
from service.api.routes.readings import IngestAnswer
from service.api.routes.sites import SiteCollection
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

DATA = Path(__file__).parent / "data" / "formats"
BBOX = "108.0,12.6,108.1,12.75"


@pytest.fixture
def decided(settings, sessions):
    dead = sorted(h3.grid_disk(CENTRE, 1))
    covered = sorted(h3.grid_ring(CENTRE, 4))
    # Four no-service readings of three phones a cell: the least evidence of a dead call.
    items = [
        reading_in(c, device=f"d{c}{i % 3}", no_service=True, days_ago=1 + i)
        for c in dead
        for i in range(4)
    ]
    items += [reading_in(c, device=f"c{c}{i}", dbm=-85, mnc=1) for c in covered for i in range(3)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    return dead


def test_cells_body_is_a_cell_collection(client, decided):
    response = client.get("/v1/cells", params={"bbox": BBOX})
    assert response.status_code == 200
    body = CellCollection.model_validate(response.json())
    assert {f.properties.h3 for f in body.features} >= set(decided)


def test_zone_list_and_one_zone_are_their_models(client, decided):
    listed = ZoneList.model_validate(client.get("/v1/deadzones").json())
    assert listed.total >= 1 and listed.zones
    one = client.get(f"/v1/deadzones/{listed.zones[0].id}")
    assert one.status_code == 200
    zone = ZoneFeature.model_validate(one.json())
    assert set(zone.cells) == set(decided)


def test_readings_answer_is_an_ingest_answer(client):
    good = reading_in(CENTRE, device="phone")
    bad = {**reading_in(CENTRE, device="phone"), "lat": 95}
    response = client.post("/v1/readings", json={"readings": [good, bad]})
    assert response.status_code == 200
    answer = IngestAnswer.model_validate(response.json())
    assert (answer.accepted, answer.rejected_readings) == (1, 1)
    assert answer.rejected[0].field == "lat"


def test_sites_body_is_a_site_collection(client):
    upload = client.post(
        "/v1/imports", files={"file": ("cells.csv", (DATA / "cell_export.csv").read_bytes())}
    )
    assert upload.status_code == 200, upload.text
    response = client.get("/v1/sites")
    assert response.status_code == 200
    body = SiteCollection.model_validate(response.json())
    assert body.features


def test_plan_body_is_a_plan(client, decided):
    response = client.get("/v1/plan", params={"operator": "any", "sites": 2})
    assert response.status_code == 200
    plan = Plan.model_validate(response.json())
    assert plan.operator == "any"
