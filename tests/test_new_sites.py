"""A site known to be new (its date in the cell export, inside the decision window): its
operator's dead calls within reach that rest on months before it are made again from the
months since; covered and weak calls stand. On SQLite and PostGIS."""

from __future__ import annotations

from datetime import UTC, date, datetime

import h3
import pytest
from shapely.geometry import Point

from service.engine.new_sites import first_whole_month, planned_reach_m
from service.store.database import session_scope
from service.store.models import CellEstimate, ModelFit, Site
from tests.coverage_helpers import CENTRE, NOW, decide, ingest, reading_in, status_of

# The site went on air on the first day of last month: last month is its first whole one.
_LAST_MONTH = (NOW.year * 12 + NOW.month - 2) // 12, (NOW.year * 12 + NOW.month - 2) % 12 + 1
ON_AIR = datetime(*_LAST_MONTH, 1, tzinfo=UTC)
SINCE_DAYS = (NOW - ON_AIR).days  # readings fewer days ago than this are since the site


def add_site(
    sessions, *, km_north: float = 1.0, range_m: int | None = None,
    created: datetime | None = ON_AIR, mnc: int = 4, radio: str = "lte",
) -> None:  # fmt: skip
    """A dated site (LTE unless ``radio``) of 452-0``mnc`` ``km_north`` km north of
    ``CENTRE``."""
    lat, lon = h3.cell_to_latlng(CENTRE)
    lat += km_north / 111.2
    with session_scope(sessions) as session:
        session.add(
            Site(radio=radio, mcc=452, mnc=mnc, operator=f"452-0{mnc}", area=1, cell=77,
                 unit=None, lat=lat, lon=lon, range_m=range_m, samples=None, changeable=False,
                 created=created, updated=None, average_signal=None, geom=Point(lon, lat),
                 imported_at=NOW)
        )  # fmt: skip


def before_the_site(*, no_service: bool = True) -> list[dict]:
    """Four phones' readings in the months before the site: no service, or good signal."""
    return [
        reading_in(CENTRE, device=f"old{d}", no_service=no_service,
                   dbm=None if no_service else -85, days_ago=SINCE_DAYS + 5 + 9 * d + k)
        for d in range(4)
        for k in range(2)
    ]  # fmt: skip


def test_first_whole_month_on_air():
    assert first_whole_month(datetime(2026, 10, 1, tzinfo=UTC)) == date(2026, 10, 1)
    # On air from 23:00 on the 1st: readings of that day before it are in October too.
    assert first_whole_month(datetime(2026, 10, 1, 23, tzinfo=UTC)) == date(2026, 11, 1)
    assert first_whole_month(datetime(2026, 10, 2, tzinfo=UTC)) == date(2026, 11, 1)
    assert first_whole_month(datetime(2026, 12, 15, tzinfo=UTC)) == date(2027, 1, 1)


def test_dead_call_resting_on_months_before_a_dated_site_goes_unknown(settings, sessions):
    ingest(sessions, settings, before_the_site())
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "dead"
    add_site(sessions)
    decide(sessions, settings)  # no reading changed: the new site makes the run a full one
    for operator in ("452-04", "any"):
        for radio in ("any", "broadband"):
            cell = status_of(sessions, CENTRE, operator, radio)
            assert (cell.status, cell.confidence) == ("unknown", 0.0), (operator, radio)
    assert status_of(sessions, CENTRE, "452-04", "lte").status == "unknown"


@pytest.mark.parametrize(
    ("radio", "after"),
    [
        # A new UMTS site may serve the place on 3G: the call over radios is made again,
        # but it brings no LTE, so the broadband and LTE dead calls stand.
        ("umts", {"any": "unknown", "broadband": "dead", "lte": "dead"}),
        # A new NR site brings broadband but no LTE: the LTE call stands, the broadband and
        # over-radio calls (the same LTE evidence alone) are made again.
        ("nr", {"any": "unknown", "broadband": "unknown", "lte": "dead"}),
    ],
)
def test_a_dated_site_makes_stale_only_the_calls_its_radio_can_change(
    settings, sessions, radio, after
):
    ingest(sessions, settings, before_the_site())
    decide(sessions, settings)
    add_site(sessions, radio=radio)
    decide(sessions, settings)
    found = {scope: status_of(sessions, CENTRE, "452-04", scope).status for scope in after}
    assert found == after


def test_covered_call_near_a_dated_site_stands(settings, sessions):
    ingest(sessions, settings, before_the_site(no_service=False))
    add_site(sessions)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "covered"


def since_the_site(phones: int, *, no_service: bool) -> list[dict]:
    """Two readings of each of ``phones`` phones since the site went on air."""
    return [
        reading_in(CENTRE, device=f"new{d}", no_service=no_service,
                   dbm=None if no_service else -80, days_ago=2 + 4 * d + k)
        for d in range(phones)
        for k in range(2)
    ]  # fmt: skip


def test_readings_since_the_site_decide(settings, sessions):
    ingest(sessions, settings, before_the_site() + since_the_site(3, no_service=False))
    add_site(sessions)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE, "452-04")
    assert (cell.status, cell.readings, cell.devices) == ("covered", 6, 3)


@pytest.mark.parametrize(("no_service", "status"), [(True, "dead"), (False, "unknown")])
def test_too_few_readings_since_the_site_keep_the_call_only_if_they_lean_dead(
    settings, sessions, no_service, status
):
    # One phone since the site: no call of its own. No service there too: someone measured
    # since and nothing changed, the year decides. Signal: the old months no longer do.
    ingest(sessions, settings, before_the_site() + since_the_site(1, no_service=no_service))
    add_site(sessions)
    decide(sessions, settings)
    cell = status_of(sessions, CENTRE, "452-04")
    assert cell.status == status
    if status == "dead":
        assert (cell.readings, cell.devices) == (10, 5)


@pytest.mark.parametrize(
    ("km_north", "range_m", "created", "mnc", "status"),
    [
        (10.0, None, ON_AIR, 4, "dead"),  # beyond the 3.5 km of ITU-R M.2412's rural cell
        (2.0, 1000, ON_AIR, 4, "dead"),  # beyond the export's range
        (2.0, 3000, ON_AIR, 4, "unknown"),  # within it
        (1.0, None, None, 4, "dead"),  # not dated: a site from before the evidence
        (1.0, None, datetime(2024, 1, 1, tzinfo=UTC), 4, "dead"),  # before the window
        (1.0, None, ON_AIR, 2, "dead"),  # another operator's site
    ],
)
def test_a_dead_call_stands_beyond_the_reach_or_the_window_of_a_site(
    settings, sessions, km_north, range_m, created, mnc, status
):
    ingest(sessions, settings, before_the_site())
    add_site(sessions, km_north=km_north, range_m=range_m, created=created, mnc=mnc)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == status


def test_the_planners_calibrated_radius_is_the_reach_without_a_range(settings, sessions):
    # 3.2 km: within ITU-R M.2412's 3.5 km, beyond the planner's 2.8 km with the 15 dB of
    # extra loss a calibration measured for the operator.
    assert planned_reach_m(settings, calibration_db=15.0) < 3200.0
    ingest(sessions, settings, before_the_site())
    add_site(sessions, km_north=3.2)
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "unknown"
    with session_scope(sessions) as session:
        session.add(ModelFit(operator="452-04", band_mhz=0, offset_db=15.0, rmse_db=6.0,
                             cells=200, sites=10, fitted_at=NOW))  # fmt: skip
    decide(sessions, settings)
    assert status_of(sessions, CENTRE, "452-04").status == "dead"


@pytest.mark.parametrize(("km_north", "inferred"), [(1.0, "covered"), (10.0, "dead")])
def test_the_field_near_a_dated_site_reads_the_months_since_it(
    settings, sessions, km_north, inferred
):
    # The ring around the unmeasured centre had no service before the site (three phones,
    # four readings a cell: dead calls), nobody measured it since; three rings out, phones
    # measured good signal since. Near the site the ring's calls go unknown and the field
    # reads its months since, none: the old readings no longer call the centre dead, the
    # signal measured since does. 10 km away, beyond the site's reach, the ring stays dead
    # and so does the centre's estimate.
    ring = h3.grid_ring(CENTRE, 1)
    items = [
        reading_in(cell, device=f"{cell}-{d % 3}", no_service=True, days_ago=SINCE_DAYS + 5 + d)
        for cell in ring
        for d in range(4)
    ]
    items += [
        reading_in(cell, device=f"{cell}-{d % 3}", dbm=-80, days_ago=2 + d)
        for cell in h3.grid_ring(CENTRE, 3)
        for d in range(4)
    ]
    ingest(sessions, settings, items)
    add_site(sessions, km_north=km_north)
    decide(sessions, settings)
    near = inferred == "covered"
    assert status_of(sessions, ring[0], "452-04").status == ("unknown" if near else "dead")
    with sessions() as session:
        centre = session.get(CellEstimate, (h3.str_to_int(CENTRE), "452-04", "any"))
    assert centre is not None and centre.inferred_status == inferred
