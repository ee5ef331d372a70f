"""Commitments on both databases: each state change, who may make it, the audit trail,
and re-verification that ignores every reading from before on_air_at."""

from __future__ import annotations

from datetime import date, timedelta

import h3
import pytest
from sqlalchemy import select

from service.areas.commitments import (
    create_commitment,
    describe_commitments,
    get_commitment,
    operator_table,
    update_commitment,
    verify,
)
from service.errors import AccessDenied, InvalidInput, NotFound
from service.store.database import session_scope
from service.store.models import DeadZone
from tests.closing.conftest import (
    AUTHORITY,
    VIETTEL,
    VINAPHONE,
    dead_readings,
    good_readings,
    measure_dead_zone,
)
from tests.coverage_helpers import CENTRE, NOW, ingest

SOUTH = sorted(h3.grid_ring(CENTRE, 12))[0]  # another village, about 4 km away
# A due day always ahead of the test's clock (a fixed day turns every refusal into "in the past").
DUE = NOW.date() + timedelta(days=60)


def _zone_of(sessions, cell: str, operator: str = "452-04", *, radio: str = "any") -> DeadZone:
    with sessions() as session:
        zones = session.scalars(
            select(DeadZone).where(
                DeadZone.operator == operator, DeadZone.radio == radio, DeadZone.active.is_(True)
            )
        ).all()
    return next(z for z in zones if cell in z.cells)


def _assign(sessions, settings, zone_id: str, *, due: date | None = None, now=NOW) -> int:
    with session_scope(sessions) as session:
        made = create_commitment(
            session, settings, actor=AUTHORITY, operator="452-04", zone_id=zone_id,
            due=due or (now.date() + timedelta(days=60)), now=now,
        )  # fmt: skip
        return made.id


def _verification(sessions, settings, commitment_id: int, now=NOW):
    with session_scope(sessions, write=False) as session:
        return verify(session, settings, get_commitment(session, commitment_id), now=now)


def test_assigned_commitment_keeps_its_cells_and_is_pending(sessions, settings):
    cells = measure_dead_zone(sessions, settings, CENTRE)
    zone = _zone_of(sessions, CENTRE)
    commitment_id = _assign(sessions, settings, zone.id)
    with session_scope(sessions, write=False) as session:
        made = get_commitment(session, commitment_id)
        (shown,) = describe_commitments(session, settings, [made], now=NOW)
    assert sorted(made.cells) == cells
    assert made.centre == CENTRE
    assert (made.state, made.on_air_at) == ("assigned", None)
    assert shown["verification"] == "pending"
    assert [(e["who"], e["action"]) for e in shown["audit"]] == [("so-tt-daklak", "created")]
    assert shown["audit"][0]["what"]["due"] == (NOW.date() + timedelta(days=60)).isoformat()


def test_only_the_authority_assigns_and_only_the_operator_updates(sessions, settings):
    measure_dead_zone(sessions, settings, CENTRE)
    zone = _zone_of(sessions, CENTRE)
    with session_scope(sessions) as session, pytest.raises(AccessDenied):
        create_commitment(session, settings, actor=VIETTEL, operator="452-04",
                          zone_id=zone.id, due=DUE, now=NOW)  # fmt: skip
    commitment_id = _assign(sessions, settings, zone.id)
    with session_scope(sessions) as session, pytest.raises(AccessDenied, match="452-04"):
        update_commitment(session, settings, commitment_id, actor=VINAPHONE, state="planned",
                          now=NOW)  # fmt: skip
    with session_scope(sessions) as session, pytest.raises(NotFound):
        update_commitment(session, settings, 999, actor=VIETTEL, state="planned", now=NOW)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"zone_id": "dz-nowhere"}, "no dead zone"),
        ({"village": "V404"}, "no village"),
        ({}, "either zone_id or village"),
        ({"zone_id": "Z", "village": "V"}, "either zone_id or village"),
        ({"zone_id": "Z", "operator": "viettel"}, "MCC-MNC"),
        ({"zone_id": "Z", "due": date(2020, 1, 1)}, "in the past"),
    ],
)
def test_bad_assignments_are_refused_naming_the_field(sessions, settings, fields, message):
    measure_dead_zone(sessions, settings, CENTRE)
    zone = _zone_of(sessions, CENTRE)
    args = {"operator": "452-04", "due": DUE, **fields}
    if args.get("zone_id") == "Z":
        args["zone_id"] = zone.id
    with session_scope(sessions) as session, pytest.raises((NotFound, InvalidInput)) as e:
        create_commitment(session, settings, actor=AUTHORITY, now=NOW, **args)
    assert message in e.value.message


def test_due_days_are_vietnams_days(sessions, settings):
    """At 20:00 UTC it is 03:00 the next morning in Vietnam: the UTC day is yesterday there,
    so it is refused as a due day, and a commitment due on it is already overdue."""
    measure_dead_zone(sessions, settings, CENTRE)
    zone = _zone_of(sessions, CENTRE)
    evening = NOW.replace(hour=20, minute=0, second=0) - timedelta(days=1)
    with session_scope(sessions) as session, pytest.raises(InvalidInput) as refused:
        create_commitment(session, settings, actor=AUTHORITY, operator="452-04",
                          zone_id=zone.id, due=evening.date(), now=evening)  # fmt: skip
    tomorrow = (evening + timedelta(days=1)).date().isoformat()
    assert refused.value.message == (
        f"due {evening.date().isoformat()} is in the past (today is {tomorrow} in Vietnam)"
    )
    # At 16:00 UTC it is still 23:00 of that day in Vietnam: the day itself is accepted.
    commitment_id = _assign(sessions, settings, zone.id, due=evening.date(),
                            now=evening - timedelta(hours=4))  # fmt: skip
    assert _verification(sessions, settings, commitment_id, now=evening).status == "overdue"


def test_a_zone_of_another_operator_or_committed_twice_is_refused(sessions, settings):
    measure_dead_zone(sessions, settings, CENTRE)
    zone = _zone_of(sessions, CENTRE)
    _assign(sessions, settings, zone.id)
    with pytest.raises(InvalidInput, match="already"):
        _assign(sessions, settings, zone.id)
    with session_scope(sessions) as session, pytest.raises(InvalidInput, match="not of"):
        create_commitment(session, settings, actor=AUTHORITY, operator="452-02",
                          zone_id=zone.id, due=DUE, now=NOW)  # fmt: skip


def test_each_state_change_is_audited_and_moves_the_zone_state(sessions, settings):
    measure_dead_zone(sessions, settings, CENTRE)
    zone = _zone_of(sessions, CENTRE)
    commitment_id = _assign(sessions, settings, zone.id)
    site = {"name": "Buon Ea Kmat", "lat": 12.68, "lon": 108.05}
    with session_scope(sessions) as session:
        update_commitment(session, settings, commitment_id, actor=VIETTEL, state="planned",
                          site=site, now=NOW + timedelta(hours=1))  # fmt: skip
    assert _zone_of(sessions, CENTRE).state == "planned"
    # the same place's broadband zone (zones are kept per scope) moves with it
    assert _zone_of(sessions, CENTRE, radio="broadband").state == "planned"
    on_air = NOW + timedelta(hours=2)
    with session_scope(sessions) as session:
        update_commitment(session, settings, commitment_id, actor=AUTHORITY, state="on_air",
                          on_air_at=on_air, now=NOW + timedelta(hours=3))  # fmt: skip
    with session_scope(sessions) as session:  # the same again: nothing changed, no row
        update_commitment(session, settings, commitment_id, actor=VIETTEL, state="on_air",
                          on_air_at=on_air, now=NOW + timedelta(hours=4))  # fmt: skip
    with session_scope(sessions, write=False) as session:
        made = get_commitment(session, commitment_id)
        (shown,) = describe_commitments(session, settings, [made], now=NOW + timedelta(hours=5))
    assert (made.state, made.on_air_at, made.site) == ("on_air", on_air, site)
    assert _zone_of(sessions, CENTRE).state == "built"
    assert _zone_of(sessions, CENTRE, radio="broadband").state == "built"
    trail = [(e["who"], e["action"], sorted(e["what"])) for e in shown["audit"]]
    assert trail == [
        ("so-tt-daklak", "created", ["cells", "due", "operator", "state", "village", "zone_id"]),
        ("viettel-daklak", "updated", ["site", "state"]),
        ("so-tt-daklak", "updated", ["on_air_at", "state"]),
    ]
    assert shown["audit"][1]["what"]["state"] == ["assigned", "planned"]
    assert shown["audit"][2]["what"]["on_air_at"] == [None, on_air.isoformat()]
    assert shown["audit"][1]["at"] == (NOW + timedelta(hours=1)).isoformat()


def test_refused_change_leaves_no_audit_row(sessions, settings):
    measure_dead_zone(sessions, settings, CENTRE)
    commitment_id = _assign(sessions, settings, _zone_of(sessions, CENTRE).id)
    with session_scope(sessions) as session:
        update_commitment(session, settings, commitment_id, actor=VIETTEL, state="on_air",
                          now=NOW)  # fmt: skip
    for bad, message in [
        ({"state": "planned"}, "already on air"),
        ({"state": "built"}, "planned or on_air"),
        ({"state": "on_air", "on_air_at": NOW + timedelta(days=2)}, "in the future"),
        ({"state": "on_air", "on_air_at": NOW.replace(tzinfo=None)}, "UTC offset"),
    ]:
        with session_scope(sessions) as session, pytest.raises(InvalidInput) as e:
            update_commitment(session, settings, commitment_id, actor=VIETTEL, now=NOW, **bad)
        assert message in e.value.message
    with session_scope(sessions, write=False) as session:
        (shown,) = describe_commitments(
            session, settings, [get_commitment(session, commitment_id)], now=NOW
        )
    assert [e["action"] for e in shown["audit"]] == ["created", "updated"]


def test_readings_before_on_air_never_count(sessions, settings):
    """Good readings before on_air_at cannot verify it; dead ones cannot fail it."""
    on_air = NOW - timedelta(days=5)
    measure_dead_zone(sessions, settings, CENTRE, days_ago=30)
    zone = _zone_of(sessions, CENTRE)
    commitment_id = _assign(sessions, settings, zone.id, now=NOW - timedelta(days=25))
    with session_scope(sessions) as session:
        update_commitment(session, settings, commitment_id, actor=VIETTEL, state="on_air",
                          on_air_at=on_air, now=NOW - timedelta(days=4))  # fmt: skip
    # Signal measured the week before the site (a passing test van): does not count.
    ingest(sessions, settings, good_readings(zone.cells, days_ago=7))
    assert _verification(sessions, settings, commitment_id).status == "pending"
    # More dead readings, still before on_air_at: do not count against it either.
    ingest(sessions, settings, dead_readings(zone.cells, days_ago=8))
    found = _verification(sessions, settings, commitment_id)
    assert (found.status, found.readings, found.cells_unknown) == ("pending", 0, 7)
    # After on_air_at: signal in every cell.
    ingest(sessions, settings, good_readings(zone.cells, days_ago=2))
    found = _verification(sessions, settings, commitment_id)
    assert found.status == "verified"
    assert (found.cells_covered, found.cells_dead, found.readings, found.devices) == (7, 0, 28, 2)
    assert found.since == on_air.isoformat()


def test_dead_evidence_after_on_air_is_still_dead_and_one_phone_is_not_enough(sessions, settings):
    on_air = NOW - timedelta(days=5)
    measure_dead_zone(sessions, settings, CENTRE, days_ago=30)
    zone = _zone_of(sessions, CENTRE)
    commitment_id = _assign(sessions, settings, zone.id, now=NOW - timedelta(days=25))
    with session_scope(sessions) as session:
        update_commitment(session, settings, commitment_id, actor=VIETTEL, state="on_air",
                          on_air_at=on_air, now=NOW - timedelta(days=4))  # fmt: skip
    one_phone = [r for r in dead_readings(zone.cells, days_ago=2) if r["device"] == "resident-0"]
    ingest(sessions, settings, one_phone)
    assert _verification(sessions, settings, commitment_id).status == "pending"
    ingest(sessions, settings, dead_readings(zone.cells, days_ago=1))
    found = _verification(sessions, settings, commitment_id)
    assert (found.status, found.cells_dead) == ("still_dead", 7)


def test_past_due_without_verification_is_overdue(sessions, settings):
    measure_dead_zone(sessions, settings, CENTRE)
    zone = _zone_of(sessions, CENTRE)
    due = NOW.date() + timedelta(days=10)
    commitment_id = _assign(sessions, settings, zone.id, due=due)
    assert _verification(sessions, settings, commitment_id).status == "pending"
    later = NOW + timedelta(days=11)
    found = _verification(sessions, settings, commitment_id, now=later)
    assert (found.status, found.past_due) == ("overdue", True)


def test_commitment_keeps_its_cells_when_the_zone_disappears(sessions, settings):
    on_air = NOW - timedelta(days=5)
    cells = measure_dead_zone(sessions, settings, CENTRE, days_ago=30)
    zone = _zone_of(sessions, CENTRE)
    commitment_id = _assign(sessions, settings, zone.id, now=NOW - timedelta(days=25))
    with session_scope(sessions) as session:
        update_commitment(session, settings, commitment_id, actor=VIETTEL, state="on_air",
                          on_air_at=on_air, now=NOW - timedelta(days=4))  # fmt: skip
    ingest(sessions, settings, good_readings(cells, days_ago=2))
    from tests.coverage_helpers import decide

    decide(sessions, settings)  # the good readings close the zone
    with sessions() as session:
        assert session.get(DeadZone, zone.id).active is False
    found = _verification(sessions, settings, commitment_id)
    assert (found.status, found.cells) == ("verified", 7)


def test_operator_table_counts_each_outcome(sessions, settings):
    on_air = NOW - timedelta(days=5)
    measure_dead_zone(sessions, settings, CENTRE, days_ago=30)
    measure_dead_zone(sessions, settings, SOUTH, days_ago=30)
    first = _assign(sessions, settings, _zone_of(sessions, CENTRE).id, now=NOW - timedelta(days=25))
    second = _assign(sessions, settings, _zone_of(sessions, SOUTH).id, now=NOW - timedelta(days=25))
    for commitment_id in (first, second):
        with session_scope(sessions) as session:
            update_commitment(session, settings, commitment_id, actor=VIETTEL, state="on_air",
                              on_air_at=on_air, now=NOW - timedelta(days=4))  # fmt: skip
    ingest(sessions, settings, good_readings(_zone_of(sessions, CENTRE).cells, days_ago=2))
    ingest(sessions, settings, dead_readings(_zone_of(sessions, SOUTH).cells, days_ago=1))
    with session_scope(sessions, write=False) as session:
        table = operator_table(session, settings, now=NOW)
    assert table == [
        {"operator": "452-04", "name": "Viettel", "assigned": 2, "planned": 0, "on_air": 2,
         "verified": 1, "still_dead": 1, "overdue": 0}
    ]  # fmt: skip


def test_a_village_commitment_is_judged_on_the_village_cells(tmp_path, sessions, settings):
    from tests.areas.conftest import import_areas, village, write_layer

    path = write_layer(tmp_path / "v.geojson", [village("V9", "Buôn Ea Sô", CENTRE, 300)])
    import_areas(sessions, settings, path)
    with session_scope(sessions) as session:
        due = NOW.date() + timedelta(days=30)
        made = create_commitment(session, settings, actor=AUTHORITY, operator="452-04",
                                 village="V9", due=due, now=NOW)  # fmt: skip
        cells, centre, made_id = sorted(made.cells), made.centre, made.id
    assert centre == CENTRE
    assert cells == sorted(h3.grid_disk(CENTRE, settings.village_disk_rings))
    with session_scope(sessions) as session:
        update_commitment(session, settings, made_id, actor=VIETTEL, state="on_air",
                          on_air_at=NOW - timedelta(days=4), now=NOW)  # fmt: skip
    ingest(sessions, settings, good_readings([CENTRE], days_ago=1))
    found = _verification(sessions, settings, made_id)
    # One cell of seven has signal: the centre, but not half the village's cells yet.
    assert (found.status, found.centre_status, found.cells_covered) == ("pending", "covered", 1)
    ingest(sessions, settings, good_readings(cells[:4], days_ago=1))
    assert _verification(sessions, settings, made_id).status == "verified"
