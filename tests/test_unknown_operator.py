"""Reports whose resident did not know the operator ("Tôi không biết"), on SQLite and
PostGIS: stored with the operator unknown, evidence about the place for the best of all
operators (weighed like a named operator's reports), never about any one operator."""

from __future__ import annotations

from typing import Any

import h3
from sqlalchemy import func, select

from domain.radio import UNKNOWN_MNC
from service.api.routes.coverage import CellCollection
from service.store.models import CellStatus, ReadingRow
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

BBOX = "108.0,12.6,108.1,12.75"


def unknown(cell: str, *, device: str, level: int, days_ago: float = 1) -> dict[str, Any]:
    """A resident's report as the reporter page sends it when the operator is unknown."""
    return reading_in(
        cell, device=device, level=level, mnc=None, radio="unknown", days_ago=days_ago
    )


def statuses(client: Any, **params: str) -> dict[str, str]:
    response = client.get("/v1/cells", params={"bbox": BBOX, **params})
    assert response.status_code == 200, response.text
    body = CellCollection.model_validate(response.json())
    return {f.properties.h3: f.properties.status for f in body.features}


def post(client: Any, items: list[dict[str, Any]]) -> dict[str, Any]:
    answer = client.post("/v1/readings", json={"readings": items})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_unknown_operator_is_stored_and_decides_the_place_only(client, settings, sessions):
    dead = sorted(h3.grid_disk(CENTRE, 1))  # 7 cells: three residents said no signal, 4 times
    bars = sorted(h3.grid_ring(CENTRE, 4))  # three residents each saw 3 bars
    thin = h3.grid_ring(CENTRE, 7)[0]  # two residents only (4 reports): one short of "dead"
    mixed = h3.grid_ring(CENTRE, 9)[0]  # no signal on unknown SIMs, Viettel measured good
    items = [
        unknown(c, device=f"n{c}{i % 3}", level=0, days_ago=1 + i) for c in dead for i in range(4)
    ]
    items += [unknown(c, device=f"b{c}{i}", level=3) for c in bars for i in range(3)]
    items += [unknown(thin, device=f"t{i % 2}", level=0, days_ago=1 + i) for i in range(4)]
    items += [unknown(mixed, device=f"m{i}", level=0) for i in range(3)]
    items += [reading_in(mixed, device=f"v{i}", dbm=-80.0) for i in range(3)]
    # Through the API, as the reporter page sends them: accepted and stored as they came,
    # the operator unknown (UNKNOWN_MNC), never guessed. (New tokens posted from one client
    # in one hour count as one phone, service/engine/trust.py: the residents' reports that
    # decide below come in as the command line's, each phone its own.)
    far = h3.grid_ring(CENTRE, 12)[0]
    answer = post(client, [unknown(far, device=f"api{i}", level=0) for i in range(3)])
    assert (answer["accepted"], answer["rejected_readings"]) == (3, 0), answer
    ingest(sessions, settings, items)
    with sessions() as session:
        stored = session.execute(
            select(ReadingRow.mnc, func.count()).group_by(ReadingRow.mnc).order_by(ReadingRow.mnc)
        ).all()
    assert [tuple(row) for row in stored] == [(UNKNOWN_MNC, len(items) - 3 + 3), (4, 3)]

    decide(sessions, settings)
    best = statuses(client, operator="any")
    # Evidence about the place: three phones make it dead, three with bars covered.
    assert {best[c] for c in dead} == {"dead"}
    assert {best[c] for c in bars} == {"covered"}
    assert best[thin] == "unknown"  # two phones never make a cell dead, named or not
    # An unknown SIM's "no signal" never outweighs a known operator's signal.
    assert best[mixed] == "covered"
    # Nothing about any one operator: Viettel's map holds only its own measured cell.
    assert statuses(client, operator="452-04") == {mixed: "covered"}
    assert statuses(client, operator="452-02") == {}
    # Never a scope of its own: no stored decision, no operator=unknown.
    with sessions() as session:
        operators = set(session.scalars(select(CellStatus.operator).distinct()))
    assert operators == {"any", "452-04"}
    assert client.get("/v1/cells", params={"bbox": BBOX, "operator": "unknown"}).status_code == 422
    # The dead cells form a zone of the best of all operators, found by the residents.
    zones = client.get("/v1/deadzones", params={"operator": "any"}).json()["zones"]
    (zone,) = [z for z in zones if z["cell_count"] == len(dead)]
    assert zone["operators_affected"] == []  # no operator is named by these reports


def test_a_measured_signal_needs_its_operator(client):
    items = [reading_in(CENTRE, device="p1", dbm=-100.0, mnc=None)]
    answer = post(client, items)
    assert answer["accepted"] == 0 and answer["rejected_readings"] == 1
    (problem,) = answer["rejected"]
    assert (problem["field"], problem["code"]) == ("mnc", "unknown_with_signal")
    # The field is required: null is "unknown", a forgotten mnc is an error.
    forgotten = reading_in(CENTRE, device="p1", level=0, radio="unknown")
    del forgotten["mnc"]
    answer = post(client, [forgotten])
    assert answer["rejected_readings"] == 1
    assert [p["field"] for p in answer["rejected"]] == ["mnc"]
