"""Storage: the tables of deadzone, as SQLAlchemy 2 models.

The same models run on SQLite (embedded default) and PostgreSQL + PostGIS (production).
Migrations in ``migrations/`` build exactly this schema; a test checks it.
"""

from __future__ import annotations

from datetime import date, datetime

from shapely.geometry import Point
from sqlalchemy import (
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
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.spatial import Geometry, PointFromLonLat
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
        UniqueConstraint("device_hash", "reading_id"),
        CheckConstraint("radio IN ('gsm', 'umts', 'lte', 'nr')", name="radio"),
        CheckConstraint(
            "(CASE WHEN signal_dbm IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN no_service THEN 1 ELSE 0 END)"
            " + (CASE WHEN level IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_signal",
        ),
        Index("ix_readings_h3_cell", "h3_cell"),
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
    radio: Mapped[str] = mapped_column(String(4))
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
