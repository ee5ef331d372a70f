"""Rate limits on ingest: per device token, per API key and per client address.

Device tokens cost nothing to invent and there was no limit of any kind: one token sent
200,000 readings in 7.2 s, one geosubmit key 300 requests in a second. DESIGN.md ("Privacy
and trust") asks for per-device limits against flooding. The limits are settings in the
``limits`` notation ("50000/hour"), sized so that honest phones never meet them (see each
setting), and counted with the ``limits`` package's sliding-window counters (two counters
per key, so a limit of 50,000 readings costs no more memory than one of 5).

Counters live in the memory of each server process: with ``--workers N`` each process
counts on its own, so the effective limit is up to N times the setting. A refusal is a 429
with ``Retry-After`` (seconds), and the refusals are counted for ``GET /v1/stats``.

Behind a reverse proxy the client address is the proxy's unless uvicorn is told to trust
``X-Forwarded-For`` (``--proxy-headers``, ``FORWARDED_ALLOW_IPS``).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
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


class RateLimits:
    """The server's limits and counters (one per process, built by ``create_app``)."""

    def __init__(self, settings: Settings) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self.device_readings = parse(settings.rate_limit_device_readings)
        self.address_requests = parse(settings.rate_limit_address_requests)
        self.key_requests = parse(settings.rate_limit_key_requests)
        self.address_imports = parse(settings.rate_limit_address_imports)
        self._refused = 0
        self._lock = threading.Lock()

    @property
    def refused(self) -> int:
        """Requests answered 429 by this process since it started."""
        return self._refused

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

    def _take(self, checks: Sequence[tuple[RateLimitItem, tuple[str, ...], int, str]]) -> None:
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
