"""Cell sites: where operators' cells are, from OpenCelliD / MLS cell exports.

Sites are context, not evidence: a map draws them under the coverage, and planning looks
for dead zones far from any site of an operator. The position is the export's estimate of
the cell's centre (the mean of its measurements), not the mast, and ``range_m`` its rough
radius.

An export is imported by upsert on the cell identity (radio, mcc, mnc, area, cell): the
newest import wins, so re-importing a newer export refreshes positions, ranges and sample
counts without duplicating a cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Final

from shapely.geometry import Point
from sqlalchemy import Table, func, select, tuple_
from sqlalchemy.orm import Session, sessionmaker

from collectors.formats import RowError, RowStream, SiteDict
from domain.radio import operator_code
from service.grid import BBox
from service.ingest.files import ImportReport, RejectedSink, row_error_to_rejected
from service.store.database import session_scope
from service.store.dialect import is_postgres, upsert_insert
from service.store.models import Site
from service.store.spatial import WGS84
from service.timestamps import utcnow

CELL_EXPORT: Final = "cell-export"

CHUNK_SITES: Final = 2000
"""Sites per transaction. The existing-key lookup binds 5 parameters per site: 2000 sites
stay far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters."""

_KEY: Final = ("radio", "mcc", "mnc", "area", "cell")
_TABLE: Final[Table] = Site.__table__  # type: ignore[assignment]
_UPDATED_COLUMNS: Final = tuple(c.name for c in _TABLE.columns if c.name not in (*_KEY, "id"))


def import_sites(
    sessions: sessionmaker[Session],
    stream: RowStream[SiteDict | RowError],
    *,
    chunk_sites: int = CHUNK_SITES,
    keep_rejected: int = 0,
    sink: RejectedSink | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Upsert the sites of a cell export (from :func:`collectors.formats.open_sites`), one
    transaction per chunk of ``chunk_sites``. ``accepted`` counts new sites, ``updated``
    sites already stored (also a cell that appears twice in the file); refused rows go to
    ``sink`` and ``first_rejected`` with their line."""
    now = now or utcnow()
    report = ImportReport(
        format_name=CELL_EXPORT, kind="sites", keep_rejected=keep_rejected, sink=sink
    )
    for sites, errors in _chunks(stream, chunk_sites):
        if sites:
            with session_scope(sessions) as session:
                inserted, updated = upsert_sites(session, sites, now=now)
            report.accepted += inserted
            report.updated += updated
        if errors:
            report.add_rejected([row_error_to_rejected(e) for e in errors], rows=len(errors))
    report.bytes_read = stream.bytes_read
    return report


def _chunks(
    stream: RowStream[SiteDict | RowError], size: int
) -> Iterator[tuple[list[SiteDict], list[RowError]]]:
    sites: list[SiteDict] = []
    errors: list[RowError] = []
    for row in stream:
        if isinstance(row, RowError):
            errors.append(row)
        else:
            sites.append(row)
        if len(sites) >= size or len(errors) >= size:
            yield sites, errors
            sites, errors = [], []
    if sites or errors:
        yield sites, errors


def upsert_sites(session: Session, sites: list[SiteDict], *, now: datetime) -> tuple[int, int]:
    """Insert or refresh ``sites`` (site dicts of ``collectors.formats.cellexport``);
    returns (inserted, updated). Does not commit."""
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    repeats = 0
    for site in sites:
        key = tuple(site[name] for name in _KEY)
        if key in rows:
            # ON CONFLICT cannot touch one row twice in a statement: the later row of the
            # file wins, and counts as an update of the earlier one.
            repeats += 1
        rows[key] = {
            **{name: site[name] for name in _KEY},
            "operator": operator_code(site["mcc"], site["mnc"]),
            "unit": site["unit"],
            "lat": site["lat"],
            "lon": site["lon"],
            "range_m": site["range_m"],
            "samples": site["samples"],
            "changeable": site["changeable"],
            "created": site["created"],
            "updated": site["updated"],
            "average_signal": site["average_signal"],
            "geom": Point(site["lon"], site["lat"]),
            "imported_at": now,
        }
    key_columns = tuple_(*(_TABLE.c[name] for name in _KEY))
    existing = session.scalar(
        select(func.count()).select_from(_TABLE).where(key_columns.in_(list(rows)))
    )
    stmt = upsert_insert(session, _TABLE)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(_KEY), set_={name: stmt.excluded[name] for name in _UPDATED_COLUMNS}
    )
    session.execute(stmt, list(rows.values()))
    updated = int(existing or 0) + repeats
    return len(sites) - updated, updated


def find_sites(
    session: Session,
    *,
    bbox: BBox | None = None,
    operator: str | None = None,
    radio: str | None = None,
    limit: int = 10_000,
) -> tuple[int, list[Site]]:
    """Sites inside ``bbox`` (WGS84 degrees, edges included) of one ``operator``
    (``452-04``) and ``radio``, each optional: (how many match, the first ``limit``,
    ordered by operator and cell identity)."""
    query = select(Site)
    if bbox is not None:
        if is_postgres(session):
            # The && test uses the GiST index; the plain comparisons keep the edges exact.
            envelope = func.ST_MakeEnvelope(
                bbox.min_lon, bbox.min_lat, bbox.max_lon, bbox.max_lat, WGS84
            )
            query = query.where(Site.geom.op("&&")(envelope))
        query = query.where(
            Site.lat.between(bbox.min_lat, bbox.max_lat),
            Site.lon.between(bbox.min_lon, bbox.max_lon),
        )
    if operator is not None:
        query = query.where(Site.operator == operator)
    if radio is not None:
        query = query.where(Site.radio == radio)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = session.scalars(
        query.order_by(Site.operator, Site.radio, Site.area, Site.cell).limit(limit)
    ).all()
    return int(total), list(found)


def site_properties(site: Site) -> dict[str, Any]:
    """The GeoJSON properties of a site (times as RFC 3339 UTC, signal in dBm)."""

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "operator": site.operator,
        "radio": site.radio,
        "mcc": site.mcc,
        "mnc": site.mnc,
        "area": site.area,
        "cell": site.cell,
        "unit": site.unit,
        "range_m": site.range_m,
        "samples": site.samples,
        "changeable": site.changeable,
        "average_signal_dbm": site.average_signal,
        "created": iso(site.created),
        "updated": iso(site.updated),
    }


def sites_to_geojson(sites: list[Site], *, total: int) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of points (WGS84 lon, lat) with ``numberMatched`` (all
    sites that match) and ``numberReturned`` (those in ``features``), as OGC API does."""
    return {
        "type": "FeatureCollection",
        "numberMatched": total,
        "numberReturned": len(sites),
        "features": [
            {
                "type": "Feature",
                "id": site.id,
                "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]},
                "properties": site_properties(site),
            }
            for site in sites
        ],
    }
