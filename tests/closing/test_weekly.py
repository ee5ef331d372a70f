"""The weekly report: villages whose status changed, zones opened and closed, people covered
per commune, against the snapshot of a week ago; commitments counted per operator."""

from __future__ import annotations

from datetime import datetime, timedelta

import h3
import pytest
from shapely.geometry import box
from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from service.areas.changes import weekly_changes
from service.areas.progress import take_snapshot
from service.engine.results import store_zones
from service.store.database import session_scope
from service.store.models import AggregationRun, DeadZone
from service.store.runs import first_zoning, remember_first_zoning
from tests.areas.conftest import (
    CENTRE,
    LAT,
    LON,
    NOW,
    import_areas,
    open_zone,
    put_statuses,
    scoped_id,
    village,
    write_layer,
)

FAR = h3.latlng_to_cell(LAT + 0.05, LON + 0.05, 9)


def created(session: Session, when: datetime, *where: ColumnElement[bool]) -> None:
    """Date the zones (those matching ``where``) as written by a run at ``when``."""
    session.execute(update(DeadZone).where(*where).values(created_at=when))


@pytest.fixture
def week(tmp_path, settings, sessions):
    """A week ago: V1 (C1) covered, V2 (C2) trắng sóng, zone Z-old open. Now: V2 covered,
    Z-old closed, Z-new opened at V1's neighbour (V1 becomes lõm sóng)."""
    communes = [
        {"code": "C1", "name": "Ea Tu", "geometry": box(LON - 0.02, LAT - 0.02, LON + 0.02,
                                                        LAT + 0.02)},
        {"code": "C2", "name": "Hoa Xuan", "geometry": box(LON + 0.03, LAT + 0.03, LON + 0.07,
                                                           LAT + 0.07)},
    ]  # fmt: skip
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", communes))
    villages = [village("V1", "Buon A", CENTRE, 800), village("V2", "Buon B", FAR, 400,
                                                               commune="C2")]  # fmt: skip
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    ring = sorted(h3.grid_ring(CENTRE, 1))
    put_statuses(sessions, {CENTRE: "covered", FAR: "dead", **dict.fromkeys(ring, "covered")})
    open_zone(sessions, [FAR], "dz-any-old")
    with session_scope(sessions) as session:
        session.execute(
            update(DeadZone).values(
                created_at=NOW - timedelta(days=30), updated_at=NOW - timedelta(days=3)
            )
        )
        take_snapshot(session, settings, now=NOW - timedelta(days=8))
    put_statuses(sessions, {FAR: "covered", ring[0]: "dead"})
    with session_scope(sessions) as session:
        session.execute(update(DeadZone).values(active=False))
    open_zone(sessions, [ring[0]], "dz-any-new")
    return ring


def test_changes_since_last_week(week, settings, sessions):
    with session_scope(sessions, write=False) as session:
        found = weekly_changes(session, settings, now=NOW)
    assert found["since"] == (NOW - timedelta(days=8)).date().isoformat()
    moved = {v["code"]: (v["before"], v["now"]) for v in found["villages"]}
    assert moved == {"V1": ("covered", "lom_song"), "V2": ("trang_song", "covered")}
    # The zones of the goal's scope (broadband by default), as the villages.
    goal = settings.goal_radio
    assert [z["id"] for z in found["zones_opened"]] == [scoped_id("dz-any-new", goal)]
    assert [z["id"] for z in found["zones_closed"]] == [scoped_id("dz-any-old", goal)]
    by_code = {c["code"]: c for c in found["communes"]}
    # V2 spreads 400 people: 100 in its centre cell, now covered (its ring is unmeasured)
    assert by_code["C2"]["change"] == pytest.approx(100, abs=1)
    assert by_code["C1"]["change"] < 0  # V1's neighbour went dead
    assert found["communes"][0]["code"] == "province"


def test_without_snapshots_there_is_no_baseline(settings, sessions):
    with session_scope(sessions, write=False) as session:
        found = weekly_changes(session, settings, now=NOW)
    assert (found["since"], found["villages"], found["communes"]) == (None, [], [])


def test_weekly_endpoint_names_the_province(week, client):
    body = client.get("/v1/progress/weekly").json()
    assert body["province"] == "Đắk Lắk"
    assert body["operators"] == []
    assert body["since"] is not None  # the snapshot of 8 days before the fixed NOW


def test_a_scope_mapped_for_the_first_time_is_not_news(week, settings, sessions):
    """The first run after the upgrade that added broadband zones finds every one of them at
    once: the report counts them apart, it does not announce them as opened."""
    goal = settings.goal_radio
    with session_scope(sessions) as session:
        # The goal's scope had no zone before this week: both its zones come from one run.
        created(session, NOW - timedelta(days=1), DeadZone.radio == goal)
        found = weekly_changes(session, settings, now=NOW)
    assert found["zones_opened"] == []
    assert found["zones_first_mapped"] == 2
    # A zone found by a later run of the same scope is news again.
    open_zone(sessions, [FAR], "dz-any-later", radios=(goal,))
    with session_scope(sessions, write=False) as session:
        found = weekly_changes(session, settings, now=NOW)
    assert [z["id"] for z in found["zones_opened"]] == [scoped_id("dz-any-later", goal)]
    assert found["zones_first_mapped"] == 2


def test_a_scope_whose_first_run_found_no_zone_announces_its_later_zones(settings, sessions):
    """The scope's first full run grouped no zone: a zone a later run finds is news on the
    ground, listed as opened (the oldest zone is not taken for the first run)."""
    goal = settings.goal_radio
    with session_scope(sessions) as session:
        store_zones(session, [], now=NOW - timedelta(days=2))  # the first run: nothing dead
    open_zone(sessions, [FAR], "dz-any-first-dead", radios=(goal,))
    with session_scope(sessions) as session:
        created(session, NOW - timedelta(days=1))
        found = weekly_changes(session, settings, now=NOW)
    assert [z["id"] for z in found["zones_opened"]] == [scoped_id("dz-any-first-dead", goal)]
    assert found["zones_first_mapped"] == 0


def test_a_store_zoned_before_the_record_keeps_its_first_run(week, settings, sessions):
    """A store whose zones predate the record of the first run: the next full run
    remembers the scope's oldest zone as its first run, so the zones that run finds anew
    are opened, not first mapped."""
    goal = settings.goal_radio
    with session_scope(sessions) as session:
        created(session, NOW - timedelta(days=1), DeadZone.radio == goal)
    open_zone(sessions, [FAR], "dz-any-next", radios=(goal,))  # written by the next run
    with session_scope(sessions) as session:
        created(session, NOW, DeadZone.id == scoped_id("dz-any-next", goal))
        remember_first_zoning(session, now=NOW)
        assert first_zoning(session, goal) == NOW - timedelta(days=1)
        found = weekly_changes(session, settings, now=NOW)
    assert scoped_id("dz-any-next", goal) in [z["id"] for z in found["zones_opened"]]
    assert found["zones_first_mapped"] == 2


def test_an_upgraded_store_without_zones_in_a_scope_dates_it_from_its_first_run(settings, sessions):
    """A store with runs before the record and no zone in the goal's scope: the scope was
    first computed by the first run, so a zone a later run (full or incremental) finds is
    opened, not first mapped."""
    goal = settings.goal_radio
    with session_scope(sessions) as session:
        session.add(
            AggregationRun(
                finished_at=NOW - timedelta(days=30), max_seq=0, cells=0, zones=0, scopes=None
            )
        )
    open_zone(sessions, [FAR], "dz-any-found", radios=(goal,))  # written by this run, at NOW
    with session_scope(sessions) as session:
        remember_first_zoning(session, now=NOW)
        assert first_zoning(session, goal) == NOW - timedelta(days=30)
        found = weekly_changes(session, settings, now=NOW)
    assert [z["id"] for z in found["zones_opened"]] == [scoped_id("dz-any-found", goal)]
    assert found["zones_first_mapped"] == 0
