"""The commitment and challenge endpoints on a production-mode server with keys, on both
databases: who may do what (401/403), the 201 answer, states, verification, challenges."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import h3
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import Polygon

from service.api.app import create_app
from service.api.routes.challenges import ChallengeCollection
from service.areas.claims import ClaimImport, store_claim
from service.keys import ApiKey, key_digest
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker, session_scope
from tests.closing.conftest import dead_readings, good_readings, measure_dead_zone
from tests.conftest import TEST_SECRET
from tests.coverage_helpers import CENTRE, NOW, decide, ingest

KEYS = {"authority": "k-authority", "viettel": "k-viettel", "vinaphone": "k-vinaphone"}
SECOND = sorted(h3.grid_ring(CENTRE, 12))[0]


def _header(who: str) -> dict[str, str]:
    return {"X-Deadzone-Key": KEYS[who]}


@pytest.fixture
def production(db_url: str) -> Settings:
    return Settings(
        database_url=db_url, device_secret=TEST_SECRET, environment="production",
        aggregate_interval_s=0,
        api_keys=[
            ApiKey(name="so-tt-daklak", role="authority", sha256=key_digest(KEYS["authority"])),
            ApiKey(name="viettel-daklak", role="planner", operators=["452-04"],
                   sha256=key_digest(KEYS["viettel"])),
            ApiKey(name="vnpt-daklak", role="planner", operators=["452-02"],
                   sha256=key_digest(KEYS["vinaphone"])),
        ],
    )  # fmt: skip


@pytest.fixture
def world(production: Settings) -> Iterator[tuple[Any, TestClient]]:
    engine = make_engine(production)
    sessions = make_sessionmaker(engine)
    with TestClient(create_app(production)) as client:
        yield sessions, client
    engine.dispose()


def test_assign_mark_on_air_verify_and_challenge(world, production):
    sessions, client = world
    first = measure_dead_zone(sessions, production, CENTRE, days_ago=30)
    second = measure_dead_zone(sessions, production, SECOND, days_ago=30)
    with sessions() as session:
        from service.store.models import DeadZone

        zones = {z.id: z.cells for z in session.query(DeadZone).filter_by(operator="452-04")}
    ids = [next(i for i, cells in zones.items() if c in cells) for c in (CENTRE, SECOND)]
    due = (NOW.date() + timedelta(days=90)).isoformat()
    body = {"zone_id": ids[0], "operator": "452-04", "due": due}

    assert client.post("/v1/commitments", json=body).status_code == 401
    refused = client.post("/v1/commitments", json=body, headers=_header("viettel"))
    assert refused.status_code == 403
    made = []
    for zone_id in ids:
        answer = client.post("/v1/commitments", json={**body, "zone_id": zone_id},
                             headers=_header("authority"))  # fmt: skip
        assert answer.status_code == 201, answer.text
        made.append(answer.json())
    assert made[0]["state"] == "assigned" and made[0]["verification"] == "pending"
    assert isinstance(made[0]["id"], int) and sorted(made[0]["cells"]) == first

    on_air = (NOW - timedelta(days=5)).isoformat()
    change = {"state": "on_air", "on_air_at": on_air, "site": {"name": "BMT-17", "lat": 12.68,
                                                               "lon": 108.05}}  # fmt: skip
    url = f"/v1/commitments/{made[0]['id']}"
    assert client.patch(url, json=change).status_code == 401
    assert client.patch(url, json=change, headers=_header("vinaphone")).status_code == 403
    for commitment in made:
        answer = client.patch(f"/v1/commitments/{commitment['id']}", json=change,
                              headers=_header("viettel"))  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["state"] == "on_air"

    ingest(sessions, production, good_readings(first, days_ago=2))
    ingest(sessions, production, dead_readings(second, days_ago=1))
    decide(sessions, production)
    listed = client.get("/v1/commitments", headers=_header("viettel")).json()["commitments"]
    assert [c["verification"] for c in listed] == ["verified", "still_dead"]
    assert client.get("/v1/commitments", headers=_header("vinaphone")).json() == {"commitments": []}
    one = client.get(f"/v1/commitments/{made[1]['id']}", headers=_header("authority")).json()
    assert one["evidence"]["cells_dead"] == len(second)
    assert [(e["who"], e["action"]) for e in one["audit"]] == [
        ("so-tt-daklak", "created"), ("viettel-daklak", "updated")
    ]  # fmt: skip
    assert client.get(f"/v1/commitments/{made[1]['id']}").status_code == 401
    assert client.get(f"/v1/commitments/{made[1]['id']}",
                      headers=_header("vinaphone")).status_code == 403  # fmt: skip

    # The second zone lies inside Viettel's claimed coverage: its centre is challenged.
    outline = Polygon([(lon, lat) for lat, lon in h3.cell_to_boundary(SECOND)]).buffer(0.01)
    claimed = sorted(h3.str_to_int(c) for c in h3.geo_to_cells(outline.__geo_interface__, 9))
    with session_scope(sessions) as session:
        store_claim(session, ClaimImport("452-04", "lte", "viettel-2026.gpkg", claimed),
                    actor="cli:test", now=NOW)  # fmt: skip
    assert client.get("/v1/challenges?operator=452-04").status_code == 401
    found = client.get("/v1/challenges?operator=452-04", headers=_header("authority"))
    assert found.status_code == 200
    assert found.headers["content-type"].startswith("application/geo+json")
    collection = found.json()
    ChallengeCollection.model_validate(collection)  # the documented model, field by field
    by_cell = {f["properties"]["h3"]: f["properties"] for f in collection["features"]}
    assert SECOND in by_cell and CENTRE not in by_cell
    evidence = by_cell[SECOND]
    assert evidence["phones"] >= 3 and evidence["days"] >= 2 and evidence["readings"] > 0
    assert evidence["failure_hours"] and all(0 <= h < 24 for h in evidence["failure_hours"])
    assert evidence["no_service_share"] == 1.0 and evidence["claim_source"] == "viettel-2026.gpkg"
    assert len({f["properties"]["area"] for f in collection["features"]}) == 1
    assert collection["thresholds"]["min_days"] == 2
    package = client.get("/v1/challenges?operator=452-04&format=csv",
                         headers=_header("viettel"))  # fmt: skip
    assert package.status_code == 200
    assert "attachment" in package.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(package.text.lstrip("\ufeff"))))
    assert {r["h3"] for r in rows} == set(by_cell)
    assert rows[0]["failure_hours"] == ";".join(map(str, by_cell[rows[0]["h3"]]["failure_hours"]))
    assert client.get("/v1/challenges?operator=452-04&commune=nowhere",
                      headers=_header("authority")).status_code == 404  # fmt: skip


def test_bad_bodies_are_422_naming_the_field(world, production):
    sessions, client = world
    measure_dead_zone(sessions, production, CENTRE)
    body = {"zone_id": "dz-x", "operator": "452-04", "due": "next week"}
    bad = client.post("/v1/commitments", json=body, headers=_header("authority"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.due"
    body["due"] = "2099-01-01"
    missing = client.post("/v1/commitments", json=body, headers=_header("authority"))
    assert missing.status_code == 404 and missing.json()["field"] == "zone_id"
    naive = client.patch("/v1/commitments/1", json={"state": "on_air",
                                                    "on_air_at": "2026-11-20T08:00:00"},
                         headers=_header("viettel"))  # fmt: skip
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "body.on_air_at"
    assert client.patch("/v1/commitments/99", json={"state": "planned"},
                        headers=_header("viettel")).status_code == 404  # fmt: skip
