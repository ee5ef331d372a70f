"""Building readings in chosen H3 cells, for the coverage engine's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import h3
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.ingest.readings import Ingestor
from service.jobs import run_aggregation
from service.settings import Settings
from service.store.database import session_scope
from service.store.models import CellStatus

NOW = datetime.now(UTC).replace(microsecond=0)
CENTRE = h3.latlng_to_cell(12.68, 108.05, 9)
_counter = iter(range(10**9))


def reading_in(
    cell: str,
    *,
    device: str,
    days_ago: float = 1,
    dbm: float | None = None,
    no_service: bool = False,
    level: int | None = None,
    mnc: int | None = 4,
    radio: str = "lte",
    accuracy_m: float = 5.0,
) -> dict[str, Any]:
    lat, lon = h3.cell_to_latlng(cell)
    reading: dict[str, Any] = {
        "id": f"t{next(_counter)}",
        "device": device,
        "observed_at": (NOW - timedelta(days=days_ago)).isoformat(),
        "lat": lat,
        "lon": lon,
        "accuracy_m": accuracy_m,
        "mcc": 452,
        "mnc": mnc,
        "radio": radio,
    }
    if no_service:
        reading["no_service"] = True
    elif level is not None:
        reading["level"] = level
        reading["source"] = "reporter"
    else:
        reading["signal_dbm"] = dbm if dbm is not None else -90.0
    return reading


def ingest(
    sessions: sessionmaker[Session],
    settings: Settings,
    items: list[dict[str, Any]],
    *,
    now: datetime | None = None,
    origin: str | None = None,
) -> None:
    """Store ``items`` as one upload would: received at ``now`` (the server's clock, which
    counts upload days; the real clock when None) from the client address ``origin`` (the
    network of a new device's first upload; None: not known, as on the command line)."""
    with session_scope(sessions) as session:
        result = Ingestor.from_settings(settings).ingest(session, items, now=now, origin=origin)
    assert not result.rejected, result.rejected


def decide(sessions: sessionmaker[Session], settings: Settings) -> None:
    run_aggregation(sessions, settings, now=NOW)


def status_of(
    sessions: sessionmaker[Session], cell: str, operator: str = "any", radio: str = "any"
) -> CellStatus | None:
    with sessions() as session:
        return session.scalars(
            select(CellStatus).where(
                CellStatus.h3_cell == h3.str_to_int(cell),
                CellStatus.operator == operator,
                CellStatus.radio == radio,
            )
        ).first()
