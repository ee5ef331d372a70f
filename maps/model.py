"""The plain inputs that maps/ draws: decided cells, dead zones, area outlines, progress of
communes and villages, suggested sites, page metadata.

maps/ never imports ``service``; the service (or the CLI, or a test) builds these from its own
tables. Coordinates are WGS84 degrees (longitude, latitude in shapely order); areas are km²;
signal values are dBm; times are timezone-aware UTC ``datetime`` (naive ones are read as UTC);
people are persons (may be fractional when spread from a raster); shares are 0..1.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Literal

import h3
import pandas as pd
from shapely.geometry.base import BaseGeometry

from domain.vocabulary import VILLAGE_STATUSES, Decision
from domain.vocabulary import VillageStatusName as VillageStatus

Lang = Literal["vi", "en"]

# The words (decisions, village statuses, the best-of-all scope) are deadzone's one vocabulary
# (domain.vocabulary); the service decides, maps only draws.


# Columns the coverage map reads from a cell table, in the order of ``CellRecord``.
CELL_COLUMNS: tuple[str, ...] = (
    "h3",
    "operator",
    "status",
    "confidence",
    "readings",
    "devices",
    "signal_dbm_mean",
    "last_seen",
    "resolution",
    "operator_statuses",
)


@dataclass(frozen=True)
class CellRecord:
    """One decided H3 cell for one operator.

    ``h3`` is the H3 index as a hex string; ``operator`` is ``"any"`` (best of all operators)
    or an MCC-MNC such as ``"452-04"``; ``confidence`` is 0..1; ``signal_dbm_mean`` is the
    power-averaged signal in dBm (None when only no-service readings exist); ``resolution`` is
    the H3 resolution (9 is the working cell, 8 and 7 are roll-ups), read from ``h3`` when None.
    ``operator_statuses``, on a best-of-all row, says what each operator's own decision is in
    the cell ("452-01=dead,452-04=weak"; empty when not known): the cell's popup names who
    has signal there and who does not.
    """

    h3: str
    operator: str
    status: Decision | str
    confidence: float = 0.0
    readings: int = 0
    devices: int = 0
    signal_dbm_mean: float | None = None
    last_seen: datetime | None = None
    resolution: int | None = None
    operator_statuses: str = ""


def format_operator_statuses(statuses: dict[str, str]) -> str:
    """``CellRecord.operator_statuses`` of {operator: status}, in operator order."""
    return ",".join(f"{op}={status}" for op, status in sorted(statuses.items()))


def parse_operator_statuses(text: str) -> dict[str, str]:
    """The {operator: status} of ``CellRecord.operator_statuses`` text."""
    pairs = (item.split("=", 1) for item in text.split(",") if "=" in item)
    return {op.strip(): status.strip() for op, status in pairs}


@dataclass(frozen=True)
class ZoneRecord:
    """A connected group of dead cells, as decided by the service.

    ``outline`` is a shapely Polygon or MultiPolygon in WGS84; ``area_km2`` in km²;
    ``priority`` is the service's score (higher first); ``population`` and ``villages`` (their
    names, as a reader knows them) are None when no area data was imported.
    ``village_communes``: the commune of each village, in the same order ("" when unknown;
    empty when not given): a province has a "Thôn 1" in most communes.
    """

    id: str
    rank: int
    outline: BaseGeometry
    area_km2: float
    cells: int
    readings: int
    devices: int
    operators: Sequence[str]
    first_seen: datetime | None
    last_seen: datetime | None
    priority: float
    population: int | None = None
    villages: Sequence[str] | None = None
    village_communes: Sequence[str] = ()


@dataclass(frozen=True)
class AreaOutline:
    """A named area drawn as an outline (commune, district, province) in WGS84."""

    name: str
    geometry: BaseGeometry


@dataclass(frozen=True)
class CommuneProgress:
    """Progress of one commune (xã, phường) towards zero dead zones.

    ``geometry``: shapely Polygon or MultiPolygon in WGS84 (simplified for drawing by the map).
    ``population``: people living in the commune's cells; ``people_covered``: of those, people
    in cells with signal from the best operator (ITU SDG 9.c.1 style); people in undecided or
    unmeasured cells are *not* covered. ``covered_share`` = people_covered / population (0..1),
    None when no people are known there. ``villages_*``: villages of the commune per status
    (``VILLAGE_STATUSES``); ``zones_open``: open dead zones touching the commune.
    """

    code: str
    name: str
    geometry: BaseGeometry
    population: float
    people_covered: float
    covered_share: float | None
    villages_trang_song: int = 0
    villages_lom_song: int = 0
    villages_covered: int = 0
    villages_unknown: int = 0
    zones_open: int = 0

    def villages(self, status: str) -> int:
        """Villages of the commune with ``status`` (one of ``VILLAGE_STATUSES``)."""
        if status not in VILLAGE_STATUSES:
            raise ValueError(f"unknown village status {status!r}")
        return int(getattr(self, f"villages_{status}"))


@dataclass(frozen=True)
class VillageMark:
    """A village (thôn, buôn, bản) drawn as a marker coloured by its status.

    ``lat``/``lon``: centre in WGS84 degrees; ``population``: people, from the area file (None
    when the file had none); ``status``: one of ``VILLAGE_STATUSES``; ``centre_status``: the
    decision of the centre cell (``Decision`` value); ``people_dead``: people of the village
    in dead cells; ``cells``/``cells_dead``: the village's grid cells, all and dead;
    ``likely_status``/``likely_probability``: for a village of unknown status, the status its
    centre most probably has (``trang_song`` or ``covered``, estimated, not measured) and its
    probability (0.5-1), else None.
    """

    code: str
    name: str
    commune_code: str | None
    population: int | None
    lat: float
    lon: float
    status: VillageStatus | str
    centre_status: Decision | str = Decision.UNKNOWN
    people_dead: float = 0.0
    cells_dead: int = 0
    cells: int = 0
    likely_status: str | None = None
    likely_probability: float | None = None


@dataclass(frozen=True)
class PlannedSite:
    """A suggested new site and the disc it is expected to cover.

    ``rank``: 1 is chosen first (most people newly covered); ``h3``: the candidate cell whose
    centre is the site; ``lat``/``lon`` in WGS84 degrees; ``radius_km``: coverage radius of the
    planning model in km; ``people_new``: people this site newly covers, ``people_cumulative``:
    covered by this site and all better-ranked ones; ``villages``: names of the villages with
    people newly covered, ``village_communes`` their communes (as ``ZoneRecord``'s).
    """

    rank: int
    h3: str
    lat: float
    lon: float
    radius_km: float
    people_new: float
    people_cumulative: float
    villages: Sequence[str] = ()
    village_communes: Sequence[str] = ()


@dataclass(frozen=True)
class MapMeta:
    """What the page says about itself: a title, the date of the data, the language."""

    title: str
    data_date: date | datetime | None = None
    lang: Lang = "vi"
    # Operator display names by MCC-MNC; the service can pass domain.radio.OPERATOR_NAMES.
    operator_names: dict[str, str] = field(default_factory=dict)


def cells_to_frame(cells: pd.DataFrame | Iterable[CellRecord]) -> pd.DataFrame:
    """Return the cells as a DataFrame with exactly ``CELL_COLUMNS``, normalised.

    Accepts a (Geo)DataFrame with at least ``h3``, ``operator`` and ``status`` or an iterable
    of ``CellRecord``. Missing evidence columns are filled (0 or None); ``resolution`` is read
    from the H3 index where missing. Refuses an unknown status with ``ValueError``.
    """
    if isinstance(cells, pd.DataFrame):
        frame = pd.DataFrame(cells.drop(columns="geometry", errors="ignore"))
    else:
        frame = pd.DataFrame([asdict(c) for c in cells], columns=list(CELL_COLUMNS))
    missing = {"h3", "operator", "status"} - set(frame.columns)
    if missing:
        raise ValueError(f"cell table lacks column(s): {', '.join(sorted(missing))}")
    defaults: dict[str, float | int | str | None] = {
        "confidence": 0.0,
        "readings": 0,
        "devices": 0,
        "signal_dbm_mean": None,
        "last_seen": None,
        "resolution": None,
        "operator_statuses": "",
    }
    for column, default in defaults.items():
        if column not in frame.columns:
            frame[column] = default
    frame = frame[list(CELL_COLUMNS)].copy()
    frame["h3"] = frame["h3"].astype(str)
    frame["operator"] = frame["operator"].astype(str)
    frame["status"] = frame["status"].map(lambda s: str(getattr(s, "value", s)))
    bad = set(frame["status"]) - {s.value for s in Decision}
    if bad:
        raise ValueError(f"unknown cell status(es): {', '.join(sorted(map(repr, bad)))}")
    res = pd.to_numeric(frame["resolution"], errors="coerce")
    if res.isna().any():
        res = res.where(res.notna(), frame["h3"].map(h3.get_resolution))
    frame["resolution"] = res.astype(int)
    frame["confidence"] = pd.to_numeric(frame["confidence"], errors="coerce").fillna(0.0)
    frame["readings"] = pd.to_numeric(frame["readings"], errors="coerce").fillna(0).astype(int)
    frame["devices"] = pd.to_numeric(frame["devices"], errors="coerce").fillna(0).astype(int)
    frame["signal_dbm_mean"] = pd.to_numeric(frame["signal_dbm_mean"], errors="coerce")
    frame["last_seen"] = pd.to_datetime(frame["last_seen"], utc=True, errors="coerce")
    frame["operator_statuses"] = frame["operator_statuses"].fillna("").astype(str)
    return frame.reset_index(drop=True)
