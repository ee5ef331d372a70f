"""Helpers for the commitment and challenge tests: dead zones measured from real readings."""

from __future__ import annotations

from typing import Any

import h3
from sqlalchemy.orm import Session, sessionmaker

from service.areas.audit import Actor
from service.settings import Settings
from tests.coverage_helpers import decide, ingest, reading_in

AUTHORITY = Actor(name="so-tt-daklak", may_assign=True, operators=None)
VIETTEL = Actor(name="viettel-daklak", may_assign=False, operators=frozenset({"452-04"}))
VINAPHONE = Actor(name="vnpt-daklak", may_assign=False, operators=frozenset({"452-02"}))


def blob(centre: str) -> list[str]:
    """A compact zone: the centre cell and its six neighbours."""
    return sorted(h3.grid_disk(centre, 1))


def dead_readings(cells: list[str], *, days_ago: float, mnc: int = 4) -> list[dict[str, Any]]:
    """No-service readings from three phones on two days in each cell: enough to decide
    every cell dead (three devices, six readings: Wilson bound 0.61, over 0.5)."""
    return [
        reading_in(cell, device=f"resident-{d}", days_ago=days_ago + day, no_service=True,
                   mnc=mnc)
        for cell in cells for d in range(3) for day in (0, 1)
    ]  # fmt: skip


def good_readings(cells: list[str], *, days_ago: float, mnc: int = 4) -> list[dict[str, Any]]:
    """Two phones measuring -85 dBm LTE (4 bars) twice in each cell: covered."""
    return [
        reading_in(cell, device=f"surveyor-{d}", days_ago=days_ago + 0.01 * k, dbm=-85.0,
                   mnc=mnc)
        for cell in cells for d in range(2) for k in range(2)
    ]  # fmt: skip


def measure_dead_zone(
    sessions: sessionmaker[Session], settings: Settings, centre: str, *, days_ago: float = 20
) -> list[str]:
    """Readings that make a 7-cell zone of 452-04 dead, then the aggregation."""
    cells = blob(centre)
    ingest(sessions, settings, dead_readings(cells, days_ago=days_ago))
    decide(sessions, settings)
    return cells
