"""Throw-away databases for the benchmarks: a SQLite file, or a PostGIS database on the
local test server (``DEADZONE_TEST_POSTGRES_URL``'s), migrated and dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from service.store.schema import upgrade_database

DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


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
    try:
        engine = create_engine(url)
        upgrade_database(engine)
        engine.dispose()
        yield url
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
