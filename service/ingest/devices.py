"""Each device token's upload history, recorded as its readings arrive.

The trust rules (``service.engine.trust``, docs/forged-evidence.md) weigh a token by what a
forger cannot make up in one request: the days on which it uploaded, by the server's clock
(a reading's own time and place are whatever the client says), and the network it was
first seen from. The network is stored only as a keyed hash, like the token.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Collection
from datetime import datetime
from typing import Final

from sqlalchemy.orm import Session

from service.store.bulk import sqlite_utc_text
from service.store.dialect import is_postgres

NETWORK_HASH_BYTES: Final = 8
IPV4_PREFIX: Final = 24
"""Addresses of one IPv4 /24 are one network: a forger's rented addresses usually sit
together, and a mobile carrier's NAT pool changes its public address within it."""
IPV6_PREFIX: Final = 48
"""One IPv6 /48 is one network: a site's allocation (RFC 6177)."""


def network_of(address: str) -> str:
    """The network an upload came from: ``a.b.c.0/24``, an IPv6 /48, or the text as it is
    (a file's name for the command line, 'testclient' for tests)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def network_hash(secret: bytes, origin: str) -> bytes:
    """Keyed hash of ``origin``'s network (HMAC-SHA256, first 8 bytes)."""
    message = b"network:" + network_of(origin).encode()
    return hmac.new(secret, message, hashlib.sha256).digest()[:NETWORK_HASH_BYTES]


def record_uploads(
    session: Session, devices: Collection[bytes], *, network: bytes | None, now: datetime
) -> None:
    """Count today as an upload day of each device in ``devices`` (hashes); a device seen
    for the first time keeps ``network`` (None: not known) as where it came from.

    Rows are taken in the order of their hashes, so that two uploads sharing devices lock
    them in one order (PostgreSQL). Written for the driver, like the readings' insert
    (``service.store.bulk``): a batch of the province demo carries about 1,900 devices, and
    SQLAlchemy's ``executemany`` of one parameter set per device (each value through its
    column type's processor; on PostgreSQL a parameter set per device on the wire) was
    more than half of storing the batch, more than the readings' own insert
    (docs/scale.md, "The upload's devices and validation", 30 November 2026)."""
    if not devices:
        return
    if now.tzinfo is None:
        raise ValueError("naive datetime: deadzone stores only timezone-aware times")
    ordered = sorted(devices)
    connection = session.connection()
    if is_postgres(connection):
        # One statement for the batch: the hashes as one bytea[] parameter.
        connection.exec_driver_sql(
            _UPSERT_POSTGRES,
            {"devices": ordered, "network": network, "now": now, "today": now.date()},
        )
        return
    # SQLite: the driver's executemany, values already as SQLAlchemy stores them (naive
    # UTC text, ISO day, 0 for false).
    received, today = sqlite_utc_text(now), now.date().isoformat()
    connection.exec_driver_sql(_UPSERT_SQLITE, [(d, network, received, today) for d in ordered])


_SET_ON_CONFLICT = (
    " ON CONFLICT (device_hash) DO UPDATE SET"
    " upload_days = devices.upload_days"
    " + CASE WHEN devices.last_day < excluded.last_day THEN 1 ELSE 0 END,"
    " last_day = CASE WHEN devices.last_day < excluded.last_day"
    " THEN excluded.last_day ELSE devices.last_day END"
)
_UPSERT_SQLITE = (
    "INSERT INTO devices (device_hash, network, first_received, last_day, upload_days, trusted)"
    " VALUES (?, ?, ?, ?, 1, 0)" + _SET_ON_CONFLICT
)
_UPSERT_POSTGRES = (
    "INSERT INTO devices (device_hash, network, first_received, last_day, upload_days, trusted)"
    " SELECT d.hash, %(network)s::bytea, %(now)s::timestamptz, %(today)s::date, 1, false"
    " FROM unnest(%(devices)s::bytea[]) WITH ORDINALITY AS d (hash, n) ORDER BY d.n"
    + _SET_ON_CONFLICT
)
