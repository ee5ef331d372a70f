"""Fixtures of the demo tests: the small demo (seed 1) finished on each database, once per
session and read-only.

The demo costs a minute or more of CPU, so its tests share runs instead of making their
own: ``sqlite_demo_run`` and ``postgis_demo_run`` here (``run_demo`` with the tests' device
secret on a fresh database of each backend), and ``demo_run`` (tests/conftest.py:
``deadzone demo`` on its own SQLite file, the default device secret).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from simulation.demo import run_demo
from tests.conftest import BACKENDS, TEST_SECRET, DemoRun, PostgisServer

SEED = 1


def finish_demo(database_url: str, out: Path) -> DemoRun:
    """The small demo through ``run_demo`` on ``database_url``, written to ``out``, with the
    settings the ``settings`` fixture gives a test."""
    settings = Settings(
        database_url=database_url,
        device_secret=TEST_SECRET,
        environment="development",
        aggregate_interval_s=0,
        terrain_path=out / "terrain.tif",  # never the working directory's
    )
    result = run_demo(settings, size="small", seed=SEED, out=out)
    return DemoRun(settings=settings, out=out, summary=result.summary)


@pytest.fixture(scope="session")
def sqlite_demo_run(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> DemoRun:
    out = tmp_path_factory.mktemp("demo-sqlite")
    path = tmp_path_factory.mktemp("demo-sqlite-db") / "deadzone.sqlite"
    shutil.copyfile(sqlite_template, path)
    return finish_demo(f"sqlite:///{path}", out)


@pytest.fixture(scope="session")
def postgis_demo_run(
    tmp_path_factory: pytest.TempPathFactory, postgis_server: PostgisServer | None
) -> Iterator[DemoRun]:
    if postgis_server is None:
        pytest.skip("PostGIS test server unavailable (set CI=true to make this fail)")
    name = postgis_server.create_database()
    try:
        yield finish_demo(postgis_server.url_for(name), tmp_path_factory.mktemp("demo-postgis"))
    finally:
        postgis_server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def finished_demo(request: pytest.FixtureRequest) -> DemoRun:
    """The session's small demo on each database."""
    return request.getfixturevalue(f"{request.param}_demo_run")
