"""Commitments: the authority assigns an operator a dead zone or a village with a due
date; the operator's planner marks it planned, then on air; new readings re-verify it.

States (set by people): ``assigned`` (by the authority) -> ``planned`` -> ``on_air`` (with
``on_air_at``, when the new site started to transmit). A site on air is not taken back to
planned: a wrong ``on_air_at`` is corrected by marking it on air again.

Verification (computed from the readings, never stored, so it follows new evidence):

* Only readings of the committed operator observed *after* ``on_air_at`` count, for or
  against: the dead readings that made the zone were taken before the site existed and say
  nothing about it, and good readings from before it cannot vouch for it either.
* Each frozen cell is decided from those readings with the very rules of the grid
  (``service.engine.decisions``: minimum readings, days and devices; dead needs three
  devices and a Wilson bound, so one phone can never fail a site).
* ``verified``: the centre cell and at least ``commitment_verified_share`` of the cells
  have signal (covered or weak: one bar is a signal, as for village statuses) and no cell
  is dead. ``still_dead``: a cell is decided dead on evidence after ``on_air_at``.
  ``overdue``: past the due day (in Vietnam) and neither. ``pending``: otherwise (not on air yet,
  or on air without enough evidence yet).

Every change writes an audit row (``service.areas.audit``) in the same transaction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import h3
import numpy as np
import pandas as pd
from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from domain.localtime import vietnam_date
from domain.radio import OPERATOR_NAMES
from domain.vocabulary import SIGNAL_DECISIONS, is_operator_code
from service.areas import audit
from service.areas.audit import Actor
from service.engine.decisions import Rules, decide_level
from service.engine.statistics import readings_to_devices, readings_to_stats
from service.errors import AccessDenied, InvalidInput, NotFound
from service.settings import Settings
from service.store.models import Commitment, DeadZone, ReadingRow, Village, VillageCell
from service.store.versions import note_areas_changed

STATES: Final = ("assigned", "planned", "on_air")
VERIFICATIONS: Final = ("pending", "verified", "still_dead", "overdue")
_SIGNAL: Final = SIGNAL_DECISIONS
# What the dead zone's own ``state`` column says once a commitment moves (zones.py keeps
# it across recomputes): open, planned or built.
_ZONE_STATE: Final = {"assigned": "open", "planned": "planned", "on_air": "built"}


@dataclass
class Verification:
    """What the readings after ``on_air_at`` say about a commitment's cells."""

    status: str
    past_due: bool
    since: str | None
    cells: int
    cells_covered: int = 0
    cells_weak: int = 0
    cells_dead: int = 0
    cells_unknown: int = 0
    centre_status: str = "unknown"
    readings: int = 0
    devices: int = 0
    first_seen: str | None = None
    last_seen: str | None = None


def create_commitment(
    session: Session, settings: Settings, *, actor: Actor, operator: str, due: date,
    zone_id: str | None = None, village: str | None = None, now: datetime,
) -> Commitment:  # fmt: skip
    """Assign ``operator`` a dead zone or a village (exactly one), due on ``due``. The
    cells are frozen now. Raises ``AccessDenied`` (not the authority), ``NotFound`` (no such
    zone or village) or ``InvalidInput``. Does not commit."""
    if not actor.may_assign:
        raise AccessDenied(
            f"only the authority assigns commitments; {actor.name!r} may not", field="api_key"
        )
    if not is_operator_code(operator):
        raise InvalidInput(
            f"operator must be an MCC-MNC such as 452-04, got {operator!r}", field="operator"
        )
    if (zone_id is None) == (village is None):
        raise InvalidInput("give either zone_id or village, not both", field="zone_id")
    today = vietnam_date(now)
    if due < today:
        raise InvalidInput(
            f"due {due.isoformat()} is in the past (today is {today.isoformat()} in Vietnam)",
            field="due",
        )
    if zone_id is not None:
        cells, centre = _zone_cells(session, zone_id, operator)
        duplicate = Commitment.zone_id == zone_id
    else:
        assert village is not None
        cells, centre = _village_cells(session, village)
        duplicate = Commitment.village_code == village
    existing = session.scalar(
        select(Commitment.id).where(duplicate, Commitment.operator == operator).limit(1)
    )
    if existing is not None:
        what = f"zone {zone_id}" if zone_id is not None else f"village {village}"
        raise InvalidInput(
            f"{what} is already committed by {operator} (commitment {existing})",
            field="zone_id" if zone_id is not None else "village",
        )
    commitment = Commitment(
        operator=operator, zone_id=zone_id, village_code=village, cells=cells, centre=centre,
        due=due, state="assigned", on_air_at=None, site=None, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(commitment)
    session.flush()
    audit.record(
        session, actor=actor.name, action="created",
        subject=audit.commitment_subject(commitment.id),
        detail={"operator": operator, "zone_id": zone_id, "village": village,
                "due": due.isoformat(), "cells": len(cells), "state": "assigned"},
        now=now,
    )  # fmt: skip
    return commitment


def _zone_cells(session: Session, zone_id: str, operator: str) -> tuple[list[str], str]:
    zone = session.get(DeadZone, zone_id)
    if zone is None:
        raise NotFound(f"no dead zone {zone_id!r}", field="zone_id")
    if zone.operator not in (operator, "any"):
        raise InvalidInput(
            f"zone {zone_id} is a dead zone of {zone.operator}, not of {operator}",
            field="zone_id",
        )
    if not zone.active:
        raise InvalidInput(
            f"zone {zone_id} is closed (last seen dead {zone.last_seen.date().isoformat()})",
            field="zone_id",
        )
    cells = sorted(zone.cells)
    return cells, central_cell(cells)


def _village_cells(session: Session, code: str) -> tuple[list[str], str]:
    village = session.get(Village, code)
    if village is None:
        raise NotFound(f"no village {code!r}", field="village")
    rows = session.scalars(select(VillageCell.h3_cell).where(VillageCell.village_code == code))
    centre = h3.int_to_str(village.h3_cell)
    cells = sorted({h3.int_to_str(int(c)) for c in rows} | {centre})
    return cells, centre


def central_cell(cells: list[str]) -> str:
    """The cell of ``cells`` nearest the centroid of their centres (a zone's centre cell;
    for a crescent-shaped zone the centroid may lie outside it)."""
    points = np.array([h3.cell_to_latlng(c) for c in cells])
    centre = points.mean(axis=0)
    return cells[int(np.argmin(((points - centre) ** 2).sum(axis=1)))]


def update_commitment(
    session: Session, settings: Settings, commitment_id: int, *, actor: Actor, state: str,
    on_air_at: datetime | None = None, site: dict[str, Any] | None = None, now: datetime,
) -> Commitment:  # fmt: skip
    """Mark a commitment ``planned`` or ``on_air`` (``on_air_at`` defaults to now), with
    the site. Only the authority or a planner of the commitment's operator may. Raises
    ``NotFound``, ``AccessDenied`` or ``InvalidInput``. Does not commit."""
    # Locked (PostgreSQL) so that two planners changing it at once are audited in turn.
    commitment = get_commitment(session, commitment_id, for_update=True)
    if not actor.acts_for(commitment.operator):
        raise AccessDenied(
            f"{actor.name!r} may not change commitments of {commitment.operator}",
            field="api_key",
        )
    if state not in ("planned", "on_air"):
        raise InvalidInput(f"state must be planned or on_air, got {state!r}", field="state")
    if state == "planned":
        if on_air_at is not None:
            raise InvalidInput("on_air_at goes with state on_air", field="on_air_at")
        if commitment.state == "on_air":
            raise InvalidInput(
                "the site is already on air; to correct on_air_at, mark it on_air again",
                field="state",
            )
    if on_air_at is not None:
        if on_air_at.tzinfo is None:
            raise InvalidInput(
                "on_air_at needs a UTC offset (RFC 3339), e.g. 2026-11-20T08:00:00+07:00",
                field="on_air_at",
            )
        if on_air_at > now + timedelta(seconds=settings.clock_skew_s):
            raise InvalidInput(
                f"on_air_at {on_air_at.isoformat()} is in the future", field="on_air_at"
            )
    new_on_air = (on_air_at or now) if state == "on_air" else None
    before = _changeable(commitment)
    commitment.state = state
    commitment.on_air_at = new_on_air
    if site is not None:
        commitment.site = site
    after = _changeable(commitment)
    changed = {k: [before[k], after[k]] for k in before if before[k] != after[k]}
    if not changed:
        return commitment
    commitment.updated_at = now
    if commitment.zone_id is not None:
        session.execute(
            update(DeadZone)
            .where(DeadZone.id.in_(_zones_moved_with(session, commitment)))
            .values(state=_ZONE_STATE[state])
        )
        # The progress page counts the open zones of each commune (kept between runs).
        note_areas_changed(session)
    audit.record(
        session, actor=actor.name, action="updated",
        subject=audit.commitment_subject(commitment.id), detail=changed, now=now,
    )  # fmt: skip
    session.flush()
    return commitment


def _zones_moved_with(session: Session, commitment: Commitment) -> list[str]:
    """The committed zone and the active zones of the same operator in the other scope
    over radios that lie mostly (at least half their cells) within the committed cells.

    Zones are kept per scope ('any' signal and 'broadband'), so one dead place has a zone
    in each; a planner who commits to the one has planned the other too, and a map of
    either scope must say so. A broadband zone much larger than the committed any-signal
    zone (3G-only cells around it) stays open: most of it is not addressed.
    """
    assert commitment.zone_id is not None
    zone = session.get(DeadZone, commitment.zone_id)
    if zone is None:  # a zone row is never deleted, but be safe: move nothing else
        return [commitment.zone_id]
    committed = set(commitment.cells)
    others = session.scalars(
        select(DeadZone).where(
            DeadZone.operator == zone.operator,
            DeadZone.radio != zone.radio,
            DeadZone.active.is_(True),
        )
    )
    moved = [commitment.zone_id]
    for other in others:
        inside = sum(cell in committed for cell in other.cells)
        if inside * 2 >= len(other.cells) > 0:
            moved.append(other.id)
    return moved


def _changeable(commitment: Commitment) -> dict[str, Any]:
    on_air = commitment.on_air_at
    return {
        "state": commitment.state,
        "on_air_at": on_air.isoformat() if on_air is not None else None,
        "site": commitment.site,
    }


def get_commitment(session: Session, commitment_id: int, *, for_update: bool = False) -> Commitment:
    commitment = session.get(Commitment, commitment_id, with_for_update=for_update)
    if commitment is None:
        raise NotFound(f"no commitment {commitment_id}", field="id")
    return commitment


def list_commitments(
    session: Session, *, operators: frozenset[str] | None = None, state: str | None = None
) -> list[Commitment]:
    """Commitments of ``operators`` (None: all), oldest first."""
    query = select(Commitment).order_by(Commitment.id)
    if operators is not None:
        query = query.where(Commitment.operator.in_(sorted(operators)))
    if state is not None:
        query = query.where(Commitment.state == state)
    return list(session.scalars(query))


def verify(
    session: Session, settings: Settings, commitment: Commitment, *, now: datetime
) -> Verification:
    """The verification of one commitment from the readings after its ``on_air_at``
    (module doc)."""
    past_due = vietnam_date(now) > commitment.due
    result = Verification(
        status="overdue" if past_due else "pending", past_due=past_due, since=None,
        cells=len(commitment.cells),
    )  # fmt: skip
    if commitment.state != "on_air" or commitment.on_air_at is None:
        result.cells_unknown = len(commitment.cells)
        return result
    result.since = commitment.on_air_at.isoformat()
    decided = _decide_after(session, settings, commitment)
    statuses = {h3.str_to_int(c): "unknown" for c in commitment.cells}
    for cell, status in zip(decided["h3_cell"], decided["status"], strict=True):
        statuses[int(cell)] = str(status)
    counts = {s: 0 for s in ("covered", "weak", "dead", "unknown")}
    for status in statuses.values():
        counts[status] += 1
    result.cells_covered, result.cells_weak = counts["covered"], counts["weak"]
    result.cells_dead, result.cells_unknown = counts["dead"], counts["unknown"]
    result.centre_status = statuses.get(h3.str_to_int(commitment.centre), "unknown")
    if not decided.empty:
        result.readings = int(decided["readings"].sum())
        result.first_seen = pd.Timestamp(decided["first_seen"].min()).isoformat()
        result.last_seen = pd.Timestamp(decided["last_seen"].max()).isoformat()
    result.devices = _devices_after(session, commitment)
    with_signal = counts["covered"] + counts["weak"]
    if (
        counts["dead"] == 0
        and result.centre_status in _SIGNAL
        and with_signal >= settings.commitment_verified_share * len(statuses)
    ):
        result.status = "verified"
    elif counts["dead"] > 0:
        result.status = "still_dead"
    return result


def _after(commitment: Commitment) -> Any:
    r = ReadingRow.__table__.c
    mcc, mnc = (int(part) for part in commitment.operator.split("-"))
    return and_(
        r.h3_cell.in_([h3.str_to_int(c) for c in commitment.cells]),
        r.mcc == mcc,
        r.mnc == mnc,
        r.observed_at > commitment.on_air_at,
    )


def _decide_after(session: Session, settings: Settings, commitment: Commitment) -> pd.DataFrame:
    """Per-cell decisions from the operator's readings after ``on_air_at`` only, by the
    grid's rules (radios together, as the grid's radio 'any')."""
    where = _after(commitment)
    stats = pd.DataFrame(session.execute(readings_to_stats(settings, where)).mappings().all())
    if stats.empty:
        return pd.DataFrame(columns=["h3_cell", "status", "readings", "first_seen", "last_seen"])
    devices = pd.DataFrame(
        session.execute(readings_to_devices(where)).all(),
        columns=["h3_cell", "mcc", "mnc", "radio", "bucket", "device_hash"],
    )
    for column in ("first_seen", "last_seen"):
        stats[column] = pd.to_datetime(stats[column], utc=True)
    for frame in (stats, devices):
        frame["bucket"] = pd.to_datetime(frame["bucket"])
        frame["h3_cell"] = frame["h3_cell"].astype(np.int64)
    for column in ("dbm_min", "dbm_max"):
        stats[column] = stats[column].astype(float)
    # Sums come back as numeric (Decimal) from PostgreSQL: the counts are integers.
    counts = stats.columns.difference(["radio", "bucket", "first_seen", "last_seen",
                                       "dbm_min", "dbm_max"])  # fmt: skip
    stats[counts] = stats[counts].astype(np.int64)
    devices["device"] = pd.factorize(devices["device_hash"])[0].astype(np.int64)
    return decide_level(stats, devices.drop(columns="device_hash"), ["h3_cell"],
                        Rules.from_settings(settings))  # fmt: skip


def _devices_after(session: Session, commitment: Commitment) -> int:
    r = ReadingRow.__table__.c
    query = select(r.device_hash).where(_after(commitment)).distinct()
    return len(session.execute(query).all())


def commitment_dict(
    commitment: Commitment, verification: Verification, events: list[Any]
) -> dict[str, Any]:
    """The API's shape of a commitment, with its verification and audit trail."""
    return {
        "id": commitment.id,
        "operator": commitment.operator,
        "zone_id": commitment.zone_id,
        "village": commitment.village_code,
        "due": commitment.due.isoformat(),
        "state": commitment.state,
        "on_air_at": commitment.on_air_at.isoformat() if commitment.on_air_at else None,
        "site": commitment.site,
        "cells": list(commitment.cells),
        "centre": commitment.centre,
        "created_at": commitment.created_at.isoformat(),
        "updated_at": commitment.updated_at.isoformat(),
        "verification": verification.status,
        "evidence": asdict(verification),
        "audit": [audit.event_dict(e) for e in events],
    }


def describe_commitments(
    session: Session, settings: Settings, commitments: list[Commitment], *, now: datetime
) -> list[dict[str, Any]]:
    """Commitments as the API shows them: each with its verification and audit trail."""
    trails = audit.events_of(session, [audit.commitment_subject(c.id) for c in commitments])
    return [
        commitment_dict(c, verify(session, settings, c, now=now),
                        trails[audit.commitment_subject(c.id)])
        for c in commitments
    ]  # fmt: skip


def operator_table(session: Session, settings: Settings, *, now: datetime) -> list[dict[str, Any]]:
    """Per operator: commitments assigned, on air, verified, still without signal and
    overdue (the authority's weekly table). Counts only: no site, no cell."""
    rows: dict[str, dict[str, Any]] = {}
    for commitment in list_commitments(session):
        row = rows.setdefault(
            commitment.operator,
            {"operator": commitment.operator,
             "name": OPERATOR_NAMES.get(commitment.operator, commitment.operator),
             "assigned": 0, "planned": 0, "on_air": 0, "verified": 0, "still_dead": 0,
             "overdue": 0},
        )  # fmt: skip
        row["assigned"] += 1
        if commitment.state == "planned":
            row["planned"] += 1
        if commitment.state == "on_air":
            row["on_air"] += 1
        status = verify(session, settings, commitment, now=now).status
        if status != "pending":
            row[status] += 1
    return [rows[op] for op in sorted(rows)]


def show_commitment(
    session: Session, settings: Settings, commitment_id: int, *, actor: Actor, now: datetime
) -> dict[str, Any]:
    """One commitment as the API shows it, if ``actor`` may see its operator's."""
    commitment = get_commitment(session, commitment_id)
    if not actor.acts_for(commitment.operator):
        raise AccessDenied(
            f"{actor.name!r} may not read commitments of {commitment.operator}", field="api_key"
        )
    (shown,) = describe_commitments(session, settings, [commitment], now=now)
    return shown


def show_commitments(
    session: Session, settings: Settings, *, actor: Actor, operator: str | None = None,
    now: datetime,
) -> list[dict[str, Any]]:  # fmt: skip
    """The commitments ``actor`` may see (of ``operator`` only, if given)."""
    operators = actor.operators
    if operator is not None:
        if not actor.acts_for(operator):
            raise AccessDenied(
                f"{actor.name!r} may not read commitments of {operator}", field="operator"
            )
        operators = frozenset({operator})
    return describe_commitments(
        session, settings, list_commitments(session, operators=operators), now=now
    )
