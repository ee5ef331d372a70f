"""The broadband scope (LTE or NR only) beside any signal, on SQLite and PostGIS: a phone on
3G is a phone without broadband; a resident's "no signal" says no broadband either, while
"has signal, radio unknown" counts for any signal only (``service.engine.decisions``)."""

from __future__ import annotations

import h3
import pytest

from service.api.routes.coverage import CellCollection
from tests.coverage_helpers import CENTRE, NOW, decide, ingest, reading_in

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


def both_scopes(client) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(any signal, broadband) statuses for Viettel and for the best of all operators."""
    return [
        (statuses(client, operator=operator, radio="any"),
         statuses(client, operator=operator, radio="broadband"))
        for operator in ("452-04", "any")
    ]  # fmt: skip


def three_devices(cells, **kind) -> list[dict]:
    """Four readings of three devices per cell (one device twice): enough for any decision,
    dead included (Wilson bound 0.51 over four readings)."""
    return [
        reading_in(c, device=f"{kind}{c}{i % 3}", days_ago=1 + i, **kind)
        for c in cells
        for i in range(4)
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
    for any_signal, broadband in both_scopes(client):
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
    for any_signal, broadband in both_scopes(client):
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
    assert "(băng rộng di động 4G, 5G)" in page.text
    bad = client.get("/v1/cells", params={"bbox": BBOX, "radio": "4g"})
    assert bad.status_code == 422
    assert "radio" in bad.text


# Villages, progress and plans in both scopes: one village reached by Viettel on 3G only,
# one on LTE (its centre 2 bars or more, the cells around it 1 bar).
ON_3G = h3.grid_disk(h3.latlng_to_cell(12.75, 108.2, 9), 1)
ON_LTE = h3.grid_disk(h3.latlng_to_cell(12.55, 107.9, 9), 1)


def seed_villages(sessions, settings, tmp_path) -> None:
    from tests.areas.conftest import import_areas, village, write_layer

    centre_3g, centre_lte = ON_3G[0], ON_LTE[0]
    path = write_layer(
        tmp_path / "villages.geojson",
        [
            village("V3G", "Buôn Ba Gờ", centre_3g, 700, commune=None),
            village("VLTE", "Buôn Bốn Gờ", centre_lte, 400, commune=None),
        ],
    )
    import_areas(sessions, settings, path, kind="village")
    items = three_devices(ON_3G, radio="umts", dbm=-80.0)
    items += three_devices([centre_lte], radio="lte", dbm=-85.0)
    items += three_devices([c for c in ON_LTE if c != centre_lte], radio="lte", dbm=-110.0)
    ingest(sessions, settings, items)
    decide(sessions, settings)


def village_statuses(client, **params) -> dict[str, str]:
    response = client.get("/v1/villages", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["radio"] == params.get("radio", "any")
    return {v["code"]: v["status"] for v in body["villages"]}


def test_villages_progress_and_plan_in_the_broadband_scope(client, settings, sessions, tmp_path):
    from service.areas.progress import take_snapshot
    from service.store.database import session_scope

    seed_villages(sessions, settings, tmp_path)
    assert village_statuses(client) == {"V3G": "covered", "VLTE": "covered"}
    assert village_statuses(client, radio="broadband") == {"V3G": "trang_song", "VLTE": "covered"}
    assert village_statuses(client, radio="broadband", operator="452-04") == {
        "V3G": "trang_song", "VLTE": "covered"
    }  # fmt: skip

    def province(**params) -> dict:
        response = client.get("/v1/progress/areas", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["goal"]["radio"] == settings.goal_radio == "broadband"
        return body["radio"], body["areas"][0]

    radio, goal_scope = province()
    assert radio == "broadband"  # the goal's scope by default
    _, broadband = province(radio="broadband")
    _, any_signal = province(radio="any")
    assert broadband == goal_scope
    assert any_signal["people_covered"] == 1100
    assert broadband["people_covered"] == 400 and broadband["people_dead"] == 700
    # Weak (1 bar) apart from covered: the LTE village's ring is weak, its centre covered.
    assert 0 < broadband["people_weak"] < broadband["people_covered"]
    assert broadband["people_well_covered"] == pytest.approx(
        broadband["people_covered"] - broadband["people_weak"], abs=0.1
    )
    assert broadband["well_covered_share"] == pytest.approx(
        broadband["people_well_covered"] / broadband["population"], abs=1e-3
    )

    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=NOW)
    series = client.get("/v1/progress").json()
    assert series["radio"] == "broadband"
    assert [p["people_covered"] for p in series["series"]] == [400]
    assert series["series"][0]["people_well_covered"] == broadband["people_well_covered"]
    # Snapshots are taken in the goal's scope: any signal has none.
    assert client.get("/v1/progress", params={"radio": "any"}).json()["series"] == []

    plan = client.get("/v1/plan", params={"operator": "452-04", "radio": "broadband"})
    assert plan.status_code == 200, plan.text
    assert plan.json()["radio"] == "broadband"
    assert plan.json()["people_without_signal"] == 700
    assert plan.json()["sites"]
    nothing = client.get("/v1/plan", params={"operator": "452-04", "radio": "any"}).json()
    assert nothing["people_without_signal"] == 0 and not nothing["sites"]

    page = client.get("/maps/progress.html", params={"radio": "broadband"})
    assert page.status_code == 200, page.text
    assert "(băng rộng di động 4G, 5G)" in page.text  # the map says its scope
    other = client.get("/maps/progress.html", params={"radio": "any", "lang": "en"})
    assert "(any signal)" in other.text
    bad = client.get("/v1/villages", params={"radio": "3g"})
    assert bad.status_code == 422 and "radio" in bad.text


def zones(client, **params) -> list[dict]:
    response = client.get("/v1/deadzones", params=params)
    assert response.status_code == 200, response.text
    return response.json()["zones"]


def test_dead_zones_in_each_scope(client, settings, sessions):
    """The 3G-only ring is a broadband dead zone and no zone of any signal; the silent
    ring is dead in both scopes, so it is a zone of each."""
    seed(sessions, settings)
    for operator in ("452-04", "any"):
        any_signal = zones(client, operator=operator)
        assert zones(client, operator=operator, radio="any") == any_signal  # the default
        broadband = zones(client, operator=operator, radio="broadband")
        assert {z["radio"] for z in any_signal} == {"any"}
        assert {z["radio"] for z in broadband} == {"broadband"}
        zone_cells = {z["id"]: set(client.get(f"/v1/deadzones/{z['id']}").json()["cells"])
                      for z in any_signal + broadband}  # fmt: skip
        assert [zone_cells[z["id"]] for z in any_signal] == [set(SILENT)]
        assert sorted(map(sorted, (zone_cells[z["id"]] for z in broadband))) == sorted(
            [sorted(THREE_G), sorted(SILENT)]
        )
        assert not {z["id"] for z in any_signal} & {z["id"] for z in broadband}
        ring = next(z for z in broadband if zone_cells[z["id"]] == set(THREE_G))
        assert ring["cell_count"] == len(THREE_G) and ring["rank"] in (1, 2)
        assert ring["operators_affected"] == ["452-04"]
        assert ring["devices"] == 3 * len(THREE_G)  # the phones found on 3G
    # Exports of the broadband scope: CSV (in Vietnamese), GeoJSON and GeoPackage.
    csv = client.get("/v1/deadzones", params={"radio": "broadband", "format": "csv", "lang": "vi"})
    assert csv.status_code == 200, csv.text
    assert "Loại sóng" in csv.text and "Băng rộng di động (4G, 5G)" in csv.text
    assert "broadband" in csv.headers["content-disposition"]
    geo = client.get("/v1/deadzones", params={"radio": "broadband", "format": "geojson"})
    features = geo.json()["features"]
    assert len(features) == 2 and {f["properties"]["radio"] for f in features} == {"broadband"}
    gpkg = client.get("/v1/deadzones", params={"radio": "broadband", "format": "gpkg"})
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    # The dead-zone map of the broadband scope says its scope.
    page = client.get("/maps/deadzones.html", params={"radio": "broadband"})
    assert page.status_code == 200, page.text
    assert "Vùng mất sóng" in page.text and "(băng rộng di động 4G, 5G)" in page.text
    # One radio, or a radio that does not exist, is refused naming the parameter.
    for bad in ("lte", "4g"):
        refused = client.get("/v1/deadzones", params={"radio": bad})
        assert refused.status_code == 422
        assert "radio" in refused.text


def test_broadband_zones_follow_the_incremental_path(client, settings, sessions):
    """A batch that brings LTE to the 3G-only ring closes its broadband zone, on the
    incremental path (the full path is compared with it in tests/test_incremental.py)."""
    from service.jobs import run_aggregation

    seed(sessions, settings)
    (ring,) = [z for z in zones(client, operator="452-04", radio="broadband")
               if z["cell_count"] == len(THREE_G)]  # fmt: skip
    # Twice the phones found on 3G there now find LTE: covered for broadband.
    lte = three_devices(THREE_G, radio="lte", dbm=-85.0)
    ingest(sessions, settings, lte + three_devices(THREE_G, radio="lte", dbm=-84.0))
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None
    left = zones(client, operator="452-04", radio="broadband")
    assert ring["id"] not in {z["id"] for z in left}
    assert [z["cell_count"] for z in left] == [len(SILENT)]


def test_the_goal_scope_is_a_setting(settings, sessions, tmp_path):
    from fastapi.testclient import TestClient
    from pydantic import ValidationError

    from service.api.app import create_app
    from service.settings import Settings

    seed_villages(sessions, settings, tmp_path)
    with TestClient(create_app(settings.model_copy(update={"goal_radio": "any"}))) as other:
        body = other.get("/v1/progress/areas").json()
    assert body["radio"] == body["goal"]["radio"] == "any"
    assert body["areas"][0]["people_covered"] == 1100  # 3G counts as signal here
    with pytest.raises(ValidationError, match="goal_radio"):
        Settings(database_url=settings.database_url, goal_radio="lte")
