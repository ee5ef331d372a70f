"""The site-plan options that `deadzone plan` and `deadzone export plan` share: one
definition, so the two commands cannot drift apart (they ask what /v1/plan asks)."""

from __future__ import annotations

from typing import Annotated

import typer

SitesOpt = Annotated[int, typer.Option(min=1, max=100, help="How many sites.")]
BandOpt = Annotated[int | None, typer.Option(help="700, 900, 1800, 2100 or 2600 MHz.")]
MastHeightOpt = Annotated[float | None, typer.Option(help="Mast height, metres.")]
EirpOpt = Annotated[float | None, typer.Option(help="EIRP of the carrier, dBm.")]
ColocateOpt = Annotated[bool, typer.Option(help="Only on known sites.")]
PowerOpt = Annotated[
    bool, typer.Option(help="Only candidates with grid power (import-constraints).")
]
PowerDistanceOpt = Annotated[
    float | None,
    typer.Option(help="Metres to the power network (default: DEADZONE_PLAN_POWER_DISTANCE_M)."),
]
RoadOpt = Annotated[bool, typer.Option(help="Only candidates near a road.")]
RoadDistanceOpt = Annotated[
    float | None, typer.Option(help="Metres to a road (default: DEADZONE_PLAN_ROAD_DISTANCE_M).")
]
