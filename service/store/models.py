"""Storage: the tables of deadzone, as SQLAlchemy 2 models.

The same models run on SQLite (embedded default) and PostgreSQL + PostGIS (production).
Migrations in ``migrations/`` build exactly this schema; a test checks it.
"""

from __future__ import annotations

from datetime import date, datetime

from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from domain.radio import UNKNOWN_MNC
from domain.vocabulary import DECISIONS
from service.store.spatial import Geometry, PointFromLonLat
from service.timestamps import UTCDateTime

# Deterministic constraint names, so migrations and models agree on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only numbers an INTEGER PRIMARY KEY automatically; BIGINT on PostgreSQL.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ReadingRow(Base):
    """A reading as it arrived: stored raw, never rewritten.

    ``seq`` orders readings by arrival, which lets aggregation follow a watermark.
    ``geom`` is generated from lon/lat by the database, so the bulk path writes plain
    numbers and PostGIS still holds a real, indexed ``geometry(Point, 4326)``.
    """

    __tablename__ = "readings"
    __table_args__ = (
        # SQLite: one table, one unique rule. PostgreSQL partitions readings by month
        # (service.store.partitions), its primary key is (seq, observed_at), and the
        # (device, id) rule lives in ``reading_keys``.
        UniqueConstraint("device_hash", "reading_id").ddl_if(dialect="sqlite"),
        CheckConstraint("radio IN ('gsm', 'umts', 'lte', 'nr', 'unknown')", name="radio"),
        CheckConstraint(
            "(CASE WHEN signal_dbm IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN no_service THEN 1 ELSE 0 END)"
            " + (CASE WHEN level IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_signal",
        ),
        Index("ix_readings_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
    )

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    device_hash: Mapped[bytes] = mapped_column(
        LargeBinary(16), comment="HMAC-SHA256 (first 16 bytes) of the device token"
    )
    reading_id: Mapped[str] = mapped_column(String(128), comment="client-chosen id")
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")
    lat: Mapped[float] = mapped_column(Float, comment="WGS84 degrees")
    lon: Mapped[float] = mapped_column(Float, comment="WGS84 degrees")
    accuracy_m: Mapped[float | None] = mapped_column(Float, comment="GPS accuracy, metres")
    speed_mps: Mapped[float | None] = mapped_column(Float, comment="metres per second")
    mcc: Mapped[int] = mapped_column(SmallInteger)
    mnc: Mapped[int] = mapped_column(SmallInteger)
    radio: Mapped[str] = mapped_column(String(7), comment="gsm, umts, lte, nr or unknown")
    signal_dbm: Mapped[float | None] = mapped_column(Float, comment="dBm of the radio's metric")
    no_service: Mapped[bool] = mapped_column(Boolean)
    level: Mapped[int | None] = mapped_column(SmallInteger, comment="manual report, 0-4 bars")
    calls_fail: Mapped[bool | None] = mapped_column(Boolean)
    area_code: Mapped[int | None] = mapped_column(BigInteger, comment="LAC/TAC")
    cell_id: Mapped[int | None] = mapped_column(BigInteger, comment="CID/ECI/NCI")
    pci: Mapped[int | None] = mapped_column(Integer, comment="PCI or PSC")
    arfcn: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(32))
    h3_cell: Mapped[int] = mapped_column(BigInteger, comment="H3 cell, integer form")
    geom: Mapped[Point | None] = mapped_column(
        Geometry("POINT"), Computed(PointFromLonLat(lon, lat)), comment="generated from lon/lat"
    )


class ReadingKey(Base):
    """PostgreSQL only: the (device, reading id) pairs already stored, which makes
    resubmission idempotent across the monthly partitions of ``readings``."""

    __tablename__ = "reading_keys"
    __table_args__ = {"info": {"only_on": "postgresql"}}

    device_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    reading_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    observed_at: Mapped[datetime] = mapped_column(
        UTCDateTime, comment="UTC; keys of dropped months are deleted by this"
    )


class RejectionCount(Base):
    """Readings refused by the quality gate, counted per day, source, field and reason."""

    __tablename__ = "rejection_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class IngestCount(Base):
    """Readings accepted and duplicates seen, per day and source."""

    __tablename__ = "ingest_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    accepted: Mapped[int] = mapped_column(BigInteger)
    duplicates: Mapped[int] = mapped_column(BigInteger)
    rejected: Mapped[int] = mapped_column(BigInteger)


class CellStat(Base):
    """Mergeable statistics of the readings in one H3 cell, for one operator, radio and
    calendar month (UTC). Every column merges by sum, min, max or bitwise OR, so the
    statistics of a union of readings are exactly the merge of the parts' statistics.

    Resolution-9 rows come from readings; coarser rows (8, 7) are roll-ups merged from
    their children. Distinct devices live in ``cell_devices`` (a set merges by union).
    """

    __tablename__ = "cell_stats"
    __table_args__ = (
        Index("ix_cell_stats_resolution_bucket", "resolution", "bucket"),
        # The unknown operator's rows (few): the incremental run asks which of thousands
        # of cells around a batch hold any, and PostgreSQL scanned the table for it
        # (110-260 ms a statement, six a run, growing with the province; 25 ms by this).
        Index(
            "ix_cell_stats_unknown_operator", "resolution", "h3_cell",
            postgresql_where=text(f"mnc = {UNKNOWN_MNC}"),
        ).ddl_if(dialect="postgresql"),
    )  # fmt: skip

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mcc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    mnc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    radio: Mapped[str] = mapped_column(String(7), primary_key=True)
    bucket: Mapped[date] = mapped_column(Date, primary_key=True, comment="first day of month")
    resolution: Mapped[int] = mapped_column(SmallInteger)
    readings: Mapped[int] = mapped_column(BigInteger)
    measured: Mapped[int] = mapped_column(BigInteger, comment="readings with a dBm value")
    manual: Mapped[int] = mapped_column(BigInteger, comment="residents' reports (bars)")
    no_service: Mapped[int] = mapped_column(BigInteger)
    weight_covered: Mapped[int] = mapped_column(
        BigInteger, comment="evidence weight of covered readings (2 full, 1 reduced)"
    )
    weight_weak: Mapped[int] = mapped_column(BigInteger)
    weight_dead: Mapped[int] = mapped_column(BigInteger)
    power_sum_aw: Mapped[int] = mapped_column(
        BigInteger, comment="sum of received power in attowatts (1e-18 W), measured readings"
    )
    dbm_min: Mapped[float | None] = mapped_column(Float)
    dbm_max: Mapped[float | None] = mapped_column(Float)
    days_mask: Mapped[int] = mapped_column(BigInteger, comment="bit d-1 set: day d had readings")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class CellDevice(Base):
    """Which devices stand behind a cell's statistics: the exact, mergeable form of a
    distinct count (a set union), at every resolution kept in ``cell_stats``."""

    __tablename__ = "cell_devices"

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mcc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    mnc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    radio: Mapped[str] = mapped_column(String(7), primary_key=True)
    bucket: Mapped[date] = mapped_column(Date, primary_key=True)
    device_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)


class Device(Base):
    """What the service knows of a device token's history, by its keyed hash: where it was
    first seen from and on how many days it has uploaded (server clock, which a forger
    cannot backdate). Written by ingest; read by the engine's trust rules
    (``service.engine.trust``, docs/forged-evidence.md)."""

    __tablename__ = "devices"

    device_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    network: Mapped[bytes | None] = mapped_column(
        LargeBinary(8),
        comment="keyed hash of the client network of its first upload; null: not known",
    )
    first_received: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")
    last_day: Mapped[date] = mapped_column(Date, comment="UTC day of its latest upload")
    upload_days: Mapped[int] = mapped_column(Integer, comment="distinct UTC days with uploads")
    trusted: Mapped[bool] = mapped_column(
        Boolean, comment="set by the engine when its statistics merge (trust_upload_days)"
    )


class ProvisionalStat(Base):
    """The statistics of untrusted devices, per device: the part of ``cell_stats`` (working
    resolution) that new tokens sent, kept apart so that the decisions can tell what the
    evidence says without them. Rows of a device are removed when it becomes trusted."""

    __tablename__ = "provisional_stats"

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mcc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    mnc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    radio: Mapped[str] = mapped_column(String(7), primary_key=True)
    bucket: Mapped[date] = mapped_column(Date, primary_key=True, comment="first day of month")
    device_hash: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    readings: Mapped[int] = mapped_column(BigInteger)
    measured: Mapped[int] = mapped_column(BigInteger)
    manual: Mapped[int] = mapped_column(BigInteger)
    no_service: Mapped[int] = mapped_column(BigInteger)
    weight_covered: Mapped[int] = mapped_column(BigInteger)
    weight_weak: Mapped[int] = mapped_column(BigInteger)
    weight_dead: Mapped[int] = mapped_column(BigInteger)
    power_sum_aw: Mapped[int] = mapped_column(BigInteger)


COVERED_ONLY = "status = 'covered'"
"""The condition of ``ix_cell_status_covered``, which a query must imply for the database to
use that index; ``incremental.covered_cells_query`` repeats it as a literal."""


class CellStatus(Base):
    """The decision for a cell, per operator ('any' = best of all operators) and radio
    ('any' = all radios together, 'broadband' = LTE or NR), with the evidence behind it."""

    __tablename__ = "cell_status"
    __table_args__ = (
        Index("ix_cell_status_lookup", "operator", "radio", "resolution", "lat", "lon"),
        # Dead decisions (a minority): the incremental run's dead guard asks which of
        # thousands of cells around a batch have a dead operator (as ``cell_stats``'
        # unknown-operator index above).
        Index(
            "ix_cell_status_dead",
            "resolution",
            "radio",
            "h3_cell",
            postgresql_where=text("status = 'dead'"),
        ).ddl_if(dialect="postgresql"),
        # Covered decisions only, with their cell: the incremental run's distance from a
        # zone to signal reads the covered cells of a scope in a box around each zone it
        # rewrites (``incremental._CoveredNearby``, thousands of zones a batch at 3 million
        # stored readings). Through the lookup index above each box scanned its latitude
        # band of every decision across the province, mostly unknown cells; this one holds
        # only the cells the query returns, and answers it without the table. Queries spell
        # ``status = 'covered'`` as a literal (``COVERED_ONLY``): cheaper than a bound value
        # on SQLite (``incremental.covered_cells_query``).
        Index(
            "ix_cell_status_covered",
            "operator",
            "radio",
            "resolution",
            "lat",
            "lon",
            "h3_cell",
            sqlite_where=text(COVERED_ONLY),
            postgresql_where=text(COVERED_ONLY),
        ),
        CheckConstraint(f"status IN ({', '.join(repr(d) for d in DECISIONS)})", name="status"),
    )

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator: Mapped[str] = mapped_column(String(7), primary_key=True, comment="452-04 or any")
    radio: Mapped[str] = mapped_column(
        String(9), primary_key=True, comment="lte..., any or broadband"
    )
    resolution: Mapped[int] = mapped_column(SmallInteger)
    lat: Mapped[float] = mapped_column(Float, comment="cell centre, WGS84 degrees")
    lon: Mapped[float] = mapped_column(Float, comment="cell centre, WGS84 degrees")
    status: Mapped[str] = mapped_column(String(9))
    confidence: Mapped[float] = mapped_column(Float, comment="Wilson 95% lower bound, 0-1")
    readings: Mapped[int] = mapped_column(Integer)
    devices: Mapped[int] = mapped_column(Integer)
    days: Mapped[int] = mapped_column(Integer)
    no_service_share: Mapped[float] = mapped_column(Float)
    dead_share: Mapped[float] = mapped_column(Float, comment="weighted share of dead readings")
    signal_dbm_mean: Mapped[float | None] = mapped_column(Float, comment="mean power, dBm")
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    evidence_from: Mapped[date] = mapped_column(Date, comment="oldest month used")


class CellHexagon(Base):
    """PostgreSQL only: the outline of every H3 cell ever decided, computed once in Python
    (``service.store.hexagons``) so that the QGIS views can draw hexagons without an h3
    extension."""

    __tablename__ = "cell_hexagons"
    __table_args__ = {"info": {"only_on": "postgresql"}}

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    geom: Mapped[BaseGeometry] = mapped_column(Geometry("POLYGON"), comment="WGS84 outline")


class CellEstimate(Base):
    """The estimated coverage of a cell for one operator ('any' = best of all operators) in
    one scope over radios ('any' signal or 'broadband', LTE or NR), from the kriged signal
    field (``service.engine.estimate``). Kept apart from ``cell_status``: an estimate never
    changes a measured status."""

    __tablename__ = "cell_estimates"
    __table_args__ = (
        Index("ix_cell_estimates_lookup", "operator", "radio", "resolution", "lat", "lon"),
        CheckConstraint(
            "inferred_status IS NULL OR inferred_status IN ('covered', 'weak', 'dead')",
            name="inferred_status",
        ),
    )

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    operator: Mapped[str] = mapped_column(String(7), primary_key=True, comment="452-04 or any")
    radio: Mapped[str] = mapped_column(
        String(9), primary_key=True, server_default="any",
        comment="scope over radios: any or broadband",
    )  # fmt: skip
    resolution: Mapped[int] = mapped_column(SmallInteger)
    lat: Mapped[float] = mapped_column(Float, comment="cell centre, WGS84 degrees")
    lon: Mapped[float] = mapped_column(Float, comment="cell centre, WGS84 degrees")
    p_dead: Mapped[float] = mapped_column(Float, comment="probability the cell is dead, 0-1")
    p_covered: Mapped[float] = mapped_column(Float, comment="probability it is covered, 0-1")
    estimate_dbm: Mapped[float] = mapped_column(Float, comment="LTE RSRP equivalent, dBm")
    estimate_sd: Mapped[float] = mapped_column(Float, comment="sd of the estimate, dB")
    inferred_status: Mapped[str | None] = mapped_column(
        String(8), comment="null: measured, or no status probable enough"
    )
    evidence_distance_m: Mapped[float] = mapped_column(
        Float, comment="to the nearest cell with readings of the scope, metres"
    )


class DeadZone(Base):
    """A connected group of dead cells (H3 neighbours) for one operator or 'any', in one
    scope over radios ('any' signal or 'broadband': LTE or NR).

    Ids are stable across recomputes: a new component inherits the id of the previous
    zone it overlaps most (see ``service.engine.zones``).
    """

    __tablename__ = "dead_zones"
    __table_args__ = (
        Index("ix_dead_zones_operator_active", "operator", "active"),
        Index("ix_dead_zones_outline", "outline", postgresql_using="gist").ddl_if(
            dialect="postgresql"
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    operator: Mapped[str] = mapped_column(String(7))
    radio: Mapped[str] = mapped_column(
        String(9), default="any", server_default="any", comment="scope: any or broadband"
    )
    active: Mapped[bool] = mapped_column(Boolean, comment="false once the zone is gone")
    state: Mapped[str] = mapped_column(String(8), comment="open, planned or built")
    cells: Mapped[list[str]] = mapped_column(JSON, comment="H3 cells (strings)")
    cell_count: Mapped[int] = mapped_column(Integer)
    resolution: Mapped[int] = mapped_column(SmallInteger)
    area_km2: Mapped[float] = mapped_column(Float)
    outline: Mapped[BaseGeometry] = mapped_column(Geometry("MULTIPOLYGON"))
    readings: Mapped[int] = mapped_column(Integer)
    devices: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    operators_affected: Mapped[list[str]] = mapped_column(JSON)
    distance_to_covered_m: Mapped[float | None] = mapped_column(
        Float, comment="from the zone to the nearest covered cell centre, metres"
    )
    # The box of its cells' centres (degrees): which zones a covered cell gained or lost
    # may be nearer to than their distance, found without reading their cells.
    box_south: Mapped[float | None] = mapped_column(Float)
    box_north: Mapped[float | None] = mapped_column(Float)
    box_west: Mapped[float | None] = mapped_column(Float)
    box_east: Mapped[float | None] = mapped_column(Float)
    # Filled by the areas issue (population grid, villages); null until then.
    population: Mapped[float | None] = mapped_column(Float)
    villages: Mapped[list[str] | None] = mapped_column(JSON)
    priority: Mapped[float] = mapped_column(Float)
    rank: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DirtyCell(Base):
    """Working cells whose statistics changed since the decisions were last made, per
    operator and radio: written in the transaction that merges their readings, removed in
    the one that stores the new decisions, so a crash between the two loses nothing (the
    next run picks them up). A run removes only the rows up to the ``seq`` it read, so a
    merge that runs beside it leaves its cells for the next run."""

    __tablename__ = "dirty_cells"

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mcc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    mnc: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    radio: Mapped[str] = mapped_column(String(7), primary_key=True)
    seq: Mapped[int] = mapped_column(
        BigInteger, comment="newest reading seq that changed it: a run clears only what it saw"
    )


class ZoneCell(Base):
    """Which active dead zone holds a dead cell, per operator scope and scope over radios:
    the index that lets an incremental run find the zones next to the cells that changed."""

    __tablename__ = "zone_cells"
    __table_args__ = (Index("ix_zone_cells_zone_id", "zone_id"),)

    operator: Mapped[str] = mapped_column(String(7), primary_key=True, comment="452-04 or any")
    radio: Mapped[str] = mapped_column(
        String(9), primary_key=True, server_default="any", comment="any or broadband"
    )
    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    zone_id: Mapped[str] = mapped_column(String(32))


class AggregationState(Base):
    """Watermarks of the jobs that follow the readings (``seq`` already merged)."""

    __tablename__ = "aggregation_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class AggregationRun(Base):
    """When decisions and zones were last recomputed (maps and caches key on it)."""

    __tablename__ = "aggregation_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    max_seq: Mapped[int] = mapped_column(BigInteger, comment="newest reading included")
    cells: Mapped[int] = mapped_column(Integer)
    zones: Mapped[int] = mapped_column(Integer)
    scopes: Mapped[list[str] | None] = mapped_column(
        JSON, nullable=True, comment="operator scopes an incremental run changed; null: all"
    )


class Site(Base):
    """A cell from an OpenCelliD / MLS cell export: where a cell of an operator is, for
    context layers and planning. Not evidence of coverage: the position is the estimated
    centre of the cell's measurements, not the mast. One row per cell identity;
    re-importing an export updates the row (the newer export knows more samples)."""

    __tablename__ = "sites"
    __table_args__ = (
        UniqueConstraint("radio", "mcc", "mnc", "area", "cell"),
        CheckConstraint("radio IN ('gsm', 'umts', 'lte', 'nr')", name="radio"),
        Index("ix_sites_operator", "operator"),
        Index("ix_sites_lat_lon", "lat", "lon"),
        Index("ix_sites_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    radio: Mapped[str] = mapped_column(String(4))
    mcc: Mapped[int] = mapped_column(SmallInteger)
    mnc: Mapped[int] = mapped_column(SmallInteger)
    operator: Mapped[str] = mapped_column(String(7), comment="MCC-MNC, e.g. 452-04")
    area: Mapped[int] = mapped_column(Integer, comment="LAC (GSM/UMTS) or TAC (LTE/NR)")
    cell: Mapped[int] = mapped_column(BigInteger, comment="CID / UMTS long CID / ECI / NCI")
    unit: Mapped[int | None] = mapped_column(Integer, comment="PSC (UMTS) or PCI (LTE/NR)")
    lat: Mapped[float] = mapped_column(Float, comment="WGS84 degrees")
    lon: Mapped[float] = mapped_column(Float, comment="WGS84 degrees")
    range_m: Mapped[int | None] = mapped_column(Integer, comment="estimated cell radius, metres")
    samples: Mapped[int | None] = mapped_column(Integer, comment="measurements behind it")
    changeable: Mapped[bool | None] = mapped_column(
        Boolean, comment="true: position computed from measurements; false: exact"
    )
    created: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="UTC, from the export")
    updated: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="UTC, from the export")
    average_signal: Mapped[int | None] = mapped_column(SmallInteger, comment="dBm")
    geom: Mapped[Point] = mapped_column(Geometry("POINT"), comment="from lon/lat on import")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC, last written")


class ModelFit(Base):
    """The planning model calibrated on measurements (``service.areas.calibration``): the
    mean extra loss of the measured LTE power against the rural Hata/COST-231 prediction
    from the known sites, per operator ('any': all together) and band (0: all bands)."""

    __tablename__ = "model_fits"

    operator: Mapped[str] = mapped_column(String(7), primary_key=True, comment="452-04 or any")
    band_mhz: Mapped[int] = mapped_column(Integer, primary_key=True, comment="0: all bands")
    offset_db: Mapped[float] = mapped_column(
        Float, comment="mean of predicted - measured RSRP, dB (extra loss)"
    )
    rmse_db: Mapped[float] = mapped_column(Float, comment="RMSE after the offset, dB")
    cells: Mapped[int] = mapped_column(Integer, comment="measured cells in the fit")
    sites: Mapped[int] = mapped_column(Integer, comment="known sites serving them")
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")


class CalibrationCell(Base):
    """The residual of the planning model at one measured working cell: predicted less
    measured LTE power (dB), per operator ('any': the mean over the operators measured
    there). Kept so that a plan can use the bias measured *near* its targets: the loss of
    highland terrain is local (``service.areas.calibration``)."""

    __tablename__ = "calibration_cells"

    operator: Mapped[str] = mapped_column(String(7), primary_key=True, comment="452-04 or any")
    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lat: Mapped[float] = mapped_column(Float, comment="cell centre, WGS84 degrees")
    lon: Mapped[float] = mapped_column(Float, comment="cell centre, WGS84 degrees")
    residual_db: Mapped[float] = mapped_column(Float, comment="predicted - measured RSRP, dB")


class ConstraintLayer(Base):
    """An imported layer of where sites can stand (``service.areas.constraints``): the
    power network or the roads, one row per kind; re-importing a kind replaces it."""

    __tablename__ = "constraint_layers"
    __table_args__ = (CheckConstraint("kind IN ('power', 'road')", name="kind"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True, comment="power or road")
    source: Mapped[str] = mapped_column(String(255), comment="file name imported")
    features: Mapped[int] = mapped_column(Integer, comment="geometries used")
    cells: Mapped[int] = mapped_column(Integer, comment="cells within max_distance_m")
    max_distance_m: Mapped[float] = mapped_column(Float, comment="largest distance kept, m")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")


class ConstraintCell(Base):
    """Distance from a working cell's centre to the nearest feature of a constraint layer,
    metres, for the cells within the layer's ``max_distance_m``."""

    __tablename__ = "constraint_cells"
    __table_args__ = (CheckConstraint("kind IN ('power', 'road')", name="kind"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True, comment="power or road")
    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    distance_m: Mapped[float] = mapped_column(Float, comment="to the nearest feature, metres")


class SavedPlan(Base):
    """A site plan kept under a name (``deadzone plan --save NAME``): plans are computed
    per request, and QGIS needs a table to open (the ``plan_sites`` view on PostGIS).
    Saving again under the same name replaces it."""

    __tablename__ = "saved_plans"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    operator: Mapped[str] = mapped_column(String(7), comment="452-04 or any")
    sites_asked: Mapped[int] = mapped_column(Integer)
    request: Mapped[dict[str, object]] = mapped_column(
        JSON, comment="band, mast, EIRP, area, co-location and constraints asked"
    )
    model: Mapped[dict[str, object]] = mapped_column(JSON, comment="propagation model used")
    terrain: Mapped[str] = mapped_column(String(200))
    people_without_signal: Mapped[float] = mapped_column(Float)
    people_covered: Mapped[float] = mapped_column(Float, comment="by all the sites together")
    explanation: Mapped[str | None] = mapped_column(String(2000))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")


class SavedPlanSite(Base):
    """One site of a saved plan: its point and the hexagons of the people without signal
    it reaches (terrain and calibration included), as one coverage polygon."""

    __tablename__ = "saved_plan_sites"

    plan: Mapped[str] = mapped_column(String(64), primary_key=True)
    rank: Mapped[int] = mapped_column(Integer, primary_key=True)
    h3: Mapped[str] = mapped_column(String(16), comment="candidate cell (hexadecimal)")
    lat: Mapped[float] = mapped_column(Float, comment="WGS84 degrees")
    lon: Mapped[float] = mapped_column(Float, comment="WGS84 degrees")
    people_new: Mapped[float] = mapped_column(Float, comment="people newly covered")
    people_cumulative: Mapped[float] = mapped_column(Float)
    people_reached: Mapped[float] = mapped_column(
        Float, comment="people without signal within its reach, new or not"
    )
    villages: Mapped[list[dict[str, str]]] = mapped_column(JSON, comment="newly covered")
    radius_km: Mapped[float] = mapped_column(Float, comment="the model's flat radius")
    geom: Mapped[Point] = mapped_column(Geometry("POINT"), comment="the site, WGS84")
    coverage: Mapped[BaseGeometry] = mapped_column(
        Geometry("MULTIPOLYGON"), comment="hexagons of the people it reaches, WGS84"
    )


class Commune(Base):
    """A commune or ward (xã, phường): an administrative polygon, upserted by ``code``."""

    __tablename__ = "communes"
    __table_args__ = (
        Index("ix_communes_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), comment="as imported; escaped by the maps")
    population: Mapped[int | None] = mapped_column(Integer, comment="people, from the file")
    geom: Mapped[BaseGeometry] = mapped_column(Geometry("MULTIPOLYGON"), comment="WGS84")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC, last written")


class Village(Base):
    """A village (thôn, buôn, bản): its centre point and, when known, the polygon of its
    residential cluster. Upserted by ``code``."""

    __tablename__ = "villages"
    __table_args__ = (
        Index("ix_villages_commune_code", "commune_code"),
        Index("ix_villages_geom", "geom", postgresql_using="gist").ddl_if(dialect="postgresql"),
    )

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), comment="as imported; escaped by the maps")
    commune_code: Mapped[str | None] = mapped_column(String(32), comment="commune it belongs to")
    population: Mapped[int | None] = mapped_column(Integer, comment="people, from the file")
    facilities: Mapped[int | None] = mapped_column(
        Integer, comment="schools, health stations, offices: raise a dead zone's priority"
    )
    lat: Mapped[float] = mapped_column(Float, comment="centre, WGS84 degrees")
    lon: Mapped[float] = mapped_column(Float, comment="centre, WGS84 degrees")
    h3_cell: Mapped[int] = mapped_column(BigInteger, comment="centre cell, working resolution")
    geom: Mapped[Point] = mapped_column(Geometry("POINT"), comment="centre, WGS84")
    cluster: Mapped[BaseGeometry | None] = mapped_column(
        Geometry("MULTIPOLYGON"), comment="residential cluster, WGS84"
    )
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC, last written")


class VillageCell(Base):
    """The working-resolution cells of a village ("village cells": its cluster's cells, or
    the disk around its centre) and the people it puts in each
    (see ``service.areas.population``)."""

    __tablename__ = "village_cells"
    __table_args__ = (Index("ix_village_cells_h3_cell", "h3_cell"),)

    village_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    centre: Mapped[bool] = mapped_column(Boolean, comment="the village centre's cell")
    people: Mapped[float] = mapped_column(Float, comment="people of the village in the cell")


class CellPopulation(Base):
    """People per working-resolution H3 cell, from villages or a population raster."""

    __tablename__ = "cell_population"
    __table_args__ = (Index("ix_cell_population_commune_code", "commune_code"),)

    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    people: Mapped[float] = mapped_column(Float, comment="people (may be fractional: raster)")
    source: Mapped[str] = mapped_column(String(8), comment="villages or raster")
    commune_code: Mapped[str | None] = mapped_column(
        String(32), comment="commune holding the cell centre"
    )


class ProgressSnapshot(Base):
    """Progress of one area on one day (``area`` = 'province' or a commune code): people
    covered (ITU SDG 9.c.1 style), villages per status, open dead zones, evidence age.
    One row per area and day; a second snapshot on the same day replaces the first."""

    __tablename__ = "progress_snapshots"

    day: Mapped[date] = mapped_column(Date, primary_key=True, comment="UTC day")
    area: Mapped[str] = mapped_column(String(32), primary_key=True)
    population: Mapped[float] = mapped_column(Float, comment="people in the area's cells")
    people_covered: Mapped[float] = mapped_column(Float, comment="covered or weak, best op.")
    people_weak: Mapped[float] = mapped_column(Float, comment="of which weak (1 bar)")
    people_dead: Mapped[float] = mapped_column(Float)
    people_unknown: Mapped[float] = mapped_column(Float, comment="neither measured nor estimated")
    people_estimated_covered: Mapped[float] = mapped_column(
        Float, default=0.0, server_default="0", comment="not measured; estimated signal"
    )
    people_estimated_dead: Mapped[float] = mapped_column(
        Float, default=0.0, server_default="0", comment="not measured; estimated no signal"
    )
    covered_share: Mapped[float | None] = mapped_column(Float, comment="0-1; null: no people")
    villages_trang_song: Mapped[int] = mapped_column(Integer, comment="no signal at centre")
    villages_lom_song: Mapped[int] = mapped_column(Integer, comment="centre ok, clusters dead")
    villages_covered: Mapped[int] = mapped_column(Integer)
    villages_unknown: Mapped[int] = mapped_column(Integer, comment="not enough readings")
    zones_open: Mapped[int] = mapped_column(Integer, comment="active open dead zones (any op.)")
    evidence_median_age_days: Mapped[float | None] = mapped_column(
        Float, comment="median age of the newest reading of decided populated cells, days"
    )
    panel_since: Mapped[date | None] = mapped_column(
        Date, nullable=True, comment="previous snapshot day the panel compares with"
    )
    panel_people: Mapped[float | None] = mapped_column(
        Float, nullable=True, comment="people in cells measured at both snapshots"
    )
    panel_covered_before: Mapped[float | None] = mapped_column(
        Float, nullable=True, comment="of them covered or weak at panel_since"
    )
    panel_covered: Mapped[float | None] = mapped_column(
        Float, nullable=True, comment="of them covered or weak on this day"
    )
    radio: Mapped[str] = mapped_column(
        String(9), default="any", server_default="any", comment="scope measured: any or broadband"
    )
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")


class SnapshotCell(Base):
    """The measured best-of-all status of a populated cell on a snapshot day: the next
    snapshot compares the same places (a fixed panel) to tell a change of coverage from a
    change of what was measured. Only the newest two days are kept."""

    __tablename__ = "snapshot_cells"

    day: Mapped[date] = mapped_column(Date, primary_key=True, comment="Vietnam day")
    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    covered: Mapped[bool] = mapped_column(Boolean, comment="covered or weak; false: dead")


class VillageStatusSnapshot(Base):
    """A village's status (best of all operators) on a snapshot day: what "villages whose
    status changed since last week" compares. Written with ``progress_snapshots``."""

    __tablename__ = "village_status_snapshots"

    day: Mapped[date] = mapped_column(Date, primary_key=True, comment="UTC day")
    village_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(10), comment="trang_song, lom_song...")
    radio: Mapped[str] = mapped_column(
        String(9), default="any", server_default="any", comment="scope measured: any or broadband"
    )


class Claim(Base):
    """One import of the coverage an operator claims for a radio (its filed coverage
    map). The newest claim of an operator and radio replaces the cells of the previous
    one; the rows of earlier claims stay, as the record of what was claimed when."""

    __tablename__ = "claims"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    operator: Mapped[str] = mapped_column(String(7), comment="MCC-MNC, e.g. 452-04")
    radio: Mapped[str] = mapped_column(String(9), comment="lte, nr or broadband")
    source: Mapped[str] = mapped_column(String(255), comment="file name as imported")
    cells: Mapped[int] = mapped_column(Integer, comment="working cells claimed covered")
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")
    imported_by: Mapped[str] = mapped_column(String(200), comment="who imported it")


class ClaimedCell(Base):
    """A working-resolution cell that an operator's newest claim says it covers."""

    __tablename__ = "claimed_cells"

    operator: Mapped[str] = mapped_column(String(7), primary_key=True)
    radio: Mapped[str] = mapped_column(String(9), primary_key=True)
    h3_cell: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    claim_id: Mapped[int] = mapped_column(BigInteger, comment="claims.id that put it here")


class Commitment(Base):
    """An operator's commitment, assigned by the authority, to bring signal to a dead zone
    or a village by a due date. ``cells`` are frozen when it is made: it is judged on the
    cells it was made for, even after the zone changes or disappears."""

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_operator", "operator"),
        CheckConstraint("state IN ('assigned', 'planned', 'on_air')", name="state"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    operator: Mapped[str] = mapped_column(String(7), comment="MCC-MNC, e.g. 452-04")
    zone_id: Mapped[str | None] = mapped_column(String(32), comment="dead zone it was made for")
    village_code: Mapped[str | None] = mapped_column(String(32), comment="or the village")
    cells: Mapped[list[str]] = mapped_column(JSON, comment="H3 cells (strings), frozen")
    centre: Mapped[str] = mapped_column(String(16), comment="H3 cell nearest the centre")
    due: Mapped[date] = mapped_column(Date, comment="signal promised by this day")
    state: Mapped[str] = mapped_column(String(8), comment="assigned, planned or on_air")
    on_air_at: Mapped[datetime | None] = mapped_column(UTCDateTime, comment="UTC")
    site: Mapped[dict[str, object] | None] = mapped_column(JSON, comment="the new site")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")


class AuditEvent(Base):
    """Who changed what, when: every change to a commitment or a claim, written in the
    transaction that makes the change (so there is no change without its record)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, comment="UTC")
    actor: Mapped[str] = mapped_column(String(200), comment="the key's name, or the CLI user")
    action: Mapped[str] = mapped_column(String(32), comment="created, updated, imported")
    subject: Mapped[str] = mapped_column(String(64), comment="commitment:12, claim:452-04/lte")
    detail: Mapped[dict[str, object]] = mapped_column(JSON, comment="what changed")
