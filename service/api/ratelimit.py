"""Rate limits on ingest: per device token, per API key and per client address.

Device tokens cost nothing to invent and there was no limit of any kind: one token sent
200,000 readings in 7.2 s, one geosubmit key 300 requests in a second. DESIGN.md ("Privacy
and trust") asks for per-device limits against flooding. The limits are settings in the
``limits`` notation ("50000/hour"), sized so that honest phones never meet them (see each
setting), and counted in sliding windows with the arithmetic of the ``limits`` package's
sliding-window counter (``SlidingWindows``: two counters per key, so a limit of 50,000
readings costs no more memory than one of 5).

Counters live in the memory of the server process, or, with ``rate_limit_shared_path``
(which ``deadzone serve --workers N`` sets), in a SQLite file that every worker process
shares (``SharedCounters``): the limit then holds for the server as a whole, not N times
over, with the same arithmetic, so one worker and N refuse alike. A refusal is a 429 with
``Retry-After`` (seconds), and the refusals are counted for ``GET /v1/stats`` (in the
shared file too).

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
from starlette.requests import Request

from service.errors import RateLimited
from service.settings import Settings


def client_address(request: Request) -> str:
    """The address a request came from ('unknown' when the server was not told)."""
    return request.client.host if request.client else "unknown"


Check = tuple[RateLimitItem, tuple[str, ...], int, str]
"""(limit, identifiers, cost, what is counted)."""


class SlidingWindows:
    """Sliding-window counters with the arithmetic of ``limits`` 5.8's
    ``SlidingWindowCounterRateLimiter`` (``test`` of every check, then ``hit`` of every
    check, and ``get_window_stats`` for the wait): the previous window's count, weighted by
    how much of it still overlaps, plus the current one's. The same requests pass and are
    refused, with the same Retry-After, whichever storage keeps the counts (one process's
    memory, or a file the server's worker processes share), so one worker and N workers
    refuse alike.

    Hand-written for cost: ``limits`` spends about 33 microseconds on each token of a
    request (key strings built and parsed, a lock and an expiry timer per key, the window
    read twice), and a batch of the province demo carries about 1,900 tokens (2,000
    readings of as many phones): about 60 ms of a 300 ms batch, 90 s of the demo's CPU
    (docs/scale.md, "Where the province demo's time goes"). Here a token costs a couple of
    dictionary lookups. Storages say how counts are read (``_read``) and added (``_add``)."""

    def take(self, checks: Sequence[Check], *, now: float) -> tuple[Check, int] | None:
        """Count every check, or none: the first one over its limit and the seconds until
        it would pass, else None."""
        counts = []
        for check in checks:
            item, identifiers, cost, _ = check
            key = (str(item), *identifiers)
            expiry = item.get_expiry()
            index, previous_index = int(now / expiry), int((now - expiry) / expiry)
            stored = self._read(key, (previous_index, index))
            previous, current = stored.get(previous_index, 0), stored.get(index, 0)
            previous_ttl = 0.0 if previous == 0 else (1 - (((now - expiry) / expiry) % 1)) * expiry
            current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
            weighted = previous * previous_ttl / expiry + current
            if not weighted < item.amount - cost + 1:  # limits' ``test``
                return check, max(1, math.ceil(
                    _reset_in(expiry, previous, previous_ttl, current, current_ttl)
                ))  # fmt: skip
            counts.append((key, expiry, index, item.amount, cost, weighted))
        for key, expiry, index, amount, cost, weighted in counts:
            # limits' ``hit``, whose answer the caller ignored: a cost that the floor of
            # the weighted count leaves no room for is not counted.
            if cost <= amount and math.floor(weighted) + cost <= amount:
                self._add(key, expiry, index, cost)
        return None

    def _read(self, key: tuple[str, ...], indexes: tuple[int, int]) -> dict[int, int]:
        raise NotImplementedError

    def _add(self, key: tuple[str, ...], expiry: int, index: int, cost: int) -> None:
        raise NotImplementedError


def _reset_in(
    expiry: int, previous: int, previous_ttl: float, current: int, current_ttl: float
) -> float:
    """Seconds until the weighted count next falls (``limits``' ``get_window_stats``)."""
    if not (previous or current):
        return 0.0
    previous_reset_in = previous_ttl % (expiry / previous) if previous else math.inf
    current_reset_in = current_ttl % expiry if current else math.inf
    return min(previous_reset_in, current_reset_in)


class MemoryCounters(SlidingWindows):
    """The counts in the memory of one process: two counters per key, so a limit of 50,000
    readings costs no more memory than one of 5."""

    # Windows of a key not looked at for this long are dropped, like ``limits``' keys,
    # which expire twice a window after their first hit (a sweep at most once a minute).
    SWEEP_EVERY_S = 60.0

    def __init__(self) -> None:
        # (limit's key, identifiers) -> {window index: count}; only the current window
        # and the one before it ever count.
        self._windows: dict[tuple[str, ...], dict[int, int]] = {}
        self._expiry: dict[tuple[str, ...], int] = {}
        self._swept = 0.0

    def take(self, checks: Sequence[Check], *, now: float) -> tuple[Check, int] | None:
        self._sweep(now)
        return super().take(checks, now=now)

    def _read(self, key: tuple[str, ...], indexes: tuple[int, int]) -> dict[int, int]:
        return self._windows.get(key, {})

    def _add(self, key: tuple[str, ...], expiry: int, index: int, cost: int) -> None:
        windows = self._windows.setdefault(key, {})
        self._expiry[key] = expiry
        windows[index] = windows.get(index, 0) + cost

    def _sweep(self, now: float) -> None:
        if now - self._swept < self.SWEEP_EVERY_S:
            return
        self._swept = now
        for key in list(self._windows):
            windows = self._windows[key]
            oldest = int((now - self._expiry[key]) / self._expiry[key])
            for index in [i for i in windows if i < oldest]:
                del windows[index]
            if not windows:
                del self._windows[key], self._expiry[key]


class SharedCounters(SlidingWindows):
    """The counts in a SQLite file, shared by the processes that open it. Each ``take`` is
    one short transaction (``BEGIN IMMEDIATE``: processes take turns); the counters need
    not survive a crash, so the file is not synced.

    Hand-written because ``limits`` has no storage that processes on one machine share
    without a server: its schemes (limits 5.8, ``limits.storage``) are ``memory://`` (a
    ``Counter`` in one process, so N workers would allow N times the limit), Redis or
    Valkey (also cluster and sentinel), Memcached and MongoDB; none is a file or SQLite,
    and deadzone runs on SQLite without any of those servers."""

    # Windows no longer counted are dropped by every process at most this often, like
    # ``MemoryCounters``' sweep: invented tokens and addresses leave nothing for good.
    SWEEP_EVERY_S = 60.0

    def __init__(self, path: Path) -> None:
        self._swept = 0.0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None,
                                   check_same_thread=False)  # fmt: skip
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")
        # ``period_index`` is the window's index: the time divided by ``expiry``, the
        # limit's period in seconds. A table of another shape (a file kept from an older
        # version) is dropped: counters need not survive, and its rows would not fit.
        self._db.execute("BEGIN IMMEDIATE")
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(sliding_windows)")]
        if columns and columns != ["key", "period_index", "expiry", "count"]:
            self._db.execute("DROP TABLE sliding_windows")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS sliding_windows (key TEXT NOT NULL, period_index "
            "INTEGER NOT NULL, expiry INTEGER NOT NULL, count INTEGER NOT NULL, "
            "PRIMARY KEY (key, period_index))"
        )
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS refusals (id INTEGER PRIMARY KEY, count INTEGER NOT NULL)"
        )
        self._db.execute("COMMIT")

    def take(self, checks: Sequence[Check], *, now: float) -> tuple[Check, int] | None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if now - self._swept >= self.SWEEP_EVERY_S:
                self._swept = now
                # Older than the window before the current one: it no longer counts.
                db.execute(
                    "DELETE FROM sliding_windows "
                    "WHERE period_index < CAST(? / expiry AS INTEGER) - 1",
                    (now,),
                )
            refused = super().take(checks, now=now)
            if refused is not None:
                db.execute(
                    "INSERT INTO refusals VALUES (1, 1) "
                    "ON CONFLICT (id) DO UPDATE SET count = count + 1"
                )
            db.execute("COMMIT")
            return refused
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _read(self, key: tuple[str, ...], indexes: tuple[int, int]) -> dict[int, int]:
        return dict(self._db.execute(
            "SELECT period_index, count FROM sliding_windows "
            "WHERE key = ? AND period_index IN (?, ?)",
            ("/".join(key), *indexes),
        ).fetchall())  # fmt: skip

    def _add(self, key: tuple[str, ...], expiry: int, index: int, cost: int) -> None:
        self._db.execute(
            "INSERT INTO sliding_windows VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key, period_index) DO UPDATE SET count = count + excluded.count",
            ("/".join(key), index, expiry, cost),
        )

    @property
    def refused(self) -> int:
        row = self._db.execute("SELECT count FROM refusals WHERE id = 1").fetchone()
        return int(row[0]) if row else 0


class RateLimits:
    """The server's limits and counters (one per process, built by ``create_app``)."""

    def __init__(self, settings: Settings) -> None:
        self._memory = MemoryCounters()
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
        # Test all, then take all: a refused request costs nothing.
        with self._lock:
            if self._shared is not None:
                refused = self._shared.take(checks, now=time.time())
            else:
                refused = self._memory.take(checks, now=time.time())
                self._refused += refused is not None
        if refused is not None:
            (item, _, cost, what), wait = refused
            raise self._refusal_after(item, cost, what, wait)

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
