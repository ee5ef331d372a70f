"""Reading the decided grid back: cells in a bounding box, dead zones, summaries."""

from __future__ import annotations

import functools
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any, Final

import h3
import orjson
import shapely
from sqlalchemy import and_, exists, false, func, literal, or_, select
from sqlalchemy.orm import Session

from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL, RADIO_SCOPES
from domain.vocabulary import DECISIONS_WORST_FIRST as STATUSES
from service.areas.selection import AreaFilter, zone_in_area
from service.engine.statistics import watermark
from service.errors import InvalidInput, NotFound
from service.grid import BBox
from service.publish.disclosure import EXACT, Disclosure
from service.publish.sheets import Lang, localized_csv
from service.settings import Settings
from service.store.models import (
    CellEstimate,
    CellStatus,
    Commune,
    DeadZone,
    ReadingRow,
    Village,
)
from service.store.runs import last_run

COORDINATE_DECIMALS = 6  # about 0.1 m: finer than any GPS fix, and keeps responses small


def choose_resolution(box: BBox, requested: int, *, available: list[int], max_cells: int) -> int:
    """The finest available resolution, not finer than ``requested``, at which ``box``
    holds at most ``max_cells`` cells."""
    if requested not in available:
        raise InvalidInput(
            f"resolution {requested} is not computed; choose one of "
            f"{sorted(available, reverse=True)}",
            field="resolution",
        )
    for res in sorted((r for r in available if r <= requested), reverse=True):
        if box.area_km2() / h3.average_hexagon_area(res, "km^2") <= max_cells:
            return res
    raise InvalidInput(
        f"bbox of {box.area_km2():,.0f} km2 is too large even at resolution {min(available)}; "
        "ask for a smaller area",
        field="bbox",
    )


def cells_in_bbox(
    session: Session,
    box: BBox,
    *,
    operator: str,
    radio: str,
    resolution: int,
    statuses: list[str] | None,
    area: AreaFilter | None = None,
    include_inferred: bool = False,
    disclosure: Disclosure = EXACT,
) -> list[dict[str, Any]]:
    """GeoJSON features (hexagons) of the decided cells whose centre lies in ``box``
    (padded by one cell so that edge cells are not cut off), and in ``area`` if given, with
    the estimated field of the scope over radios (``service.engine.estimate``: 'any' and
    'broadband', at the working resolution) beside the measured status.
    ``include_inferred`` adds the cells without readings that the estimate reaches; their
    status is ``unknown``. ``statuses`` keeps a cell whose measured status, or with
    ``include_inferred`` its inferred status, is listed. ``disclosure`` withholds the
    figures of cells behind too few devices from public callers
    (``service.publish.disclosure``)."""
    pad = h3.average_hexagon_edge_length(resolution, "km") / 110.0
    lat_range = (box.min_lat - pad, box.max_lat + pad)
    lon_range = (box.min_lon - pad, box.max_lon + pad)
    c, e = CellStatus, CellEstimate
    estimated = radio in RADIO_SCOPES
    joined = and_(
        e.h3_cell == c.h3_cell, e.operator == c.operator, e.radio == c.radio,
        e.resolution == c.resolution,
    )  # fmt: skip
    query = (
        select(
            c.h3_cell, c.status, c.confidence, c.readings, c.devices, c.days,
            c.no_service_share, c.signal_dbm_mean, c.last_seen, e.p_dead, e.estimate_dbm,
            e.estimate_sd, e.inferred_status,
        )
        .outerjoin(e, joined if estimated else false())
        .where(
            c.operator == operator,
            c.radio == radio,
            c.resolution == resolution,
            c.lat.between(*lat_range),
            c.lon.between(*lon_range),
        )
    )  # fmt: skip
    if statuses:
        wanted = c.status.in_(statuses)
        query = query.where(or_(wanted, e.inferred_status.in_(statuses)) if include_inferred
                            else wanted)  # fmt: skip
    rows = list(session.execute(query))
    if include_inferred and estimated:
        only = (
            select(
                e.h3_cell, literal("unknown"), literal(0.0), literal(0), literal(0), literal(0),
                literal(0.0), literal(None), literal(None), e.p_dead, e.estimate_dbm,
                e.estimate_sd, e.inferred_status,
            )
            .where(
                e.operator == operator,
                e.radio == radio,
                e.resolution == resolution,
                e.lat.between(*lat_range),
                e.lon.between(*lon_range),
                ~exists().where(
                    c.h3_cell == e.h3_cell, c.operator == e.operator, c.radio == e.radio,
                    c.resolution == e.resolution,
                ),
            )
        )  # fmt: skip
        if statuses:
            only = only.where(e.inferred_status.in_(statuses))
        rows += list(session.execute(only))
    if area is not None:
        keep = area.contains([int(row[0]) for row in rows], resolution=resolution)
        rows = [row for row, kept in zip(rows, keep.tolist(), strict=True) if kept]
    return [_cell_feature(row, disclosure) for row in rows]


def _cell_feature(row: Any, disclosure: Disclosure) -> dict[str, Any]:
    (cell, status, conf, readings, devices, days, nss, dbm, last_seen, p_dead, estimate_dbm,
     estimate_sd, inferred) = row  # fmt: skip
    return {
        "type": "Feature",
        "id": h3.int_to_str(cell),
        "geometry": hexagon_geojson(cell),
        "properties": disclosure.cell(
            {
                "h3": h3.int_to_str(cell),
                "status": status,
                "confidence": round(conf, 4),
                "readings": readings,
                "devices": devices,
                "days": days,
                "no_service_share": round(nss, 4),
                "signal_dbm_mean": None if dbm is None else round(dbm, 1),
                "last_seen": last_seen,
                "p_dead": None if p_dead is None else round(p_dead, 4),
                "estimate_dbm": None if estimate_dbm is None else round(estimate_dbm, 1),
                "estimate_sd": None if estimate_sd is None else round(estimate_sd, 2),
                "inferred_status": inferred,
            }
        ),
    }


@functools.lru_cache(maxsize=400_000)
def hexagon_geojson(cell: int) -> orjson.Fragment:
    """The GeoJSON Polygon of an H3 cell, serialised once per process.

    A cell's boundary never changes, and computing and serialising 170,000 of them was
    most of a province-wide ``/v1/cells``; the cache holds the whole province (about
    200 bytes a cell)."""
    ring = [
        [round(lng, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS)]
        for lat, lng in h3.cell_to_boundary(h3.int_to_str(cell))
    ]
    ring.append(ring[0])
    return orjson.Fragment(orjson.dumps({"type": "Polygon", "coordinates": [ring]}))


ZONE_ORDER = (DeadZone.priority.desc(), DeadZone.id)


def list_zones(
    session: Session, *, operator: str, min_cells: int, limit: int | None, offset: int,
    area: AreaFilter | None = None, radio: str = ANY_SIGNAL,
) -> tuple[int, list[DeadZone]]:  # fmt: skip
    """Active dead zones of a scope (``operator``, and ``radio``: 'any' signal or
    'broadband'), ranked by priority, and their total count (``limit`` None: every zone
    from ``offset`` on); only those in ``area`` if given.

    Dead zones are grouped in the scopes over radios only (``service.engine.zones``): one
    radio (lte, umts...) is refused with the way to its dead cells."""
    if radio not in RADIO_SCOPES:
        raise InvalidInput(
            f"dead zones are grouped for radio=any or radio=broadband, not {radio!r}; the "
            f"cells without {radio} are at /v1/cells?radio={radio}&status=dead",
            field="radio",
        )
    where = (
        DeadZone.active.is_(True),
        DeadZone.operator == operator,
        DeadZone.radio == radio,
        DeadZone.cell_count >= min_cells,
    )
    if area is not None:
        # A scope holds a few hundred zones at most: filter them here, by the one rule of
        # service.areas.selection, then page.
        ranked = [
            zone
            for zone in session.scalars(select(DeadZone).where(*where).order_by(*ZONE_ORDER))
            if zone_in_area(area, zone.cells, zone.villages)
        ]
        end = None if limit is None else offset + limit
        return len(ranked), ranked[offset:end]
    total = int(session.scalar(select(func.count()).select_from(DeadZone).where(*where)) or 0)
    zones = session.scalars(
        select(DeadZone).where(*where).order_by(*ZONE_ORDER).limit(limit).offset(offset)
    ).all()
    return total, list(zones)


def get_zone(session: Session, zone_id: str) -> DeadZone:
    zone = session.get(DeadZone, zone_id)
    if zone is None:
        raise NotFound(f"no dead zone with id {zone_id!r}", field="id")
    return zone


def summary(session: Session, settings: Settings, *, radio: str = ANY_SIGNAL) -> dict[str, Any]:
    """Totals per status for best-of-all and per operator, at the working resolution, and
    the zones per operator scope, all in one scope over radios (``RADIO_SCOPES``: any
    signal, or broadband)."""
    if radio not in RADIO_SCOPES:
        raise ValueError(f"radio scope must be one of {RADIO_SCOPES}, got {radio!r}")
    c = CellStatus
    rows = session.execute(
        select(c.operator, c.status, func.count())
        .where(c.radio == radio, c.resolution == settings.h3_resolution)
        .group_by(c.operator, c.status)
    ).all()
    per_operator: dict[str, dict[str, int]] = {}
    for operator, status, count in rows:
        per_operator.setdefault(operator, dict.fromkeys(STATUSES, 0))[status] = int(count)
    zones = session.execute(
        select(DeadZone.operator, func.count(), func.coalesce(func.sum(DeadZone.area_km2), 0.0))
        .where(DeadZone.active.is_(True), DeadZone.radio == radio)
        .group_by(DeadZone.operator)
    ).all()
    run = last_run(session)
    waiting = session.scalar(
        select(func.count()).select_from(ReadingRow).where(ReadingRow.seq > watermark(session))
    )
    return {
        "resolution": settings.h3_resolution,
        "radio": radio,
        "cells": per_operator.get(BEST_OF_ALL, dict.fromkeys(STATUSES, 0)),
        "operators": {op: v for op, v in sorted(per_operator.items()) if op != BEST_OF_ALL},
        "dead_zones": {op: {"zones": int(n), "area_km2": round(float(a), 3)} for op, n, a in zones},
        "aggregated_at": run.finished_at.isoformat() if run else None,
        "readings_waiting": int(waiting or 0),
    }


def zone_properties(zone: DeadZone, *, disclosure: Disclosure = EXACT) -> dict[str, Any]:
    """A zone's properties; a public caller sees its times to the day, and no figures at
    all for a zone behind fewer than k devices (``service.publish.disclosure``)."""
    thin = not disclosure.exact and zone.devices < disclosure.min_devices

    def iso(value: datetime | None) -> str | None:
        return None if value is None or thin else disclosure.time(value).isoformat()

    return {
        "id": zone.id,
        "operator": zone.operator,
        "radio": zone.radio,
        "rank": zone.rank,
        "priority": round(zone.priority, 3),
        "state": zone.state,
        "cell_count": zone.cell_count,
        "resolution": zone.resolution,
        "area_km2": round(zone.area_km2, 4),
        "readings": None if thin else zone.readings,
        "devices": None if thin else zone.devices,
        "first_seen": iso(zone.first_seen),
        "last_seen": iso(zone.last_seen),
        "operators_affected": zone.operators_affected,
        "distance_to_covered_m": None
        if zone.distance_to_covered_m is None
        else round(zone.distance_to_covered_m, 1),
        "population": zone.population,
        "villages": zone.villages,
    }


def village_codes(zones: Iterable[DeadZone]) -> list[str]:
    """The codes of the villages the zones touch, each once, sorted."""
    return sorted({code for zone in zones for code in zone.villages or ()})


def village_names(session: Session, zones: list[DeadZone]) -> dict[str, str]:
    """Code -> name of the villages the zones touch."""
    return village_labels(session, village_codes(zones))[0]


def village_communes(session: Session, codes: Collection[str]) -> dict[str, str]:
    """Village code -> the name of its commune, for the villages of ``codes`` that have one:
    the maps say which "Thôn 1" they mean."""
    return village_labels(session, codes)[1]


def village_labels(
    session: Session, codes: Collection[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(code -> name, code -> commune name) of the villages of ``codes``, read in one query
    (a village without a commune has a name only): the zones' (``village_codes``) for the
    maps and exports that name both."""
    if not codes:
        return {}, {}
    rows = session.execute(
        select(Village.code, Village.name, Commune.name)
        .join(Commune, Commune.code == Village.commune_code, isouter=True)
        .where(Village.code.in_(sorted(set(codes))))
    ).all()
    names = {code: name for code, name, _ in rows}
    communes = {code: commune for code, _, commune in rows if commune is not None}
    return names, communes


ZONE_CSV_HEADER: Final = (
    "rank", "id", "operator", "state", "priority", "population", "villages",
    "village_names", "cell_count", "area_km2", "readings", "devices", "first_seen", "last_seen",
    "distance_to_covered_m", "operators_affected",
    "radio",  # after the columns files had before zones had a scope, which keep their places
    "village_communes",  # the commune of each village: a province has a "Thôn 1" in most
)  # fmt: skip


def zones_to_csv(
    zones: list[DeadZone],
    names: dict[str, str],
    *,
    communes: dict[str, str] | None = None,
    disclosure: Disclosure = EXACT,
    lang: Lang = "en",
) -> str:
    """One row per zone, in rank order, for spreadsheets (``service.publish.exports``); villages
    and operators separated by ';'; ``communes`` (village code -> commune name,
    ``village_communes``) names each village's commune, in the villages' order."""
    communes = communes or {}
    rows = []
    for zone in zones:
        p = zone_properties(zone, disclosure=disclosure)
        codes = p["villages"] or []
        p["village_names"] = [names.get(code, code) for code in codes]
        p["village_communes"] = [communes.get(code, "") for code in codes]
        rows.append([p[name] for name in ZONE_CSV_HEADER])
    return localized_csv(ZONE_CSV_HEADER, rows, lang=lang)


def zones_to_geojson(
    zones: list[DeadZone], names: dict[str, str], *, disclosure: Disclosure = EXACT
) -> dict[str, Any]:
    """The zones' outlines (MultiPolygons, WGS84 lon/lat to 1e-6 degree) with their
    properties and the names of their villages, for QGIS."""
    features = []
    for zone in zones:
        properties = zone_properties(zone, disclosure=disclosure)
        properties["village_names"] = [names.get(c, c) for c in properties["villages"] or []]
        outline = shapely.to_geojson(shapely.set_precision(zone.outline, 10**-COORDINATE_DECIMALS))
        features.append(
            {
                "type": "Feature",
                "id": zone.id,
                "geometry": orjson.Fragment(outline),
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}
