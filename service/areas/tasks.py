"""Tasks for village teams ("cần đo thêm"): the cells where one visit tells most about
people's signal, grouped per village into a walkable list.

The value of a visit is a value of information (Howard 1966), weighted by people: the
expected number of (cell, operator) calls that the visit makes right, each counted for
the people-equivalents of its cell, summed over the operators and over every cell the visit
informs. A call is made right when a pair not called dead today (``p_dead`` of
``service.engine.estimate`` below ``estimate_level``, no measured status) is dead and gets
called dead: a dead pair found, the issue's measure; or when a pair the estimate calls dead
is not and the call goes, worth ``level / (1 - level)`` found pairs (9 at 0.9), the rate at
which the level trades a wrong dead call against a missed one. A new dead call is made only
at ``p_dead`` >= level, so the level bounds the wrong ones it brings. Only calls that can
change count: a pair at ``p_dead`` 0.3 that a visit leaves near 0.3 stays "not dead" and
gains nothing, where the loss of perfect information (``p_dead`` itself, the rule before)
counted it in full; and valuing new calls net of their chance of being wrong, under that
rate (``(p - level) / (1 - level)``), found fewer (``docs/demo-accuracy.md``).

**Preposterior analysis** (Raiffa and Schlaifer 1961). The estimate's margin of a pair is
Gaussian, mean ``m`` and sd ``s`` dB (``p_dead = Phi(-m / s)``). A visit tells ``t`` dB²
of its variance: after it the mean is ``m + sqrt(t) Z`` and the sd ``sqrt(s² - t)``, so the
chance that the call changes and is right is an integral over Z, taken by Gauss-Legendre
over Z's quantiles where the call changes. What a standard visit (``VISIT_PHONES`` phones
per operator, ``VISIT_READINGS`` readings each, on two days; noise ``v`` from the
estimate's reading and device sd) tells a cell ``j`` and a cell ``i`` of its disk is the
kriging update of one observation, ``t_i = rho_ij² s_i² s_j² / (s_j² + v)``, with
``rho_ij`` the correlation of the estimate's field between them (its prior Matérn 3/2
covariance, ``service.engine.estimate.PRIOR_*``: the fitted ranges on the demo are 0.9-1.4
km, the prior's 1 km), over the disk within ``estimate_max_distance_m``, the distance at
which the estimate publishes. In the visited cell itself the visit tells all where it can
complete a measured call: a covered or weak one always (two phones are ``min_devices``),
a dead one where phones already there make ``min_devices_dead``. A pair beyond the
estimate's reach (no estimate published) is taken at the regional mean the estimate
reverts to there (the operator's mean estimated margin) with ``UNREACHED_SD_DB``, and a
visit gains it only within the estimate's reach of the visit, where it gets published.

Whose status: the province promised no dead zone at all, not only at homes. Highland
residents farm fields and coffee plots away from the village, travel roads and need to
call for help there. So a cell weighs the people living in it plus ``task_cell_weight``
people-equivalents (settings) for everyone who passes there, and the candidates are the
populated cells and every cell with readings or an estimate (within
``estimate_max_distance_m`` of evidence) in the area; beyond the estimate's reach an empty
cell is no candidate, nor counted as a neighbour. At equal uncertainty a populated cell
ranks first. ``benchmarks/tasks.py`` (top 40 tasks against the mean of three draws of 40
random unknown cells, truly dead pairs newly found; ``docs/demo-accuracy.md``) at seeds 3,
5, 7, 11, 13, 17: 1.95, 1.88, 1.66, 3.81, 2.75, 1.85 times (2.17 pooled), where the loss of
perfect information with a quarter share to the six neighbours found 0.99, 1.47, 1.83,
2.70, 2.71, 1.84 (1.88); 14-23 of the 40 tasks are populated (that rule: 16-34). Measured
again after the field stopped depending on the database's row order (1 December 2026):
1.65, 1.99, 1.30, 3.55, 2.14, 2.18 (1.94 pooled), seed 7 under the goal of 1.5. With an
empty cell at 35 people-equivalents (3 December 2026; 20 before): 2.27 times pooled over
seeds 4 and 14-21 (1.60 at the least) and 2.37 over seeds 22-29, held out (seed 27 at
1.35); 3-20 of the 40 tasks populated.

Tasks are picked greedily, each pick telling its disk what it tells, so that a
neighbour's visit is worth only what it adds (two cells side by side share most of their
information); a task's value never rises with another's pick. Greedy is within 1 - 1/e of
the best set for such diminishing returns (Nemhauser et al. 1978), and lazily revalued
(Minoux 1978). Each task belongs to the village with most people in its cell, else (a
field, a road) to the village with the nearest centre within a walk (``TEAM_WALK_M``), the
same whether the list is the province's, a commune's or the village's own; a village's
tasks are ordered as a walk (nearest next task) from the village centre.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

import h3
import numpy as np
from h3.api import basic_int as h3i
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from domain.localtime import VIETNAM_TZ, vietnam_date
from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL, RADIO_SCOPES
from service.areas.selection import AreaFilter
from service.engine.estimate import PRIOR_CELL_DB2, PRIOR_RANGE_KM, PRIOR_SILL_DB2, Covariance
from service.settings import Settings
from service.store.models import (
    CellEstimate,
    CellPopulation,
    CellStatus,
    Commune,
    ReadingRow,
    Village,
    VillageCell,
)

VISIT_PHONES = 2  # phones of each operator a team brings (the decision's min_devices)
VISIT_READINGS = 3  # readings per phone, on two days (min_readings, min_days)
UNREACHED_SD_DB = 12.0  # latent sd where no estimate reaches: rural shadowing 8-12 dB
MIN_SD_DB = 0.5  # an estimate's sd is kept at least this (a stored 0 would divide by 0)
MIN_POSTERIOR_SD_DB = 1e-3  # sd left once everything is told: the call is then certain
P_FLOOR = 1e-9  # probabilities kept off 0 and 1 (normal quantiles finite)
QUADRATURE_NODES = 8  # Gauss-Legendre nodes of the preposterior integral
_LEGENDRE = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
STALE_BATCH = 64  # cells revalued together by the lazy greedy
FAR_KM = 1e6  # distance given to padding: no correlation, beyond any reach
MIN_PAIR_VALUE = 1e-3  # calls: a pair that cannot bring more is not valued (below)
CHUNK_CELLS = 2_000  # cells valued at once: memory is cells x disk x operators x nodes
MAX_TASKS = 500
# How far a village team walks to a field or a road for a task: an hour at a walking speed
# of about 1.4 m/s (Bohannon 1997, comfortable gait of adults), on highland paths rounded
# down to 5 km. A cell in no village belongs to the village with the nearest centre within
# it, else to none (still a task in the province's or the commune's list).
TEAM_WALK_M = 5_000.0
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


@dataclass(frozen=True)
class Task:
    """One cell to visit: ``value`` in people (module doc), ``operators`` the SIMs to bring
    (largest share of the value first), ``reason`` a code the pages translate. Frozen: the
    kept lists hand the same tasks to every request."""

    h3: str
    rank: int
    reason: str
    people: float
    operators: list[str]
    value: float
    lat: float = 0.0
    lon: float = 0.0


@dataclass
class VillageTasks:
    code: str
    name: str
    tasks: list[str] = field(default_factory=list)  # h3 cells in walking order
    value: float = 0.0
    commune_name: str | None = None  # a province's list holds many a "Thôn 1"


REASONS = ("confirm_dead", "unmeasured", "uncertain")
"""confirm_dead: an operator is more likely dead than not, with readings too few to decide;
unmeasured: no readings of the operators that matter here; uncertain: otherwise."""


def rank_tasks(
    session: Session,
    settings: Settings,
    *,
    area: AreaFilter | None = None,
    operator: str = BEST_OF_ALL,
    radio: str = "any",
    limit: int = 40,
) -> list[Task]:
    """The ``limit`` most valuable visits in ``area`` (or the province) for ``operator``,
    most valuable first. Picked one at a time (module doc), so the first ``n`` of a longer
    list are the list of ``n``: the kept lists (``service.areas.task_plans``) rely on it.
    The candidates and their neighbours are the area's: a filtered list is no part of the
    province's (a cell at the area's edge has fewer neighbours to inform).

    ``radio``: a measured decision of that radio settles a cell; the estimate is the
    operator's in that scope over radios ('any' or 'broadband'; over all radios for one
    radio)."""
    operators = _operators(session, operator)
    if not operators:
        return []
    e, c = CellEstimate, CellStatus
    est = _columns(session, select(e.h3_cell, e.operator, e.p_dead, e.estimate_sd).where(
        e.operator.in_(operators),
        e.radio == (radio if radio in RADIO_SCOPES else ANY_SIGNAL),
        e.resolution == settings.h3_resolution,
    ), operators)  # fmt: skip
    stat = _columns(session, select(c.h3_cell, c.operator, c.status, c.readings, c.devices).where(
        c.operator.in_(operators), c.radio == radio, c.resolution == settings.h3_resolution
    ), operators)  # fmt: skip
    people = _people(session)
    # Candidates: where people live, and every cell with readings or within the estimate's
    # reach (a field, a road: module doc), in the area.
    candidates = {*people, *est.cells.tolist(), *stat.cells.tolist()}
    cells = _in_area(candidates, area)
    if area is not None and (area.village is not None or area.polygon is None):
        # An area made of village cells (a village, a commune without its polygon) also
        # holds the fields its villages' teams walk to, as the province's village lists
        # do (``group_by_village``): the page a village's QR code opens lists them too.
        cells = np.union1d(cells, _fields_of(session, candidates, area.villages))
    if not len(cells):
        return []
    shape = (len(operators), len(cells))
    # Beyond the estimate's reach: the field's whole spread (its mean below).
    p_dead, sd = np.full(shape, 0.5), np.full(shape, UNREACHED_SD_DB)
    reached, settled = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    readings, devices = np.zeros(shape), np.zeros(shape)
    pairs, kept = est.rows_in(cells)
    p_dead[pairs] = est.values[2][kept]
    sd[pairs] = np.maximum(est.values[3][kept].astype(float), MIN_SD_DB)
    reached[pairs] = True
    pairs, kept = stat.rows_in(cells)
    readings[pairs], devices[pairs] = stat.values[3][kept], stat.values[4][kept]
    settled[pairs] = stat.values[2][kept] != "unknown"
    from scipy.special import ndtr, ndtri

    # The estimate's field in dB: p_dead = Phi(-mean / sd) (service/engine/estimate.py).
    # Beyond its reach the estimate reverts to the regional mean with the field's whole
    # variance: here each operator's mean estimated margin over the cells it reaches.
    mean = -sd * ndtri(np.clip(p_dead, P_FLOOR, 1.0 - P_FLOOR))
    for k, regional in enumerate(_regional_means(est, len(operators))):
        mean[k, ~reached[k]] = regional
        p_dead[k, ~reached[k]] = ndtr(-regional / UNREACHED_SD_DB)
    called = reached & (p_dead >= settings.estimate_level)
    visit_var = (
        settings.estimate_reading_sd_db**2 / (VISIT_PHONES * VISIT_READINGS)
        + settings.estimate_device_sd_db**2 / VISIT_PHONES
    )
    # A visit completes a measured call in its own cell (perfect information there): a
    # covered or weak one always (two phones are min_devices), a dead one where a phone
    # already reported (min_devices_dead); a call the estimate makes dead is corrected by
    # the visit's measured covered or weak call if it is wrong.
    complete = called | (devices + VISIT_PHONES >= settings.min_devices_dead)
    living = np.array([people.get(int(cell), 0.0) for cell in cells])
    weights = living + settings.task_cell_weight  # people-equivalents (module doc)
    # Each cell's disk (itself first) as rows of ``cells``, ``len(cells)`` where the
    # neighbour is no candidate; the squared correlation of the field with it.
    rings = _reach_rings(settings)
    neighbours, distance_km = _disks(cells, rings)
    smooth = Covariance(PRIOR_SILL_DB2, PRIOR_RANGE_KM, PRIOR_CELL_DB2)
    rho2 = (smooth.at(distance_km) / smooth.total) ** 2
    rho2[:, 0] = 1.0
    # A pair beyond the estimate's reach is published again only within it of the visit.
    within = distance_km * 1000.0 <= settings.estimate_max_distance_m + 1e-6
    learned = np.zeros(shape)  # variance of the field already told by the picked visits
    level = settings.estimate_level

    # A pair's value is at most what perfect information would bring (p_dead, or the
    # wrong call's chance times its rate): pairs that cannot bring a thousandth of a call
    # (settled, or a measured operator's cells far from the level) are left out.
    bound = np.where(called, (1.0 - p_dead) * level / (1.0 - level), p_dead)
    live = (~settled) & (bound >= MIN_PAIR_VALUE) & (weights > 0)[None]

    def worth(ops: np.ndarray, at: np.ndarray, told: np.ndarray) -> np.ndarray:
        """People-equivalents x calls made right (module doc) for the pairs (``ops[n]``,
        ``at[n]``) once ``told[n]`` dB² of their variance is told."""
        value = _calls_righted(
            mean[ops, at], sd[ops, at], told, called=called[ops, at], level=level
        )
        return np.asarray(weights[at] * value, dtype=float)

    told_worth = np.zeros(shape)
    ops, at = np.nonzero(live)
    told_worth[ops, at] = worth(ops, at, learned[ops, at])

    def gains_of(at: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(gain, ring, delta): the gain (len(at), operators) of a visit to each cell of
        ``at``, over its disk; and per operator the variance it tells each disk cell.
        Nothing where every operator is settled (a team goes to the unsettled neighbours)."""
        ring = neighbours[at]
        known = ring < len(cells)
        ring0 = np.where(known, ring, 0)
        here = np.maximum(sd[:, at] ** 2 - learned[:, at], 0.0)  # (K, A)
        there = np.maximum(sd[:, ring0] ** 2 - learned[:, ring0], 0.0)  # (K, A, S)
        delta = rho2[at][None] * there * (here / (here + visit_var))[..., None]
        delta[:, :, 0] = np.where(complete[:, at], here, delta[:, :, 0])
        delta = np.where(known[None] & (reached[:, ring0] | within[at][None]), delta, 0.0)
        gain = np.zeros(delta.shape)
        k, a, n = np.nonzero(live[:, ring0] & known[None] & (delta > 0))
        cell = ring0[a, n]
        after = worth(k, cell, learned[k, cell] + delta[k, a, n])
        gain[k, a, n] = np.maximum(after - told_worth[k, cell], 0.0)
        gain = gain.sum(axis=2)
        return np.where((~settled[:, at]).any(axis=0), gain, 0.0).T, ring0, delta

    gains = np.zeros((len(cells), len(operators)))
    for chunk in np.array_split(np.arange(len(cells)), max(1, len(cells) // CHUNK_CELLS)):
        gains[chunk] = gains_of(chunk)[0]
    values = gains.sum(axis=1)
    # Lazy greedy (Minoux 1978): a value only falls as visits are picked (below), so a
    # cell near a pick is revalued only when it comes to the top of the heap.
    heap = [(-float(v), int(i)) for i, v in enumerate(values) if v > 0]
    heapq.heapify(heap)
    stale = np.zeros(len(cells), dtype=bool)
    tasks: list[Task] = []
    while heap and len(tasks) < min(limit, MAX_TASKS):
        top, i = heapq.heappop(heap)
        if -top != values[i] or values[i] <= 0:
            continue  # an older entry of a revalued cell
        if stale[i]:
            # Revalue it with the next stale cells of the heap at once (one array call).
            batch = [i]
            while heap and len(batch) < STALE_BATCH and stale[heap[0][1]]:
                key, j = heapq.heappop(heap)
                if -key == values[j] and j not in batch:
                    batch.append(j)
            at = np.array(batch)
            # Told together, two visits can turn a call neither turns alone, but a task's
            # value never rises with another's (greedy assumes diminishing returns).
            fresh = gains_of(at)[0]
            shrink = np.minimum(1.0, values[at] / np.maximum(fresh.sum(axis=1), 1e-12))
            gains[at] = fresh * shrink[:, None]
            values[at], stale[at] = gains[at].sum(axis=1), False
            for j in batch:
                if values[j] > 0:
                    heapq.heappush(heap, (-float(values[j]), j))
            continue
        by_op = gains[i]
        order = np.argsort(-by_op, kind="stable")
        bring = [operators[k] for k in order if by_op[k] >= 0.1 * values[i]]
        lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cells[i])))
        tasks.append(
            Task(
                h3=h3.int_to_str(int(cells[i])), rank=len(tasks) + 1,
                reason=_reason(p_dead[:, i], readings[:, i], ~settled[:, i]),
                people=round(float(living[i]), 1), operators=bring,
                value=round(float(values[i]), 3), lat=lat, lon=lon,
            )
        )  # fmt: skip
        values[i] = 0.0
        # What the visit tells: its disk's variance, and the value left there.
        _, ring0, delta = gains_of(np.array([i]))
        disk = neighbours[i][neighbours[i] < len(cells)]
        for k in range(len(operators)):
            np.add.at(learned[k], ring0[0], delta[k, 0])  # padding adds 0 to row 0
        ops, at = np.nonzero(live[:, disk])
        told_worth[ops, disk[at]] = worth(ops, disk[at], learned[ops, disk[at]])
        near = neighbours[disk].ravel()
        stale[near[near < len(cells)]] = True
    return tasks


def _calls_righted(
    mean: np.ndarray, sd: np.ndarray, told: np.ndarray, *, called: np.ndarray, level: float
) -> np.ndarray:
    """Expected calls made right once ``told`` dB² of a pair's variance is learned: for a
    pair not called dead today, the chance that it is dead and then called dead (``p_dead``
    reaches ``level``); for one called dead, the chance that it is not and the call goes,
    times ``level / (1 - level)``.
    The pair's margin is Gaussian (``mean``, ``sd`` dB); the preposterior mean is Gaussian
    with variance ``told``, integrated by Gauss-Legendre over the quantiles of the
    outcomes that change the call (module doc)."""
    from scipy.special import ndtr, ndtri

    told = np.clip(told, 0.0, sd**2)
    spread = np.maximum(np.sqrt(told), 1e-9)  # sd of the preposterior mean
    post = np.maximum(np.sqrt(sd**2 - told), MIN_POSTERIOR_SD_DB)  # sd left after it
    # The call turns to dead where the new mean is below -z post, z the level's quantile.
    turn = ndtr((-ndtri(level) * post - mean) / spread)
    low, high = np.where(called, turn, 0.0), np.where(called, 1.0, turn)
    nodes, weights = _LEGENDRE
    u = low[..., None] + (high - low)[..., None] * (nodes + 1.0) / 2.0
    z = ndtri(np.clip(u, P_FLOOR, 1.0 - P_FLOOR))
    p_after = ndtr(-(mean[..., None] + spread[..., None] * z) / post[..., None])
    # A wrong dead call withdrawn is worth level / (1 - level) dead pairs found (module doc).
    right = np.where(called[..., None], (1.0 - p_after) * level / (1.0 - level), p_after)
    return np.asarray((high - low) / 2.0 * (right * weights).sum(axis=-1), dtype=float)


@dataclass
class _Rows:
    """A query's rows as columns: ``cells`` (H3 integers), ``op`` (the row of ``operators``
    of each), and every column (``values``, the cells first)."""

    cells: np.ndarray
    op: np.ndarray
    values: list[np.ndarray]

    def rows_in(self, cells: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """For the rows whose cell is one of ``cells`` (sorted): their (operator rows, cell
        rows), and their positions among these rows."""
        at = np.searchsorted(cells, self.cells).clip(max=max(len(cells) - 1, 0))
        kept = np.flatnonzero(cells[at] == self.cells) if len(cells) else np.zeros(0, int)
        return (self.op[kept], at[kept]), kept


def _columns(session: Session, query: Select[*tuple[Any, ...]], operators: list[str]) -> _Rows:
    """``query``'s rows (a cell, an operator, then values) as columns. Read through the
    connection, not the ORM: a province's field is 250,000 rows or more, which the ORM's
    rows cost a second of CPU to build (``benchmarks/task_plans.py``)."""
    rows = session.connection().execute(query).all()
    # Column by column (zip(*rows) over the rows cost five times as much).
    columns = [np.array([row[k] for row in rows]) for k in range(len(rows[0]))] if rows else []
    if not columns:
        empty = np.zeros(0)
        return _Rows(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
                     [empty] * len(query.selected_columns))  # fmt: skip
    names, op = np.unique(columns[1], return_inverse=True)
    row_of = np.array([operators.index(str(name)) for name in names])
    return _Rows(columns[0].astype(np.int64), row_of[op.reshape(-1)], columns)


def _regional_means(est: _Rows, operators: int) -> list[float]:
    """Each operator's mean estimated margin (dB) over the cells its estimate reaches (0,
    even odds, for an operator without any)."""
    from scipy.special import ndtri

    p = np.clip(est.values[2].astype(float), P_FLOOR, 1.0 - P_FLOOR)
    margin = -np.maximum(est.values[3].astype(float), MIN_SD_DB) * ndtri(p)
    return [float(margin[est.op == k].mean()) if (est.op == k).any() else 0.0
            for k in range(operators)]  # fmt: skip


def _reach_rings(settings: Settings) -> int:
    """Rings of cells a visit informs: those within ``estimate_max_distance_m``, as the
    estimate publishes (``service.engine.estimate.candidate_cells``)."""
    spacing_m = h3.average_hexagon_edge_length(settings.h3_resolution, "m") * math.sqrt(3.0)
    return max(1, math.ceil(settings.estimate_max_distance_m / spacing_m))


def _disks(cells: np.ndarray, rings: int) -> tuple[np.ndarray, np.ndarray]:
    """(cells, slots) each cell's disk of ``rings`` as rows of ``cells`` (sorted), itself
    first, ``len(cells)`` where the neighbour is no candidate (or a pentagon has fewer);
    and the distance to each, km (``FAR_KM`` for the padding)."""
    pad, slots = len(cells), 1 + 3 * rings * (rings + 1)
    rows = np.full((len(cells), slots), pad, dtype=np.int64)
    rows[:, 0] = np.arange(len(cells))
    disks = [h3i.grid_disk(cell, rings) for cell in cells.tolist()]
    # The disks as one array (the neighbours looked up at once, by bisection into the
    # sorted cells: a dict per neighbour cost most of a province's list); a pentagon's
    # shorter disk is done alone.
    full = [i for i, disk in enumerate(disks) if len(disk) == slots]
    if full:
        around = np.array([disks[i] for i in full], dtype=np.int64)
        others = around[around != cells[full][:, None]].reshape(len(full), slots - 1)
        at = np.searchsorted(cells, others).clip(max=pad - 1)
        rows[full, 1:] = np.where(cells[at] == others, at, pad)
    for i in set(range(len(cells))) - set(full):
        found = [n for n in disks[i] if n != int(cells[i])]
        at = np.searchsorted(cells, found).clip(max=pad - 1)
        rows[i, 1 : 1 + len(found)] = np.where(cells[at] == np.array(found), at, pad)
    centres = np.radians(np.array([h3i.cell_to_latlng(int(c)) for c in cells]).reshape(-1, 2))
    centres = np.vstack([centres, [[np.nan, np.nan]]])
    lat, lon = centres[rows, 0], centres[rows, 1]
    # Equirectangular: within a few km its error is far under a cell.
    dx = (lon - lon[:, :1]) * np.cos(lat[:, :1])
    distance = EARTH_RADIUS_M / 1000.0 * np.hypot(dx, lat - lat[:, :1])
    return rows, np.where(rows < pad, distance, FAR_KM)


def _reason(p_dead: np.ndarray, readings: np.ndarray, open_ops: np.ndarray) -> str:
    if (open_ops & (p_dead >= 0.5) & (readings > 0)).any():
        return "confirm_dead"
    if not (open_ops & (readings > 0)).any():
        return "unmeasured"
    return "uncertain"


def _people(session: Session) -> dict[int, float]:
    rows = session.execute(
        select(CellPopulation.h3_cell, CellPopulation.people).where(CellPopulation.people > 0)
    ).all()
    return {int(cell): float(people) for cell, people in rows}


def _fields_of(session: Session, candidates: set[int], villages: frozenset[str]) -> np.ndarray:
    """The ``candidates`` in no village whose nearest village centre within ``TEAM_WALK_M``
    is one of ``villages``."""
    in_villages = set(session.scalars(select(VillageCell.h3_cell).distinct()))
    loose = sorted(int(c) for c in candidates if int(c) not in in_villages)
    owners = _field_villages(session, loose)
    return np.array([c for c in loose if owners.get(c) in villages], dtype=np.int64)


def _field_villages(session: Session, cells: list[int]) -> dict[int, str]:
    """Each of ``cells`` (H3 integers) to the village with the nearest centre within
    ``TEAM_WALK_M``, among all villages; a cell with none is left out."""
    centres = session.execute(select(Village.code, Village.lat, Village.lon)).all()
    if not cells or not centres:
        return {}
    # scikit-learn's ball tree answers nearest-centre queries on the sphere in n log m;
    # imported here, as the estimate does, so that a server's start does not load it.
    from sklearn.neighbors import BallTree

    tree = BallTree(np.radians([[lat, lon] for _, lat, lon in centres]), metric="haversine")
    points = np.radians([h3i.cell_to_latlng(c) for c in cells]).reshape(-1, 2)
    distance, nearest = tree.query(points, k=1)
    codes = [str(code) for code, _, _ in centres]
    return {
        cell: codes[int(k)]
        for cell, d, k in zip(cells, distance[:, 0], nearest[:, 0], strict=True)
        if d * EARTH_RADIUS_M <= TEAM_WALK_M
    }


def _in_area(cells: set[int], area: AreaFilter | None) -> np.ndarray:
    """``cells`` (H3 integers) in ``area``, sorted (ties in value go to the lower cell)."""
    found = np.array(sorted(cells), dtype=np.int64)
    return found if area is None else found[area.contains(found.tolist())]


def _operators(session: Session, operator: str) -> list[str]:
    if operator != BEST_OF_ALL:
        return [operator]
    found = session.scalars(
        select(CellStatus.operator).where(CellStatus.operator != BEST_OF_ALL).distinct()
    ).all()
    # Decisions of the best of all alone (imported from elsewhere): any SIM will do.
    return sorted(str(op) for op in found) or [BEST_OF_ALL]


def group_by_village(
    session: Session, tasks: list[Task], area: AreaFilter | None
) -> list[VillageTasks]:
    """Each task to the village with most people in its cell, else (a field, a road) to the
    village with the nearest centre within ``TEAM_WALK_M`` (``_field_villages``) when it is
    one of the area's; villages by total value, and within one the tasks as a walk from the
    centre (nearest next)."""
    if not tasks:
        return []
    wanted = [h3.str_to_int(t.h3) for t in tasks]
    owner: dict[int, tuple[float, str]] = {}
    for cell, code, people in session.execute(
        select(VillageCell.h3_cell, VillageCell.village_code, VillageCell.people).where(
            VillageCell.h3_cell.in_(wanted)
        )
    ):
        if area is not None and area.village is not None and code != area.village:
            continue
        if int(cell) not in owner or people > owner[int(cell)][0]:
            owner[int(cell)] = (float(people), str(code))
    unowned = [h3.str_to_int(t.h3) for t in tasks if h3.str_to_int(t.h3) not in owner]
    fields = {
        cell: code
        for cell, code in _field_villages(session, unowned).items()
        if area is None or code in area.villages
    }
    owned = {code for _, code in owner.values()} | set(fields.values())
    query = (
        select(Village.code, Village.name, Village.lat, Village.lon, Commune.name)
        .outerjoin(Commune, Commune.code == Village.commune_code)
        .where(Village.code.in_(sorted(owned)))
    )
    centres = {
        str(code): (name, lat, lon, commune)
        for code, name, lat, lon, commune in session.execute(query)
    }
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        found = owner.get(h3.str_to_int(task.h3))
        chosen = found[1] if found is not None else fields.get(h3.str_to_int(task.h3))
        if chosen is not None and chosen in centres:
            groups.setdefault(chosen, []).append(task)
    villages = []
    for code, members in groups.items():
        name, lat, lon, commune = centres[code]
        walk = _walk(members, start=(lat, lon))
        villages.append(
            VillageTasks(
                code,
                name,
                [t.h3 for t in walk],
                round(sum(t.value for t in walk), 3),
                commune_name=commune,
            )  # fmt: skip
        )
    return sorted(villages, key=lambda v: (-v.value, v.code))


def _walk(tasks: list[Task], *, start: tuple[float, float]) -> list[Task]:
    """Nearest-next order from ``start``: a short walk for a handful of stops."""
    left = list(tasks)
    here = start
    order = []
    while left:
        nearest = min(left, key=lambda t: _metres(here, (t.lat, t.lon)))
        order.append(nearest)
        left.remove(nearest)
        here = (nearest.lat, nearest.lon)
    return order


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(h3.great_circle_distance(a, b, "m")) if a != b else 0.0


def nearest_task(tasks: list[Task], *, lat: float, lon: float) -> Task | None:
    """The open task closest to a position (the reporter page's survey mode)."""
    if not tasks:
        return None
    return min(tasks, key=lambda t: _metres((lat, lon), (t.lat, t.lon)))


def tasks_to_geojson(
    tasks: list[Task], villages: list[VillageTasks], *, operator: str, radio: str
) -> dict[str, Any]:
    """A FeatureCollection of points with exactly the task properties, and the villages'
    walking lists as a foreign member (RFC 7946 section 6.1)."""
    return {
        "type": "FeatureCollection",
        "operator": operator,
        "radio": radio,
        "features": [
            {
                "type": "Feature",
                "id": t.h3,
                "geometry": {"type": "Point", "coordinates": [round(t.lon, 6), round(t.lat, 6)]},
                "properties": {
                    "h3": t.h3,
                    "rank": t.rank,
                    "reason": t.reason,
                    "people": t.people,
                    "operators": t.operators,
                    "value": t.value,
                },  # fmt: skip
            }
            for t in tasks
        ],
        "villages": [
            {
                "code": v.code,
                "name": v.name,
                "commune_name": v.commune_name,
                "tasks": v.tasks,
                "value": v.value,
            }
            for v in villages
        ],  # fmt: skip
    }


NEARBY_VILLAGE_M = 3000.0  # a resident farther than this from every village centre has none


def nearby(
    session: Session,
    settings: Settings,
    *,
    lat: float,
    lon: float,
    now: datetime,
    tasks: list[Task] | None = None,
) -> dict[str, Any]:
    """What the reporter page shows a resident at (lat, lon): their village (the one whose
    cells hold the point, else the nearest centre within ``NEARBY_VILLAGE_M``) with its
    status, likely status and how many neighbours (distinct phones) reported in its cells
    this calendar month; and the nearest open task (best of all operators) of ``tasks``,
    the province's list (``rank_tasks`` with ``MAX_TASKS``; ranked here if not given)."""
    from service.areas.likely import likely_statuses
    from service.areas.progress import village_states

    cell = h3.str_to_int(h3.latlng_to_cell(lat, lon, settings.h3_resolution))
    code = session.scalar(
        select(VillageCell.village_code)
        .where(VillageCell.h3_cell == cell)
        .order_by(VillageCell.people.desc())
        .limit(1)
    )
    if code is None:
        best: tuple[float, str] | None = None
        for vcode, vlat, vlon in session.execute(select(Village.code, Village.lat, Village.lon)):
            d = _metres((lat, lon), (vlat, vlon))
            if d <= NEARBY_VILLAGE_M and (best is None or d < best[0]):
                best = (d, str(vcode))
        code = best[1] if best else None
    village: dict[str, Any] | None = None
    if code is not None:
        row = session.get(Village, code)
        assert row is not None
        state = next(
            s for s in village_states(session, settings, commune=row.commune_code)
            if s.code == code
        )  # fmt: skip
        likely = likely_statuses(session, [code], operator=BEST_OF_ALL).get(code)
        cells = select(VillageCell.h3_cell).where(VillageCell.village_code == code)
        # This month in Vietnam: from 00:00 on the 1st in Buôn Ma Thuột (17:00 UTC the day before).
        month = datetime.combine(vietnam_date(now).replace(day=1), time(), VIETNAM_TZ)
        reporters = session.scalar(
            select(func.count(func.distinct(ReadingRow.device_hash))).where(
                ReadingRow.h3_cell.in_(cells), ReadingRow.observed_at >= month
            )
        )
        village = {
            "code": code, "name": row.name, "status": state.status,
            "likely_status": likely.status if likely and state.status == "unknown" else None,
            "likely_probability": likely.probability
            if likely and state.status == "unknown" else None,
            "reporters_this_month": int(reporters or 0),
        }  # fmt: skip
    if tasks is None:
        tasks = rank_tasks(session, settings, limit=MAX_TASKS)
    task = nearest_task(tasks, lat=lat, lon=lon)
    return {
        "village": village,
        "task": None
        if task is None
        else {
            "h3": task.h3,
            "lat": round(task.lat, 6),
            "lon": round(task.lon, 6),
            "distance_m": round(_metres((lat, lon), (task.lat, task.lon))),
            "operators": task.operators,
            "reason": task.reason,
        },  # fmt: skip
    }
