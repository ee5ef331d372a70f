"""PostgreSQL: readings partitioned by calendar month (UTC) of ``observed_at``.

Why: a month of readings is what the statistics, the Dask partitions and the retention
window all count in. With one partition per month, a scan for a month reads one table,
and dropping a month past retention is ``DROP TABLE``, a catalog change that is instant
whatever its size, where a ``DELETE`` of millions of rows would take minutes and leave the
table bloated. SQLite (small deployments) keeps one table.

Idempotent resubmission. PostgreSQL requires every unique constraint of a partitioned
table to contain the partition key, so ``UNIQUE (device_hash, reading_id)`` cannot stay on
``readings``. Putting ``observed_at`` into the key would be exact only if a device's reading
id could never come back with another observed time; it can: ids are chosen by the client
(the canonical API, the reporter page), a client may resend a reading with a corrected
clock, and DESIGN.md's rule is that a repeated id is the same reading. So the pair lives
in ``reading_keys``, a small unpartitioned table (primary key device hash + id, plus the
observed time so keys of dropped months can be deleted). ``service.store.bulk`` claims the
keys and inserts the rows whose key was new in one statement; a concurrent copy of the
same key waits on the key's index entry exactly as it waited on the old unique index, so
two racing requests still store one reading.

Partitions are named ``readings_yYYYYmMM``; a DEFAULT partition (``readings_default``)
takes any reading whose month has no partition yet, so an accepted reading can never fail
to be stored. ``ensure_partitions`` creates the months ahead (moving any rows the default
holds for them) and ``drop_expired_partitions`` drops whole months past retention:
``deadzone db partitions`` runs both, monthly from cron or by hand.
"""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import Connection

from service.store.bulk import READING_COLUMNS

_PARTITION = re.compile(r"^readings_(y\d{4}m\d{2}|default)$")
DEFAULT_PARTITION = "readings_default"


def is_partition_name(name: str) -> bool:
    return bool(_PARTITION.match(name))


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"readings_y{month.year:04d}m{month.month:02d}"


def _bound(month: date) -> str:
    return f"'{month.isoformat()} 00:00:00+00'"


def month_partitions(conn: Connection) -> dict[date, str]:
    """The monthly partitions of ``readings``: {first day of month: table name}."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'readings'::regclass"
    )
    names = [name for (name,) in rows if name != DEFAULT_PARTITION and is_partition_name(name)]
    return dict(month_partitions_of(names))


def create_month_partition(conn: Connection, month: date) -> str:
    """Create the partition of ``month`` (first day), moving the rows the default
    partition holds for it, in the caller's transaction. Returns its name."""
    name = partition_name(month)
    start, end = _bound(month), _bound(next_month(month))
    # INCLUDING ALL: the generated point, checks and indexes, so ATTACH adopts them.
    conn.exec_driver_sql(f"CREATE TABLE {name} (LIKE readings INCLUDING ALL)")
    cols = ", ".join(("seq", *READING_COLUMNS))  # not geom: it is generated
    conn.exec_driver_sql(
        f"WITH moved AS (DELETE FROM {DEFAULT_PARTITION} WHERE observed_at >= {start}"
        f" AND observed_at < {end} RETURNING {cols}) INSERT INTO {name} ({cols})"
        f" SELECT {cols} FROM moved"
    )
    conn.exec_driver_sql(
        f"ALTER TABLE readings ATTACH PARTITION {name} FOR VALUES FROM ({start}) TO ({end})"
    )
    return name


def ensure_partitions(conn: Connection, *, today: date, months_ahead: int = 3) -> list[str]:
    """Create the missing partitions from this month to ``months_ahead`` months on."""
    existing = month_partitions(conn)
    created = []
    month = month_start(today)
    for _ in range(months_ahead + 1):
        if month not in existing:
            created.append(create_month_partition(conn, month))
        month = next_month(month)
    return created


def drop_expired_partitions(conn: Connection, *, before: date) -> list[str]:
    """Drop every monthly partition that ends on or before ``before`` (instant: a
    catalog change), and the keys of the readings it held."""
    dropped = []
    for month, name in sorted(month_partitions(conn).items()):
        if next_month(month) <= before:
            conn.exec_driver_sql(f"DROP TABLE {name}")
            dropped.append(name)
    if dropped:
        ends = [next_month(month) for month, name in month_partitions_of(dropped)]
        conn.exec_driver_sql(f"DELETE FROM reading_keys WHERE observed_at < {_bound(max(ends))}")
    return dropped


def month_partitions_of(names: list[str]) -> list[tuple[date, str]]:
    return [(date(int(n[10:14]), int(n[15:17]), 1), n) for n in names]
