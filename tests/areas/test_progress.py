"""Progress numbers on a small hand-made grid, snapshots idempotent per day, the trend."""

from __future__ import annotations

from datetime import date, timedelta

import h3
import pytest
from shapely.geometry import Point, box
from sqlalchemy import func, select

from domain.localtime import vietnam_date
from service.areas.progress import (
    PROVINCE,
    PanelStep,
    measure_progress,
    panel_trend,
    take_snapshot,
)
from service.store.database import session_scope
from service.store.models import CellEstimate, ProgressSnapshot, Site
from service.timestamps import utcnow
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


@pytest.fixture
def grid(tmp_path, settings, sessions):
    """C1 holds V1 (800 people: 200 at CENTRE, 100 per neighbour), C2 holds V2 (400: 100
    at FAR, 50 per neighbour). CENTRE covered, RING[0] dead, RING[1] weak, FAR dead; every
    other populated cell has no decision."""
    one = box(LON - 0.02, LAT - 0.02, LON + 0.02, LAT + 0.02)
    two = box(LON + 0.03, LAT + 0.03, LON + 0.07, LAT + 0.07)
    communes = [
        {"code": "C1", "name": "One", "geometry": one},
        {"code": "C2", "name": "Two", "geometry": two},
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", communes))
    villages = [village("V1", "A", CENTRE, 800), village("V2", "B", FAR, 400, commune="C2")]
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    put_statuses(sessions, {CENTRE: "covered", RING[0]: "dead", RING[1]: "weak", FAR: "dead"})


def test_progress_numbers_on_a_hand_made_grid(grid, settings, sessions):
    open_zone(sessions, [FAR])
    open_zone(sessions, [RING[0]], "dz-any-y")
    open_zone(sessions, [h3.latlng_to_cell(LAT + 0.3, LON, 9)], "dz-any-z", state="planned")
    with sessions() as session:
        areas = measure_progress(session, settings, now=NOW)
    province, one, two = areas[PROVINCE], areas["C1"], areas["C2"]
    assert province.population == 1200
    assert (province.people_covered, province.people_weak) == (300, 100)
    assert (province.people_dead, province.people_unknown) == (200, 700)
    assert province.covered_share == pytest.approx(0.25)
    assert (province.villages_lom_song, province.villages_trang_song) == (1, 1)
    assert province.villages_covered == province.villages_unknown == 0
    assert province.zones_open == 2  # the planned zone is not open
    assert province.evidence_median_age_days == pytest.approx(3.0)
    assert (one.population, one.people_covered, one.people_dead) == (800, 300, 100)
    assert one.covered_share == pytest.approx(300 / 800) and one.villages_lom_song == 1
    assert (two.population, two.people_covered, two.people_dead) == (400, 0, 100)
    assert two.villages_trang_song == 1 and one.zones_open == two.zones_open == 1


def test_unknown_and_unmeasured_people_are_not_covered(grid, settings, sessions):
    put_statuses(sessions, {c: "unknown" for c in RING[2:]})
    with sessions() as session:
        province = measure_progress(session, settings, now=NOW)[PROVINCE]
    assert province.people_unknown == 700 and province.covered_share == pytest.approx(0.25)


def test_people_split_into_measured_estimated_and_unknown(grid, settings, sessions):
    # Estimates for a measured cell (ignored: measured stays measured), an unmeasured cell
    # estimated dead, one estimated covered, and one the estimate reaches without a status.
    guesses = {CENTRE: "dead", RING[2]: "dead", RING[3]: "covered", RING[4]: None}
    with session_scope(sessions) as session:
        for cell, status in guesses.items():
            lat, lon = h3.cell_to_latlng(cell)
            session.add(
                CellEstimate(
                    h3_cell=h3.str_to_int(cell), operator="any", resolution=9, lat=lat,
                    lon=lon, p_dead=0.95 if status == "dead" else 0.3, p_covered=0.0,
                    estimate_dbm=-120.0, estimate_sd=5.0, inferred_status=status,
                    evidence_distance_m=200.0,
                )
            )  # fmt: skip
    with sessions() as session:
        province = measure_progress(session, settings, now=NOW)[PROVINCE]
    assert (province.people_covered, province.people_dead) == (300, 200)
    assert (province.people_estimated_dead, province.people_estimated_covered) == (100, 100)
    assert province.people_unknown == 500 and province.covered_share == pytest.approx(0.25)


def test_snapshot_twice_on_one_day_keeps_one_row_per_area(grid, settings, sessions):
    with session_scope(sessions) as session:
        assert take_snapshot(session, settings, now=NOW) == 3
    put_statuses(sessions, {c: "covered" for c in RING})
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=NOW + timedelta(hours=3))
    with sessions() as session:
        rows = session.scalars(select(ProgressSnapshot).order_by(ProgressSnapshot.area)).all()
        assert [(r.day, r.area) for r in rows] == [
            (NOW.date(), "C1"), (NOW.date(), "C2"), (NOW.date(), PROVINCE)
        ]  # fmt: skip
        assert rows[2].people_covered == 800  # the later snapshot of the day replaced
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=NOW + timedelta(days=1))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProgressSnapshot)) == 6


def test_progress_endpoint_returns_the_series_and_the_trend(grid, settings, sessions, client):
    for days, covered in ((0, {}), (7, {RING[2]: "covered"}), (14, {RING[3]: "covered"})):
        put_statuses(sessions, covered)
        with session_scope(sessions) as session:
            take_snapshot(session, settings, now=NOW + timedelta(days=days))
    body = client.get("/v1/progress").json()
    assert [p["day"] for p in body["series"]] == [
        (NOW.date() + timedelta(days=d)).isoformat() for d in (0, 7, 14)
    ]
    assert [p["people_covered"] for p in body["series"]] == [300, 400, 500]
    # The default deadline is 31 December of Vietnam's year (the route's today), which from
    # 17:00 UTC on 31 December is already the next one: not the test machine's year.
    year = vietnam_date(utcnow()).year
    assert body["goal"] == {
        "covered_share": 1.0, "deadline": f"{year}-12-31", "radio": "broadband"
    }  # fmt: skip
    assert body["radio"] == "broadband"  # the goal's scope, which the snapshots measured
    assert body["trend"]["snapshots_used"] == 3
    one = client.get(
        "/v1/progress", params={"area": "C1", "from": str(NOW.date() + timedelta(days=1))}
    )
    assert [p["day"] for p in one.json()["series"]] == [
        (NOW.date() + timedelta(days=d)).isoformat() for d in (7, 14)
    ]
    missing = client.get("/v1/progress", params={"area": "nowhere"})
    assert missing.status_code == 404 and missing.json()["field"] == "area"
    backwards = client.get("/v1/progress", params={"from": "2026-02-01", "to": "2026-01-01"})
    assert backwards.status_code == 422 and backwards.json()["field"] == "from"


D0 = date(2026, 1, 1)


def steps(*changes: tuple[int, float, float]) -> list[PanelStep]:
    """Weekly panel steps of 1000 people: (week, covered before, covered after)."""
    return [
        PanelStep(D0 + timedelta(days=7 * w), D0 + timedelta(days=7 * (w - 1)), 1000.0, b, a)
        for w, b, a in changes
    ]


def verdict(panel: list[PanelStep], **levels: float | None) -> str:
    args = {"measured_share": 0.5, "level": 0.8, "unknown_share": 0.1} | levels
    return panel_trend(panel, goal=1.0, deadline=date(2026, 12, 31), **args)["status"]


def test_verdict_from_the_panel_of_places_measured_twice():
    rising = steps((1, 800, 820), (2, 820, 840), (3, 840, 860))  # +2 %/week: 100 % by August
    assert verdict(rising) == "on_track"
    flat = steps((1, 800, 800), (2, 800, 800), (3, 800, 800))
    assert verdict(flat) == "behind"
    # The rate wobbles around a value that may or may not reach the goal: cannot tell.
    noisy = steps((1, 800, 830), (2, 830, 800), (3, 800, 831))
    assert verdict(noisy) == "not_enough_evidence"
    assert verdict(rising[:1]) == "not_enough_evidence"  # one step is no rate
    assert verdict(rising, unknown_share=0.7) == "not_enough_evidence"
    assert verdict(flat, measured_share=1.0) == "reached"
    late = panel_trend(rising, goal=1.0, deadline=date(2026, 12, 31), today=date(2027, 1, 2),
                       measured_share=0.9, level=0.9, unknown_share=0.0)  # fmt: skip
    assert late["status"] == "behind"  # the deadline passed unmet


def test_verdict_rate_and_the_day_the_projection_meets_the_goal():
    result = panel_trend(
        steps((1, 500, 570), (2, 570, 640)), goal=0.9, deadline=date(2026, 12, 31),
        measured_share=0.5, level=0.64, unknown_share=0.0,
    )  # fmt: skip
    assert result["slope_per_day"] == pytest.approx(0.01)
    assert result["goal_met_on"] == (D0 + timedelta(days=14 + 26)).isoformat()
    assert result["projected_share"] == 1.0  # clipped at 100%
    assert result["panel_steps"] == 2 and result["panel_people"] == 1000


def test_a_rate_barely_above_zero_projects_no_day_rather_than_failing():
    """The province demo's panel gained a few people in a million a week: the goal's day
    lay past the calendar's end, and the progress page and the demo failed on it."""
    creeping = [
        PanelStep(D0 + timedelta(days=7 * w), D0 + timedelta(days=7 * (w - 1)), 1e6,
                  900_000.0 + 0.01 * (w - 1), 900_000.0 + 0.01 * w)
        for w in (1, 2, 3)
    ]  # fmt: skip
    result = panel_trend(creeping, goal=0.99, deadline=date(2026, 12, 31),
                         measured_share=0.9, level=0.9, unknown_share=0.0)  # fmt: skip
    assert result["slope_per_day"] > 0
    assert result["goal_met_on"] is None
    assert result["status"] == "behind"


def test_newly_measured_covered_places_do_not_make_the_province_on_track(
    grid, settings, sessions, client
):
    # Each week a place never measured before turns out covered: the covered share rises,
    # coverage does not. Then a dead place of the panel gets a signal: that is progress.
    for days, covered in ((0, {}), (7, {RING[2]: "covered"}), (14, {RING[3]: "covered"})):
        put_statuses(sessions, covered)
        with session_scope(sessions) as session:
            take_snapshot(session, settings, now=NOW + timedelta(days=days))
    trend = client.get("/v1/progress").json()["trend"]
    assert trend["slope_per_day"] == 0 and trend["status"] == "behind"
    assert trend["panel_steps"] == 2 and trend["panel_people"] == 600
    put_statuses(sessions, {RING[0]: "covered"})
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=NOW + timedelta(days=21))
    series = client.get("/v1/progress").json()
    newest = series["series"][-1]
    assert (newest["panel_people"], newest["panel_covered_before"], newest["panel_covered"]) == (
        700,
        500,
        600,
    )
    assert newest["panel_since"] == (NOW.date() + timedelta(days=14)).isoformat()
    assert series["trend"]["slope_per_day"] > 0


def test_goal_and_deadline_are_settings(grid, settings, sessions):
    from service.areas.progress import progress_series

    custom = settings.model_copy(
        update={"goal_covered_share": 0.3, "goal_deadline": date(2027, 6, 30)}
    )
    with session_scope(sessions) as session:
        take_snapshot(session, custom, now=NOW)
    put_statuses(sessions, {RING[2]: "covered"})
    with session_scope(sessions) as session:
        take_snapshot(session, custom, now=NOW + timedelta(days=7))
    with sessions() as session:
        body = progress_series(
            session, custom, area=PROVINCE, start=None, end=None, today=NOW.date()
        )
    assert body["goal"] == {"covered_share": 0.3, "deadline": "2027-06-30", "radio": "broadband"}
    assert body["trend"]["status"] == "reached"  # 400 of 1200 people: 33% >= 30%


@pytest.mark.parametrize("site", [True, False])
def test_a_place_made_stale_by_a_new_site_keeps_its_place_in_the_panel(
    grid, settings, sessions, site
):
    # RING[0] is dead; a site dated inside the window goes on air beside it, its old dead
    # call becomes unknown (service.engine.new_sites), then readings since show it covered.
    # With the site known, the place stays in the panel with its last measured status, and
    # its signal shows as progress; without it, it left the panel and never counts.
    if site:
        lat, lon = h3.cell_to_latlng(RING[0])
        with session_scope(sessions) as session:
            session.add(
                Site(radio="lte", mcc=452, mnc=4, operator="452-04", area=1, cell=9, unit=None,
                     lat=lat, lon=lon, range_m=None, samples=None, changeable=False,
                     created=NOW + timedelta(days=3), updated=None, average_signal=None,
                     geom=Point(lon, lat), imported_at=NOW)
            )  # fmt: skip
    panels = []
    # RING[1], weak, also goes unknown: a site makes no signal stale, so it leaves.
    weeks = ((0, {}), (7, {RING[0]: "unknown", RING[1]: "unknown"}), (14, {RING[0]: "covered"}))
    for days, statuses in weeks:
        put_statuses(sessions, statuses)
        with session_scope(sessions) as session:
            take_snapshot(session, settings, now=NOW + timedelta(days=days))
        with sessions() as session:
            row = session.get(ProgressSnapshot, (NOW.date() + timedelta(days=days), PROVINCE))
            panels.append((row.panel_people, row.panel_covered_before, row.panel_covered))
    # CENTRE covered (200 people), RING[0] (100), RING[1] weak (100), FAR dead (100).
    if site:
        assert panels[1:] == [(400, 200, 200), (400, 200, 300)]
    else:
        assert panels[1:] == [(300, 200, 200), (300, 200, 200)]
