"""The incremental aggregation gives what a full recomputation gives.

The property: any split of the same readings into batches, aggregated batch by batch on the
incremental path, leaves exactly the statistics, roll-ups, decisions, dead zones (ids,
cells, every figure), zone index, village statuses and progress figures that the full path
leaves when it aggregates the same batches at the same times. Decisions, zone cells and
village statuses do not depend on the batches, where the trust rules cannot act (the
tokens' upload days and networks are history too): they are those of one full run over
all the readings. Zone *ids* do depend on history by design (a zone keeps its id as it
grows or shrinks, ``service.engine.zones``), so they are compared with the full path run on
the same batches.

Each example gets two fresh databases of the backend under test (a copy of the migrated
template), so examples share nothing.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

import h3
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import delete, exists, func, select
from sqlalchemy.orm import Session, sessionmaker

from service.areas.progress import measure_progress, village_states
from service.engine import incremental as incremental_path
from service.engine.aggregation import aggregate, update_statistics
from service.engine.statistics import (
    h3_resolution_of,
    rollup,
    rollup_watermark,
    set_rollup_watermark,
    watermark,
)
from service.engine.zones import NearestCovered
from service.jobs import run_aggregation
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker, session_scope
from service.store.models import (
    CellDevice,
    CellStat,
    CellStatus,
    DeadZone,
    DirtyCell,
    ReadingRow,
    ZoneCell,
)
from tests.areas.conftest import import_areas, put_statuses, village, write_layer
from tests.conftest import BACKENDS, TEST_SECRET, PostgisServer
from tests.coverage_helpers import CENTRE, NOW, ingest, reading_in

CELLS = sorted(h3.grid_disk(CENTRE, 3))  # 37 neighbouring cells: zones touch and merge
KINDS = {"covered": -80.0, "weak": -110.0, "dead": None}
BARS = {"covered": 3, "weak": 1, "dead": None}  # a resident's report of radio 'unknown'


@contextmanager
def fresh_database(
    backend: str, workdir: Path, template: Path, server: PostgisServer | None
) -> Iterator[str]:
    """The URL of a new migrated database, dropped afterwards."""
    if backend == "sqlite":
        path = workdir / f"{uuid.uuid4().hex}.sqlite"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        path.unlink()
        return
    if server is None:
        pytest.skip("PostGIS test server unavailable (set CI=true to make this fail)")
    name = server.create_database()
    try:
        yield server.url_for(name)
    finally:
        server.drop_database(name)


def cluster_readings(
    cluster: tuple[int, int | None, str, str, int, int, int], *, first_device: int = 0
) -> list[dict[str, Any]]:
    """A few readings of one kind in one cell: ``devices`` phones, ``copies`` each, the
    phones named from ``d{first_device}`` on. Radio 'unknown' readings are residents'
    reports: bars, or no service. So are those of an unknown operator (mnc None): a
    resident who did not know it knows no radio either."""
    cell, mnc, radio, kind, devices, copies, days_ago = cluster
    radio = "unknown" if mnc is None else radio
    items = []
    for device in range(first_device, first_device + devices):
        for copy in range(copies):
            dbm = KINDS[kind]
            level = BARS[kind] if radio == "unknown" else None
            items.append(
                reading_in(
                    CELLS[cell], device=f"d{device}", days_ago=days_ago + 0.1 * copy,
                    mnc=mnc, radio=radio, dbm=None if level else dbm, level=level,
                    no_service=dbm is None,
                )
            )  # fmt: skip
    return items


clusters = st.tuples(
    st.integers(0, len(CELLS) - 1),
    st.sampled_from([4, 2, None]),  # None: operator unknown (issue 18)
    st.sampled_from(["lte", "umts", "lte", "unknown"]),  # decisions any signal and broadband
    st.sampled_from(["dead", "dead", "covered", "weak"]),
    st.integers(1, 4),
    st.integers(1, 2),
    st.integers(1, 75),
)


def snapshot(sessions: sessionmaker[Session], settings: Settings, *, now: Any) -> dict[str, Any]:
    """Everything the aggregation writes, as comparable values (not ``updated_at``)."""
    with sessions() as session:
        zones = []
        for zone in session.scalars(select(DeadZone).order_by(DeadZone.id)):
            row = {c.name: getattr(zone, c.name) for c in DeadZone.__table__.columns}
            row.pop("updated_at")
            row["outline"] = row["outline"].wkt
            zones.append(row)
        return {
            "stats": sorted(tuple(r) for r in session.execute(select(*CellStat.__table__.c))),
            "devices": sorted(tuple(r) for r in session.execute(select(*CellDevice.__table__.c))),
            "decisions": sorted(tuple(r) for r in session.execute(select(*CellStatus.__table__.c))),
            "zones": zones,
            "zone_cells": sorted(tuple(r) for r in session.execute(select(*ZoneCell.__table__.c))),
            "dirty": session.scalars(select(DirtyCell.h3_cell)).all(),
            # Device sets are kept for statistics' keys only (decisions read the keys of
            # the statistics alone: ``decisions._single_broadband_radio``).
            "devices_without_statistics": session.scalar(
                select(func.count())
                .select_from(CellDevice)
                .where(
                    ~exists().where(
                        *(
                            getattr(CellStat, k) == getattr(CellDevice, k)
                            for k in ("h3_cell", "mcc", "mnc", "radio", "bucket")
                        )
                    )
                )
            ),  # fmt: skip
            "villages": [asdict(v) for v in village_states(session, settings)],
            "progress": {
                k: asdict(v) for k, v in measure_progress(session, settings, now=now).items()
            },
        }


def without_ids(state: dict[str, Any]) -> dict[str, Any]:
    """What does not depend on how the readings were batched."""
    active = sorted((z["operator"], z["radio"], z["cells"]) for z in state["zones"] if z["active"])
    return {k: state[k] for k in ("stats", "devices", "decisions", "villages")} | {
        "zone_cells": active
    }


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The tests' settings, with the incremental path taken whatever share of a small
    world's cells a batch changes (``incremental_max_changed_share``): it is under test."""
    return settings.model_copy(update={"incremental_max_changed_share": float("inf")})


def setup_database(
    url: str, workdir: Path, *, bridge: bool, rings: int, trust_days: int = 7, confirm: int = 1
) -> tuple[Settings, Any]:
    settings = Settings(
        database_url=url, device_secret=TEST_SECRET, environment="development",
        aggregate_interval_s=0, window_months=2, bridge_unknown_gaps=bridge,
        dead_guard_rings=rings,
        # The trust rules (docs/forged-evidence.md): days of uploads before a token is
        # trusted, and the networks whose new tokens must agree to move a decided cell.
        trust_upload_days=trust_days, contest_confirm_networks=confirm,
        # The estimated field is refreshed by every run here, incremental or full: by
        # default an incremental run leaves it for estimate_interval_s (service/jobs.py),
        # and the progress figures it feeds would then differ by timing, not by path.
        estimate_interval_s=0,
        # The batches here change most of a small world's cells, which would send them
        # down the full path (incremental_max_changed_share): the incremental path is the
        # one under test.
        incremental_max_changed_share=float("inf"),
    )  # fmt: skip
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    villages = [
        village("V1", "Buon One", CELLS[0], 800, facilities=1),
        village("V2", "Buon Two", CELLS[18], 1200),
        village("V3", "Buon Three", CELLS[30], 500),
    ]
    path = write_layer(workdir / f"villages-{uuid.uuid4().hex}.geojson", villages)
    import_areas(sessions, settings, path, kind="village")
    return settings, engine


@pytest.mark.parametrize("backend", BACKENDS)
@hypothesis_settings(
    # Bounded for CI (a few seconds per example on a loaded 2-core machine); raise it with
    # DEADZONE_SPLIT_EXAMPLES for a longer hunt.
    max_examples=int(os.environ.get("DEADZONE_SPLIT_EXAMPLES", "8")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)  # fmt: skip
@given(
    found=st.lists(clusters, min_size=4, max_size=24),
    split=st.data(),
    bridge=st.booleans(),
    rings=st.sampled_from([0, 2]),
    # 1: every token trusted at its first merge; 2 and 3: trust comes within the batches
    # (each is received on its own day when its step moves the clock); 7: the default.
    trust_days=st.sampled_from([1, 2, 3, 7]),
    confirm=st.sampled_from([1, 2, 3]),
)
def test_any_split_into_batches_gives_the_full_runs_results(
    backend: str, found: list[Any], split: st.DataObject, bridge: bool, rings: int,
    trust_days: int, confirm: int, tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path, request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    postgis_server = None if backend == "sqlite" else request.getfixturevalue("postgis_server")
    # Phones d0-d6, each cluster's from a drawn first one: later batches bring phones of
    # their own, whose tokens are new in that upload (the trust rules' case).
    first = split.draw(
        st.lists(st.integers(0, 3), min_size=len(found), max_size=len(found)),
        label="first phone of each cluster",
    )
    items = [
        r for cluster, d in zip(found, first, strict=True)
        for r in cluster_readings(cluster, first_device=d)
    ]  # fmt: skip
    batches = split.draw(st.integers(1, 4), label="batches")
    batch_of = split.draw(
        st.lists(st.integers(0, batches - 1), min_size=len(items), max_size=len(items)),
        label="batch of each reading",
    )
    # Aggregation times move forward, over month ends: the window (2 months) slides.
    steps = split.draw(st.lists(st.integers(0, 40), min_size=batches, max_size=batches))
    # The client network each batch is posted from (None: not known, as on the command
    # line): a phone first seen in it keeps that network (service.ingest.devices).
    origins = split.draw(
        st.lists(st.sampled_from([None, "10.0.1.5", "10.0.2.5", "10.0.3.5"]),
                 min_size=batches, max_size=batches),
        label="origins",
    )  # fmt: skip
    workdir = tmp_path_factory.mktemp("split")
    with (
        fresh_database(backend, workdir, sqlite_template, postgis_server) as url_a,
        fresh_database(backend, workdir, sqlite_template, postgis_server) as url_b,
    ):
        rules = {"bridge": bridge, "rings": rings, "trust_days": trust_days, "confirm": confirm}
        settings_a, engine_a = setup_database(url_a, workdir, **rules)
        settings_b, engine_b = setup_database(url_b, workdir, **rules)
        sessions_a, sessions_b = make_sessionmaker(engine_a), make_sessionmaker(engine_b)
        try:
            now = NOW
            for batch, step in enumerate(steps):
                now += timedelta(days=step)
                part = [r for r, b in zip(items, batch_of, strict=True) if b == batch]
                if part:  # received at the run's time, as the API would receive it
                    ingest(sessions_a, settings_a, part, now=now, origin=origins[batch])
                    ingest(sessions_b, settings_b, part, now=now, origin=origins[batch])
                # Progress reads the estimated field too (people estimated covered), which
                # a batch leaves until it is due (tests/test_estimate_schedule.py): here it
                # is refreshed every run, so that the rest can be compared exactly.
                report = run_aggregation(sessions_a, settings_a, now=now, estimate=True)
                assert (report.incremental is not None) == (batch > 0)
                counted = run_aggregation(sessions_b, settings_b, now=now, full=True)
                # The incremental run moves the last run's counts by its batch's changes;
                # the full one counts them.
                assert report.cells == counted.cells
                incremental = snapshot(sessions_a, settings_a, now=now)
                full = snapshot(sessions_b, settings_b, now=now)
                assert incremental == full
                assert incremental["dirty"] == []
                assert incremental["devices_without_statistics"] == 0
            # One full run over all the readings, in a third database, agrees on everything
            # that does not carry history. Where trust is not immediate, the tokens' history
            # is such history: all at once, they are new tokens of one upload, where in
            # batches they came on their own days and networks, so rule 2 (new tokens of
            # one request count as one) and rule 3 (a contest needs earlier evidence and
            # is lifted by confirm networks) see other histories by design. The single run
            # is compared only where those rules cannot act: every token trusted at its
            # first merge, or no network known (each token its own source) and one
            # network enough to confirm (no contest).
            if trust_days > 1 and (confirm > 1 or any(o is not None for o in origins)):
                return
            with fresh_database(backend, workdir, sqlite_template, postgis_server) as url_c:
                settings_c, engine_c = setup_database(url_c, workdir, **rules)
                sessions_c = make_sessionmaker(engine_c)
                ingest(sessions_c, settings_c, items, now=now)
                run_aggregation(sessions_c, settings_c, now=now)
                once = snapshot(sessions_c, settings_c, now=now)
                engine_c.dispose()
            assert without_ids(incremental) == without_ids(once)
        finally:
            engine_a.dispose()
            engine_b.dispose()


def test_a_failed_run_leaves_its_cells_for_the_next(
    settings, sessions, engine, tmp_path, monkeypatch
) -> None:
    """A crash after the statistics moved on but before the decisions were stored loses
    nothing: the dirty cells were written with the statistics, and the next run uses them."""
    first = [
        r for c in CELLS[:7] for r in cluster_readings((CELLS.index(c), 4, "lte", "dead", 3, 1, 5))
    ]
    ingest(sessions, settings, first)
    run_aggregation(sessions, settings, now=NOW)
    more = cluster_readings((CELLS.index(CELLS[7]), 4, "lte", "dead", 3, 1, 4))
    more += cluster_readings((0, 4, "lte", "covered", 4, 2, 2))
    ingest(sessions, settings, more)

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("power cut")

    # While the zones are planned, in the transaction that stores the decisions (the
    # readings here make no zone, so no hook of the areas layer would be called).
    with monkeypatch.context() as patched:
        patched.setattr(incremental_path, "_plan_scope_zones", crash)
        with pytest.raises(RuntimeError):
            aggregate(sessions, settings, now=NOW)
    with session_scope(sessions) as session:
        assert session.scalars(select(DirtyCell.h3_cell)).all()  # still waiting
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None and report.incremental.dirty_cells > 0
    after = snapshot(sessions, settings, now=NOW)
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def test_a_batch_counts_a_zones_new_phones_of_one_upload_once(settings, sessions) -> None:
    """A zone described again by a batch counts its phones as the full path does, new
    tokens of one upload as one (rule 2 of docs/forged-evidence.md; it counted tokens), and
    counts them apart once they are trusted, though their readings left the zone alone."""
    settings = settings.model_copy(update={"trust_upload_days": 2})
    first = [r for c in range(7) for r in cluster_readings((c, 4, "lte", "dead", 2, 2, 5))]
    ingest(sessions, settings, first, now=NOW)
    run_aggregation(sessions, settings, now=NOW)  # d0 and d1: no dead cell yet
    # Two new phones in one upload from one network, the same day: one more phone.
    both = [
        r for c in range(7)
        for r in cluster_readings((c, 4, "lte", "dead", 2, 2, 4), first_device=2)
    ]  # fmt: skip
    ingest(sessions, settings, both, now=NOW, origin="10.0.2.5")
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None and report.incremental.zones_rewritten > 0
    after = snapshot(sessions, settings, now=NOW)
    assert {z["devices"] for z in after["zones"]} == {3}
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)
    # The next day they upload again, elsewhere: trusted, each is a phone of its own.
    later = NOW + timedelta(days=1)
    elsewhere = cluster_readings((30, 4, "lte", "covered", 2, 1, 1), first_device=2)
    ingest(sessions, settings, elsewhere, now=later, origin="10.0.2.5")
    report = run_aggregation(sessions, settings, now=later)
    assert report.incremental is not None
    after = snapshot(sessions, settings, now=later)
    assert {z["devices"] for z in after["zones"]} == {4}
    run_aggregation(sessions, settings, now=later, full=True)
    assert after == snapshot(sessions, settings, now=later)


def test_zones_rewritten_by_a_batch_name_every_operator_dead_in_them(settings, sessions) -> None:
    """A zone the incremental path describes again lists the operators dead in its cells
    as the full path does (it listed its own operator only), in both scopes over radios;
    and the 3G-only cells are a broadband zone of their own on both paths."""
    # Three phones twice each (a dead call's least evidence is four readings of three).
    both = [
        r for c in range(7) for mnc in (4, 2)
        for r in cluster_readings((c, mnc, "lte", "dead", 3, 2, 5))
    ]  # fmt: skip
    # Two cells three rings away from the others, Viettel's phones there on 3G.
    on_3g = [r for c in (26, 28) for r in cluster_readings((c, 4, "umts", "covered", 3, 2, 5))]
    ingest(sessions, settings, both + on_3g)
    run_aggregation(sessions, settings, now=NOW)
    ingest(sessions, settings, cluster_readings((0, 4, "lte", "dead", 3, 1, 4)))
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None and report.incremental.zones_rewritten > 0
    after = snapshot(sessions, settings, now=NOW)
    affected = {(z["operator"], z["radio"]): z["operators_affected"]
                for z in after["zones"] if z["active"] and z["cell_count"] == 7}  # fmt: skip
    assert affected == {
        (operator, radio): ["452-02", "452-04"]
        for operator in ("452-02", "452-04", "any") for radio in ("any", "broadband")
    }  # fmt: skip
    broadband_only = [(z["operator"], z["radio"]) for z in after["zones"]
                      if z["active"] and z["cell_count"] == 2]  # fmt: skip
    assert sorted(broadband_only) == [("452-04", "broadband"), ("any", "broadband")]
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def test_a_best_of_all_zone_counts_every_operators_readings_as_its_phones(
    settings, sessions
) -> None:
    """Seven cells dead for two operators: the best of all's zone counts both operators'
    readings, as it counts both operators' phones (it took one operator's readings and
    every operator's phones: "21 readings, 28 devices"), on the full path and after a
    batch alike."""
    both = [
        r for c in range(7) for mnc in (4, 2)
        for r in cluster_readings((c, mnc, "lte", "dead", 3, 2, 5))
    ]  # fmt: skip
    ingest(sessions, settings, both)
    run_aggregation(sessions, settings, now=NOW)
    ingest(sessions, settings, cluster_readings((0, 4, "lte", "dead", 3, 1, 4)))
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None and report.incremental.zones_rewritten > 0
    after = snapshot(sessions, settings, now=NOW)
    zones = {(z["operator"], z["radio"]): z for z in after["zones"]
             if z["active"] and z["cell_count"] == 7}  # fmt: skip
    for radio in ("any", "broadband"):
        best, ones = zones[("any", radio)], [zones[(op, radio)] for op in ("452-02", "452-04")]
        assert best["readings"] == sum(z["readings"] for z in ones) > 0
        assert best["devices"] == 3  # the same three dual-SIM phones on both networks
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def test_a_batch_rewrites_only_the_zones_whose_evidence_or_neighbourhood_moved(
    settings, sessions
) -> None:
    """More dead readings of one operator in a cell that stays dead change the figures of
    that operator's zones and of the best of all's, not those of another operator dead in
    the same cells: its zones are kept as they stand (the run rewrote them all before), and
    the result is still the full run's."""
    both = [
        r for c in range(7) for mnc in (4, 2)
        for r in cluster_readings((c, mnc, "lte", "dead", 3, 2, 5))
    ]  # fmt: skip
    ingest(sessions, settings, both)
    run_aggregation(sessions, settings, now=NOW)
    ingest(sessions, settings, cluster_readings((0, 4, "lte", "dead", 3, 1, 4)))
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None
    assert report.incremental.status_changes == {}
    # Viettel's and the best of all's zones, in both scopes over radios; not 452-02's.
    assert report.incremental.zones_rewritten == 4
    after = snapshot(sessions, settings, now=NOW)
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def guard_spy(monkeypatch: pytest.MonkeyPatch) -> list[dict[int, str]]:
    """Record the neighbours each incremental run hands to the dead guard (the suspects
    whose best of all is decided again), calling the real function."""
    seen: list[dict[int, str]] = []
    real = incremental_path._best_of_all_around

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(dict(kwargs["guarded"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(incremental_path, "_best_of_all_around", spy)
    return seen


def test_a_batch_that_moves_no_operators_signal_decides_no_neighbour_again(
    settings, sessions, monkeypatch
) -> None:
    """The dead guard reads only which operators have signal in a cell: more dead readings
    in a dead cell cannot move a neighbour's best of all, so none is decided again (the run
    took every dead neighbour of a batch's cell as a suspect before), and the result is
    still the full run's."""
    ring = [CELLS.index(c) for c in h3.grid_disk(CENTRE, 1)]
    dead = [r for c in ring for r in cluster_readings((c, 4, "lte", "dead", 3, 2, 5))]
    ingest(sessions, settings, dead)
    run_aggregation(sessions, settings, now=NOW)
    seen = guard_spy(monkeypatch)
    ingest(sessions, settings, cluster_readings((CELLS.index(CENTRE), 4, "lte", "dead", 3, 1, 4)))
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None
    assert seen and all(guarded == {} for guarded in seen)
    after = snapshot(sessions, settings, now=NOW)
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def test_signal_that_comes_to_a_cell_lifts_its_dead_neighbours_best_of_all(
    settings, sessions, monkeypatch
) -> None:
    """Another operator's signal in one cell of a dead cluster, an operator with no decision
    in the cluster's other cells: their best of all can no longer be dead (the dead guard,
    ``dead_guard_rings``). The batch holds the one cell, so the neighbours must be found
    from it and decided again; the result is the full run's."""
    ring = [CELLS.index(c) for c in h3.grid_disk(CENTRE, 1)]
    dead = [r for c in ring for r in cluster_readings((c, 4, "lte", "dead", 3, 2, 5))]
    ingest(sessions, settings, dead)
    run_aggregation(sessions, settings, now=NOW)
    neighbours = {int(h3.str_to_int(c)) for c in h3.grid_ring(CENTRE, 1)}
    assert best_of_all(sessions, neighbours) == {"dead"}
    seen = guard_spy(monkeypatch)
    covered = cluster_readings((CELLS.index(CENTRE), 2, "lte", "covered", 3, 2, 4), first_device=10)
    ingest(sessions, settings, covered)
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None
    assert any(neighbours <= set(guarded) for guarded in seen)
    assert "dead" not in best_of_all(sessions, neighbours)
    after = snapshot(sessions, settings, now=NOW)
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def best_of_all(sessions: sessionmaker[Session], cells: set[int]) -> set[str]:
    """The stored best-of-all statuses (any signal) of ``cells`` at the working resolution."""
    c = CellStatus
    with sessions() as session:
        return set(
            session.scalars(
                select(c.status).where(
                    c.operator == "any", c.radio == "any", c.h3_cell.in_(cells),
                    c.resolution == h3.get_resolution(CENTRE),
                )
            )
        )  # fmt: skip


def test_map_pages_outlive_runs_that_leave_their_operator_alone(client, settings, sessions) -> None:
    """An incremental run names the scopes it recomputed; a cached page of another operator
    is served on, while the best-of-all pages are rebuilt. A full run drops every page."""
    ingest(sessions, settings, cluster_readings((0, 4, "lte", "dead", 3, 1, 5)))
    ingest(sessions, settings, cluster_readings((9, 2, "lte", "covered", 3, 1, 5)))
    run_aggregation(sessions, settings, now=NOW)
    viettel = client.get("/maps/deadzones.html", params={"operator": "452-04"})
    best = client.get("/maps/deadzones.html", params={"operator": "any"})
    assert viettel.status_code == best.status_code == 200
    pages = client.app.state.map_pages
    kept = dict(pages._pages)
    assert len(kept) == 2

    ingest(sessions, settings, cluster_readings((20, 2, "lte", "dead", 3, 1, 4)))  # VinaPhone
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None
    assert report.incremental.scopes_changed == {"452-02", "any"}
    again = client.get("/maps/deadzones.html", params={"operator": "452-04"})
    assert again.text == viettel.text
    assert list(pages._pages) == [k for k in kept if "452-04" in k]  # 'any' page dropped

    run_aggregation(sessions, settings, now=NOW, full=True)
    client.get("/maps/deadzones.html", params={"operator": "any"})
    assert all("452-04" not in k for k in pages._pages)


def rollup_rows(sessions: sessionmaker[Session], settings: Settings) -> tuple[list, list]:
    """The roll-up rows and their device sets, as stored."""
    base = settings.h3_resolution
    with sessions() as session:
        stats = session.execute(select(*CellStat.__table__.c).where(CellStat.resolution != base))
        devices = session.execute(
            select(*CellDevice.__table__.c).where(h3_resolution_of(CellDevice.h3_cell) != base)
        )
        return sorted(tuple(r) for r in stats), sorted(tuple(r) for r in devices)


def rebuilt_rollups(sessions: sessionmaker[Session], settings: Settings) -> tuple[list, list]:
    """The roll-ups rebuilt from all their children (``rollup``), as the full path does."""
    with session_scope(sessions) as session:
        rollup(session, settings, settings.rollup_resolutions)
    return rollup_rows(sessions, settings)


def siblings() -> tuple[str, str]:
    """Two resolution-9 cells under one resolution-8 parent (and so one resolution 7)."""
    a, b, *_ = sorted(h3.cell_to_children(h3.cell_to_parent(CENTRE, 8), 9))
    return a, b


def test_a_batch_adds_its_readings_to_parents_whose_other_children_it_leaves(
    settings, sessions
) -> None:
    """A batch's roll-ups add the readings merged since the roll-ups' watermark to the
    parents (``statistics.add_to_rollups``): the parent keeps its untouched child's
    evidence (its minimum too, which no addition can lower back), and readings merged by
    two merges between runs count once each."""
    a, b = siblings()
    ingest(sessions, settings, [reading_in(b, device=f"d{i}", dbm=-120.0) for i in range(3)])
    ingest(sessions, settings, [reading_in(a, device="d0", dbm=-80.0)])
    run_aggregation(sessions, settings, now=NOW)
    ingest(sessions, settings, [reading_in(a, device="d0", dbm=-75.0),
                                reading_in(a, device="d5", dbm=-70.0, days_ago=40)])  # fmt: skip
    update_statistics(sessions, settings)  # a merge with no roll-up after it
    ingest(sessions, settings, [reading_in(a, device="d6", dbm=-60.0)])
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None
    with sessions() as session:
        assert rollup_watermark(session) == watermark(session)
        parent = h3.str_to_int(h3.cell_to_parent(a, 8))
        readings, lowest = session.execute(
            select(func.sum(CellStat.readings), func.min(CellStat.dbm_min)).where(
                CellStat.h3_cell == parent
            )
        ).one()
    assert (readings, lowest) == (7, -120.0)
    added = rollup_rows(sessions, settings)
    assert added == rebuilt_rollups(sessions, settings)


def test_roll_ups_stopped_part_way_resume_from_their_watermark(
    settings, sessions, monkeypatch
) -> None:
    """A run stopped while it adds readings to the roll-ups (on SQLite a few readings per
    transaction, each moving the roll-ups' watermark) adds the rest in the next run, none
    twice: then everything equals a full run's."""
    settings = settings.model_copy(update={"sqlite_merge_chunk_readings": 2})
    a, b = siblings()
    ingest(sessions, settings, [reading_in(b, device=f"d{i}", dbm=-100.0) for i in range(3)])
    run_aggregation(sessions, settings, now=NOW)
    ingest(sessions, settings, [reading_in(c, device=f"d{i}", dbm=-70.0 - i)
                                for i, c in enumerate([a, b, a, a, b])])  # fmt: skip
    with sessions() as session:
        top = session.scalar(select(func.max(ReadingRow.seq)))
    real = incremental_path.add_to_rollups

    def stop_at_the_last(*args: Any, **kwargs: Any) -> None:
        if kwargs["up_to"] == top:
            raise RuntimeError("power cut")
        real(*args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(incremental_path, "add_to_rollups", stop_at_the_last)
        with pytest.raises(RuntimeError):
            aggregate(sessions, settings, now=NOW)
    with sessions() as session:
        assert (rollup_watermark(session) or 0) < top
    report = run_aggregation(sessions, settings, now=NOW)
    assert report.incremental is not None
    after = snapshot(sessions, settings, now=NOW)
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def test_roll_ups_with_no_watermark_are_rebuilt_around_the_batch(settings, sessions) -> None:
    """A store from before the roll-ups' watermark (or whose statistics were rebuilt) has
    none: a batch then rebuilds its cells' parents from all their children, and sets it."""
    a, b = siblings()
    ingest(sessions, settings, [reading_in(b, device=f"d{i}", dbm=-100.0) for i in range(3)])
    run_aggregation(sessions, settings, now=NOW)
    with session_scope(sessions) as session:
        set_rollup_watermark(session, None)
    ingest(sessions, settings, [reading_in(a, device="d9", dbm=-70.0)])
    assert run_aggregation(sessions, settings, now=NOW).incremental is not None
    with sessions() as session:
        assert rollup_watermark(session) == watermark(session)
    added = rollup_rows(sessions, settings)
    assert added == rebuilt_rollups(sessions, settings)


def test_a_run_stopped_after_a_rebuild_of_the_statistics_is_full_next(settings, sessions):
    """A rebuild (``--rebuild``, ``--dask``) empties the roll-ups in its own transaction:
    a run stopped right after it must not go on incrementally, which would rebuild only
    its own cells' parents and leave every other parent empty (found in review)."""
    far = h3.grid_disk(CENTRE, 30)[-1]  # under another parent
    ingest(sessions, settings, [reading_in(far, device=f"d{i}", dbm=-120.0) for i in range(3)])
    ingest(sessions, settings, [reading_in(CENTRE, device=f"e{i}", dbm=-80.0) for i in range(3)])
    run_aggregation(sessions, settings, now=NOW)
    update_statistics(sessions, settings, rebuild_all=True)  # then the process is killed
    ingest(sessions, settings, [reading_in(CENTRE, device="z", dbm=-70.0)])
    assert run_aggregation(sessions, settings, now=NOW).incremental is None
    ingest(sessions, settings, [reading_in(far, device="y", dbm=-60.0)])
    assert run_aggregation(sessions, settings, now=NOW).incremental is not None
    with sessions() as session:
        parent = h3.str_to_int(h3.cell_to_parent(far, 8))
        readings = session.scalar(select(func.sum(CellStat.readings)).where(
            CellStat.h3_cell == parent
        ))  # fmt: skip
    assert readings == 4
    assert rollup_rows(sessions, settings) == rebuilt_rollups(sessions, settings)


def test_a_batch_that_changes_most_cells_takes_the_full_path(settings, sessions) -> None:
    """Deciding every cell costs less than deciding most of them with their neighbourhoods
    and parents (docs/scale.md): past ``incremental_max_changed_share`` of the cells the
    last run decided, a run takes the full path, which gives the same decisions
    (``test_any_split_into_batches_gives_the_full_runs_results``)."""
    cells = h3.grid_disk(CENTRE, 2)  # 19 cells

    def batch(chosen: list[str], tag: str) -> None:
        ingest(sessions, settings, [
            reading_in(c, device=f"{tag}{i}", dbm=-95.0, days_ago=1 + i) for c in chosen
            for i in range(3)
        ])  # fmt: skip

    share = Settings.model_fields["incremental_max_changed_share"].default
    assert 0 < share < 1
    default = settings.model_copy(update={"incremental_max_changed_share": share})
    within = int(share * len(cells))  # the most cells a batch may change incrementally
    batch(cells, "a")
    assert run_aggregation(sessions, default, now=NOW).incremental is None  # the first
    batch(cells[:within], "b")
    assert run_aggregation(sessions, default, now=NOW).incremental is not None
    batch(cells[: within + 1], "c")
    assert run_aggregation(sessions, default, now=NOW).incremental is None
    batch(cells, "d")  # this module's settings: never
    assert run_aggregation(sessions, settings, now=NOW).incremental is not None


def test_a_zones_covered_neighbours_are_read_from_the_covered_cells_index(engine) -> None:
    """The box around a zone rewritten by a batch is read through the index of covered
    decisions (migration 0021), not through a latitude band of every decision across the
    province: at 3 million stored readings a batch rewrites thousands of zones. On
    PostgreSQL with sequential scans off, since on an empty table the planner would read
    the table."""
    query = incremental_path.covered_cells_query("452-01", "lte", 9, (12.0, 12.1, 108.0, 108.1))
    compiled = query.compile(dialect=engine.dialect)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            params = tuple(compiled.params[name] for name in compiled.positiontup or ())
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", params).all()
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).all()
    assert "ix_cell_status_covered" in " ".join(str(row) for row in plan)


def test_a_zones_distance_to_signal_is_the_nearest_covered_cell_however_far(sessions) -> None:
    """The covered cells around a zone are read in boxes widened until the nearest one lies
    within the box's margin (``incremental._CoveredNearby``): a covered cell 1, 5, 40 or
    600 km away (beyond the last box: all of them), or any pair two rings away (some
    inside the first box but beyond its margin, others nearer but outside it), is found as
    the nearest over every covered cell finds it."""
    zone = [h3.str_to_int(CENTRE)]
    lat, lon = h3.cell_to_latlng(CENTRE)
    far = [[h3.str_to_int(h3.latlng_to_cell(lat + km / 111.2, lon, 9))] for km in (1, 5, 40, 600)]
    # Two rings away, the hexagons' centres lie 638.4-638.5 m off, some inside the first
    # box (margin 500 m) and some nearer but outside it.
    pairs = [list(pair) for pair in itertools.combinations(
        sorted(h3.str_to_int(c) for c in h3.grid_ring(CENTRE, 2)), 2
    )]  # fmt: skip
    for covered in [*far, *pairs]:
        with session_scope(sessions) as session:
            session.execute(delete(CellStatus))
        put_statuses(sessions, {h3.int_to_str(cell): "covered" for cell in covered},
                     operator="452-01", radios=("any",))  # fmt: skip
        with sessions() as session:
            nearby = incremental_path._CoveredNearby(session, scope=("452-01", "any"), resolution=9)
            found = nearby.distance_m(zone)
        assert found == NearestCovered(covered).distance_m(zone), covered


def test_people_moved_by_an_area_import_make_the_next_run_full(tmp_path, settings, sessions):
    """A zone's people, villages and priority come from the population grid, which no
    reading dirties: after an import of areas (or of a population raster) an incremental
    run kept every untouched zone's old people (found walking the README)."""
    dead = [r for c in range(3) for r in cluster_readings((c, 4, "lte", "dead", 3, 2, 5))]
    ingest(sessions, settings, dead)
    run_aggregation(sessions, settings, now=NOW)
    people = write_layer(tmp_path / "v.geojson", [village("V1", "Buôn Một", CELLS[0], 500)])
    import_areas(sessions, settings, people)
    # A batch of another operator far away: no Viettel zone is near its changes.
    far = h3.grid_disk(CENTRE, 30)[-1]
    ingest(
        sessions, settings, [reading_in(far, device=f"f{i}", dbm=-80.0, mnc=2) for i in range(3)]
    )
    assert run_aggregation(sessions, settings, now=NOW).incremental is None
    after = snapshot(sessions, settings, now=NOW)
    zones = [z for z in after["zones"] if z["active"] and z["operator"] == "452-04"]
    assert zones and all((z["population"] or 0) > 0 and z["villages"] == ["V1"] for z in zones)
    run_aggregation(sessions, settings, now=NOW, full=True)
    assert after == snapshot(sessions, settings, now=NOW)


def test_an_import_committed_as_a_run_starts_makes_the_next_run_full(
    tmp_path, settings, sessions, monkeypatch
):
    """The people's version is read once, before the run's check: on PostgreSQL each
    statement reads its own snapshot, and a second read recorded an import the check had
    not seen, so the next run went on incrementally with the old people (found in review)."""
    dead = [r for c in range(3) for r in cluster_readings((c, 4, "lte", "dead", 3, 2, 5))]
    ingest(sessions, settings, dead)
    run_aggregation(sessions, settings, now=NOW)
    people = write_layer(tmp_path / "v.geojson", [village("V1", "Buôn Một", CELLS[0], 500)])
    fingerprint = incremental_path.new_sites_fingerprint
    imported = []

    def import_meanwhile(*args, **kwargs):  # the check's last read: an import lands then
        if not imported:
            imported.append(import_areas(sessions, settings, people))
        return fingerprint(*args, **kwargs)

    monkeypatch.setattr(incremental_path, "new_sites_fingerprint", import_meanwhile)
    far = h3.grid_disk(CENTRE, 30)[-1]
    ingest(
        sessions, settings, [reading_in(far, device=f"f{i}", dbm=-80.0, mnc=2) for i in range(3)]
    )
    run_aggregation(sessions, settings, now=NOW)  # incremental or not: it began before
    assert imported
    ingest(sessions, settings, [reading_in(far, device="g", dbm=-80.0, mnc=2)])
    assert run_aggregation(sessions, settings, now=NOW).incremental is None
    zones = [z for z in snapshot(sessions, settings, now=NOW)["zones"]
             if z["active"] and z["operator"] == "452-04"]  # fmt: skip
    assert zones and all(z["villages"] == ["V1"] for z in zones)
