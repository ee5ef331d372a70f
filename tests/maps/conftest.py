"""Fixtures for the maps tests: synthetic decided data and a sealed headless Chromium.

The data is deterministic (seeded ``maps.sample``). The browser is the Debian chromium, never a
Playwright download; every request that is not file:// or localhost is aborted, so a map that
still reached for a CDN would fail its test instead of quietly loading.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest
from shapely.geometry import box

from domain.radio import OPERATOR_NAMES
from maps import AreaOutline, MapMeta, ZoneRecord
from maps.sample import sample_cells, sample_deadzones

HOSTILE = "<img src=x onerror=alert(1)>"
# The page has drawn its map (maps/assets/deadzone/deadzone.js sets the flag last).
READY = "window.deadzoneReady === true"
# The Leaflet map of a Folium page, whose variable is named map_<id>.
MAP_JS = "window[Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)]"
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output"

TILE_HOST = "tile.openstreetmap.org"


@pytest.fixture(scope="session")
def cells() -> pd.DataFrame:
    """About 1,500 res-9 cells x (any + 2 operators), with res-8 and res-7 roll-ups."""
    return sample_cells(1500, seed=7)


@pytest.fixture(scope="session")
def zones(cells: pd.DataFrame) -> list[ZoneRecord]:
    """Dead zones of ``cells``; the first one's village is a script-injection attempt."""
    return sample_deadzones(cells, villages=[HOSTILE, "Buôn Đôn"], limit=8)


@pytest.fixture(scope="session")
def areas() -> list[AreaOutline]:
    return [
        AreaOutline(name="Xã Ea Tu", geometry=box(108.03, 12.68, 108.07, 12.72)),
        AreaOutline(name=HOSTILE, geometry=box(108.06, 12.69, 108.09, 12.73)),
    ]


@pytest.fixture(scope="session")
def meta() -> MapMeta:
    return MapMeta(
        title="Vùng phủ sóng Đắk Lắk",
        data_date=pd.Timestamp("2026-11-01").date(),
        lang="vi",
        operator_names=dict(OPERATOR_NAMES),
    )


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@dataclass
class PageLog:
    """What a page did: console errors, failed requests, dialogs, uncaught exceptions."""

    console_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def failed_except_tiles(self) -> list[str]:
        return [url for url in self.failed if TILE_HOST not in url]

    def console_errors_except_tiles(self) -> list[str]:
        # Chromium logs each aborted tile as "Failed to load resource" without its URL;
        # allow as many of those as there were failed tile requests, nothing else.
        tiles = len(self.failed) - len(self.failed_except_tiles())
        other = [e for e in self.console_errors if "Failed to load resource" not in e]
        loads = len(self.console_errors) - len(other)
        return other + (["more failed loads than tiles"] if loads > tiles else [])

    def assert_clean(self) -> None:
        """No uncaught exception, no failed request or console error but the tiles', no
        dialog."""
        assert self.page_errors == []
        assert self.failed_except_tiles() == []
        assert self.console_errors_except_tiles() == []
        assert self.dialogs == []


def _route(route: object) -> None:
    url = route.request.url  # type: ignore[attr-defined]
    local = url.startswith(("file:", "data:", "http://127.0.0.1", "http://localhost"))
    if local:
        route.continue_()  # type: ignore[attr-defined]
    else:
        route.abort()  # type: ignore[attr-defined]


@pytest.fixture
def sealed_page(browser: object) -> Iterator[tuple[object, PageLog]]:
    """A page with the network cut off except file:// and localhost, and its log."""
    context = browser.new_context(viewport={"width": 1200, "height": 800})  # type: ignore[attr-defined]
    page = context.new_page()
    log = PageLog()
    page.route("**/*", _route)
    page.on("console", lambda m: log.console_errors.append(m.text) if m.type == "error" else None)
    page.on("requestfailed", lambda r: log.failed.append(r.url))
    page.on("pageerror", lambda e: log.page_errors.append(str(e)))

    def on_dialog(dialog: object) -> None:
        log.dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", on_dialog)
    yield page, log
    context.close()


@pytest.fixture(scope="session")
def static_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A localhost HTTP server over a temp directory; returns (base URL, directory)."""
    root = tmp_path_factory.mktemp("served")
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", root
    server.shutdown()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return
