"""Task lists kept between requests: ``/v1/tasks`` and ``/v1/nearby`` answer from them.

Planning a list weighs every cell of the area's field (``service.areas.tasks``): seconds
of CPU on a province (10-12 s at 62,850 cells, ``benchmarks/task_plans.py``), and every team
that opens its page and every resident who opens the reporter page asks for one. A list
changes only when what it is planned from changes: an aggregation run, a refresh of the
estimated field, an import of areas or people (``service.store.versions.
evidence_version``). So each list is kept per filter until then, and one request plans it
while those that ask for it meanwhile wait for its list.

One list per filter (area, operator, radio), not the province's list filtered: the
candidates and the neighbours a visit informs are the area's (``rank_tasks``), and a
village's tasks may lie far below the province's first ``MAX_TASKS``. The limit is not part
of the key: tasks are picked one at a time, so the first ``limit`` of the ``MAX_TASKS``
list are the list of ``limit``, whose villages' walks (``group_by_village``) are cheap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from service.areas.selection import AreaFilter, area_filter
from service.areas.tasks import MAX_TASKS, Task, rank_tasks
from service.settings import Settings
from service.store.database import session_scope
from service.store.versions import evidence_version

# Lists kept at once, the least recently asked for dropped first: a province's communes
# and the villages whose teams are out this week, per operator. A list is at most
# MAX_TASKS small records (about 0.2 MB).
PLANS_KEPT = 64

Plan = TypeVar("Plan")


@dataclass(frozen=True)
class KeptList:
    """A kept list and the area it was planned in (read when it was planned)."""

    area: AreaFilter | None
    tasks: list[Task]


class TaskPlans(Generic[Plan]):
    """Plans (lists of tasks) by key, each kept while its evidence ``version`` holds;
    single-flight per key (one plan, the others wait for it), least recently used dropped
    beyond ``size``."""

    def __init__(self, size: int = PLANS_KEPT) -> None:
        self._size = size
        self._lock = threading.Lock()  # guards the two dicts and the count below
        # Per key: the version, the plan's number (in the order plans started), the list.
        self._plans: OrderedDict[Hashable, tuple[Hashable, int, Plan]] = OrderedDict()
        self._planning: dict[tuple[Hashable, Hashable], threading.Lock] = {}
        self._started = 0

    def _kept(self, version: Hashable, key: Hashable) -> Plan | None:
        with self._lock:
            kept = self._plans.get(key)
            if kept is None or kept[0] != version:
                return None
            self._plans.move_to_end(key)
            return kept[2]

    def tasks(self, version: Hashable, key: Hashable, plan: Callable[[], Plan]) -> Plan:
        """The plan kept for ``key`` at ``version``, else ``plan()``'s, kept."""
        kept = self._kept(version, key)
        if kept is not None:
            return kept
        with self._lock:
            gate = self._planning.setdefault((version, key), threading.Lock())
        try:
            with gate:
                kept = self._kept(version, key)  # planned while this request waited
                if kept is not None:
                    return kept
                with self._lock:
                    self._started += 1
                    number = self._started
                tasks = plan()
                with self._lock:
                    # A plan of an older version that ends after a newer one's does not
                    # replace it: the next request would plan the newer one again.
                    stored = self._plans.get(key)
                    if stored is not None and stored[1] > number:
                        return tasks
                    self._plans[key] = (version, number, tasks)
                    self._plans.move_to_end(key)
                    while len(self._plans) > self._size:
                        self._plans.popitem(last=False)
                return tasks
        finally:
            with self._lock:
                # The last request through the gate closes it (the others found the list).
                if not gate.locked():
                    self._planning.pop((version, key), None)


def kept_tasks(
    plans: TaskPlans[KeptList],
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    area: AreaFilter | None = None,
    operator: str,
    radio: str,
    limit: int = MAX_TASKS,
) -> KeptList:
    """``rank_tasks``'s first ``limit`` tasks and the area they were planned in (group them
    by that area's villages), from the list kept in ``plans`` while its evidence holds.

    Each read is a transaction of its own, none open while the request waits for another's
    plan: a province's plan takes seconds, every request for it waits, and those waiting
    with a pooled connection each left the uploads none (``SessionDep`` holds its
    connection until the response)."""
    key = (None if area is None else (area.commune, area.village), operator, radio)
    with session_scope(sessions, write=False) as session:
        version = evidence_version(session)

    def plan() -> KeptList:
        with session_scope(sessions, write=False) as session:
            # The area read again, after the version: an import between the request's
            # reading of the area and the version would keep a list of the old area
            # under the new version.
            planned = None if area is None else area_filter(
                session, commune=area.commune, village=area.village, resolution=area.resolution
            )  # fmt: skip
            tasks = rank_tasks(
                session, settings, area=planned, operator=operator, radio=radio, limit=MAX_TASKS
            )
        return KeptList(planned, tasks)

    kept = plans.tasks(version, key, plan)
    return KeptList(kept.area, kept.tasks[:limit])
