"""Kept task lists (``service.areas.task_plans``): ``/v1/tasks`` and ``/v1/nearby`` plan a
list once per filter and answer from it until a run, a refresh of the field or an import
changes what it is planned from; the answers are those planned afresh."""

from __future__ import annotations

import threading
import time

import h3
import pytest
import shapely.geometry

import service.areas.task_plans as kept_module
from service.areas.selection import area_filter
from service.areas.task_plans import TaskPlans
from service.areas.tasks import Task, group_by_village, rank_tasks, tasks_to_geojson
from service.jobs import refresh_stale_estimates, run_aggregation
from tests.areas.conftest import import_areas, village, write_layer
from tests.areas.test_tasks import FIELD, HAMLET, no_service_from_two_phones, seed_world
from tests.coverage_helpers import NOW, ingest


@pytest.fixture
def planned(monkeypatch) -> list[tuple]:
    """The filters of every list planned through the kept lists (the real planning runs)."""
    calls: list[tuple] = []
    rank = kept_module.rank_tasks

    def counting(session, settings, *, area, operator, radio, limit):
        calls.append((None if area is None else area.village, operator, radio))
        return rank(session, settings, area=area, operator=operator, radio=radio, limit=limit)

    monkeypatch.setattr(kept_module, "rank_tasks", counting)
    return calls


def fresh(sessions, settings, *, limit: int, village: str | None = None, operator: str = "any"):
    """What ``/v1/tasks`` answers when planned afresh, without any kept list."""
    with sessions() as session:
        area = None
        if village is not None:
            area = area_filter(
                session, commune=None, village=village, resolution=settings.h3_resolution
            )
        tasks = rank_tasks(
            session, settings, area=area, operator=operator, radio="any", limit=limit
        )
        villages = group_by_village(session, tasks, area)
        return tasks_to_geojson(tasks, villages, operator=operator, radio="any")


def test_tasks_are_planned_once_per_filter_and_answer_as_planned_afresh(
    tmp_path, settings, sessions, client, planned
):
    seed_world(tmp_path, settings, sessions)
    first = client.get("/v1/tasks").json()
    assert first == fresh(sessions, settings, limit=40) and first["features"]
    assert client.get("/v1/tasks").json() == first
    # A shorter list is the head of the kept one, with its own villages' walks.
    assert client.get("/v1/tasks", params={"limit": 3}).json() == fresh(sessions, settings, limit=3)
    assert client.get("/v1/tasks", params={"limit": 500}).json() == fresh(
        sessions, settings, limit=500
    )
    # The reporter page's nearest task comes from the same list.
    lat, lon = h3.cell_to_latlng(HAMLET)
    assert client.get("/v1/nearby", params={"lat": lat, "lon": lon}).json()["task"]["h3"] == (
        HAMLET
    )
    assert planned == [(None, "any", "any")]
    # Another filter is another list (its own candidates and neighbours), kept too.
    for _ in range(2):
        own = client.get("/v1/tasks", params={"village": "V1", "limit": 500}).json()
        assert own == fresh(sessions, settings, limit=500, village="V1")
        one = client.get("/v1/tasks", params={"operator": "452-04"}).json()
        assert one == fresh(sessions, settings, limit=40, operator="452-04")
    assert planned == [(None, "any", "any"), ("V1", "any", "any"), (None, "452-04", "any")]


def test_a_run_a_refresh_of_the_field_and_an_import_each_plan_the_lists_again(
    tmp_path, settings, sessions, client, planned
):
    seed_world(tmp_path, settings, sessions)
    client.get("/v1/tasks")
    assert len(planned) == 1
    # A third phone's no service settles the hamlet: a run (the field left until due).
    hourly = settings.model_copy(update={"estimate_interval_s": 3600.0})
    ingest(sessions, settings, no_service_from_two_phones(HAMLET, "third")[:3])
    assert "estimate" not in run_aggregation(sessions, hourly, now=NOW).seconds
    after_run = client.get("/v1/tasks", params={"limit": 500}).json()
    assert len(planned) == 2 and after_run == fresh(sessions, settings, limit=500)
    assert HAMLET not in [f["properties"]["h3"] for f in after_run["features"]]
    # The field catches up with that run without another run.
    refresh_stale_estimates(sessions, settings)
    after_field = client.get("/v1/tasks", params={"limit": 500}).json()
    assert len(planned) == 3 and after_field == fresh(sessions, settings, limit=500)
    assert after_field != after_run  # the field changed what the visits are worth
    # A village imported where the field lies: people there, no run.
    near_field = h3.grid_disk(FIELD, 1)[1]
    import_areas(
        sessions, settings,
        write_layer(tmp_path / "more.geojson", [village("V3", "Field", near_field, 400)]),
    )  # fmt: skip
    after_import = client.get("/v1/tasks", params={"limit": 500}).json()
    assert len(planned) == 4 and after_import == fresh(sessions, settings, limit=500)
    assert after_import != after_field
    assert client.get("/v1/tasks", params={"limit": 500}).json() == after_import
    assert len(planned) == 4


def test_requests_for_one_list_share_its_plan_and_other_lists_do_not_wait():
    """Eight requests at once for one list: one plans, seven wait for its list. A list of
    another filter is planned meanwhile (its plan finishes before the first's)."""
    kept = TaskPlans()
    plans: list[str] = []
    other_done = threading.Event()

    def plan(key: str):
        def run() -> list[Task]:
            plans.append(key)
            if key == "province":
                assert other_done.wait(10)  # the village's list does not queue behind it
            else:
                other_done.set()
            return [Task(key, 1, "unmeasured", 0.0, [], 1.0)]

        return run

    answers: list[list[Task]] = []
    threads = [
        threading.Thread(target=lambda: answers.append(kept.tasks(1, "province", plan("province"))))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.1)
    village = kept.tasks(1, "village", plan("village"))
    for thread in threads:
        thread.join()
    assert village[0].h3 == "village"
    assert sorted(plans) == ["province", "village"]
    assert len(answers) == 8 and all(answer is answers[0] for answer in answers)
    # Another version of the evidence: planned again.
    assert kept.tasks(2, "province", plan("province")) is not answers[0]
    assert plans.count("province") == 2


def test_the_least_recently_asked_list_is_dropped_beyond_the_bound():
    kept = TaskPlans(size=2)
    plans: list[str] = []

    def plan(key: str):
        return lambda: plans.append(key) or [Task(key, 1, "unmeasured", 0.0, [], 1.0)]

    for key in ("a", "b", "a", "c", "a", "b"):
        kept.tasks(1, key, plan(key))
    # "b" was dropped when "c" came ("a" had been asked for since); "a" was kept.
    assert plans == ["a", "b", "c", "b"]


def test_a_plan_of_older_evidence_that_ends_last_does_not_replace_a_newer_list():
    """A slow plan begun before a run ends after the plan of the run's evidence: the newer
    list stays kept, so the next request at that evidence does not plan it again."""
    kept = TaskPlans()
    plans: list[str] = []
    newer_kept = threading.Event()

    def plan(version: str):
        def run() -> list[Task]:
            plans.append(version)
            if version == "v1":
                assert newer_kept.wait(10)
            return [Task(version, 1, "unmeasured", 0.0, [], 1.0)]

        return run

    slow = threading.Thread(target=lambda: kept.tasks("v1", "province", plan("v1")))
    slow.start()
    time.sleep(0.1)  # the older plan has begun
    assert kept.tasks("v2", "province", plan("v2"))[0].h3 == "v2"
    newer_kept.set()
    slow.join()
    assert kept.tasks("v2", "province", plan("v2"))[0].h3 == "v2"
    assert plans == ["v1", "v2"]


def test_a_cluster_layer_that_moves_people_plans_the_lists_again(
    tmp_path, settings, sessions, client
):
    """A corrected cluster layer moves a village's people to other cells: the same rows,
    import times and total, so only the count of imports tells the kept lists."""
    seed_world(tmp_path, settings, sessions)
    before = client.get("/v1/tasks", params={"limit": 500}).json()
    # V1's cluster: seven cells three steps east of its centre.
    i, j = h3.cell_to_local_ij(HAMLET, HAMLET)
    cells = h3.grid_disk(h3.local_ij_to_cell(HAMLET, i + 3, j), 1)
    cluster = shapely.geometry.shape(h3.cells_to_geo(cells))
    import_areas(sessions, settings, write_layer(
        tmp_path / "clusters.geojson", [{"village_code": "V1", "geometry": cluster}]
    ), kind="cluster")  # fmt: skip
    after = client.get("/v1/tasks", params={"limit": 500}).json()
    assert after == fresh(sessions, settings, limit=500)
    assert after != before


def test_an_import_while_a_commune_list_is_asked_for_plans_it_from_the_new_area(
    tmp_path, settings, sessions, client, monkeypatch
):
    """On PostgreSQL each statement sees the newest commit: a village imported after the
    request read its commune, and before the version of the evidence, must be in the list
    kept under that version."""
    seed_world(tmp_path, settings, sessions)
    version = kept_module.evidence_version
    imported: list[str] = []

    def import_first(session):
        if not imported:
            imported.append("V3")
            layer = [village("V3", "Field", h3.grid_disk(FIELD, 1)[1], 400, commune="C1")]
            import_areas(sessions, settings, write_layer(tmp_path / "more.geojson", layer))
        return version(session)

    monkeypatch.setattr(kept_module, "evidence_version", import_first)
    first = client.get("/v1/tasks", params={"commune": "C1", "limit": 500}).json()
    kept = client.get("/v1/tasks", params={"commune": "C1", "limit": 500}).json()
    with sessions() as session:
        area = area_filter(session, commune="C1", village=None, resolution=settings.h3_resolution)
        tasks = rank_tasks(session, settings, area=area, limit=500)
        villages = group_by_village(session, tasks, area)
    fresh_answer = tasks_to_geojson(tasks, villages, operator="any", radio="any")
    # The first answer too: its walks group by the new area's villages, as its list does.
    assert imported and kept == fresh_answer and first == fresh_answer


def test_requests_waiting_for_a_plan_hold_no_pooled_connection(
    tmp_path, settings, sessions, client, monkeypatch
):
    """While one request plans the province's list, those that wait for it (``/v1/tasks``,
    ``/v1/nearby``) hold no connection of the pool: the uploads need them meanwhile."""
    seed_world(tmp_path, settings, sessions)
    rank = kept_module.rank_tasks
    begun, finish = threading.Event(), threading.Event()

    def slow(session, settings, **kwargs):
        session.connection()  # the planner holds one, as planning does
        begun.set()
        assert finish.wait(20)
        return rank(session, settings, **kwargs)

    monkeypatch.setattr(kept_module, "rank_tasks", slow)
    asked = threading.Semaphore(0)  # released by each request that found no kept list
    kept_of = TaskPlans._kept

    def counted(plans, version, key):
        found = kept_of(plans, version, key)
        if found is None:
            asked.release()
        return found

    monkeypatch.setattr(TaskPlans, "_kept", counted)
    pool = client.app.state.sessions.kw["bind"].pool
    answers: dict[str, dict] = {}

    def ask(name: str, path: str, params: dict) -> None:
        answers[name] = client.get(path, params=params).json()

    planner = threading.Thread(target=ask, args=("planner", "/v1/tasks", {}))
    planner.start()
    assert begun.wait(20)
    waiting = [
        threading.Thread(target=ask, args=(f"tasks{k}", "/v1/tasks", {})) for k in range(3)
    ] + [
        threading.Thread(target=ask, args=("nearby", "/v1/nearby", {"lat": 12.68, "lon": 108.05}))
    ]  # fmt: skip
    for thread in waiting:
        thread.start()
    # The planner asked twice (before its gate and behind it), each waiter once: all four
    # have read their version and are at the plan's gate, or about to be.
    for _ in range(2 + len(waiting)):
        assert asked.acquire(timeout=20)
    held = pool.checkedout()
    finish.set()
    for thread in [planner, *waiting]:
        thread.join(30)
    assert held == 1, f"{held} connections held while one request planned"
    assert answers["planner"] == answers["tasks0"] == answers["tasks1"] == answers["tasks2"]
    assert answers["nearby"]["task"] is not None
