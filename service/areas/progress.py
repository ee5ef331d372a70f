"""Progress towards zero dead zones: village statuses, people covered, dated snapshots.

Village status, as Vietnamese authorities count villages (DESIGN.md "Who uses it"), from
the decisions of one operator scope (default 'any', the best of all operators) at the
working resolution, in one scope over radios: 'any' (any signal) or 'broadband' (LTE or NR;
the province's goal counts it by default, ``Settings.goal_radio``):

* ``trang_song`` (trắng sóng): the village's centre cell is ``dead``.
* ``unknown``: the centre cell is ``unknown`` or has no decision: not enough readings. A
  task for the village's digital team, never counted as a success.
* ``lom_song`` (lõm sóng): the centre cell has signal (``covered`` or ``weak``: 1 bar or
  more is a signal) but at least one other *populated* village cell is ``dead``.
* ``covered``: the centre has signal and no populated village cell is dead (undecided
  cells of the village do not make it lõm sóng, but are counted in ``cells_unknown``).

Each status carries its evidence (``village_states(..., evidence=True)``): the decisions it
rests on are the centre cell's (trắng sóng, unknown), the centre's and the dead populated
cells' (lõm sóng), the centre's and the populated cells' with signal (covered); their
readings (summed), devices (the most behind one of those cells: a lower bound of the
distinct devices, since device sets are kept per cell) and newest reading. Its confidence
is the Wilson bound (``service.engine.decisions``) of the weakest decision it needs: the
centre's for trắng sóng and covered, the lesser of the centre's and the surest dead
cell's for lõm sóng, 0 for unknown.

"Village cells" are those of ``service.areas.population``: the cluster polygon's cells, or the
disk its people were spread over.

People covered (ITU SDG 9.c.1 style, "population covered by a mobile network", taking
the best operator): the share of people living in cells whose best-of-all decision is
``covered`` or ``weak`` (weak is 1 bar: within range of a signal, reported apart as
``people_weak``; the API shows ``people_well_covered``, 2 bars or more, beside it). People
in ``dead`` cells are not covered. The people of cells without a
measured decision are split by the estimated field (``service.engine.estimate``, its
``inferred_status`` for the best of all, in the same scope over radios):
``people_estimated_covered`` (estimated covered or weak), ``people_estimated_dead``
(estimated without signal) and ``people_unknown`` (neither measured nor estimated). Only
measured people count in ``covered_share``: an estimate is not a signal anyone has seen.

On-track verdict (``panel_trend``): the covered share rises both when coverage improves and
when covered places get measured for the first time; only the first is progress. So every
snapshot stores, besides its figures, the measured status of each populated cell, and
compares with the previous snapshot on a **fixed panel**: the populated cells measured
(covered, weak or dead) at both. The change of covered people in the panel, per panel person
and per day, is the rate of progress; newly measured places do not move it. Over the newest
``trend_snapshots`` snapshots the rates of the steps are averaged (weighted by days) with
their spread, and projected from today's level (people with signal among those with a
status, measured or estimated) to the deadline:

* ``reached``: the measured covered share already meets the goal;
* ``behind``: the deadline has passed, or even the optimistic projection (rate + 2 standard
  errors) falls short of the goal;
* ``on_track``: even the cautious projection (rate - 2 standard errors) meets the goal;
* ``not_enough_evidence``: fewer than two panel steps, more than
  ``verdict_max_unknown_share`` of the people neither measured nor estimated, or the two
  projections on both sides of the goal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

import h3
import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from domain.localtime import vietnam_date
from domain.vocabulary import (
    ANY_SIGNAL,
    BEST_OF_ALL,
    RADIO_SCOPES,
    SIGNAL_DECISIONS,
    VILLAGE_STATUSES,
)
from service.areas.boundaries import PROVINCE_AREA, cells_to_communes
from service.areas.likely import likely_statuses
from service.engine import new_sites
from service.engine.decisions import window_start
from service.errors import InvalidInput, NotFound
from service.settings import Settings
from service.store.bulk import copy_rows
from service.store.dialect import is_postgres
from service.store.models import (
    CellEstimate,
    CellPopulation,
    CellStatus,
    Commune,
    DeadZone,
    ProgressSnapshot,
    SnapshotCell,
    Village,
    VillageCell,
    VillageStatusSnapshot,
)
from service.store.runs import last_run

PROVINCE: Final = PROVINCE_AREA  # the whole province's area code
_SIGNAL: Final = SIGNAL_DECISIONS


@dataclass
class VillageState:
    """A village's status and what it rests on."""

    code: str
    name: str
    commune_code: str | None
    population: int | None
    lat: float
    lon: float
    status: str
    centre_status: str
    cells: int
    cells_dead: int
    cells_unknown: int
    people_dead: float
    evidence_readings: int = 0
    evidence_devices: int = 0
    evidence_last_seen: datetime | None = None
    confidence: float = 0.0
    # Estimated, not measured (``service.areas.likely``): for a village whose status is
    # unknown, the status its centre most probably has and its probability; filled by
    # ``list_villages``.
    likely_status: str | None = None
    likely_probability: float | None = None


@dataclass(frozen=True)
class CellEvidence:
    """What one cell's decision rests on: readings, distinct devices, the newest reading
    (UTC) and the decision's confidence (Wilson bound, 0-1)."""

    readings: int
    devices: int
    last_seen: datetime | None
    confidence: float


def cell_evidence(
    session: Session, settings: Settings, *, operator: str, cells: Sequence[int],
    radio: str = ANY_SIGNAL,
) -> dict[int, CellEvidence]:  # fmt: skip
    """The evidence of the decisions of ``cells`` in one operator scope and one scope over
    radios (``radio``: 'any' or 'broadband')."""
    c = CellStatus
    query = select(c.h3_cell, c.readings, c.devices, c.last_seen, c.confidence).where(
        c.operator == operator, c.radio == radio, c.resolution == settings.h3_resolution
    )
    if len(cells) <= 2000:
        query = query.where(c.h3_cell.in_(list(cells)))
    wanted = set(cells)
    return {
        int(cell): CellEvidence(int(readings), int(devices), seen, float(confidence))
        for cell, readings, devices, seen, confidence in session.execute(query)
        if int(cell) in wanted
    }


def cell_statuses(
    session: Session,
    settings: Settings,
    *,
    operator: str = BEST_OF_ALL,
    cells: list[int] | None = None,
    radio: str = ANY_SIGNAL,
) -> dict[int, tuple[str, datetime]]:
    """Decision (status, newest reading) per working cell of an operator scope, in one scope
    over radios (``radio``: 'any' or 'broadband')."""
    c = CellStatus
    query = select(c.h3_cell, c.status, c.last_seen).where(
        c.operator == operator, c.radio == radio, c.resolution == settings.h3_resolution
    )
    # A commune's few hundred cells: fetch just those. Beyond a few thousand, one scan of
    # the scope is faster than a huge IN list (SQLite binds each value).
    if cells is not None and len(cells) <= 2000:
        query = query.where(c.h3_cell.in_(cells))
    return {int(cell): (status, seen) for cell, status, seen in session.execute(query)}


def village_states(
    session: Session, settings: Settings, *, operator: str = BEST_OF_ALL,
    commune: str | None = None,
    statuses: dict[int, tuple[str, datetime]] | None = None,
    radio: str = ANY_SIGNAL,
    evidence: bool = False,
) -> list[VillageState]:  # fmt: skip
    """Status of every village (of one commune if given), by the rule of the module doc, in
    one scope over radios. ``statuses``: the scope's decisions if the caller has them;
    ``evidence``: fill in what each status rests on (one more query)."""
    query = select(Village).order_by(Village.code)
    if commune is not None:
        query = query.where(Village.commune_code == commune)
    villages = list(session.scalars(query))
    if not villages:
        return []
    cells_of: dict[str, list[tuple[int, bool, float]]] = defaultdict(list)
    vc = VillageCell
    cell_query = select(vc.village_code, vc.h3_cell, vc.centre, vc.people)
    if commune is not None:
        cell_query = cell_query.where(vc.village_code.in_([v.code for v in villages]))
    for code, cell, centre, people in session.execute(cell_query):
        cells_of[code].append((int(cell), bool(centre), float(people)))
    if statuses is None:
        wanted = sorted({c for rows in cells_of.values() for c, _, _ in rows})
        statuses = cell_statuses(session, settings, operator=operator, cells=wanted, radio=radio)
    states = [_state(v, cells_of.get(v.code, []), statuses) for v in villages]
    if evidence:
        deciding = {
            s.code: _deciding_cells(v, cells_of.get(v.code, []), statuses, s.status)
            for v, s in zip(villages, states, strict=True)
        }
        found = cell_evidence(
            session, settings, operator=operator, radio=radio,
            cells=sorted({c for cells in deciding.values() for c in cells}),
        )  # fmt: skip
        for state in states:
            _add_evidence(state, deciding[state.code], found)
    return states


def _deciding_cells(
    village: Village,
    cells: list[tuple[int, bool, float]],
    statuses: dict[int, tuple[str, datetime]],
    verdict: str,
) -> list[int]:
    """The cells whose decisions a village's status rests on (module doc), centre first."""
    populated = [c for c, is_centre, p in cells if not is_centre and p > 0]
    wanted = {"lom_song": ("dead",), "covered": _SIGNAL}.get(verdict, ())
    return [village.h3_cell] + [
        c for c in populated if statuses.get(c, ("unknown", None))[0] in wanted
    ]


def _add_evidence(state: VillageState, cells: list[int], found: dict[int, CellEvidence]) -> None:
    rows = [found[c] for c in cells if c in found]
    if not rows:
        return
    state.evidence_readings = sum(r.readings for r in rows)
    state.evidence_devices = max(r.devices for r in rows)
    seen = [r.last_seen for r in rows if r.last_seen is not None]
    state.evidence_last_seen = max(seen) if seen else None
    centre = found.get(cells[0])
    centre_confidence = centre.confidence if centre is not None else 0.0
    if state.status == "lom_song":
        surest = max((found[c].confidence for c in cells[1:] if c in found), default=0.0)
        state.confidence = min(centre_confidence, surest)
    elif state.status in ("trang_song", "covered"):
        state.confidence = centre_confidence


def _state(
    village: Village,
    cells: list[tuple[int, bool, float]],
    statuses: dict[int, tuple[str, datetime]],
) -> VillageState:
    def status(cell: int) -> str:
        return statuses.get(cell, ("unknown", None))[0]

    centre_status = status(village.h3_cell)
    others = [(c, p) for c, is_centre, p in cells if not is_centre]
    dead_populated = [c for c, p in others if p > 0 and status(c) == "dead"]
    if centre_status == "dead":
        verdict = "trang_song"
    elif centre_status not in _SIGNAL:
        verdict = "unknown"
    elif dead_populated:
        verdict = "lom_song"
    else:
        verdict = "covered"
    return VillageState(
        code=village.code,
        name=village.name,
        commune_code=village.commune_code,
        population=village.population,
        lat=village.lat,
        lon=village.lon,
        status=verdict,
        centre_status=centre_status,
        cells=len(cells),
        cells_dead=sum(1 for c, _, _ in cells if status(c) == "dead"),
        cells_unknown=sum(1 for c, _, _ in cells if status(c) == "unknown"),
        people_dead=float(sum(p for c, _, p in cells if status(c) == "dead")),
    )


@dataclass
class AreaProgress:
    """Progress numbers of one area (people in persons, ages in days)."""

    area: str
    population: float = 0.0
    people_covered: float = 0.0
    people_weak: float = 0.0
    people_dead: float = 0.0
    people_estimated_covered: float = 0.0
    people_estimated_dead: float = 0.0
    people_unknown: float = 0.0
    covered_share: float | None = None
    villages_trang_song: int = 0
    villages_lom_song: int = 0
    villages_covered: int = 0
    villages_unknown: int = 0
    zones_open: int = 0
    evidence_median_age_days: float | None = None


def measure_progress(
    session: Session, settings: Settings, *, now: datetime,
    statuses: dict[int, tuple[str, datetime]] | None = None,
    radio: str = ANY_SIGNAL,
) -> dict[str, AreaProgress]:  # fmt: skip
    """Progress of the province and of every commune (keys: 'province' and commune codes),
    in one scope over radios (``radio``). ``statuses``: the best-of-all decisions of that
    scope (``cell_statuses``) if the caller has them. Open zones are those of the same
    scope (the dead zones are found in each scope over radios)."""
    areas: dict[str, AreaProgress] = {PROVINCE: AreaProgress(PROVINCE)}
    for code in session.scalars(select(Commune.code)):
        areas[code] = AreaProgress(code)
    population = session.execute(
        select(CellPopulation.h3_cell, CellPopulation.people, CellPopulation.commune_code)
    ).all()
    if statuses is None:
        statuses = cell_statuses(session, settings, radio=radio)
    estimated = estimated_statuses(session, settings, radio=radio)
    ages: dict[str, list[float]] = defaultdict(list)
    for cell, people, commune in population:
        status, seen = statuses.get(int(cell), ("unknown", None))
        guess = estimated.get(int(cell)) if status not in ("dead", *_SIGNAL) else None
        targets = [areas[PROVINCE]]
        if commune is not None:
            targets.append(areas.setdefault(commune, AreaProgress(commune)))
        for area in targets:
            area.population += people
            if status in _SIGNAL:
                area.people_covered += people
            if status == "weak":
                area.people_weak += people
            elif status == "dead":
                area.people_dead += people
            elif guess in _SIGNAL:
                area.people_estimated_covered += people
            elif guess == "dead":
                area.people_estimated_dead += people
            elif status not in _SIGNAL:
                area.people_unknown += people
            if status != "unknown" and seen is not None and people > 0:
                ages[area.area].append((now - seen).total_seconds() / 86400)
    for state in village_states(session, settings, statuses=statuses):
        targets = [areas[PROVINCE]]
        if state.commune_code is not None:
            targets.append(areas.setdefault(state.commune_code, AreaProgress(state.commune_code)))
        for area in targets:
            name = f"villages_{state.status}"
            setattr(area, name, getattr(area, name) + 1)
    zones = session.execute(
        select(DeadZone.cells).where(
            DeadZone.active.is_(True),
            DeadZone.operator == BEST_OF_ALL,
            DeadZone.radio == radio,
            DeadZone.state == "open",
        )
    ).all()
    zone_cells = [[h3.str_to_int(c) for c in cells] for (cells,) in zones]
    commune_of = cells_to_communes(session, sorted({c for cells in zone_cells for c in cells}))
    areas[PROVINCE].zones_open = len(zone_cells)
    for cells in zone_cells:
        for commune in {commune_of[c] for c in cells if c in commune_of}:
            areas[commune].zones_open += 1
    for area in areas.values():
        if area.population > 0:
            area.covered_share = area.people_covered / area.population
        if ages[area.area]:
            area.evidence_median_age_days = round(float(np.median(ages[area.area])), 2)
    return areas


def estimated_statuses(
    session: Session, settings: Settings, *, radio: str = ANY_SIGNAL
) -> dict[int, str]:
    """The best-of-all ``inferred_status`` in the scope over radios ``radio`` of every
    estimated cell that has one."""
    e = CellEstimate
    rows = session.execute(
        select(e.h3_cell, e.inferred_status).where(
            e.operator == BEST_OF_ALL, e.radio == radio, e.resolution == settings.h3_resolution,
            e.inferred_status.is_not(None),
        )
    )  # fmt: skip
    return {int(cell): str(status) for cell, status in rows}


def take_snapshot(session: Session, settings: Settings, *, now: datetime) -> int:
    """Store today's progress of every area, replacing any snapshot of the same day:
    running it twice on one day keeps one row per area. The day is Vietnam's
    (``domain.localtime``): a snapshot at 06:00 in Dak Lak belongs to that day, not to the
    day before in UTC. The snapshot measures the goal's scope (``Settings.goal_radio``) and
    says so in its rows. Returns the areas stored."""
    day = vietnam_date(now)
    radio = settings.goal_radio
    statuses = cell_statuses(session, settings, radio=radio)
    areas = measure_progress(session, settings, now=now, statuses=statuses, radio=radio)
    panels = _snapshot_panel(
        session, day=day, statuses=statuses, radio=radio,
        stale=_near_new_sites(session, settings, now=now),
    )  # fmt: skip
    session.execute(delete(ProgressSnapshot).where(ProgressSnapshot.day == day))
    session.add_all(
        ProgressSnapshot(
            day=day, taken_at=now, radio=radio, **asdict(area), **panels.get(code, {})
        )  # fmt: skip
        for code, area in areas.items()
    )
    _snapshot_village_statuses(session, settings, day=day, statuses=statuses)
    session.flush()
    return len(areas)


def _near_new_sites(session: Session, settings: Settings, *, now: datetime) -> set[int]:
    """The populated working cells within reach of a site dated inside the decision window
    that brings the goal's scope (``service.engine.new_sites``), whose old evidence it may
    have made stale."""
    since = window_start(now, settings.window_months)
    sites = new_sites.load_new_sites(session, settings, since=since, now=now)
    if not sites:
        return set()
    cells = np.array(
        session.scalars(select(CellPopulation.h3_cell).where(CellPopulation.people > 0)).all(),
        dtype=np.int64,
    )
    centres = np.array([h3.cell_to_latlng(h3.int_to_str(int(c))) for c in cells]).reshape(-1, 2)
    reached = new_sites.cells_in_reach(sites, cells, centres[:, 0], centres[:, 1])
    reached = new_sites.for_scope(reached, settings.goal_radio)
    return set(reached["h3_cell"].astype(np.int64).tolist())


def _snapshot_panel(
    session: Session, *, day: date, statuses: dict[int, tuple[str, datetime]], radio: str,
    stale: Collection[int] = (),
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """Store the measured status of every populated cell on ``day`` and compare with the
    newest earlier snapshot day on the fixed panel of cells measured at both (module doc):
    per area, the panel's people and its covered people then and now. Keeps only the two
    newest days of cell statuses. A previous day measured in another scope over radios
    (the goal's changed) is no panel: broadband against any signal is no progress.

    A cell of ``stale`` (near a site known to be new) that was measured dead on the
    previous day and has no measured status now keeps its place, dead: the site made its
    old dead call stale (``service.engine.new_sites``; covered and weak calls stand), and
    when readings since measure it, the change shows against what was measured before the
    site."""
    sc = SnapshotCell
    previous = session.scalar(select(func.max(sc.day)).where(sc.day < day))
    if previous is not None:
        then = session.scalar(
            select(ProgressSnapshot.radio).where(ProgressSnapshot.day == previous).limit(1)
        )
        previous = previous if then in (None, radio) else None
    before: dict[int, bool] = {}
    if previous is not None:
        before = {
            int(c): bool(v)
            for c, v in session.execute(select(sc.h3_cell, sc.covered).where(sc.day == previous))
        }
    session.execute(delete(sc).where(sc.day >= day))
    population = session.execute(
        select(CellPopulation.h3_cell, CellPopulation.people, CellPopulation.commune_code)
        .where(CellPopulation.people > 0)
    ).all()  # fmt: skip
    now_rows: list[tuple[int, bool]] = []
    panels: dict[str, dict[str, Any]] = {}
    for cell, people, commune in population:
        status = statuses.get(int(cell), ("unknown", None))[0]
        if status in ("dead", *_SIGNAL):
            covered = status in _SIGNAL
        elif int(cell) in stale and before.get(int(cell)) is False:
            covered = False  # kept with its last measured status, dead (above)
        else:
            continue
        now_rows.append((int(cell), covered))
        if int(cell) not in before:
            continue
        for code in (PROVINCE, commune):
            if code is None:
                continue
            panel = panels.setdefault(
                code, {"panel_since": previous, "panel_people": 0.0,
                       "panel_covered_before": 0.0, "panel_covered": 0.0},
            )  # fmt: skip
            panel["panel_people"] += people
            panel["panel_covered_before"] += people if before[int(cell)] else 0.0
            panel["panel_covered"] += people if covered else 0.0
    if previous is not None:
        session.execute(delete(sc).where(sc.day < previous))
    conn = session.connection()
    stamp: date | str = day if is_postgres(conn) else day.isoformat()  # copy_rows' types
    copy_rows(conn, "snapshot_cells", ["day", "h3_cell", "covered"],
              ((stamp, cell, covered) for cell, covered in now_rows))  # fmt: skip
    return panels


def _snapshot_village_statuses(
    session: Session, settings: Settings, *, day: date, statuses: dict[int, tuple[str, datetime]]
) -> None:
    """Every village's status on ``day``: "villages whose status changed this week" compares
    two of these (``service.areas.changes``)."""
    session.execute(delete(VillageStatusSnapshot).where(VillageStatusSnapshot.day == day))
    session.add_all(
        VillageStatusSnapshot(
            day=day, village_code=state.code, status=state.status, radio=settings.goal_radio
        )
        for state in village_states(session, settings, statuses=statuses)
    )


_SERIES_FIELDS: Final = [
    c.name
    for c in ProgressSnapshot.__table__.columns
    if c.name not in ("area", "taken_at", "radio")
]


def goal_deadline(settings: Settings, *, today: date) -> date:
    """The configured deadline, or 31 December of ``today``'s year."""
    return settings.goal_deadline or date(today.year, 12, 31)


@dataclass(frozen=True)
class PanelStep:
    """One snapshot's comparison with the previous one on the fixed panel (module doc)."""

    day: date
    since: date
    people: float
    covered_before: float
    covered: float


_CAUTION_SE = 2.0  # projections at the rate -+ 2 standard errors (about 95 %)


def panel_trend(
    steps: Sequence[PanelStep], *, measured_share: float | None, level: float | None,
    unknown_share: float | None, goal: float, deadline: date, today: date | None = None,
    max_unknown_share: float = 0.5,
) -> dict[str, Any]:  # fmt: skip
    """On-track verdict from the panel steps of the newest snapshots, oldest first
    (module doc). ``measured_share``: the newest covered share (measured); ``level``: the
    newest share of people with signal among those with a status, measured or estimated;
    ``unknown_share``: of people neither measured nor estimated.

    Returns the verdict, the rate (share per day) and its standard error, the level, the
    projection at the deadline with its cautious and optimistic bounds, and the day the
    projection meets the goal (None when never or already met)."""
    out: dict[str, Any] = {
        "status": "not_enough_evidence", "slope_per_day": None, "slope_se_per_day": None,
        "level_share": level, "projected_share": None, "projected_low": None,
        "projected_high": None, "goal_met_on": None, "panel_steps": 0, "panel_people": None,
        "max_unknown_share": max_unknown_share,
    }  # fmt: skip
    used = [s for s in steps if s.people > 0 and s.day > s.since]
    out["panel_steps"] = len(used)
    if used:
        out["panel_people"] = round(used[-1].people, 1)
    if measured_share is not None and measured_share >= goal:
        return out | {"status": "reached"}
    if today is not None and today > deadline:
        return out | {"status": "behind"}  # the deadline has passed unmet
    if len(used) < 2 or level is None:
        return out
    days = np.array([(s.day - s.since).days for s in used], dtype=float)
    rates = np.array([(s.covered - s.covered_before) / s.people for s in used]) / days
    rate = float(np.average(rates, weights=days))
    spread = float(np.average((rates - rate) ** 2, weights=days)) * len(used) / (len(used) - 1)
    se = float(np.sqrt(spread / len(used)))
    ahead = max((deadline - used[-1].day).days, 0)
    low = level + (rate - _CAUTION_SE * se) * ahead
    high = level + (rate + _CAUTION_SE * se) * ahead
    projected = level + rate * ahead
    met_on = None
    if rate > 0 and level < goal:
        # A rate barely above zero projects the goal past the calendar's last day (the
        # province demo's panel gained a few people in a million): no day, as for never.
        days_to_goal = float(np.ceil((goal - level) / rate))
        if days_to_goal <= (date.max - used[-1].day).days:
            met_on = used[-1].day + timedelta(days=int(days_to_goal))
    out |= {
        "slope_per_day": rate, "slope_se_per_day": se,
        "projected_share": min(max(projected, 0.0), 1.0),
        "projected_low": min(max(low, 0.0), 1.0), "projected_high": min(max(high, 0.0), 1.0),
        "goal_met_on": met_on.isoformat() if met_on else None,
    }  # fmt: skip
    if unknown_share is not None and unknown_share > max_unknown_share:
        return out
    if high < goal:
        out["status"] = "behind"
    elif low >= goal:
        out["status"] = "on_track"
    return out


def progress_series(
    session: Session, settings: Settings, *, area: str, start: date | None, end: date | None,
    today: date, radio: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The snapshots of ``area`` between ``start`` and ``end`` (days, inclusive), the goal
    and the trend of the newest ``trend_snapshots`` snapshots up to ``end``, of the scope
    over radios ``radio`` (default the goal's): snapshots are taken in the goal's scope, so
    another scope has the days it was the goal's, if any."""
    radio = radio or settings.goal_radio
    if start is not None and end is not None and start > end:
        raise InvalidInput("from must not be after to", field="from")
    s = ProgressSnapshot
    known = session.get(Commune, area) is not None or session.scalar(
        select(s.area).where(s.area == area).limit(1)
    )
    if area != PROVINCE and not known:
        raise NotFound(f"no commune with code {area!r}; use 'province' or a commune code",
                       field="area")  # fmt: skip
    query = select(s).where(s.area == area, s.radio == radio).order_by(s.day)
    if start is not None:
        query = query.where(s.day >= start)
    if end is not None:
        query = query.where(s.day <= end)
    rows = list(session.scalars(query))
    recent_query = select(s).where(s.area == area, s.radio == radio)
    if end is not None:
        recent_query = recent_query.where(s.day <= end)
    recent = list(
        session.scalars(recent_query.order_by(s.day.desc()).limit(settings.trend_snapshots))
    )[::-1]
    steps = [
        PanelStep(r.day, r.panel_since, float(r.panel_people), float(r.panel_covered_before or 0),
                  float(r.panel_covered or 0))
        for r in recent
        if r.panel_since is not None and r.panel_people
    ]  # fmt: skip
    newest = recent[-1] if recent else None
    deadline = goal_deadline(settings, today=today)
    verdict = panel_trend(
        steps, goal=settings.goal_covered_share, deadline=deadline, today=today,
        max_unknown_share=settings.verdict_max_unknown_share,
        **(_levels(newest) if newest is not None else
           {"measured_share": None, "level": None, "unknown_share": None}),
    )  # fmt: skip
    return {
        "area": area,
        "radio": radio,
        "goal": goal_of(settings, deadline=deadline),
        "trend": verdict | {"snapshots_used": len(recent)},
        "series": [_snapshot_dict(r) for r in rows],
    }


def _levels(row: ProgressSnapshot) -> dict[str, float | None]:
    """A snapshot's measured covered share, its share of people with signal among those
    with a status (measured or estimated), and its share of people with neither."""
    signal = row.people_covered + (row.people_estimated_covered or 0.0)
    with_status = signal + row.people_dead + (row.people_estimated_dead or 0.0)
    return {
        "measured_share": row.covered_share,
        "level": signal / with_status if with_status > 0 else None,
        "unknown_share": row.people_unknown / row.population if row.population > 0 else None,
    }


def goal_of(settings: Settings, *, deadline: date) -> dict[str, Any]:
    """The goal as the API shows it: share, deadline and the scope it counts."""
    return {
        "covered_share": settings.goal_covered_share,
        "deadline": deadline.isoformat(),
        "radio": settings.goal_radio,
    }


def well_covered(figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` (of an area or a snapshot) with the people at 2 bars or more apart from
    the weak (1 bar) ones that ``people_covered`` includes, and their share."""
    people = max(0.0, figures["people_covered"] - figures["people_weak"])
    population = figures["population"]
    return figures | {
        "people_well_covered": round(people, 1),
        "well_covered_share": people / population if population > 0 else None,
    }


def _snapshot_dict(row: ProgressSnapshot) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _SERIES_FIELDS:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return well_covered(out)


def list_villages(
    session: Session, settings: Settings, *, operator: str = BEST_OF_ALL,
    commune: str | None = None,
    status: Sequence[str] | None = None,
    radio: str = ANY_SIGNAL,
) -> list[VillageState]:  # fmt: skip
    """``village_states`` of one operator scope and one scope over radios, keeping only the
    villages whose status is one of ``status`` (all when None or empty)."""
    unknown = sorted(set(status or ()) - set(VILLAGE_STATUSES))
    if unknown:
        raise InvalidInput(
            f"unknown village status {unknown[0]!r}; use {', '.join(VILLAGE_STATUSES)}",
            field="status",
        )
    if commune is not None and not (
        session.get(Commune, commune) is not None
        or session.scalar(select(Village.code).where(Village.commune_code == commune).limit(1))
    ):
        raise NotFound(f"no commune with code {commune!r}", field="commune")
    states = village_states(
        session, settings, operator=operator, commune=commune, radio=radio, evidence=True
    )
    if status:
        states = [s for s in states if s.status in status]
    add_likely(session, states, operator=operator, radio=radio)
    return states


def add_likely(
    session: Session, states: Sequence[VillageState], *, operator: str, radio: str
) -> None:
    """Fill in the likely status of the villages of ``states`` whose status is unknown
    (``service.areas.likely``), in their scope over radios."""
    likely = likely_statuses(
        session, [s.code for s in states if s.status == "unknown"], operator=operator,
        radio=radio if radio in RADIO_SCOPES else ANY_SIGNAL,
    )  # fmt: skip
    for state in states:
        if state.code in likely:
            state.likely_status = likely[state.code].status
            state.likely_probability = likely[state.code].probability


def commune_names(session: Session) -> dict[str, str]:
    """Commune code -> name, as imported."""
    return {code: name for code, name in session.execute(select(Commune.code, Commune.name))}


VILLAGE_CSV_HEADER: Final = (
    "code", "name", "commune_code", "commune_name", "population", "lat", "lon", "status",
    "centre_status", "cells", "cells_dead", "cells_unknown", "people_dead", "likely_status",
    "likely_probability",
)  # fmt: skip


def village_rows(states: Sequence[VillageState], names: dict[str, str]) -> list[list[Any]]:
    """One row per village, in ``VILLAGE_CSV_HEADER``'s order (people to 0.1)."""
    return [
        [
            s.code,
            s.name,
            s.commune_code,
            names.get(s.commune_code or ""),
            s.population,
            round(s.lat, 6),
            round(s.lon, 6),
            s.status,
            s.centre_status,
            s.cells,
            s.cells_dead,
            s.cells_unknown,
            round(s.people_dead, 1),
            s.likely_status,
            s.likely_probability,
        ]
        for s in states
    ]


AREA_FIELDS: Final = (
    "code", "kind", "name", "population", "people_covered", "people_weak", "people_dead",
    "people_estimated_covered", "people_estimated_dead", "people_unknown", "covered_share",
    "gap_share", "gap_people", "villages_trang_song",
    "villages_lom_song", "villages_covered", "villages_unknown", "zones_open",
    "evidence_median_age_days", "people_well_covered", "well_covered_share",
)  # fmt: skip


def area_table(
    session: Session, settings: Settings, *, now: datetime, radio: str | None = None
) -> dict[str, Any]:
    """Progress of the province and of every commune as it stands now (``measure_progress``,
    live, not a snapshot), with each area's gap to the goal, stamped with the time of the
    last aggregation (the decisions it rests on).

    ``gap_people``: people still to cover to reach the goal share of the area's population
    (0 once reached); ``gap_share``: the goal less the covered share (None without people).
    The province comes first, then the communes with the largest gap in people (ties: the
    largest gap in share, then the code). ``radio``: the scope over radios measured
    (default the goal's, ``Settings.goal_radio``)."""
    goal = settings.goal_covered_share
    radio = radio or settings.goal_radio
    names = commune_names(session)
    rows = []
    for code, area in measure_progress(session, settings, now=now, radio=radio).items():
        share = area.covered_share
        row = well_covered(asdict(area))
        row.update(
            code=row.pop("area"),
            kind=PROVINCE if code == PROVINCE else "commune",
            name=names.get(code),
            gap_share=None if share is None else round(max(0.0, goal - share), 6),
            gap_people=round(max(0.0, goal * area.population - area.people_covered), 1),
        )
        rows.append({name: row[name] for name in AREA_FIELDS})
    province = [r for r in rows if r["kind"] == PROVINCE]
    communes = sorted(
        (r for r in rows if r["kind"] != PROVINCE),
        key=lambda r: (-r["gap_people"], -(r["gap_share"] or 0.0), r["code"]),
    )
    # The newest run, as /v1/summary's aggregated_at.
    run = last_run(session)
    aggregated = run.finished_at if run is not None else None
    # Vietnam's day, as /v1/progress: from 17:00 UTC on 31 December, the next year's goal.
    deadline = goal_deadline(settings, today=vietnam_date(now))
    return {
        "measured_at": now.isoformat(),
        "aggregated_at": aggregated.isoformat() if aggregated else None,
        "radio": radio,
        "goal": goal_of(settings, deadline=deadline),
        "areas": province + communes,
    }
