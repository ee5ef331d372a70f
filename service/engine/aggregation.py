"""The engine's run: statistics up to date, roll-ups, decisions and dead zones.

The engine knows nothing of areas, plans or progress: what happens to the zones before they
are stored (people, villages, priority) comes in as a hook, and what follows the run
(snapshots, the background worker) lives in ``service.jobs``, which composes the layers.
Each step is its own transaction, committed by ``session_scope``; readers see the previous
decisions until the new ones commit together with the zones.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.engine.decisions import decide_resolution
from service.engine.scaleout import DaskSource
from service.engine.statistics import merge_new_readings, rebuild, rollup, safe_max_seq, watermark
from service.engine.zones import Zone, find_zones
from service.settings import Settings
from service.store.bulk import copy_rows
from service.store.database import session_scope
from service.store.dialect import is_postgres
from service.store.models import AggregationRun, CellStatus, DeadZone
from service.timestamps import utcnow

log = logging.getLogger("deadzone")

StepCallback = Callable[[str, int, int], None]
"""Called as on_step(step, done, total), e.g. to move a progress bar."""

ZoneHook = Callable[[Session, list[Zone]], None]
"""Called with the zones just found, before they are stored, in the same transaction."""

MERGE_CHUNK = 500_000  # readings per merge transaction: bounds memory and lock time


@dataclass
class AggregationReport:
    merged_readings: int
    rebuilt: bool
    cells: dict[int, int]
    zones: int
    max_seq: int
    seconds: dict[str, float]


def _quiet(step: str, done: int, total: int) -> None:
    return None


def update_statistics(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    rebuild_all: bool = False,
    on_step: StepCallback = _quiet,
    dask: DaskSource | None = None,
) -> tuple[int, int]:
    """Merge new readings into the statistics (or rebuild them); return (seqs spanned,
    max seq)."""
    with session_scope(sessions) as session:
        up_to = safe_max_seq(session)
    if rebuild_all or dask is not None:
        with session_scope(sessions) as session:
            rebuilt_to = rebuild(session, settings, up_to=up_to, progress=on_step, dask=dask)
        if rebuilt_to == up_to:
            return up_to, up_to
        # Rebuilt from an archive: what arrived after the export merges below.
    with session_scope(sessions, write=False) as session:
        start = watermark(session)
    done = 0
    total = max(up_to - start, 0)
    while start + done < up_to:
        with session_scope(sessions) as session:
            done += merge_new_readings(
                session, settings, up_to=min(start + done + MERGE_CHUNK, up_to)
            )
        on_step("statistics", done, total)
    return total, up_to


def aggregate(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    rebuild_all: bool = False,
    now: datetime | None = None,
    on_step: StepCallback = _quiet,
    annotate_zones: ZoneHook | None = None,
    dask: DaskSource | None = None,
) -> AggregationReport:
    """Bring statistics, roll-ups, decisions and dead zones up to date.

    ``annotate_zones`` may add people, villages and a priority to the zones before they are
    stored (``service.jobs`` passes the areas layer's); without it zones keep the engine's
    cells-based score."""
    now = now or utcnow()
    timings: dict[str, float] = {}
    clock = _Clock(timings)
    with clock("statistics"):
        merged, max_seq = update_statistics(
            sessions, settings, rebuild_all=rebuild_all, on_step=on_step, dask=dask
        )
    resolutions = [settings.h3_resolution, *settings.rollup_resolutions]
    cells: dict[int, int] = {}
    with session_scope(sessions) as session:
        with clock("rollup"):
            on_step("roll-ups", 0, 1)
            rollup(session, settings, settings.rollup_resolutions)
            on_step("roll-ups", 1, 1)
        session.execute(delete(CellStatus))
        zones: list[Zone] = []
        for i, res in enumerate(resolutions):
            with clock(f"decide r{res}"):
                decisions, devices = decide_resolution(session, settings, resolution=res, now=now)
                store_decisions(session, decisions)
            cells[res] = int((decisions["operator"] == "any").sum())  # best-of-all rows
            if res == settings.h3_resolution:
                with clock("zones"):
                    zones = find_zones(
                        decisions,
                        devices,
                        resolution=res,
                        previous=previous_zones(session),
                        bridge_unknown=settings.bridge_unknown_gaps,
                    )
                    if annotate_zones is not None:
                        annotate_zones(session, zones)
                    store_zones(session, zones, now=now)
            on_step("decisions", i + 1, len(resolutions))
        session.add(
            AggregationRun(
                finished_at=utcnow(),
                max_seq=max_seq,
                cells=cells.get(settings.h3_resolution, 0),
                zones=len(zones),
            )
        )
    return AggregationReport(merged, rebuild_all, cells, len(zones), max_seq, timings)


class _Clock:
    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    def __call__(self, name: str) -> _Clock:
        self.name = name
        return self

    def __enter__(self) -> None:
        import time

        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        import time

        self.timings[self.name] = time.perf_counter() - self.start


_STATUS_COLUMNS = [c.name for c in CellStatus.__table__.columns]


def store_decisions(session: Session, decisions: pd.DataFrame) -> None:
    """Append decision rows to ``cell_status`` (the caller cleared it).

    Columns are converted to Python values column by column (vectorised): converting
    value by value took most of the aggregation's time at province scale.
    """
    if decisions.empty:
        return
    sqlite = not is_postgres(session)
    columns = [_column_values(decisions[name], sqlite=sqlite) for name in _STATUS_COLUMNS]
    copy_rows(session.connection(), "cell_status", _STATUS_COLUMNS, zip(*columns, strict=True))


def _column_values(column: pd.Series, *, sqlite: bool) -> list[object]:
    """A column as the Python values a driver takes (NaN as None)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if sqlite:  # naive UTC text, as SQLAlchemy's DateTime writes it on SQLite
            # numpy's formatter is ten times faster than pandas' strftime.
            utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
            text = np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ")
            return [
                None if missing else t
                for t, missing in zip(text.tolist(), column.isna(), strict=True)
            ]
        return [None if pd.isna(v) else v for v in column.dt.to_pydatetime()]
    if column.dtype == object:
        return [v.isoformat() if sqlite and isinstance(v, date) else v for v in column.tolist()]
    values = column.astype(object).where(column.notna(), None)
    return values.tolist()


def previous_zones(session: Session) -> dict[str, dict[str, list[str]]]:
    """Stored zones (active or not) by scope: ``{scope: {id: cells}}``."""
    found: dict[str, dict[str, list[str]]] = {}
    for zone_id, scope, cells, active in session.execute(
        select(DeadZone.id, DeadZone.operator, DeadZone.cells, DeadZone.active)
    ):
        if active:
            found.setdefault(scope, {})[zone_id] = cells
    return found


def store_zones(session: Session, zones: list[Zone], *, now: datetime) -> None:
    """Replace the active zones with ``zones``, keeping ids, states and creation times."""
    known = {
        zone_id: (state, created)
        for zone_id, state, created in session.execute(
            select(DeadZone.id, DeadZone.state, DeadZone.created_at)
        )
    }
    session.execute(update(DeadZone).values(active=False, rank=None))
    ranked = sorted(zones, key=lambda z: (z.operator, -z.priority, z.id))
    rank_in_scope: dict[str, int] = {}
    for zone in ranked:
        rank_in_scope[zone.operator] = rank_in_scope.get(zone.operator, 0) + 1
        state, created = known.get(zone.id, ("open", now))
        values = dict(
            operator=zone.operator, active=True, state=state, cells=zone.cells,
            cell_count=len(zone.cells), resolution=zone.resolution, area_km2=zone.area_km2,
            outline=zone.outline, readings=zone.readings, devices=zone.devices,
            first_seen=zone.first_seen, last_seen=zone.last_seen,
            operators_affected=zone.operators_affected,
            distance_to_covered_m=zone.distance_to_covered_m,
            population=zone.extra.get("population"), villages=zone.extra.get("villages"),
            priority=zone.priority, rank=rank_in_scope[zone.operator], created_at=created,
            updated_at=now,
        )  # fmt: skip
        if zone.id in known:
            session.execute(update(DeadZone).where(DeadZone.id == zone.id).values(**values))
        else:
            session.add(DeadZone(id=zone.id, **values))
    session.flush()
