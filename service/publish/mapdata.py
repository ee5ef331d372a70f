"""Map data: the stored decisions, dead zones, progress and site plans as the ``maps``
package's input types.

``maps`` never imports ``service`` (STYLE.md: data flows one way), so the service turns its
own tables into ``maps.model`` values here, for the CLI (``deadzone map``, ``deadzone demo``)
and the routes (``GET /maps/coverage.html``, ``/maps/deadzones.html``, ``/maps/progress.html``)
alike.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any

import folium
import h3
import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from domain.radio import OPERATOR_NAMES
from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL, RADIO_SCOPES, Decision
from maps import (
    CELL_COLUMNS,
    AreaOutline,
    CommuneProgress,
    MapMeta,
    PlannedSite,
    VillageMark,
    ZoneRecord,
    coverage_map,
    deadzone_map,
    format_operator_statuses,
    progress_map,
)
from service.areas.constraints import Constraints
from service.areas.planning import SiteDesign, plan_sites
from service.areas.progress import (
    add_likely,
    cell_statuses,
    measure_progress,
    village_states,
)
from service.areas.selection import AreaFilter, zone_in_area
from service.publish.basemap import simplified_communes
from service.publish.cells import ZONE_ORDER, village_codes, village_communes, village_labels
from service.publish.disclosure import EXACT, Disclosure
from service.settings import Settings
from service.store.models import (
    CellEstimate,
    CellStatus,
    Commune,
    DeadZone,
)
from service.store.runs import last_run
from service.timestamps import utcnow


def decided_cells(
    session: Session,
    *,
    resolutions: Collection[int] | None = None,
    operators: Collection[str] | None = None,
    radio: str = BEST_OF_ALL,
    disclosure: Disclosure = EXACT,
) -> pd.DataFrame:
    """Decisions of one radio or scope over radios (default ``'any'``: any signal;
    ``'broadband'``: LTE or NR) as a frame with ``maps.CELL_COLUMNS``. Best of all
    operators exists for the scopes ``'any'`` and ``'broadband'`` only.

    ``resolutions`` None takes every stored resolution (the working cell and its roll-ups,
    which the coverage map shows by zoom); ``operators`` None takes every operator and
    ``"any"``. Rows come ordered by operator, resolution and cell, so the same database
    gives the same frame (and the same HTML). A public ``disclosure`` shows cells behind
    fewer than k devices without readings, devices, signal or time. A best-of-all row the
    maps give a popup (dead, weak, contested) carries each operator's own status in the cell
    (``operator_statuses``) for the operators the frame holds: a public best-of-all page
    names none, since what one operator covers is that operator's to show.
    """
    c = CellStatus
    query = select(
        c.h3_cell, c.operator, c.status, c.confidence, c.readings, c.devices,
        c.signal_dbm_mean, c.last_seen, c.resolution,
    ).where(c.radio == radio)  # fmt: skip
    if resolutions is not None:
        query = query.where(c.resolution.in_(sorted(resolutions)))
    if operators is not None:
        query = query.where(c.operator.in_(sorted(operators)))
    query = query.order_by(c.operator, c.resolution, c.h3_cell)
    columns = ["h3_cell", *CELL_COLUMNS[1:-1]]
    frame = pd.DataFrame(session.execute(query).all(), columns=columns)
    frame["operator_statuses"] = _operator_statuses(
        session, frame, radio=radio, operators=operators
    )
    frame.insert(0, "h3", [h3.int_to_str(int(cell)) for cell in frame.pop("h3_cell")])
    if not disclosure.exact:  # k-anonymity (service.publish.disclosure): no figures, no time
        thin = frame["devices"] < disclosure.min_devices
        frame.loc[thin, ["readings", "devices"]] = 0
        frame.loc[thin, "signal_dbm_mean"] = np.nan
        frame.loc[thin, "last_seen"] = pd.NaT
    return frame[list(CELL_COLUMNS)]


_DETAILED = (Decision.DEAD.value, Decision.WEAK.value, Decision.CONTESTED.value)


def _operator_statuses(
    session: Session, frame: pd.DataFrame, *, radio: str, operators: Collection[str] | None
) -> list[str]:
    """``operator_statuses`` for each row of ``frame`` (columns of ``decided_cells``): the
    status in the cell of each of ``operators`` (None: every operator) on a best-of-all row
    in ``_DETAILED``, else empty."""
    texts = [""] * len(frame)
    best = (frame["operator"] == BEST_OF_ALL) & frame["status"].isin(_DETAILED)
    named = None if operators is None else sorted(set(operators) - {BEST_OF_ALL})
    if not best.any() or named == []:
        return texts
    c, b = CellStatus, aliased(CellStatus)
    query = (
        select(c.h3_cell, c.operator, c.status)
        .join(b, (b.h3_cell == c.h3_cell) & (b.radio == c.radio))
        .where(c.radio == radio, c.operator != BEST_OF_ALL, b.operator == BEST_OF_ALL)
        .where(b.status.in_(_DETAILED))
    )
    if named is not None:
        query = query.where(c.operator.in_(named))
    rows = session.execute(query).all()
    per_cell: dict[int, dict[str, str]] = {}
    for cell, operator, status in rows:
        per_cell.setdefault(int(cell), {})[str(operator)] = str(status)
    cells = frame["h3_cell"].to_numpy()
    for i in np.flatnonzero(best.to_numpy()):
        texts[i] = format_operator_statuses(per_cell.get(int(cells[i]), {}))
    return texts


def zone_records(
    session: Session, *, operator: str = BEST_OF_ALL, radio: str = ANY_SIGNAL,
    area: AreaFilter | None = None,
) -> list[ZoneRecord]:  # fmt: skip
    """Active dead zones of one scope (an MCC-MNC or ``"any"``, in the scope over radios
    ``radio``: 'any' signal or 'broadband'), highest priority first; only those in ``area``
    when given."""
    zones = session.scalars(
        select(DeadZone)
        .where(DeadZone.active.is_(True), DeadZone.operator == operator, DeadZone.radio == radio)
        .order_by(*ZONE_ORDER)
    ).all()
    if area is not None:
        zones = [z for z in zones if zone_in_area(area, z.cells, z.villages)]
    # The maps name the villages: a planner reads "Buôn Đôn", not its code, and its commune.
    names, communes = village_labels(session, village_codes(zones))
    return [
        ZoneRecord(
            id=z.id,
            rank=z.rank if z.rank is not None else index + 1,
            outline=z.outline,
            area_km2=z.area_km2,
            cells=z.cell_count,
            readings=z.readings,
            devices=z.devices,
            operators=list(z.operators_affected),
            first_seen=z.first_seen,
            last_seen=z.last_seen,
            priority=z.priority,
            population=None if z.population is None else round(z.population),
            villages=None if z.villages is None else [names.get(c, c) for c in z.villages],
            village_communes=[communes.get(c, "") for c in z.villages or ()],
        )
        for index, z in enumerate(zones)
    ]


def data_date(session: Session) -> datetime | None:
    """What the maps' "data up to" says: the newest reading behind the decisions (of the
    best of all operators, any signal), else when they were last computed; None before the
    first aggregation. The time of the run alone dated a map of readings three weeks old
    as today's (readings from a dead zone arrive late)."""
    run = last_run(session)
    if run is None:
        return None
    c = CellStatus
    newest = session.scalar(
        select(func.max(c.last_seen)).where(c.operator == BEST_OF_ALL, c.radio == ANY_SIGNAL)
    )
    return newest if newest is not None else run.finished_at


# Map titles as a meeting reads them, per language; {scope} is an operator's name or all.
MAP_TITLES: dict[str, dict[str, str]] = {
    "coverage": {"vi": "Vùng phủ sóng di động", "en": "Mobile coverage"},
    "deadzones": {"vi": "Vùng mất sóng: {scope}", "en": "Dead zones: {scope}"},
    "progress": {
        "vi": "Tiến độ phủ sóng theo xã, thôn",
        "en": "Coverage progress by commune and village",
    },
}
BEST_OF_ALL_NAMES = {"vi": "tất cả nhà mạng", "en": "all operators"}
# The scopes over radios, as a map's title names them (domain.vocabulary.RADIO_SCOPES).
RADIO_SCOPE_NAMES = {
    "any": {"vi": "mọi loại sóng", "en": "any signal"},
    "broadband": {"vi": "băng rộng di động 4G, 5G", "en": "mobile broadband, 4G or 5G"},
}


def map_title(kind: str, *, lang: str, scope: str = BEST_OF_ALL, radio: str | None = None) -> str:
    """The title of a map (``MAP_TITLES``) in the page's language; with ``radio`` (a scope
    over radios, or one radio) the scope it shows, in brackets."""
    lang = "en" if lang == "en" else "vi"
    name = BEST_OF_ALL_NAMES[lang] if scope == BEST_OF_ALL else OPERATOR_NAMES.get(scope, scope)
    title = "deadzone: " + MAP_TITLES[kind][lang].format(scope=name)
    if radio is None:
        return title
    return f"{title} ({RADIO_SCOPE_NAMES.get(radio, {}).get(lang, radio.upper())})"


def map_meta(title: str, *, data_date: datetime | None, lang: str = "vi") -> MapMeta:
    """Page metadata with the operators' display names ("Viettel (452-04)")."""
    return MapMeta(
        title=title,
        data_date=data_date,
        lang="en" if lang == "en" else "vi",
        operator_names=dict(OPERATOR_NAMES),
    )


def coverage_page(
    session: Session,
    *,
    meta: MapMeta,
    operators: Collection[str] | None = None,
    radio: str = BEST_OF_ALL,
    areas: Sequence[AreaOutline] | None = None,
    disclosure: Disclosure = EXACT,
) -> folium.Map:
    """The coverage map of the stored decisions (every resolution, so roll-ups show when
    zoomed out), for all radios together or one radio; ``areas`` default to the imported
    communes (``commune_outlines``)."""
    return coverage_map(
        decided_cells(session, operators=operators, radio=radio, disclosure=disclosure),
        meta=meta,
        areas=commune_outlines(session) if areas is None else areas,
        operators=operators,
        estimated=(
            estimated_cells(session, operators=operators, radio=radio)
            if radio in RADIO_SCOPES
            else None
        ),
    )


def estimated_cells(
    session: Session, *, operators: Collection[str] | None = None, radio: str = ANY_SIGNAL
) -> pd.DataFrame:
    """Cells whose status is inferred by the estimate, not measured (``cell_estimates``), in
    the scope over radios ``radio``: columns h3, operator, status."""
    e = CellEstimate
    query = select(e.h3_cell, e.operator, e.inferred_status).where(
        e.inferred_status.is_not(None), e.radio == radio
    )
    if operators is not None:
        query = query.where(e.operator.in_(sorted(operators)))
    rows = session.execute(query.order_by(e.operator, e.h3_cell)).all()
    return pd.DataFrame(
        [(h3.int_to_str(int(cell)), op, status) for cell, op, status in rows],
        columns=["h3", "operator", "status"],
    )


def plan_sites_records(
    plan: dict[str, Any], *, communes: dict[str, str] | None = None
) -> list[PlannedSite]:
    """The sites of a ``service.areas.planning.plan_sites`` answer, each with the plan model's
    coverage radius (km); ``communes`` (village code -> commune name) names the villages'
    communes."""
    radius_km = float(plan["model"]["radius_km"])
    communes = communes or {}
    return [
        PlannedSite(
            rank=int(site["rank"]),
            h3=str(site["h3"]),
            lat=float(site["lat"]),
            lon=float(site["lon"]),
            radius_km=radius_km,
            people_new=float(site["people_new"]),
            people_cumulative=float(site["people_cumulative"]),
            villages=[str(v["name"]) for v in site["villages"]],
            village_communes=[communes.get(str(v["code"]), "") for v in site["villages"]],
        )
        for site in plan["sites"]
    ]


def deadzone_page(
    session: Session,
    *,
    meta: MapMeta,
    operator: str = BEST_OF_ALL,
    areas: Sequence[AreaOutline] | None = None,
    sites: int = 0,
    settings: Settings | None = None,
    radio: str = ANY_SIGNAL,
    area: AreaFilter | None = None,
    design: SiteDesign | None = None,
    colocate: bool = False,
    constraints: Constraints | None = None,
) -> folium.Map:
    """The dead-zone map of one scope's active zones (``operator``, in the scope over radios
    ``radio``); with ``sites`` > 0 also the plan layer: up to that many suggested sites for
    the same scope (``service.areas.planning.plan_sites``, which needs ``settings`` for its
    link budget, with ``area``, ``design``, ``colocate`` and ``constraints`` as there);
    ``areas`` default to the imported communes (``commune_outlines``). ``area``: only the
    zones in that commune or village (``GET /v1/deadzones``' filter)."""
    planned: list[PlannedSite] = []
    if sites > 0:
        if settings is None:
            raise ValueError("deadzone_page: a plan layer (sites > 0) needs the settings")
        plan = plan_sites(
            session, settings, operator=operator, sites=sites, radio=radio, area=area,
            design=design, colocate=colocate, constraints=constraints,
        )  # fmt: skip
        codes = [str(v["code"]) for site in plan["sites"] for v in site["villages"]]
        planned = plan_sites_records(plan, communes=village_communes(session, codes))
    zones = zone_records(session, operator=operator, radio=radio, area=area)
    return deadzone_map(
        zones, meta=meta, areas=commune_outlines(session) if areas is None else areas,
        sites=planned, decided=bool(zones) or any_decided(session, operator=operator, radio=radio),
    )  # fmt: skip


def any_decided(session: Session, *, operator: str, radio: str) -> bool:
    """Whether the scope has a cell decided (not unknown) at any resolution: without one a
    dead-zone map without zones knows nothing, which is not "no dead zones"."""
    c = CellStatus
    return (
        session.execute(
            select(c.h3_cell)
            .where(c.operator == operator, c.radio == radio, c.status != Decision.UNKNOWN)
            .limit(1)
        ).first()
        is not None
    )


def commune_outlines(session: Session) -> list[AreaOutline]:
    """The imported communes as the maps' outlines, simplified as the reporter's base map
    (``basemap.simplified_communes``): where tiles cannot load (offline, the maps' usual
    case in the highlands) they are what places a zone or a cell. None before
    ``import-areas``."""
    return [AreaOutline(name, outline) for _, name, outline in simplified_communes(session)]


def progress_records(
    session: Session, settings: Settings, *, radio: str | None = None
) -> tuple[list[CommuneProgress], list[VillageMark]]:
    """Every commune with an outline and its progress, and every village with its status
    (best of all operators, ``service.areas.progress``), as the progress map's inputs, in
    one scope over radios (default the goal's, ``Settings.goal_radio``). The decisions are
    read once for both."""
    radio = radio or settings.goal_radio
    statuses = cell_statuses(session, settings, radio=radio)
    areas = measure_progress(session, settings, now=utcnow(), statuses=statuses, radio=radio)
    communes = [
        CommuneProgress(
            code=code,
            name=name,
            geometry=geometry,
            **_shared_fields(CommuneProgress, areas[code]),
        )  # fmt: skip
        for code, name, geometry in session.execute(
            select(Commune.code, Commune.name, Commune.geom).order_by(Commune.code)
        )
        if geometry is not None and not geometry.is_empty
    ]
    states = village_states(session, settings, statuses=statuses)
    add_likely(session, states, operator=BEST_OF_ALL, radio=radio)
    villages = [VillageMark(**_shared_fields(VillageMark, v)) for v in states]
    return communes, villages


def _shared_fields(target: type, source: object) -> dict[str, Any]:
    """The values of ``source`` for the dataclass fields of ``target`` that it has: the
    service's records (``service.areas.progress``) and the maps' inputs share their names."""
    return {f.name: getattr(source, f.name) for f in fields(target) if hasattr(source, f.name)}


def progress_page(
    session: Session, settings: Settings, *, meta: MapMeta, radio: str | None = None
) -> folium.Map:
    """The progress map: communes by share of people covered, villages by status, against
    the configured goal (``settings.goal_covered_share``), in one scope over radios
    (default the goal's)."""
    communes, villages = progress_records(session, settings, radio=radio)
    return progress_map(communes, villages, meta=meta, goal_share=settings.goal_covered_share)


def has_communes(session: Session) -> bool:
    """Whether any commune was imported (the CLI writes the progress map only then)."""
    return session.scalar(select(Commune.code).limit(1)) is not None
