"""Residents with phones, and the readings they take, as columns of numpy arrays.

Each resident lives in a home village, carries one SIM (operator; one in six a second one),
one handset model of some generation (5G, 4G, or an old 3G-only one), and takes readings where
people are: at home (the village's cells weighted by
population), on the roads out of the village, and visiting other villages of the commune, at
the hours people are about, over the weeks before ``now``. Arrays are built per chunk of
residents from a seed derived from the chunk's number, so the result does not depend on the
chunk size used for memory.

Phones behave as phones do in idle mode (``select_radio``): each reading is taken on the
newest radio that the handset, the SIM and the operator support and whose signal the phone can
camp on there, falling back to an older one where the newer is too weak; "no service" only
when no radio of the SIM's operator can be camped on (the phone is then "emergency calls only"
if another operator's can). A manual report shows what the phone's screen shows: its bars on
the radio it is camped on, the radio when the resident knows it, and nothing of either with
no service.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt

from domain.radio import (
    CAMPING_MIN_DBM,
    DEFAULT_BARS,
    RADIO_PRIORITY,
    SIGNAL_RANGES,
    THRESH_SERVING_LOW_DB,
    Radio,
)
from simulation.areas import Areas
from simulation.cells import MAX_JITTER_KM, CellGrid
from simulation.network import OPERATORS, OperatorProfile
from simulation.truth import bars_of

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Radios by their row number in the reading columns; -1 there is a manual report whose radio
# the resident did not know (``UNKNOWN_RADIO``).
RADIOS: tuple[Radio, ...] = (Radio.LTE, Radio.UMTS, Radio.GSM, Radio.NR)
UNKNOWN_RADIO = -1

# Handset generations in use in Vietnam in 2026, by the newest radio they support, and their
# shares: 2G-only phones were cut off in 2024, 4G is the norm (feature phones included, such as
# the Nokia 105 4G and itel models), 5G phones are a growing minority, and a few old 3G-only
# phones remain. Every phone also speaks the older radios.
HANDSET_GENERATIONS: tuple[tuple[Radio, float], ...] = (
    (Radio.NR, 0.30),
    (Radio.LTE, 0.68),
    (Radio.UMTS, 0.02),
)
# Share of SIMs that can register on 4G/5G (USIMs); the rest are old 2G/3G SIMs, which keep a
# 4G phone on 3G. Vietnam's operators swapped most old SIMs before the 2G switch-off.
SIM_4G_SHARE = 0.98
# Share of manual reports with signal whose resident names the radio shown on the screen
# (4G/5G/3G icon); the others send radio "unknown". With no service there is no icon.
MANUAL_RADIO_KNOWN = 0.5

# Handset models and how far their reported dBm sits from the true value, dB. Phones differ by
# a few dB in antenna efficiency and calibration (e.g. the spread of reported RSRP across models
# on one spot in crowd-sourced data sets such as OpenSignal's); names are only labels.
HANDSET_MODELS: tuple[tuple[str, float], ...] = (
    ("Samsung Galaxy A05", 0.0),
    ("Xiaomi Redmi 13C", -1.5),
    ("OPPO A18", 1.0),
    ("vivo Y03", 2.0),
    ("Nokia 105 4G", -2.5),
    ("itel A70", -3.0),
)
HANDSET_SHARE = np.array([0.25, 0.22, 0.18, 0.15, 0.1, 0.1])

# Fast fading and measurement noise around the local mean, dB (standard deviation). Phones
# average RSRP over a few hundred ms, which leaves a few dB of Rayleigh/Rician spread.
FAST_FADING_SD_DB = 3.5


def linear_mean_offset_db() -> float:
    """How far the mean of readings in milliwatts lies above a cell's true dB mean, dB.

    A reading is truth + handset offset + Gaussian fading (dB), so its mean power is
    ``E[10^(h/10)] x E[10^(F/10)]``: the handset mix exactly, and ``exp(s² ln(10)² / 200)``
    for fading of sd s, i.e. ``s² ln(10) / 20`` dB (about 1.4 dB for 3.5 dB). Ignores
    readings lost to no-service, which only matters within a few dB of that limit.
    """
    offsets = np.array([m[1] for m in HANDSET_MODELS])
    handset = 10 * math.log10(float(np.dot(HANDSET_SHARE, 10 ** (offsets / 10))))
    return handset + FAST_FADING_SD_DB**2 * math.log(10) / 20


# Local hour-of-day weights (0-23, ICT = UTC+7): people carry phones about from dawn to
# evening, with peaks at the morning market and after work.
_HOURLY = np.array(
    [1, 1, 1, 1, 2, 5, 8, 9, 9, 8, 7, 7, 7, 6, 6, 7, 8, 9, 9, 8, 6, 4, 2, 1], dtype=np.float64
)
HOUR_WEIGHTS = _HOURLY / _HOURLY.sum()
LOCAL_UTC_OFFSET_S = 7 * 3600

# Where a reading is taken: at home, on a road out of the home village, visiting a village of
# the same commune.
MODE_HOME, MODE_ROAD, MODE_VISIT = 0, 1, 2
MODE_SHARE = np.array([0.62, 0.25, 0.13])

SOURCE_AUTO = 0  # a collector app measuring on its own ("simulation")
SOURCE_REPORTER = 1  # a resident's manual report on the reporter page


@dataclass(frozen=True)
class Residents:
    """One row per resident (device): home village, main SIM, handset and what it supports."""

    village: IntArray
    operator: npt.NDArray[np.int8]  # row in the operators (``network.OPERATORS``)
    generation: npt.NDArray[np.int8]  # newest radio of the handset, row in ``RADIOS``
    sim_4g: npt.NDArray[np.bool_]  # the SIM registers on 4G/5G
    handset: npt.NDArray[np.int8]  # row in ``HANDSET_MODELS``
    readings: IntArray
    second_operator: npt.NDArray[np.int8]  # a dual-SIM phone's other SIM, -1 if none

    def __len__(self) -> int:
        return int(self.village.size)

    def part(self, rows: slice) -> Residents:
        """The residents in ``rows``, for building readings chunk by chunk."""
        return Residents(**{f.name: getattr(self, f.name)[rows] for f in fields(self)})


@dataclass
class ReadingColumns:
    """Readings as parallel arrays, one row per reading (before duplicates and bad ones)."""

    device: npt.NDArray[np.int32]  # resident row
    seq: npt.NDArray[np.int32]  # reading number within the device, for the id
    observed_s: IntArray  # Unix seconds, UTC
    uploaded_s: IntArray  # Unix seconds, UTC
    cell: npt.NDArray[np.int32]  # grid row of the true position
    lat: FloatArray  # reported (with GPS error), degrees
    lon: FloatArray
    accuracy_m: npt.NDArray[np.float32]  # NaN = not given
    speed_mps: npt.NDArray[np.float32]  # NaN = not given
    operator: npt.NDArray[np.int8]
    radio: npt.NDArray[np.int8]  # row in ``RADIOS``; ``UNKNOWN_RADIO`` for some manual reports
    signal_dbm: npt.NDArray[np.float32]  # NaN when no_service or manual
    no_service: npt.NDArray[np.bool_]
    emergency_only: npt.NDArray[np.bool_]  # no service, but another operator could be camped on
    level: npt.NDArray[np.int8]  # -1 unless manual
    calls_fail: npt.NDArray[np.int8]  # -1 unless manual, else 0/1
    transmitter: npt.NDArray[np.int32]  # serving row in the sites table, -1 = none given
    source: npt.NDArray[np.int8]

    def __len__(self) -> int:
        return int(self.device.size)

    @classmethod
    def concatenate(cls, parts: list[ReadingColumns]) -> ReadingColumns:
        """Join chunks in order."""
        return cls(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)}
        )


def draw_residents(
    rng: np.random.Generator,
    areas: Areas,
    *,
    count: int,
    mean_readings: float,
    operators: tuple[OperatorProfile, ...] = OPERATORS,
) -> Residents:
    """Residents spread over villages by population, with SIM, handset generation and model.

    Readings per resident follow a negative binomial (shape 1.2) plus one: most phones send a
    few dozen, a few enthusiasts (village digital-technology teams) send hundreds.
    """
    p_village = areas.village_population / areas.village_population.sum()
    village = rng.choice(p_village.size, size=count, p=p_village)
    share = np.array([op.share for op in operators])
    operator = rng.choice(share.size, size=count, p=share / share.sum()).astype(np.int8)
    gen_share = np.array([p for _, p in HANDSET_GENERATIONS])
    gen_rows = np.array([RADIOS.index(r) for r, _ in HANDSET_GENERATIONS])
    generation = gen_rows[rng.choice(gen_share.size, size=count, p=gen_share / gen_share.sum())]
    sim_4g = rng.random(count) < SIM_4G_SHARE
    handset = rng.choice(len(HANDSET_MODELS), size=count, p=HANDSET_SHARE).astype(np.int8)
    shape = 1.2
    readings = rng.negative_binomial(shape, shape / (shape + mean_readings - 1), size=count) + 1
    # Dual-SIM phones are common in Vietnam; one resident in six also measures a second
    # operator (any other one, by share).
    second = rng.choice(share.size, size=count, p=share / share.sum()).astype(np.int8)
    second = np.where((rng.random(count) < 1 / 6) & (second != operator), second, -1)
    return Residents(
        village,
        operator,
        generation.astype(np.int8),
        sim_4g,
        handset,
        readings.astype(np.int64),
        second.astype(np.int8),
    )


def supported_radios(
    generation: npt.NDArray[np.int8], sim_4g: npt.NDArray[np.bool_]
) -> npt.NDArray[np.bool_]:
    """Per radio row (``RADIOS``) and phone, whether handset and SIM can use it: a 5G phone
    everything, a 4G phone all but NR, a 3G phone UMTS and GSM; an old SIM keeps any phone
    off LTE and NR."""
    order = {Radio.GSM: 0, Radio.UMTS: 1, Radio.LTE: 2, Radio.NR: 3}
    newest = np.array([order[r] for r in RADIOS])[generation]
    out = np.zeros((len(RADIOS), generation.size), dtype=bool)
    for row, radio in enumerate(RADIOS):
        out[row] = newest >= order[radio]
        if radio in (Radio.LTE, Radio.NR):
            out[row] &= sim_4g
    return out


def select_radio(
    level_dbm: npt.NDArray[np.float64],
    *,
    thresh_serving_low_db: dict[Radio, float] = THRESH_SERVING_LOW_DB,
) -> npt.NDArray[np.int64]:
    """Idle-mode radio selection: per phone, the row in ``RADIOS`` it camps on, or -1.

    ``level_dbm[row, i]`` is what phone i would measure on radio ``RADIOS[row]`` of its
    operator (-inf where the handset, SIM or operator lacks that radio). A radio is
    suitable at or above its q-RxLevMin (the S-criterion, ``CAMPING_MIN_DBM``). The phone
    camps on the newest suitable radio (``RADIO_PRIORITY``) whose level is at least its
    camping threshold, q-RxLevMin + ``thresh_serving_low_db[radio]``; below that threshold
    it reselects down to an older suitable radio (3GPP TS 36.304 §5.2.4.5), so with no
    radio above its threshold it ends on the oldest suitable one. No suitable radio: no
    service (-1).
    """
    chosen = np.full(level_dbm.shape[1], -1, dtype=np.int64)
    lowest_suitable = np.full(level_dbm.shape[1], -1, dtype=np.int64)
    for radio in RADIO_PRIORITY:
        if radio not in RADIOS:
            continue
        row = RADIOS.index(radio)
        suitable = level_dbm[row] >= CAMPING_MIN_DBM[radio]
        lowest_suitable[suitable] = row
        camps = (chosen < 0) & (
            level_dbm[row] >= CAMPING_MIN_DBM[radio] + thresh_serving_low_db[radio]
        )
        chosen[camps] = row
    return np.where(chosen >= 0, chosen, lowest_suitable)


# Step of the grid over which ``no_signal_share`` integrates a reading's deviation from the
# place's true mean (handset offset plus fast fading), dB, and how many fading sds it spans.
_DEVIATION_STEP_DB = 0.25
_DEVIATION_SPAN_SD = 4.5


def _deviation_grid() -> tuple[FloatArray, FloatArray]:
    """Points and probabilities of a reading's deviation from the true mean, dB: the handset
    mix (``HANDSET_MODELS``, ``HANDSET_SHARE``) plus Gaussian fading (``FAST_FADING_SD_DB``),
    one bin of ``_DEVIATION_STEP_DB`` per point."""
    offsets = np.array([m[1] for m in HANDSET_MODELS])
    span = _DEVIATION_SPAN_SD * FAST_FADING_SD_DB
    points = np.arange(
        offsets.min() - span, offsets.max() + span + _DEVIATION_STEP_DB / 2, _DEVIATION_STEP_DB
    )
    edges = np.r_[points - _DEVIATION_STEP_DB / 2, points[-1] + _DEVIATION_STEP_DB / 2]
    scale = FAST_FADING_SD_DB * math.sqrt(2)
    cdf = np.array([[0.5 * (1 + math.erf((e - o) / scale)) for e in edges] for o in offsets])
    weights = HANDSET_SHARE @ np.diff(cdf, axis=1)
    return points, weights / weights.sum()


def phone_kinds() -> list[tuple[npt.NDArray[np.bool_], float]]:
    """The kinds of phone by the radios they can camp on, with their shares: per ``RADIOS``
    row whether handset and SIM support it (``supported_radios``), from
    ``HANDSET_GENERATIONS`` and ``SIM_4G_SHARE``."""
    kinds: dict[tuple[bool, ...], float] = {}
    for radio, share in HANDSET_GENERATIONS:
        generation = np.array([RADIOS.index(radio)], dtype=np.int8)
        for sim_4g, sim_share in ((True, SIM_4G_SHARE), (False, 1 - SIM_4G_SHARE)):
            supports = supported_radios(generation, np.array([sim_4g]))[:, 0]
            key = tuple(bool(x) for x in supports)
            kinds[key] = kinds.get(key, 0.0) + share * sim_share
    return [(np.array(key), share) for key, share in kinds.items()]


def no_signal_share(
    true_dbm: dict[int, FloatArray], *, radios: frozenset[Radio] | None = None
) -> FloatArray:
    """Expected share of an operator's readings at each place that show no signal, as
    ``take_readings`` draws them: no service, or below one bar on the radio the phone camps
    on, or (with ``radios``, a scope such as broadband) camped on a radio outside it.

    ``true_dbm[row]``: the true mean of the operator's radio ``RADIOS[row]`` per place (dBm,
    -inf where none reaches; rows of radios the operator does not run left out). A reading
    deviates from the true mean by its handset's offset and fast fading, the same on every
    radio; the phone camps as ``select_radio`` selects among the radios its kind supports
    (``phone_kinds``); the bars are those of its reading rounded to whole dB. The deviation
    is integrated over a fine grid, so the share is exact up to that grid, not a sample.
    Manual reports, which show the same bars give or take one, are left out.
    """
    places = next(iter(true_dbm.values())).size if true_dbm else 0
    share = np.zeros(places)
    if not places:
        return share
    base = np.full((len(RADIOS), places), -np.inf)
    for row, values in true_dbm.items():
        base[row] = values
    one_bar = np.array([DEFAULT_BARS[radio].one for radio in RADIOS])
    allowed = np.array([radios is None or radio in radios for radio in RADIOS])
    points, weights = _deviation_grid()
    column = np.arange(places)
    for supports, kind_share in phone_kinds():
        own = np.where(supports[:, None], base, -np.inf)
        for deviation, weight in zip(points, weights, strict=True):
            level = own + deviation
            chosen = select_radio(level)
            picked = np.maximum(chosen, 0)
            below = np.round(level[picked, column]) < one_bar[picked]
            share += kind_share * weight * ((chosen < 0) | ~allowed[picked] | below)
    return share


@dataclass(frozen=True)
class Sampler:
    """Precomputed lookup tables for drawing cells where people are."""

    village_cum: FloatArray  # per village v, cumulative weights shifted into [v, v+1)
    road_of_village_start: IntArray  # CSR: roads touching each village
    road_of_village: IntArray
    commune_village_cum: FloatArray  # per commune c, cumulative village populations in [c, c+1)
    commune_village: IntArray  # villages sorted by commune

    @classmethod
    def build(cls, areas: Areas) -> Sampler:
        """Tables from the areas; all lookups are then a ``searchsorted``."""
        owner = np.repeat(
            np.arange(areas.village_cell_start.size - 1), np.diff(areas.village_cell_start)
        )
        w = areas.village_cell_weight
        cum = np.cumsum(w) - np.repeat(
            np.concatenate([[0.0], np.cumsum(w)])[areas.village_cell_start[:-1]],
            np.diff(areas.village_cell_start),
        )
        village_cum = owner + np.minimum(cum, 1.0 - 1e-12)
        ends = np.concatenate([areas.road_from, areas.road_to])
        roads = np.concatenate([np.arange(areas.road_from.size)] * 2)
        order = np.argsort(ends, kind="stable")
        counts = np.bincount(ends, minlength=areas.village_population.size)
        start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        by_commune = np.argsort(areas.village_commune, kind="stable")
        commune_sorted = areas.village_commune[by_commune]
        pop = areas.village_population[by_commune].astype(np.float64)
        totals = np.bincount(commune_sorted, weights=pop, minlength=len(areas.commune_code))
        within = np.cumsum(pop) - np.concatenate([[0.0], np.cumsum(totals)])[commune_sorted]
        commune_cum = commune_sorted + np.minimum(within / totals[commune_sorted], 1.0 - 1e-12)
        return cls(village_cum, start, roads[order].astype(np.int64), commune_cum, by_commune)

    def village_cells(self, rng: np.random.Generator, village: IntArray) -> IntArray:
        """One cell (index into the areas' village-cell table) per village, by population."""
        return np.searchsorted(self.village_cum, village + rng.random(village.size), side="right")

    def commune_villages(self, rng: np.random.Generator, commune: IntArray) -> IntArray:
        """One village per commune, by population."""
        pos = np.searchsorted(
            self.commune_village_cum, commune + rng.random(commune.size), side="right"
        )
        return self.commune_village[np.minimum(pos, self.commune_village.size - 1)]


def take_readings(
    rng: np.random.Generator,
    grid: CellGrid,
    areas: Areas,
    sampler: Sampler,
    residents: Residents,
    first: int,
    *,
    field: dict[tuple[int, int], npt.NDArray[np.float32]],
    server: dict[tuple[int, int], npt.NDArray[np.int32]],
    field_before: dict[tuple[int, int], tuple[npt.NDArray[np.float32], npt.NDArray[np.int32]]],
    operators: tuple[OperatorProfile, ...] = OPERATORS,
    built_at_s: int,
    start_s: int,
    now_s: int,
) -> ReadingColumns:
    """Readings of residents ``first`` to ``first + len(residents) - 1``.

    ``field[(operator, radio)]`` is the true mean signal per grid row (dBm, -inf where no
    transmitter reaches; keys are rows in the operators and in ``RADIOS``, one per radio the
    operator runs) and ``server`` its serving transmitter; ``field_before`` holds the
    state before ``built_at_s`` for the (operator, radio) pairs that the built site changes.
    """
    n_res = len(residents)
    per = residents.readings
    total = int(per.sum())
    res = np.repeat(np.arange(n_res), per)
    seq = (np.arange(total) - np.repeat(np.cumsum(per) - per, per)).astype(np.int32)
    village = residents.village[res]
    op = residents.operator[res]
    # A dual-SIM phone takes 30 % of its readings on its second SIM.
    second = residents.second_operator[res]
    on_second = (second >= 0) & (rng.random(total) < 0.3)
    op = np.where(on_second, second, op).astype(np.int8)
    supports = supported_radios(residents.generation, residents.sim_4g)[:, res]

    # When: adoption grows over the window (density rising linearly: time ∝ sqrt(u)), at the
    # hours people are about, local time.
    span_days = (now_s - start_s) // 86400
    day = np.floor(np.sqrt(rng.random(total)) * span_days).astype(np.int64)
    hour = rng.choice(24, size=total, p=HOUR_WEIGHTS)
    observed = (
        start_s + day * 86400 + hour * 3600 - LOCAL_UTC_OFFSET_S + rng.integers(0, 3600, total)
    )
    observed = np.clip(observed, start_s, now_s - 60)

    # Where: home cells, a road out of the home village, or a village of the same commune.
    mode = rng.choice(3, size=total, p=MODE_SHARE)
    target_village = village.copy()
    visit = mode == MODE_VISIT
    target_village[visit] = sampler.commune_villages(rng, areas.village_commune[village[visit]])
    cell = areas.village_cell[sampler.village_cells(rng, target_village)]
    road = np.flatnonzero(mode == MODE_ROAD)
    rv = village[road]
    n_roads = sampler.road_of_village_start[rv + 1] - sampler.road_of_village_start[rv]
    has = n_roads > 0
    road, rv, n_roads = road[has], rv[has], n_roads[has]
    pick = sampler.road_of_village[
        sampler.road_of_village_start[rv] + (rng.random(road.size) * n_roads).astype(np.int64)
    ]
    r_start = areas.road_cell_start[pick]
    r_len = areas.road_cell_start[pick + 1] - r_start
    on_road = areas.road_cell[
        np.minimum(
            r_start + (rng.random(road.size) * r_len).astype(np.int64), areas.road_cell.size - 1
        )
    ]
    # A road can lose all its cells only by running along the box's edge; stay home then.
    cell[road] = np.where(r_len > 0, on_road, cell[road])

    # True position inside the cell, then the GPS fix: mostly a few metres (68 % radius,
    # log-normal around 6 m), sometimes degraded indoors (50-400 m), and now and then a
    # network-location fallback far over the service's 1000 m limit (ichnaea's rule).
    ang = rng.uniform(0, 2 * math.pi, total)
    rad = MAX_JITTER_KM * np.sqrt(rng.random(total))
    tx = grid.x[cell] + rad * np.cos(ang)
    ty = grid.y[cell] + rad * np.sin(ang)
    accuracy = np.exp(rng.normal(math.log(6.0), 0.6, total))
    u = rng.random(total)
    accuracy = np.where(u < 0.04, rng.uniform(50, 400, total), accuracy)
    accuracy = np.where(u < 0.004, rng.uniform(1200, 5000, total), accuracy)
    # For a 2-D Gaussian error the 68 % radius is 1.515 sigma per axis.
    sigma_km = accuracy / 1.515 / 1000.0
    rx = tx + rng.normal(0, 1, total) * sigma_km
    ry = ty + rng.normal(0, 1, total) * sigma_km
    lat, lon = grid.box.to_latlon(rx, ry)
    speed = np.where(mode == MODE_ROAD, rng.uniform(3, 15, total), rng.uniform(0, 1.5, total))
    speed = np.where(rng.random(total) < 0.0005, rng.uniform(55, 90, total), speed)  # GPS glitch
    speed = np.where(rng.random(total) < 0.3, np.nan, speed)  # many apps leave speed out

    # Signal: the cell's true mean (before or after the new site) on every radio of the
    # reading's operator that the phone supports, the handset's offset and fast fading; the
    # phone camps as idle mode selects (``select_radio``) and reports that radio's value,
    # rounded to whole dB as phones report it.
    offset = np.array([m[1] for m in HANDSET_MODELS])[residents.handset[res]]
    fading = rng.normal(0, FAST_FADING_SD_DB, total)
    own = np.full((len(RADIOS), total), -np.inf)
    own_server = np.full((len(RADIOS), total), -1, dtype=np.int32)
    other_camps = np.zeros(total, dtype=bool)
    for (o, r), values in field.items():
        true = values[cell].astype(np.float64)
        if (o, r) in field_before:
            early = observed < built_at_s
            before, _ = field_before[(o, r)]
            true = np.where(early, before[cell], true)
        level_here = np.where(supports[r], true + offset + fading, -np.inf)
        mine = op == o
        own[r, mine] = level_here[mine]
        serving = server[(o, r)][cell[mine]]
        if (o, r) in field_before:
            serving = np.where(
                observed[mine] < built_at_s, field_before[(o, r)][1][cell[mine]], serving
            )
        own_server[r, mine] = serving
        other_camps |= ~mine & (level_here >= CAMPING_MIN_DBM[RADIOS[r]])
    chosen = select_radio(own)
    no_service = chosen < 0
    emergency_only = no_service & other_camps
    # A phone without service reports the newest radio it would use with its operator (the
    # network type its app sees); a phone with service the radio it camps on.
    runs = np.array([[o.runs(radio) for radio in RADIOS] for o in operators])[op].T
    newest = np.full(total, RADIOS.index(Radio.LTE), dtype=np.int64)
    for kind in reversed(RADIO_PRIORITY):
        if kind in RADIOS:
            row = RADIOS.index(kind)
            newest = np.where(supports[row] & runs[row], row, newest)
    radio = np.where(no_service, newest, chosen).astype(np.int8)
    picked = np.maximum(chosen, 0)
    measured = np.round(own[picked, np.arange(total)])
    serving = own_server[picked, np.arange(total)]
    level = np.full(total, -1, dtype=np.int8)
    for r, radio_kind in enumerate(RADIOS):
        sel = (radio == r) & ~no_service
        measured[sel] = np.minimum(measured[sel], SIGNAL_RANGES[radio_kind].max_dbm)
        level[sel] = bars_of(measured[sel], radio_kind)

    # Manual reports: people report more where the signal is bad (3 % of readings in coverage,
    # up to 18 % below 1 bar). Their bars are off by one now and then; calls fail mostly at
    # 0-1 bar.
    manual = rng.random(total) < 0.03 + 0.15 * ((level <= 0) | no_service)
    level = np.where(no_service, 0, level)
    slip = rng.choice([-1, 0, 1], size=total, p=[0.08, 0.84, 0.08])
    level = np.clip(level + slip * (level > 0), 0, 4).astype(np.int8)
    calls_fail = (rng.random(total) < np.where(level <= 1, 0.8, 0.05)).astype(np.int8)
    source = np.where(manual, SOURCE_REPORTER, SOURCE_AUTO).astype(np.int8)
    # A resident names the radio from the screen's icon, or does not; without service there
    # is no icon to name.
    named = ~no_service & (rng.random(total) < MANUAL_RADIO_KNOWN)
    radio = np.where(manual & ~named, UNKNOWN_RADIO, radio).astype(np.int8)

    # Upload: apps send within the hour when they have data; readings taken without service
    # wait in the queue until the phone is back in coverage (hours to days).
    delay = rng.exponential(2700.0, total)
    queued = no_service | (level <= 0)
    delay = np.where(queued, np.exp(rng.normal(math.log(10 * 3600), 1.0, total)), delay)
    uploaded = np.minimum(observed + delay.astype(np.int64) + 1, now_s)

    signal = np.where(manual | no_service, np.nan, measured).astype(np.float32)
    return ReadingColumns(
        device=(first + res).astype(np.int32),
        seq=seq,
        observed_s=observed.astype(np.int64),
        uploaded_s=uploaded.astype(np.int64),
        cell=cell.astype(np.int32),
        lat=np.round(lat, 6),
        lon=np.round(lon, 6),
        accuracy_m=np.where(
            manual & (rng.random(total) < 0.5), np.nan, np.round(accuracy, 1)
        ).astype(np.float32),
        speed_mps=np.where(manual, np.nan, np.round(speed, 1)).astype(np.float32),
        operator=op.astype(np.int8),
        radio=radio.astype(np.int8),
        signal_dbm=signal,
        no_service=no_service & ~manual,
        emergency_only=emergency_only,
        level=np.where(manual, level, -1).astype(np.int8),
        calls_fail=np.where(manual, calls_fail, -1).astype(np.int8),
        transmitter=np.where(manual | no_service, -1, serving).astype(np.int32),
        source=source,
    )
