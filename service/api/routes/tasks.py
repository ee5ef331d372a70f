"""``/v1/tasks``: where village teams should measure next ("cần đo thêm"), and the page
``/tasks`` a team opens on its phone: its list, a small map without tiles (it works with no
Internet; Leaflet vendored in ``maps/assets``) and, per village, a link and a QR code to
share in the village's Zalo group. The QR code is drawn here by segno, offline."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, sessionmaker

from domain.vocabulary import BEST_OF_ALL, RadioName
from service.api.access import ApiKeyDep, require_operators
from service.api.dependencies import AreaAloneDep, SessionDep, SettingsDep
from service.api.openapi import geojson_answer
from service.api.routes.coverage import OperatorQuery
from service.api.routes.pages import PAGE_HEADERS
from service.areas.task_plans import KeptList, TaskPlans, kept_tasks
from service.areas.tasks import MAX_TASKS, group_by_village, nearby, tasks_to_geojson
from service.errors import NotFound
from service.store.database import session_scope
from service.store.models import Village
from service.timestamps import utcnow

router = APIRouter(prefix="/v1", tags=["tasks"])
pages = APIRouter(tags=["pages"])

PAGE_DIR = Path(__file__).resolve().parents[1] / "static" / "tasks"
PAGE_FILES = {"tasks.js": "text/javascript; charset=utf-8", "tasks.css": "text/css; charset=utf-8"}


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
        description="Expected reduction in wrong dead-or-not calls about people's signal that "
        "one visit (two phones per operator, three readings each, on two days) brings, in "
        "people-equivalents: the calls it is expected to make right (a dead pair newly "
        "called dead, or a wrong estimated dead call withdrawn), in its cell and the cells "
        "its readings inform, each weighted by the people living in the cell plus "
        "DEADZONE_TASK_CELL_WEIGHT for those who pass there; what the tasks ranked above "
        "it already tell is not counted again (value of information; "
        "service/areas/tasks.py)."
    )


class TaskFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] = Field(description="GeoJSON Point: the cell centre, WGS84.")
    properties: TaskProperties


class TaskVillage(BaseModel):
    code: str
    name: str = Field(description="As imported: escape it before drawing it in HTML.")
    commune_name: str | None = Field(
        default=None,
        description="Its commune's name as imported (escape it); null when that commune's "
        "outline was not imported.",
    )
    tasks: list[str] = Field(description="The village's tasks (h3) in walking order.")
    value: float


class TaskCollection(BaseModel):
    type: Literal["FeatureCollection"]
    operator: str
    radio: str
    features: list[TaskFeature]
    villages: list[TaskVillage] = Field(
        description="The tasks grouped per village (the village with most people in the "
        "cell, else the area's village with the nearest centre), each a walk from the "
        "village centre; villages by total value."
    )


@router.get(
    "/tasks",
    response_model=TaskCollection,
    responses=geojson_answer("TaskCollection"),
    summary="Cells to measure next, per village (cần đo thêm)",
)
def get_tasks(
    request: Request,
    settings: SettingsDep,
    area: AreaAloneDep,
    operator: OperatorQuery = "any",
    radio: Annotated[
        RadioName,
        Query(
            description="A measured decision of this scope settles a cell ('any': any "
            "signal; 'broadband': LTE or NR; or one radio)."
        ),
    ] = "any",
    limit: Annotated[int, Query(ge=1, le=MAX_TASKS, description="Most tasks returned.")] = 40,
    api_key: ApiKeyDep = None,
) -> Response:
    require_operators(settings, api_key, [operator])
    # No transaction open meanwhile: the list may be another request's plan, seconds away.
    kept = kept_tasks(
        _plans(request), _sessions(request), settings, area=area, operator=operator,
        radio=radio, limit=limit,
    )  # fmt: skip
    with session_scope(_sessions(request), write=False) as session:
        # Grouped by the villages of the area the list was planned in: an import since the
        # request read its area would otherwise drop the new villages' tasks from the walks.
        villages = group_by_village(session, kept.tasks, kept.area)
    body = tasks_to_geojson(kept.tasks, villages, operator=operator, radio=radio)
    return Response(orjson.dumps(body), media_type="application/geo+json")


def _plans(request: Request) -> TaskPlans[KeptList]:
    # Made by create_app, so each app (and test) has its own.
    return request.app.state.task_plans  # type: ignore[no-any-return]


def _sessions(request: Request) -> sessionmaker[Session]:
    return request.app.state.sessions  # type: ignore[no-any-return]


@router.get("/nearby", summary="The resident's village and the nearest open task")
def get_nearby(
    request: Request,
    settings: SettingsDep,
    lat: Annotated[float, Query(ge=-85.051, le=85.051, description="WGS84 degrees.")],
    lon: Annotated[float, Query(ge=-180, le=180, description="WGS84 degrees.")],
) -> dict[str, Any]:
    """For the reporter page: the village at (lat, lon) with its status (or likely status)
    and how many neighbours reported this month, and the nearest task of ``/v1/tasks``
    (best of all operators) with its distance in metres. Nulls when there is none."""
    kept = kept_tasks(_plans(request), _sessions(request), settings, operator=BEST_OF_ALL,
                      radio="any")  # fmt: skip
    with session_scope(_sessions(request), write=False) as session:
        return nearby(session, settings, lat=lat, lon=lon, now=utcnow(), tasks=kept.tasks)


@pages.get("/tasks", response_class=HTMLResponse, summary="Where to measure next (village teams)")
def tasks_page() -> FileResponse:
    return FileResponse(PAGE_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)  # fmt: skip


@pages.get("/tasks/qr.svg", include_in_schema=False)
def village_qr(
    request: Request,
    session: SessionDep,
    village: Annotated[str, Query(max_length=32, description="Village code.")],
    lang: Annotated[Literal["vi", "en"], Query()] = "vi",
    operator: OperatorQuery = "any",
    radio: RadioName = "any",
) -> Response:
    """A QR code (SVG) of the village's task page, to share in its Zalo group. The page's
    operator and radio go into it, so a team that plans for broadband or for one operator
    shares the list it sees, not the default one."""
    if session.get(Village, village) is None:
        raise NotFound(f"no village with code {village!r}", field="village")
    url = request.url_for("tasks_page").include_query_params(village=village)
    # The same order of parameters as the link the page prints beside the code (tasks.js).
    if operator != "any":
        url = url.include_query_params(operator=operator)
    if radio != "any":
        url = url.include_query_params(radio=radio)
    if lang == "en":
        url = url.include_query_params(lang="en")
    buffer = io.BytesIO()
    segno.make(str(url), error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
    return Response(buffer.getvalue(), media_type="image/svg+xml", headers=PAGE_HEADERS)


@pages.get("/tasks/sw.js", include_in_schema=False)
def tasks_service_worker() -> FileResponse:
    """The page's service worker: it opens the page and its last list with no connection
    (a team walks from signal to places without it). Its scope is the page's URL itself,
    one level above the file, which the header allows."""
    return FileResponse(
        PAGE_DIR / "sw.js", media_type="text/javascript; charset=utf-8",
        headers={**PAGE_HEADERS, "Service-Worker-Allowed": "/tasks"},
    )  # fmt: skip


@pages.get("/tasks/{name}", include_in_schema=False)
def tasks_file(name: str) -> FileResponse:
    if name not in PAGE_FILES:
        raise NotFound(f"no such file: {name}", field="name")
    return FileResponse(PAGE_DIR / name, media_type=PAGE_FILES[name], headers=PAGE_HEADERS)
