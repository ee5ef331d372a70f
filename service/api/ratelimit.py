"""Rate limits on ingest: per device token, per API key and per client address.

Device tokens cost nothing to invent and there was no limit of any kind: one token sent
200,000 readings in 7.2 s, one geosubmit key 300 requests in a second. DESIGN.md ("Privacy
and trust") asks for per-device limits against flooding. The limits are settings in the
``limits`` notation ("50000/hour"), sized so that honest phones never meet them (see each
setting), and counted with the ``limits`` package's sliding-window counters (two counters
per key, so a limit of 50,000 readings costs no more memory than one of 5).

Counters live in the memory of the server process, or, with ``rate_limit_shared_path``
(which ``deadzone serve --workers N`` sets), in a SQLite file that every worker process
shares (``SharedCounters``): the limit then holds for the server as a whole, not N times
over. A refusal is a 429 with ``Retry-After`` (seconds), and the refusals are counted for
``GET /v1/stats`` (in the shared file too).

Behind a reverse proxy the client address is the proxy's unless uvicorn is told to trust
``X-Forwarded-For`` (``--proxy-headers``, ``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.requests import Request

from service.errors import RateLimited
from service.settings import Settings


def client_address(request: Request) -> str:
    """The address a request came from ('unknown' when the server was not told)."""
    return request.client.host if request.client else "unknown"


Check = tuple[RateLimitItem, tuple[str, ...], int, str]
"""(limit, identifiers, cost, what is counted)."""


class SharedCounters:
    """Sliding-window counters in a SQLite file, shared by the processes that open it: the
    same approximation as ``limits``' sliding-window counter (the previous window's count,
    weighted by how much of it still overlaps, plus the current one's). Each check is one
    short transaction (``BEGIN IMMEDIATE``: processes take turns); the counters need not
    survive a crash, so the file is not synced.

    Hand-written because ``limits`` has no storage that processes on one machine share
    without a server: its schemes (limits 5.8, ``limits.storage``) are ``memory://`` (a
    ``Counter`` in one process, so N workers would allow N times the limit), Redis or
    Valkey (also cluster and sentinel), Memcached and MongoDB; none is a file or SQLite,
    and deadzone runs on SQLite without any of those servers."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS windows (key TEXT NOT NULL, start INTEGER NOT NULL, "
            "count INTEGER NOT NULL, PRIMARY KEY (key, start))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS refusals (id INTEGER PRIMARY KEY, count INTEGER NOT NULL)"
        )

    def take(self, checks: Sequence[Check], *, now: float) -> tuple[Check, int] | None:
        """Count every check, or none: the first one over its limit and the seconds until
        it would pass, else None."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            keys = []
            for check in checks:
                item, identifiers, cost, _ = check
                period = item.get_expiry()
                key = "/".join((str(item), *identifiers))
                start = int(now // period) * period
                counts = dict(db.execute(
                    "SELECT start, count FROM windows WHERE key = ? AND start IN (?, ?)",
                    (key, start, start - period),
                ).fetchall())  # fmt: skip
                weight = (period - (now - start)) / period
                used = counts.get(start - period, 0) * weight + counts.get(start, 0)
                if used + cost > item.amount:
                    db.execute(
                        "INSERT INTO refusals VALUES (1, 1) "
                        "ON CONFLICT (id) DO UPDATE SET count = count + 1"
                    )
                    db.execute("COMMIT")
                    return check, max(1, math.ceil(start + period - now))
                keys.append((key, start, period, cost))
            for key, start, period, cost in keys:
                db.execute(
                    "INSERT INTO windows VALUES (?, ?, ?) "
                    "ON CONFLICT (key, start) DO UPDATE SET count = count + excluded.count",
                    (key, start, cost),
                )
                db.execute("DELETE FROM windows WHERE key = ? AND start < ?", (key, start - period))
            db.execute("COMMIT")
            return None
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @property
    def refused(self) -> int:
        row = self._db.execute("SELECT count FROM refusals WHERE id = 1").fetchone()
        return int(row[0]) if row else 0


class RateLimits:
    """The server's limits and counters (one per process, built by ``create_app``)."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        path = settings.rate_limit_shared_path
        self._shared = SharedCounters(path) if path is not None else None
        self.device_readings = parse(settings.rate_limit_device_readings)
        self.address_requests = parse(settings.rate_limit_address_requests)
        self.key_requests = parse(settings.rate_limit_key_requests)
        self.address_imports = parse(settings.rate_limit_address_imports)
        self._refused = 0
        self._lock = threading.Lock()

    @property
    def refused(self) -> int:
        """Requests answered 429 since the server started (by every process sharing the
        counters' file, else by this one)."""
        return self._shared.refused if self._shared is not None else self._refused

    def check_request(
        self, request: Request, *, key: str | None = None, imports: bool = False
    ) -> None:
        """Count one ingest request of the client's address (and of ``key``, an API key or
        a geosubmit ``?key=``); raise ``RateLimited`` beyond a limit."""
        address = client_address(request)
        checks: list[tuple[RateLimitItem, tuple[str, ...], int, str]] = [
            (self.address_requests, ("address", address), 1, "requests from this address"),
        ]
        if imports:
            checks.append((self.address_imports, ("imports", address), 1,
                           "imports from this address"))  # fmt: skip
        if key:
            checks.append((self.key_requests, ("key", key), 1, "requests with this key"))
        self._take(checks)

    def check_readings(self, tokens: Iterable[str]) -> None:
        """Count the readings of a batch against their device tokens (one per reading);
        refuse the whole batch if one token is over its limit (the phone resends later)."""
        per_token = Counter(tokens)
        self._take([(self.device_readings, ("device", token), count, "readings from one device")
                    for token, count in per_token.items()])  # fmt: skip

    def _take(self, checks: Sequence[Check]) -> None:
        if self._shared is not None:
            with self._lock:
                refused = self._shared.take(checks, now=time.time())
            if refused is not None:
                (item, _, cost, what), wait = refused
                raise self._refusal_after(item, cost, what, wait)
            return
        with self._lock:  # test all, then take all: a refused request costs nothing
            for item, identifiers, cost, what in checks:
                if not self._limiter.test(item, *identifiers, cost=cost):
                    self._refused += 1
                    raise self._refusal(item, identifiers, cost, what)
            for item, identifiers, cost, _ in checks:
                self._limiter.hit(item, *identifiers, cost=cost)

    def _refusal(
        self, item: RateLimitItem, identifiers: tuple[str, ...], cost: int, what: str
    ) -> RateLimited:
        stats = self._limiter.get_window_stats(item, *identifiers)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        return self._refusal_after(item, cost, what, wait)

    @staticmethod
    def _refusal_after(item: RateLimitItem, cost: int, what: str, wait: int) -> RateLimited:
        if cost > item.amount:
            what = f"{what} ({cost} in one request)"
        return RateLimited(
            f"too many {what}: the limit is {item}; retry after {wait} s",
            retry_after_s=wait,
            limit=str(item),
        )


def device_tokens(items: Sequence[Any]) -> list[str]:
    """The device token of each reading that has one (the rest are refused anyway)."""
    return [item["device"] for item in items
            if isinstance(item, dict) and isinstance(item.get("device"), str)]  # fmt: skip
