"""Throw-away databases for the benchmarks: a SQLite file, or a PostGIS database on the
local test server (``DEADZONE_TEST_POSTGRES_URL``'s), migrated and dropped afterwards; and
copies of one, for measuring several source trees on the same data."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from service.store.schema import upgrade_database

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _exit_on_sigterm(signum: int, frame: object) -> None:
    sys.exit(128 + signum)


@contextmanager
def scratch_database(backend: str, workdir: Path) -> Iterator[str]:
    """The URL of a new, migrated database of ``backend`` ('sqlite' or 'postgis')."""
    admin = None
    name = f"deadzone_bench_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'{name}.sqlite'}"
    else:
        admin_url = os.environ.get("DEADZONE_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    # A benchmark stopped by SIGTERM (`timeout`, a CI runner) still drops its database:
    # the signal ends the process through SystemExit, which runs the finally below.
    stop = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        engine = create_engine(url)
        upgrade_database(engine)
        engine.dispose()
        yield url
    finally:
        signal.signal(signal.SIGTERM, stop)
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


@contextmanager
def copy_of(url: str, backend: str, name: str) -> Iterator[str]:
    """A copy of the database at ``url`` named after ``name`` (dropped afterwards)."""
    if backend == "sqlite":
        source = Path(url.removeprefix("sqlite:///"))
        target = source.with_name(f"{source.stem}-{name}.sqlite")
        shutil.copyfile(source, target)
        for suffix in ("-wal", "-shm"):
            if Path(f"{source}{suffix}").exists():
                shutil.copyfile(f"{source}{suffix}", f"{target}{suffix}")
        yield f"sqlite:///{target}"
        return
    original = make_url(url)
    copy = f"{original.database}_{name}"
    admin = create_engine(original.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{copy}" TEMPLATE "{original.database}"'))
        yield original.set(database=copy).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))
        admin.dispose()
