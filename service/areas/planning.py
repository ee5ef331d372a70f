"""Planning: who a dead zone leaves without signal, its priority, and where new sites help.

Dead zones gain people and villages (``annotate_zones``, run by the aggregation right after
the zones are computed):

* ``population``: people in the zone's cells (``cell_population``).
* ``villages``: codes of the villages inside or touching the zone: at least one of the
  village's cells (``service.areas.population``) is a cell of the zone.
* ``priority``, the score the zones are ranked by, *people first*::

      (people + facility_people x facilities) x evidence x distance + 0.001 x cells

  ``evidence = 0.5 + 0.5 x min(1, devices / 10)``: a zone seen by ten or more distinct
  devices counts in full, one on the word of the minimum three devices a little over half;
  ``distance = 1 + 0.5 x min(1, d / 5 km)``, with d the distance to the nearest covered
  cell: a zone far from any signal cannot be fixed by tilting a neighbour's antenna
  (no covered cell at all: 1.5). Both factors stay within 0.5..1.5, so a zone with three
  times the people always ranks higher; the cell term only orders zones where nobody
  lives. ``facilities`` are the villages' schools, health stations... from the village
  file. Without any population imported the zones keep ``service.engine.zones``' cells-based
  score and ``population`` stays null.

Site suggestions (``plan_sites``) for one operator: targets are the populated cells the
operator's decisions call ``dead``; candidate sites are the centres of the cells of the
operator's dead zones and of their neighbours. A site covers the targets within the radius
at which a rural Okumura-Hata / COST-231 Hata median path loss (``domain.
propagation``, DESIGN.md "Planning helpers") brings the planned carrier's RSRP down to the
1-bar threshold less a shadowing margin. Sites are chosen greedily, each time the one that
newly covers the most people: for this maximal covering problem greedy is within 1 - 1/e of
the optimum (Nemhauser, Wolsey & Fisher 1978; Church & ReVelle 1974 for the problem).
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import h3
import numpy as np
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.propagation import (
    deygout_loss_db,
    hata_radius_km,
    hata_terms_db,
    lte_rsrp_eirp_dbm,
    rural_model_name,
    rural_path_loss_db,
)
from domain.vocabulary import ANY_SIGNAL
from service.areas.calibration import local_offsets
from service.areas.constraints import Constraints, check_constraints, keep_candidates
from service.areas.progress import cell_statuses
from service.areas.selection import AreaFilter
from service.areas.terrain import Terrain, load_terrain, profiles
from service.engine.new_sites import find_fit
from service.engine.zones import Zone
from service.errors import ConfigurationError, InvalidInput
from service.settings import Settings
from service.store.dialect import cells_in, dialect_name
from service.store.models import CellPopulation, DeadZone, Site, Village, VillageCell

FULL_EVIDENCE_DEVICES: Final = 10  # distinct devices at which a zone's evidence counts fully
FAR_FROM_SIGNAL_M: Final = 5000.0  # distance at which the distance factor saturates, metres
EARTH_RADIUS_M: Final = 6_371_008.8  # IUGG mean radius
# Said in every plan whose coverage ignores the relief (no DEM imported): Hata's formulas
# assume quasi-smooth terrain, which the highlands are not.
FLAT_TERRAIN: Final = "flat terrain"
TERRAIN_METHOD: Final = "terrain profile, ITU-R P.526-15 Deygout diffraction on top of Hata"
PROFILE_STEP_M: Final = 50.0  # paths grouped by length to share sample distances
# Why a plan holds fewer sites than asked for, as a code beside the English explanation,
# so that a page says it in its own language (the /plan page's strings.js "why.*").
PlanReason = Literal[
    "no_population",  # no population imported
    "nobody_without_signal",  # nobody (in the area) lives in a dead cell of the scope
    "no_known_site",  # co-location asked for, no known site imported
    "no_dead_zone",  # no active dead zone to place candidates in
    "constraints_exclude_all",  # no candidate meets the power/road constraints
    "nobody_more_reachable",  # the sites found already reach everyone any candidate reaches
]


def priority_score(
    *, people: float, facilities: int, devices: int, distance_m: float | None, cells: int,
    facility_people: float,
) -> float:  # fmt: skip
    """The priority of a dead zone (module doc); people in persons, distance in metres."""
    evidence = 0.5 + 0.5 * min(1.0, devices / FULL_EVIDENCE_DEVICES)
    far = 1.0 if distance_m is None else min(1.0, distance_m / FAR_FROM_SIGNAL_M)
    distance = 1.0 + 0.5 * far
    return (people + facility_people * facilities) * evidence * distance + 0.001 * cells


def annotate_zones(session: Session, zones: list[Zone], settings: Settings) -> None:
    """Fill each zone's ``extra['population']``, ``extra['villages']`` and ``priority``
    (module doc). Leaves the zones as they are when no population was imported."""
    if session.scalar(select(CellPopulation.h3_cell).limit(1)) is None and (
        session.scalar(select(VillageCell.h3_cell).limit(1)) is None
    ):
        return
    # Only the zones' cells: the incremental path annotates a few zones per batch.
    dialect = dialect_name(session)
    cells = {h3.str_to_int(c) for zone in zones for c in zone.cells}
    population = {
        int(cell): float(people)
        for cell, people in session.execute(
            select(CellPopulation.h3_cell, CellPopulation.people).where(
                cells_in(CellPopulation.h3_cell, cells, dialect=dialect)
            )
        )
    }
    villages_of: dict[int, set[str]] = defaultdict(set)
    for code, cell in session.execute(
        select(VillageCell.village_code, VillageCell.h3_cell).where(
            cells_in(VillageCell.h3_cell, cells, dialect=dialect)
        )
    ):
        villages_of[int(cell)].add(code)
    codes_near = sorted({code for found in villages_of.values() for code in found})
    facilities = {
        code: n
        for code, n in session.execute(
            select(Village.code, Village.facilities).where(Village.code.in_(codes_near))
        )
        if n is not None
    }
    for zone in zones:
        ints = [h3.str_to_int(c) for c in zone.cells]
        people = float(math.fsum(population.get(c, 0.0) for c in ints))
        codes = sorted({code for c in ints for code in villages_of.get(c, ())})
        zone.extra["population"] = people
        zone.extra["villages"] = codes
        zone.priority = priority_score(
            people=people,
            facilities=sum(facilities.get(code, 0) for code in codes),
            devices=zone.devices,
            distance_m=zone.distance_to_covered_m,
            cells=len(zone.cells),
            facility_people=settings.facility_people,
        )


@dataclass(frozen=True)
class SiteDesign:
    """What a planner asks of the new sites; None takes the server's default
    (``DEADZONE_PLAN_*``). Band in MHz, mast height in metres, EIRP of the carrier in dBm."""

    band_mhz: float | None = None
    mast_height_m: float | None = None
    eirp_dbm: float | None = None


@dataclass(frozen=True)
class SiteModel:
    """The planned site's link budget and the radius it gives."""

    band_mhz: float
    model: str
    mast_height_m: float
    handset_height_m: float
    eirp_dbm: float
    rsrp_eirp_dbm: float = field(metadata={"unit": "dBm per resource element"})
    threshold_dbm: float
    fade_margin_db: float
    max_path_loss_db: float
    radius_km: float
    calibration_db: float = 0.0  # extra loss fitted on measurements (service.areas.calibration)


def site_model(
    settings: Settings, design: SiteDesign | None = None, *, calibration_db: float = 0.0
) -> SiteModel:
    """Coverage radius of a planned site, km: the distance at which the rural median path
    loss, plus ``calibration_db`` (the bias fitted on measurements, dB), equals the link
    budget ``EIRP per RE - RSRP threshold - fade margin`` (dB).

    Inverts ``L(d) = A + B log10 d`` (``hata_terms_db``): ``d = 10**((Lmax - A) / B)``.
    Below 1 km the model is not fitted; the inversion is used there too (a site that cannot
    reach 1 km is anyway a poor site). A band or mast outside the model is ``InvalidInput``
    when the request asked for it, a ``ConfigurationError`` when it is the server's default."""
    design = design or SiteDesign()
    f = settings.plan_band_mhz if design.band_mhz is None else design.band_mhz
    hb = settings.plan_mast_height_m if design.mast_height_m is None else design.mast_height_m
    eirp = settings.plan_eirp_dbm if design.eirp_dbm is None else design.eirp_dbm
    hm = settings.plan_handset_height_m
    try:
        rural_path_loss_db(f, hb, hm, 1.0)  # checks the model's ranges
    except ValueError as exc:
        if design.band_mhz is not None or design.mast_height_m is not None:
            field_name = "band" if design.band_mhz is not None else "mast_height"
            raise InvalidInput(f"planning model: {exc}", field=field_name) from None
        raise ConfigurationError(
            f"planning model: {exc} (check DEADZONE_PLAN_BAND_MHZ and DEADZONE_PLAN_MAST_HEIGHT_M)"
        ) from None
    rsrp_eirp = lte_rsrp_eirp_dbm(eirp, 0.0, settings.plan_bandwidth_mhz)
    max_loss = rsrp_eirp - settings.plan_rsrp_threshold_dbm - settings.plan_fade_margin_db
    radius = hata_radius_km(max_loss - calibration_db, f, hb, hm)
    return SiteModel(
        band_mhz=f,
        model=rural_model_name(f),
        mast_height_m=hb,
        handset_height_m=hm,
        eirp_dbm=eirp,
        rsrp_eirp_dbm=rsrp_eirp,
        threshold_dbm=settings.plan_rsrp_threshold_dbm,
        fade_margin_db=settings.plan_fade_margin_db,
        max_path_loss_db=max_loss,
        radius_km=float(radius),
        calibration_db=calibration_db,
    )


def greedy_max_cover(
    covers: Sequence[Sequence[int] | np.ndarray], weights: Sequence[float], k: int
) -> list[tuple[int, float]]:
    """Pick up to ``k`` sets maximising the total weight of the elements they cover.

    ``covers[i]`` lists the elements (indexes into ``weights``) set i covers. Each step
    takes the set with the largest newly covered weight (ties: the lowest index), computed
    lazily: a set's gain can only shrink as others are chosen (submodularity), so a stale
    gain is an upper bound and is recomputed only when it reaches the top of the heap.
    Stops early when no set adds anything. Returns (set index, weight it newly covers)."""
    covered = np.zeros(len(weights), dtype=bool)
    w = np.asarray(weights, dtype=float)
    arrays = [np.asarray(c, dtype=np.int64) for c in covers]
    heap = [(-float(w[a].sum()), i) for i, a in enumerate(arrays)]
    heapq.heapify(heap)
    chosen: list[tuple[int, float]] = []
    while heap and len(chosen) < k:
        _, i = heapq.heappop(heap)
        gain = float(w[arrays[i][~covered[arrays[i]]]].sum())
        if heap and (-gain, i) > heap[0]:  # another set may do better (or as well, lower index)
            heapq.heappush(heap, (-gain, i))
            continue
        if gain <= 0:
            break
        covered[arrays[i]] = True
        chosen.append((i, gain))
    return chosen


def _metres(lat: np.ndarray, lon: np.ndarray, lat0: float) -> np.ndarray:
    # Equirectangular about the province's latitude: under 1% error over a few hundred km,
    # far below the uncertainty of a Hata radius.
    x = np.radians(lon) * math.cos(math.radians(lat0)) * EARTH_RADIUS_M
    return np.column_stack((x, np.radians(lat) * EARTH_RADIUS_M))


def plan_sites(
    session: Session, settings: Settings, *, operator: str, sites: int,
    area: AreaFilter | None = None, design: SiteDesign | None = None, colocate: bool = False,
    constraints: Constraints | None = None,
    radio: str = ANY_SIGNAL,
) -> dict[str, Any]:  # fmt: skip
    """Up to ``sites`` new sites for ``operator`` (MCC-MNC or 'any'), greedy by people newly
    covered (module doc). Each site: its cell and centre (WGS84 degrees), the people it
    newly covers, the villages with people among them (a village split between two sites
    is listed by both), and the running total of people.

    ``area``: only that commune's or village's people are targets (sites may stand outside).
    ``design``: band, mast and EIRP of this request. ``colocate``: candidates are the cells
    of known sites (``deadzone import-sites``, any operator: masts are shared) instead of
    the dead zones' cells. ``constraints``: only candidates with grid power and/or near a
    road (``service.areas.constraints``; a layer not imported is ``InvalidInput``). Whenever
    fewer sites come back than asked for, ``explanation`` says why, naming the constraints
    when they removed candidates. ``radio``: the scope over radios whose dead cells are
    the targets, 'any' (any signal) or 'broadband' (LTE or NR: people reached only on 3G
    are targets too), and whose dead zones give the candidates."""
    constraints = constraints if constraints is not None and constraints.asked() else None
    if constraints is not None:
        check_constraints(session, settings, constraints)
    band = (design.band_mhz if design and design.band_mhz is not None
            else settings.plan_band_mhz)  # fmt: skip
    fit = find_fit(session, operator=operator, band_mhz=band)
    model = site_model(settings, design, calibration_db=fit.offset_db if fit else 0.0)
    statuses = cell_statuses(session, settings, operator=operator, radio=radio)
    population = {
        int(cell): float(people)
        for cell, people in session.execute(select(CellPopulation.h3_cell, CellPopulation.people))
    }
    targets = sorted(
        c for c, p in population.items() if p > 0 and statuses.get(c, ("", None))[0] == "dead"
    )
    if area is not None:  # the people of one commune or village; sites may stand outside
        targets = [c for c, kept in zip(targets, area.contains(targets).tolist(), strict=True)
                   if kept]  # fmt: skip
    if colocate:
        candidates = _known_site_cells(session, settings)
    else:
        zone_cells = session.scalars(
            select(DeadZone.cells).where(
                DeadZone.active.is_(True), DeadZone.operator == operator, DeadZone.radio == radio
            )
        ).all()
        candidates = sorted({n for cells in zone_cells for c in cells for n in h3.grid_disk(c, 1)})
    before_constraints = len(candidates)
    if constraints is not None:
        candidates = keep_candidates(session, candidates, constraints)
    result: dict[str, Any] = {
        "operator": operator,
        "radio": radio,
        "commune": area.commune if area else None,
        "village": area.village if area else None,
        "model": _model_dict(model),
        "terrain": FLAT_TERRAIN,
        "calibration": None
        if fit is None
        else {
            "operator": fit.operator,
            "band_mhz": fit.band_mhz,
            "offset_db": fit.offset_db,
            "rmse_db": fit.rmse_db,
            "cells": fit.cells,
            "sites": fit.sites,
            "fitted_at": fit.fitted_at.isoformat(),
            "local_targets": 0,
        },
        "colocate": colocate,
        "constraints": None
        if constraints is None
        else {
            "power_m": constraints.power_m,
            "road_m": constraints.road_m,
            "candidates_before": before_constraints,
            "candidates_after": len(candidates),
        },
        "people_without_signal": float(math.fsum(population[c] for c in targets)),
        "people_reachable": 0.0,
        "candidates": len(candidates),
        "sites": [],
        "explanation": None,
        "reason": None,
    }
    if not targets or not candidates:
        result["reason"], result["explanation"] = _why_nothing(
            operator=operator, area=area, population=bool(population), targets=bool(targets),
            colocate=colocate and before_constraints == 0,
        )  # fmt: skip
        if targets and before_constraints and not candidates and constraints is not None:
            result["reason"] = "constraints_exclude_all"
            result["explanation"] = (
                f"no site suggested: none of the {before_constraints:,} candidate cells has "
                f"{constraints.words()}"
            )
        return result
    target_ll = np.array([h3.cell_to_latlng(h3.int_to_str(c)) for c in targets])
    cand_ll = np.array([h3.cell_to_latlng(c) for c in candidates])
    lat0 = float(target_ll[:, 0].mean())
    target_xy = _metres(target_ll[:, 0], target_ll[:, 1], lat0)
    cand_xy = _metres(cand_ll[:, 0], cand_ll[:, 1], lat0)
    # Each target's reach: the model's radius with the bias measured near it (calibrated
    # plans), else the one radius of the group's fit or of the uncalibrated model.
    reach_m = np.full(len(targets), model.radius_km * 1000.0)
    offsets = np.zeros(len(targets))
    if fit is not None:
        offsets, result["calibration"]["local_targets"] = local_offsets(
            session, operator=operator, lat=target_ll[:, 0], lon=target_ll[:, 1],
            fallback_db=fit.offset_db,
        )  # fmt: skip
        slope = hata_terms_db(model.band_mhz, model.mast_height_m, model.handset_height_m)[1]
        reach_m *= 10 ** (-(offsets - model.calibration_db) / slope)
    tree = shapely.STRtree(np.asarray(shapely.points(target_xy)))
    cand_index, target_index = tree.query(
        shapely.points(cand_xy), predicate="dwithin", distance=float(reach_m.max())
    )
    within = np.hypot(*(cand_xy[cand_index] - target_xy[target_index]).T) <= reach_m[target_index]
    cand_index, target_index = cand_index[within], target_index[within]
    terrain = load_terrain(settings)
    if terrain is not None and cand_index.size:
        result["terrain"] = f"{terrain.name}: {TERRAIN_METHOD}"
        intercept, slope = hata_terms_db(model.band_mhz, model.mast_height_m,
                                         model.handset_height_m)  # fmt: skip
        offsets_t = offsets if fit is not None else np.zeros(len(targets))
        length = np.hypot(*(cand_xy[cand_index] - target_xy[target_index]).T)
        hata = intercept + slope * np.log10(np.maximum(length / 1000.0, 1.0))
        allowed = model.max_path_loss_db - offsets_t[target_index] - hata
        loss = _diffraction_db(terrain, model, cand_ll[cand_index], target_ll[target_index],
                               length)  # fmt: skip
        clear = loss <= allowed
        cand_index, target_index = cand_index[clear], target_index[clear]
    order = np.argsort(cand_index, kind="stable")
    cand_index, target_index = cand_index[order], target_index[order]
    # Pairs ordered by candidate: split the targets where the candidate changes.
    covers = np.split(target_index, np.searchsorted(cand_index, np.arange(1, len(candidates))))
    weights = [population[c] for c in targets]
    reachable = np.unique(target_index)
    result["people_reachable"] = round(float(math.fsum(weights[t] for t in reachable)), 1)
    villages_of = _villages_by_cell(session)
    total = 0.0
    covered = np.zeros(len(targets), dtype=bool)
    for rank, (ci, gain) in enumerate(greedy_max_cover(covers, weights, sites), start=1):
        total += gain
        newly = covers[ci][~covered[covers[ci]]]
        covered[covers[ci]] = True
        reached: dict[str, str] = {}
        for t in newly.tolist():
            reached.update(villages_of.get(targets[t], {}))
        result["sites"].append(
            {
                "rank": rank,
                "h3": candidates[ci],
                "lat": round(float(cand_ll[ci, 0]), 6),
                "lon": round(float(cand_ll[ci, 1]), 6),
                "people_new": round(gain, 1),
                "people_cumulative": round(total, 1),
                "villages": [{"code": c, "name": n} for c, n in sorted(reached.items())],
                # The promise cell by cell (h3 -> people), for checking it against the
                # field; not part of the published answer (the response model drops it).
                "cells": {h3.int_to_str(targets[t]): weights[t] for t in newly.tolist()},
                # Every target within its reach, newly covered or not: its footprint for a
                # saved plan's coverage polygon (service.areas.saved_plans); not published.
                "reach": [h3.int_to_str(targets[t]) for t in covers[ci].tolist()],
            }
        )
    if len(result["sites"]) < sites:
        unreached = result["people_without_signal"] - result["people_reachable"]
        where = _area_words(area)
        result["reason"] = "nobody_more_reachable"
        result["explanation"] = (
            f"{len(result['sites'])} site(s) of {sites} asked for: they already cover all "
            f"{result['people_reachable']:,.0f} people without signal{where} that any of the "
            f"{len(candidates)} candidate sites reaches (radius {model.radius_km:.1f} km, "
            f"{model.model}, {result['terrain']}); another site would cover nobody new."
            + (
                f" {unreached:,.0f} people without signal are beyond the reach of every "
                "candidate" + (" known site." if colocate else ".")
                if unreached > 0.5
                else ""
            )
        )
        if constraints is not None and len(candidates) < before_constraints:
            result["explanation"] += (
                f" The constraints ({constraints.words()}) kept {len(candidates):,} of "
                f"{before_constraints:,} candidate cells."
            )
    return result


def _diffraction_db(
    terrain: Terrain, model: SiteModel, start: np.ndarray, end: np.ndarray, length_m: np.ndarray
) -> np.ndarray:
    """Deygout diffraction loss (dB) over the ground from each site to each target. Paths
    are grouped by length to the nearest ``PROFILE_STEP_M`` so that a group shares its
    sample distances (``deygout_loss_db``): under 1 % of a path's length on a few km."""
    loss = np.zeros(length_m.size)
    ground = profiles(terrain, start, end)
    bins = np.round(length_m / PROFILE_STEP_M).astype(np.int64)
    for value in np.unique(bins):
        rows = np.flatnonzero(bins == value)
        distance = np.linspace(0.0, max(float(value) * PROFILE_STEP_M, 1.0), ground.shape[1])
        loss[rows] = deygout_loss_db(
            distance, ground[rows], tx_height_m=model.mast_height_m,
            rx_height_m=model.handset_height_m, f_mhz=model.band_mhz,
        )  # fmt: skip
    return loss


def _area_words(area: AreaFilter | None) -> str:
    if area is None:
        return ""
    if area.village is not None:
        return f" in village {area.village}"
    return f" in commune {area.commune}"


def _why_nothing(
    *, operator: str, area: AreaFilter | None, population: bool, targets: bool, colocate: bool
) -> tuple[str, str]:
    """Why a plan has no site at all: a code (``PLAN_REASONS``, which the pages put in
    their own language) and one English sentence a planner can act on."""
    if not population:
        return "no_population", (
            "no site suggested: no population is imported (deadzone import-areas)"
        )
    if not targets:
        return "nobody_without_signal", (
            f"no site suggested: nobody{_area_words(area)} lives in a cell decided dead for "
            f"{operator}"
        )
    if colocate:
        return "no_known_site", "no site suggested: co-location asked for, but no known " \
            "site is imported (deadzone import-sites)"  # fmt: skip
    return "no_dead_zone", (
        f"no site suggested: {operator} has no active dead zone to place candidates in"
    )


def _known_site_cells(session: Session, settings: Settings) -> list[str]:
    """Working-resolution cells holding a known site (any operator: masts are shared)."""
    rows = session.execute(select(Site.lat, Site.lon)).all()
    return sorted({h3.latlng_to_cell(lat, lon, settings.h3_resolution) for lat, lon in rows})


def _villages_by_cell(session: Session) -> dict[int, dict[str, str]]:
    """Populated village cells -> {village code: name}."""
    found: dict[int, dict[str, str]] = defaultdict(dict)
    rows = session.execute(
        select(VillageCell.h3_cell, Village.code, Village.name)
        .join(Village, Village.code == VillageCell.village_code)
        .where(VillageCell.people > 0)
    )
    for cell, code, name in rows:
        found[int(cell)][code] = name
    return found


def _model_dict(model: SiteModel) -> dict[str, Any]:
    return {
        "name": model.model,
        "band_mhz": model.band_mhz,
        "mast_height_m": model.mast_height_m,
        "handset_height_m": model.handset_height_m,
        "eirp_dbm": model.eirp_dbm,
        "rsrp_eirp_dbm": round(model.rsrp_eirp_dbm, 2),
        "rsrp_threshold_dbm": model.threshold_dbm,
        "fade_margin_db": model.fade_margin_db,
        "max_path_loss_db": round(model.max_path_loss_db, 2),
        "radius_km": round(model.radius_km, 3),
        "calibration_db": round(model.calibration_db, 2),
    }
