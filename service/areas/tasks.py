"""Tasks for village teams ("cần đo thêm"): the cells where one visit tells most about
people's signal, grouped per village into a walkable list.

The value of a visit is a value of information (Howard 1966), weighted by people: for each
operator, the loss today is the expected number of people whose dead-or-not status is
called wrong. A pair with ``p_dead`` (``service.engine.estimate``) below ``estimate_level``
is not called dead, and is wrong with probability ``p_dead``; one at or above it is called
dead (inferred) and is wrong with probability ``1 - p_dead``: the value of perfect
information under the 0-1 loss of the product's own calls. The loss is zero where a
measured status is decided and 1/2 (nothing known) where the estimate does not reach.
(The Bernoulli variance ``p (1 - p)`` used before, with 1/4 where nothing is known, is the
value of information under the Brier score; ``benchmarks/tasks.py`` as it was then, seeds
3, 5, 7, top 40 tasks against every populated unknown cell: 1.59, 0.70, 1.60 times the
truly dead pairs found with it, 3.19, 0.85, 1.57 with this loss.) A
standard visit (``VISIT_PHONES`` phones per operator, ``VISIT_READINGS`` readings each, on two
days, the evidence a measured decision asks for) shrinks the cell's latent variance from
``sd²`` to ``sd² v / (sd² + v)`` with ``v`` the visit's noise; the share of the loss
removed is taken as ``1 - sqrt(v / (sd² + v))`` (for a Gaussian latent near the threshold
the chance of a wrong call shrinks like its sd). Neighbouring cells learn
``NEIGHBOUR_SHARE`` of that (they share the smooth field, not the cell-scale part). The
value of a cell is the sum, over operators and over the cell and its six neighbours, of
weight x loss removed: the expected number of people whose dead-or-not status the visit
turns from wrong to right.

Whose status: the province promised no dead zone at all, not only at homes. Highland
residents farm fields and coffee plots away from the village, travel roads and need to
call for help there. So a cell weighs the people living in it plus ``task_cell_weight``
people-equivalents (settings) for everyone who passes there, and the candidates are the
populated cells and every cell with readings or an estimate (within
``estimate_max_distance_m`` of evidence) in the area; beyond the estimate's reach an empty
cell is no candidate, nor counted as a neighbour. At equal uncertainty a populated cell
ranks first. With the default (20), ``benchmarks/tasks.py`` at seeds 3, 5, 7, 11 (top 40
tasks against 40 random unknown cells, truly dead pairs newly found): 0.98, 1.47, 1.84,
2.70 times (1.70 pooled; 0.37, 0.59, 1.02, 0.92 with people alone), and in populated
cells 12.0, 1.80, 1.37, 1.40 (1.80 pooled; 2.14 with people alone); 16-34 of the 40 tasks
are populated (``docs/demo-accuracy.md``).

Tasks are picked greedily, each pick discounting what it already teaches its neighbours
(greedy is within 1 - 1/e of the best set for such diminishing returns, Nemhauser et al.
1978). Each task belongs to the village with most people in its cell, else (a field, a
road) to the village with the nearest centre within a walk (``TEAM_WALK_M``), the same
whether the list is the province's, a commune's or the village's own; a village's tasks
are ordered as a walk (nearest next task) from the village centre.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import h3
import numpy as np
from h3.api import basic_int as h3i
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL, RADIO_SCOPES
from service.areas.selection import AreaFilter
from service.settings import Settings
from service.store.models import (
    CellEstimate,
    CellPopulation,
    CellStatus,
    ReadingRow,
    Village,
    VillageCell,
)

VISIT_PHONES = 2  # phones of each operator a team brings (the decision's min_devices)
VISIT_READINGS = 3  # readings per phone, on two days (min_readings, min_days)
NEIGHBOUR_SHARE = 0.25  # of a visit's variance reduction that reaches each neighbour cell
UNREACHED_SD_DB = 12.0  # latent sd where no estimate reaches: rural shadowing 8-12 dB
MAX_TASKS = 500
# How far a village team walks to a field or a road for a task: an hour at a walking speed
# of about 1.4 m/s (Bohannon 1997, comfortable gait of adults), on highland paths rounded
# down to 5 km. A cell in no village belongs to the village with the nearest centre within
# it, else to none (still a task in the province's or the commune's list).
TEAM_WALK_M = 5_000.0
EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius


@dataclass
class Task:
    """One cell to visit: ``value`` in people (module doc), ``operators`` the SIMs to bring
    (largest share of the value first), ``reason`` a code the pages translate."""

    h3: str
    rank: int
    reason: str
    people: float
    operators: list[str]
    value: float
    village: str | None = None
    lat: float = 0.0
    lon: float = 0.0


@dataclass
class VillageTasks:
    code: str
    name: str
    tasks: list[str] = field(default_factory=list)  # h3 cells in walking order
    value: float = 0.0


REASONS = ("confirm_dead", "unmeasured", "uncertain")
"""confirm_dead: an operator is more likely dead than not, with readings too few to decide;
unmeasured: no readings of the operators that matter here; uncertain: otherwise."""


def plan_tasks(
    session: Session,
    settings: Settings,
    *,
    area: AreaFilter | None = None,
    operator: str = BEST_OF_ALL,
    radio: str = "any",
    limit: int = 40,
) -> tuple[list[Task], list[VillageTasks]]:
    """The ``limit`` most valuable visits in ``area`` (or the province) for ``operator``
    (``any``: every operator with evidence), and the villages they fall in.

    ``radio``: a measured decision of that radio settles a cell; the estimate is the
    operator's in that scope over radios ('any' or 'broadband'; over all radios for one
    radio)."""
    operators = _operators(session, operator)
    if not operators:
        return [], []
    op_row = {op: k for k, op in enumerate(operators)}
    e, c = CellEstimate, CellStatus
    estimates = session.execute(
        select(e.h3_cell, e.operator, e.p_dead, e.estimate_sd).where(
            e.operator.in_(operators),
            e.radio == (radio if radio in RADIO_SCOPES else ANY_SIGNAL),
            e.resolution == settings.h3_resolution,
        )
    ).all()
    statuses = session.execute(
        select(c.h3_cell, c.operator, c.status, c.readings).where(
            c.operator.in_(operators), c.radio == radio, c.resolution == settings.h3_resolution
        )
    ).all()
    people = _people(session)
    # Candidates: where people live, and every cell with readings or within the estimate's
    # reach (a field, a road: module doc), in the area.
    candidates = {*people, *(int(r[0]) for r in estimates), *(int(r[0]) for r in statuses)}
    cells = _in_area(candidates, area)
    if area is not None and (area.village is not None or area.polygon is None):
        # An area made of village cells (a village, a commune without its polygon) also
        # holds the fields its villages' teams walk to, as the province's village lists
        # do (``_group_by_village``): the page a village's QR code opens lists them too.
        cells = np.union1d(cells, _fields_of(session, candidates, area.villages))
    if not len(cells):
        return [], []
    index = {int(cell): i for i, cell in enumerate(cells)}
    shape = (len(operators), len(cells))
    uncertainty, sd = np.full(shape, 0.5), np.full(shape, UNREACHED_SD_DB)
    p_dead, readings = np.full(shape, 0.5), np.zeros(shape)
    for cell, op, p, s in estimates:
        i = index.get(int(cell))
        if i is not None:
            k = op_row[op]
            p_dead[k, i], sd[k, i] = p, s
            uncertainty[k, i] = 1.0 - p if p >= settings.estimate_level else p
    for cell, op, status, n in statuses:
        i = index.get(int(cell))
        if i is not None:
            readings[op_row[op], i] = n
            if status != "unknown":
                uncertainty[op_row[op], i] = 0.0
    visit_var = (
        settings.estimate_reading_sd_db**2 / (VISIT_PHONES * VISIT_READINGS)
        + settings.estimate_device_sd_db**2 / VISIT_PHONES
    )
    removed = 1.0 - np.sqrt(visit_var / (sd**2 + visit_var))  # share of uncertainty removed

    living = np.array([people.get(int(cell), 0.0) for cell in cells])
    weights = living + settings.task_cell_weight  # people-equivalents (module doc)
    # Each cell's ring as rows of ``cells``; ``len(cells)`` where the neighbour is no
    # candidate (outside the area, beyond the estimate's reach): it adds nothing.
    neighbours = _neighbours(cells, index)

    def gains_of(at: np.ndarray) -> np.ndarray:
        """(len(at), operators): people-equivalents x uncertainty removed by a visit to
        each cell of ``at``, in it and its neighbours; nothing where every operator is
        settled (a team goes to the unsettled neighbours)."""
        ring = neighbours[at]
        known = ring < len(cells)
        ring = np.where(known, ring, 0)
        near = (weights[ring] * uncertainty[:, ring] * known).sum(axis=2)
        own = weights[at] * uncertainty[:, at]
        gain = removed[:, at] * (own + NEIGHBOUR_SHARE * near)
        return np.where(uncertainty[:, at].any(axis=0), gain, 0.0).T

    gains = gains_of(np.arange(len(cells)))
    values = gains.sum(axis=1)
    tasks: list[Task] = []
    for rank in range(1, min(limit, MAX_TASKS, len(cells)) + 1):
        i = int(np.argmax(values))
        if values[i] <= 0:
            break
        by_op = gains[i]
        order = np.argsort(-by_op, kind="stable")
        bring = [operators[k] for k in order if by_op[k] >= 0.1 * values[i]]
        lat, lon = h3.cell_to_latlng(h3.int_to_str(int(cells[i])))
        tasks.append(
            Task(
                h3=h3.int_to_str(int(cells[i])), rank=rank,
                reason=_reason(p_dead[:, i], readings[:, i], uncertainty[:, i]),
                people=round(float(living[i]), 1), operators=bring,
                value=round(float(values[i]), 3), lat=lat, lon=lon,
            )
        )  # fmt: skip
        # What the visit teaches: the cell's uncertainty goes, its neighbours' shrinks.
        near = neighbours[i][neighbours[i] < len(cells)]
        uncertainty[:, i] *= 1.0 - removed[:, i]
        uncertainty[:, near] *= 1.0 - removed[:, [i]] * NEIGHBOUR_SHARE
        values[i] = 0.0
        touched = np.unique(np.concatenate([near, neighbours[near].ravel()]))
        touched = touched[touched < len(cells)]
        touched = touched[values[touched] > 0]
        gains[i] = gains_of(np.array([i]))[0]
        if len(touched):
            gains[touched] = gains_of(touched)
            values[touched] = gains[touched].sum(axis=1)
    villages = _group_by_village(session, tasks, area)
    return tasks, villages


def _reason(p_dead: np.ndarray, readings: np.ndarray, uncertainty: np.ndarray) -> str:
    open_ops = uncertainty > 0
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


def _neighbours(cells: np.ndarray, index: dict[int, int]) -> np.ndarray:
    """(cells, 6): each cell's ring of neighbours as rows of ``cells``; ``len(cells)`` where
    the neighbour is no candidate (or a pentagon has five)."""
    pad = len(cells)
    rows = np.full((len(cells), 6), pad, dtype=np.int64)
    for i, cell in enumerate(cells.tolist()):
        for k, n in enumerate(h3i.grid_ring(cell, 1)):
            rows[i, k] = index.get(n, pad)
    return rows


def _operators(session: Session, operator: str) -> list[str]:
    if operator != BEST_OF_ALL:
        return [operator]
    found = session.scalars(
        select(CellStatus.operator).where(CellStatus.operator != BEST_OF_ALL).distinct()
    ).all()
    # Decisions of the best of all alone (imported from elsewhere): any SIM will do.
    return sorted(str(op) for op in found) or [BEST_OF_ALL]


def _group_by_village(
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
    query = select(Village.code, Village.name, Village.lat, Village.lon).where(
        Village.code.in_(sorted(owned))
    )
    centres = {str(code): (name, lat, lon) for code, name, lat, lon in session.execute(query)}
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        found = owner.get(h3.str_to_int(task.h3))
        chosen = found[1] if found is not None else fields.get(h3.str_to_int(task.h3))
        if chosen is not None and chosen in centres:
            task.village = chosen
            groups.setdefault(chosen, []).append(task)
    villages = []
    for code, members in groups.items():
        name, lat, lon = centres[code]
        walk = _walk(members, start=(lat, lon))
        villages.append(
            VillageTasks(code, name, [t.h3 for t in walk], round(sum(t.value for t in walk), 3))
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
            {"code": v.code, "name": v.name, "tasks": v.tasks, "value": v.value} for v in villages
        ],
    }


NEARBY_VILLAGE_M = 3000.0  # a resident farther than this from every village centre has none


def nearby(
    session: Session, settings: Settings, *, lat: float, lon: float, now: datetime
) -> dict[str, Any]:
    """What the reporter page shows a resident at (lat, lon): their village (the one whose
    cells hold the point, else the nearest centre within ``NEARBY_VILLAGE_M``) with its
    status, likely status and how many neighbours (distinct phones) reported in its cells
    this calendar month; and the nearest open task (best of all operators)."""
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
        month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
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
    tasks, _ = plan_tasks(session, settings, limit=MAX_TASKS)
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
