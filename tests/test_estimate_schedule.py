"""When the estimated field is refreshed: after a full run, and after a batch only once it
is ``estimate_interval_s`` old; meanwhile a cell measured by the batch loses its inferred
status, so an estimate never stands beside a measurement (SQLite and PostGIS)."""

from __future__ import annotations

import re

import h3
from sqlalchemy import select

from service.jobs import refresh_stale_estimates, run_aggregation
from service.store.models import CellEstimate, CellStatus
from service.store.runs import ESTIMATED_SEQ, last_run, state_value
from tests.coverage_helpers import CENTRE, NOW, ingest, reading_in

RING = list(h3.grid_ring(CENTRE, 1))


def estimate_of(sessions, cell: str, operator: str = "452-04", radio: str = "any") -> tuple | None:
    with sessions() as session:
        row = session.get(CellEstimate, (h3.str_to_int(cell), operator, radio))
        return None if row is None else (row.inferred_status, row.p_dead, row.estimate_dbm)


def inferred_beside_measured(sessions) -> set[tuple[int, str, str]]:
    """(cell, operator, scope) with an inferred status where that scope is measured."""
    e, c = CellEstimate, CellStatus
    with sessions() as session:
        return {
            (int(cell), op, radio)
            for cell, op, radio in session.execute(
                select(e.h3_cell, e.operator, e.radio)
                .join(
                    c,
                    (c.h3_cell == e.h3_cell) & (c.operator == e.operator) & (c.radio == e.radio),
                )
                .where(c.status != "unknown", e.inferred_status.is_not(None))
            )
        }


def test_a_batch_withdraws_inferred_statuses_and_leaves_the_field_until_due(settings, sessions):
    hourly = settings.model_copy(update={"estimate_interval_s": 3600.0})
    # Six neighbours dead by measurement (four readings of three phones); the centre one
    # phone short of a measured dead (two phones, three readings).
    items = [
        reading_in(cell, device=f"{cell}-{d % 3}", no_service=True, days_ago=1 + d)
        for cell in RING
        for d in range(4)
    ]
    items += [
        reading_in(CENTRE, device=f"c{d % 2}", no_service=True, days_ago=1 + d) for d in range(3)
    ]
    ingest(sessions, hourly, items)
    first = run_aggregation(sessions, hourly, now=NOW)
    assert "estimate" in first.seconds  # the first run is a full one
    inferred, _, before_dbm = estimate_of(sessions, CENTRE)
    assert inferred == "dead"
    away = RING[0]
    far_before = estimate_of(sessions, away)

    # The third phone makes the centre dead by measurement.
    ingest(sessions, hourly, [reading_in(CENTRE, device="c2", no_service=True, days_ago=4)])
    batch = run_aggregation(sessions, hourly, now=NOW)
    assert batch.incremental is not None and "estimate" not in batch.seconds
    inferred, _, kept_dbm = estimate_of(sessions, CENTRE)
    assert inferred is None  # withdrawn: the centre is measured now
    assert kept_dbm == before_dbm and estimate_of(sessions, away) == far_before  # not refitted
    assert not inferred_beside_measured(sessions)
    with sessions() as session:
        assert state_value(session, ESTIMATED_SEQ) < last_run(session).max_seq

    # Once due (interval 0 here), the background worker's catch-up refreshes it.
    refresh_stale_estimates(sessions, settings)
    with sessions() as session:
        assert state_value(session, ESTIMATED_SEQ) == last_run(session).max_seq
    assert not inferred_beside_measured(sessions)
    assert estimate_of(sessions, CENTRE)[2] != before_dbm  # the third phone now counts


def test_with_no_interval_every_run_refreshes_the_field(settings, sessions):
    items = [reading_in(CENTRE, device=f"p{d}", dbm=-80.0, days_ago=1 + d) for d in range(3)]
    ingest(sessions, settings, items)
    run_aggregation(sessions, settings, now=NOW)
    ingest(sessions, settings, [reading_in(RING[0], device="q", dbm=-85.0)])
    every = settings.model_copy(update={"estimate_interval_s": 0.0})
    assert "estimate" in run_aggregation(sessions, every, now=NOW).seconds


def test_the_command_says_when_it_kriged_the_field_and_how_long_it_took(settings, sessions):
    """``deadzone aggregate`` names the field's refresh apart: after a full run it takes
    about half of the run at province scale, and a batch's run leaves it."""
    from typer.testing import CliRunner

    from service.cli import app

    def aggregate() -> str:
        env = {"COLUMNS": "200", "DEADZONE_ESTIMATE_INTERVAL_S": "3600"}
        result = CliRunner().invoke(app, ["aggregate", "--database-url", settings.database_url],
                                    env=env)  # fmt: skip
        assert result.exit_code == 0, result.output
        return result.output

    ingest(sessions, settings, [reading_in(c, device="a", no_service=True) for c in RING])
    first = aggregate()
    assert re.search(r"decisions full;.*; estimated field refreshed in \d+\.\d s$", first.strip())
    ingest(sessions, settings, [reading_in(CENTRE, device="b", no_service=True)])
    second = aggregate()
    assert "decisions incremental" in second and "estimated field" not in second
