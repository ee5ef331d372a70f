"""``/v1/commitments``: the authority assigns dead zones or villages to operators; their
planners mark them planned or on air; every answer carries the re-verification and the
audit trail (``service.areas.commitments``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from service.api.access import ApiKeyDep, request_actor
from service.api.dependencies import SessionDep, SettingsDep, WriteSessionDep
from service.api.strict import Text
from service.areas import commitments
from service.timestamps import utcnow

router = APIRouter(prefix="/v1", tags=["commitments"])

OPERATOR = r"^\d{3}-\d{2,3}$"
Verification = Literal["pending", "verified", "still_dead", "overdue"]


class NewCommitment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone_id: Text | None = Field(default=None, max_length=32, description="A dead zone's id.")
    village: Text | None = Field(
        default=None, max_length=32, description="A village's code (instead of zone_id)."
    )
    operator: str = Field(pattern=OPERATOR, description="MCC-MNC, e.g. 452-04.")
    due: date = Field(description="Signal promised by this day (ISO date).")


class Site(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, max_length=200)
    lat: float | None = Field(default=None, ge=-85.051, le=85.051, description="WGS84 degrees.")
    lon: float | None = Field(default=None, ge=-180, le=180, description="WGS84 degrees.")
    radio: Literal["lte", "nr"] | None = None
    band_mhz: float | None = Field(default=None, gt=0, le=100_000)
    note: Text | None = Field(default=None, max_length=500)


class CommitmentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: Literal["planned", "on_air"]
    on_air_at: AwareDatetime | None = Field(
        default=None, description="RFC 3339 with offset; default now when state is on_air."
    )
    site: Site | None = None


class Evidence(BaseModel):
    status: Verification
    past_due: bool
    since: str | None = Field(description="on_air_at: only readings after it count.")
    cells: int
    cells_covered: int
    cells_weak: int
    cells_dead: int
    cells_unknown: int
    centre_status: Literal["covered", "weak", "dead", "unknown"]
    readings: int = Field(description="Readings of the operator after on_air_at.")
    devices: int
    first_seen: str | None
    last_seen: str | None


class AuditEntry(BaseModel):
    at: str
    who: str = Field(description="The API key's name, or the CLI user.")
    action: str
    what: dict[str, Any]


class CommitmentOut(BaseModel):
    id: int
    operator: str
    zone_id: str | None
    village: str | None
    due: str
    state: Literal["assigned", "planned", "on_air"]
    on_air_at: str | None
    site: dict[str, Any] | None
    cells: list[str] = Field(description="H3 cells frozen when it was made.")
    centre: str
    created_at: str
    updated_at: str
    verification: Verification
    evidence: Evidence
    audit: list[AuditEntry]


class CommitmentList(BaseModel):
    commitments: list[CommitmentOut]


CommitmentId = Annotated[
    int, Path(ge=1, le=2**63 - 1, description="The commitment's id (a 64-bit integer).")
]
"""A path id bounded to what the database's integer holds: beyond it, a 422, not a 500."""


@router.post(
    "/commitments", status_code=201, response_model=CommitmentOut,
    summary="Assign a dead zone or a village to an operator (authority key)",
    responses={404: {"description": "No such dead zone or village"}},
)  # fmt: skip
def post_commitment(
    body: NewCommitment,
    session: WriteSessionDep,
    settings: SettingsDep,
    api_key: ApiKeyDep = None,
) -> dict[str, Any]:
    actor = request_actor(settings, api_key)
    now = utcnow()
    made = commitments.create_commitment(
        session, settings, actor=actor, operator=body.operator, due=body.due,
        zone_id=body.zone_id, village=body.village, now=now,
    )  # fmt: skip
    (shown,) = commitments.describe_commitments(session, settings, [made], now=now)
    return shown


@router.patch(
    "/commitments/{commitment_id}", response_model=CommitmentOut,
    summary="Mark a commitment planned or on air (its operator's planner, or the authority)",
)  # fmt: skip
def patch_commitment(
    commitment_id: CommitmentId, body: CommitmentChange, session: WriteSessionDep,
    settings: SettingsDep, api_key: ApiKeyDep = None,
) -> dict[str, Any]:  # fmt: skip
    actor = request_actor(settings, api_key)
    now = utcnow()
    site = body.site.model_dump(exclude_none=True) if body.site is not None else None
    changed = commitments.update_commitment(
        session, settings, commitment_id, actor=actor, state=body.state,
        on_air_at=body.on_air_at, site=site, now=now,
    )  # fmt: skip
    (shown,) = commitments.describe_commitments(session, settings, [changed], now=now)
    return shown


@router.get("/commitments", response_model=CommitmentList, summary="Commitments you may see")
def get_commitments(
    session: SessionDep, settings: SettingsDep, api_key: ApiKeyDep = None,
    operator: Annotated[str | None, Query(pattern=OPERATOR, description="Only this one.")] = None,
) -> dict[str, Any]:  # fmt: skip
    actor = request_actor(settings, api_key)
    found = commitments.show_commitments(
        session, settings, actor=actor, operator=operator, now=utcnow()
    )
    return {"commitments": found}


@router.get("/commitments/{commitment_id}", response_model=CommitmentOut, summary="One")
def get_commitment(
    commitment_id: CommitmentId,
    session: SessionDep,
    settings: SettingsDep,
    api_key: ApiKeyDep = None,
) -> dict[str, Any]:
    actor = request_actor(settings, api_key)
    return commitments.show_commitment(session, settings, commitment_id, actor=actor, now=utcnow())
