"""Cell statistics merge exactly: associative, commutative, incremental = rebuild."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import h3
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from service.engine.statistics import (
    CellStats,
    h3_parent_masks,
    load_cell_stats,
    merge_new_readings,
    rebuild,
    rollup,
    safe_max_seq,
)
from service.store.database import session_scope
from tests.coverage_helpers import CENTRE, ingest, reading_in

T0 = datetime(2026, 1, 1, tzinfo=UTC)

stats_st = st.builds(
    lambda n, m, w, p, lo, span, mask, start, length, devices: CellStats(
        readings=n,
        measured=m,
        manual=n - m,
        no_service=w[0],
        weight_covered=w[1],
        weight_weak=w[2],
        weight_dead=w[3],
        power_sum_aw=p,
        dbm_min=lo,
        dbm_max=None if lo is None else lo + span,
        days_mask=mask,
        first_seen=T0 + timedelta(hours=start),
        last_seen=T0 + timedelta(hours=start + length),
        devices=frozenset(devices),
    ),  # fmt: skip
    st.integers(1, 1000),
    st.integers(0, 1),
    st.tuples(*[st.integers(0, 2000)] * 4),
    st.integers(0, 10**15),
    st.one_of(st.none(), st.floats(-140, -44)),
    st.floats(0, 50),
    st.integers(0, 2**31 - 1),
    st.integers(0, 10_000),
    st.integers(0, 1000),
    st.sets(st.binary(min_size=16, max_size=16), max_size=5),
)


@given(stats_st, stats_st, stats_st)
def test_merging_statistics_is_associative(a, b, c):
    assert a.merge(b).merge(c) == a.merge(b.merge(c))


@given(stats_st, stats_st)
def test_merging_statistics_is_commutative(a, b):
    assert a.merge(b) == b.merge(a)


@given(
    st.integers(0, 2**63 - 1).map(lambda i: h3.latlng_to_cell((i % 170) - 85, (i % 360) - 180, 9)),
    st.integers(0, 8),
)
def test_parent_bit_masks_agree_with_h3(cell, resolution):
    keep, set_ = h3_parent_masks(resolution)
    assert h3.int_to_str((h3.str_to_int(cell) & keep) | set_) == h3.cell_to_parent(cell, resolution)


def random_readings(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    cells = list(h3.grid_disk(CENTRE, 3))
    items = []
    for _ in range(n):
        kind = rng.random()
        common = dict(
            device=f"dev{rng.randrange(6)}",
            days_ago=rng.uniform(0.1, 100),
            mnc=rng.choice([1, 4]),
            radio=rng.choice(["lte", "gsm"]),
            accuracy_m=rng.choice([5.0, 80.0]),
        )
        cell = rng.choice(cells)
        if kind < 0.2:
            items.append(reading_in(cell, no_service=True, **common))
        elif kind < 0.3:
            items.append(reading_in(cell, level=rng.randrange(5), **common))
        else:
            low = -113 if common["radio"] == "gsm" else -140
            items.append(reading_in(cell, dbm=float(rng.randrange(low, -51)), **common))
    return items


@hsettings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 10**6), cuts=st.lists(st.integers(1, 150), max_size=5))
def test_incremental_statistics_equal_a_rebuild(settings, sessions, seed, cuts):
    """Readings arrive in random batches and are merged after each; the result equals
    a rebuild from the raw readings, row for row and device for device."""
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=safe_max_seq(s))  # start each example from a clean grid
    items = random_readings(seed, 150)
    bounds = sorted({0, *cuts, len(items)})
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        ingest(sessions, settings, items[lo:hi])
        with session_scope(sessions) as s:
            top = safe_max_seq(s)
        with session_scope(sessions) as s:
            merge_new_readings(s, settings, up_to=top)
    with sessions() as s:
        incremental = load_cell_stats(s, resolution=9)
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=safe_max_seq(s))
    with sessions() as s:
        rebuilt = load_cell_stats(s, resolution=9)
    assert incremental == rebuilt
    assert incremental  # the comparison was not between two empty tables


def test_a_reading_merged_twice_is_impossible(settings, sessions):
    ingest(sessions, settings, random_readings(1, 50))
    with session_scope(sessions) as s:
        top = safe_max_seq(s)
    for _ in range(3):
        with session_scope(sessions) as s:
            merge_new_readings(s, settings, up_to=top)
    with sessions() as s:
        total = sum(v.readings for v in load_cell_stats(s, resolution=9).values())
    assert total == 50


def test_roll_ups_equal_the_merge_of_their_children(settings, sessions):
    ingest(sessions, settings, random_readings(7, 300))
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=safe_max_seq(s))
        rollup(s, settings, [8, 7])
    with sessions() as s:
        children = load_cell_stats(s, resolution=9)
        for res in (8, 7):
            expected: dict = {}
            for (cell, *rest), value in children.items():
                key = (h3.str_to_int(h3.cell_to_parent(h3.int_to_str(cell), res)), *rest)
                expected[key] = expected[key].merge(value) if key in expected else value
            assert load_cell_stats(s, resolution=res) == expected


def test_statistics_of_known_readings(settings, sessions):
    items = [
        reading_in(CENTRE, device="a", dbm=-80.0, days_ago=1),
        reading_in(CENTRE, device="b", dbm=-100.0, days_ago=1),
        reading_in(CENTRE, device="b", no_service=True, days_ago=1, accuracy_m=200.0),
        reading_in(CENTRE, device="c", level=1, days_ago=1),
    ]
    ingest(sessions, settings, items)
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=safe_max_seq(s))
    with sessions() as s:
        ((key, stats),) = load_cell_stats(s, resolution=9).items()
    assert key[:4] == (h3.str_to_int(CENTRE), 452, 4, "lte")
    assert (stats.readings, stats.measured, stats.manual, stats.no_service) == (4, 2, 1, 1)
    # LTE (2 bars at -105): -80 and -100 covered (2 each), no service dead (poor fix: 1),
    # 1 bar weak (manual: 1)
    assert (stats.weight_covered, stats.weight_weak, stats.weight_dead) == (4, 1, 1)
    assert stats.power_sum_aw == pytest.approx(10**7 + 10**5, rel=1e-9)  # -80 and -100 dBm
    assert (stats.dbm_min, stats.dbm_max, len(stats.devices)) == (-100.0, -80.0, 3)
    assert bin(stats.days_mask).count("1") in (1, 2)  # "a day ago" may straddle midnight
