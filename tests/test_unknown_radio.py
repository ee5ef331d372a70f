"""Manual reports that do not know their radio, on SQLite and PostGIS: evidence about the
operator (its decision over all radios and the best of all), never about one radio."""

from __future__ import annotations

import h3

from service.api.routes.coverage import CellCollection
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

BBOX = "108.0,12.6,108.1,12.75"


def statuses(client, **params) -> dict[str, str]:
    response = client.get("/v1/cells", params={"bbox": BBOX, **params})
    assert response.status_code == 200, response.text
    body = CellCollection.model_validate(response.json())
    return {f.properties.h3: f.properties.status for f in body.features}


def test_unknown_radio_report_counts_for_its_operator(client, settings, sessions):
    dead = sorted(h3.grid_disk(CENTRE, 1))
    bars = sorted(h3.grid_ring(CENTRE, 4))
    # Four reports of three residents per cell (one reported again the next day): the least
    # evidence of a dead call (tests/test_decisions.py::least_dead).
    items = [
        reading_in(c, device=f"n{c}{i % 3}", level=0, radio="unknown", days_ago=1 + i)
        for c in dead
        for i in range(4)
    ]
    items += [
        reading_in(c, device=f"b{c}{i}", level=3, radio="unknown") for c in bars for i in range(3)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    for operator in ("452-04", "any"):
        any_signal = statuses(client, operator=operator)
        assert {any_signal[c] for c in dead} == {"dead"}
        assert {any_signal[c] for c in bars} == {"covered"}
    # An unknown radio is not a radio: no per-radio decision comes of it.
    for radio in ("lte", "umts", "nr", "gsm"):
        assert statuses(client, operator="452-04", radio=radio) == {}
