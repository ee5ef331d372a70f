"""``generate_scenario``: a simulated province with its ground truth and its readings.

Order of the build: the H3 grid of the box, a highland index, communes/villages/roads and the
population grid, terrain valleys, the operators' sites, the true signal on every cell for every
operator and radio, one site built part-way through the window, then residents and their
readings, and the upload stream. Each step draws from its own random stream derived from the
seed, so the output is a pure function of (size, seed, now).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
from h3.api import basic_int as h3i

from domain.radio import Radio
from simulation.areas import Areas, Town, build_areas
from simulation.cells import RESOLUTION, CellGrid, build_cell_grid
from simulation.network import (
    CLUTTER_LOSS_DB,
    HIGHLAND_LOSS_DB,
    OPERATORS,
    Gap,
    OperatorProfile,
    best_server_dbm,
    place_sites,
    site_transmitters,
)
from simulation.residents import (
    RADIOS,
    ReadingColumns,
    Sampler,
    draw_residents,
    linear_mean_offset_db,
    no_signal_share,
    take_readings,
)
from simulation.terrain import (
    Box,
    GaussianField,
    Valley,
    normal_to_unit,
    valleys_loss_db,
)
from simulation.truth import (
    CLASSES,
    NO_SERVICE_DBM,
    SCOPE_RADIOS,
    bars_of,
    class_rank,
    ranks_to_classes,
)
from simulation.uploads import UploadBatch, UploadPlan, plan_uploads

Size = Literal["small", "province"]

# Fixed default "now" so that generation without a clock is reproducible.
DEFAULT_NOW = datetime(2026, 11, 15, tzinfo=UTC)
WINDOW_DAYS = 120  # readings span the four months before now
SITE_BUILT_DAYS_BEFORE_NOW = 45

# Shadowing (log-normal, dB): a terrain part shared by all operators and a part of each
# operator's own (its sites see the land from elsewhere). sqrt(6² + 5.5²) = 8.1 dB in all,
# inside DESIGN.md's 8-12 dB for rural terrain.
SHADOW_COMMON_SD_DB = 6.0
SHADOW_OPERATOR_SD_DB = 5.5
SHADOW_CORRELATION_KM = 0.5
FIELD_STEP_KM = 0.2

# A village whose centre has signal is still lõm sóng (patchy) when at least this share of its
# people live in dead cells; deadzone's own rule is configurable, this one only labels truth.
PATCHY_DEAD_SHARE = 0.05

RESIDENT_CHUNK = 4000  # residents per chunk of readings; fixed so chunking cannot change output


@dataclass(frozen=True)
class SizeSpec:
    """Everything that differs between the sizes."""

    box: Box
    communes: int
    villages: int
    population: int
    towns: tuple[Town, ...]
    residents: int
    mean_readings: float
    valleys: int
    highland_correlation_km: float
    site_density_scale: float
    gap_radius_km: tuple[float, float]


SIZES: dict[str, SizeSpec] = {
    # About 430 km² east of Buôn Ma Thuột around Phước An; 45k readings.
    "small": SizeSpec(
        box=Box(south=12.55, west=108.15, north=12.73, east=108.35),
        communes=7,
        villages=48,
        population=72_000,
        towns=(Town("Thị trấn Phước An", 12.705, 108.305, 16_000),),
        residents=750,
        mean_readings=60.0,
        valleys=4,
        highland_correlation_km=4.0,
        site_density_scale=1.0,
        gap_radius_km=(2.5, 4.5),
    ),
    # About 20,000 km² around Buôn Ma Thuột: ~170,000 resolution-9 cells, 3.3 M people.
    "province": SizeSpec(
        box=Box(south=12.1, west=107.5, north=13.3, east=108.9),
        communes=180,
        villages=2400,
        population=3_300_000,
        towns=(
            Town("Buôn Ma Thuột", 12.667, 108.038, 380_000),
            Town("Buôn Hồ", 12.918, 108.270, 45_000),
            Town("Thị trấn Ea Kar", 12.812, 108.452, 25_000),
            Town("Thị trấn Phước An", 12.705, 108.305, 25_000),
            Town("Thị trấn Buôn Trấp", 12.480, 108.030, 20_000),
            Town("Thị trấn Krông Năng", 12.990, 108.390, 15_000),
            Town("Thị trấn Ea Drăng", 13.190, 108.210, 15_000),
            Town("Thị trấn Ea Súp", 13.080, 107.880, 10_000),
            Town("Thị trấn Liên Sơn", 12.400, 108.180, 10_000),
        ),
        residents=45_000,
        mean_readings=65.0,
        valleys=36,
        highland_correlation_km=12.0,
        site_density_scale=1.0,
        gap_radius_km=(5.0, 10.0),
    ),
}

# Random stream numbers, one per step (see the module docstring).
_STREAM = {
    "highland": 1,
    "areas": 2,
    "valleys": 3,
    "sites": 4,
    "shadow": 5,
    "built": 6,
    "residents": 7,
    "uploads": 8,
    "readings": 100,
}


@dataclass(frozen=True)
class SiteBuilt:
    """The site that goes on air part-way through the window, in a dead area.

    Readings of ``operator``'s LTE users there are bad before ``built_at`` and good after;
    the truth is the state at ``now``, with the site.
    """

    site_id: int
    operator: str
    lat: float
    lon: float
    built_at: datetime
    village_code: str
    village_name: str
    cells_changed: int  # cells whose class for this operator's LTE improved
    people_newly_covered: float  # population of cells that went from dead/weak to covered


@dataclass
class Scenario:
    """A generated province: its areas, network, truth and readings.

    Tables (all coordinates WGS84 degrees, EPSG:4326):

    ``communes`` (GeoDataFrame): code (str, 5 digits), name, population (int, sum of its
    villages'), villages (int), area_km2, geometry (Polygon). They tile the box.

    ``villages`` (GeoDataFrame): code (str, commune code + "-NNN"), name, commune_code,
    kind ("town", "seat", "village" or "remote"), population (int), geometry (Point).

    ``roads`` (GeoDataFrame): from_village, to_village (village codes), kind ("provincial" or
    "local"), length_km, geometry (LineString).

    ``sites`` (DataFrame): one row per transmitter, columns as ``network.SITE_COLUMNS``.

    ``cells`` (DataFrame): one row per resolution-9 cell of the box: cell (int64 H3 index),
    h3 (str), lat, lon (centre), commune_code, population (float, people living in the cell),
    best_class ("covered"/"weak"/"dead" with the best operator and radio: the "any signal"
    scope), best_broadband_class (the same over LTE and NR only: the "broadband" scope),
    covered_operators (int, how many operators cover it on some radio).

    ``phones`` (DataFrame): one row per cell x operator: cell, operator, no_signal_any and
    no_signal_broadband (float32, 0-1), the expected share of the operator's readings there
    that show no signal (no service, or below one bar on the radio the phone camps on) and
    no broadband (the same, or camped on 3G), as its phones select their radio
    (``residents.no_signal_share``). Where it is over one half, the operator's truth in that
    scope is dead whatever its best radio's mean: an official who goes there with the
    operator's phones finds no signal (or no 4G) most of the time. This is the edge of a
    network: 3G at its camping minimum (-115 dBm RSCP is both q-RxLevMin and one bar), LTE
    below 1 bar where phones reselect to 3G.

    ``truth`` (DataFrame): one row per cell x operator x radio that the operator runs (LTE for
    all; UMTS and NR for all but Vietnamobile; no GSM, switched off in 2024):
    cell (int64), operator ("452-04"), radio ("lte"/"umts"/"nr"), signal_dbm (float32, the
    cell's true mean of the radio's metric in dB, i.e. the mean of the readings' dBm values
    before handset offsets; NaN where no site is in range), bars (int8, 0-4 by AOSP's
    defaults), reading_mean_dbm (float32, what averaging the cell's readings in milliwatts
    should give: signal_dbm + ``residents.linear_mean_offset_db()``, about +1 dB, see there),
    truth_class ("covered"/"weak"/"dead"), no_service (bool, mean below
    ``truth.NO_SERVICE_DBM``). Readings are log-normally spread around signal_dbm
    (sd ``residents.FAST_FADING_SD_DB``), so their mean in linear milliwatts lies
    sd² ln(10)/20 ≈ 1.4 dB above it.
    """

    size: str
    seed: int
    now: datetime
    start: datetime
    box: Box
    communes: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame
    sites: pd.DataFrame
    cells: pd.DataFrame
    truth: pd.DataFrame
    phones: pd.DataFrame
    site_built: SiteBuilt
    valleys: list[Valley]
    gaps: list[Gap]
    plan: UploadPlan = field(repr=False)
    areas: Areas = field(repr=False)
    # Per cell (order of ``cells``): the loss at the receiver (clutter and highland, dB) and
    # each operator's shadowing (dB), so that new sites can be built into the same world.
    receiver_loss_db: npt.NDArray[np.float64] = field(repr=False)
    shadow_db: dict[str, npt.NDArray[np.float64]] = field(repr=False)

    def new_sites_lte_dbm(
        self, lat: Sequence[float], lon: Sequence[float], *, operator: str, band_mhz: int,
        height_m: float,
    ) -> npt.NDArray[np.float64]:  # fmt: skip
        """The LTE RSRP (dBm) on every cell (order of ``cells``) from new sites of
        ``operator`` at ``lat``/``lon``, built into this world as ``build_site`` builds one:
        the simulator's propagation (``network.best_server_dbm``), its receiver losses, the
        operator's shadowing, and every terrain valley except the one a site stands in."""
        x, y = self.box.to_xy(self.cells["lat"].to_numpy(), self.cells["lon"].to_numpy())
        op = next(o for o in OPERATORS if o.code == operator)
        best = np.full(len(self.cells), -np.inf)
        rng = np.random.default_rng(0)  # only draws the 3G/2G carriers, which are dropped
        for k, (site_lat, site_lon) in enumerate(zip(lat, lon, strict=True)):
            rows = site_transmitters(
                rng, op, 10**6 + k, float(site_lat), float(site_lon), lte_band=band_mhz,
                height_m=height_m, area_code=1,
            )  # fmt: skip
            power, _ = best_server_dbm(self.box, pd.DataFrame([rows[0]]), x, y)
            sx, sy = self.box.to_xy(np.array([site_lat]), np.array([site_lon]))
            other = [
                v for v in self.valleys
                if float(v.distance_km(sx, sy)[0]) > 1.5 * v.width_km
            ]  # fmt: skip
            signal = power - self.receiver_loss_db - valleys_loss_db(other, x, y)
            np.maximum(best, signal + self.shadow_db[operator], out=best)
        return best

    @property
    def injected(self) -> dict[str, Any]:
        """What the stream carries on purpose: duplicates, bad readings by kind, and counts of
        well-formed readings the gate must handle (GPS accuracy over 1000 m, speed over
        50 m/s, no-service and manual readings)."""
        return self.plan.injected

    def reading_batches(self, batch_size: int = 1000) -> Iterator[UploadBatch]:
        """The whole upload stream in upload order, ``batch_size`` readings at a time.

        Each batch is built when asked for, so a province's millions of readings never sit
        in memory as dicts at once. A reading dict has the fields of
        ``collectors.reading.Reading``, optional ones left out when unknown:

        - ``id`` ("r000123", unique per device; "x..." for the injected bad ones),
          ``device`` ("sim-device-000042"), ``observed_at`` (RFC 3339 UTC, "...Z"),
          ``lat``/``lon`` (degrees, 6 decimals, with GPS error), ``accuracy_m`` (68 % radius),
          ``speed_mps``, ``mcc`` (452), ``mnc``, ``radio`` ("lte", "umts" or "gsm");
        - exactly one of ``signal_dbm`` (whole dB, LTE RSRP / UMTS RSCP / GSM RSSI),
          ``no_service: true``, or ``level`` (0-4 bars) with ``calls_fail`` for manual
          reports (``source: "reporter"``; automatic readings have ``source: "simulation"``);
        - for readings with a signal, the serving cell: ``area_code``, ``cell_id``, ``pci``
          (not for GSM) and ``arfcn``.

        Duplicates are the very same dict again, later; bad readings are counted by kind in
        ``injected``. ``UploadBatch.uploaded_at`` is when the batch's last reading reached
        the server: a demo that replays the stream "live" sends a batch at that time.
        """
        return self.plan.batches(batch_size)

    def truth_by_operator(self, scope: str = "any") -> pd.DataFrame:
        """Per cell x operator, the best class over the operator's radios of ``scope``
        ("any": every radio; "broadband": LTE and NR, ``truth.SCOPE_RADIOS``).

        Columns: cell, operator, truth_class ("dead" where the operator has no radio of the
        scope, and where most of its phones show no signal of the scope there: ``phones``),
        lte_signal_dbm (the LTE truth, NaN where no site reaches).
        """
        if scope not in SCOPE_RADIOS:
            raise ValueError(f"scope must be one of {sorted(SCOPE_RADIOS)}, got {scope!r}")
        t = self.truth
        rank = t["truth_class"].map({c: i for i, c in enumerate(CLASSES)}).astype("int8")
        radios = {r.value for r in SCOPE_RADIOS[scope]}
        rank = rank.where(t["radio"].astype(str).isin(radios), 0)
        best = rank.groupby([t["cell"], t["operator"]], observed=True).max()
        lte = t[t["radio"] == "lte"].set_index(["cell", "operator"])["signal_dbm"]
        out = best.rename("rank").to_frame().join(lte.rename("lte_signal_dbm"))
        no_signal = self.phones.set_index(["cell", "operator"])[f"no_signal_{scope}"]
        out["rank"] = out["rank"].where(no_signal.reindex(out.index).to_numpy() <= 0.5, 0)
        out["truth_class"] = ranks_to_classes(out.pop("rank").to_numpy())
        return out.reset_index()

    def village_truth(self, operator: str | None = None, *, scope: str = "any") -> pd.DataFrame:
        """Per village, its true status the way the authority counts villages (DESIGN.md).

        ``operator`` None takes the best of all operators, otherwise that operator's best
        radio; ``scope`` "any" counts every radio, "broadband" LTE and NR only.
        Columns: code, name, commune_code, population, centre_class (class of the cell
        holding the village's point), dead_share (share of the village's people living in
        dead cells), people_dead, status: "trang_song" (trắng sóng, dead at
        the centre), "lom_song" (lõm sóng, centre not dead but at least
        ``PATCHY_DEAD_SHARE`` of the people in dead cells) or "covered".
        """
        a = self.areas
        if operator is None:
            column = "best_class" if scope == "any" else "best_broadband_class"
            rank = self.cells[column].cat.codes.to_numpy()
        else:
            table = self.truth_by_operator(scope)
            classes = table[table["operator"] == operator].set_index("cell")["truth_class"]
            if classes.empty:
                raise ValueError(f"no truth for operator {operator!r}")
            rank = classes.reindex(self.cells["cell"]).cat.codes.to_numpy()
        n = a.village_population.size
        owner = np.repeat(np.arange(n), np.diff(a.village_cell_start))
        dead = rank[a.village_cell] == 0
        dead_share = np.bincount(owner, weights=a.village_cell_weight * dead, minlength=n)
        centre = [
            h3i.latlng_to_cell(float(la), float(lo), RESOLUTION)
            for la, lo in zip(a.village_lat, a.village_lon, strict=True)
        ]
        rows = np.searchsorted(self.cells["cell"].to_numpy(), np.array(centre, dtype=np.int64))
        centre_rank = rank[rows]
        status = np.where(
            centre_rank == 0,
            "trang_song",
            np.where(dead_share >= PATCHY_DEAD_SHARE, "lom_song", "covered"),
        )
        return pd.DataFrame(
            {
                "code": a.village_code,
                "name": a.village_name,
                "commune_code": np.array(a.commune_code)[a.village_commune],
                "population": a.village_population,
                "centre_class": ranks_to_classes(centre_rank),
                "dead_share": np.round(dead_share, 4),
                "people_dead": np.round(dead_share * a.village_population, 1),
                "status": status,
            }
        )

    def summary(self) -> dict[str, Any]:
        """Totals for a log line or a report."""
        cls = self.cells["best_class"].value_counts()
        broadband = self.cells["best_broadband_class"].value_counts()
        pop = self.cells.groupby("best_class", observed=True)["population"].sum()
        return {
            "size": self.size,
            "seed": self.seed,
            "now": self.now.isoformat(),
            "window_start": self.start.isoformat(),
            "area_km2": round(self.box.area_km2, 1),
            "cells": len(self.cells),
            "communes": len(self.communes),
            "villages": len(self.villages),
            "roads": len(self.roads),
            "population": int(self.villages["population"].sum()),
            "sites": int(self.sites["site_id"].nunique()),
            "transmitters": len(self.sites),
            "residents": int(self.plan.columns.device.max()) + 1,
            "uploads": len(self.plan),
            "cells_by_best_class": {k: int(cls.get(k, 0)) for k in CLASSES},
            "population_by_best_class": {k: round(float(pop.get(k, 0.0))) for k in CLASSES},
            "cells_by_best_broadband_class": {k: int(broadband.get(k, 0)) for k in CLASSES},
            "villages_by_status": {
                k: int(v) for k, v in self.village_truth()["status"].value_counts().items()
            },
            "site_built": self.site_built.__dict__
            | {"built_at": self.site_built.built_at.isoformat()},
            **{k: v for k, v in self.injected.items()},
        }


def generate_scenario(
    size: Size,
    *,
    seed: int,
    now: datetime | None = None,
    operators: tuple[OperatorProfile, ...] = OPERATORS,
) -> Scenario:
    """Build a scenario: ``small`` (about 430 km², 45k readings, a few seconds) or
    ``province`` (about 20,000 km², 170k cells, about 3 M readings).

    ``now`` (timezone-aware) is the reference time: readings span the ``WINDOW_DAYS`` before
    it and the truth is the state at it; it defaults to ``DEFAULT_NOW``. ``operators``: the
    networks (default ``network.OPERATORS``, Vietnam in 2026: LTE everywhere there is service,
    3G remnants, 5G in towns, no 2G); the first one builds the new site. Same arguments,
    same output, byte for byte.
    """
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    now = DEFAULT_NOW if now is None else now
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    now = now.astimezone(UTC).replace(microsecond=0)
    start = now - timedelta(days=WINDOW_DAYS)
    spec = SIZES[size]

    def rng(step: str, *extra: int) -> np.random.Generator:
        return np.random.default_rng([seed, _STREAM[step], *extra])

    box = spec.box
    grid = build_cell_grid(box)
    highland_field = GaussianField(
        rng("highland"),
        box,
        correlation_km=spec.highland_correlation_km,
        step_km=max(spec.highland_correlation_km / 4, 0.5),
    )

    def highland(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        return normal_to_unit(highland_field.at_xy(x, y))

    areas = build_areas(
        rng("areas"),
        grid,
        communes=spec.communes,
        villages=spec.villages,
        population=spec.population,
        towns=list(spec.towns),
        highland=highland,
        tricky_names=True,
        commune_code_base=24_100 if size == "province" else 24_500,
    )
    valleys = draw_valleys(rng("valleys"), box, areas, spec.valleys, highland)
    sites, gaps = place_sites(
        rng("sites"),
        box,
        areas,
        operators=operators,
        highland=highland,
        valleys=valleys,
        density_scale=spec.site_density_scale,
        gap_radius_km=spec.gap_radius_km,
    )

    # The true signal: best server's median power, minus highland and valley losses, plus
    # correlated shadowing, on every cell.
    srng = rng("shadow")
    common = GaussianField(srng, box, correlation_km=SHADOW_CORRELATION_KM, step_km=FIELD_STEP_KM)
    receiver_loss = CLUTTER_LOSS_DB + HIGHLAND_LOSS_DB * highland(grid.x, grid.y)
    valley_loss = valleys_loss_db(valleys, grid.x, grid.y)
    shadow_common = SHADOW_COMMON_SD_DB * common.at_xy(grid.x, grid.y)
    shadow_op: list[npt.NDArray[np.float64]] = []
    for _ in operators:
        f = GaussianField(srng, box, correlation_km=SHADOW_CORRELATION_KM, step_km=FIELD_STEP_KM)
        shadow_op.append(shadow_common + SHADOW_OPERATOR_SD_DB * f.at_xy(grid.x, grid.y))
    field_db: dict[tuple[int, int], npt.NDArray[np.float32]] = {}
    server: dict[tuple[int, int], npt.NDArray[np.int32]] = {}
    for o, op in enumerate(operators):
        for r, radio in enumerate(RADIOS):
            if not op.runs(radio):
                continue
            mask = (sites["operator"] == op.code) & (sites["radio"] == radio.value)
            if not mask.any():
                # The operator runs this radio but has no such carrier in the box: its users
                # there have no service, and the truth says so rather than leave a hole.
                field_db[(o, r)] = np.full(len(grid), -np.inf, dtype=np.float32)
                server[(o, r)] = np.full(len(grid), -1, dtype=np.int32)
                continue
            rows = np.flatnonzero(mask.to_numpy())
            power, which = best_server_dbm(box, sites.iloc[rows], grid.x, grid.y)
            field_db[(o, r)] = (power - receiver_loss - valley_loss + shadow_op[o]).astype(
                np.float32
            )
            server[(o, r)] = np.where(which >= 0, rows[np.maximum(which, 0)], -1).astype(np.int32)

    built_at = now - timedelta(days=SITE_BUILT_DAYS_BEFORE_NOW)
    sites, site_built, before = build_site(
        rng("built"),
        operators[0],
        grid,
        areas,
        sites,
        field_db,
        server,
        built_at=built_at,
        receiver_loss=receiver_loss,
        valleys=valleys,
        shadow=shadow_op[0],
    )

    truth, cells, phones = truth_tables(grid, areas, field_db, operators)

    # Residents and readings, chunk by chunk.
    residents = draw_residents(
        rng("residents"),
        areas,
        count=spec.residents,
        mean_readings=spec.mean_readings,
        operators=operators,
    )
    sampler = Sampler.build(areas)
    parts: list[ReadingColumns] = []
    for k, first in enumerate(range(0, len(residents), RESIDENT_CHUNK)):
        sub = slice(first, first + RESIDENT_CHUNK)
        chunk = residents.part(sub)
        parts.append(
            take_readings(
                rng("readings", k),
                grid,
                areas,
                sampler,
                chunk,
                first,
                field=field_db,
                server=server,
                field_before=before,
                operators=operators,
                built_at_s=int(built_at.timestamp()),
                start_s=int(start.timestamp()),
                now_s=int(now.timestamp()),
            )
        )
    columns = ReadingColumns.concatenate(parts)
    plan = plan_uploads(
        rng("uploads"), columns, sites, now_s=int(now.timestamp()), operators=operators
    )

    return Scenario(
        size=size,
        seed=seed,
        now=now,
        start=start,
        box=box,
        communes=communes_table(areas),
        villages=villages_table(areas),
        roads=roads_table(areas),
        sites=sites,
        cells=cells,
        truth=truth,
        phones=phones,
        site_built=site_built,
        valleys=valleys,
        gaps=gaps,
        plan=plan,
        areas=areas,
        receiver_loss_db=receiver_loss,
        shadow_db={op.code: shadow_op[o] for o, op in enumerate(OPERATORS)},
    )


def draw_valleys(
    rng: np.random.Generator,
    box: Box,
    areas: Areas,
    count: int,
    highland: Callable[[npt.NDArray[np.float64], npt.NDArray[np.float64]], npt.NDArray[np.float64]],
) -> list[Valley]:
    """Terrain valleys: half run through a village (so people live in them), half lie in the
    highlands. Each is 3-10 km long, 0.3-0.7 km wide and 20-40 dB deep."""
    out: list[Valley] = []
    villages = [v for v, k in enumerate(areas.village_kind) if k in ("village", "remote")]
    while len(out) < count:
        if len(out) % 2 == 0 and villages:
            v = villages[int(rng.integers(len(villages)))]
            cx, cy = float(areas.village_x[v]), float(areas.village_y[v])
        else:
            cx, cy = rng.uniform(0, box.width_km), rng.uniform(0, box.height_km)
            if rng.random() > float(highland(np.array([cx]), np.array([cy]))[0]):
                continue
        length = rng.uniform(3.0, 10.0)
        a = rng.uniform(0, math.pi)
        dx, dy = 0.5 * length * math.cos(a), 0.5 * length * math.sin(a)
        out.append(
            Valley(
                cx - dx,
                cy - dy,
                cx + dx,
                cy + dy,
                width_km=float(rng.uniform(0.3, 0.7)),
                depth_db=float(rng.uniform(20, 40)),
            )
        )
    return out


def build_site(
    rng: np.random.Generator,
    op: OperatorProfile,
    grid: CellGrid,
    areas: Areas,
    sites: pd.DataFrame,
    field_db: dict[tuple[int, int], npt.NDArray[np.float32]],
    server: dict[tuple[int, int], npt.NDArray[np.int32]],
    *,
    built_at: datetime,
    receiver_loss: npt.NDArray[np.float64],
    valleys: list[Valley],
    shadow: npt.NDArray[np.float64],
) -> tuple[pd.DataFrame, SiteBuilt, dict[tuple[int, int], tuple[Any, Any]]]:
    """``op`` (the first operator, Viettel) builds an LTE 900 site at the village with the
    most people in its dead cells; ``field_db``/``server`` are updated in place to the state
    after, and the state before is returned for the readings taken earlier."""
    key = (0, RADIOS.index(Radio.LTE))
    before = field_db[key].copy()
    before_server = server[key].copy()
    dead = class_rank(before.astype(np.float64), Radio.LTE) == 0
    owner = np.repeat(np.arange(areas.village_population.size), np.diff(areas.village_cell_start))
    dead_people = (
        np.bincount(
            owner,
            weights=areas.village_cell_weight * dead[areas.village_cell],
            minlength=areas.village_population.size,
        )
        * areas.village_population
    )
    kinds = np.array(areas.village_kind)
    dead_people[kinds == "town"] = -1.0
    v = int(np.argmax(dead_people))
    lat, lon = float(areas.village_lat[v]), float(areas.village_lon[v])
    site_id = int(sites["site_id"].max()) + 1
    rows = site_transmitters(
        rng,
        op,
        site_id,
        lat,
        lon,
        lte_band=900,
        height_m=45.0,
        area_code=int(areas.village_commune[v]) + 1,
        built_at=pd.Timestamp(built_at),
    )
    new = pd.DataFrame([rows[0]], columns=sites.columns)
    new["built_at"] = new["built_at"].astype("datetime64[us, UTC]")
    power, _ = best_server_dbm(grid.box, new, grid.x, grid.y)
    # Terrain valleys still block the new site's signal, except the valley it stands in,
    # which it looks straight down.
    x, y = float(areas.village_x[v]), float(areas.village_y[v])
    other = [
        val
        for val in valleys
        if float(val.distance_km(np.array(x), np.array(y))) > 1.5 * val.width_km
    ]
    after_new = (power - receiver_loss - valleys_loss_db(other, grid.x, grid.y) + shadow).astype(
        np.float32
    )
    row = len(sites)
    sites = pd.concat([sites, new], ignore_index=True)
    better = after_new > before
    field_db[key] = np.where(better, after_new, before).astype(np.float32)
    server[key] = np.where(better, row, before_server).astype(np.int32)
    rank_before = class_rank(before.astype(np.float64), Radio.LTE)
    rank_after = class_rank(field_db[key].astype(np.float64), Radio.LTE)
    improved = rank_after > rank_before
    newly = (rank_after == 2) & (rank_before < 2)
    built = SiteBuilt(
        site_id=site_id,
        operator=op.code,
        lat=lat,
        lon=lon,
        built_at=built_at,
        village_code=areas.village_code[v],
        village_name=areas.village_name[v],
        cells_changed=int(improved.sum()),
        people_newly_covered=round(float(areas.cell_population[newly].sum()), 1),
    )
    return sites, built, {key: (before, before_server)}


def truth_tables(
    grid: CellGrid,
    areas: Areas,
    field_db: dict[tuple[int, int], npt.NDArray[np.float32]],
    operators: tuple[OperatorProfile, ...],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The long truth table (cell x operator x radio), the per-cell table and the phones'
    table (cell x operator: share of readings with no signal per scope, ``Scenario``)."""
    parts: list[pd.DataFrame] = []
    mean_offset = linear_mean_offset_db()
    op_rank = {
        scope: np.zeros((len(operators), len(grid)), dtype=np.int8) for scope in SCOPE_RADIOS
    }
    for (o, r), values in field_db.items():
        radio = RADIOS[r]
        v = values.astype(np.float64)
        rank = class_rank(v, radio)
        for scope, radios in SCOPE_RADIOS.items():
            if radio in radios:
                op_rank[scope][o] = np.maximum(op_rank[scope][o], rank)
        parts.append(
            pd.DataFrame(
                {
                    "cell": grid.cell,
                    "operator": operators[o].code,
                    "radio": radio.value,
                    "signal_dbm": np.where(np.isfinite(v), np.round(v, 1), np.nan).astype(
                        np.float32
                    ),
                    "reading_mean_dbm": np.where(
                        np.isfinite(v), np.round(v + mean_offset, 1), np.nan
                    ).astype(np.float32),
                    "bars": bars_of(v, radio),
                    "truth_class": ranks_to_classes(rank),
                    "no_service": v < NO_SERVICE_DBM[radio],
                }
            )
        )
    # Dead, too, where most of the operator's phones show no signal of the scope
    # (``Scenario.truth_by_operator``).
    phones = []
    for o, op in enumerate(operators):
        true = {r: v.astype(np.float64) for (k, r), v in field_db.items() if k == o}
        shares = {}
        for scope, radios in SCOPE_RADIOS.items():
            shares[scope] = no_signal_share(true, radios=radios)
            op_rank[scope][o] = np.where(shares[scope] > 0.5, 0, op_rank[scope][o])
        phones.append(
            pd.DataFrame(
                {"cell": grid.cell, "operator": op.code}
                | {
                    f"no_signal_{scope}": np.round(v, 4).astype(np.float32)
                    for scope, v in shares.items()
                }
            )  # fmt: skip
        )
    phone_table = pd.concat(phones, ignore_index=True)
    phone_table["operator"] = phone_table["operator"].astype("category")
    best_rank = op_rank["any"].max(axis=0)
    truth = pd.concat(parts, ignore_index=True)
    truth["operator"] = truth["operator"].astype("category")
    truth["radio"] = truth["radio"].astype("category")
    cells = pd.DataFrame(
        {
            "cell": grid.cell,
            "h3": grid.h3_strings(),
            "lat": grid.lat,
            "lon": grid.lon,
            "commune_code": np.array(areas.commune_code)[areas.cell_commune],
            "population": areas.cell_population,
            "best_class": ranks_to_classes(best_rank),
            "best_broadband_class": ranks_to_classes(op_rank["broadband"].max(axis=0)),
            "covered_operators": (op_rank["any"] == 2).sum(axis=0).astype(np.int8),
        }
    )
    return truth, cells, phone_table


def communes_table(areas: Areas) -> gpd.GeoDataFrame:
    """Communes as a GeoDataFrame (see ``Scenario``)."""
    n = len(areas.commune_code)
    pop = np.bincount(areas.village_commune, weights=areas.village_population, minlength=n)
    count = np.bincount(areas.village_commune, minlength=n)
    geo = gpd.GeoSeries(areas.commune_polygon, crs="EPSG:4326")
    return gpd.GeoDataFrame(
        {
            "code": areas.commune_code,
            "name": areas.commune_name,
            "population": pop.astype(np.int64),
            "villages": count.astype(np.int64),
            "area_km2": np.round(geo.to_crs(geo.estimate_utm_crs()).area.to_numpy() / 1e6, 2),
        },
        geometry=geo,
    )


def villages_table(areas: Areas) -> gpd.GeoDataFrame:
    """Villages as a GeoDataFrame (see ``Scenario``)."""
    return gpd.GeoDataFrame(
        {
            "code": areas.village_code,
            "name": areas.village_name,
            "commune_code": np.array(areas.commune_code)[areas.village_commune],
            "kind": areas.village_kind,
            "population": areas.village_population,
        },
        geometry=gpd.points_from_xy(areas.village_lon, areas.village_lat),
        crs="EPSG:4326",
    )


def roads_table(areas: Areas) -> gpd.GeoDataFrame:
    """Roads as a GeoDataFrame (see ``Scenario``)."""
    codes = np.array(areas.village_code)
    geo = gpd.GeoSeries(areas.road_line, crs="EPSG:4326")
    return gpd.GeoDataFrame(
        {
            "from_village": codes[areas.road_from],
            "to_village": codes[areas.road_to],
            "kind": areas.road_kind,
            "length_km": np.round(geo.to_crs(geo.estimate_utm_crs()).length.to_numpy() / 1000, 2),
        },
        geometry=geo,
    )


__all__ = ["DEFAULT_NOW", "SIZES", "Scenario", "SiteBuilt", "generate_scenario"]
