"""``GET /maps/coverage.html``, ``/maps/deadzones.html`` (optionally with suggested sites)
and ``/maps/progress.html``: the maps of the decided grid and of the progress of areas.

The pages link their scripts and stylesheets under ``/maps/assets/`` (Leaflet and
deadzone.js vendored in ``maps/assets``), never a CDN, so a browser on the same network as
the service needs no Internet except for the background tiles. Building the coverage page
of a province takes seconds, so each page is kept until the next aggregation run. The
progress page and the plan layer also depend on the imported areas and population, which
change without a run: those pages are kept only while ``areas_fingerprint`` stays the same.

One operator's coverage, zones and site plan need an API key that may read it
(``service.api.access``); the best of all operators and the progress page are public. The
coverage page asked for without ``operator`` draws every operator only for a key that may
read them all (or on an open development server), otherwise the best of all operators only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy.orm import Session

from domain.vocabulary import BEST_OF_ALL, RadioName
from maps import asset_dir, map_to_html
from service.api.access import ApiKeyDep, disclosure_for, require_operators
from service.api.dependencies import CommuneQuery, VillageQuery
from service.api.plan_query import PlanChoice, PlanChoiceDep
from service.api.routes.coverage import OPERATOR_PATTERN
from service.areas.selection import area_filter
from service.errors import AccessDenied, AuthenticationRequired, InvalidInput, NotFound
from service.keys import ALL_OPERATORS
from service.publish.disclosure import EXACT, Disclosure
from service.publish.mapdata import (
    coverage_page,
    data_date,
    deadzone_page,
    map_meta,
    map_title,
    progress_page,
)
from service.store.database import session_scope
from service.store.runs import last_run, scopes_changed_since
from service.store.versions import areas_fingerprint

router = APIRouter(prefix="/maps", tags=["maps"])

ASSET_URL = "/maps/assets"
# Asset files the pages may fetch, by suffix: nothing else under maps/assets is served.
ASSET_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
Lang = Annotated[Literal["vi", "en"], Query(description="Page language.")]


class PageCache:
    """Rendered pages by (page, options), kept across aggregation runs until a run changes
    the decisions of an operator scope the page draws (``runs.scopes_changed_since``: an
    incremental run names the scopes it touched, a full run touches all), and while the
    imported areas' ``version`` stays the same (one page kept per key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._run: int | None = None
        self._pages: dict[tuple[str, ...], tuple[str, str]] = {}

    def get(
        self, run: int | None, key: tuple[str, ...], version: str,
        changed: Callable[[int | None], set[str] | None],
    ) -> str | None:  # fmt: skip
        """The kept page, or None. ``changed(since)``: the scopes changed by the runs after
        run ``since`` (None: all of them)."""
        with self._lock:
            if run != self._run:
                scopes = changed(self._run) if self._run is not None else None
                self._run = run
                self._pages = {
                    k: page
                    for k, page in self._pages.items()
                    if scopes is not None and not _page_scopes(k) & scopes
                }
            kept = self._pages.get(key)
            return kept[1] if kept is not None and kept[0] == version else None

    def put(self, run: int | None, key: tuple[str, ...], page: str, version: str) -> None:
        with self._lock:
            if run == self._run:
                self._pages[key] = (version, page)


def _page_scopes(key: tuple[str, ...]) -> set[str]:
    """The operator scopes a page draws (``ALL_OPERATORS`` stands for every one)."""
    kind, _lang, _radio, _sites, *operators = key
    if kind == "progress":
        return {BEST_OF_ALL}
    if kind == "coverage" and not operators:
        return {ALL_OPERATORS_SCOPE}
    return set(operators) or {BEST_OF_ALL}


ALL_OPERATORS_SCOPE = "*"  # a page of every operator: any change reaches it


def _changed(session: Session, since: int | None) -> set[str] | None:
    scopes = scopes_changed_since(session, since)
    return None if scopes is None else scopes | ({ALL_OPERATORS_SCOPE} if scopes else set())


def _cache(request: Request) -> PageCache:
    return request.app.state.map_pages  # type: ignore[no-any-return]  # made by create_app


def _render(
    request: Request,
    kind: str,
    operators: tuple[str, ...],
    lang: str,
    radio: str = BEST_OF_ALL,
    sites: int = 0,
    disclosure: Disclosure = EXACT,
    plan: PlanChoice | None = None,
    area: tuple[str | None, str | None] = (None, None),
) -> str:
    """The page as HTML, built in one read-only transaction, or from the cache. ``plan``
    and ``area`` (commune, village codes): the dead-zone map's plan layer and its zones
    are those of the planning page's choice."""
    settings = request.app.state.settings
    with session_scope(request.app.state.sessions, write=False) as session:
        run = last_run(session)
        run_id = run.id if run else None
        key = (kind, lang, radio, str(sites), str(disclosure), repr(plan), *map(str, area),
               *operators)  # fmt: skip
        # Every page draws the imported communes, and the progress and plan pages their
        # people too: an import changes them without an aggregation run.
        version = areas_fingerprint(session)
        cached = _cache(request).get(run_id, key, version, lambda since: _changed(session, since))
        if cached is not None:
            return cached
        date = data_date(session)
        if kind == "coverage":
            shown = None if radio == BEST_OF_ALL else radio  # the default title says no scope
            meta = map_meta(
                map_title("coverage", lang=lang, radio=shown), data_date=date, lang=lang
            )
            page = coverage_page(
                session, meta=meta, operators=operators or None, radio=radio, disclosure=disclosure
            )
        elif kind == "progress":
            meta = map_meta(
                map_title("progress", lang=lang, radio=radio), data_date=date, lang=lang
            )
            page = progress_page(session, settings, meta=meta, radio=radio)
        else:
            scope = operators[0] if operators else BEST_OF_ALL
            shown = None if radio == BEST_OF_ALL else radio  # the default title says no scope
            meta = map_meta(
                map_title("deadzones", lang=lang, scope=scope, radio=shown),
                data_date=date, lang=lang,
            )  # fmt: skip
            commune, village = area
            page = deadzone_page(
                session, meta=meta, operator=scope, sites=sites, settings=settings, radio=radio,
                area=area_filter(session, commune=commune, village=village,
                                 resolution=settings.h3_resolution),
                design=plan.design if plan else None, colocate=bool(plan and plan.colocate),
                constraints=plan.constraints if plan else None,
            )  # fmt: skip
    html = map_to_html(page, asset_url=ASSET_URL)
    _cache(request).put(run_id, key, html, version)
    return html


@router.get("/coverage.html", response_class=HTMLResponse, summary="Coverage map")
async def coverage_html(
    request: Request,
    operator: Annotated[
        list[str] | None,
        Query(
            description="Operators to draw (MCC-MNC or 'any'), repeatable; default all. "
            "A province's page holds about 3 MB per operator.",
        ),
    ] = None,
    radio: Annotated[
        RadioName,
        Query(
            description="'any': any signal (default); 'broadband': LTE or NR only; or one "
            "radio technology."
        ),
    ] = "any",
    lang: Lang = "vi",
    api_key: ApiKeyDep = None,
) -> HTMLResponse:
    operators = tuple(sorted(set(operator or ())))
    for op in operators:
        _check_operator(op)
    settings = request.app.state.settings
    if operators:
        require_operators(settings, api_key, operators)
    else:
        try:  # every operator: only for a key that may read them all
            require_operators(settings, api_key, [ALL_OPERATORS])
        except AccessDenied:
            operators = (BEST_OF_ALL,)
        except AuthenticationRequired:
            if api_key:  # a key was sent but is unknown: say so, not a quietly smaller map
                raise
            operators = (BEST_OF_ALL,)
    disclosure = disclosure_for(settings, api_key)
    html = await run_in_threadpool(
        _render, request, "coverage", operators, lang, radio, disclosure=disclosure
    )
    return HTMLResponse(html)


@router.get("/deadzones.html", response_class=HTMLResponse, summary="Dead-zone map")
async def deadzones_html(
    request: Request,
    plan: PlanChoiceDep,
    operator: Annotated[
        str, Query(pattern=OPERATOR_PATTERN, description="MCC-MNC such as 452-04, or 'any'.")
    ] = BEST_OF_ALL,
    sites: Annotated[
        int,
        Query(
            ge=0,
            le=100,
            description="Suggested new sites to draw for the same operator, with their "
            "coverage circles (the plan of /v1/plan); 0 draws no plan layer.",
        ),
    ] = 0,
    radio: Annotated[
        Literal["any", "broadband"],
        Query(
            description="'any': zones without any signal (default); 'broadband': zones "
            "without LTE or NR (places reached only on 3G too), and the sites for them."
        ),
    ] = "any",
    lang: Lang = "vi",
    api_key: ApiKeyDep = None,
    commune: CommuneQuery = None,
    village: VillageQuery = None,
) -> HTMLResponse:
    """With ``sites``, the plan of ``GET /v1/plan`` with the same parameters (band, mast,
    EIRP, co-location, power, road, commune, village): the planning page's map link carries
    them. ``commune``/``village`` also keep the zones of that area only."""
    require_operators(request.app.state.settings, api_key, [operator])
    if plan.given and sites == 0:
        raise InvalidInput(
            f"{plan.given[0]} applies to the plan layer only: ask for it with sites=1 or more",
            field=plan.given[0],
        )
    html = await run_in_threadpool(
        _render, request, "deadzones", (operator,), lang, radio, sites,
        plan=plan, area=(commune, village),
    )  # fmt: skip
    return HTMLResponse(html)


@router.get("/progress.html", response_class=HTMLResponse, summary="Progress map")
async def progress_html(
    request: Request,
    lang: Lang = "vi",
    radio: Annotated[
        Literal["any", "broadband"] | None,
        Query(description="'broadband' (LTE or NR) or 'any' signal; default: the goal's."),
    ] = None,
) -> HTMLResponse:
    """Communes coloured by the share of their people covered (best of all operators; people
    in undecided or unmeasured cells count as not covered), villages marked by status."""
    scope = radio or request.app.state.settings.goal_radio
    html = await run_in_threadpool(_render, request, "progress", (), lang, scope)
    return HTMLResponse(html)


@router.get("/assets/{name:path}", include_in_schema=False)
def asset_file(name: str) -> FileResponse:
    root = asset_dir().resolve()
    path = (root / name).resolve()
    media = ASSET_MEDIA_TYPES.get(path.suffix)
    if media is None or not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"no such file: {name}", field="name")
    return FileResponse(path, media_type=media)


def _check_operator(operator: str) -> None:
    if not re.fullmatch(OPERATOR_PATTERN, operator):
        raise InvalidInput(
            f"operator must be 'any' or an MCC-MNC such as 452-04, got {operator!r}",
            field="operator",
        )
