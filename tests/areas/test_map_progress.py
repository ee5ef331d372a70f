"""The progress map and the plan layer from stored areas: ``service.publish.mapdata``,
``GET /maps/progress.html``, ``GET /maps/deadzones.html?sites=`` and ``deadzone map``."""

from __future__ import annotations

import html
import json
from datetime import UTC, timedelta

import h3
import pytest
from shapely.geometry import box
from sqlalchemy import delete, update
from typer.testing import CliRunner

from maps.encoding import json_for_script, text_to_ints
from maps.i18n import LABELS
from service.areas.planning import site_model
from service.cli import app as cli
from service.publish.mapdata import plan_sites_records, progress_records, zone_records
from service.store.database import session_scope
from service.store.models import DeadZone
from service.store.versions import areas_fingerprint
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

HOSTILE = "<img src=x onerror=alert(1)>"
TEMPLATE = "Xã {{ 7*7 }}"
RING = h3.grid_ring(CENTRE, 1)
FAR = h3.latlng_to_cell(LAT + 0.05, LON + 0.05, 9)
# Beyond any planned site's reach from the others (the default model reaches ~7.6 km).
REMOTE = h3.latlng_to_cell(LAT + 0.3, LON, 9)


@pytest.fixture
def grid(tmp_path, settings, sessions):
    """C1 (a hostile name) holds V1 (hostile too, 800 people: lõm sóng), C2 holds V2 (400,
    trắng sóng); V3 (200, trắng sóng) names a commune C3 that has no outline. Open zones at
    RING[0], FAR and REMOTE."""
    one = box(LON - 0.02, LAT - 0.02, LON + 0.02, LAT + 0.02)
    two = box(LON + 0.03, LAT + 0.03, LON + 0.07, LAT + 0.07)
    communes = [
        {"code": "C1", "name": HOSTILE, "geometry": one},
        {"code": "C2", "name": TEMPLATE, "geometry": two},
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", communes))
    villages = [
        village("V1", HOSTILE, CENTRE, 800),
        village("V2", "Buôn Đôn", FAR, 400, commune="C2"),
        village("V3", "Buôn Xa", REMOTE, 200, commune="C3"),
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    put_statuses(
        sessions,
        {CENTRE: "covered", RING[0]: "dead", RING[1]: "weak", FAR: "dead", REMOTE: "dead"},
    )
    open_zone(sessions, [RING[0]], "dz-any-a")
    open_zone(sessions, [FAR], "dz-any-b")
    open_zone(sessions, [REMOTE], "dz-any-c")


def test_progress_records_carry_shares_statuses_and_outlines(grid, settings, sessions):
    with sessions() as session:
        communes, villages = progress_records(session, settings)
    assert [c.code for c in communes] == ["C1", "C2"]  # C3 has no outline to draw
    one, two = communes
    assert one.name == HOSTILE and one.geometry.area == pytest.approx(0.04**2)
    assert (one.population, one.people_covered) == (800, 300)
    assert one.covered_share == pytest.approx(300 / 800)
    assert (one.villages_lom_song, one.villages_trang_song, one.zones_open) == (1, 0, 1)
    assert two.covered_share == 0.0 and two.villages_trang_song == 1
    by_code = {v.code: v for v in villages}
    assert by_code["V1"].status == "lom_song" and by_code["V1"].centre_status == "covered"
    assert by_code["V1"].people_dead == 100 and by_code["V1"].cells == 7
    assert by_code["V2"].status == "trang_song" and by_code["V3"].commune_code == "C3"


def test_progress_page_route_escapes_names_and_follows_imports(
    grid, settings, sessions, client, tmp_path
):
    page = client.get("/maps/progress.html")
    assert page.status_code == 200
    text = page.text
    assert 'src="/maps/assets/deadzone/deadzone.js"' in text
    assert "deadzone.progressLayers(" in text
    assert "<img src=x" not in text
    assert "\\u0026lt;img src=x onerror=alert(1)\\u0026gt;" in text
    assert "Xã {{ 7*7 }}" in text and "Xã 49" not in text
    for layer in ("Thôn, buôn trắng sóng", "Thôn, buôn lõm sóng", "Xã: tỷ lệ dân có sóng"):
        assert layer in text
    assert client.get("/maps/progress.html").text == text, "kept until something changes"
    english = client.get("/maps/progress.html", params={"lang": "en"}).text
    assert "Villages: no signal at the centre (trắng sóng)" in english

    # A village import changes the page without an aggregation run: the cache must see it.
    with sessions() as session:
        before = areas_fingerprint(session)
    more = [village("V4", "Buôn Mới", RING[3], 50)]
    import_areas(sessions, settings, write_layer(tmp_path / "v4.geojson", more))
    with sessions() as session:
        assert areas_fingerprint(session) != before
    after = client.get("/maps/progress.html").text
    assert after != text and "Buôn Mới" in after
    assert client.get("/maps/progress.html", params={"lang": "fr"}).status_code == 422


def test_deadzone_page_draws_the_plan_of_the_same_operator(grid, settings, sessions, client):
    plain = client.get("/maps/deadzones.html").text
    assert "deadzone.siteLayer(" not in plain
    planned = client.get("/maps/deadzones.html", params={"sites": 2}).text
    assert "deadzone.siteLayer(" in planned
    assert json.dumps("Vị trí trạm đề xuất") in planned  # the layer control's entry
    radius_m = round(round(site_model(settings).radius_km, 3) * 1000, 1)
    assert planned.count(f'"radius":{radius_m}') == 2  # one circle per site
    assert "Buôn Xa" in planned  # the remote village is the second site's
    assert client.get("/maps/deadzones.html", params={"sites": 2}).text == planned
    assert client.get("/maps/deadzones.html", params={"sites": 101}).status_code == 422
    assert client.get("/maps/deadzones.html", params={"sites": -1}).status_code == 422


def test_dead_zone_map_names_villages_and_leads_with_people(grid, sessions, client):
    """A planner reads a zone by who it leaves without signal: the list and the popup give
    the people and the villages' names (a code the areas do not know stays a code) with their
    communes (a province has a "Thôn 1" in most); the zone's id comes last in the popup, for
    a commitment or a ticket."""
    with session_scope(sessions) as session:
        session.execute(
            update(DeadZone)
            .where(DeadZone.id == "dz-any-b")
            .values(villages=["V2", "V1", "V9"], population=1234, area_km2=0.5)
        )
    with sessions() as session:
        records = {z.id: z for z in zone_records(session)}
    assert records["dz-any-b"].villages == ["Buôn Đôn", HOSTILE, "V9"]
    assert records["dz-any-b"].village_communes == [TEMPLATE, HOSTILE, ""]
    assert records["dz-any-a"].villages is None
    payload = client.get("/maps/deadzones.html", params={"lang": "en"}).text
    zones = [z for z in _zone_payload(payload) if z["rank"] == 1 and "Buôn Đôn" in z["label"]]
    assert len(zones) == 1
    zone = zones[0]
    assert zone["label"] == f"1,234 people · Buôn Đôn ({TEMPLATE}) +2 · 0.50 km²"
    popup = zone["popup"]
    assert "V2" not in popup and html.escape(HOSTILE) in popup and HOSTILE not in popup
    rows = popup.split("<tr>")[1:]
    assert rows[0].startswith("<th>Population</th><td>1,234</td>")
    hostile = html.escape(HOSTILE)
    assert rows[1].startswith(
        f"<th>Villages</th><td>Buôn Đôn ({TEMPLATE}); {hostile} ({hostile}); V9</td>"
    )
    assert rows[-1].startswith("<th>Zone id</th><td>dz-any-b</td>")


def test_dead_zone_map_refuses_what_it_would_ignore(grid, client):
    """A parameter the map does not take, a plan parameter without a plan layer, or one the
    plan refuses: a 422 naming it, never the default map drawn as if it applied."""
    for params, field in (
        ({"bandd": 700, "sites": 2}, "bandd"),
        ({"band": 700}, "band"),
        ({"mast_height": 45}, "mast_height"),
        ({"band": 800, "sites": 2}, "band"),
        ({"road_distance": 500, "sites": 2}, "road_distance"),
    ):
        answer = client.get("/maps/deadzones.html", params=params)
        assert answer.status_code == 422, params
        assert field in answer.text, (params, answer.text)
    assert client.get("/maps/coverage.html", params={"colour": "red"}).status_code == 422
    assert client.get("/maps/progress.html", params={"operator": "any"}).status_code == 422
    assert client.get("/maps/deadzones.html", params={"commune": "NOPE"}).status_code == 404
    drawn = client.get("/maps/deadzones.html", params={"commune": "C2", "sites": 1})
    assert drawn.status_code == 200
    [zone] = _zone_payload(drawn.text)  # of the three zones, FAR's alone lies in C2
    assert "dz-any-b" in zone["popup"]


def test_maps_are_dated_by_their_newest_reading_not_by_the_run(grid, sessions, client):
    """Decisions whose newest reading is of 17 November, computed on 4 December: the map
    says "data up to 17/11/2026" (it said the day of the run, as if the readings were
    fresh); before any run there is no date to give."""
    from datetime import datetime

    from service.publish.mapdata import data_date
    from service.store.models import AggregationRun

    with sessions() as session:
        assert data_date(session) is None  # no run yet
    run_at = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
    with session_scope(sessions) as session:
        session.add(AggregationRun(finished_at=run_at, max_seq=0, cells=0, zones=0))
    with sessions() as session:
        newest = data_date(session)
    assert newest is not None and newest.astimezone(UTC) == NOW - timedelta(days=3)
    page = client.get("/maps/deadzones.html").text
    assert "Dữ liệu đến ngày: 17/11/2026" in page and "04/12/2026" not in page
    english = client.get("/maps/coverage.html", params={"lang": "en"}).text
    assert "Data up to: 2026-11-17" in english


def _zone_payload(page: str) -> list[dict]:
    """The zones the page hands ``deadzone.zoneLayer``: its first argument after the map."""
    start = page.index("deadzone.zoneLayer(")
    start = page.index("[", start)
    zones, _ = json.JSONDecoder().raw_decode(page[start:])
    return zones


def test_served_maps_outline_the_imported_communes(grid, tmp_path, settings, sessions, client):
    """Offline the tiles are blank: the coverage and dead-zone maps draw the communes (names
    escaped, as the progress map's) so a zone or a cell can be placed; not only the demo's
    written maps did. A commune imported after a page was served is on it at once (the
    kept pages are keyed by the imports, as the progress map's)."""
    paths = ("/maps/deadzones.html", "/maps/coverage.html")
    for path in paths:
        text = client.get(path).text
        assert "deadzone.outlineLayer(" in text, path
        assert json.dumps("Ranh giới hành chính") in text, path  # the layer control's entry
        escaped = json_for_script(html.escape(HOSTILE))  # as the page's script holds it
        assert escaped in text and HOSTILE not in text, path
        assert "Xã Mới Nhập" not in text
    three = box(LON - 0.08, LAT - 0.08, LON - 0.04, LAT - 0.04)
    communes = [{"code": "C3", "name": "Xã Mới Nhập", "geometry": three}]
    import_areas(sessions, settings, write_layer(tmp_path / "c3.geojson", communes))
    for path in paths:
        assert json_for_script("Xã Mới Nhập") in client.get(path).text, path


def test_served_coverage_map_of_an_operator_without_readings_says_so(grid, client):
    """Only the best of all operators has decisions here: Vietnamobile's page is no error,
    it says in the page's language that there is nothing to draw, over the communes."""
    for lang in ("vi", "en"):
        page = client.get("/maps/coverage.html", params={"operator": "452-05", "lang": lang})
        assert page.status_code == 200, page.text
        said = LABELS[lang]["coverage.no_data_operator"].format(operator="Vietnamobile (452-05)")
        assert json_for_script(html.escape(said)) in page.text
        assert "deadzone.outlineLayer(" in page.text
    drawn = client.get("/maps/coverage.html", params={"operator": "any"}).text
    assert '"empty"' not in drawn


def test_dead_zone_map_without_decisions_does_not_say_no_dead_zones(grid, client):
    """Vietnamobile has no decided cell: its map without zones says nothing is known yet,
    not the good news "no dead zones", which an operator with decisions and no zone gets."""
    unknown = client.get("/maps/deadzones.html", params={"operator": "452-05"}).text
    assert json_for_script(html.escape(LABELS["vi"]["zone.no_data"])) in unknown
    assert json_for_script(LABELS["vi"]["zone.none"]) not in unknown
    english = client.get("/maps/deadzones.html", params={"operator": "452-05", "lang": "en"})
    assert json_for_script(html.escape(LABELS["en"]["zone.no_data"])) in english.text
    decided = client.get("/maps/deadzones.html").text  # the best of all: zones, decisions
    assert json_for_script(html.escape(LABELS["vi"]["zone.no_data"])) not in decided


def test_dead_zone_map_with_decisions_and_no_zone_says_no_dead_zones(settings, sessions, client):
    put_statuses(sessions, {CENTRE: "covered"})
    page = client.get("/maps/deadzones.html").text
    assert json_for_script(LABELS["vi"]["zone.none"]) in page


def test_written_coverage_map_without_decisions_says_so(settings, sessions, tmp_path):
    target = tmp_path / "c.html"
    result = run("map", "coverage", "-o", str(target), "--database-url", settings.database_url)
    assert result.exit_code == 0, result.output
    said = html.escape(LABELS["vi"]["coverage.no_data"])
    assert json_for_script(said) in target.read_text(encoding="utf-8")


def test_written_coverage_map_takes_the_operator(grid, settings, tmp_path):
    """`deadzone map coverage --operator` draws that operator's layer alone, as the web map's
    operator= does; it had been taken for the dead-zone map only and ignored here."""
    alone, every = tmp_path / "alone.html", tmp_path / "every.html"
    url = settings.database_url
    result = run("map", "coverage", "--operator", "452-05", "-o", str(alone), "--database-url", url)
    assert result.exit_code == 0, result.output
    said = LABELS["vi"]["coverage.no_data_operator"].format(operator="Vietnamobile (452-05)")
    assert json_for_script(html.escape(said)) in alone.read_text(encoding="utf-8")
    result = run("map", "coverage", "-o", str(every), "--database-url", url)
    assert result.exit_code == 0, result.output
    assert '"empty"' not in every.read_text(encoding="utf-8")  # the best of all is drawn


def test_plan_sites_records_take_the_plan_radius():
    plan = {
        "model": {"radius_km": 4.25},
        "sites": [
            {"rank": 1, "h3": "89", "lat": 12.7, "lon": 108.0, "people_new": 10.5,
             "people_cumulative": 10.5, "villages": [{"code": "V1", "name": HOSTILE}]},
        ],
    }  # fmt: skip
    (site,) = plan_sites_records(plan)
    assert (site.rank, site.radius_km, site.people_new, site.villages) == (1, 4.25, 10.5, [HOSTILE])
    assert site.village_communes == [""]
    (site,) = plan_sites_records(plan, communes={"V1": TEMPLATE})
    assert site.village_communes == [TEMPLATE]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def test_map_command_writes_the_progress_map_and_the_plan(grid, settings, sessions, tmp_path):
    db = ("--database-url", settings.database_url)
    result = run("map", "--out", str(tmp_path / "all"), *db)
    assert result.exit_code == 0, result.output
    for name in ("coverage.html", "deadzones.html", "progress.html"):
        assert (tmp_path / "all" / name).is_file(), name
    progress = (tmp_path / "all" / "progress.html").read_text(encoding="utf-8")
    assert "<script src=" not in progress and "deadzone.progressLayers(" in progress
    assert "<img src=x" not in progress

    english = tmp_path / "p.html"
    result = run("map", "progress", "-o", str(english), "--lang", "en", *db)
    assert result.exit_code == 0, result.output
    assert "No population data" in english.read_text(encoding="utf-8")

    zones = tmp_path / "z.html"
    result = run("map", "deadzones", "--sites", "2", "-o", str(zones), *db)
    assert result.exit_code == 0, result.output
    page = zones.read_text(encoding="utf-8")
    assert page.count('"radius":') == 2 and "Buôn Xa" in page
    assert run("map", "deadzones", "--sites", "101", *db).exit_code == 2

    # The broadband scope, as /maps/deadzones.html?radio=broadband: its zones and a title
    # that names it; a scope the maps do not know is refused by name.
    with session_scope(sessions) as session:  # one zone is not a broadband zone any more
        session.execute(delete(DeadZone).where(DeadZone.id == "dz-bb-any-c"))
    any_signal, broadband = tmp_path / "any.html", tmp_path / "bb.html"
    assert run("map", "deadzones", "-o", str(any_signal), *db).exit_code == 0
    result = run("map", "deadzones", "--radio", "broadband", "-o", str(broadband), *db)
    assert result.exit_code == 0, result.output
    page = broadband.read_text(encoding="utf-8")
    assert "(băng rộng di động 4G, 5G)" in page and page.count('"rank":') == 2
    assert any_signal.read_text(encoding="utf-8").count('"rank":') == 3
    wrong = run("map", "deadzones", "--radio", "lte", *db)
    assert wrong.exit_code == 2 and "--radio" in wrong.output


def test_progress_payload_lists_villages_by_status(grid, settings, sessions):
    from maps import MapMeta
    from maps.progress import VILLAGE_INTS, progress_payload

    with sessions() as session:
        communes, villages = progress_records(session, settings)
    spec, _ = progress_payload(communes, villages, meta=MapMeta("t"), goal_share=0.95)
    places = spec["places"]
    assert places[2] == "C3"  # a commune known only from its villages: named by its code
    dead = spec["villages"]["trang_song"]
    assert dead["names"] == ["Buôn Đôn", "Buôn Xa"]
    ints = text_to_ints(dead["data"])
    rows = [ints[i : i + VILLAGE_INTS] for i in range(0, len(ints), VILLAGE_INTS)]
    assert [row[2] for row in rows] == [401, 201]  # population + 1
    assert [row[6] for row in rows] == [2, 3]  # commune place + 1
    assert [row[8] for row in rows] == [0, 0]  # measured dead: no likely status


def test_a_commitment_that_plans_a_zone_changes_the_kept_progress_page(
    grid, settings, sessions, client
):
    """A commitment moving a best-of-all zone to planned lowers its commune's open zones
    without a run: the kept progress page must show it (found in review)."""
    from datetime import timedelta

    from service.areas.audit import Actor
    from service.areas.commitments import create_commitment, update_commitment
    from service.timestamps import utcnow

    before = client.get("/maps/progress.html").text
    authority = Actor(name="so-tt-daklak", may_assign=True, operators=None)
    viettel = Actor(name="viettel-daklak", may_assign=False, operators=frozenset({"452-04"}))
    with session_scope(sessions) as session:
        made = create_commitment(
            session, settings, actor=authority, operator="452-04", zone_id="dz-any-a",
            due=utcnow().date() + timedelta(days=60), now=utcnow(),
        )  # fmt: skip
        update_commitment(session, settings, made.id, actor=viettel, state="planned",
                          now=utcnow())  # fmt: skip
    with sessions() as session:
        communes, _ = progress_records(session, settings)
    assert communes[0].zones_open == 0
    assert client.get("/maps/progress.html").text != before
