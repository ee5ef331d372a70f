"""Cheap tokens that change when what a kept answer is computed from changes, so that the
service can keep pages and task lists that take seconds to compute (``service.api.routes.
maps``, ``service.areas.task_plans``) and drop them when they would differ."""

from __future__ import annotations

from collections.abc import Hashable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.store.models import CellPopulation, Commune, Village
from service.store.runs import (
    ESTIMATED_AT,
    ESTIMATED_SEQ,
    last_run,
    set_state_value,
    state_value,
    state_values,
)

# aggregation_state: imports of areas or people, and zone states moved by commitments, so far
AREAS_CHANGES = "areas_changes"
# aggregation_state: rebuilds of the people on the grid and in villages' cells, so far
PEOPLE_CHANGES = "people_changes"


def note_areas_changed(session: Session) -> None:
    """Count a change the kept pages show between runs into ``areas_fingerprint``: an import
    of areas or people (``service.areas.population.rebuild_population``, which every such
    import ends with; a cluster layer or a raster may move people between cells with the
    same rows, times and total), or a commitment that moves zones' states (the progress
    page counts each commune's open zones; ``service.areas.commitments``)."""
    set_state_value(session, AREAS_CHANGES, (state_value(session, AREAS_CHANGES) or 0) + 1)


def note_people_changed(session: Session) -> None:
    """Count a rebuild of the people on the grid (``rebuild_population``): the dead zones'
    people, villages and priority rest on it and no reading dirties them, so the next
    aggregation run is a full one (``service.engine.incremental.can_run_incrementally``)."""
    set_state_value(session, PEOPLE_CHANGES, people_version(session) + 1)


def people_version(session: Session) -> int:
    """How many times the people on the grid were rebuilt (``note_people_changed``)."""
    return state_value(session, PEOPLE_CHANGES) or 0


def areas_fingerprint(session: Session) -> str:
    """A cheap token that changes whenever an import changes what the progress and plan
    pages show without a new aggregation run: the imports of areas or people so far
    (``note_areas_changed``), row count and newest import time of communes and villages,
    row count and total people of ``cell_population``. A zone's state moved by a
    commitment is counted too (``note_areas_changed``); its other changes come with a
    run, which every kept answer is keyed by."""
    row = session.execute(
        select(
            select(func.count()).select_from(Commune).scalar_subquery(),
            select(func.max(Commune.imported_at)).scalar_subquery(),
            select(func.count()).select_from(Village).scalar_subquery(),
            select(func.max(Village.imported_at)).scalar_subquery(),
            select(func.count()).select_from(CellPopulation).scalar_subquery(),
            select(func.sum(CellPopulation.people)).scalar_subquery(),
        )
    ).one()
    communes, communes_at, villages, villages_at, cells, people = row
    # Rounded: a float sum may differ in its last bits with the scan order.
    people_text = "none" if people is None else f"{float(people):.1f}"
    imports = state_value(session, AREAS_CHANGES)
    return f"{imports}|{communes}|{communes_at}|{villages}|{villages_at}|{cells}|{people_text}"


def evidence_version(session: Session) -> Hashable:
    """What the tasks are planned from (``service.areas.tasks``): the newest aggregation run
    (measured decisions), the last refresh of the estimated field (its time and the newest
    reading behind it: a refresh may come without a run), and the imported areas and
    people (``areas_fingerprint``)."""
    run = last_run(session)
    estimated = state_values(session, [ESTIMATED_AT, ESTIMATED_SEQ])
    return (
        run.id if run is not None else None,
        estimated.get(ESTIMATED_AT),
        estimated.get(ESTIMATED_SEQ),
        areas_fingerprint(session),
    )
