"""Map data: the stored decisions and dead zones as the ``maps`` package's input types.

``maps`` never imports ``service`` (STYLE.md: data flows one way), so the service turns its
own tables into ``maps.model`` values here, for the CLI (``deadzone map``, ``deadzone demo``)
and the routes (``GET /maps/coverage.html``, ``GET /maps/deadzones.html``) alike.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

import folium
import h3
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors.radio import OPERATOR_NAMES
from maps import (
    CELL_COLUMNS,
    AreaOutline,
    MapMeta,
    coverage_map,
    deadzone_map,
)
from maps import DeadZone as ZoneRecord
from service.aggregation import last_run
from service.coverage import ZONE_ORDER
from service.decisions import ANY
from service.models import CellStatus, DeadZone


def decided_cells(
    session: Session,
    *,
    resolutions: Collection[int] | None = None,
    operators: Collection[str] | None = None,
    radio: str = ANY,
) -> pd.DataFrame:
    """Decisions of one radio (default ``'any'``: all radios together) as a frame with
    ``maps.CELL_COLUMNS``. Best of all operators exists for ``radio='any'`` only.

    ``resolutions`` None takes every stored resolution (the working cell and its roll-ups,
    which the coverage map shows by zoom); ``operators`` None takes every operator and
    ``"any"``. Rows come ordered by operator, resolution and cell, so the same database
    gives the same frame (and the same HTML).
    """
    c = CellStatus
    query = select(
        c.h3_cell, c.operator, c.status, c.confidence, c.readings, c.devices,
        c.signal_dbm_mean, c.last_seen, c.resolution,
    ).where(c.radio == radio)  # fmt: skip
    if resolutions is not None:
        query = query.where(c.resolution.in_(sorted(resolutions)))
    if operators is not None:
        query = query.where(c.operator.in_(sorted(operators)))
    query = query.order_by(c.operator, c.resolution, c.h3_cell)
    frame = pd.DataFrame(session.execute(query).all(), columns=["h3_cell", *CELL_COLUMNS[1:]])
    frame.insert(0, "h3", [h3.int_to_str(int(cell)) for cell in frame.pop("h3_cell")])
    return frame[list(CELL_COLUMNS)]


def zone_records(session: Session, *, operator: str = ANY) -> list[ZoneRecord]:
    """Active dead zones of one scope (an MCC-MNC or ``"any"``), highest priority first."""
    zones = session.scalars(
        select(DeadZone)
        .where(DeadZone.active.is_(True), DeadZone.operator == operator)
        .order_by(*ZONE_ORDER)
    ).all()
    return [
        ZoneRecord(
            id=z.id,
            rank=z.rank if z.rank is not None else index + 1,
            outline=z.outline,
            area_km2=z.area_km2,
            cells=z.cell_count,
            readings=z.readings,
            devices=z.devices,
            operators=list(z.operators_affected),
            first_seen=z.first_seen,
            last_seen=z.last_seen,
            priority=z.priority,
            population=None if z.population is None else round(z.population),
            villages=z.villages,
        )
        for index, z in enumerate(zones)
    ]


def data_date(session: Session) -> datetime | None:
    """When the decisions were last computed (None before the first aggregation)."""
    run = last_run(session)
    return run.finished_at if run else None


def map_meta(title: str, *, data_date: datetime | None, lang: str = "vi") -> MapMeta:
    """Page metadata with the operators' display names ("Viettel (452-04)")."""
    return MapMeta(
        title=title,
        data_date=data_date,
        lang="en" if lang == "en" else "vi",
        operator_names=dict(OPERATOR_NAMES),
    )


def coverage_page(
    session: Session,
    *,
    meta: MapMeta,
    operators: Collection[str] | None = None,
    radio: str = ANY,
    areas: Sequence[AreaOutline] = (),
) -> folium.Map:
    """The coverage map of the stored decisions (every resolution, so roll-ups show when
    zoomed out), for all radios together or one radio."""
    return coverage_map(
        decided_cells(session, operators=operators, radio=radio),
        meta=meta,
        areas=areas,
        operators=operators,
    )


def deadzone_page(
    session: Session,
    *,
    meta: MapMeta,
    operator: str = ANY,
    areas: Sequence[AreaOutline] = (),
) -> folium.Map:
    """The dead-zone map of one scope's active zones."""
    return deadzone_map(zone_records(session, operator=operator), meta=meta, areas=areas)
