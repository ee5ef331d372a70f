"""PostgreSQL reads an incremental run's few thousand cells through the primary key
(``service.store.dialect.read_by_index``): its planner, costing each probe as a disk
seek, scanned the whole table instead (``docs/scale.md``, the ninth pass on PostGIS)."""

from __future__ import annotations

from datetime import date

import h3
import pytest
from sqlalchemy import event, select, text

from service.engine import trust
from service.engine.statistics import merge_new_readings, rollup, rollup_parents, safe_max_seq
from service.store.database import session_scope
from service.store.dialect import PROBES_OVER_SCAN, cells_in, is_postgres, read_by_index
from service.store.frames import bulk_frame
from service.store.models import CellStat
from tests.coverage_helpers import CENTRE, ingest, reading_in

CELLS = [h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(10.8, 106.7, 9), 40)]


def plan(session, cells: list[int]) -> str:
    query = select(CellStat.readings).where(cells_in(CellStat.h3_cell, cells, dialect="postgresql"))
    compiled = query.compile(dialect=session.get_bind().dialect)
    rows = session.connection().exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)
    return "\n".join(rows.scalars())


def seq_scan_setting(session) -> str:
    return session.execute(text("SELECT current_setting('enable_seqscan')")).scalar_one()


@pytest.fixture
def session(sessions):
    """A session on PostgreSQL, whose planner setting this is (a declared skip on SQLite,
    which ``unindexed`` steers instead)."""
    with session_scope(sessions) as session:
        if not is_postgres(session):
            pytest.skip("SQLite is steered by unindexed")
        yield session


def test_cells_are_read_by_the_primary_key_and_the_planner_is_left_as_it_was(session):
    assert len(CELLS) > 4_000
    # An empty table of unknown size: the planner scans it for thousands of cells.
    assert "Seq Scan" in plan(session, CELLS)
    with read_by_index(session, len(CELLS)):
        assert "Seq Scan" not in plan(session, CELLS)
        assert "pk_cell_stats" in plan(session, CELLS)
    assert seq_scan_setting(session) == "on"
    assert "Seq Scan" in plan(session, CELLS)


def test_more_cells_than_the_bound_leave_the_choice_to_the_planner(session):
    with read_by_index(session, PROBES_OVER_SCAN + 1):
        assert seq_scan_setting(session) == "on"
        assert "Seq Scan" in plan(session, CELLS)


def test_a_setting_of_the_session_is_put_back(session):
    session.execute(text("SET enable_seqscan = off"))
    with read_by_index(session, len(CELLS)):
        assert seq_scan_setting(session) == "off"
    assert seq_scan_setting(session) == "off"
    session.execute(text("RESET enable_seqscan"))


def test_the_roll_up_and_the_provisional_rows_read_their_cells_by_index(
    settings, sessions, monkeypatch
):
    ingest(sessions, settings, [reading_in(CENTRE, device="a", dbm=-80.0, days_ago=1)])
    parents = {res: {h3.str_to_int(h3.cell_to_parent(CENTRE, res))} for res in (8, 7)}
    with session_scope(sessions) as session:
        if not is_postgres(session):
            pytest.skip("SQLite is steered by unindexed")
        merge_new_readings(session, settings, up_to=safe_max_seq(session))
        rollup(session, settings, [8, 7])
        statements: list[str] = []
        event.listen(session.connection(), "before_cursor_execute",
                     lambda *args: statements.append(args[2]))  # fmt: skip
        rollup_parents(session, settings, parents)
        # The provisional rows are read through the driver's cursor (bulk_frame), which
        # SQLAlchemy's events do not see: the setting is read as the frame is.
        settings_seen: list[str] = []

        def seeing(session, query, columns):
            settings_seen.append(seq_scan_setting(session))
            return bulk_frame(session, query, columns)

        monkeypatch.setattr(trust, "bulk_frame", seeing)
        trust.load_provisional(
            session, resolution=8, base=9, since=date(2000, 1, 1), cells=parents[8]
        )
    steered = [i for i, s in enumerate(statements) if "enable_seqscan = off" in s]
    reads = [i for i, s in enumerate(statements) if s.startswith("INSERT INTO cell_stats")]
    assert len(reads) == 2  # resolutions 8 and 7
    assert all(i - 1 in steered for i in reads)
    assert settings_seen == ["off"]
