"""The reporter page never inflates nor loses a report: one tap is one report, a fix the
server would refuse is stopped on the phone, and a hand-placed point has a map to land on
with the network cut. Also: the position on the first screen, Leaflet only when needed,
both SIMs of a dual-SIM phone, and virtual operators counted on their host network.

Real headless Chromium against the real app, on SQLite and on PostGIS (``settings``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box
from sqlalchemy.orm import Session, sessionmaker

from domain.radio import MVNO_NETWORKS, OPERATOR_NAMES
from service.settings import Settings
from tests.areas.conftest import CENTRE, LAT, LON, import_areas, village, write_layer

from .conftest import HERE, wait_until
from .test_reporter_page import STATIC, _choose, _open, _strings, _wait_queued

pytestmark = pytest.mark.browser

Rows = Callable[[], list[dict[str, Any]]]
PHONE = {"width": 360, "height": 740}


def test_three_quick_taps_store_one_report(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    context = open_context()
    page, log = _open(context, live_server, controlled=False)
    _choose(page, "Viettel", "none")
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    # Offline, so that what the page says about saving is not replaced by a send's news.
    context.set_offline(True)
    page.wait_for_selector("#net.offline")
    button = page.locator("#save").bounding_box()
    x, y = button["x"] + button["width"] / 2, button["y"] + button["height"] / 2
    # Two taps in the same instant (the second while the first is saving), then a third.
    page.evaluate("() => { const b = document.getElementById('save'); b.click(); b.click(); }")
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    page.wait_for_selector("#save-message:has-text('đã được lưu lúc')")
    assert "(1 báo cáo)" in page.inner_text("#save-message")
    page.wait_for_timeout(300)
    assert page.get_attribute("#queue-count", "data-count") == "1"

    # A different report is a new report.
    _choose(page, "Viettel", "good")
    page.mouse.click(x, y)
    # Saved on the phone, then (maybe before this looks) said delivered by the server.
    page.wait_for_selector(
        "#save-message:has-text('Đã lưu 1 báo cáo'), #save-message:has-text('Máy chủ đã nhận 1')"
    )
    _wait_queued(page, 2)

    context.set_offline(False)
    page.wait_for_selector("#last-sent:has-text('máy chủ nhận 2, từ chối 0')")
    rows = wait_until(lambda: len(reporter_rows()) == 2 and reporter_rows())
    assert sorted(r["level"] for r in rows) == [0, 3]
    assert log.errors == []


def test_a_1500_m_fix_is_stopped_on_the_phone_and_nothing_is_lost(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    context = open_context(fix={**HERE, "accuracy": 1500})
    page, log = _open(context, live_server, controlled=False)
    vi = _strings(page)["vi"]
    _choose(page, "MobiFone", "weak")
    page.wait_for_selector("#pos-error:has-text('1500 m')")
    assert page.inner_text("#pos-error") == vi["pos.too_coarse"].format(acc=1500, max=1000)
    page.locator("#save").click()
    page.wait_for_selector("#save-message.error")
    assert page.inner_text("#save-message") == vi["save.too_coarse"].format(acc=1500, max=1000)
    assert page.is_visible("#pos-retry") and page.is_visible("#pos-place")
    page.wait_for_timeout(500)
    assert page.evaluate("window.deadzoneReporter.queued()") == []
    assert reporter_rows() == []

    # Out in the open the fix improves: "try GPS again", and the choices are still there.
    context.set_geolocation(HERE)
    page.locator("#pos-retry").click()
    page.wait_for_selector("#pos-text:has-text('15 m')")
    assert page.is_hidden("#pos-error")
    page.locator("#save").click()
    [row] = wait_until(reporter_rows, what="the report")
    assert (row["mnc"], row["level"], row["calls_fail"], row["accuracy_m"]) == (1, 1, True, 15)
    assert log.errors == []


@pytest.fixture
def areas(tmp_path: Path, settings: Settings, sessions: sessionmaker[Session]) -> None:
    """Two communes around the phone and two villages, as ``deadzone import-areas``."""
    communes = [
        {"code": "C1", "name": "Ea Tu", "population": 900,
         "geometry": box(LON - 0.05, LAT - 0.05, LON, LAT + 0.05)},
        {"code": "C2", "name": "<b>Hòa</b> Thắng", "population": 600,
         "geometry": box(LON, LAT - 0.05, LON + 0.05, LAT + 0.05)},
    ]  # fmt: skip
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", communes))
    villages = [
        village("V1", "Buôn Kô Tam", CENTRE, 500, commune="C1"),
        village("V2", "<img src=x onerror=window.__pwned=1>", CENTRE, 300, commune="C2"),
    ]
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))


def test_manual_placement_shows_a_map_with_the_network_cut(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows, areas: None
) -> None:
    context = open_context(located=False)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page, log = _open(context, live_server)  # the worker is installed and controls the page

    context.set_offline(True)
    page.wait_for_selector("#net.offline")
    page.locator("#pos-place").click()  # the map is also opened by the refused location
    page.wait_for_selector("#map.leaflet-container")
    page.wait_for_selector("#map[data-outlines='4']", state="attached")
    assert len(page.query_selector_all("#map path.leaflet-interactive, #map path")) >= 4
    labels = page.locator("#map .village-label").all_inner_texts()
    assert "Buôn Kô Tam" in labels  # names as text: the markup one does not run
    assert page.evaluate("window.__pwned") is None

    _choose(page, "Viettel", "none")
    page.locator("#map").scroll_into_view_if_needed()
    frame = page.locator("#map").bounding_box()
    centre = (frame["x"] + frame["width"] / 2, frame["y"] + frame["height"] / 2)
    page.mouse.click(*centre)  # zooms in first
    page.wait_for_selector('#map[data-zoom="16"]')
    page.mouse.click(*centre)
    page.wait_for_selector("#pos-text:has-text('chọn tay')")
    page.locator("#save").click()
    _wait_queued(page, 1)

    context.set_offline(False)
    [row] = wait_until(reporter_rows, what="the hand-placed report")
    assert row["lat"] == pytest.approx(LAT, abs=0.01) and row["lon"] == pytest.approx(LON, abs=0.01)
    assert not [u for u in requests if not u.startswith(live_server)]
    assert log.errors == []


def test_typed_coordinates_far_from_every_commune_are_asked_again(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows, areas: None
) -> None:
    """A typing slip (Hà Nội's coordinates, 600 km from these communes) is not taken at the
    first press: the page says how far it is, and takes it at the second. A place inside
    the communes is taken at once."""
    page, log = _open(open_context(located=False), live_server, controlled=False)
    vi = _strings(page)["vi"]
    page.wait_for_selector("#map[data-outlines='4']", state="attached")
    _choose(page, "Viettel", "none")
    page.fill("#lat", "21.0285")
    page.fill("#lon", "105.8542")
    page.locator("#use-typed").click()
    assert page.inner_text("#save-message") == vi["pos.far"].replace("{km}", "20")
    assert "21.02850" not in page.inner_text("#pos-text")
    page.locator("#use-typed").click()  # the same place again: the resident means it
    page.wait_for_selector("#pos-text:has-text('21.02850')")
    assert page.inner_text("#save-message") == ""
    page.fill("#lat", f"{LAT + 0.01:.4f}")
    page.fill("#lon", f"{LON + 0.01:.4f}")
    page.locator("#use-typed").click()  # inside the communes: taken at the first press
    page.wait_for_selector(f"#pos-text:has-text('{LAT + 0.01:.5f}')")
    page.locator("#save").click()
    [row] = wait_until(reporter_rows, what="the typed report")
    assert row["lat"] == pytest.approx(LAT + 0.01, abs=1e-4)
    assert log.errors == []


def test_position_is_on_the_first_screen_and_leaflet_waits_for_the_map(
    open_context: Callable[..., Any], live_server: str, output_dir: Path
) -> None:
    # No service worker: its install would fetch Leaflet for later offline use.
    context = open_context(viewport=PHONE, service_worker=False)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page, log = _open(context, live_server, controlled=False)
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    assert not [u for u in requests if "/leaflet/" in u]
    assert page.evaluate("typeof window.L") == "undefined"
    savebar = page.locator(".savebar").bounding_box()
    for selector in ("#pos-text", "#pos-retry", "#pos-place"):
        found = page.locator(selector).bounding_box()
        assert found["y"] + found["height"] <= savebar["y"], selector
    page.screenshot(path=str(output_dir / "report-vi-360x740.png"))
    page.locator("#pos-place").click()
    page.wait_for_selector("#map.leaflet-container")
    assert [u for u in requests if u.endswith("/report/leaflet/leaflet.js")]
    assert log.errors == []


def test_dual_sim_phone_reports_both_sims_in_one_report(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    page, log = _open(open_context(), live_server, controlled=False)
    _choose(page, "Viettel", "none")
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    page.locator("#sim2 summary").click()
    page.select_option("#sim2-operator", "itel")  # a virtual operator on VinaPhone
    page.locator("#save").click()
    page.wait_for_selector("#save-message.error")  # the second SIM's level is missing
    page.locator(".sim2-levels label.choice", has_text="Sóng tốt").click()
    page.locator("#save").click()
    page.wait_for_selector("#save-message:has-text('Đã lưu 2 báo cáo')")
    rows = wait_until(lambda: len(reporter_rows()) == 2 and reporter_rows())
    assert sorted((r["mnc"], r["level"]) for r in rows) == [(2, 3), (4, 0)]
    assert rows[0]["observed_at"] == rows[1]["observed_at"]
    assert (rows[0]["lat"], rows[0]["lon"]) == (rows[1]["lat"], rows[1]["lon"])
    assert log.errors == []


def test_virtual_operators_are_stored_as_their_host_network(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    page, log = _open(open_context(), live_server, controlled=False)
    _choose(page, "Reddi", "weak")
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    page.locator("#save").click()
    [row] = wait_until(reporter_rows, what="the report")
    assert (row["mcc"], row["mnc"]) == (452, 1)  # MobiFone's network
    assert log.errors == []


def test_page_operators_match_the_domain_tables() -> None:
    """The page's buttons and its operator table say what domain/radio.py says."""
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    mvnos = dict(
        (name, network)
        for network, name in re.findall(
            r'value="[a-z]+" data-network="(452-\d\d)"><span>([^<]+)</span>', html
        )
    )
    assert mvnos == MVNO_NETWORKS
    buttons = set(re.findall(r'name="operator" value="(452-\d\d)"', html))
    script = (STATIC / "app.js").read_text(encoding="utf-8")
    table = set(re.findall(r'"(452-\d\d)": \{ mcc: 452', script))
    assert buttons == table == set(OPERATOR_NAMES)
