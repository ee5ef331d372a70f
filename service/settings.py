"""Configuration: one pydantic-settings class, read from ``DEADZONE_*`` variables.

Built once by the CLI or ``create_app`` and passed down; nothing reads it at import time.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from collectors.limits import MAX_JSON_DEPTH
from domain.radio import DEFAULT_BARS, Radio
from service.keys import ApiKey

# A recognisable default so that a server started without configuration can tell that it
# was not configured. Only ``environment=development`` may run with it.
DEFAULT_DEVICE_SECRET = "change-me-deadzone-development-secret"


MIN_SECRET_BITS = 64
"""Least entropy of a production device secret, bits: the keyed hash is all that keeps a
stored device hash from being matched to a guessed token, so the secret must not be
guessable. `openssl rand -hex 32` gives about 250 by this measure; 16 spaces give 0."""


def secret_entropy_bits(secret: str) -> float:
    """Length times the Shannon entropy of the secret's own character frequencies: an
    upper bound of its strength that catches repeated and few-character secrets (a
    pattern such as "abcabcabc..." still needs the length check and common sense)."""
    counts = Counter(secret)
    total = len(secret)
    return -total * sum(n / total * math.log2(n / total) for n in counts.values())


def default_database_url() -> str:
    """A SQLite file in the working directory: the zero-set-up embedded default."""
    return f"sqlite:///{Path.cwd() / 'deadzone.sqlite'}"


class Settings(BaseSettings):
    """Every option of deadzone. Each is also an environment variable ``DEADZONE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="DEADZONE_", extra="ignore")

    environment: Literal["development", "production"] = Field(
        default="development",
        description="'production' refuses unsafe defaults such as the default device secret.",
    )
    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL: sqlite:///path.sqlite (default, in the working directory) "
        "or postgresql+psycopg://user@host/db (PostGIS).",
    )
    device_secret: SecretStr = Field(
        default=SecretStr(DEFAULT_DEVICE_SECRET),
        description="Server secret for the keyed hash (HMAC-SHA256) of device tokens. "
        "Raw tokens are never stored.",
    )
    api_keys: list[ApiKey] = Field(
        default_factory=list,
        description="Keys for one operator's data, as a JSON list of {name, role (planner or "
        "authority), operators, sha256}; `deadzone api-key` makes one (service/keys.py).",
    )
    h3_resolution: int = Field(
        default=9,
        ge=0,
        le=15,
        description="H3 resolution of the working cell stored with each reading "
        "(9: about 0.105 km2, 174 m edge).",
    )
    max_batch_readings: int = Field(
        default=5000, ge=1, description="Most readings accepted in one POST /v1/readings."
    )
    max_body_bytes: int = Field(
        default=20_000_000,
        ge=1024,
        description="Largest request body in bytes, after gzip decompression.",
    )
    rate_limit_device_readings: str = Field(
        default="50000/hour",
        description="Readings one device token may send (limits notation, per server "
        "process). A collector app logging every 10 s for 16 h a day gathers 40,320 in a "
        "week offline: its backlog passes in one go.",
    )
    rate_limit_address_requests: str = Field(
        default="1200/minute",
        description="Ingest requests (readings, geosubmit, imports) from one client address. "
        "Generous: many phones share one carrier NAT address.",
    )
    rate_limit_key_requests: str = Field(
        default="600/minute",
        description="Ingest requests with one API key or geosubmit ?key= (an app uploading "
        "every few seconds sends about 20 a minute).",
    )
    rate_limit_address_imports: str = Field(
        default="60/hour", description="File imports (POST /v1/imports) from one client address."
    )
    rate_limit_shared_path: Path | None = Field(
        default=None,
        description="A file (SQLite) in which the worker processes of one server share their "
        "rate-limit counters, so that a limit holds for the server as a whole; `deadzone "
        "serve --workers N` makes one when it is not set. Unset: each process counts alone.",
    )
    max_json_depth: int = Field(
        default=MAX_JSON_DEPTH,
        ge=4,
        le=1000,
        description="Deepest nesting of objects and arrays accepted in a JSON body; deeper "
        "bodies are refused (400) before they are parsed. A reading batch nests 3 levels.",
    )
    max_accuracy_m: float = Field(
        default=1000.0,
        gt=0,
        description="Readings whose GPS accuracy is worse than this (metres) are rejected "
        "(ichnaea's limit).",
    )
    downweight_accuracy_m: float = Field(
        default=50.0,
        gt=0,
        description="Readings with GPS accuracy worse than this (metres) weigh less "
        "(BNetzA records only <= 50 m).",
    )
    max_speed_mps: float = Field(
        default=50.0, gt=0, description="Readings faster than this (m/s) are rejected (ichnaea)."
    )
    retention_days: int = Field(
        default=400,
        ge=1,
        description="Oldest reading accepted, in days before now; late uploads from dead "
        "zones are fine within it.",
    )
    clock_skew_s: float = Field(
        default=600.0,
        ge=0,
        description="How far in the future (seconds) a phone's clock may be before the "
        "reading is rejected.",
    )

    # --- signal classes (dBm thresholds for 1 and 2 bars; DEFAULT_BARS cites AOSP) ---
    bars_gsm: tuple[float, float] = Field(
        default=(DEFAULT_BARS[Radio.GSM].one, DEFAULT_BARS[Radio.GSM].two),
        description="GSM RSSI dBm at 1 and 2 bars (AOSP CellSignalStrengthGsm).",
    )
    bars_umts: tuple[float, float] = Field(
        default=(DEFAULT_BARS[Radio.UMTS].one, DEFAULT_BARS[Radio.UMTS].two),
        description="UMTS RSCP dBm at 1 and 2 bars (AOSP CellSignalStrengthWcdma).",
    )
    bars_lte: tuple[float, float] = Field(
        default=(DEFAULT_BARS[Radio.LTE].one, DEFAULT_BARS[Radio.LTE].two),
        description="LTE RSRP dBm at 1 and 2 bars (AOSP CellSignalStrengthLte; some "
        "carriers configure -128/-118).",
    )
    bars_nr: tuple[float, float] = Field(
        default=(DEFAULT_BARS[Radio.NR].one, DEFAULT_BARS[Radio.NR].two),
        description="NR SS-RSRP dBm at 1 and 2 bars (AOSP CellSignalStrengthNr).",
    )

    # --- decisions ---
    window_months: int = Field(
        default=12, ge=1, le=120, description="Months of evidence a decision looks back over."
    )
    min_readings: int = Field(
        default=3, ge=1, description="Fewest readings for any decision other than unknown."
    )
    min_devices: int = Field(
        default=2, ge=1, description="Fewest distinct devices for a covered or weak decision."
    )
    min_devices_dead: int = Field(
        default=3,
        ge=2,
        description="Fewest distinct devices for a dead decision: one phone alone can never "
        "make a cell dead.",
    )
    min_days: int = Field(
        default=1, ge=1, description="Fewest distinct days with readings for any decision."
    )
    min_dead_confidence: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="Lowest Wilson 95% lower bound of the dead share for a dead decision; "
        "below it the cell stays unknown. One half: 'dead' claims that most readings there "
        "show no signal (below one bar or no service, DESIGN.md's classes), so the bound "
        "must clear a majority, not just lie near one (0.4 let share 0.45 edges through: "
        "docs/demo-accuracy.md). Four no-signal readings of three phones: 0.51; three "
        "phones with one reading each: 0.44, unknown until one more arrives.",
    )
    evidence_change_alpha: float = Field(
        default=0.05,
        ge=0.0,
        lt=1.0,
        description="Significance of the test for a change in a cell's evidence: where the "
        "dead share of its newest months differs from that of its older months by a "
        "two-proportion z-test at this level (two-sided, Bonferroni over the months where "
        "the change could have happened, n at most dead_readings_per_device readings a "
        "phone), the older months are dropped and the newest decide alone. A site built or "
        "switched off changes what phones see from one month to the next, and a planner "
        "expects the map to follow (docs/demo-accuracy.md: seed 15, a new site in "
        "October, 78 % dead over the year, 57 % since). 0 turns the test off.",
    )
    dead_readings_per_device: int = Field(
        default=2,
        ge=1,
        description="Readings of one device that count towards a dead decision's confidence "
        "(the Wilson bound's n is at most this many per distinct device): one phone's "
        "readings share its handset, SIM and habits, so they are not independent witnesses.",
    )
    trust_upload_days: int = Field(
        default=7,
        ge=1,
        description="A device token is trusted once it has uploaded on this many distinct UTC "
        "days (server clock): before that, new tokens first seen in one request count as "
        "one device, and their evidence can contest a decided cell but not overturn it "
        "alone (docs/forged-evidence.md).",
    )
    contest_confirm_networks: int = Field(
        default=3,
        ge=1,
        description="Independent networks whose new device tokens must agree before their "
        "evidence may overturn a decided cell; fewer make it 'contested'.",
    )
    publish_min_devices: int = Field(
        default=3,
        ge=1,
        description="k-anonymity of public answers: a cell's readings, signal and times are "
        "published without a key only when at least this many distinct devices stand "
        "behind it, and public times are rounded to the day (DESIGN.md, Privacy and trust).",
    )
    rollup_resolutions: tuple[int, ...] = Field(
        default=(8, 7),
        description="Coarser H3 resolutions computed by merging the working cells "
        "(8: 0.737 km2, the FCC challenge hexagon; 7: 5.16 km2) for overview maps.",
    )
    max_bbox_cells: int = Field(
        default=250_000,
        ge=100,
        description="Most cells one GET /v1/cells may return; larger boxes are answered at "
        "a coarser roll-up resolution (the province at resolution 9 is about 170,000).",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler (tcp://HOST:8786) on which `deadzone aggregate` rebuilds "
        "the statistics, partition by partition; unset: on this machine. The server's "
        "background job never uses it (its batches are small).",
    )
    dask_partition_resolution: int = Field(
        default=4,
        ge=0,
        le=8,
        description="H3 resolution of the coarse cells that, with the month, make one Dask "
        "partition (4: about 1,770 km2).",
    )
    aggregate_interval_s: float = Field(
        default=60.0,
        ge=0,
        description="How often the server merges new readings and recomputes decisions "
        "and zones, seconds (0: never; run `deadzone aggregate`).",
    )
    estimate_interval_s: float = Field(
        default=900.0,
        ge=0,
        description="How old the estimated field (service/engine/estimate.py) may grow "
        "before an aggregation refreshes it, seconds. Kriging the province costs about as "
        "much as deciding it, so an incremental run (a batch of readings) leaves it alone "
        "until it is this old, and only withdraws inferred statuses where a status was "
        "measured; a full run always refreshes it (0: after every aggregation).",
    )
    incremental_max_changed_share: float = Field(
        default=0.65,
        ge=0,
        description="When a batch changed more cells at the working resolution than this "
        "share of the cells the last run decided, the aggregation decides every cell (the "
        "full path) instead of the changed ones and their neighbourhoods: the decisions are "
        "the same, and for such a batch the full path costs no more. Measured at 300,000 "
        "stored readings (docs/scale.md): 25 % of the cells changed, PostGIS 24.5 s "
        "incremental against 35.4 s full; 62 %, 44.1 against 44.0 s (SQLite 66.3 against "
        "64.8 s); 100 %, 89.0 against 74.3 s (SQLite 141.9 against 102.7 s); the province "
        "demo's weekly batches, 73 %, cost the same either way. A full run also refreshes "
        "the estimated field (estimate_interval_s). inf: never.",
    )
    aggregate_lock_wait_s: float = Field(
        default=900.0,
        ge=0,
        description="How long `deadzone aggregate` waits for a run already in progress on "
        "the same database (one at a time), seconds, before giving up; the server's "
        "background job never waits, it skips the round.",
    )
    sqlite_merge_chunk_readings: int = Field(
        default=2_500,
        ge=1,
        description="On SQLite, how many new readings the aggregation merges into the "
        "statistics per transaction. SQLite has one writer and a phone's upload waits for "
        "it: 50,000 readings held it 0.6-1.5 s on a shared 2-core machine (load 6-8), "
        "enough to push uploads' p99 past 1 s (issue 17); 10,000 readings spread over the "
        "province held it 1.0-2.3 s there, 5,000 up to 0.9 s (benchmarks/writer_hold.py), "
        "hence 2,500. Smaller costs more per reading: each transaction re-reads the "
        "watermark and the range's devices, about 0.1 s there, and 1,000 at a time could "
        "not keep up with 8 phones uploading 4,500 readings a second; the aggregation "
        "waits between two only while an upload waits (docs/availability.md). PostgreSQL "
        "merges 500,000 at a time: inserts do not wait for it.",
    )
    sqlite_write_chunk_rows: int = Field(
        default=2_000,
        ge=1,
        description="On SQLite, how many rows of decisions (cell_status) or estimates "
        "(cell_estimates) the aggregation writes per transaction, whole cells at a time "
        "(docs/availability.md). Written in one transaction, a province's decisions held "
        "the one writer 20-32 s and its estimates 29-47 s on a shared 2-core machine (load "
        "6-9), and phones' uploads waited for all of it (issue 17); 8,000 rows held it up "
        "to 0.9 s there (benchmarks/writer_hold.py), hence 2,000. PostgreSQL writes them in "
        "one transaction: inserts do not wait for it.",
    )
    sqlite_rollup_chunk_parents: int = Field(
        default=500,
        ge=1,
        description="On SQLite, how many roll-up cells (all roll-up resolutions together, "
        "grouped by their coarsest parent) the aggregation rebuilds per transaction; the "
        "roll-ups of a province-wide batch held the writer 3.9-6.4 s in one (issue 17), "
        "3,000 parents at a time 1.0-1.2 s (load 6-9), hence 500.",
    )
    dead_guard_rings: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Best of all operators: a cell is not dead while an operator with no "
        "decision in it covers a cell within this many H3 rings (0: off).",
    )
    estimate_level: float = Field(
        default=0.9,
        gt=0.5,
        lt=1.0,
        description="Estimated coverage: a cell without a measured decision gets an inferred "
        "status (dead, weak or covered) when the model gives that status at least this "
        "probability (service/engine/estimate.py).",
    )
    estimate_max_distance_m: float = Field(
        default=1000.0,
        gt=0.0,
        description="Estimated coverage is published only for cells whose centre lies within "
        "this distance of a cell with readings of the same operator, metres (about three "
        "rings of resolution-9 cells; beyond it the field reverts to the regional mean).",
    )
    estimate_reading_sd_db: float = Field(
        default=4.0,
        gt=0.0,
        description="Spread of one reading around its cell's mean, dB: fast fading left after "
        "the phone's few-hundred-ms RSRP averaging (a few dB of Rayleigh/Rician spread) plus "
        "whole-dB rounding. The estimator's measurement noise (nugget).",
    )
    estimate_device_sd_db: float = Field(
        default=2.5,
        ge=0.0,
        description="Spread of handsets' calibration, dB: models differ by a few dB in antenna "
        "efficiency and reporting on one spot (crowd-sourced data sets such as OpenSignal's). "
        "The estimator's device noise, shrinking with the number of distinct phones.",
    )
    estimate_neighbourhood_sites: bool = Field(
        default=False,
        description="Estimated coverage: solve censored cells (no-service readings, residents' "
        "bars) and LTE read where phones stay on it, for an operator that also runs 3G, "
        "against their neighbours by expectation propagation (service/engine/estimate.py). "
        "Better calibrated per operator on every set of demo seeds, but off: best of all's "
        "calibration is worse on seeds 14-21, and with it a hamlet with two phones' worth of "
        "no-service readings can rank below an empty field (docs/demo-accuracy.md).",
    )
    handset_limited_min_cells: int = Field(
        default=3,
        ge=1,
        description="Estimated coverage: a phone that never had service with an operator over "
        "the window, in at least this many cells (and half of those where others reported) "
        "where other phones of that operator had service, is taken for a handset or SIM that "
        "cannot use the operator's network (2G switched off in 2024, old SIMs), and its reports "
        "of that operator are left out of the field (service/engine/handsets.py). An edge of "
        "coverage disagrees with the neighbours in a cell or two.",
    )
    bridge_unknown_gaps: bool = Field(
        default=False,
        description="Join dead cells separated by a single unknown cell into one dead zone.",
    )
    max_import_decompressed_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Largest gzip upload to POST /v1/imports once decompressed, in bytes: "
        "a few hundred kilobytes of gzip can hold gigabytes of rows. Past it the import "
        "stops with a 422 (chunks already stored stay).",
    )
    max_import_rows: int = Field(
        default=1_000_000,
        ge=1,
        description="Most rows (readings) one upload to POST /v1/imports may hold; a larger "
        "export is split, or imported with `deadzone import` on the server.",
    )
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1024,
        description="Largest file accepted by POST /v1/imports, in bytes as uploaded (a "
        ".csv.gz counts compressed). The upload is spooled to a temporary file, not memory.",
    )

    # --- areas, population, progress and planning (service.areas.population, .progress, .planning)
    village_disk_rings: int = Field(
        default=1,
        ge=0,
        le=5,
        description="A village without a cluster polygon spreads its people over its centre "
        "cell and this many rings of neighbours, each ring half the weight of the one inside "
        "(1: 7 cells, about 0.74 km2 at resolution 9).",
    )
    snapshot_after_aggregation: bool = Field(
        default=True,
        description="After each background aggregation, store today's progress snapshot "
        "(replacing the day's earlier one), and on a day without uploads take one from the "
        "standing decisions, once areas and population are imported: a daily series without "
        "a scheduler. Off: run `deadzone snapshot` from cron.",
    )
    goal_covered_share: float = Field(
        default=1.0,
        gt=0.0,
        le=1.0,
        description="Target share of the population covered (best operator, 0-1).",
    )
    goal_radio: Literal["broadband", "any"] = Field(
        default="broadband",
        description="The scope the province's goal counts, and the one progress (snapshots, "
        "/v1/progress, the /progress page) shows by default: 'broadband' (LTE or NR, 4G or "
        "better: the province's promise of mobile broadband for every resident; a place "
        "reached only on 3G does not count) or 'any' (any signal of any radio).",
    )
    goal_deadline: date | None = Field(
        default=None,
        description="Date by which the goal should be reached (default: 31 December of the "
        "current year).",
    )
    trend_snapshots: int = Field(
        default=8,
        ge=2,
        description="How many of the newest snapshots the on-track verdict uses "
        "(service/areas/progress.py: changes of coverage in the places measured at each "
        "pair of consecutive snapshots).",
    )
    verdict_max_unknown_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="On-track verdict: 'not enough evidence' while more than this share of "
        "the area's people live in cells neither measured nor estimated.",
    )
    facility_people: float = Field(
        default=50.0,
        ge=0.0,
        description="People-equivalents a village facility (school, health station) adds to "
        "the priority of a dead zone holding the village.",
    )
    task_cell_weight: float = Field(
        default=35.0,
        ge=0.0,
        description="People-equivalents every cell adds to the value of a visit "
        "(service/areas/tasks.py) beside the people living in it: the province promised no "
        "dead zone at all, and people farm, travel and call for help away from home, so a "
        "field or road cell within the estimate's reach is worth a visit too (0: an empty "
        "cell is worth only what a visit there teaches its populated neighbours). A few to "
        "ten workers on a farmed 10.5-ha cell would suggest 5-10 (a rough guess, no census "
        "behind it). 35 is the least of the weights tried at which the top 40 tasks found "
        "more than 1.5 times the truly dead pairs that 40 random unknown cells find on every "
        "one of nine demo seeds; a lower weight puts more tasks in villages and finds fewer "
        "pairs (benchmarks/tasks.py; the figures, and seeds held out, in "
        "docs/demo-accuracy.md).",
    )
    province_name: str = Field(
        default="Đắk Lắk",
        min_length=1,
        max_length=100,
        description="The province's name, printed on the weekly report.",
    )
    commitment_verified_share: float = Field(
        default=0.5,
        gt=0.0,
        le=1.0,
        description="Share of a commitment's cells that must have signal (covered or weak, "
        "from readings after on_air_at, centre cell included, none dead) to call it verified: "
        "a new site rarely reaches every fringe cell, and fringe cells are rarely measured.",
    )
    challenge_min_days: int = Field(
        default=2,
        ge=1,
        description="Distinct days of evidence a claimed-covered dead cell needs to be "
        "challenged (FCC mobile challenge: failures at different times, DESIGN.md).",
    )
    challenge_window_days: int = Field(
        default=365,
        ge=1,
        description="Evidence older than this many days does not support a challenge (FCC: "
        "challenge tests stay valid one year, DESIGN.md).",
    )
    plan_band_mhz: float = Field(
        default=1800.0,
        ge=150.0,
        le=2700.0,
        description="Carrier frequency of planned sites, MHz (Okumura-Hata below 1500, "
        "COST-231 Hata from 1500, extrapolated above 2000; Vietnam LTE: 700, 900, 1800, "
        "2100, 2600). A request may ask for another band (/v1/plan?band=).",
    )
    plan_mast_height_m: float = Field(
        default=30.0, ge=30.0, le=200.0, description="Antenna height of planned sites, metres."
    )
    plan_eirp_dbm: float = Field(
        default=61.0,
        description="EIRP of a planned carrier, dBm (46 dBm per 20 MHz carrier + 15 dBi "
        "antenna, DESIGN.md typical macro site).",
    )
    plan_bandwidth_mhz: float = Field(
        default=20.0,
        description="LTE carrier bandwidth, MHz: 1.4, 3, 5, 10, 15 or 20 (turns the carrier's "
        "EIRP into RSRP per resource element).",
    )
    plan_rsrp_threshold_dbm: float = Field(
        default=-115.0,
        description="RSRP that counts as covered for planning, dBm (1 bar, AOSP LTE).",
    )
    plan_fade_margin_db: float = Field(
        default=10.0,
        ge=0.0,
        description="Shadowing margin subtracted from the link budget, dB (1.28 sd for 90% "
        "of locations with sd 8 dB, DESIGN.md rural shadowing 8-12 dB).",
    )
    plan_handset_height_m: float = Field(
        default=1.5, ge=1.0, le=10.0, description="Handset antenna height, metres."
    )
    plan_power_distance_m: float = Field(
        default=200.0,
        ge=0.0,
        description="A candidate site 'has grid power' when the imported power network "
        "(deadzone import-constraints --kind power) comes within this distance of its cell "
        "centre, metres: about one resolution-9 cell (174 m edge), the network crossing the "
        "cell or its edge. /v1/plan's power_distance overrides it.",
    )
    plan_road_distance_m: float = Field(
        default=1000.0,
        ge=0.0,
        description="A candidate site is 'near a road' when an imported road (deadzone "
        "import-constraints --kind road) comes within this distance of its cell centre, "
        "metres: an access track of up to a kilometre for the build. /v1/plan's "
        "road_distance overrides it.",
    )
    constraint_max_distance_m: float = Field(
        default=5000.0,
        gt=0.0,
        le=50_000.0,
        description="Largest distance from a cell to the power network or a road that "
        "import-constraints keeps, metres; plans may ask for any distance up to it.",
    )
    terrain_path: Path = Field(
        default=Path("deadzone-terrain.tif"),
        description="Where `deadzone import-terrain` keeps the elevation model (GeoTIFF, "
        "WGS84) that site plans compute diffraction over; absent: flat terrain.",
    )

    @field_validator(
        "rate_limit_device_readings",
        "rate_limit_address_requests",
        "rate_limit_key_requests",
        "rate_limit_address_imports",
    )
    @classmethod
    def _rate_limit(cls, value: str, info: ValidationInfo) -> str:
        # pydantic-settings validates the defaults too: they are valid, and parsing them
        # imported `limits` (0.05-0.15 s) into every command, `deadzone aggregate`'s
        # start-up among them (issue 12); the server imports it anyway.
        if info.field_name is not None and value == cls.model_fields[info.field_name].default:
            return value
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate limit: write e.g. 50000/hour or 10/second"
            ) from None
        return value

    @field_validator("plan_bandwidth_mhz")
    @classmethod
    def _lte_bandwidth(cls, mhz: float) -> float:
        if mhz not in (1.4, 3.0, 5.0, 10.0, 15.0, 20.0):
            raise ValueError("an LTE carrier is 1.4, 3, 5, 10, 15 or 20 MHz wide")
        return mhz

    @field_validator("bars_gsm", "bars_umts", "bars_lte", "bars_nr")
    @classmethod
    def _ordered_bars(cls, bars: tuple[float, float]) -> tuple[float, float]:
        if bars[0] >= bars[1]:
            raise ValueError("the 1-bar threshold must be below the 2-bar threshold")
        return bars

    def bars_for(self, radio: Radio) -> tuple[float, float]:
        """dBm thresholds of 1 and 2 bars for ``radio``: dead below the first, covered at
        or above the second, weak between."""
        return {
            Radio.GSM: self.bars_gsm,
            Radio.UMTS: self.bars_umts,
            Radio.LTE: self.bars_lte,
            Radio.NR: self.bars_nr,
        }[radio]

    @model_validator(mode="after")
    def _constraint_defaults_within_reach(self) -> Settings:
        # A default beyond the distances import-constraints keeps would refuse every
        # power=true / road=true request for the server's own mistake.
        for name in ("plan_power_distance_m", "plan_road_distance_m"):
            if getattr(self, name) > self.constraint_max_distance_m:
                raise ValueError(
                    f"DEADZONE_{name.upper()} ({getattr(self, name):g}) must not exceed "
                    f"DEADZONE_CONSTRAINT_MAX_DISTANCE_M ({self.constraint_max_distance_m:g})"
                )
        return self

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, url: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        malformed = "database_url must be a sqlite:/// or postgresql+psycopg:// URL"
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError(malformed)
        if url.startswith("postgresql://"):
            # Pin the driver: deadzone's bulk path uses psycopg 3's COPY.
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        elif url.startswith("postgresql+") and not url.startswith("postgresql+psycopg://"):
            raise ValueError(
                "PostgreSQL URLs must use the psycopg (3) driver: postgresql+psycopg://"
            )
        try:  # 'sqlite//file' starts well and is no URL: refused here, not when opened
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            raise ValueError(malformed) from None
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(malformed)
        return url

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    def unsafe_defaults(self) -> list[str]:
        """What is unsafe about this configuration for a public server."""
        problems = []
        if self.device_secret.get_secret_value() == DEFAULT_DEVICE_SECRET:
            problems.append("DEADZONE_DEVICE_SECRET is the default development secret")
        elif len(self.device_secret.get_secret_value()) < 16:
            problems.append("DEADZONE_DEVICE_SECRET is shorter than 16 characters")
        elif secret_entropy_bits(self.device_secret.get_secret_value()) < MIN_SECRET_BITS:
            problems.append(
                "DEADZONE_DEVICE_SECRET is too predictable (repeated or few distinct "
                f"characters: under {MIN_SECRET_BITS} bits by its own letter frequencies)"
            )
        return problems

    def enforce_safe_for_serving(self) -> None:
        """Refuse to serve outside development with unsafe defaults, saying why."""
        if self.environment == "development":
            return
        problems = self.unsafe_defaults()
        if problems:
            from service.errors import ConfigurationError

            raise ConfigurationError(
                "refusing to start in production: "
                + "; ".join(problems)
                + " (set a long random value, e.g. `openssl rand -hex 32`)"
            )
