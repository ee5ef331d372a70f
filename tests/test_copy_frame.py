"""``copy_frame`` writes a frame by one COPY in CSV formatted with numpy: what it stores
must be exactly what the row-by-row ``copy_rows`` stores (shortest round-trip floats,
missing values as NULL, aware times to the microsecond, text with quotes and commas)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from service.engine.results import _column_values
from service.store.bulk import copy_frame, copy_rows

_TABLE = (
    "CREATE TEMP TABLE copied (n bigint, x double precision, y double precision, "
    "label text, at timestamptz, day date, flag boolean, maybe integer, z float8)"
)
_COLUMNS = ["n", "x", "y", "label", "at", "day", "flag", "maybe", "z"]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "n": np.array([1, -(2**62), 0], dtype=np.int64),
            "x": [0.1 + 0.2, np.nan, -1e-300],
            "y": np.array([0.1, np.nan, np.inf], dtype=np.float32),
            "label": ['say "hi", then\nleave', "", None],
            "at": pd.to_datetime(
                ["2026-03-01 10:00:00.123456+07:00", None, "2026-11-30 23:59:59+00:00"],
                utc=True,
                format="ISO8601",
            ),
            "day": [date(2026, 3, 1), None, date(2025, 12, 31)],
            "flag": np.array([True, False, True]),
            "maybe": pd.array([7, None, -3], dtype="Int64"),
            "z": [-0.0, 0.0, -0.0],  # equal as floats, apart as text (and as stored)
        }
    )


def _stored(conn) -> list[tuple]:
    rows = conn.execute(text("SELECT *, z::text FROM copied ORDER BY n"))
    return [tuple(r) for r in rows]


def test_copy_frame_stores_what_copy_rows_stores(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's (SQLite appends with copy_rows)")
    frame = _frame()
    with engine.begin() as conn:
        conn.execute(text(_TABLE))
        copy_frame(conn, "copied", frame)
        by_frame = _stored(conn)
        conn.execute(text("TRUNCATE copied"))
        # The values store_decisions handed copy_rows before copy_frame.
        columns = [_column_values(frame[name], sqlite=False) for name in _COLUMNS]
        copy_rows(conn, "copied", _COLUMNS, zip(*columns, strict=True))
        by_rows = _stored(conn)
    assert by_frame == by_rows
    missing, tiny, first = by_frame  # ordered by n: -(2**62), 0, 1
    assert first[1] == 0.1 + 0.2 and first[2] == float(np.float32(0.1))
    assert first[3] == 'say "hi", then\nleave'
    assert first[4] == datetime(2026, 3, 1, 3, 0, 0, 123456, tzinfo=UTC)
    assert missing[3] == "" and missing[1:3] == (None, None) and missing[4:6] == (None, None)
    assert missing[7] is None and tiny[1] == -1e-300 and tiny[2] == float("inf")
    assert tiny[3] is None and tiny[6] is True and tiny[7] == -3
    assert [row[-1] for row in by_frame] == ["0", "-0", "-0"]


def test_copy_frame_writes_a_long_frame_part_by_part(engine, monkeypatch):
    """Formatted a part at a time (memory bounded by the part): every row of every part
    is stored, in one COPY."""
    if engine.dialect.name != "postgresql":
        pytest.skip("COPY is PostgreSQL's (SQLite appends with copy_rows)")
    import service.store.bulk as bulk

    monkeypatch.setattr(bulk, "COPY_FRAME_ROWS", 2)
    frame = pd.concat([_frame().assign(n=np.arange(k * 3, k * 3 + 3)) for k in range(3)])
    with engine.begin() as conn:
        conn.execute(text(_TABLE))
        copy_frame(conn, "copied", frame)
        by_parts = _stored(conn)
        conn.execute(text("TRUNCATE copied"))
        monkeypatch.setattr(bulk, "COPY_FRAME_ROWS", len(frame))
        copy_frame(conn, "copied", frame)
        at_once = _stored(conn)
    assert len(by_parts) == 9 and [row[0] for row in by_parts] == list(range(9))
    assert by_parts == at_once
