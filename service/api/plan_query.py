"""A plan's own query parameters (band, mast height, EIRP, co-location, power and road),
read the same way by ``GET /v1/plan`` and by the dead-zone map that draws the plan
(``GET /maps/deadzones.html?sites=``): the planning page links to its map with the
parameters it planned with, and the map draws that plan, not the server's default one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query

from domain.propagation import HATA_HB_M
from domain.radio import PLANNING_BANDS_MHZ
from service.api.dependencies import SettingsDep
from service.areas.constraints import Constraints, asked_constraints
from service.areas.planning import SiteDesign
from service.errors import InvalidInput


@dataclass(frozen=True)
class PlanChoice:
    """What a request asks of the new sites: their design, co-location, and where they may
    stand. ``given``: the names of the parameters the request set (a map without a plan
    layer refuses them, since they would change nothing)."""

    design: SiteDesign
    colocate: bool
    constraints: Constraints
    given: tuple[str, ...]


def check_band(band: int | None) -> None:
    """Refuse a band (MHz) that no LTE network in Vietnam uses (``PLANNING_BANDS_MHZ``)."""
    if band is not None and band not in PLANNING_BANDS_MHZ:
        raise InvalidInput(
            f"band {band} MHz is not an LTE band built in Vietnam; use one of "
            f"{', '.join(map(str, PLANNING_BANDS_MHZ))}",
            field="band",
        )


def get_plan_choice(
    settings: SettingsDep,
    band: Annotated[
        int | None,
        Query(
            description="LTE band of the new sites, MHz (default: the server's).",
            json_schema_extra={"enum": list(PLANNING_BANDS_MHZ)},
        ),
    ] = None,
    mast_height: Annotated[
        float | None,
        Query(
            ge=HATA_HB_M[0],
            le=HATA_HB_M[1],
            description="Antenna height of the new sites, metres (Hata: 30-200).",
        ),
    ] = None,
    eirp: Annotated[
        float | None,
        Query(ge=30.0, le=80.0, description="EIRP of the new carrier, dBm (46 dBm + 15 dBi = 61)."),
    ] = None,
    colocate: Annotated[
        bool, Query(description="Only on known sites (deadzone import-sites): co-location.")
    ] = False,
    power: Annotated[
        bool,
        Query(
            description="Only candidates with grid power: the power network imported by "
            "`deadzone import-constraints --kind power` within power_distance of the cell."
        ),
    ] = False,
    power_distance: Annotated[
        float | None,
        Query(
            ge=0.0,
            description="Metres, with power=true (default DEADZONE_PLAN_POWER_"
            "DISTANCE_M, 200: the network crosses the cell or its edge).",
        ),
    ] = None,
    road: Annotated[
        bool,
        Query(
            description="Only candidates near a road (`deadzone import-constraints --kind "
            "road`) within road_distance of the cell."
        ),
    ] = False,
    road_distance: Annotated[
        float | None,
        Query(
            ge=0.0,
            description="Metres, with road=true (default DEADZONE_PLAN_ROAD_DISTANCE_M, 1000).",
        ),
    ] = None,
) -> PlanChoice:
    check_band(band)
    rules = asked_constraints(
        settings, power=power, power_distance=power_distance, road=road,
        road_distance=road_distance,
    )  # fmt: skip
    values = {
        "band": band, "mast_height": mast_height, "eirp": eirp, "colocate": colocate or None,
        "power": power or None, "power_distance": power_distance, "road": road or None,
        "road_distance": road_distance,
    }  # fmt: skip
    return PlanChoice(
        design=SiteDesign(band_mhz=band, mast_height_m=mast_height, eirp_dbm=eirp),
        colocate=colocate,
        constraints=rules,
        given=tuple(name for name, value in values.items() if value is not None),
    )


PlanChoiceDep = Annotated[PlanChoice, Depends(get_plan_choice)]
