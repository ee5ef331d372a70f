"""Decision rules at their edges, on SQLite and PostGIS."""

from __future__ import annotations

import numpy as np
import pytest

from service.engine.decisions import wilson_lower, window_start
from tests.coverage_helpers import CENTRE, NOW, decide, ingest, reading_in, status_of


def dead_readings(cell, devices, per_device=1, mnc=4, days_ago=1):
    return [
        reading_in(cell, device=f"d{d}", no_service=True, mnc=mnc, days_ago=days_ago + i)
        for d in range(devices)
        for i in range(per_device)
    ]


def least_dead(cell, mnc=4, days_ago=1):
    """Three phones, four readings without service (one phone twice): the least evidence
    that makes a cell dead (Wilson bound 0.51 > min_dead_confidence 0.5 over four readings;
    one reading of each phone, n=3, gives 0.44: a majority not yet shown)."""
    again = reading_in(cell, device="d0", no_service=True, mnc=mnc, days_ago=days_ago + 1)
    return [*dead_readings(cell, devices=3, mnc=mnc, days_ago=days_ago), again]


def test_three_devices_with_four_no_service_readings_make_a_dead_cell(settings, sessions):
    ingest(sessions, settings, least_dead(CENTRE))
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert cell.status == "dead"
    assert (cell.readings, cell.devices, cell.no_service_share) == (4, 3, 1.0)
    assert cell.confidence == pytest.approx(0.5101, abs=1e-3)


def test_three_no_service_readings_do_not_yet_show_a_majority(settings, sessions):
    # n=3, share 1: the Wilson bound is 0.44, under one half; the truth of the simulated
    # province is "most phones see no signal", and cells whose phones see none only 40-50 %
    # of the time gave three of three often enough to be called dead wrongly at 0.4
    # (docs/demo-accuracy.md).
    ingest(sessions, settings, dead_readings(CENTRE, devices=3))
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert (cell.status, cell.readings, cell.devices) == ("unknown", 3, 3)
    assert wilson_lower(np.array([1.0]), np.array([3]))[0] < settings.min_dead_confidence


def test_one_device_alone_never_makes_a_cell_dead(settings, sessions):
    ingest(sessions, settings, dead_readings(CENTRE, devices=1, per_device=200))
    decide(sessions, settings)
    assert status_of(sessions, CENTRE).status == "unknown"


def test_two_devices_are_one_short_of_dead(settings, sessions):
    ingest(sessions, settings, dead_readings(CENTRE, devices=2, per_device=5))
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert (cell.status, cell.devices) == ("unknown", 2)
    assert cell.confidence == 0.0


def test_exactly_the_minimum_evidence_decides_covered(settings, sessions):
    assert (settings.min_readings, settings.min_devices) == (3, 2)
    items = [reading_in(CENTRE, device="a", dbm=-90), reading_in(CENTRE, device="a", dbm=-92)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE).status == "unknown"  # 2 readings: one short
    ingest(sessions, settings, [reading_in(CENTRE, device="b", dbm=-95)])
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert (cell.status, cell.readings, cell.devices) == ("covered", 3, 2)


def test_weak_between_one_and_two_bars(settings, sessions):
    # LTE: 1 bar at -115, 2 bars at -105 (AOSP)
    items = [reading_in(CENTRE, device=f"d{i}", dbm=-110) for i in range(4)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert cell.status == "weak"
    assert cell.signal_dbm_mean == pytest.approx(-110, abs=0.01)


def test_signal_mean_is_a_mean_of_power_not_of_dbm(settings, sessions):
    items = [reading_in(CENTRE, device=f"d{i}", dbm=dbm) for i, dbm in enumerate((-80, -100))]
    items.append(reading_in(CENTRE, device="d9", dbm=-100))
    ingest(sessions, settings, items)
    decide(sessions, settings)
    expected = 10 * np.log10((10 ** (-8.0) + 2 * 10 ** (-10.0)) / 3)
    assert status_of(sessions, CENTRE).signal_dbm_mean == pytest.approx(expected, abs=0.01)


def test_three_residents_reporting_no_signal_by_hand_make_it_dead(settings, sessions):
    # Four reports of three residents (one reported again a day later).
    items = [reading_in(CENTRE, device=f"resident{i}", level=0) for i in range(3)]
    items += [reading_in(CENTRE, device="resident0", level=0, days_ago=2)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE).status == "dead"


def test_manual_reports_weigh_less_than_measurements(settings, sessions):
    # 3 measured covered readings (weight 2 each) against 4 manual "no signal" (weight 1).
    items = [reading_in(CENTRE, device=f"m{i}", dbm=-85) for i in range(3)]
    items += [reading_in(CENTRE, device=f"r{i}", level=0) for i in range(4)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert cell.status == "covered"
    assert cell.dead_share == pytest.approx(4 / 10)


def test_mixed_operators_are_decided_separately(settings, sessions):
    items = least_dead(CENTRE, mnc=4)
    items += [reading_in(CENTRE, device=f"m{i}", mnc=1, dbm=-80) for i in range(3)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "dead"
    assert status_of(sessions, CENTRE, "452-01").status == "covered"
    assert status_of(sessions, CENTRE, "452-04", "lte").status == "dead"


def test_best_of_all_is_covered_where_one_operator_covers(settings, sessions):
    items = least_dead(CENTRE, mnc=4)
    items += [reading_in(CENTRE, device=f"m{i}", mnc=1, dbm=-80) for i in range(3)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "any").status == "covered"


def test_best_of_all_is_dead_where_every_decided_operator_is_dead(settings, sessions):
    items = least_dead(CENTRE, mnc=4)
    items += [reading_in(CENTRE, device="lonely", mnc=1, no_service=True)]  # too little
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-01").status == "unknown"
    assert status_of(sessions, CENTRE, "any").status == "dead"


def test_not_dead_for_everyone_where_an_undecided_operator_shows_signal(settings, sessions):
    # One MobiFone phone at -80 dBm is too little to call the cell covered for MobiFone,
    # but enough to doubt that nobody has signal there.
    items = least_dead(CENTRE, mnc=4)
    items += [reading_in(CENTRE, device="lonely", mnc=1, dbm=-80)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "dead"
    assert status_of(sessions, CENTRE, "452-01").status == "unknown"
    assert status_of(sessions, CENTRE, "any").status == "unknown"


def test_not_dead_for_everyone_next_to_another_operators_weak_signal(settings, sessions):
    import h3

    # One bar is a signal: MobiFone's weak cell next door may well reach this one.
    neighbour = h3.grid_ring(CENTRE, 1)[0]
    items = least_dead(CENTRE, mnc=4)
    items += [reading_in(neighbour, device=f"m{i}", mnc=1, dbm=-110) for i in range(3)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, neighbour, "452-01").status == "weak"
    assert status_of(sessions, CENTRE, "any").status == "unknown"


def test_many_readings_of_few_phones_do_not_make_a_confident_dead_call(settings, sessions):
    # Three phones, 20 readings each, 70 % of them without service: by readings the Wilson
    # bound would be 0.57 (n=60), by at most two readings a phone only 0.30 (n=6).
    items = []
    for d in range(3):
        items += [
            reading_in(CENTRE, device=f"d{d}", no_service=True, days_ago=1 + i) for i in range(14)
        ]
        items += [reading_in(CENTRE, device=f"d{d}", dbm=-110, days_ago=1 + i) for i in range(6)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert (cell.status, cell.readings, cell.devices) == ("unknown", 60, 3)
    assert cell.dead_share == pytest.approx(0.7)
    assert wilson_lower(np.array([0.7]), np.array([60]))[0] > settings.min_dead_confidence


def test_dead_cell_turns_covered_after_a_site_is_built(settings, sessions):
    # Seven months ago: many dead readings; in the last month: a few good ones.
    items = dead_readings(CENTRE, devices=5, per_device=10, days_ago=200)
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE).status == "dead"
    ingest(
        sessions,
        settings,
        [reading_in(CENTRE, device=f"n{i}", dbm=-85, days_ago=2) for i in range(3)],
    )
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert cell.status == "covered"
    assert cell.readings == 3  # the newest sufficient evidence decided
    assert cell.evidence_from >= window_start(NOW, 2)  # the last month or two, not 7 ago


def test_readings_older_than_the_window_are_ignored(settings, sessions):
    ingest(sessions, settings, dead_readings(CENTRE, devices=3, days_ago=390))
    decide(sessions, settings)
    assert status_of(sessions, CENTRE) is None


def test_poor_gps_readings_weigh_half(settings, sessions):
    items = [reading_in(CENTRE, device=f"g{i}", dbm=-85) for i in range(2)]
    items += [reading_in(CENTRE, device=f"p{i}", no_service=True, accuracy_m=300) for i in range(3)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE)
    assert cell.dead_share == pytest.approx(3 / 7)
    # Unweighted, 3 of 5 readings say dead; weighted, the 2 precise fixes win (4 of 7).
    assert cell.status == "covered"


def test_roll_up_cells_are_decided_too(settings, sessions):
    ingest(sessions, settings, least_dead(CENTRE))
    decide(sessions, settings)
    import h3

    parent = h3.cell_to_parent(CENTRE, 8)
    cell = status_of(sessions, parent)
    assert (cell.status, cell.resolution, cell.devices) == ("dead", 8, 3)


def test_wilson_lower_bound_known_values():
    assert wilson_lower(np.array([1.0]), np.array([3]))[0] == pytest.approx(0.4385, abs=1e-4)
    assert wilson_lower(np.array([0.5]), np.array([100]))[0] == pytest.approx(0.4038, abs=1e-3)
    assert wilson_lower(np.array([0.0]), np.array([10]))[0] == 0.0


def test_not_dead_for_everyone_next_to_another_operators_coverage(settings, sessions):
    import h3

    neighbour = h3.grid_ring(CENTRE, 1)[0]
    items = least_dead(CENTRE, mnc=4)
    items += [reading_in(neighbour, device=f"m{i}", mnc=1, dbm=-80) for i in range(3)]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "dead"
    assert status_of(sessions, CENTRE, "452-01") is None  # MobiFone never measured here
    assert status_of(sessions, CENTRE, "any").status == "unknown"  # ... but serves next door
