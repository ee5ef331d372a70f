"""Challenges: cells an operator claims to cover that the measurements decide dead.

The anchor is the FCC's mobile challenge process (DESIGN.md "Where evidence comes from"):
crowdsourced tests that fail where a provider claims coverage open a challenge; failures
must come at different times, tests stay valid for one year, and the provider has 60 days
to concede or rebut. deadzone's thresholds, in that spirit (``Settings``):

* the cell is claimed covered by the operator's newest claim for the radio
  (``service.areas.claims``), and the grid decides it ``dead`` for that operator, either on
  all its radios together (no usable signal at all) or on the claimed radio; the decision
  already needs three distinct phones and a Wilson bound (``service.engine.decisions``);
* the dead evidence spans at least ``challenge_min_days`` distinct days (failures at
  different times, not one bad afternoon);
* its newest reading is at most ``challenge_window_days`` old (one year, as FCC tests).

Each cell's evidence also lists the local hours (Vietnam time) of its failing readings, so
that whoever sends the case can show failures at different times of day.

Challenged cells are grouped into challenge areas: H3 neighbours of the same operator and
radio (``service.engine.zones.connected_components``), so an authority sends one case per
place, each cell with its evidence.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import h3
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.vocabulary import BEST_OF_ALL
from service.areas.boundaries import cells_to_communes
from service.areas.claims import check_claim_scope
from service.areas.progress import commune_names
from service.engine.statistics import reading_class
from service.engine.zones import connected_components
from service.errors import NotFound
from service.settings import Settings
from service.store.models import CellStatus, Claim, ClaimedCell, ReadingRow

VIETNAM_UTC_OFFSET: Final = timedelta(hours=7)  # Indochina Time, no daylight saving
RESPONSE_DAYS: Final = 60  # FCC: the provider has 60 days to concede or rebut (DESIGN.md)
# Which decisions of the grid can contradict a claim for a radio: the operator's decision
# on all its radios together, or on the claimed radio itself.
_MEASURED_SCOPES: Final = {
    "lte": (BEST_OF_ALL, "lte"),
    "nr": (BEST_OF_ALL, "nr"),
    "broadband": (BEST_OF_ALL,),
}


@dataclass
class ChallengeCell:
    """One claimed-covered cell decided dead, with the evidence behind the decision."""

    h3: str
    area: str
    operator: str
    radio: str
    measured_radio: str
    commune_code: str | None
    commune_name: str | None
    lat: float
    lon: float
    readings: int
    phones: int
    days: int
    first_seen: str
    last_seen: str
    no_service_share: float
    dead_share: float
    confidence: float
    failure_hours: list[int]
    claim_id: int
    claim_source: str
    claimed_at: str


def find_challenges(
    session: Session, settings: Settings, *, operator: str, commune: str | None = None,
    now: datetime,
) -> list[ChallengeCell]:  # fmt: skip
    """The challenged cells of ``operator`` (of one commune if given), by area then cell."""
    check_claim_scope(operator, "lte")
    names = commune_names(session)
    if commune is not None and commune not in names:
        raise NotFound(f"no commune {commune!r}", field="commune")
    claims = {c.id: c for c in session.scalars(select(Claim).where(Claim.operator == operator))}
    oldest = now - timedelta(days=settings.challenge_window_days)
    s, k = CellStatus, ClaimedCell
    query = (
        select(k.radio, k.claim_id, s)
        .join(s, (s.h3_cell == k.h3_cell) & (s.operator == k.operator))
        .where(
            k.operator == operator,
            s.resolution == settings.h3_resolution,
            s.status == "dead",
            s.days >= settings.challenge_min_days,
            s.last_seen >= oldest,
        )
    )
    best: dict[tuple[str, int], tuple[int, CellStatus]] = {}
    for radio, claim_id, status in session.execute(query):
        if status.radio not in _MEASURED_SCOPES.get(radio, (BEST_OF_ALL,)):
            continue
        key = (radio, int(status.h3_cell))
        # All radios together first: "no usable signal from this operator at all".
        if key not in best or status.radio == BEST_OF_ALL:
            best[key] = (int(claim_id), status)
    communes = cells_to_communes(session, sorted({cell for _, cell in best}))
    if commune is not None:
        best = {key: found for key, found in best.items() if communes.get(key[1]) == commune}
    hours = _failure_hours(
        session, settings, operator=operator, cells=sorted({c for _, c in best}), since=oldest
    )
    found: list[ChallengeCell] = []
    for radio in sorted({r for r, _ in best}):
        cells = [h3.int_to_str(c) for r, c in best if r == radio]
        for group in connected_components(cells):
            area = f"ch-{operator}-{radio}-{group[0]}"
            for cell in group:
                claim_id, status = best[(radio, h3.str_to_int(cell))]
                claim = claims[claim_id]
                code = communes.get(h3.str_to_int(cell))
                found.append(
                    ChallengeCell(
                        h3=cell,
                        area=area,
                        operator=operator,
                        radio=radio,
                        measured_radio=status.radio,
                        commune_code=code,
                        commune_name=names.get(code or ""),
                        lat=round(status.lat, 6),
                        lon=round(status.lon, 6),
                        readings=status.readings,
                        phones=status.devices,
                        days=status.days,
                        first_seen=status.first_seen.isoformat(),
                        last_seen=status.last_seen.isoformat(),
                        no_service_share=round(status.no_service_share, 4),
                        dead_share=round(status.dead_share, 4),
                        confidence=round(status.confidence, 4),
                        failure_hours=sorted(hours.get(h3.str_to_int(cell), set())),
                        claim_id=claim_id,
                        claim_source=claim.source,
                        claimed_at=claim.imported_at.isoformat(),
                    )  # fmt: skip
                )
    return found


def _failure_hours(
    session: Session, settings: Settings, *, operator: str, cells: list[int], since: datetime
) -> dict[int, set[int]]:
    """Local hours of the day (Vietnam time) at which each cell's dead readings of the
    operator were taken within the window: the FCC asks for failures at different times
    of day, and an authority sends this with the evidence. Read only for challenged cells."""
    r = ReadingRow.__table__.c
    mcc, mnc = (int(part) for part in operator.split("-"))
    found: dict[int, set[int]] = {}
    for start in range(0, len(cells), _CHUNK):
        query = select(r.h3_cell, r.observed_at).where(
            r.h3_cell.in_(cells[start : start + _CHUNK]), r.mcc == mcc, r.mnc == mnc,
            r.observed_at >= since, reading_class(settings) == "dead",
        )  # fmt: skip
        for cell, observed in session.execute(query):
            found.setdefault(int(cell), set()).add((observed + VIETNAM_UTC_OFFSET).hour)
    return found


_CHUNK: Final = 5000  # cells per IN list (SQLite binds each value)


def challenge_areas(cells: list[ChallengeCell]) -> list[dict[str, Any]]:
    """One summary per challenge area: its cells and the evidence across them."""
    areas: dict[str, dict[str, Any]] = {}
    for cell in cells:
        area = areas.setdefault(
            cell.area,
            {"id": cell.area, "operator": cell.operator, "radio": cell.radio, "cells": 0,
             "readings": 0, "max_phones": 0, "max_days": 0, "first_seen": cell.first_seen,
             "last_seen": cell.last_seen, "communes": set()},
        )  # fmt: skip
        area["cells"] += 1
        area["readings"] += cell.readings
        area["max_phones"] = max(area["max_phones"], cell.phones)
        area["max_days"] = max(area["max_days"], cell.days)
        area["first_seen"] = min(area["first_seen"], cell.first_seen)
        area["last_seen"] = max(area["last_seen"], cell.last_seen)
        if cell.commune_code:
            area["communes"].add(cell.commune_code)
    for area in areas.values():
        area["communes"] = sorted(area["communes"])
    return list(areas.values())


def thresholds(settings: Settings) -> dict[str, Any]:
    """The rules the challenges were found with, stated in every answer."""
    return {
        "min_days": settings.challenge_min_days,
        "window_days": settings.challenge_window_days,
        "min_phones_dead": settings.min_devices_dead,
        "min_dead_confidence": settings.min_dead_confidence,
        "respond_within_days": RESPONSE_DAYS,
        "source": "FCC mobile challenge process (tests valid one year, failures at "
        "different times, 60 days to concede or rebut)",
    }


def challenges_to_geojson(
    cells: list[ChallengeCell], settings: Settings, *, operator: str, now: datetime
) -> dict[str, Any]:
    """A FeatureCollection of hexagons, each with ``h3`` and its evidence; the areas and
    thresholds ride along as foreign members (RFC 7946 section 6.1)."""
    features = []
    for cell in cells:
        ring = [[lon, lat] for lat, lon in h3.cell_to_boundary(cell.h3)]
        features.append(
            {
                "type": "Feature",
                "id": cell.h3,
                "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
                "properties": asdict(cell),
            }
        )
    return {
        "type": "FeatureCollection",
        "operator": operator,
        "generated_at": now.isoformat(),
        "thresholds": thresholds(settings),
        "areas": challenge_areas(cells),
        "features": features,
    }


CSV_FIELDS: Final = tuple(ChallengeCell.__dataclass_fields__)


def challenge_rows(cells: list[ChallengeCell]) -> list[list[Any]]:
    return [[getattr(cell, name) for name in CSV_FIELDS] for cell in cells]
