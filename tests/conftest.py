"""Fixtures shared by every test that touches storage.

Storage tests run on both databases: a real SQLite file and a real PostgreSQL + PostGIS
server (``DEADZONE_TEST_POSTGRES_URL``, default the local server). Each test gets its
own freshly migrated database (a copy of a template migrated once per run), so tests
may commit, race and fail like production without cleaning up after each other.

When PostGIS cannot be reached the PostGIS half is skipped on a developer's machine, but
fails when ``CI`` is true or ``DEADZONE_REQUIRE_POSTGIS=1``: CI must never pass by
silently testing only SQLite.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import uuid
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from service.settings import Settings
from service.store.database import make_engine, make_sessionmaker
from service.store.schema import upgrade_database

TEST_SECRET = "test-device-secret-0123456789abcdef"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BACKENDS = ("sqlite", "postgis")


def postgis_required() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or os.environ.get(
        "DEADZONE_REQUIRE_POSTGIS", ""
    ) in ("1", "true")


def _admin_url() -> str:
    url = os.environ.get("DEADZONE_TEST_POSTGRES_URL", DEFAULT_PG_URL)
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


class PostgisServer:
    """Creates databases from a migrated template on the test PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = make_url(admin_url)
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.template = f"deadzone_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def url_for(self, database: str) -> str:
        return self.admin_url.set(database=database).render_as_string(hide_password=False)

    def create_template(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = create_engine(self.url_for(self.template))
        try:
            upgrade_database(engine)
        finally:
            engine.dispose()

    def create_database(self) -> str:
        name = f"deadzone_t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def drop_database(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self.drop_database(self.template)
        self.admin.dispose()


@pytest.fixture(autouse=True)
def _thaw_the_collector() -> Iterator[None]:
    """`deadzone aggregate` freezes the imported modules out of the cyclic collector for the
    rest of its process (service/cli/aggregate.py); run in this process by CliRunner, it
    would keep every object of that moment, garbage included, for the rest of the session."""
    yield
    if gc.get_freeze_count():
        gc.unfreeze()


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[PostgisServer | None]:
    """The PostGIS test server, or None (skip) when it is unavailable outside CI."""
    try:
        server = PostgisServer(_admin_url())
        with server.admin.connect() as conn:
            available = conn.execute(
                text("SELECT count(*) FROM pg_available_extensions WHERE name = 'postgis'")
            ).scalar_one()
        if not available:
            raise RuntimeError("the PostGIS extension is not installed on the server")
        server.create_template()
    except Exception as exc:  # any reason: no server, no PostGIS, no rights
        reason = f"PostGIS unavailable at {_admin_url()}: {exc}"
        if postgis_required():
            pytest.fail(reason + " (required because CI or DEADZONE_REQUIRE_POSTGIS is set)")
        yield None
        return
    yield server
    server.close()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright. Skipped on a developer's machine
    without it; a failure under CI, like a missing PostGIS."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing = f"playwright is not installed ({exc})"
    if missing is None and not Path(CHROMIUM).exists():
        missing = f"no chromium at {CHROMIUM} (apt-get install chromium)"
    if missing is not None:
        if postgis_required():
            pytest.fail(missing + " (required because CI is set)")
        pytest.skip(missing)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    upgrade_database(engine)
    engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    postgis_server: PostgisServer | None,
) -> Iterator[str]:
    """URL of a fresh, migrated database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "deadzone.sqlite"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if postgis_server is None:
        pytest.skip("PostGIS test server unavailable (set CI=true to make this fail)")
    name = postgis_server.create_database()
    try:
        yield postgis_server.url_for(name)
    finally:
        postgis_server.drop_database(name)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=db_url,
        device_secret=TEST_SECRET,
        environment="development",
        aggregate_interval_s=0,  # tests run the aggregation themselves, deterministically
        terrain_path=tmp_path / "terrain.tif",  # never the working directory's
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def client(settings: Settings) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from service.api.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@dataclass(frozen=True)
class DemoRun:
    """A finished small demo (seed 1): ``settings`` of its database (readings, decisions,
    zones, communes, villages, people per cell, weekly progress snapshots), ``out`` its
    output folder, ``summary`` its summary.json, ``output`` what the command printed
    (empty when run_demo was called directly)."""

    settings: Settings
    out: Path
    summary: dict[str, Any]
    output: str = ""


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The small demo as a user runs it, ``deadzone demo --seed 1 --out OUT`` (its own SQLite
    file in OUT), once per test session: about a minute of CPU (README), shared by
    the demo's own tests and the pages that show its numbers.
    Read-only: tests that write must use their own database, or a copy of this one."""
    from typer.testing import CliRunner

    from service.cli import app as cli
    from simulation.demo import SUMMARY_JSON, demo_settings

    out = tmp_path_factory.mktemp("demo") / "out"
    answer = CliRunner().invoke(cli, ["demo", "--seed", "1", "--out", str(out)])
    assert answer.exit_code == 0, answer.output
    summary = json.loads((out / SUMMARY_JSON).read_text(encoding="utf-8"))
    return DemoRun(settings=demo_settings(out), out=out, summary=summary, output=answer.output)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding a plain ``pip install .`` of this checkout (no
    extras), made once per session: its folder. Every module the installed commands
    import must then be a declared dependency (issue 11: the demo once needed httpx from
    the test extra)."""
    env_dir = tmp_path_factory.mktemp("plain-install") / "venv"
    venv.create(env_dir, with_pip=True)
    install = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    return env_dir


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def make_reading(**overrides: Any) -> dict[str, Any]:
    """A valid canonical reading as JSON, taken an hour ago in Buon Ma Thuot."""
    reading: dict[str, Any] = {
        "id": "r-1",
        "device": "phone-1",
        "observed_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "lat": 12.6667,
        "lon": 108.05,
        "accuracy_m": 8.0,
        "mcc": 452,
        "mnc": 4,
        "radio": "lte",
        "signal_dbm": -101.0,
    }
    reading.update(overrides)
    return {k: v for k, v in reading.items() if v is not _DROP}


_DROP = object()
DROP: Any = _DROP
