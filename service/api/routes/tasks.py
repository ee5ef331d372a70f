"""``/v1/tasks``: where village teams should measure next ("cần đo thêm")."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from service.api.access import ApiKeyDep, require_operators
from service.api.dependencies import AreaDep, SessionDep, SettingsDep
from service.api.routes.coverage import OperatorQuery
from service.areas.tasks import MAX_TASKS, plan_tasks, tasks_to_geojson

router = APIRouter(prefix="/v1", tags=["tasks"])


class TaskProperties(BaseModel):
    h3: str = Field(description="The resolution-9 cell to visit.")
    rank: int = Field(description="1 = the visit worth most.")
    reason: Literal["confirm_dead", "unmeasured", "uncertain"] = Field(
        description="confirm_dead: an operator is probably dead there but readings are too "
        "few to say; unmeasured: no readings of the operators that matter; uncertain: the "
        "estimate cannot tell."
    )
    people: float = Field(description="People living in the cell.")
    operators: list[str] = Field(description="SIMs to bring (MCC-MNC), most useful first.")
    value: float = Field(
        description="Expected reduction in uncertainty about people's dead-or-not status that "
        "one visit (two phones per operator, three readings each, on two days) brings, in "
        "people (value of information weighted by people; service/areas/tasks.py)."
    )


class TaskFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] = Field(description="GeoJSON Point: the cell centre, WGS84.")
    properties: TaskProperties


class TaskVillage(BaseModel):
    code: str
    name: str = Field(description="As imported: escape it before drawing it in HTML.")
    tasks: list[str] = Field(description="The village's tasks (h3) in walking order.")
    value: float


class TaskCollection(BaseModel):
    type: Literal["FeatureCollection"]
    operator: str
    radio: str
    features: list[TaskFeature]
    villages: list[TaskVillage] = Field(
        description="The tasks grouped per village (the village with most people in the "
        "cell), each a walk from the village centre; villages by total value."
    )


@router.get(
    "/tasks",
    response_model=TaskCollection,
    summary="Cells to measure next, per village (cần đo thêm)",
)
def get_tasks(
    session: SessionDep,
    settings: SettingsDep,
    area: AreaDep,
    operator: OperatorQuery = "any",
    radio: Annotated[
        Literal["any", "gsm", "umts", "lte", "nr"],
        Query(description="A measured decision of this radio settles a cell ('any': all)."),
    ] = "any",
    limit: Annotated[int, Query(ge=1, le=MAX_TASKS, description="Most tasks returned.")] = 40,
    api_key: ApiKeyDep = None,
) -> Response:
    require_operators(settings, api_key, [operator])
    tasks, villages = plan_tasks(
        session, settings, area=area, operator=operator, radio=radio, limit=limit
    )
    body = tasks_to_geojson(tasks, villages, operator=operator, radio=radio)
    return Response(orjson.dumps(body), media_type="application/geo+json")
