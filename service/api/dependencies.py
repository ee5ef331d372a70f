"""Request-scoped resources: the one transaction per request lives here."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from service.areas.selection import AreaFilter, area_filter
from service.settings import Settings
from service.store.database import session_scope


def get_session(request: Request) -> Iterator[Session]:
    """A session whose transaction commits when the route returns and rolls back if it
    raises: the only commit of a request. Routes that only read use it."""
    with session_scope(request.app.state.sessions, write=False) as session:
        yield session


def get_write_session(request: Request) -> Iterator[Session]:
    """``get_session`` for routes that change rows: the transaction takes the write lock
    up front (SQLite ``BEGIN IMMEDIATE``), so it queues behind the background aggregation
    instead of failing when it reads first and writes after another writer committed."""
    with session_scope(request.app.state.sessions, write=True) as session:
        yield session


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
WriteSessionDep = Annotated[Session, Depends(get_write_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


CommuneQuery = Annotated[
    str | None, Query(max_length=32, description="Only this commune (its code).")
]
VillageQuery = Annotated[
    str | None, Query(max_length=32, description="Only this village (its code).")
]


def get_area(
    request: Request,
    session: Annotated[Session, Depends(get_session)],
    commune: CommuneQuery = None,
    village: VillageQuery = None,
) -> AreaFilter | None:
    """The ``commune=`` / ``village=`` filter of a request (``service.areas.selection``)."""
    return area_filter(
        session, commune=commune, village=village,
        resolution=request.app.state.settings.h3_resolution,
    )  # fmt: skip


AreaDep = Annotated[AreaFilter | None, Depends(get_area)]


def get_area_alone(
    request: Request,
    commune: CommuneQuery = None,
    village: VillageQuery = None,
) -> AreaFilter | None:
    """``get_area`` read in a transaction of its own, ended before the route runs: for a
    route that may wait seconds for another request's work (the kept task lists) without
    holding a pooled connection the uploads need meanwhile."""
    with session_scope(request.app.state.sessions, write=False) as session:
        return get_area(request, session, commune=commune, village=village)


AreaAloneDep = Annotated[AreaFilter | None, Depends(get_area_alone)]


SheetLangQuery = Annotated[
    Literal["en", "vi"],
    Query(
        description="Language of a CSV file: en (the default, for scripts) or vi, for a "
        "meeting (what the pages download): Vietnamese headers and words, semicolons, "
        "decimal commas, shares in %, whole people, dd/mm/yyyy (service/publish/sheets.py)."
    ),
]
