"""``/v1/progress/weekly``: the authority's weekly report (``service.areas.changes``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from service.api.dependencies import SessionDep, SettingsDep
from service.areas import changes
from service.timestamps import utcnow

router = APIRouter(prefix="/v1", tags=["areas"])


class OperatorRow(BaseModel):
    operator: str
    name: str
    assigned: int = Field(description="Commitments assigned by the authority.")
    planned: int
    on_air: int
    verified: int
    still_dead: int = Field(description="On air, but still without signal after on_air_at.")
    overdue: int


class VillageChange(BaseModel):
    code: str
    name: str = Field(description="As imported: escape it before drawing it in HTML.")
    commune_code: str | None
    commune_name: str | None
    before: str | None = Field(description="Status on the baseline day (null: not there).")
    now: str
    population: int | None


class ZoneChange(BaseModel):
    id: str
    cells: int
    area_km2: float
    population: float | None
    villages: list[str]
    first_seen: str
    last_active: str


class CommuneChange(BaseModel):
    code: str
    name: str | None
    kind: str
    people_covered_before: float | None
    people_covered_now: float
    change: float | None = Field(description="People covered now less on the baseline day.")
    covered_share_before: float | None
    covered_share_now: float | None


class WeeklyReport(BaseModel):
    province: str
    generated_at: str
    days: int
    since: str | None = Field(description="The snapshot day compared with (null: none yet).")
    operators: list[OperatorRow] = Field(
        description="Commitments per operator: counts only, the public record of who "
        "committed to what; sites and cells need a key (/v1/commitments)."
    )
    villages: list[VillageChange]
    zones_opened: list[ZoneChange]
    zones_first_mapped: int = Field(
        description="Zones of the scope's first computation since the baseline (after an "
        "upgrade that adds the scope, or a first aggregation): mapped for the first time, "
        "not new on the ground, so not listed in zones_opened."
    )
    zones_closed: list[ZoneChange]
    communes: list[CommuneChange]


@router.get("/progress/weekly", response_model=WeeklyReport, summary="What changed since last week")
def get_weekly(
    session: SessionDep,
    settings: SettingsDep,
    days: Annotated[int, Query(ge=1, le=366, description="Compare with this many days ago.")] = 7,
) -> dict[str, Any]:
    return changes.weekly_report(session, settings, now=utcnow(), days=days)
