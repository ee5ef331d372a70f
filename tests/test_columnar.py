"""The columnar rebuild of the cell statistics equals the SQL rebuild, row for row."""

from __future__ import annotations

import random

import h3
import pytest

from service.engine.statistics import (
    load_cell_stats,
    rebuild,
    rebuild_in_database,
    safe_max_seq,
)
from service.store.database import session_scope
from tests.coverage_helpers import CENTRE, ingest, reading_in


def varied_readings(seed: int, n: int) -> list[dict]:
    """Measured, no-service and manual readings over months, radios, operators and
    poor GPS fixes, with fractional dBm (half-dB steps exercise the rounding of power)."""
    rng = random.Random(seed)
    cells = list(h3.grid_disk(CENTRE, 2))
    items = []
    for _ in range(n):
        radio = rng.choice(["lte", "gsm", "umts", "nr"])
        common = dict(
            device=f"dev{rng.randrange(9)}",
            days_ago=rng.uniform(0.01, 200),
            mnc=rng.choice([1, 2, 4]),
            radio=radio,
            accuracy_m=rng.choice([3.0, 49.0, 50.0, 51.0, 300.0]),
        )
        kind = rng.random()
        cell = rng.choice(cells)
        if kind < 0.15:
            items.append(reading_in(cell, no_service=True, **common))
        elif kind < 0.3:
            item = reading_in(cell, level=rng.randrange(5), **common)
            if rng.random() < 0.5:
                item["calls_fail"] = rng.random() < 0.5
            items.append(item)
        else:
            low, high = {"gsm": (-113, -51), "umts": (-120, -24), "lte": (-140, -43)}.get(
                radio, (-140, -44)
            )
            dbm = rng.randrange(2 * low, 2 * high + 1) / 2 + rng.choice([0.0, 0.0, 0.25])
            items.append(reading_in(cell, dbm=min(dbm, high), **common))
    return items


@pytest.mark.parametrize("chunk_rows", [64, 1_000_000])
def test_columnar_rebuild_gives_the_rows_of_the_sql_rebuild(settings, sessions, chunk_rows):
    ingest(sessions, settings, varied_readings(3, 700))
    with session_scope(sessions) as s:
        top = safe_max_seq(s)
    with session_scope(sessions) as s:
        rebuild_in_database(s, settings, up_to=top)
    with sessions() as s:
        in_database = load_cell_stats(s, resolution=9)
    steps: list[tuple[str, int, int]] = []
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=top, chunk_rows=chunk_rows, progress=lambda *a: steps.append(a))
    with sessions() as s:
        columnar = load_cell_stats(s, resolution=9)
    assert columnar == in_database
    assert sum(v.readings for v in columnar.values()) == 700
    assert len({key[4] for key in columnar}) >= 6  # several months
    assert ("statistics", 700, 700) in steps


def test_columnar_rebuild_stops_at_the_given_seq(settings, sessions):
    ingest(sessions, settings, varied_readings(4, 100))
    with session_scope(sessions) as s:
        top = safe_max_seq(s)
    ingest(sessions, settings, varied_readings(5, 50))
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=top)
    with sessions() as s:
        assert sum(v.readings for v in load_cell_stats(s, resolution=9).values()) == 100


def test_rebuild_of_no_readings_leaves_empty_statistics(settings, sessions):
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=0)
    with sessions() as s:
        assert load_cell_stats(s, resolution=9) == {}
