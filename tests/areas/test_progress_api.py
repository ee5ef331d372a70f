"""The tables behind /progress and /plan: per-area progress, villages by status, dead zones,
as JSON (checked against their response models) and as CSV/GeoJSON downloads that open
safely in a spreadsheet."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import h3
import pytest
from shapely.geometry import box
from sqlalchemy import update

from domain.localtime import vietnam_date
from service.api.routes.areas import AreaTable, VillageList
from service.api.routes.coverage import ZoneList, ZoneProperties
from service.areas.progress import PROVINCE, area_table, progress_series
from service.publish.exports import BOM, safe_cell
from service.store.database import session_scope
from service.store.models import AggregationRun, DeadZone
from tests.areas.conftest import (
    CENTRE,
    LAT,
    LON,
    NOW,
    import_areas,
    open_zone,
    put_statuses,
    village,
    write_layer,
)

RING = h3.grid_ring(CENTRE, 1)
FAR = h3.latlng_to_cell(LAT + 0.05, LON + 0.05, 9)
NEAR = h3.latlng_to_cell(LAT - 0.012, LON, 9)
FORMULA = '=HYPERLINK("http://evil.example/","click")'
DATED = r"\d{4}-\d{2}-\d{2}"


@pytest.fixture
def grid(tmp_path, settings, sessions):
    """C1 "Ea Ktur" holds V1 "Buôn Đôn" (800 people over CENTRE and its ring) and V3 (100
    people at NEAR, never measured); C2, whose name is a spreadsheet formula, holds V2 (400
    people at FAR); C3 has nobody. CENTRE covered, RING[0] dead, RING[1] weak, FAR dead:
    V1 lõm sóng, V2 trắng sóng, V3 unknown. Two open zones: FAR and RING[0]."""

    def commune(code: str, name: str, dx: float, dy: float, size: float) -> dict:
        square = box(LON + dx, LAT + dy, LON + dx + size, LAT + dy + size)
        return {"code": code, "name": name, "geometry": square}

    communes = [
        commune("C1", "Ea Ktur", -0.02, -0.02, 0.04),
        commune("C2", FORMULA, 0.03, 0.03, 0.04),
        commune("C3", "Krông Búk", -0.1, -0.1, 0.03),
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", communes))
    villages = [
        village("V1", "Buôn Đôn", CENTRE, 800),
        village("V2", "<img src=x onerror=alert(1)>", FAR, 400, commune="C2"),
        village("V3", "-2+3", NEAR, 100),
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    put_statuses(sessions, {CENTRE: "covered", RING[0]: "dead", RING[1]: "weak", FAR: "dead"})
    open_zone(sessions, [FAR], "dz-any-far")
    open_zone(sessions, [RING[0]], "dz-any-ring")
    with session_scope(sessions) as session:
        session.execute(
            update(DeadZone)
            .where(DeadZone.id == "dz-any-far")
            .values(villages=["V2"], population=100.0, priority=150.0, rank=1)
        )
        session.execute(
            update(DeadZone)
            .where(DeadZone.id == "dz-any-ring")
            .values(villages=["V1"], population=100.0, priority=120.0, rank=2)
        )


def read_csv(response) -> list[dict[str, str]]:
    """The rows of a CSV download, after checking it is one: UTF-8 with BOM, attachment."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(BOM.encode("utf-8"))
    text = response.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def filename(response) -> str:
    disposition = response.headers["content-disposition"]
    match = re.fullmatch(r'attachment; filename="([A-Za-z0-9_.-]+)"', disposition)
    assert match, disposition
    return match.group(1)


def test_area_table_lists_the_province_then_the_communes_by_gap(grid, sessions, client):
    response = client.get("/v1/progress/areas")
    assert response.status_code == 200
    body = AreaTable.model_validate(response.json())
    assert body.aggregated_at is None  # nothing aggregated yet: the page says so
    assert [a.code for a in body.areas] == ["province", "C1", "C2", "C3"]
    province, c1, c2, c3 = body.areas
    assert province.kind == "province" and province.name is None
    assert (province.population, province.people_covered) == (1300, 300)
    assert province.covered_share == pytest.approx(300 / 1300)
    assert province.gap_people == 1000 and province.gap_share == pytest.approx(1 - 300 / 1300)
    assert (province.villages_trang_song, province.villages_lom_song) == (1, 1)
    assert (province.villages_covered, province.villages_unknown) == (0, 1)
    assert province.zones_open == 2
    assert (c1.name, c1.population, c1.people_covered, c1.people_dead) == ("Ea Ktur", 900, 300, 100)
    assert c1.gap_people == 600 and c1.gap_share == pytest.approx(2 / 3)
    assert (c1.villages_lom_song, c1.villages_unknown, c1.zones_open) == (1, 1, 1)
    assert (c2.name, c2.covered_share, c2.gap_people, c2.villages_trang_song) == (
        FORMULA, 0.0, 400, 1
    )  # fmt: skip
    assert c3.population == 0 and c3.covered_share is None and c3.gap_share is None
    assert body.goal.covered_share == 1.0


def test_area_table_is_stamped_with_the_last_aggregation(grid, sessions, client):
    with session_scope(sessions) as session:
        for n, at in enumerate((NOW - timedelta(days=2), NOW)):
            session.add(AggregationRun(finished_at=at, max_seq=n, cells=0, zones=0))
    body = client.get("/v1/progress/areas").json()
    assert body["aggregated_at"] == NOW.isoformat()


def test_area_table_and_series_give_the_same_default_deadline_on_new_years_eve(
    grid, settings, sessions
):
    # 18:00 UTC on 31 December is 1 January in Dak Lak: both tables name next year's goal
    # (the area table once took the UTC day and kept the old year for seven hours). The series
    # is handed Vietnam's day as its route hands it (routes/areas.py): what is pinned here is
    # the area table's own choice of day.
    eve = datetime(2026, 12, 31, 18, tzinfo=UTC)
    with session_scope(sessions, write=False) as session:
        table = area_table(session, settings, now=eve)
        series = progress_series(
            session, settings, area=PROVINCE, start=None, end=None, today=vietnam_date(eve)
        )
    assert table["goal"]["deadline"] == series["goal"]["deadline"] == "2027-12-31"


def test_area_gap_follows_the_goal_setting(grid, settings, client):
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    custom = settings.model_copy(update={"goal_covered_share": 0.25})
    with TestClient(create_app(custom)) as other:
        areas = {a["code"]: a for a in other.get("/v1/progress/areas").json()["areas"]}
    assert areas["C1"]["gap_people"] == 0 and areas["C1"]["gap_share"] == 0  # 1/3 >= 1/4
    assert areas["C2"]["gap_people"] == 100 and areas["C2"]["gap_share"] == 0.25


def test_area_table_as_a_csv_download(grid, client):
    response = client.get("/v1/progress/areas", params={"format": "csv"})
    rows = read_csv(response)
    assert re.fullmatch(f"deadzone-progress-areas-{DATED}.csv", filename(response))
    assert [r["code"] for r in rows] == ["province", "C1", "C2", "C3"]
    assert rows[1]["name"] == "Ea Ktur" and float(rows[1]["gap_people"]) == 600
    assert rows[2]["name"] == "'" + FORMULA  # shown as text, never run as a formula
    assert rows[3]["covered_share"] == "" and rows[0]["name"] == ""


def test_villages_filtered_by_status(grid, client):
    def codes(*statuses: str) -> list[str]:
        response = client.get("/v1/villages", params={"status": list(statuses)})
        assert response.status_code == 200
        return [v.code for v in VillageList.model_validate(response.json()).villages]

    assert codes() == ["V1", "V2", "V3"]
    assert codes("trang_song") == ["V2"]
    assert codes("trang_song", "lom_song") == ["V1", "V2"]
    assert codes("unknown") == ["V3"] and codes("covered") == []
    bad = client.get("/v1/villages", params={"status": "dark"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"].startswith("status")
    assert "trang_song" in bad.json()["errors"][0]["reason"]


def test_villages_as_csv_keep_vietnamese_names_and_defuse_formulas(grid, client):
    response = client.get(
        "/v1/villages", params={"status": ["trang_song", "lom_song", "unknown"], "format": "csv"}
    )
    rows = {r["code"]: r for r in read_csv(response)}
    assert re.fullmatch(
        f"deadzone-villages-any-trang_song-lom_song-unknown-{DATED}.csv", filename(response)
    )
    assert "Buôn Đôn".encode() in response.content  # UTF-8, not a code page
    assert rows["V1"]["name"] == "Buôn Đôn" and rows["V1"]["commune_name"] == "Ea Ktur"
    assert rows["V1"]["status"] == "lom_song" and float(rows["V1"]["people_dead"]) == 100
    assert rows["V2"]["commune_name"] == "'" + FORMULA
    assert rows["V2"]["name"] == "<img src=x onerror=alert(1)>"  # not a formula: as it is
    assert rows["V3"]["name"] == "'-2+3"
    bad = client.get("/v1/villages", params={"format": "xlsx"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"


def test_deadzones_json_stays_paged(grid, client):
    body = ZoneList.model_validate(client.get("/v1/deadzones").json())
    assert (body.total, body.limit) == (2, 50)
    assert [z.id for z in body.zones] == ["dz-any-far", "dz-any-ring"]
    one = client.get("/v1/deadzones", params={"limit": 1, "offset": 1}).json()
    assert [z["id"] for z in one["zones"]] == ["dz-any-ring"] and one["limit"] == 1


def test_deadzones_as_csv_in_rank_order_with_village_names(grid, client):
    response = client.get("/v1/deadzones", params={"format": "csv"})
    rows = read_csv(response)
    assert re.fullmatch(f"deadzone-deadzones-any-{DATED}.csv", filename(response))
    assert [(r["rank"], r["id"]) for r in rows] == [("1", "dz-any-far"), ("2", "dz-any-ring")]
    assert rows[0]["village_names"] == "<img src=x onerror=alert(1)>"
    assert rows[1]["villages"] == "V1" and rows[1]["village_names"] == "Buôn Đôn"
    # Each village's commune: "Thôn 1" alone names a dozen places in a province.
    assert rows[1]["village_communes"] == "Ea Ktur"
    assert rows[0]["village_communes"] == "'" + FORMULA  # a formula stays text
    assert float(rows[0]["population"]) == 100 and rows[0]["devices"] == "3"
    limited = read_csv(client.get("/v1/deadzones", params={"format": "csv", "limit": 1}))
    assert [r["id"] for r in limited] == ["dz-any-far"]


def test_deadzones_as_geojson(grid, client):
    response = client.get("/v1/deadzones", params={"format": "geojson", "operator": "any"})
    assert response.headers["content-type"] == "application/geo+json"
    assert re.fullmatch(f"deadzone-deadzones-any-{DATED}.geojson", filename(response))
    body = response.json()
    assert body["type"] == "FeatureCollection"
    far, ring = body["features"]
    assert far["id"] == "dz-any-far" and far["geometry"]["type"] == "MultiPolygon"
    ZoneProperties.model_validate(far["properties"])
    assert far["properties"]["village_names"] == ["<img src=x onerror=alert(1)>"]
    lon, lat = far["geometry"]["coordinates"][0][0][0]
    assert (
        abs(lat - h3.cell_to_latlng(FAR)[0]) < 0.01 and abs(lon - h3.cell_to_latlng(FAR)[1]) < 0.01
    )
    bad = client.get("/v1/deadzones", params={"format": "kml"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "format"
    assert client.get("/v1/deadzones", params={"limit": 0}).status_code == 422


def test_plan_downloads_are_dated_and_safe(grid, client):
    response = client.get("/v1/plan", params={"sites": 2, "format": "csv"})
    rows = read_csv(response)
    assert re.fullmatch(f"deadzone-sites-any-2-{DATED}.csv", filename(response))
    assert rows, "no site suggested"
    assert rows[0]["model"].endswith("rural") and float(rows[0]["radius_km"]) > 1
    names = {n for r in rows for n in r["village_names"].split(";")}
    assert "<img src=x onerror=alert(1)>" in names
    geo = client.get("/v1/plan", params={"sites": 2, "format": "geojson"})
    assert re.fullmatch(f"deadzone-sites-any-2-{DATED}.geojson", filename(geo))
    assert len(geo.json()["features"]) == len(rows)


def test_a_plans_sheet_says_what_the_plan_assumed(grid, client):
    """Every row names the operator, scope, band, mast, EIRP, calibration and terrain the
    plan assumed, and a plan of another band is another file: a 700 MHz sheet and an 1800
    MHz one had the same columns and the same name."""
    asked = {"sites": 2, "format": "csv", "band": 700, "mast_height": 45}
    response = client.get("/v1/plan", params=asked)
    rows = read_csv(response)
    assert rows and re.fullmatch(f"deadzone-sites-any-700mhz-2-{DATED}.csv", filename(response))
    assert {(r["operator"], r["radio"], r["band_mhz"], r["mast_height_m"]) for r in rows} == {
        ("any", "any", "700", "45.0")
    }
    assert {r["eirp_dbm"] for r in rows} == {"61.0"} and {r["terrain"] for r in rows} == {
        "flat terrain"
    }
    assert all(r["calibration_db"] != "" for r in rows)
    default = read_csv(client.get("/v1/plan", params={"sites": 2, "format": "csv"}))
    assert {r["band_mhz"] for r in default} == {"1800"}


def test_no_areas_yet_gives_the_province_alone(client):
    body = AreaTable.model_validate(client.get("/v1/progress/areas").json())
    [province] = body.areas
    assert province.population == 0 and province.covered_share is None
    assert province.gap_people == 0 and body.aggregated_at is None
    rows = read_csv(client.get("/v1/progress/areas", params={"format": "csv"}))
    assert [r["code"] for r in rows] == ["province"]
    assert client.get("/v1/villages", params={"format": "csv"}).content == (
        BOM + ",".join(
            ["code", "name", "commune_code", "commune_name", "population", "lat", "lon",
             "status", "centre_status", "cells", "cells_dead", "cells_unknown", "people_dead",
             "likely_status", "likely_probability"]
        ) + "\r\n"
    ).encode()  # fmt: skip


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+2", "'=1+2"),
        ("+33 1", "'+33 1"),
        ("-Buôn", "'-Buôn"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Buôn Ma Thuột", "Buôn Ma Thuột"),
        ("a=b", "a=b"),
        (-12.5, -12.5),
        (0, 0),
        (None, ""),
        (["V1", "=V2"], "V1;'=V2"),
        ("Thôn;=1+1", "Thôn;=1+1"),  # one quoted cell: csv_text quotes all text
        (["=V1"], "'=V1"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_prefixed(value, cell):
    assert safe_cell(value) == cell


def test_csv_text_quotes_every_text_cell_so_no_list_separator_splits_it():
    from service.publish.exports import csv_text

    text = csv_text(["name", "villages", "people"], [["Thôn;=1+1", ["V1", "=V2"], 12.5]])
    assert text.splitlines()[1] == '"Thôn;=1+1","V1;\'=V2",12.5'


def test_villages_of_an_unknown_commune_are_a_404_naming_the_field(grid, client):
    answer = client.get("/v1/villages", params={"commune": "no-such"})
    assert answer.status_code == 404 and answer.json()["field"] == "commune"
