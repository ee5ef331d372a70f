"""A change in a cell's evidence (a site built or switched off): the decision follows the
newest months when they differ significantly from the older ones, on SQLite and PostGIS.
The months are those of the readings' own times, never of their arrival."""

from __future__ import annotations

from tests.coverage_helpers import CENTRE, decide, ingest, reading_in, status_of

# Ten months before the newest two, with a reading every ten days: days 70 to 330 ago.
OLD_DAYS = range(70, 331, 10)


def year_without_service(devices: int = 12) -> list[dict]:
    """Ten months in which ``devices`` residents found no service, in turns (two or three
    readings each)."""
    return [
        reading_in(CENTRE, device=f"old{i % devices}", no_service=True, days_ago=day)
        for i, day in enumerate(OLD_DAYS)
    ]


def test_cell_dead_for_ten_months_then_covered_by_several_phones_is_covered(settings, sessions):
    ingest(sessions, settings, year_without_service())
    decide(sessions, settings)
    assert status_of(sessions, CENTRE).status == "dead"
    recent = [
        reading_in(CENTRE, device=f"new{d}", dbm=-85, days_ago=3 + 9 * d + k)
        for d in range(4)
        for k in range(2)
    ]
    ingest(sessions, settings, recent)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE, "452-04")
    assert (cell.status, cell.readings, cell.devices) == ("covered", 8, 4)
    assert status_of(sessions, CENTRE).status == "covered"


def test_new_signal_too_thin_for_a_call_still_ends_the_old_dead_call(settings, sessions):
    # After the change 3 of 5 phones still see no service (share 0.6, Wilson bound 0.23
    # over 5 readings): the new months alone are no call, and the year before them, which
    # is 27 no-service readings, no longer makes the cell dead (the simulated province,
    # seed 15: a site on air in October, a whole year's 78 % "dead" against 57 % since).
    ingest(sessions, settings, year_without_service())
    recent = [
        reading_in(CENTRE, device=f"new{d}", no_service=True, days_ago=5 + d) for d in range(3)
    ]
    recent += [reading_in(CENTRE, device=f"new{d}", dbm=-108, days_ago=20 + d) for d in (3, 4)]
    ingest(sessions, settings, recent)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE, "452-04")
    assert (cell.status, cell.readings, cell.devices) == ("unknown", 5, 5)
    assert cell.dead_share == 0.6


def test_one_phones_blip_of_signal_does_not_end_a_dead_call(settings, sessions):
    ingest(sessions, settings, year_without_service())
    blip = [reading_in(CENTRE, device="lucky", dbm=-80, days_ago=2 + k) for k in range(6)]
    ingest(sessions, settings, blip)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE, "452-04")
    assert (cell.status, cell.readings) == ("dead", 27 + 6)


def test_a_few_signal_readings_among_many_dead_ones_do_not_count_as_a_change(settings, sessions):
    # The same share of no service before and after: no change, the whole year decides.
    old = year_without_service()
    recent = [
        reading_in(CENTRE, device=f"new{d}", no_service=True, days_ago=4 + d) for d in range(5)
    ]
    recent.append(reading_in(CENTRE, device="new5", dbm=-110, days_ago=12))
    ingest(sessions, settings, old + recent)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE, "452-04")
    assert (cell.status, cell.readings) == ("dead", 27 + 6)


def test_a_late_batch_of_old_dead_readings_does_not_undo_a_change(settings, sessions):
    # A site came on air two months ago and four phones have had signal since. Then a
    # resident's phone, back from the fields, uploads what it stored long before: no
    # service, months ago. The readings' own months put them before the change.
    ingest(sessions, settings, year_without_service(devices=6))
    recent = [
        reading_in(CENTRE, device=f"new{d}", dbm=-90, days_ago=3 + 9 * d + k)
        for d in range(4)
        for k in range(2)
    ]
    ingest(sessions, settings, recent)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "covered"
    late = [
        reading_in(CENTRE, device=f"resident{r}", no_service=True, days_ago=day)
        for r in range(3)
        for day in (95 + r, 160 + r, 250 + r, 300 + r)
    ]
    ingest(sessions, settings, late)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE, "452-04")
    assert (cell.status, cell.readings, cell.devices) == ("covered", 8, 4)
