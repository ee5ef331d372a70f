"""Phones that cannot use an operator's network anywhere (old SIMs, 3G handsets after the 2G
switch-off) do not paint the estimated field dead (service/engine/handsets.py)."""

from __future__ import annotations

import logging

import h3
import pandas as pd
from sqlalchemy import not_, tuple_

from service.engine.decisions import load_evidence, window_start
from service.engine.handsets import limited_phones, without_limited_phones
from service.engine.statistics import readings_to_stats, watermark
from service.ingest.privacy import DeviceHasher
from service.store.models import CellEstimate, ReadingRow
from tests.coverage_helpers import CENTRE, NOW, decide, ingest, reading_in

MNC = 5  # Vietnamobile
OPERATOR = "452-05"
# A second place 20 km east, out of the first one's reach.
FAR = h3.latlng_to_cell(h3.cell_to_latlng(CENTRE)[0], h3.cell_to_latlng(CENTRE)[1] + 0.18, 9)


def town(centre: str) -> list[dict]:
    """Two phones with good signal in each of seven cells."""
    return [
        reading_in(cell, device=f"{cell}-{d}", dbm=-95.0, mnc=MNC, days_ago=1 + k)
        for cell in h3.grid_disk(centre, 1)
        for d in range(2)
        for k in range(3)
    ]


def fields(centre: str) -> list[str]:
    """Three cells 0.9 km from the town's centre that no other phone reports from."""
    return sorted(h3.grid_ring(centre, 3))[:3]


def no_service(cells: list[str], device: str) -> list[dict]:
    return [
        reading_in(cell, device=device, no_service=True, mnc=MNC, days_ago=1 + k)
        for cell in cells
        for k in range(3)
    ]


def seed_two_places(settings, sessions) -> None:
    # Near CENTRE an old SIM has no service wherever it goes, in the town too; near FAR a
    # resident's phone has no service in the fields only, never where the others had signal.
    items = town(CENTRE) + no_service(h3.grid_disk(CENTRE, 1) + fields(CENTRE), "old-sim")
    items += town(FAR) + no_service(fields(FAR), "resident")
    ingest(sessions, settings, items)
    decide(sessions, settings)


def device_hash(settings, token: str) -> bytes:
    return DeviceHasher(settings.device_secret.get_secret_value()).hash(token)


def p_dead(sessions, cell: str) -> float:
    with sessions() as session:
        estimate = session.get(CellEstimate, (h3.str_to_int(cell), OPERATOR, "any"))
    assert estimate is not None
    return float(estimate.p_dead)


def evidence(session, settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    since = window_start(NOW, settings.window_months)
    return load_evidence(session, resolution=settings.h3_resolution, since=since)


def test_a_phone_without_service_where_others_have_it_does_not_make_the_fields_dead(
    settings, sessions, caplog
):
    with caplog.at_level(logging.INFO, logger="deadzone"):
        seed_two_places(settings, sessions)
    # The run says what it left out, for whoever reads the server's log.
    assert "estimated field: phones left out" in caplog.text and ": 1 (452-05: 1)" in caplog.text
    with sessions() as session:
        stats, _ = evidence(session, settings)
        since = window_start(NOW, settings.window_months)
        phones = limited_phones(session, settings, stats, since=since)
    key = device_hash(settings, "old-sim")
    assert list(phones.itertuples(index=False, name=None)) == [(key, 452, MNC)]
    # The old SIM's fields are left to the town's field; the resident's no-service readings
    # still say their fields are dead.
    old, resident = (
        [p_dead(sessions, c) for c in fields(CENTRE)],
        [p_dead(sessions, c) for c in fields(FAR)],
    )
    assert max(old) < 0.5
    assert min(resident) > max(old) + 0.3
    with sessions() as session:
        inferred = {
            e.inferred_status
            for e in session.query(CellEstimate).filter(
                CellEstimate.operator == OPERATOR,
                CellEstimate.h3_cell.in_([h3.str_to_int(c) for c in fields(CENTRE)]),
            )
        }
    assert "dead" not in inferred


def test_the_field_reads_the_statistics_of_the_other_phones_exactly(settings, sessions):
    """Taking the phone's statistics off the sums gives what the merge's own SQL gives for
    the readings without it."""
    seed_two_places(settings, sessions)
    since = window_start(NOW, settings.window_months)
    with sessions() as session:
        merged = watermark(session)
        stats, devices = evidence(session, settings)
        kept, kept_devices = without_limited_phones(
            session, settings, stats, devices, since=since, up_to=merged
        )
        r = ReadingRow.__table__.c
        old = (device_hash(settings, "old-sim"), 452, MNC)
        query = readings_to_stats(settings, not_(tuple_(r.device_hash, r.mcc, r.mnc).in_([old])))
        expected = pd.DataFrame(
            session.connection().execute(query).all(),
            columns=[c.key for c in query.selected_columns],
        )
    key = ["h3_cell", "mcc", "mnc", "radio", "bucket"]
    expected["bucket"] = pd.to_datetime(expected["bucket"].astype(str), format="ISO8601")
    summed = ["readings", "measured", "manual", "no_service", "weight_covered", "weight_weak",
              "weight_dead"]  # fmt: skip
    got = kept[key + summed].astype({"h3_cell": "int64"}).sort_values(key, ignore_index=True)
    want = expected[key + summed].astype({"h3_cell": "int64"}).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert len(kept) < len(stats)
    assert device_hash(settings, "old-sim") not in set(kept_devices["device_hash"])
    assert device_hash(settings, "resident") in set(kept_devices["device_hash"])


def test_an_edge_of_coverage_or_a_phone_that_once_had_service_is_not_set_aside(settings, sessions):
    edge = h3.grid_disk(CENTRE, 1)[:2]  # no service where the others had signal: 2 cells
    items = town(CENTRE) + no_service(edge + fields(CENTRE), "edge")
    # Service once, anywhere: the phone can use the network.
    items += no_service(h3.grid_disk(CENTRE, 1), "once") + [
        reading_in(fields(FAR)[0], device="once", dbm=-118.0, mnc=MNC)
    ]
    ingest(sessions, settings, items)
    decide(sessions, settings)
    with sessions() as session:
        stats, _ = evidence(session, settings)
        since = window_start(NOW, settings.window_months)
        assert limited_phones(session, settings, stats, since=since).empty
