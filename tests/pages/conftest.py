"""Fixtures for /progress and /plan: the real app under uvicorn, a Chromium cut off from
every network but the app's, and two databases to show: the finished small demo
(``demo_run``, read-only, shared by the session) and a small province of hostile names
built per test on each backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import h3
import httpx
import pytest
from shapely.geometry import box
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from service.areas.progress import take_snapshot
from service.settings import Settings
from service.store.database import session_scope
from service.store.models import DeadZone
from tests.areas.conftest import (
    CENTRE,
    LAT,
    LON,
    NOW,
    import_areas,
    open_zone,
    put_statuses,
    village,
    write_layer,
)
from tests.conftest import DemoRun
from tests.report.conftest import OUTPUT_DIR, LiveServer, PageLog

VIEWPORT = {"width": 1280, "height": 900}
# The links, buttons and disclosure toggles shown smaller than a thumb's target, 44 x 44 px
# (WCAG 2.5.5), each as its id or class and its text.
SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, summary')].filter(e => {
  const r = e.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && (r.width < 44 || r.height < 44);
}).map(e => (e.id || e.className || e.tagName) + ' ' + e.textContent.trim().slice(0, 40))"""
# A selector, not a wait_for_function: the pages' CSP forbids the eval that needs.
READY = "body[data-ready=true]"


@dataclass
class Sealed:
    """A browser context that can reach only ``base`` (http://127.0.0.1:port): every other
    request is aborted and noted in ``blocked``."""

    context: Any
    base: str
    blocked: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def open(self, path: str) -> tuple[Any, PageLog]:
        """A page at ``path``, rendered (its scripts set ``data-ready``), with its log.
        An alert() (what an ``onerror=alert(1)`` name would do) is noted in ``dialogs``."""
        page = self.context.new_page()
        log = PageLog()
        log.watch(page)
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.goto(self.base + path)
        page.wait_for_selector(READY, state="attached")
        return page, log

    def api(self, path: str, **params: Any) -> Any:
        """What the API answers, as JSON: the numbers a page must show."""
        response = httpx.get(self.base + path, params=params, timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def seal(browser: Any) -> Iterator[Callable[[str], Sealed]]:
    """Makes a desktop context whose network ends at the app (``Sealed``)."""
    made: list[Sealed] = []

    def make(base: str, *, locale: str = "vi-VN", timezone: str = "Asia/Ho_Chi_Minh") -> Sealed:
        context = browser.new_context(
            viewport=VIEWPORT, locale=locale, timezone_id=timezone, accept_downloads=True
        )
        sealed = Sealed(context, base)

        def route(route: Any) -> None:
            url = route.request.url
            if url == base or url.startswith(base + "/"):
                route.continue_()
            else:
                sealed.blocked.append(url)
                route.abort()

        context.route("**/*", route)
        made.append(sealed)
        return sealed

    yield make
    for sealed in made:
        sealed.context.close()


@pytest.fixture(scope="session")
def demo_server(demo_run: DemoRun) -> Iterator[str]:
    """The app serving the finished small demo's database, for the whole session."""
    with LiveServer(demo_run.settings) as server:
        yield server.url


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app on this test's own database (each backend)."""
    with LiveServer(settings) as server:
        yield server.url


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


# Names that would run if a page ever put them into the document as markup, or into a
# spreadsheet as a formula. The pages must show them as the text they are.
HOSTILE_COMMUNE = '<img src=x onerror="window.__pwned=1">Xã <b>Ea</b>'
FORMULA_COMMUNE = '=HYPERLINK("http://evil.example/","Krông Búk")'
HOSTILE_VILLAGE = "<script>window.__pwned=1</script>Buôn Đôn"
FORMULA_VILLAGE = "=1+2 Thôn"
FAR = h3.latlng_to_cell(LAT + 0.05, LON + 0.05, 9)
NEAR = h3.latlng_to_cell(LAT - 0.012, LON, 9)


@pytest.fixture
def hostile_province(tmp_path: Path, settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Two communes and three villages with hostile names, decisions, a dead zone and
    two weekly snapshots.

    H1 (hostile markup) holds V1 (800 people, trắng sóng: its centre is dead) and V2 (100,
    Buôn Đôn, never measured: unknown); H2 (a formula) holds V3 (400, a formula, lõm sóng:
    centre covered, a neighbour dead). One open zone over V1's cells."""
    communes = [
        {"code": "H1", "name": HOSTILE_COMMUNE,
         "geometry": box(LON - 0.02, LAT - 0.02, LON + 0.02, LAT + 0.02)},
        {"code": "H2", "name": FORMULA_COMMUNE,
         "geometry": box(LON + 0.03, LAT + 0.03, LON + 0.07, LAT + 0.07)},
    ]  # fmt: skip
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", communes))
    villages = [
        village("V1", HOSTILE_VILLAGE, CENTRE, 800, commune="H1"),
        village("V2", "Buôn Đôn", NEAR, 100, commune="H1"),
        village("V3", FORMULA_VILLAGE, FAR, 400, commune="H2"),
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    dark = sorted(h3.grid_disk(CENTRE, 1))
    put_statuses(sessions, dict.fromkeys(dark, "dead"))
    put_statuses(sessions, {FAR: "covered", h3.grid_ring(FAR, 1)[0]: "dead"})
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=NOW - timedelta(days=7))
    put_statuses(sessions, dict.fromkeys(h3.grid_ring(FAR, 1)[1:], "covered"))
    open_zone(sessions, dark, "dz-any-hostile")
    with session_scope(sessions) as session:
        session.execute(
            update(DeadZone)
            .where(DeadZone.id == "dz-any-hostile")
            .values(villages=["V1"], population=800.0)
        )
        take_snapshot(session, settings, now=NOW)
