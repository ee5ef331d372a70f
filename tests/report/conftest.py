"""Fixtures for the reporter page: the real app under uvicorn and a sealed headless Chromium.

The app runs in a thread on 127.0.0.1 (a secure context, so service workers work) against
the ``settings`` fixture's database, so every browser test runs on SQLite and on PostGIS.
The browser is the Debian chromium, never a Playwright download; the page loads nothing
from outside the service (its base map is the imported areas), and any request that would
leave 127.0.0.1 is aborted.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from service.api.app import create_app
from service.settings import Settings
from service.store.database import make_engine
from service.store.models import ReadingRow

OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"
# Buôn Ma Thuột: where the emulated phone stands.
HERE = {"latitude": 12.68, "longitude": 108.05, "accuracy": 15}
VIEWPORT = {"width": 360, "height": 640}
OUTSIDE = re.compile(r"^(?!http://127\.0\.0\.1:)")


class LiveServer:
    """``create_app(settings)`` served by uvicorn in a daemon thread on a free local port."""

    def __init__(self, settings: Settings) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        # A browser context may still hold keep-alive connections when the server stops.
        config = uvicorn.Config(
            create_app(settings), log_level="warning", lifespan="on", timeout_graceful_shutdown=1
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=15, what="uvicorn to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.socket.close()


def wait_until(condition: Callable[[], Any], *, timeout: float = 10, what: str = "") -> Any:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    with LiveServer(settings) as server:
        yield server.url


@pytest.fixture
def reporter_rows(settings: Settings) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """A function returning the stored readings with source 'reporter', oldest first."""
    engine = make_engine(settings)
    table = ReadingRow.__table__

    def rows() -> list[dict[str, Any]]:
        query = select(table).where(table.c.source == "reporter").order_by(table.c.seq)
        with engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    yield rows
    engine.dispose()


@dataclass
class PageLog:
    """Uncaught exceptions and console errors of a page (tile failures aside)."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Any) -> None:
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # Requests made while the test holds the browser offline are logged as failed
        # loads without their URL; they are the point of those tests.
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.errors.append(message.text)


@pytest.fixture
def open_context(browser: Any) -> Iterator[Callable[..., Any]]:
    """Makes a 360x640 phone context (or ``viewport``) standing at ``fix``;
    ``located=False`` refuses geolocation, and ``service_worker=False`` leaves the page to
    send on its own (no Background Sync)."""
    contexts: list[Any] = []

    def make(
        *,
        located: bool = True,
        service_worker: bool = True,
        viewport: dict[str, int] = VIEWPORT,
        fix: dict[str, float] = HERE,
    ) -> Any:
        options: dict[str, Any] = {
            "viewport": viewport,
            "locale": "vi-VN",
            "service_workers": "allow" if service_worker else "block",
            # Playwright evaluates wait_for_function strings with eval(), which the
            # page's Content-Security-Policy (no 'unsafe-eval') rightly forbids; the test's
            # own probes are not the page's scripts.
            "bypass_csp": True,
        }
        if located:
            options.update(geolocation=fix, permissions=["geolocation"])
        context = browser.new_context(**options)
        # The page loads nothing from outside the service (no tiles, no CDN): anything
        # else is aborted, and a test that cares sees it fail. A regex, not a Python
        # predicate: the browser matches it itself, so the app's own requests are never
        # held until the test's thread next talks to Playwright.
        context.route(OUTSIDE, lambda route: route.abort())
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR
