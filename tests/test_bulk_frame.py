"""``bulk_frame`` reads many rows on PostgreSQL by one COPY in CSV instead of a tuple per
row (``docs/scale.md``, the eleventh pass on PostGIS): the frame must be exactly the one
``raw_frame`` reads, and so the decisions' evidence read through it."""

from __future__ import annotations

from datetime import date

import h3
import pandas as pd
import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Float,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    select,
    text,
)

from service.engine import decisions, trust
from service.engine.aggregation import update_statistics
from service.engine.statistics import rollup
from service.store import frames
from service.store.database import session_scope
from service.store.dialect import is_postgres
from service.store.frames import bulk_frame, raw_frame
from tests.coverage_helpers import CENTRE, ingest, reading_in

_ROWS = Table(
    "bulk_rows", MetaData(),
    Column("n", BigInteger), Column("small", SmallInteger), Column("label", String, nullable=False),
    Column("x", Float), Column("day", Date), Column("at", DateTime(timezone=True)),
    Column("hash", LargeBinary),
)  # fmt: skip

_VALUES = """
    (1, 452, '007', 0.30000000000000004, '2026-03-01', '2026-03-01 10:00:00.123456+07',
     '\\x00ff10'),
    (-4611686018427387904, 0, 'say "hi", then' || chr(10) || 'leave', '-0'::float8, NULL,
     '2026-11-30 23:59:59+00', '\\x'),
    (0, -1, '', NULL, '2025-12-31', NULL, '\\x5c4e'),
    (9, 7, '\\N', 1e-300, '2026-03-01', '2026-03-01 00:00:00+00', '\\x2c22'),
    (10, 8, 'lte', 5e-324, '2026-04-01', '2026-04-01 00:00:00.000001+00', '\\x01'),
    (11, 8, 'nr', 1.7976931348623157e308, '2026-04-01', NULL, '\\x02'),
    (12, 8, 'gsm', -123.45678901234567, '2026-04-01', NULL, '\\x03')
"""  # text that looks like a number, like NULL, quotes, commas, a new line, an empty string


@pytest.fixture
def session(sessions):
    with session_scope(sessions) as session:
        if not is_postgres(session):
            pytest.skip("SQLite reads through raw_frame itself")
        yield session


def test_bulk_frame_reads_what_raw_frame_reads(session):
    session.execute(text(
        "CREATE TEMP TABLE bulk_rows (n bigint, small smallint, label text, "
        "x double precision, day date, at timestamptz, hash bytea)"
    ))  # fmt: skip
    session.execute(text(f"INSERT INTO bulk_rows VALUES {_VALUES}"))
    query = select(*_ROWS.c).where(_ROWS.c.n > -(2**62) - 1).order_by(_ROWS.c.n)
    columns = [c.name for c in _ROWS.c]
    by_copy, by_rows = bulk_frame(session, query, columns), raw_frame(session, query, columns)
    # Times come as text with their offset: the same instants once parsed, as callers do.
    for frame in (by_copy, by_rows):
        frame["at"] = pd.to_datetime(frame["at"], utc=True, format="ISO8601")
    pd.testing.assert_frame_equal(by_copy, by_rows)
    assert by_copy["label"].tolist()[1:4] == ["", "007", "\\N"]  # never missing, never numbers
    assert str(by_copy["x"].tolist()[0]) == "-0.0"  # equal to 0.0 for assert_frame_equal
    empty = query.where(_ROWS.c.n > 10**12)
    pd.testing.assert_frame_equal(bulk_frame(session, empty, columns),
                                  raw_frame(session, empty, columns))  # fmt: skip


def test_the_evidence_read_by_copy_is_the_evidence_read_row_by_row(settings, sessions, monkeypatch):
    cells = [h3.cell_to_center_child(CENTRE, 9), *h3.grid_ring(CENTRE, 1)]
    ingest(sessions, settings, [
        reading_in(cell, device=f"d{i % 3}", dbm=-70.0 - i, days_ago=1 + i % 40, mnc=mnc)
        for i, (cell, mnc) in enumerate((c, m) for c in cells for m in (1, 4))
    ])  # fmt: skip
    update_statistics(sessions, settings)  # new phones' readings: provisional rows too
    with session_scope(sessions) as session:
        if not is_postgres(session):
            pytest.skip("SQLite reads through raw_frame itself")
        rollup(session, settings, [8, 7])
        ids = [h3.str_to_int(c) for c in cells]
        parents = {h3.str_to_int(h3.cell_to_parent(c, 7)) for c in cells}

        def read() -> list[pd.DataFrame]:
            since = date(2000, 1, 1)
            return [
                *decisions.load_evidence(session, resolution=9, since=since, cells=ids),
                *decisions.load_evidence(session, resolution=7, since=since),
                trust.load_provisional(session, resolution=9, base=9, since=since, cells=ids),
                trust.load_provisional(session, resolution=7, base=9, since=since, cells=parents),
            ]

        by_copy = read()
        monkeypatch.setattr(decisions, "bulk_frame", raw_frame)
        monkeypatch.setattr(trust, "bulk_frame", raw_frame)
        by_rows = read()
    assert all(len(frame) for frame in by_copy)
    for copied, fetched in zip(by_copy, by_rows, strict=True):
        pd.testing.assert_frame_equal(copied, fetched)
    assert frames.bulk_frame is not raw_frame
