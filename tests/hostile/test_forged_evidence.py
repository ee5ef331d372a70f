"""Forged phones cannot flip a cell (docs/forged-evidence.md), black-box through the API on
SQLite and PostGIS: readings go in by ``POST /v1/readings`` from chosen client addresses,
the aggregation runs as the server's job does, and ``GET /v1/cells`` says what the public
sees. The bar of issue 17: 600 no-service readings from 5 new tokens over 3 days must not
turn a cell with 80 phones of good covered evidence dead."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from service.api.app import create_app
from service.jobs import run_aggregation
from service.store.models import ZoneCell
from tests.coverage_helpers import CENTRE, NOW, reading_in

BBOX = {"bbox": "108.0,12.6,108.1,12.75", "operator": "452-04", "radio": "any"}


def post(app: Any, items: list[dict[str, Any]], *, address: str) -> None:
    with TestClient(app, client=(address, 40000)) as client:
        answer = client.post("/v1/readings", json={"readings": items})
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == len(items)


def status(app: Any, cell: str = CENTRE) -> dict[str, Any]:
    with TestClient(app) as client:
        body = client.get("/v1/cells", params=BBOX).json()
    return {f["properties"]["h3"]: f["properties"] for f in body["features"]}[cell]


def honest_cell(app: Any) -> None:
    """80 phones, each from its own network, with good covered readings over weeks."""
    for phone in range(80):
        items = [
            reading_in(CENTRE, device=f"resident-{phone}", dbm=-88.0 - phone % 7,
                       days_ago=2 + (phone * 3 + i * 11) % 40)
            for i in range(4 + phone % 3)
        ]  # fmt: skip
        post(app, items, address=f"10.{phone}.7.20")


def forged(device_prefix: str = "forged") -> list[dict[str, Any]]:
    """600 no-service readings from 5 invented tokens over 3 days."""
    return [
        reading_in(CENTRE, device=f"{device_prefix}-{i % 5}", no_service=True,
                   days_ago=0.2 + (i % 3))
        for i in range(600)
    ]  # fmt: skip


@pytest.mark.parametrize("full", [False, True], ids=["incremental", "full"])
def test_five_forged_tokens_cannot_flip_a_cell_of_eighty_phones(settings, sessions, full):
    # One cell: every batch changes all of it, which would send the incremental variant
    # down the full path (incremental_max_changed_share). Both paths are under test.
    settings = settings.model_copy(update={"incremental_max_changed_share": float("inf")})
    app = create_app(settings)
    honest_cell(app)
    run_aggregation(sessions, settings, now=NOW)
    before = status(app)
    assert (before["status"], before["devices"]) == ("covered", 80)

    post(app, forged(), address="203.0.113.9")  # one request, one network
    report = run_aggregation(sessions, settings, now=NOW, full=full)
    assert (report.incremental is None) == full
    after = status(app)
    assert after["status"] == "contested", after
    assert after["readings"] > 600  # the contrary evidence is counted, not hidden
    # Contested is no dead zone: the cell is in none.
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ZoneCell)) == 0

    # Independent phones confirm: new tokens from three more networks report no service.
    for n in range(3):
        items = [reading_in(CENTRE, device=f"neighbour-{n}", no_service=True, days_ago=0.1)]
        post(app, items, address=f"198.51.{100 + n}.4")
    run_aggregation(sessions, settings, now=NOW, full=full)
    assert status(app)["status"] == "dead"


def test_new_tokens_of_one_request_count_as_one_phone(settings, sessions):
    """Rule 2 where nothing is contested: five tokens in one request are one device, so
    they cannot make an empty cell dead alone (three phones are needed)."""
    app = create_app(settings)
    post(app, forged()[:60], address="203.0.113.9")
    run_aggregation(sessions, settings, now=NOW)
    cell = status(app)
    assert (cell["status"], cell["devices"]) == ("unknown", 1)


def test_a_residents_first_report_from_a_dead_zone_counts(settings, sessions):
    """No contrary evidence: residents' first reports (new tokens, each phone its own
    request, all behind one carrier NAT) decide the cell at once, as before; the first one
    alone is counted. Four reports of three residents make it dead (Wilson bound 0.51)."""
    app = create_app(settings)
    first = [reading_in(CENTRE, device="resident-a", level=0)]
    post(app, first, address="100.64.1.5")
    run_aggregation(sessions, settings, now=NOW)
    cell = status(app)
    assert (cell["status"], cell["readings"], cell["devices"]) == ("unknown", 1, 1)
    for name, address in (("resident-b", "100.64.1.5"), ("resident-c", "100.64.1.9")):
        post(app, [reading_in(CENTRE, device=name, level=0)], address=address)
    post(app, [reading_in(CENTRE, device="resident-a", level=0, days_ago=2)], address="100.64.1.5")
    run_aggregation(sessions, settings, now=NOW)
    assert status(app)["status"] == "dead"


def test_trusted_phones_move_a_cell_without_a_contest(settings, sessions):
    """Trust grows with history: tokens that uploaded on enough days are no longer new, and
    their evidence moves a decided cell as it always did (a site that went down)."""
    from datetime import timedelta

    from service.ingest.readings import Ingestor
    from service.store.database import session_scope

    app = create_app(settings)
    honest_cell(app)
    run_aggregation(sessions, settings, now=NOW)
    ingestor = Ingestor.from_settings(settings)
    regulars = [f"regular-{i}" for i in range(5)]
    for day in range(settings.trust_upload_days):  # one upload a day, from one network
        items = [
            reading_in(CENTRE, device=name, no_service=True, days_ago=6.1 - day)
            for name in regulars
            for _ in range(40)
        ]
        with session_scope(sessions) as session:
            ingestor.ingest(session, items, origin="203.0.113.9", now=NOW - timedelta(days=6 - day))
    run_aggregation(sessions, settings, now=NOW)
    assert status(app)["status"] == "dead"
