"""Tasks for village teams (GET /v1/tasks): people first, evidence settles, walkable lists."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone

import h3
import numpy as np
import pyogrio
import pytest
from h3.api import basic_int as h3i
from sqlalchemy import select
from typer.testing import CliRunner

from service.api.routes.tasks import TaskCollection
from service.areas.tasks import FAR_KM, _disks, nearby, rank_tasks
from service.cli import app as cli
from service.store.database import session_scope
from service.store.models import CellEstimate
from tests.areas.conftest import import_areas, village, write_layer
from tests.coverage_helpers import NOW, decide, ingest, reading_in

# Three places 3 km apart near Buon Ma Thuot.
HAMLET = h3.latlng_to_cell(12.68, 108.05, 9)  # people, two phones saw no service
FIELD = h3.latlng_to_cell(12.68, 108.08, 9)  # nobody lives here; same two phones' worth
TOWN = h3.latlng_to_cell(12.71, 108.05, 9)  # people, measured covered


def no_service_from_two_phones(cell: str, tag: str) -> list[dict]:
    return [
        reading_in(cell, device=f"{tag}-{d}", no_service=True, days_ago=1 + k)
        for d in range(2)
        for k in range(3)
    ]


def seed_world(tmp_path, settings, sessions) -> None:
    villages = [
        village("V1", "Buôn Hamlet", HAMLET, 300, commune="C1"),
        village("V2", "Town", TOWN, 300, commune="C1"),
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    items = no_service_from_two_phones(HAMLET, "h") + no_service_from_two_phones(FIELD, "f")
    items += [
        reading_in(cell, device=f"t{cell}{d}", dbm=-85.0, days_ago=1 + d)
        for cell in h3.grid_disk(TOWN, 1)
        for d in range(3)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)


def test_populated_cell_with_two_phones_of_no_service_outranks_an_empty_field(
    tmp_path, settings, sessions, client
):
    seed_world(tmp_path, settings, sessions)
    response = client.get("/v1/tasks", params={"limit": 500})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = TaskCollection.model_validate(response.json())
    ranked = [f.properties.h3 for f in body.features]
    assert HAMLET in ranked
    hamlet = body.features[ranked.index(HAMLET)].properties
    assert hamlet.reason == "confirm_dead"
    assert hamlet.operators == ["452-04"]
    assert hamlet.people > 0 and hamlet.value > 0
    # The same readings where nobody lives: worth a visit (people pass there), but less.
    assert FIELD in ranked and ranked.index(HAMLET) < ranked.index(FIELD)
    assert hamlet.value > body.features[ranked.index(FIELD)].properties.value
    assert [f.properties.rank for f in body.features] == list(range(1, len(ranked) + 1))
    values = [f.properties.value for f in body.features]
    assert values == sorted(values, reverse=True)
    # Exactly the documented properties, and a point at the cell's centre.
    raw = response.json()["features"][ranked.index(HAMLET)]
    assert set(raw["properties"]) == {"h3", "rank", "reason", "people", "operators", "value"}
    lat, lon = h3.cell_to_latlng(HAMLET)
    assert raw["geometry"] == {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]}
    # The town's measured cells are settled: never a task.
    settled = set(h3.grid_disk(TOWN, 1))
    assert not settled & set(ranked)
    # Every task is on one village's walk: the hamlet's cells and the field (its nearest
    # village centre) on V1's, which holds the most value.
    walks = {v.code: v.tasks for v in body.villages}
    assert sorted(c for walk in walks.values() for c in walk) == sorted(ranked)
    assert body.villages[0].code == "V1"
    assert {HAMLET, FIELD, *(c for c in h3.grid_disk(HAMLET, 1) if c in ranked)} <= set(walks["V1"])


def test_an_empty_cell_that_is_probably_dead_is_offered_with_no_people(
    tmp_path, settings, sessions, client
):
    seed_world(tmp_path, settings, sessions)
    features = client.get("/v1/tasks", params={"limit": 500}).json()["features"]
    by_cell = {f["properties"]["h3"]: f["properties"] for f in features}
    field = by_cell[FIELD]
    assert field["people"] == 0  # people living there; the floor is in the value only
    assert field["reason"] == "confirm_dead" and field["operators"] == ["452-04"]
    assert field["value"] > 0
    # Around the field: cells the estimate reaches, nobody living there, also offered.
    assert {c for c in h3.grid_disk(FIELD, 2) if c in by_cell} - {FIELD}
    # Without the floor (task_cell_weight 0) only people count: the field is worth nothing.
    with sessions() as session:
        zero = settings.model_copy(update={"task_cell_weight": 0.0})
        tasks = rank_tasks(session, zero, limit=500)
    assert FIELD not in {t.h3 for t in tasks}


def twin_around_field(cell: str) -> str:
    """The cell at the same place around the field as ``cell`` around the hamlet."""
    (fi, fj), (ci, cj), (hi, hj) = (h3.cell_to_local_ij(HAMLET, c) for c in (FIELD, cell, HAMLET))
    return h3.local_ij_to_cell(HAMLET, fi + ci - hi, fj + cj - hj)


def test_populated_cells_outrank_empty_cells_of_equal_uncertainty(
    tmp_path, settings, sessions, client
):
    """The hamlet and the field have the same readings, so each hamlet cell has a twin at
    the same place around the field with the same estimate: in the team's list the
    hamlet's populated cells come first, the best of them before the best of their twins,
    where nobody lives, the second before the second, and so on. (One by one they need not:
    a hamlet cell beside visits already listed is worth only what it adds to them.)"""
    seed_world(tmp_path, settings, sessions)
    with sessions() as session:
        estimates = {
            h3.int_to_str(cell): p
            for cell, p in session.execute(
                select(CellEstimate.h3_cell, CellEstimate.p_dead).where(
                    CellEstimate.operator == "452-04", CellEstimate.radio == "any"
                )
            )
        }
    listed = {f["properties"]["h3"]: f["properties"] for f in client.get(
        "/v1/tasks", params={"limit": 500}
    ).json()["features"]}  # fmt: skip
    level = settings.estimate_level
    populated = [c for c in h3.grid_disk(HAMLET, 1) if c in listed and listed[c]["people"] > 0]
    assert len(populated) >= 2  # the hamlet's centre and the cells its people live in
    unlisted = len(listed) + 1
    twins = []
    for cell in populated:
        twin = twin_around_field(cell)
        # Equal uncertainty: close estimates, on the same side of the level that calls dead.
        assert abs(estimates[cell] - estimates[twin]) < 0.03
        assert (estimates[cell] >= level) == (estimates[twin] >= level)
        assert listed.get(twin, {"people": 0})["people"] == 0
        twins.append(listed[twin]["rank"] if twin in listed else unlisted)
    ranks = sorted(listed[cell]["rank"] for cell in populated)
    assert all(rank < other for rank, other in zip(ranks, sorted(twins), strict=True))


def test_a_third_phone_settles_the_cell_and_the_task_goes(tmp_path, settings, sessions, client):
    seed_world(tmp_path, settings, sessions)
    ingest(sessions, settings, [
        reading_in(HAMLET, device="h-third", no_service=True, days_ago=1 + k) for k in range(3)
    ])  # fmt: skip
    decide(sessions, settings)
    body = client.get("/v1/tasks", params={"village": "V1"}).json()
    assert HAMLET not in [f["properties"]["h3"] for f in body["features"]]
    assert all(v["code"] == "V1" for v in body["villages"])


def test_tasks_refuse_a_bad_limit_and_an_unknown_village(tmp_path, settings, sessions, client):
    seed_world(tmp_path, settings, sessions)
    assert client.get("/v1/tasks", params={"limit": 0}).status_code == 422
    missing = client.get("/v1/tasks", params={"village": "NOPE"})
    assert missing.status_code == 404
    assert "NOPE" in missing.text


def test_a_village_without_a_measured_status_gets_a_likely_one(
    tmp_path, settings, sessions, client
):
    seed_world(tmp_path, settings, sessions)
    body = client.get("/v1/villages").json()
    by_code = {v["code"]: v for v in body["villages"]}
    hamlet, town = by_code["V1"], by_code["V2"]
    assert hamlet["status"] == "unknown"  # two phones: one short of a measured decision
    assert hamlet["likely_status"] == "trang_song"
    assert 0.5 <= hamlet["likely_probability"] <= 1.0
    assert town["status"] == "covered"  # measured: no likely status beside it
    assert town["likely_status"] is None and town["likely_probability"] is None


def test_the_village_files_carry_the_likely_status_as_the_list_does(
    tmp_path, settings, sessions, client
):
    """An authority's CSV (either language) and GeoPackage, from the API and from
    ``deadzone export villages``, say what /v1/villages says of an unmeasured village."""
    seed_world(tmp_path, settings, sessions)
    listed = {v["code"]: v for v in client.get("/v1/villages").json()["villages"]}
    p = listed["V1"]["likely_probability"]

    english = client.get("/v1/villages", params={"format": "csv", "lang": "en"})
    rows = {r["code"]: r for r in csv.DictReader(io.StringIO(english.text.lstrip("\ufeff")))}
    assert (rows["V1"]["likely_status"], float(rows["V1"]["likely_probability"])) == (
        "trang_song", p,
    )  # fmt: skip
    assert rows["V2"]["likely_status"] == "" and rows["V2"]["likely_probability"] == ""

    vietnamese = client.get("/v1/villages", params={"format": "csv", "lang": "vi"}).text
    header, *lines = vietnamese.lstrip("\ufeff").splitlines()
    assert "Tình trạng ước tính, chưa đo" in header.split(";")
    hamlet = next(line for line in lines if line.startswith('"V1"'))
    assert "Trắng sóng" in hamlet and f"{p * 100:.1f}".replace(".", ",") in hamlet

    package = tmp_path / "villages.gpkg"
    package.write_bytes(client.get("/v1/villages", params={"format": "gpkg"}).content)
    frame = pyogrio.read_dataframe(package).set_index("code")
    assert frame.loc["V1", "likely_status"] == "trang_song"
    assert frame.loc["V1", "likely_probability"] == pytest.approx(p)

    out = tmp_path / "cli.csv"
    result = CliRunner().invoke(
        cli, ["export", "villages", "--format", "csv", "-o", str(out),
              "--database-url", settings.database_url],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    exported = {r["code"]: r for r in csv.DictReader(io.StringIO(out.read_text("utf-8-sig")))}
    assert exported["V1"]["likely_status"] == "trang_song"


def test_nearby_names_the_residents_village_and_the_nearest_task(
    tmp_path, settings, sessions, client
):
    seed_world(tmp_path, settings, sessions)
    lat, lon = h3.cell_to_latlng(HAMLET)

    # The hamlet's two phones reported 1-3 days ago: both count when the newest of those
    # days falls in this month in Vietnam (UTC+7, no daylight saving), neither when it does
    # not; read before and after the request (a run across the month's turn sees both).
    def expected_reporters() -> int:
        vietnam = timezone(timedelta(hours=7))
        month = datetime.now(vietnam).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return 2 if NOW - timedelta(days=1) >= month else 0

    before = expected_reporters()
    body = client.get("/v1/nearby", params={"lat": lat, "lon": lon}).json()
    village = body["village"]
    assert (village["code"], village["name"], village["status"]) == ("V1", "Buôn Hamlet", "unknown")
    assert village["likely_status"] == "trang_song"
    assert village["reporters_this_month"] in {before, expected_reporters()}
    tasks = client.get("/v1/tasks", params={"limit": 500}).json()["features"]
    nearest = min(
        tasks,
        key=lambda f: h3.great_circle_distance(
            (lat, lon), tuple(reversed(f["geometry"]["coordinates"])), "m"
        ),
    )
    assert body["task"]["h3"] == nearest["properties"]["h3"]
    assert body["task"]["distance_m"] >= 0
    far = client.get("/v1/nearby", params={"lat": 11.0, "lon": 106.0}).json()
    assert far["village"] is None
    assert client.get("/v1/nearby", params={"lat": 99, "lon": 0}).status_code == 422


def test_this_months_reporters_count_from_the_first_in_vietnam(tmp_path, settings, sessions):
    """The reporter page's "this month" starts at 00:00 on the 1st in Buôn Ma Thuột, 17:00
    UTC the day before: two phones at 18:00 UTC on the last day of the UTC month reported
    on the 1st for the village, and one at 16:00 UTC did not (the month before)."""
    import_areas(
        sessions, settings,
        write_layer(tmp_path / "v.geojson", [village("V9", "Buôn Mới", TOWN, 200)]),
    )  # fmt: skip
    first_utc = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def at(moment: datetime, device: str) -> dict:
        reading = reading_in(TOWN, device=device, dbm=-90.0)
        return reading | {"observed_at": moment.isoformat()}

    ingest(sessions, settings, [
        at(first_utc - timedelta(hours=6), "vn-first-a"),  # 01:00 on the 1st in Vietnam
        at(first_utc - timedelta(hours=6, minutes=30), "vn-first-b"),
        at(first_utc - timedelta(hours=8), "last-month"),  # 23:00 the day before in Vietnam
    ])  # fmt: skip
    lat, lon = h3.cell_to_latlng(TOWN)
    with session_scope(sessions) as session:
        body = nearby(session, settings, lat=lat, lon=lon, now=first_utc + timedelta(hours=1))
    assert body["village"]["code"] == "V9"
    assert body["village"]["reporters_this_month"] == 2


def test_a_village_list_holds_the_fields_its_card_holds(tmp_path, settings, sessions, client):
    """The field is on V1's walk in the province's list (its nearest village centre, 3 km):
    the page V1's QR code opens (``?village=V1``) lists it too, and V2's does not."""
    seed_world(tmp_path, settings, sessions)
    province = client.get("/v1/tasks", params={"limit": 500}).json()
    walks = {v["code"]: v["tasks"] for v in province["villages"]}
    assert FIELD in walks["V1"]
    own = client.get("/v1/tasks", params={"village": "V1", "limit": 500}).json()
    assert FIELD in [f["properties"]["h3"] for f in own["features"]]
    assert [v["code"] for v in own["villages"]] == ["V1"] and FIELD in own["villages"][0]["tasks"]
    other = client.get("/v1/tasks", params={"village": "V2", "limit": 500}).json()
    assert FIELD not in [f["properties"]["h3"] for f in other["features"]]


def test_each_disk_lists_the_candidates_around_a_cell_itself_first():
    """``_disks`` looks neighbours up by bisection into the sorted candidates: rows of the
    candidates, padding where a neighbour is none, a pentagon's shorter disk included."""
    pentagon = h3.str_to_int(h3.get_pentagons(9)[0])
    hexagon = h3.str_to_int(HAMLET)
    around = {c for origin in (pentagon, hexagon) for c in h3i.grid_disk(origin, 2)}
    cells = np.array(sorted(c for c in around if c % 3), dtype=np.int64)  # some left out
    rows, distance = _disks(cells, 2)
    pad = len(cells)
    for i, cell in enumerate(cells.tolist()):
        found = [cells[j] for j in rows[i] if j < pad]
        assert found[0] == cell and rows[i, 0] == i
        assert set(found) == {c for c in h3i.grid_disk(cell, 2) if c in set(cells.tolist())}
        assert (distance[i][rows[i] == pad] == FAR_KM).all()
        assert distance[i, 0] == 0.0
