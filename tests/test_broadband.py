"""The broadband scope (LTE or NR only) beside any signal, on SQLite and PostGIS: a phone on
3G is a phone without broadband; a resident's "no signal" says no broadband either, while
"has signal, radio unknown" counts for any signal only (``service.engine.decisions``)."""

from __future__ import annotations

import h3

from service.api.routes.coverage import CellCollection
from tests.coverage_helpers import CENTRE, decide, ingest, reading_in

BBOX = "108.0,12.6,108.1,12.75"
THREE_G = sorted(h3.grid_ring(CENTRE, 2))  # Viettel reaches phones here on 3G only
FOUR_G = [CENTRE]
SILENT = sorted(h3.grid_ring(CENTRE, 5))  # residents report no service, radio unknown
BARS = sorted(h3.grid_ring(CENTRE, 7))  # residents report 3 bars, radio unknown


def statuses(client, **params) -> dict[str, str]:
    response = client.get("/v1/cells", params={"bbox": BBOX, **params})
    assert response.status_code == 200, response.text
    body = CellCollection.model_validate(response.json())
    assert body.radio == params.get("radio", "any")
    return {f.properties.h3: f.properties.status for f in body.features}


def three_devices(cells, **kind) -> list[dict]:
    return [
        reading_in(c, device=f"{kind}{c}{i}", days_ago=1 + i, **kind)
        for c in cells
        for i in range(3)
    ]


def seed(sessions, settings) -> None:
    items = three_devices(THREE_G, radio="umts", dbm=-80.0)
    items += three_devices(FOUR_G, radio="lte", dbm=-85.0)
    items += three_devices(SILENT, radio="unknown", no_service=True)
    items += three_devices(BARS, radio="unknown", level=3)
    ingest(sessions, settings, items)
    decide(sessions, settings)


def test_a_cell_reached_only_on_3g_is_covered_for_any_signal_and_dead_for_broadband(
    client, settings, sessions
):
    seed(sessions, settings)
    for operator in ("452-04", "any"):
        any_signal = statuses(client, operator=operator, radio="any")
        broadband = statuses(client, operator=operator, radio="broadband")
        assert {any_signal[c] for c in THREE_G} == {"covered"}
        assert {broadband[c] for c in THREE_G} == {"dead"}
        assert any_signal[FOUR_G[0]] == broadband[FOUR_G[0]] == "covered"
    # The 3G readings are decisions of their own radio, as before.
    umts = statuses(client, operator="452-04", radio="umts")
    assert {umts[c] for c in THREE_G} == {"covered"}


def test_unknown_radio_reports_count_for_the_operator_no_signal_for_broadband_too(
    client, settings, sessions
):
    seed(sessions, settings)
    for operator in ("452-04", "any"):
        any_signal = statuses(client, operator=operator, radio="any")
        broadband = statuses(client, operator=operator, radio="broadband")
        # No service at all: no broadband either.
        assert {any_signal[c] for c in SILENT} == {"dead"}
        assert {broadband[c] for c in SILENT} == {"dead"}
        # Bars on a phone that does not say its radio: signal, maybe 3G, maybe 4G.
        assert {any_signal[c] for c in BARS} == {"covered"}
        assert not set(BARS) & set(broadband)


def test_broadband_best_of_all_takes_the_best_operator(client, settings, sessions):
    # Viettel on 3G only, MobiFone on LTE: broadband for everyone is MobiFone's.
    cells = sorted(h3.grid_ring(CENTRE, 3))
    items = three_devices(cells, radio="umts", dbm=-80.0)
    items += three_devices(cells, radio="lte", dbm=-90.0, mnc=1)
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert {statuses(client, operator="452-04", radio="broadband")[c] for c in cells} == {"dead"}
    assert {statuses(client, operator="452-01", radio="broadband")[c] for c in cells} == {"covered"}
    assert {statuses(client, operator="any", radio="broadband")[c] for c in cells} == {"covered"}


def test_broadband_on_the_tasks_and_the_coverage_map(client, settings, sessions):
    seed(sessions, settings)
    tasks = client.get("/v1/tasks", params={"radio": "broadband"})
    assert tasks.status_code == 200, tasks.text
    assert tasks.json()["radio"] == "broadband"
    page = client.get("/maps/coverage.html", params={"radio": "broadband"})
    assert page.status_code == 200, page.text
    bad = client.get("/v1/cells", params={"bbox": BBOX, "radio": "4g"})
    assert bad.status_code == 422
    assert "radio" in bad.text
