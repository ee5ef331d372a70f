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

from sqlalchemy import Table, case
from sqlalchemy.orm import Session

from service.store.dialect import upsert_insert
from service.store.models import Device

NETWORK_HASH_BYTES: Final = 8
IPV4_PREFIX: Final = 24
"""Addresses of one IPv4 /24 are one network: a forger's rented addresses usually sit
together, and a mobile carrier's NAT pool changes its public address within it."""
IPV6_PREFIX: Final = 48
"""One IPv6 /48 is one network: a site's allocation (RFC 6177)."""

_devices: Table = Device.__table__  # type: ignore[assignment]


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
    for the first time keeps ``network`` (None: not known) as where it came from."""
    if not devices:
        return
    today = now.date()
    # One row of VALUES executed once per device: the statement is compiled once per
    # process and cached. A VALUES list of the batch's devices was compiled afresh for
    # every batch (its length varies), a third of the CPU of storing a batch.
    stmt = upsert_insert(session, _devices)
    old, new = _devices.c, stmt.excluded
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["device_hash"],
            set_={
                "upload_days": old.upload_days + case((old.last_day < new.last_day, 1), else_=0),
                "last_day": case((old.last_day < new.last_day, new.last_day), else_=old.last_day),
            },
        ),
        [
            {"device_hash": d, "network": network, "first_received": now, "last_day": today,
             "upload_days": 1, "trusted": False}
            for d in sorted(devices)
        ],
    )  # fmt: skip
