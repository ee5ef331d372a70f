"""Site plans kept under a name, for QGIS (``deadzone plan --save NAME``, docs/qgis.md).

A plan is computed per request (band, mast, EIRP, area, constraints), so QGIS has nothing to
open until one is kept: ``save_plan`` stores the plan's request, model and sites in
``saved_plans`` and ``saved_plan_sites``; on PostGIS the ``plan_sites`` view shows every
site of every saved plan with its point and its coverage polygon. The coverage is the union
of the H3 hexagons of the people without signal the site reaches under the plan's model
(terrain and calibration included), not a flat circle: where the relief hides a valley the
polygon has a hole. Saving under a name already used replaces that plan.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

import h3
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.store.hexagons import hexagon_polygons
from service.store.models import SavedPlan, SavedPlanSite

NAME_PATTERN: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_name(name: str) -> str:
    """A plan name: letters, digits, '_', '.', '-', up to 64, starting with a letter or
    digit (it becomes a QGIS filter value and a file-like label)."""
    if not NAME_PATTERN.match(name):
        raise InvalidInput(
            f"plan name {name[:80]!r}: use 1-64 letters, digits, '_', '.' or '-', starting "
            "with a letter or digit",
            field="name",
        )
    return name


def coverage_polygon(cells: list[str]) -> MultiPolygon:
    """The union of the hexagons of ``cells`` (H3 strings) as one multipolygon, WGS84."""
    union: BaseGeometry = shapely.union_all(hexagon_polygons(h3.str_to_int(c) for c in cells))
    if isinstance(union, Polygon):
        return MultiPolygon([union])
    if isinstance(union, MultiPolygon):
        return union
    # Hexagons of distinct cells meet along edges: their union is areal, never empty here.
    return MultiPolygon([g for g in getattr(union, "geoms", []) if isinstance(g, Polygon)])


def plan_request(
    *, band: int | None, mast_height: float | None, eirp: float | None, colocate: bool,
    power_m: float | None, road_m: float | None, commune: str | None, village: str | None,
) -> dict[str, Any]:  # fmt: skip
    """What a saved plan was asked for, the same from the API and the command line (units:
    MHz, metres, dBm; the constraints as the distances applied, null when not asked)."""
    return {
        "band": band, "mast_height": mast_height, "eirp": eirp, "colocate": colocate,
        "power_m": power_m, "road_m": road_m, "commune": commune, "village": village,
    }  # fmt: skip


def save_plan(
    session: Session, plan: dict[str, Any], *, name: str, sites_asked: int,
    request: dict[str, Any], now: datetime,
) -> bool:  # fmt: skip
    """Keep ``plan`` (``service.areas.planning.plan_sites``' answer) under ``name``;
    ``request`` is what was asked (band, mast, area, constraints...). Returns True when a
    plan of that name was replaced."""
    check_name(name)
    replaced = session.get(SavedPlan, name) is not None
    session.execute(delete(SavedPlanSite).where(SavedPlanSite.plan == name))
    session.execute(delete(SavedPlan).where(SavedPlan.name == name))
    sites = plan["sites"]
    session.add(
        SavedPlan(
            name=name,
            operator=plan["operator"],
            sites_asked=sites_asked,
            request=request,
            model=plan["model"],
            terrain=plan["terrain"][:200],
            people_without_signal=plan["people_without_signal"],
            people_covered=sites[-1]["people_cumulative"] if sites else 0.0,
            explanation=None if plan["explanation"] is None else plan["explanation"][:2000],
            saved_at=now,
        )  # fmt: skip
    )
    session.flush()
    radius = float(plan["model"]["radius_km"])
    for site in sites:
        reach = site.get("reach") or [site["h3"]]
        session.add(
            SavedPlanSite(
                plan=name,
                rank=site["rank"],
                h3=site["h3"],
                lat=site["lat"],
                lon=site["lon"],
                people_new=site["people_new"],
                people_cumulative=site["people_cumulative"],
                people_reached=round(sum(plan_people(site, plan)), 1),
                villages=site["villages"],
                radius_km=radius,
                geom=Point(site["lon"], site["lat"]),
                coverage=coverage_polygon(reach),
            )  # fmt: skip
        )
    return replaced


def plan_people(site: dict[str, Any], plan: dict[str, Any]) -> list[float]:
    """People in each cell the site reaches (``reach``), from the plan's per-site promise."""
    people: dict[str, float] = {}
    for other in plan["sites"]:
        people.update(other.get("cells", {}))
    return [people.get(c, 0.0) for c in site.get("reach", [])]


def list_plans(session: Session) -> list[SavedPlan]:
    return list(session.scalars(select(SavedPlan).order_by(SavedPlan.name)))
