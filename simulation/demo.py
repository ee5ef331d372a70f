"""``deadzone demo``: the simulated province end to end, scored against its ground truth.

Steps: generate the scenario (``simulation``); write its communes and villages as
GeoJSON files and import them the way ``deadzone import-areas`` does (so the people per cell
come from the villages); send its upload stream through ``POST /v1/readings`` of the real
application in process (so JSON parsing, the schema, the quality gate and duplicate handling
run exactly as for phones), pausing once a week of replayed time for the last weeks to
aggregate and take a progress snapshot, as a scheduled ``deadzone snapshot`` would; aggregate
at the scenario's now, find dead zones, score the decisions and the village statuses against
the truth (``simulation.accuracy``), suggest new sites (``service.areas.planning``), draw the
maps and write ``summary.json``, ``summary.txt``, ``progress.json`` and the plan (CSV and GeoJSON).

Weekly snapshots: the decisions of an earlier week rest on the readings uploaded by then, so
the province's covered share rises over the weeks as evidence arrives (unknown cells count as
not covered) and as the scenario's new site goes on air; it is the trend an authority would
have watched. Each snapshot costs one aggregation with its kriged field (the snapshot counts
the people in estimated cells): a few seconds for the small province (its final one 3.7-5.9
s of wall time at load 3, the whole demo about 40 s of CPU), and minutes for the full one,
hence fewer weeks there
(``SNAPSHOT_WEEKS``; docs/scale.md, "Where the province demo's time goes").

Clock: the scenario has a fixed ``now`` (``DEFAULT_NOW``), so the same seed gives the same
readings. The quality gate, however, judges "future" and "too old" against the server's
clock. Sending with today's clock would let some of the injected future readings through
(they lie 2-30 days after the scenario's now, which today's date may already have passed)
and, a year from now, refuse every reading as too old: the outcome would depend on the day
the demo runs. The demo therefore replays the stream as the server lived it: each batch is
judged at its ``uploaded_at``, through the ingest's own ``now`` (``ReplayIngestor``), and
aggregation decides at the scenario's ``now``. Nothing in the output depends on the wall
clock except the timings.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import h3
import httpx
import numpy as np
import orjson
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from collectors.formats import open_sites
from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL, BROADBAND
from maps import AreaOutline, MapMeta, write_map_html
from service.api.app import create_app
from service.areas.boundaries import read_areas, upsert_areas
from service.areas.calibration import fit_model
from service.areas.likely import Likely, likely_statuses
from service.areas.planning import plan_sites
from service.areas.population import rebuild_population
from service.areas.progress import (
    PROVINCE,
    list_villages,
    measure_progress,
    progress_series,
    take_snapshot,
    village_states,
)
from service.errors import DeadzoneError
from service.ingest.readings import Ingestor, PreparedBatch
from service.ingest.sites import import_sites
from service.jobs import run_aggregation
from service.publish.mapdata import (
    coverage_page,
    deadzone_page,
    map_meta,
    map_title,
    progress_page,
)
from service.publish.plans import plan_to_csv, plan_to_geojson
from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker, session_scope
from service.store.models import CellEstimate, CellStatus, DeadZone, ReadingRow
from service.store.schema import upgrade_database
from simulation import DEFAULT_NOW, GATE_KINDS, SCHEMA_KINDS, Scenario, generate_scenario
from simulation.accuracy import (
    ScopeScore,
    calibration_by_scope,
    found_dead,
    score_by_radio,
    score_decisions,
    score_plan,
    score_villages,
)

DemoSize = Literal["small", "province"]
Progress = Callable[[str, int, int], None]
"""Called as progress(step, done, total)."""

# Readings per POST: a typical collector app's batch, well under max_batch_readings (5000).
POST_BATCH = 2000
DEMO_DATABASE = "demo.sqlite"
SUMMARY_JSON = "summary.json"
SUMMARY_TXT = "summary.txt"
COVERAGE_HTML = "coverage.html"
DEADZONES_HTML = "deadzones.html"
PROGRESS_HTML = "progress.html"
COMMUNES_GEOJSON = "communes.geojson"
VILLAGES_GEOJSON = "villages.geojson"
PROGRESS_JSON = "progress.json"
PLAN_CSV = "plan.csv"
PLAN_GEOJSON = "plan.geojson"
SITES_CSV = "sites.csv"
# Who builds the sites suggested for the best of all operators, in the simulated world: the
# operator with the most subscribers (Viettel), as the public-utility fund usually has it.
PLAN_BUILDER = "452-04"
TOP_ZONES = 10  # zones listed in the summary
PLAN_SITES = 5  # sites suggested for the best of all operators
MapLang = Literal["vi", "en"]
# The demo's maps are titled like the service's (service.publish.mapdata.map_title), in the
# page's language (Vietnamese by default, as on the pages), with what was simulated.
DEMO_MAP_SUFFIX: dict[str, str] = {
    "vi": "(tỉnh mô phỏng: {size}, seed {seed})",
    "en": "(simulated province: {size}, seed {seed})",
}
DEMO_SIZE_NAMES: dict[str, dict[str, str]] = {
    "vi": {"small": "vùng nhỏ", "province": "cả tỉnh"},
    "en": {"small": "small area", "province": "whole province"},
}
# Weekly progress snapshots before the final one (module doc: each costs an aggregation).
SNAPSHOT_WEEKS: dict[str, int] = {"small": 11, "province": 3}
# The demo's aggregations on SQLite, in transactions as large as PostgreSQL's: the SQLite
# defaults keep each of the aggregation's write transactions short so that phones' uploads
# never wait long for the one writer (settings, docs/availability.md), but the demo uploads
# nothing while it aggregates (each snapshot runs between two batches), so short
# transactions bought nothing and cost CPU: each merge transaction of 2,500 readings re-reads
# the watermark and the range's devices, 0.17 s of CPU each on the province's readings
# (50,000 readings merged: 6.3 s in chunks of 2,500, 3.0 s in one, identical statistics;
# docs/scale.md). Statistics are integer sums, minima, maxima and unions, and decisions,
# roll-ups and the field are written whole either way, so the results are the same (the
# chunked paths' tests: tests/test_write_chunks.py). Set in the environment, a value wins.
DEMO_SQLITE_CHUNKS: dict[str, int] = {
    "sqlite_merge_chunk_readings": 500_000,  # service.engine.aggregation.MERGE_CHUNK
    "sqlite_write_chunk_rows": 5_000_000,
    "sqlite_rollup_chunk_parents": 1_000_000,
}

# How /v1/stats names the rejection of each injected kind (field, code). Strict JSON has no
# NaN: the demo's client (orjson, like JavaScript's JSON.stringify and Android's JSONObject
# writers) sends a NaN signal as null, which leaves the reading with no signal value at all;
# Android's 2147483647 means "missing" (DESIGN.md), so it ends the same way.
_SIGNAL_FIELDS = "signal_dbm|no_service|level"
EXPECTED_REJECTION: dict[str, tuple[str, str]] = {
    "lat_out_of_range": ("lat", "out_of_range"),
    "lon_out_of_range": ("lon", "out_of_range"),
    "string_number": ("signal_dbm", "wrong_type"),
    "nan_signal": (_SIGNAL_FIELDS, "no_signal_value"),
    "android_unavailable": (_SIGNAL_FIELDS, "no_signal_value"),
    "missing_device": ("device", "missing"),
    "naive_timestamp": ("observed_at", "invalid_time"),
    "two_signals": (_SIGNAL_FIELDS, "no_signal_value"),
    "level_out_of_range": ("level", "out_of_range"),
    "future_timestamp": ("observed_at", "future"),
    "null_island": ("lat", "null_island"),
    "signal_out_of_range": ("signal_dbm", "out_of_range"),
    "too_old": ("observed_at", "too_old"),
}


class DemoError(DeadzoneError):
    """The demo cannot run as asked (e.g. its database already holds readings)."""


class ReplayClock:
    """The server time of the upload being replayed (UTC, timezone-aware)."""

    def __init__(self, start: datetime) -> None:
        self.now = start


@dataclass(frozen=True)
class ReplayIngestor(Ingestor):
    """The application's ingest, judging each upload at the replayed server time.

    Installed in place of ``app.state.ingestor`` of the demo's own application only; the
    route, the validation and the gate are the production ones (module docstring: Clock).
    """

    clock: ReplayClock = field(default_factory=lambda: ReplayClock(DEFAULT_NOW))

    def prepare(self, items: Sequence[Any], **options: Any) -> PreparedBatch:
        """``Ingestor.prepare`` with ``now`` defaulting to the replayed upload time: the
        route validates a batch before its transaction (``prepare``, then ``store``) and
        ``ingest`` goes through it too, so every path judges at the replayed time."""
        options["now"] = options.get("now") or self.clock.now
        return super().prepare(items, **options)


@dataclass
class DemoResult:
    """What the demo wrote: the summary (also in ``summary.json``) and the files by name."""

    summary: dict[str, Any]
    files: dict[str, Path]


def demo_settings(out: Path, *, database_url: str | None = None) -> Settings:
    """Settings for a demo run: the demo's own SQLite file in ``out`` unless a URL is given,
    so that it never mixes with a user's data; other options come from the environment.

    Development mode: the demo's database holds simulated devices only, and the in-process
    application must start with the default device secret. The demo aggregates explicitly,
    so the application's background aggregation is off.
    """
    url = database_url or f"sqlite:///{(out / DEMO_DATABASE).resolve()}"
    return Settings(  # type: ignore[call-arg]
        database_url=url, environment="development", aggregate_interval_s=0
    )


def aggregation_settings(settings: Settings) -> Settings:
    """``settings`` for the demo's own aggregations: SQLite's transactions as large as
    ``DEMO_SQLITE_CHUNKS`` says, where the environment did not set them (nothing uploads
    while the demo aggregates). The results are the same; only the commits are fewer."""
    updates = {k: v for k, v in DEMO_SQLITE_CHUNKS.items() if k not in settings.model_fields_set}
    return settings.model_copy(update=updates)


def reset_demo_database(out: Path) -> None:
    """Remove the demo's SQLite file (and its WAL files) in ``out``: each run starts fresh,
    so the same seed gives the same counts."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        (out / (DEMO_DATABASE + suffix)).unlink(missing_ok=True)


def _no_progress(step: str, done: int, total: int) -> None:
    return None


def run_demo(
    settings: Settings,
    *,
    size: DemoSize = "small",
    seed: int = 1,
    out: Path,
    progress: Progress = _no_progress,
    maps: bool = True,
    snapshot_weeks: int | None = None,
    lang: MapLang = "vi",
) -> DemoResult:
    """Run the scenario end to end on ``settings.database_url`` and write the results to
    ``out``. The database must hold no readings yet (``DemoError`` otherwise).
    ``snapshot_weeks``: weekly progress snapshots before the final one (default
    ``SNAPSHOT_WEEKS[size]``; 0 for none)."""
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}
    weeks = SNAPSHOT_WEEKS[size] if snapshot_weeks is None else snapshot_weeks

    start = time.perf_counter()
    progress("generate", 0, 1)
    scenario = generate_scenario(size, seed=seed)
    progress("generate", 1, 1)
    seconds["generate"] = time.perf_counter() - start

    engine = make_engine(settings)
    try:
        upgrade_database(engine)
        sessions = make_sessionmaker(engine)
        with session_scope(sessions, write=False) as session:
            if session.scalar(select(func.count()).select_from(ReadingRow)):
                raise DemoError(
                    f"{engine.url.render_as_string(hide_password=True)} already holds "
                    "readings; the demo needs an empty database of its own"
                )

        start = time.perf_counter()
        files = write_area_files(scenario, out)
        areas = import_areas(sessions, settings, files, now=scenario.start, progress=progress)
        files[SITES_CSV] = write_cell_export(scenario, out)
        areas["sites"] = import_cell_export(sessions, files[SITES_CSV], now=scenario.start)
        seconds["areas"] = time.perf_counter() - start

        aggregating = aggregation_settings(settings)

        def snapshot(at: datetime) -> None:
            """Aggregate what has arrived by ``at`` and store that day's progress."""
            # Replayed time: every snapshot reads the estimate of its own day.
            run_aggregation(sessions, aggregating, now=at, estimate=True)
            with session_scope(sessions) as session:
                take_snapshot(session, settings, now=at)

        checkpoints = [scenario.now - timedelta(weeks=k) for k in range(weeks, 0, -1)]
        start = time.perf_counter()
        ingest = send_readings(
            settings, scenario, progress=progress, checkpoints=checkpoints, on_checkpoint=snapshot
        )
        seconds["ingest"] = time.perf_counter() - start

        start = time.perf_counter()
        report = run_aggregation(
            sessions, aggregating, now=scenario.now, on_step=progress, estimate=True
        )
        with session_scope(sessions) as session:
            take_snapshot(session, settings, now=scenario.now)
            fit_model(session, settings, now=scenario.now)  # `deadzone calibrate`
        seconds["aggregate"] = time.perf_counter() - start

        start = time.perf_counter()
        with session_scope(sessions, write=False) as session:
            decisions = load_decisions(session, resolution=settings.h3_resolution)
            estimates = load_estimates(session, resolution=settings.h3_resolution)
            zones = zone_rows(session)
            villages = pd.DataFrame(
                [(v.code, v.status) for v in village_states(session, settings)],
                columns=["code", "status"],
            )
            broadband_villages = pd.DataFrame(
                [(v.code, v.status) for v in village_states(session, settings, radio=BROADBAND)],
                columns=["code", "status"],
            )
            likely = likely_statuses(session, villages["code"].tolist(), operator=BEST_OF_ALL)
        overall = decisions[decisions["radio"] == ANY_SIGNAL]
        scores = score_decisions(scenario.cells, scenario.truth_by_operator(), overall)
        broadband_scores = score_decisions(
            scenario.cells, scenario.truth_by_operator(BROADBAND),
            decisions[decisions["radio"] == BROADBAND], scope=BROADBAND,
        )  # fmt: skip
        radio_scores = score_by_radio(scenario.cells, scenario.truth, decisions)
        village_scores = score_villages(scenario.village_truth(), villages)
        broadband_village_scores = score_villages(
            scenario.village_truth(scope=BROADBAND), broadband_villages
        )
        estimate_scores = score_estimates(
            scenario, overall, estimates[estimates["radio"] == ANY_SIGNAL]
        )
        estimate_scores["villages"] = score_likely_villages(
            scenario, villages, likely, level=settings.estimate_level
        )
        seconds["score"] = time.perf_counter() - start

        start = time.perf_counter()
        plan_files, plan = write_progress_and_plan(sessions, settings, scenario, out)
        files |= plan_files
        delivered = score_plan(
            scenario, plan["sites"], operator=PLAN_BUILDER,
            band_mhz=int(plan["model"]["band_mhz"]), height_m=float(plan["model"]["mast_height_m"]),
        )  # fmt: skip
        progress_body = json.loads(files[PROGRESS_JSON].read_text(encoding="utf-8"))
        seconds["plan"] = time.perf_counter() - start

        if maps:
            start = time.perf_counter()
            files |= write_maps(sessions, settings, scenario, out, progress=progress, lang=lang)
            seconds["maps"] = time.perf_counter() - start
    finally:
        engine.dispose()

    summary = build_summary(
        scenario, settings, ingest=ingest, scores=scores, radio_scores=radio_scores,
        zones=zones, cells=report.cells, engine_name=engine.dialect.name,
    )  # fmt: skip
    summary["accuracy_broadband"] = {
        scope: score.as_dict() for scope, score in broadband_scores.items()
    }
    summary["areas"] = areas
    summary["progress"] = progress_summary(progress_body, village_scores)
    summary["progress"]["village_accuracy_broadband"] = broadband_village_scores
    summary["plan"] = plan_summary(plan) | delivered
    summary["estimate"] = estimate_scores
    summary["seconds"] = {k: round(v, 2) for k, v in seconds.items()}
    files[SUMMARY_JSON] = out / SUMMARY_JSON
    files[SUMMARY_TXT] = out / SUMMARY_TXT
    files[SUMMARY_JSON].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    files[SUMMARY_TXT].write_text(summary_text(summary), encoding="utf-8")
    return DemoResult(summary, files)


def write_area_files(scenario: Scenario, out: Path) -> dict[str, Path]:
    """The scenario's communes (polygons) and villages (points) as GeoJSON files in ``out``,
    with the columns ``deadzone import-areas`` reads (code, name, commune, population): the
    files a province's GIS office would hand over, and the demo imports them from disk."""
    communes = scenario.communes[["code", "name", "population", "geometry"]]
    villages = scenario.villages[["code", "name", "commune_code", "population", "geometry"]]
    files = {COMMUNES_GEOJSON: out / COMMUNES_GEOJSON, VILLAGES_GEOJSON: out / VILLAGES_GEOJSON}
    for frame, name in ((communes, COMMUNES_GEOJSON), (villages, VILLAGES_GEOJSON)):
        files[name].unlink(missing_ok=True)  # the GeoJSON driver refuses to overwrite
        frame.rename(columns={"commune_code": "commune"}).to_file(
            files[name], driver="GeoJSON", engine="pyogrio"
        )
    return files


def import_areas(
    sessions: sessionmaker[Session],
    settings: Settings,
    files: dict[str, Path],
    *,
    now: datetime,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Import the communes, then the villages, as ``deadzone import-areas`` does, and spread
    the villages' people over the grid. A refused feature stops the demo: the scenario's
    files are meant to be clean (hostile names included, which are text, not errors)."""
    counts: dict[str, Any] = {}
    progress("areas", 0, 2)
    for done, (name, kind) in enumerate(
        ((COMMUNES_GEOJSON, "commune"), (VILLAGES_GEOJSON, "village")), start=1
    ):
        found = read_areas(files[name], kind=kind, resolution=settings.h3_resolution)
        if found.rejected:
            first = found.rejected[0]
            raise DemoError(f"{name}: {len(found.rejected)} feature(s) refused, first "
                            f"{first.feature}: {first.reason}")  # fmt: skip
        with session_scope(sessions) as session:
            inserted, _ = upsert_areas(session, found, now=now)
        counts[f"{kind}s"] = inserted
        progress("areas", done, 2)
    with session_scope(sessions) as session:
        totals = rebuild_population(session, settings)
    counts["grid_people"] = round(totals["grid_people"], 1)
    return counts


def write_cell_export(scenario: Scenario, out: Path) -> Path:
    """The scenario's transmitters as an OpenCelliD / MLS cell export (``sites.csv``), the
    file an operator or OpenCelliD would hand over: exact positions (changeable 0). The site
    built inside the window is dated (``created``, epoch seconds: when it went on air), as
    an operator's list dates a new cell; the older ones are not (they were there before any
    reading), and no cell has a ``range`` (the simulation gives none)."""
    sites = scenario.sites
    built = pd.to_datetime(sites["built_at"], utc=True)
    seconds = (built - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    created = seconds.astype("Int64")
    frame = pd.DataFrame(
        {
            "radio": sites["radio"].str.upper(),
            "mcc": sites["mcc"],
            "net": sites["mnc"],
            "area": sites["area_code"],
            "cell": sites["cell_id"],
            "unit": sites["pci"].where(sites["pci"] >= 0, None).astype("Int64"),
            "lon": sites["lon"].round(6),
            "lat": sites["lat"].round(6),
            "range": "",
            "samples": "",
            "changeable": 0,
            "created": created,
            "updated": "",
            "averageSignal": 0,
        }
    )
    path = out / SITES_CSV
    frame.to_csv(path, index=False)
    return path


def import_cell_export(sessions: sessionmaker[Session], path: Path, *, now: datetime) -> int:
    """Import ``path`` as ``deadzone import-sites`` does; a refused row stops the demo."""
    with path.open("rb") as file:
        report = import_sites(sessions, open_sites(file), keep_rejected=1, now=now)
    if report.rejected:
        raise DemoError(f"{path.name}: {report.rejected} site row(s) refused")
    return report.accepted


def _iso(value: object) -> str:
    """A time of progress.json (the newest reading behind a village's status) in ISO 8601."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def write_progress_and_plan(
    sessions: sessionmaker[Session], settings: Settings, scenario: Scenario, out: Path
) -> tuple[dict[str, Path], dict[str, Any]]:
    """``progress.json`` (the province's snapshot series with its goal and trend, every
    area's numbers and every village's status at the scenario's now) and the suggested
    sites for the best of all operators as ``plan.csv`` and ``plan.geojson``."""
    with session_scope(sessions, write=False) as session:
        series = progress_series(
            session, settings, area=PROVINCE, start=None, end=None, today=scenario.now.date()
        )
        areas = measure_progress(session, settings, now=scenario.now)
        # As /v1/villages gives them: with what each status rests on, and the likely
        # status of the villages not measured.
        villages = list_villages(session, settings)
        plan = plan_sites(session, settings, operator=BEST_OF_ALL, sites=PLAN_SITES)
    body = {
        "province": series,
        "areas": [asdict(a) for a in areas.values()],
        "villages": [asdict(v) for v in villages],
    }
    files = {name: out / name for name in (PROGRESS_JSON, PLAN_CSV, PLAN_GEOJSON)}
    files[PROGRESS_JSON].write_text(
        json.dumps(body, indent=1, ensure_ascii=False, default=_iso) + "\n", encoding="utf-8"
    )
    files[PLAN_CSV].write_text(plan_to_csv(plan), encoding="utf-8")
    files[PLAN_GEOJSON].write_text(
        json.dumps(plan_to_geojson(plan), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return files, plan


def progress_summary(body: dict[str, Any], village_scores: dict[str, Any]) -> dict[str, Any]:
    """The province's progress in the summary: each snapshot's covered share, the trend,
    the villages per status now, and how the village statuses compare with the truth."""
    series = body["province"]["series"]
    newest = series[-1] if series else {}
    return {
        "goal": body["province"]["goal"],
        "trend": body["province"]["trend"],
        "snapshots": [
            {"day": s["day"], "covered_share": s["covered_share"], "zones_open": s["zones_open"]}
            for s in series
        ],
        "population": newest.get("population"),
        "people_covered": newest.get("people_covered"),
        "people": {
            name: newest.get(f"people_{name}")
            for name in ("covered", "dead", "estimated_covered", "estimated_dead", "unknown")
        },
        "villages": {
            status: newest.get(f"villages_{status}")
            for status in ("trang_song", "lom_song", "covered", "unknown")
        },
        "village_accuracy": village_scores,
    }


def plan_summary(plan: dict[str, Any]) -> dict[str, Any]:
    """The suggested sites in the summary: model, radius, calibration, people per site, and
    why fewer sites came back than asked for (if so)."""
    return {
        "operator": plan["operator"],
        "model": plan["model"]["name"],
        "radius_km": plan["model"]["radius_km"],
        "terrain": plan["terrain"],
        "calibration": plan["calibration"],
        "explanation": plan["explanation"],
        "sites": [
            {
                "rank": s["rank"],
                "h3": s["h3"],
                "people_new": s["people_new"],
                "people_cumulative": s["people_cumulative"],
                "villages": [f"{v['name']} ({v['code']})" for v in s["villages"]],
            }
            for s in plan["sites"]
        ],
    }


def send_readings(
    settings: Settings,
    scenario: Scenario,
    *,
    progress: Progress = _no_progress,
    checkpoints: Sequence[datetime] = (),
    on_checkpoint: Callable[[datetime], None] | None = None,
) -> dict[str, Any]:
    """POST the scenario's upload stream to the application in process, batch by batch.
    ``on_checkpoint(t)`` is called for each of the (ascending) ``checkpoints`` once every
    batch uploaded by ``t`` has been sent, before any later one.

    Returns the client's tally (from the answers), the server's ``GET /v1/stats`` and a
    check of the injected bad readings (ids starting with "x"): how many were accepted,
    and which good readings were refused, by reason.
    """
    # asyncio.run refuses to start inside a running event loop (a notebook, Playwright's
    # sync API in the same thread): run the client's loop on a thread of its own.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-client") as pool:
        return pool.submit(
            asyncio.run,
            _send_readings(settings, scenario, progress, list(checkpoints), on_checkpoint),
        ).result()


async def _send_readings(
    settings: Settings,
    scenario: Scenario,
    progress: Progress,
    checkpoints: list[datetime],
    on_checkpoint: Callable[[datetime], None] | None,
) -> dict[str, Any]:
    total = len(scenario.plan)
    # The demo aggregates once, at the scenario's now, after the last upload: the app's
    # background worker must not run meanwhile, whatever the settings say.
    app = create_app(settings.model_copy(update={"aggregate_interval_s": 0}))
    clock = ReplayClock(scenario.start)
    app.state.ingestor = ReplayIngestor(settings, app.state.ingestor.hasher, clock)
    sent = accepted = duplicates = rejected = batches = 0
    bad_accepted = 0
    good_rejected: Counter[str] = Counter()
    transport = httpx.ASGITransport(app=app)
    # ASGITransport does not run the lifespan (engine, sessions); run it around the client.
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://demo") as client,
    ):
        for batch in scenario.reading_batches(POST_BATCH):
            while checkpoints and batch.uploaded_at > checkpoints[0]:
                at = checkpoints.pop(0)
                if on_checkpoint is not None:
                    on_checkpoint(at)
            clock.now = batch.uploaded_at
            response = await client.post(
                "/v1/readings",
                content=orjson.dumps({"readings": batch.readings}),
                headers={"content-type": "application/json"},
            )
            if response.status_code != 200:
                raise DemoError(f"batch {batch.number} refused: {response.status_code} "
                                f"{response.text[:300]}")  # fmt: skip
            answer = response.json()
            accepted += answer["accepted"]
            duplicates += answer["duplicates"]
            rejected += answer["rejected_readings"]
            first: dict[int, dict[str, Any]] = {}
            for problem in answer["rejected"]:
                first.setdefault(problem["index"], problem)
            for index, reading in enumerate(batch.readings):
                injected = str(reading.get("id", "")).startswith("x")
                if injected and index not in first:
                    bad_accepted += 1
                elif not injected and index in first:
                    good_rejected[f"{first[index]['field']}/{first[index]['code']}"] += 1
            sent += len(batch.readings)
            batches += 1
            progress("ingest", sent, total)
        for at in checkpoints:  # any left after the last upload
            if on_checkpoint is not None:
                on_checkpoint(at)
        stats = (await client.get("/v1/stats")).json()
    return {
        "batches": batches,
        "sent": sent,
        "client_tally": {"accepted": accepted, "duplicates": duplicates, "rejected": rejected},
        "stats": stats,
        "injected_accepted": bad_accepted,
        "good_readings_rejected": dict(sorted(good_rejected.items())),
    }


def load_decisions(session: Session, *, resolution: int) -> pd.DataFrame:
    """Decisions at ``resolution``: cell (int64), operator, radio ("any" for all radios
    together), status."""
    c = CellStatus
    rows = session.execute(
        select(c.h3_cell, c.operator, c.radio, c.status)
        .where(c.resolution == resolution)
        .order_by(c.operator, c.radio, c.h3_cell)
    ).all()
    frame = pd.DataFrame(rows, columns=["cell", "operator", "radio", "status"])
    return frame.astype({"cell": "int64"})


def load_estimates(session: Session, *, resolution: int) -> pd.DataFrame:
    """Estimated cells at ``resolution``: cell (int64), operator, radio (the scope over
    radios), p_dead, inferred_status."""
    e = CellEstimate
    rows = session.execute(
        select(e.h3_cell, e.operator, e.radio, e.p_dead, e.inferred_status).where(
            e.resolution == resolution
        )
    ).all()
    frame = pd.DataFrame(rows, columns=["cell", "operator", "radio", "p_dead", "inferred_status"])
    return frame.astype({"cell": "int64"})


def score_estimates(
    scenario: Scenario, decisions: pd.DataFrame, estimates: pd.DataFrame
) -> dict[str, Any]:
    """The estimate against the truth: calibration per scope (reliability bins and Brier
    score) and the share of truly dead pairs in cells with readings that are called dead,
    measured or estimated, with the precision of those calls."""
    truth_by_operator = scenario.truth_by_operator()
    calibrations = calibration_by_scope(scenario.cells, truth_by_operator, estimates)
    called = decisions[["cell", "operator", "status"]].merge(
        estimates[["cell", "operator", "inferred_status"]], on=["cell", "operator"], how="left"
    )
    return {
        "calibration": {scope: c.as_dict() for scope, c in calibrations.items()},
        "found": found_dead(scenario.cells, truth_by_operator, called),
    }


def score_likely_villages(
    scenario: Scenario, villages: pd.DataFrame, likely: dict[str, Likely], *, level: float
) -> dict[str, Any]:
    """Village centres without signal (trắng sóng) found, measured or estimated: called
    when the measured status is trắng sóng, or the status is unknown and the likely status
    is trắng sóng with probability at least ``level``."""
    truth = scenario.village_truth().set_index("code")["status"].astype(str)
    called = {
        str(code)
        for code, status in zip(villages["code"], villages["status"], strict=True)
        if status == "trang_song"
        or (
            status == "unknown"
            and code in likely
            and likely[code].status == "trang_song"
            and likely[code].probability >= level
        )
    }
    measured = {str(c) for c, s in zip(villages["code"], villages["status"], strict=True)
                if s == "trang_song"}  # fmt: skip
    true = {str(c) for c in truth.index[truth == "trang_song"]}
    return {
        "true": len(true),
        "called_measured": len(measured),
        "called": len(called),
        "precision": None if not called else round(len(called & true) / len(called), 4),
        "recall": None if not true else round(len(called & true) / len(true), 4),
    }


# Issue 14's goals for the estimate: of the truly dead (cell, scope) pairs in cells with
# readings, this share called dead (measured or estimated) with this precision, per operator
# and for the best of all; village centres without signal called with this precision.
FOUND_GOAL = 0.8
FOUND_PRECISION_GOAL = 0.95
VILLAGE_PRECISION_GOAL = 0.8


def estimate_lines(estimate: dict[str, Any]) -> list[str]:
    """The estimate's part of ``summary.txt``: found, precision and calibration per scope."""
    lines = [
        "",
        "Estimated coverage (kriged field): truly dead (cell, scope) pairs in cells with "
        "readings called dead",
        f"  scope        truly dead  found measured  found measured+estimated  precision  goal "
        f"(found >= {FOUND_GOAL:.0%}, precision >= {FOUND_PRECISION_GOAL:.0%})",
    ]
    for scope, f in estimate["found"].items():
        met = (f["found"] or 0) >= FOUND_GOAL and (f["precision"] or 0) >= FOUND_PRECISION_GOAL
        lines.append(
            f"  {scope:12} {f['truly_dead_with_readings']:>10,}  {_pct(f['found_measured']):>14}"
            f"  {_pct(f['found']):>24}  {_pct(f['precision']):>9}  {'met' if met else 'missed'}"
        )
    v = estimate.get("villages")
    if v:
        lines.append(
            f"  village centres without signal (trắng sóng): {v['true']} true; called "
            f"{v['called']} ({v['called_measured']} measured), precision {_pct(v['precision'])},"
            f" recall {_pct(v['recall'])}; goal precision >= {VILLAGE_PRECISION_GOAL:.0%}: "
            + ("n/a" if v["precision"] is None
               else "met" if v["precision"] >= VILLAGE_PRECISION_GOAL else "missed")
        )  # fmt: skip
    lines.append("  calibration of p_dead (bins of predicted probability: cells, predicted, "
                 "truly dead share; Brier score):")  # fmt: skip
    for scope, c in estimate["calibration"].items():
        bins = "  ".join(
            f"{b['from']:.1f}-{b['to']:.1f}: {b['cells']} "
            f"{b['predicted']:.2f}/{b['dead_share']:.2f}"
            for b in c["bins"]
        )
        lines.append(f"  {scope:8} Brier {c['brier']}  worst gap {c['worst_gap']}  {bins}")
    return lines


@dataclass(frozen=True)
class ZoneRow:
    """An active dead zone as the summary lists it (areas in km², distances in metres)."""

    id: str
    operator: str
    rank: int
    cells: list[str]
    area_km2: float
    readings: int
    devices: int


def zone_rows(session: Session, *, radio: str = ANY_SIGNAL) -> list[ZoneRow]:
    """Active dead zones of one scope over radios (default any signal), by operator scope
    and rank."""
    z = DeadZone
    rows = session.execute(
        select(z.id, z.operator, z.rank, z.cells, z.area_km2, z.readings, z.devices)
        .where(z.active.is_(True), z.radio == radio)
        .order_by(z.operator, z.rank)
    ).all()
    return [
        ZoneRow(zone_id, operator, rank or 0, list(cells), area, readings, devices)
        for zone_id, operator, rank, cells, area, readings, devices in rows
    ]


def write_maps(
    sessions: sessionmaker[Session],
    settings: Settings,
    scenario: Scenario,
    out: Path,
    *,
    progress: Progress = _no_progress,
    lang: MapLang = "vi",
) -> dict[str, Path]:
    """The coverage, dead-zone (with the suggested sites and their coverage circles) and
    progress pages, self-contained (they open offline), with the communes drawn as
    outlines, in ``lang`` (titles, legends, dates). Dated with the scenario's ``now``, not
    the clock."""
    areas = [
        AreaOutline(str(name), geometry)
        for name, geometry in zip(
            scenario.communes["name"], scenario.communes.geometry, strict=True
        )
    ]
    files: dict[str, Path] = {}
    progress("maps", 0, 3)
    with session_scope(sessions, write=False) as session:
        meta = demo_map_meta("coverage", scenario, lang=lang)
        page = coverage_page(session, meta=meta, areas=areas)
        files[COVERAGE_HTML] = write_map_html(page, out / COVERAGE_HTML)
        progress("maps", 1, 3)
        meta = demo_map_meta("deadzones", scenario, lang=lang)
        page = deadzone_page(
            session,
            meta=meta,
            operator=BEST_OF_ALL,
            areas=areas,
            sites=PLAN_SITES,
            settings=settings,
        )
        files[DEADZONES_HTML] = write_map_html(page, out / DEADZONES_HTML)
        progress("maps", 2, 3)
        meta = demo_map_meta("progress", scenario, lang=lang)
        page = progress_page(session, settings, meta=meta)
        files[PROGRESS_HTML] = write_map_html(page, out / PROGRESS_HTML)
        progress("maps", 3, 3)
    return files


def demo_map_title(kind: str, scenario: Scenario, *, lang: MapLang = "vi") -> str:
    """A demo map's title: the service's title of that map, then what was simulated."""
    size = DEMO_SIZE_NAMES[lang].get(scenario.size, scenario.size)
    suffix = DEMO_MAP_SUFFIX[lang].format(size=size, seed=scenario.seed)
    return f"{map_title(kind, lang=lang)} {suffix}"


def demo_map_meta(kind: str, scenario: Scenario, *, lang: MapLang = "vi") -> MapMeta:
    return map_meta(demo_map_title(kind, scenario, lang=lang), data_date=scenario.now, lang=lang)


def expected_rejections(scenario: Scenario, settings: Settings) -> dict[str, int]:
    """Rejections by "field/code" that the scenario's stream should cause.

    The injected bad readings count by kind (``EXPECTED_REJECTION``). The drawn readings
    that the gate refuses (GPS accuracy or speed over the settings' limits; accuracy is
    checked first) count once per upload: a refused reading sent again is refused again,
    not counted as a duplicate, since it was never stored. A "future" or "too old" reading
    made from a drawn reading with a bad fix is refused for the fix, which the gate checks
    before the time.
    """
    injected = scenario.injected
    expected: Counter[str] = Counter()
    for kind in (*SCHEMA_KINDS, *GATE_KINDS):
        count = injected["schema_invalid"].get(kind) or injected["gate_rejected"].get(kind, 0)
        field_name, code = EXPECTED_REJECTION[kind]
        expected[f"{field_name}/{code}"] += count
    plan = scenario.plan
    rows = plan.order[plan.order >= 0]
    # Rounded as the upload dicts carry them (uploads.rows_to_dicts), so the limits compare
    # exactly as on the server.
    accuracy = np.round(plan.columns.accuracy_m[rows].astype(np.float64), 1)
    speed = np.round(plan.columns.speed_mps[rows].astype(np.float64), 1)
    inaccurate = accuracy > settings.max_accuracy_m
    expected["accuracy_m/inaccurate"] += int(inaccurate.sum())
    expected["speed_mps/too_fast"] += int((~inaccurate & (speed > settings.max_speed_mps)).sum())
    oldest = scenario.now - timedelta(days=settings.retention_days)
    for extra in plan.extras:
        observed = _aware_time(extra.get("observed_at"))
        if observed is None or oldest <= observed <= scenario.now:
            continue  # not a future or too-old reading
        reason = "observed_at/future" if observed > scenario.now else "observed_at/too_old"
        if (extra.get("accuracy_m") or 0.0) > settings.max_accuracy_m:
            expected[reason] -= 1
            expected["accuracy_m/inaccurate"] += 1
        elif (extra.get("speed_mps") or 0.0) > settings.max_speed_mps:
            expected[reason] -= 1
            expected["speed_mps/too_fast"] += 1
    return dict(sorted(expected.items()))


def _aware_time(text: Any) -> datetime | None:
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def build_summary(
    scenario: Scenario,
    settings: Settings,
    *,
    ingest: dict[str, Any],
    scores: dict[str, ScopeScore],
    radio_scores: dict[str, ScopeScore],
    zones: list[ZoneRow],
    cells: dict[int, int],
    engine_name: str,
) -> dict[str, Any]:
    """The machine-readable summary; everything but ``seconds`` is a function of (size,
    seed, settings)."""
    injected = scenario.injected
    stats = ingest["stats"]
    counted = {f"{r['field']}/{r['code']}": r["count"] for r in stats["rejections"]}
    expected = expected_rejections(scenario, settings)
    bad_injected = sum(injected["schema_invalid"].values()) + sum(
        injected["gate_rejected"].values()
    )
    people = scenario.cells.set_index("cell")["population"]
    truth_any = scenario.cells.set_index("cell")["best_class"].astype(str)
    top = []
    for zone in [z for z in zones if z.operator == BEST_OF_ALL][:TOP_ZONES]:
        inside = [c for c in (h3.str_to_int(c) for c in zone.cells) if c in people.index]
        top.append(
            {
                "rank": zone.rank,
                "id": zone.id,
                "cells": len(zone.cells),
                "area_km2": round(zone.area_km2, 3),
                "readings": zone.readings,
                "devices": zone.devices,
                "people": round(float(people.loc[inside].sum())),
                "truly_dead_cells": int((truth_any.loc[inside] == "dead").sum()),
            }
        )
    return {
        "scenario": {
            "size": scenario.size,
            "seed": scenario.seed,
            "now": scenario.now.isoformat(),
            "window_start": scenario.start.isoformat(),
            "cells": len(scenario.cells),
            "population": int(scenario.villages["population"].sum()),
            "communes": len(scenario.communes),
            "villages": len(scenario.villages),
            "residents": scenario.summary()["residents"],
            "cells_by_best_class": scenario.summary()["cells_by_best_class"],
            "site_built": {
                "operator": scenario.site_built.operator,
                "village": scenario.site_built.village_name,
                "built_at": scenario.site_built.built_at.isoformat(),
                "cells_changed": scenario.site_built.cells_changed,
            },
        },
        "database": engine_name,
        "settings": {
            "resolution": settings.h3_resolution,
            "min_readings": settings.min_readings,
            "min_devices": settings.min_devices,
            "min_devices_dead": settings.min_devices_dead,
            "min_days": settings.min_days,
            "min_dead_confidence": settings.min_dead_confidence,
            "post_batch": POST_BATCH,
        },
        "ingest": {
            "uploads_sent": ingest["sent"],
            "batches": ingest["batches"],
            "accepted": stats["accepted"],
            "duplicates": stats["duplicates"],
            "rejected": stats["rejected"],
            "client_tally": ingest["client_tally"],
            "rejections": {
                key: {"expected": expected.get(key, 0), "counted": counted.get(key, 0)}
                for key in sorted(set(expected) | set(counted))
            },
            "injected": {
                "readings": injected["readings"],
                "duplicates": injected["duplicates"],
                "duplicates_of_gate_rejected": injected["duplicates_of_gate_rejected"],
                "bad": bad_injected,
                "drawn_gate_rejected": injected["gate_rejected_drawn"],
                "accuracy_over_50m_downweighted": injected["accuracy_over_50m"],
            },
            "expected_accepted": injected["readings"] - injected["gate_rejected_drawn"],
            "expected_duplicates": injected["duplicates"] - injected["duplicates_of_gate_rejected"],
            "injected_accepted": ingest["injected_accepted"],
            "good_readings_rejected": ingest["good_readings_rejected"],
        },
        "cells_decided": {str(res): n for res, n in cells.items()},
        "zones": {
            "by_scope": dict(sorted(Counter(z.operator for z in zones).items())),
            "top": top,
        },
        "accuracy": {scope: score.as_dict() for scope, score in scores.items()},
        "accuracy_by_radio": {scope: score.as_dict() for scope, score in radio_scores.items()},
    }


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}%"


def _accuracy_line(scope: str, a: dict[str, Any]) -> str:
    return (
        f"  {scope:12} {a['cells_decided']:>7,}  {_pct(a['dead']['precision'])} "
        f"{_pct(a['dead']['recall'])}    {_pct(a['covered']['precision'])} "
        f"{_pct(a['covered']['recall'])}   {_pct(a['dead_populated_unknown_share'])} "
        f"of {a['dead_populated_cells']:>6,}        {a['people_in_truly_dead']:>9,} / "
        f"{a['people_in_called_dead']:,}"
    )


def summary_text(summary: dict[str, Any]) -> str:
    """The short human summary written to ``summary.txt``."""
    s = summary["scenario"]
    i = summary["ingest"]
    lines = [
        f"deadzone demo: {s['size']} province, seed {s['seed']}, now {s['now'][:10]} "
        f"({summary['database']})",
        f"  {s['cells']:,} cells (H3 r{summary['settings']['resolution']}), "
        f"{s['population']:,} people, {s['villages']} villages, {s['residents']:,} residents "
        "with phones",
        f"  truth (best operator): {s['cells_by_best_class']}",
        "",
        "Ingest (POST /v1/readings, counted by GET /v1/stats)",
        f"  uploads sent {i['uploads_sent']:,} in {i['batches']} batches; accepted "
        f"{i['accepted']:,} (expected {i['expected_accepted']:,}), duplicates "
        f"{i['duplicates']:,} (expected {i['expected_duplicates']:,}), rejected "
        f"{i['rejected']:,}",
        f"  injected bad readings accepted: {i['injected_accepted']}; good readings "
        f"rejected: {i['good_readings_rejected'] or 'none'}",
        "  rejections (field/code: counted / expected):",
    ]
    for key, pair in i["rejections"].items():
        flag = "" if pair["counted"] == pair["expected"] else "   <- differs"
        lines.append(f"    {key:44} {pair['counted']:>7,} / {pair['expected']:>7,}{flag}")
    inj = i["injected"]
    lines += [
        f"  expected = the scenario's injected counts: {inj['bad']} malformed or implausible "
        f"readings, {inj['drawn_gate_rejected']} drawn with GPS accuracy over 1000 m or speed "
        "over 50 m/s;",
        "  NaN, Android's 2147483647 and two signals at once all leave no single signal value "
        "(strict JSON sends NaN as null);",
        f"  duplicates: {inj['duplicates']} re-uploads minus {inj['duplicates_of_gate_rejected']} "
        "of refused readings (refused again, not counted as duplicates);",
        f"  {inj['accuracy_over_50m_downweighted']:,} readings have GPS accuracy over 50 m: "
        "up to 1000 m they are kept and count half as evidence.",
    ]
    lines += [
        "",
        "Accuracy at the working resolution, cells with a decision (truth: the scenario's;",
        "per operator: its best radio; 'any': the best operator and radio)",
        "  scope        decided  dead prec/recall  covered prec/recall  truly dead populated"
        " cells still unknown  people in truly dead / called dead cells",
        "  any signal (any radio):",
    ]
    lines += [_accuracy_line(scope, a) for scope, a in summary["accuracy"].items()]
    if "accuracy_broadband" in summary:
        lines.append("  broadband (LTE or NR; decisions and truth of that scope):")
        lines += [_accuracy_line(scope, a) for scope, a in summary["accuracy_broadband"].items()]
    lines.append("  per operator and radio, against that radio's own truth:")
    lines += [_accuracy_line(scope, a) for scope, a in summary["accuracy_by_radio"].items()]
    z = summary["zones"]
    # Against the simulated world: its people and truth, not the imported villages' people
    # the maps and the API count (a planner compared the two and found them apart).
    lines += ["", f"Dead zones by scope: {z['by_scope']}",
              "  best of all, any signal, by rank, against the simulated world:"]  # fmt: skip
    for t in z["top"]:
        lines.append(
            f"  #{t['rank']:<3} {t['id']:28} {t['cells']:>4} cells {t['area_km2']:>7.2f} km²  "
            f"{t['people']:>6,} people in the simulated world  "
            f"{t['truly_dead_cells']}/{t['cells']} truly dead"
        )
    lines += estimate_lines(summary["estimate"])
    lines += progress_lines(summary["progress"], summary["plan"])
    lines += ["", "Seconds: " + ", ".join(f"{k} {v}" for k, v in summary["seconds"].items())]
    return "\n".join(lines) + "\n"


def _scope_words(radio: str | None) -> str:
    """The goal's scope over radios as the summary names it."""
    return "broadband: LTE or NR" if radio == "broadband" else "any signal"


def _pp_week(rate: float | None) -> str:
    """A share per day as signed percentage points a week."""
    return "n/a" if rate is None else f"{rate * 700:+.2f} pp"


def progress_lines(progress: dict[str, Any], plan: dict[str, Any]) -> list[str]:
    """The progress and plan part of ``summary.txt``."""
    goal, trend = progress["goal"], progress["trend"]
    shares = ", ".join(
        f"{s['day'][5:]} {_pct(s['covered_share']).strip()}" for s in progress["snapshots"]
    )
    villages = progress["villages"]
    accuracy = progress["village_accuracy"]
    lines = [
        "",
        f"Progress ({_scope_words(goal.get('radio'))}, best of all operators; only measured "
        "people count as covered): goal "
        f"{_pct(goal['covered_share']).strip()} by {goal['deadline']}, verdict "
        f"{trend['status']} (panel of places measured twice: rate "
        f"{_pp_week(trend['slope_per_day'])} a week over {trend['panel_steps']} steps; "
        f"projected {_pct(trend['projected_share']).strip()}, range "
        f"{_pct(trend['projected_low']).strip()}-{_pct(trend['projected_high']).strip()})",
        f"  people covered by snapshot: {shares}",
        "  people now: "
        + ", ".join(
            f"{name.replace('_', ' ')} {value:,.0f}"
            for name, value in progress["people"].items()
            if value is not None
        ),
        f"  villages now: trang song {villages['trang_song']}, lom song {villages['lom_song']}, "
        f"covered {villages['covered']}, unknown {villages['unknown']}",
        "  village status against the truth (rows: truth; columns: trang song, lom song, "
        "covered, unknown):",
    ]
    for truth, row in accuracy["confusion"].items():
        lines.append(f"    {truth:11} " + " ".join(f"{n:>5}" for n in row.values()))
    for status in ("trang_song", "lom_song"):
        a = accuracy[status]
        lines.append(f"  {status}: precision {_pct(a['precision']).strip()}, recall "
                     f"{_pct(a['recall']).strip()} over villages with a decision")  # fmt: skip
    broadband = progress.get("village_accuracy_broadband")
    if broadband:
        lines.append("  broadband (no 4G at the centre / in a residential cell), against the "
                     "broadband truth:")  # fmt: skip
        for status in ("trang_song", "lom_song"):
            a = broadband[status]
            lines.append(f"  {status}: precision {_pct(a['precision']).strip()}, recall "
                         f"{_pct(a['recall']).strip()} ({a['called']} called, {a['true']} "
                         "true with a decision)")  # fmt: skip
    lines += [
        "",
        f"Suggested sites ({plan['operator']}, {plan['model']}, radius "
        f"{plan['radius_km']:.2f} km):",
    ]
    for site in plan["sites"]:
        names = ", ".join(site["villages"][:3]) + (" ..." if len(site["villages"]) > 3 else "")
        lines.append(f"  #{site['rank']} {site['h3']} +{site['people_new']:,.0f} people "
                     f"(total {site['people_cumulative']:,.0f}) {names}")  # fmt: skip
    if plan.get("explanation"):  # fewer sites than asked for, and why
        lines.append(f"  {plan['explanation']}")
    fit = plan.get("calibration")
    lines.append(
        "  model calibrated on measurements around known sites: offset "
        f"{fit['offset_db']:+.1f} dB, RMSE {fit['rmse_db']:.1f} dB ({fit['cells']:,} cells, "
        f"{fit['sites']:,} sites)" if fit else "  model not calibrated (no fit of measurements "
        "around known sites)"
    )  # fmt: skip
    if "delivered_ratio" in plan:  # against the simulation's truth: the sites built
        ratio = plan["delivered_ratio"]
        lines.append(
            f"  built in the simulation ({plan['built_by']}): {plan['delivered_people']:,.0f} "
            f"of the {plan['promised_people']:,.0f} people promised get 4G, delivered / "
            f"promised {'n/a' if ratio is None else f'{ratio:.3f}'}"
        )
    return lines
