"""Public answers are k-anonymous: a cell's figures only when at least k distinct phones
stand behind it, and times to the day; a key with a role sees them as stored."""

from __future__ import annotations

import h3
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.keys import ApiKey, key_digest
from service.settings import Settings
from tests.conftest import TEST_SECRET
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

AUTHORITY_KEY = "authority-key-for-the-k-anonymity-test"
BBOX = {"bbox": "108.0,12.6,108.1,12.75"}


def production(db_url: str, *, keys: bool) -> Settings:
    api_keys = [ApiKey(name="dst", role="authority", operators=["*"],
                       sha256=key_digest(AUTHORITY_KEY))] if keys else []  # fmt: skip
    return Settings(database_url=db_url, device_secret=TEST_SECRET, environment="production",
                    aggregate_interval_s=0, api_keys=api_keys)  # fmt: skip


def test_public_cells_show_no_figures_from_fewer_than_three_phones(db_url, settings, sessions):
    crowded, pair, single = CENTRE, h3.grid_ring(CENTRE, 2)[0], h3.grid_ring(CENTRE, 3)[0]
    items = [reading_in(crowded, device=f"c{i}", dbm=-85.0) for i in range(5)]
    items += [reading_in(pair, device=f"p{i % 2}", dbm=-85.0, days_ago=1 + i) for i in range(4)]
    items += [reading_in(single, device="alone", dbm=-85.0) for _ in range(4)]
    ingest(sessions, settings, items)
    decide(sessions, settings)

    for keys in (False, True):
        with TestClient(create_app(production(db_url, keys=keys))) as client:
            body = client.get("/v1/cells", params=BBOX).json()
        cells = {f["properties"]["h3"]: f["properties"] for f in body["features"]}
        assert set(cells) >= {crowded, pair, single}
        for cell, props in cells.items():
            if props["withheld"]:
                assert all(props[name] is None for name in (
                    "readings", "devices", "days", "no_service_share", "signal_dbm_mean",
                    "last_seen"))  # fmt: skip
            else:
                assert props["devices"] >= 3, cell
                assert props["last_seen"].endswith("T00:00:00+00:00")
        assert (cells[pair]["withheld"], cells[single]["withheld"]) == (True, True)
        assert cells[pair]["status"] == "covered"  # the decision itself stays public
        assert (cells[crowded]["withheld"], cells[crowded]["readings"]) == (False, 5)

    with TestClient(create_app(production(db_url, keys=True))) as client:
        body = client.get("/v1/cells", params=BBOX, headers={"X-Deadzone-Key": AUTHORITY_KEY})
        cells = {f["properties"]["h3"]: f["properties"] for f in body.json()["features"]}
        assert (cells[pair]["withheld"], cells[pair]["devices"]) == (False, 2)
        assert not cells[crowded]["last_seen"].endswith("T00:00:00+00:00")  # to the second
        unknown = client.get("/v1/cells", params=BBOX, headers={"X-Deadzone-Key": "typo"})
        assert unknown.status_code == 401


def test_public_dead_zone_times_are_rounded_to_the_day(db_url, settings, sessions):
    items = [
        reading_in(CENTRE, device=f"d{i % 3}", no_service=True, days_ago=1 + i) for i in range(4)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    with TestClient(create_app(production(db_url, keys=False))) as client:
        (zone,) = client.get("/v1/deadzones").json()["zones"]
    assert zone["devices"] == 3
    assert zone["first_seen"].endswith("T00:00:00+00:00")
    assert zone["last_seen"].endswith("T00:00:00+00:00")
