"""Readings by month on PostgreSQL: resubmission stays idempotent across partitions, a
month without a partition is kept, and a month past retention drops whole."""

from __future__ import annotations

from datetime import timedelta

import h3
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from service.ingest.readings import Ingestor
from service.store.database import session_scope
from service.store.partitions import (
    DEFAULT_PARTITION,
    drop_expired_partitions,
    ensure_partitions,
    month_partitions,
    month_start,
    next_month,
    partition_name,
)
from tests.coverage_helpers import CENTRE, NOW, reading_in


def count(sessions, sql: str = "SELECT count(*) FROM readings") -> int:
    with sessions() as s:
        return int(s.execute(text(sql)).scalar_one())


def test_a_reading_resent_with_another_month_is_still_the_same_reading(settings, sessions):
    first = reading_in(CENTRE, device="d1", days_ago=1)
    again = {**first, "observed_at": (NOW - timedelta(days=70)).isoformat()}
    with session_scope(sessions) as s:
        result = Ingestor.from_settings(settings).ingest(s, [first, again, first])
    assert (result.accepted, result.duplicates) == (1, 2)
    with session_scope(sessions) as s:
        later = Ingestor.from_settings(settings).ingest(s, [again])
    assert (later.accepted, later.duplicates) == (0, 1)
    assert count(sessions) == 1


def test_readings_live_in_monthly_partitions_and_a_month_past_retention_drops(
    settings, sessions, db_url
):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite keeps readings in one table")
    cell = h3.int_to_str(h3.str_to_int(CENTRE))
    old = [reading_in(cell, device=f"o{i}", days_ago=330) for i in range(4)]
    new = [reading_in(cell, device=f"n{i}", days_ago=1) for i in range(3)]
    with session_scope(sessions) as s:
        Ingestor.from_settings(settings).ingest(s, old + new)
    old_month = month_start((NOW - timedelta(days=330)).date())
    table = partition_name(old_month)
    assert count(sessions, f"SELECT count(*) FROM {table}") == 4
    assert count(sessions, f"SELECT count(*) FROM {DEFAULT_PARTITION}") == 0
    with session_scope(sessions) as s:
        dropped = drop_expired_partitions(s.connection(), before=next_month(old_month))
    assert table in dropped and count(sessions) == 3
    assert count(sessions, "SELECT count(*) FROM reading_keys") == 3
    with session_scope(sessions) as s:  # the newer readings are still known
        again = Ingestor.from_settings(settings).ingest(s, new)
    assert again.duplicates == 3 and count(sessions) == 3


def test_a_month_without_partition_is_kept_and_moves_when_it_gets_one(settings, sessions, db_url):
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite keeps readings in one table")
    this_month = month_start(NOW.date())
    with session_scope(sessions) as s:
        name = month_partitions(s.connection())[this_month]
        s.execute(text(f"ALTER TABLE readings DETACH PARTITION {name}"))
        s.execute(text(f"DROP TABLE {name}"))
    items = [reading_in(CENTRE, device=f"d{i}", days_ago=0.01) for i in range(5)]
    with session_scope(sessions) as s:
        assert Ingestor.from_settings(settings).ingest(s, items).accepted == 5
    assert count(sessions, f"SELECT count(*) FROM {DEFAULT_PARTITION}") == 5
    with session_scope(sessions) as s:
        assert ensure_partitions(s.connection(), today=NOW.date()) == [name]
    assert count(sessions, f"SELECT count(*) FROM {name}") == 5
    assert count(sessions, f"SELECT count(*) FROM {DEFAULT_PARTITION}") == 0


def test_cli_manages_partitions(settings, db_url):
    from service.cli import app

    env = {
        "DEADZONE_DATABASE_URL": db_url,
        "DEADZONE_DEVICE_SECRET": settings.device_secret.get_secret_value(),
        "DEADZONE_ENVIRONMENT": "development",
    }
    out = CliRunner().invoke(app, ["db", "partitions", "--drop-expired"], env=env)
    assert out.exit_code == 0, out.output
    if db_url.startswith("postgresql"):
        assert "created 0 partitions" in out.output  # the migration made them
    else:
        assert "one table" in out.output
