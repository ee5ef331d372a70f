"""What changed since last week, for the authority's weekly meeting: villages whose
status changed, dead zones opened and closed, and the change in people covered per
commune, between the newest snapshot a week old (or older) and now.

Baseline: the newest daily snapshot (``progress_snapshots`` and
``village_status_snapshots``, taken by ``take_snapshot``) at least ``days`` days old; with
none that old, the oldest snapshot there is, so a new deployment still shows its first
changes (the answer says which day it compares with). "Now" is measured live. Both sides
are in the goal's scope over radios (``Settings.goal_radio``, default broadband), the scope
the snapshots are taken in.

Zones (best of all operators, the public picture, in the same scope over radios): opened =
first found since the baseline; closed = no longer active and last seen active since the
baseline (the aggregation marks a zone inactive the first run it is gone, keeping the time
it was last active). The zones of a scope's first computation (the first run after the
upgrade that added broadband zones, or a deployment's first aggregation) are not news on
the ground: when that run falls after the baseline they are counted apart
(``zones_first_mapped``), not listed as opened, so the first weekly report after an upgrade
does not announce every broadband zone as new. The store remembers when that run was
(``service.store.runs.first_zoning``), so a scope whose first computation found no zone
announces its later zones as opened.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.localtime import vietnam_date
from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL
from service.areas.commitments import operator_table
from service.areas.progress import (
    PROVINCE,
    cell_statuses,
    commune_names,
    measure_progress,
    village_states,
)
from service.settings import Settings
from service.store.models import DeadZone, ProgressSnapshot, VillageStatusSnapshot
from service.store.runs import first_zoning


def baseline_day(
    session: Session, *, now: datetime, days: int, radio: str = ANY_SIGNAL
) -> date | None:
    """The snapshot day to compare with (module doc), or None without snapshots, among the
    snapshots of one scope over radios (``radio``)."""
    cutoff = vietnam_date(now) - timedelta(days=days)
    s = VillageStatusSnapshot
    same_scope = s.radio == radio
    day = session.scalar(select(func.max(s.day)).where(s.day <= cutoff, same_scope))
    if day is None:
        day = session.scalar(select(func.min(s.day)).where(s.day < vietnam_date(now), same_scope))
    return day


def weekly_changes(
    session: Session, settings: Settings, *, now: datetime, days: int = 7
) -> dict[str, Any]:
    """The changes since the baseline (module doc), ready for the page and the API."""
    radio = settings.goal_radio
    since = baseline_day(session, now=now, days=days, radio=radio)
    names = commune_names(session)
    statuses = cell_statuses(session, settings, radio=radio)
    states = village_states(session, settings, statuses=statuses)
    zones = _zone_changes(session, since=since, now=now, days=days, radio=radio)
    if since is None:
        return {"since": None, "villages": [], "communes": [], **zones}
    before = dict(
        session.execute(
            select(VillageStatusSnapshot.village_code, VillageStatusSnapshot.status).where(
                VillageStatusSnapshot.day == since
            )
        ).all()
    )
    villages = [
        {
            "code": state.code,
            "name": state.name,
            "commune_code": state.commune_code,
            "commune_name": names.get(state.commune_code or ""),
            "before": before.get(state.code),
            "now": state.status,
            "population": state.population,
        }  # fmt: skip
        for state in states
        if before.get(state.code) != state.status
    ]
    then = {
        row.area: row
        for row in session.scalars(select(ProgressSnapshot).where(ProgressSnapshot.day == since))
    }
    communes: list[dict[str, Any]] = []
    progress = measure_progress(session, settings, now=now, statuses=statuses, radio=radio)
    for code, area in progress.items():
        old = then.get(code)
        covered_before = old.people_covered if old is not None else None
        communes.append(
            {
                "code": code,
                "name": None if code == PROVINCE else names.get(code),
                "kind": PROVINCE if code == PROVINCE else "commune",
                "people_covered_before": covered_before,
                "people_covered_now": round(area.people_covered, 1),
                "change": None
                if covered_before is None
                else round(area.people_covered - covered_before, 1),
                "covered_share_before": old.covered_share if old is not None else None,
                "covered_share_now": area.covered_share,
            }  # fmt: skip
        )
    communes.sort(key=lambda c: (c["kind"] != PROVINCE, -abs(c["change"] or 0.0), c["code"]))
    return {"since": since.isoformat(), "villages": villages, "communes": communes, **zones}


def _zone_changes(
    session: Session, *, since: date | None, now: datetime, days: int, radio: str
) -> dict[str, Any]:
    start = (
        datetime.combine(since, datetime.min.time(), tzinfo=now.tzinfo)
        if since is not None
        else now - timedelta(days=days)
    )
    same_scope = (DeadZone.operator == BEST_OF_ALL) & (DeadZone.radio == radio)
    # Zones written by one run share its time (``results.write_zones``).
    first_run = first_zoning(session, radio)
    zones = session.scalars(
        select(DeadZone).where(
            same_scope,
            (DeadZone.created_at >= start)
            | (DeadZone.active.is_(False) & (DeadZone.updated_at >= start)),
        )
    ).all()

    def shape(zone: DeadZone) -> dict[str, Any]:
        return {
            "id": zone.id, "cells": zone.cell_count, "area_km2": round(zone.area_km2, 3),
            "population": zone.population, "villages": zone.villages or [],
            "first_seen": zone.created_at.isoformat(), "last_active": zone.updated_at.isoformat(),
        }  # fmt: skip

    first_mapped = {
        z.id for z in zones if first_run is not None and z.created_at == first_run >= start
    }
    opened = [shape(z) for z in zones if z.created_at >= start and z.id not in first_mapped]
    closed = [shape(z) for z in zones if not z.active and z.updated_at >= start]
    return {
        "zones_first_mapped": len(first_mapped),
        "zones_opened": sorted(opened, key=lambda z: -(z["population"] or 0)),
        "zones_closed": sorted(closed, key=lambda z: -(z["population"] or 0)),
    }


def weekly_report(
    session: Session, settings: Settings, *, now: datetime, days: int = 7
) -> dict[str, Any]:
    """The weekly report's data: the province, the date, commitments per operator (counts
    only: ``commitments.operator_table``) and the changes since the baseline."""
    return {
        "province": settings.province_name,
        "generated_at": now.isoformat(),
        "days": days,
        "operators": operator_table(session, settings, now=now),
        **weekly_changes(session, settings, now=now, days=days),
    }
