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
    insert,
    select,
    text,
)

from service.engine import decisions, trust
from service.engine.aggregation import update_statistics
from service.engine.statistics import rollup
from service.store import frames
from service.store.database import session_scope
from service.store.dialect import cells_in, dialect_name, is_postgres
from service.store.frames import bulk_frame, device_frame, raw_frame
from service.store.models import CellDevice, DirtyCell
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


def test_raw_frame_binds_an_in_list_value_by_value(sessions):
    """An ``IN`` list (SQLAlchemy expands it when the statement runs) reads the rows that
    SQLAlchemy reads, on both databases."""
    keys = ((1, 1, "lte"), (2, 2, "nr"), (3, 4, "lte"), (4, 1, "umts"))
    rows = [{"h3_cell": n, "mcc": 452, "mnc": m, "radio": r, "seq": n} for n, m, r in keys]
    with session_scope(sessions) as session:
        session.execute(insert(DirtyCell), rows)
        d = DirtyCell
        query = (
            select(d.h3_cell, d.radio)
            .where(d.radio.in_(["lte", "nr"]), d.mnc.in_([1, 4]))
            .order_by(d.h3_cell)
        )
        frame = raw_frame(session, query, ["h3_cell", "radio"])
        assert list(frame.itertuples(index=False, name=None)) == session.execute(query).all()
        assert frame["h3_cell"].tolist() == [1, 3]


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
        monkeypatch.setattr(decisions, "device_frame", raw_frame)
        monkeypatch.setattr(trust, "bulk_frame", raw_frame)
        by_rows = read()
    assert all(len(frame) for frame in by_copy)
    # The device sets come a key at a time (device_frame), in another order: compared
    # sorted, without the ids numbered by first appearance.
    for at in (1, 3):
        by_copy[at], by_rows[at] = (
            _sorted(frame.drop(columns="device")) for frame in (by_copy[at], by_rows[at])
        )
    for copied, fetched in zip(by_copy, by_rows, strict=True):
        pd.testing.assert_frame_equal(copied, fetched)
    assert frames.bulk_frame is not raw_frame


_DEVICE_COLUMNS = ["h3_cell", "mcc", "mnc", "radio", "bucket", "device_hash"]


def _device_rows(session, cells: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    d = CellDevice
    query = select(d.h3_cell, d.mcc, d.mnc, d.radio, d.bucket, d.device_hash).where(
        cells_in(d.h3_cell, cells, dialect=dialect_name(session)), d.bucket >= date(2026, 1, 1)
    )
    return device_frame(session, query, _DEVICE_COLUMNS), raw_frame(session, query, _DEVICE_COLUMNS)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(_DEVICE_COLUMNS).reset_index(drop=True)


def test_device_sets_read_by_key_are_the_rows_read_one_by_one(sessions):
    """``device_frame`` reads a key's hashes at once (concatenated in hex): the same rows
    as a row per device, hashes with zero bytes at either end included, a hash of two keys
    and two hashes of one key."""
    a, b = (h3.str_to_int(h3.latlng_to_cell(12.7 + k / 10, 108.1, 9)) for k in (0, 1))
    hashes = [bytes(16), b"\x01" + bytes(15), bytes(15) + b"\x02", b"\xff" * 16, bytes(range(16))]
    rows = [
        dict(h3_cell=cell, mcc=452, mnc=mnc, radio=radio, bucket=bucket, device_hash=hash_)
        for cell in (a, b)
        for mnc, radio in ((1, "lte"), (4, "umts"))
        for bucket in (date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1))
        for hash_ in hashes[: 2 + (mnc + bucket.month) % 4]
    ]
    with session_scope(sessions) as session:
        session.execute(insert(CellDevice), rows)
        grouped, one_by_one = _device_rows(session, [a, b])
        assert len(one_by_one) == sum(r["bucket"] >= date(2026, 1, 1) for r in rows)
        pd.testing.assert_frame_equal(_sorted(grouped), _sorted(one_by_one))
        assert set(grouped["device_hash"]) == set(hashes)
        empty, none = _device_rows(session, [a + 7])
        assert empty.empty and none.empty and list(empty.columns) == _DEVICE_COLUMNS


def test_device_sets_of_other_lengths_are_read_row_by_row(sessions):
    """A hash that is not 16 bytes (none is stored so today) cannot be cut out of the
    concatenation: the rows are read one by one, the same frame."""
    cell = h3.str_to_int(h3.latlng_to_cell(12.7, 108.1, 9))
    with session_scope(sessions) as session:
        session.execute(insert(CellDevice), [
            dict(h3_cell=cell, mcc=452, mnc=4, radio="lte", bucket=date(2026, 3, 1), device_hash=h)
            for h in (b"\x00\x01", bytes(16), b"\x07" * 17)
        ])  # fmt: skip
        grouped, one_by_one = _device_rows(session, [cell])
        pd.testing.assert_frame_equal(_sorted(grouped), _sorted(one_by_one))
        assert len(grouped) == 3
