"""Task lists kept between requests: ``/v1/tasks`` and ``/v1/nearby`` answer from them.

Planning a list weighs every cell of the area's field (``service.areas.tasks``): seconds
of CPU on a province (5.9 s at 62,850 cells, ``docs/demo-accuracy.md``), and every team
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

from sqlalchemy.orm import Session

from service.areas.selection import AreaFilter
from service.areas.tasks import MAX_TASKS, Task, rank_tasks
from service.settings import Settings
from service.store.versions import evidence_version

# Lists kept at once, the least recently asked for dropped first: a province's communes
# and the villages whose teams are out this week, per operator. A list is at most
# MAX_TASKS small records (about 0.2 MB).
PLANS_KEPT = 64


class TaskPlans:
    """Lists of tasks by key, each kept while its evidence ``version`` holds; single-flight
    per key (one plan, the others wait for it), least recently used dropped beyond
    ``size``."""

    def __init__(self, size: int = PLANS_KEPT) -> None:
        self._size = size
        self._lock = threading.Lock()  # guards the two dicts below
        self._plans: OrderedDict[Hashable, tuple[Hashable, list[Task]]] = OrderedDict()
        self._planning: dict[tuple[Hashable, Hashable], threading.Lock] = {}

    def _kept(self, version: Hashable, key: Hashable) -> list[Task] | None:
        with self._lock:
            kept = self._plans.get(key)
            if kept is None or kept[0] != version:
                return None
            self._plans.move_to_end(key)
            return kept[1]

    def tasks(self, version: Hashable, key: Hashable, plan: Callable[[], list[Task]]) -> list[Task]:
        """The list kept for ``key`` at ``version``, else ``plan()``'s, kept."""
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
                tasks = plan()
                with self._lock:
                    self._plans[key] = (version, tasks)
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
    plans: TaskPlans,
    session: Session,
    settings: Settings,
    *,
    area: AreaFilter | None = None,
    operator: str,
    radio: str,
    limit: int = MAX_TASKS,
) -> list[Task]:
    """``rank_tasks``'s list, from the one kept in ``plans`` while its evidence holds."""
    key = (None if area is None else (area.commune, area.village), operator, radio)

    def plan() -> list[Task]:
        return rank_tasks(
            session, settings, area=area, operator=operator, radio=radio, limit=MAX_TASKS
        )

    return plans.tasks(evidence_version(session), key, plan)[:limit]
