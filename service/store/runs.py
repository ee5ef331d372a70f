"""What the store remembers of aggregation runs, for readers that show freshness."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.vocabulary import BEST_OF_ALL, RADIO_SCOPES
from service.store.dialect import upsert_insert
from service.store.models import AggregationRun, AggregationState, DeadZone

ESTIMATED_AT = "estimated_at"  # aggregation_state: wall time of the last refresh, epoch s
ESTIMATED_SEQ = "estimated_seq"  # aggregation_state: newest reading seq behind it
_FIRST_ZONING = "zones_first_{}"  # aggregation_state: µs since the epoch, per radio scope
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def last_run(session: Session) -> AggregationRun | None:
    """The newest finished aggregation run, or None before the first."""
    return session.scalars(
        select(AggregationRun).order_by(AggregationRun.id.desc()).limit(1)
    ).first()


def scopes_changed_since(session: Session, run_id: int | None) -> set[str] | None:
    """Operator scopes ('452-04'..., 'any') whose decisions the runs after ``run_id``
    changed; None when one of them was a full run (or ``run_id`` is None): everything."""
    if run_id is None:
        return None
    found: set[str] = set()
    for (scopes,) in session.execute(
        select(AggregationRun.scopes).where(AggregationRun.id > run_id)
    ):
        if scopes is None:
            return None
        found.update(scopes)
    return found


def state_value(session: Session, name: str) -> int | None:
    """A named integer the jobs remember between runs (``aggregation_state``)."""
    value = session.scalar(select(AggregationState.last_seq).where(AggregationState.name == name))
    return None if value is None else int(value)


def set_state_value(session: Session, name: str, value: int) -> None:
    row = session.get(AggregationState, name)
    if row is None:
        session.add(AggregationState(name=name, last_seq=value))
    else:
        row.last_seq = value
    session.flush()


def state_values(session: Session, names: Collection[str]) -> dict[str, int]:
    """Several of those integers in one statement (names never set are left out)."""
    s = AggregationState
    rows = session.execute(select(s.name, s.last_seq).where(s.name.in_(sorted(names))))
    return {name: int(value) for name, value in rows}


def set_state_values(session: Session, values: dict[str, int]) -> None:
    """Set several of those integers in one statement (names read only through
    ``state_values``: the ORM's copies of rows are not refreshed)."""
    if not values:
        return
    table = AggregationState.__table__
    stmt = upsert_insert(session, table).values(
        [{"name": name, "last_seq": value} for name, value in sorted(values.items())]
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"], set_={"last_seq": stmt.excluded.last_seq}
        )
    )


def remember_first_zoning(session: Session, *, now: datetime) -> None:
    """In a run that groups zones (full or incremental), at ``now``: remember, per radio
    scope of the best of all operators, when its zones were first computed, if not yet
    remembered. For a store that had zones before this was remembered, that is its oldest
    zone's creation; for one with runs but no zone in the scope, its first run; for a new
    store, ``now``, even when the run finds no zone. The weekly report counts that run's
    zones apart (``service.areas.changes``): mapped for the first time, not new on the
    ground."""
    names = {radio: _FIRST_ZONING.format(radio) for radio in RADIO_SCOPES}
    known = state_values(session, names.values())
    first: dict[str, int] = {}
    for radio, name in names.items():
        if name in known:
            continue
        oldest = _oldest_zone(session, radio, before=now)  # not the zones this run writes
        if oldest is None:
            oldest = session.scalar(select(func.min(AggregationRun.finished_at)))
        when = now if oldest is None else min(oldest, now)
        first[name] = (when - _EPOCH) // timedelta(microseconds=1)
    set_state_values(session, first)


def first_zoning(session: Session, radio: str) -> datetime | None:
    """When the best of all operators' zones in ``radio`` (a radio scope) were first
    computed (``remember_first_zoning``); without that record (a store no full run has
    finished in since), its oldest zone's creation; None before any zone."""
    value = state_value(session, _FIRST_ZONING.format(radio))
    if value is not None:
        return _EPOCH + timedelta(microseconds=value)
    return _oldest_zone(session, radio)


def _oldest_zone(
    session: Session, radio: str, *, before: datetime | None = None
) -> datetime | None:
    """The creation of the oldest zone of the best of all operators in ``radio``, among
    those created before ``before`` when given; None without one."""
    query = select(func.min(DeadZone.created_at)).where(
        DeadZone.operator == BEST_OF_ALL, DeadZone.radio == radio
    )
    if before is not None:
        query = query.where(DeadZone.created_at < before)
    return session.scalar(query)
