"""Helpers for the areas tests: small GIS files written on the fly, decisions put by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import geopandas as gpd
import h3
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session, sessionmaker

from service.areas.boundaries import AreaImport, attach_clusters, read_areas, upsert_areas
from service.areas.population import rebuild_population
from service.engine.zones import cells_to_outline
from service.settings import Settings
from service.store.database import session_scope
from service.store.hexagons import add_hexagons
from service.store.models import CellStatus, DeadZone

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LAT, LON = 12.68, 108.05  # near Buon Ma Thuot
CENTRE = h3.latlng_to_cell(LAT, LON, 9)


def write_layer(
    path: Path, records: list[dict[str, Any]], *, crs: Any = "EPSG:4326", driver: str | None = None
) -> Path:
    """A GIS file of ``records`` (each with a ``geometry``) in ``crs`` (None: no CRS)."""
    frame = gpd.GeoDataFrame(records, geometry="geometry", crs=crs)
    frame.to_file(path, driver=driver, engine="pyogrio")
    return path


def import_areas(
    sessions: sessionmaker[Session], settings: Settings, path: Path, *, kind: str = "auto"
) -> tuple[AreaImport, int, int]:
    """What ``deadzone import-areas`` does: read, upsert (or attach villages' clusters),
    rebuild the population grid."""
    found = read_areas(path, kind=kind, resolution=settings.h3_resolution)
    with session_scope(sessions) as session:
        if found.kind == "cluster":
            inserted, updated = 0, attach_clusters(session, found)
        else:
            inserted, updated = upsert_areas(session, found, now=NOW)
        rebuild_population(session, settings)
    return found, inserted, updated


def village(
    code: str, name: str, cell: str, population: int | None, *, commune: str | None = "C1",
    geometry: BaseGeometry | None = None, facilities: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A village record at the centre of ``cell`` (or with a cluster ``geometry``)."""
    from shapely.geometry import Point

    lat, lon = h3.cell_to_latlng(cell)
    record: dict[str, Any] = {
        "code": code, "name": name, "commune": commune, "population": population,
        "geometry": geometry if geometry is not None else Point(lon, lat),
    }  # fmt: skip
    if facilities is not None:
        record["facilities"] = facilities
    if geometry is not None:
        record["lon"], record["lat"] = lon, lat
    return record


def put_statuses(
    sessions: sessionmaker[Session], statuses: dict[str, str], *, operator: str = "any",
    last_seen: datetime = NOW - timedelta(days=3), radios: tuple[str, ...] = ("any", "broadband"),
) -> None:  # fmt: skip
    """Decisions written by hand at resolution 9, in the scopes ``radios`` (a hand-made grid
    of LTE decisions: the same for any signal and broadband, unless told)."""
    with session_scope(sessions) as session:
        for (cell, status), radio in ((item, r) for item in statuses.items() for r in radios):
            lat, lon = h3.cell_to_latlng(cell)
            session.merge(
                CellStatus(
                    h3_cell=h3.str_to_int(cell),
                    operator=operator,
                    radio=radio,
                    resolution=9,
                    lat=lat,
                    lon=lon,
                    status=status,
                    confidence=0.9,
                    readings=10,
                    devices=3,
                    days=2,
                    no_service_share=1.0 if status == "dead" else 0.0,
                    dead_share=1.0 if status == "dead" else 0.0,
                    signal_dbm_mean=None,
                    first_seen=last_seen - timedelta(days=10),
                    last_seen=last_seen,
                    evidence_from=date(last_seen.year, last_seen.month, 1),
                )  # fmt: skip
            )
        # As the engine's writer does (service.engine.results): the QGIS views draw them.
        add_hexagons(session.connection(), (h3.str_to_int(c) for c in statuses))


def open_zone(
    sessions: sessionmaker[Session], cells: list[str], zone_id: str = "dz-any-x", *,
    state: str = "open", operator: str = "any", radios: tuple[str, ...] = ("any", "broadband"),
) -> None:  # fmt: skip
    """An active dead zone written by hand, in the scopes ``radios``: the zone the engine
    finds in each scope from ``put_statuses``' grid of the same decisions in both. The
    broadband one's id is ``scoped_id`` of ``zone_id``."""
    with session_scope(sessions) as session:
        for radio in radios:
            session.add(_hand_made_zone(scoped_id(zone_id, radio), cells, state, operator, radio))


def scoped_id(zone_id: str, radio: str) -> str:
    """The id of the hand-made zone ``zone_id`` in a scope over radios: tagged for
    broadband as the engine tags its ids (``service.engine.zones.id_scope``)."""
    return zone_id if radio == "any" else f"dz-bb-{zone_id.removeprefix('dz-')}"


def _hand_made_zone(
    zone_id: str, cells: list[str], state: str, operator: str, radio: str
) -> DeadZone:
    return DeadZone(
        id=zone_id, operator=operator, radio=radio, active=True, state=state, cells=cells,
        cell_count=len(cells), resolution=9, area_km2=0.1, outline=cells_to_outline(cells),
        readings=9, devices=3, first_seen=NOW, last_seen=NOW, operators_affected=[],
        distance_to_covered_m=None, population=None, villages=None, priority=1.0, rank=1,
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
