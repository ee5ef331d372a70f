"""Writing the engine's results: decision rows into ``cell_status``, dead zones into
``dead_zones`` (with their cells indexed in ``zone_cells``). The full and the incremental
paths share these writers, so both store exactly the same rows."""

from __future__ import annotations

from datetime import date, datetime

import h3
import numpy as np
import pandas as pd
from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from service.engine.zones import Zone
from service.store.bulk import copy_frame, copy_rows
from service.store.dialect import is_postgres
from service.store.hexagons import add_hexagons
from service.store.models import CellStatus, DeadZone, ZoneCell
from service.store.runs import remember_first_zoning

_STATUS_COLUMNS = [c.name for c in CellStatus.__table__.columns]
BOX_COLUMNS = ("box_south", "box_north", "box_west", "box_east")
"""``dead_zones``' columns of a zone's ``box`` (``service.engine.zones.centres_box``)."""


def store_decisions(session: Session, decisions: pd.DataFrame) -> None:
    """Append decision rows to ``cell_status`` (the caller cleared their cells), and on
    PostgreSQL the outlines of cells decided for the first time (``service.store.hexagons``).

    Columns are converted to Python values column by column (vectorised): converting
    value by value took most of the aggregation's time at province scale. On PostgreSQL
    they are formatted as CSV, column by column, for one COPY
    (``service.store.bulk.copy_frame``).
    """
    if decisions.empty:
        return
    if is_postgres(session):
        copy_frame(session.connection(), "cell_status", decisions[_STATUS_COLUMNS])
    else:
        columns = [_column_values(decisions[name], sqlite=True) for name in _STATUS_COLUMNS]
        copy_rows(session.connection(), "cell_status", _STATUS_COLUMNS, zip(*columns, strict=True))
    add_hexagons(session.connection(), decisions["h3_cell"].to_numpy())


def _column_values(column: pd.Series, *, sqlite: bool) -> list[object]:
    """A column as the Python values a driver takes (NaN as None)."""
    if pd.api.types.is_datetime64_any_dtype(column):
        if sqlite:  # naive UTC text, as SQLAlchemy's DateTime writes it on SQLite
            # numpy's formatter is ten times faster than pandas' strftime.
            utc = column.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[us]")
            text = np.char.replace(np.datetime_as_string(utc, unit="us"), "T", " ")
            return [
                None if missing else t
                for t, missing in zip(text.tolist(), column.isna().tolist(), strict=True)
            ]
        return [None if pd.isna(v) else v for v in column.dt.to_pydatetime()]
    if column.dtype == object:
        # A concat of frames can leave a float column as objects, NaN among them:
        # PostgreSQL would store NaN, not NULL (and NaN equals nothing, not even itself).
        values = column.tolist()
        # A date column repeats a few months over its rows: each formatted once.
        iso = {v: v.isoformat() for v in set(values) if isinstance(v, date)} if sqlite else {}
        return [
            None if isinstance(v, float) and v != v else iso.get(v, v) if iso else v
            for v in values
        ]  # fmt: skip
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub":
        return column.tolist()  # numpy integers and booleans are never missing
    if isinstance(column.dtype, np.dtype) and column.dtype.kind == "f":
        # NaN as None by a comprehension: pandas' where over objects cost 3 times as much.
        values = column.tolist()
        return [None if v != v else v for v in values] if column.isna().any() else values
    return column.astype(object).where(column.notna(), None).tolist()


def previous_zones(session: Session) -> dict[tuple[str, str], dict[str, list[str]]]:
    """Stored active zones by scope: ``{(operator, radio scope): {id: cells}}``."""
    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    for zone_id, operator, radio, cells, active in session.execute(
        select(DeadZone.id, DeadZone.operator, DeadZone.radio, DeadZone.cells, DeadZone.active)
    ):
        if active:
            found.setdefault((operator, radio), {})[zone_id] = cells
    return found


def store_zones(session: Session, zones: list[Zone], *, now: datetime) -> None:
    """Replace the active zones with ``zones``, keeping ids, states and creation times;
    ranks are numbered within each (operator, radio scope)."""
    session.execute(update(DeadZone).values(active=False, rank=None))
    session.execute(delete(ZoneCell))
    ranked = sorted(zones, key=lambda z: (z.operator, z.radio, -z.priority, z.id))
    ranks: dict[str, int] = {}
    rank_in_scope: dict[tuple[str, str], int] = {}
    for zone in ranked:
        scope = (zone.operator, zone.radio)
        rank_in_scope[scope] = rank_in_scope.get(scope, 0) + 1
        ranks[zone.id] = rank_in_scope[scope]
    write_zones(session, zones, now=now, ranks=ranks)
    remember_first_zoning(session, now=now)


def write_zones(
    session: Session, zones: list[Zone], *, now: datetime, ranks: dict[str, int] | None = None
) -> None:
    """Insert or update ``zones`` as active (their cells indexed in ``zone_cells``), keeping
    the state and creation time of an id seen before; ``ranks`` by id, or none (the
    caller numbers them)."""
    if not zones:
        return
    query = select(DeadZone.id, DeadZone.state, DeadZone.created_at)
    if len(zones) <= 500:  # a few zones (incremental): just theirs
        query = query.where(DeadZone.id.in_([z.id for z in zones]))
    known = {zone_id: (state, created) for zone_id, state, created in session.execute(query)}
    rewritten = []
    for zone in zones:
        state, created = known.get(zone.id, ("open", now))
        values = dict(
            operator=zone.operator, radio=zone.radio, active=True, state=state, cells=zone.cells,
            cell_count=len(zone.cells), resolution=zone.resolution, area_km2=zone.area_km2,
            outline=zone.outline, readings=zone.readings, devices=zone.devices,
            first_seen=zone.first_seen, last_seen=zone.last_seen,
            operators_affected=zone.operators_affected,
            distance_to_covered_m=zone.distance_to_covered_m,
            **dict(zip(BOX_COLUMNS, zone.box or (None,) * 4, strict=True)),
            population=zone.extra.get("population"), villages=zone.extra.get("villages"),
            priority=zone.priority, rank=None if ranks is None else ranks[zone.id],
            created_at=created, updated_at=now,
        )  # fmt: skip
        if zone.id in known:
            rewritten.append({"zone_id": zone.id, **values})
        else:
            session.add(DeadZone(id=zone.id, **values))
    session.flush()
    if rewritten:
        # One statement executed for every zone seen before: an ORM UPDATE each cost 6-7 ms
        # (2,188 of them in a spread batch at 3 million stored readings; issue 12). Zones
        # the session holds are expired, to be read again as stored, as the ORM's own
        # UPDATE kept them current.
        table: Table = DeadZone.__table__  # type: ignore[assignment]
        session.execute(update(table).where(table.c.id == bindparam("zone_id")), rewritten)
        ids = {row["zone_id"] for row in rewritten}
        for key in list(session.identity_map.keys()):
            mapped, (zone_id, *_), *_ = key
            if mapped is DeadZone and zone_id in ids:
                session.expire(session.identity_map[key])
    copy_rows(
        session.connection(),
        "zone_cells",
        ["operator", "radio", "h3_cell", "zone_id"],
        ((z.operator, z.radio, h3.str_to_int(c), z.id) for z in zones for c in z.cells),
    )
