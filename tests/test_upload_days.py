"""Each device token's upload history (``service.ingest.devices``), as the trust rules read
it: upload days by the server's clock, the network of its first upload, the engine's flag
kept. On SQLite and PostGIS."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from service.ingest.devices import network_hash
from service.ingest.readings import Ingestor
from service.store.database import session_scope
from service.store.models import Device
from tests.conftest import make_reading

_IDS = itertools.count()
DAY_ONE = datetime(2026, 11, 20, 23, 30, 5, 123456, tzinfo=UTC)


def upload(ingestor: Ingestor, sessions: Any, devices: list[str], *, at: datetime,
           origin: str | None) -> None:  # fmt: skip
    items = [
        make_reading(device=d, id=f"{d}-{next(_IDS)}",
                     observed_at=(at - timedelta(hours=1)).isoformat())
        for d in devices
    ]  # fmt: skip
    with session_scope(sessions) as session:
        result = ingestor.ingest(session, items, now=at, origin=origin)
    assert result.accepted == len(devices)


def history(ingestor: Ingestor, sessions: Any) -> dict[bytes, tuple[Any, ...]]:
    with sessions() as session:
        rows = session.execute(select(Device)).scalars().all()
        return {
            r.device_hash: (r.network, r.first_received, r.last_day, r.upload_days, r.trusted)
            for r in rows
        }


def test_a_device_counts_each_server_day_once_and_keeps_its_first_network(settings, sessions):
    ingestor = Ingestor.from_settings(settings)
    home = network_hash(ingestor.hasher.key, "203.0.113.9")
    a, b, c = (ingestor.hasher.hash(name) for name in ("phone-a", "phone-b", "phone-c"))
    upload(ingestor, sessions, ["phone-a", "phone-b"], at=DAY_ONE, origin="203.0.113.9")
    upload(ingestor, sessions, ["phone-a"], at=DAY_ONE + timedelta(minutes=40),
           origin="198.51.100.7")  # fmt: skip
    upload(ingestor, sessions, ["phone-c"], at=DAY_ONE, origin=None)
    assert history(ingestor, sessions) == {
        a: (home, DAY_ONE, DAY_ONE.date() + timedelta(days=1), 2, False),
        b: (home, DAY_ONE, DAY_ONE.date(), 1, False),
        c: (None, DAY_ONE, DAY_ONE.date(), 1, False),
    }
    with session_scope(sessions) as session:  # the engine trusts phone-b
        session.get_one(Device, b).trusted = True
    later = DAY_ONE + timedelta(days=3)
    upload(ingestor, sessions, ["phone-b", "phone-c"], at=later, origin="198.51.100.7")
    upload(ingestor, sessions, ["phone-b"], at=DAY_ONE, origin=None)  # a clock gone back
    assert history(ingestor, sessions) == {
        a: (home, DAY_ONE, DAY_ONE.date() + timedelta(days=1), 2, False),
        b: (home, DAY_ONE, later.date(), 2, True),
        c: (None, DAY_ONE, later.date(), 2, False),
    }
