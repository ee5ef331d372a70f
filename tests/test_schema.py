"""``alembic upgrade head`` builds exactly the schema of the models, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from service.store.models import Base
from service.store.schema import (
    alembic_config,
    current_revision,
    include_object_for,
    upgrade_database,
)


def test_migrated_schema_equals_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={"compare_type": True, "include_object": include_object_for(conn.dialect.name)},
        )
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_is_idempotent_and_at_head(engine):
    upgrade_database(engine)
    upgrade_database(engine)
    head = ScriptDirectory.from_config(
        alembic_config(engine.url.render_as_string(hide_password=False))
    ).get_current_head()
    assert head is not None and current_revision(engine) == head  # the newest migration


def test_readings_point_is_a_postgis_geometry_with_a_spatial_index(engine):
    if engine.dialect.name != "postgresql":
        names = {c["name"] for c in inspect(engine).get_columns("readings")}
        assert "geom" in names  # WKT text, generated from lon/lat
        return
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT type, srid FROM geometry_columns "
                "WHERE f_table_name = 'readings' AND f_geometry_column = 'geom'"
            )
        ).one()
        assert tuple(row) == ("POINT", 4326)
        index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_readings_geom'")
        ).scalar_one()
        assert "USING gist" in index


def test_fast_sqlite_time_format_matches_sqlalchemy():
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy.dialects.sqlite import DATETIME
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect

    from service.store.bulk import sqlite_utc_text

    process = DATETIME().bind_processor(SQLiteDialect())
    for value in (
        datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        datetime(2026, 11, 21, 23, 30, tzinfo=timezone(timedelta(hours=7))),
    ):
        assert sqlite_utc_text(value) == process(value.astimezone(UTC).replace(tzinfo=None))
