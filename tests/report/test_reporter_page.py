"""The resident reporter page in a real headless Chromium against the real app.

Each test runs on SQLite and on PostGIS (the ``settings`` fixture): what the page sends is
checked where it ends up, in the readings table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import h3
import pytest

from domain.radio import UNKNOWN_MNC
from tests.coverage_helpers import decide, ingest, reading_in

from .conftest import HERE, PageLog, wait_until

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "service" / "api" / "static" / "report"
READY = "window.deadzoneReporter && window.deadzoneReporter.ready === true"
CONTROLLED = "navigator.serviceWorker.controller !== null"
Rows = Callable[[], list[dict[str, Any]]]


def _open(context: Any, url: str, *, controlled: bool = True) -> tuple[Any, PageLog]:
    page = context.new_page()
    log = PageLog()
    log.watch(page)
    page.goto(url + "/report")
    page.wait_for_function(READY)
    if controlled:
        page.wait_for_function(CONTROLLED)
    return page, log


def _queued(page: Any) -> int:
    return int(page.get_attribute("#queue-count", "data-count"))


def _wait_queued(page: Any, n: int) -> None:
    page.wait_for_selector(f'#queue-count[data-count="{n}"]', state="attached")


def _choose(page: Any, operator: str, level: str) -> None:
    page.locator("label.choice", has_text=operator).click()
    page.locator(f"label.level-{level}").click()


def _screenshots(page: Any, path: Path) -> None:
    """The first screen a resident sees (360x640), and the whole page. For the whole page
    the sticky save bar is laid out in place, or it would be drawn across the middle."""
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path.with_suffix(".png")))
    style = page.add_style_tag(content=".savebar { position: static !important; }")
    page.screenshot(path=str(path.with_name(path.name + "-full.png")), full_page=True)
    style.evaluate("node => node.remove()")


def _strings(page: Any) -> dict[str, dict[str, str]]:
    strings: dict[str, dict[str, str]] = page.evaluate("window.deadzoneReporter.strings")
    return strings


def test_offline_report_survives_reload_and_reaches_the_server_once(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows, output_dir: Path
) -> None:
    context = open_context()
    page, log = _open(context, live_server)
    _choose(page, "Viettel", "none")
    page.wait_for_selector("#pos-text:has-text('12.68000')")

    context.set_offline(True)
    page.wait_for_selector("#net.offline")
    page.locator("#save").click()
    _wait_queued(page, 1)
    assert "1 báo cáo đang chờ gửi" in page.inner_text("#queue-count")
    _screenshots(page, output_dir / "report-vi-offline")
    [queued] = page.evaluate("window.deadzoneReporter.queued()")
    assert reporter_rows() == []

    page.reload()  # no connection: the service worker serves the page
    page.wait_for_function(READY)
    _wait_queued(page, 1)

    context.set_offline(False)  # the "online" event sends the queue
    _wait_queued(page, 0)
    [row] = wait_until(reporter_rows, what="the report in the database")
    reading = queued["reading"]
    assert row["reading_id"] == reading["id"]
    assert (row["mcc"], row["mnc"], row["radio"], row["level"]) == (452, 4, "lte", 0)
    assert row["calls_fail"] is None and row["no_service"] is False
    assert row["accuracy_m"] == HERE["accuracy"]
    assert abs(row["lat"] - HERE["latitude"]) < 1e-6
    assert abs(row["lon"] - HERE["longitude"]) < 1e-6
    assert reading["device"].startswith("rp-") and reading["source"] == "reporter"
    assert "máy chủ nhận 1, từ chối 0" in page.inner_text("#last-sent")

    # Sending again, twice at once, and replaying the very same reading store nothing new.
    page.evaluate(
        "Promise.all([window.deadzoneReporter.sendNow(), window.deadzoneReporter.sendNow()])"
    )
    answer = page.evaluate(
        """reading => fetch('/v1/readings', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({readings: [reading]})}).then(r => r.json())""",
        reading,
    )
    assert (answer["accepted"], answer["duplicates"]) == (0, 1)
    assert len(reporter_rows()) == 1
    assert _queued(page) == 0
    assert log.errors == []


def test_texts_are_complete_in_vietnamese_and_english(
    open_context: Callable[..., Any], live_server: str, output_dir: Path
) -> None:
    page, log = _open(open_context(), live_server, controlled=False)
    strings = _strings(page)
    vi, en = strings["vi"], strings["en"]
    assert set(vi) == set(en)
    assert all(text.strip() for text in [*vi.values(), *en.values()])

    # Every key the page uses is in the dictionaries (and so, in both).
    used = set(re.findall(r'data-i18n(?:-aria)?="([a-z_.]+)"', (STATIC / "index.html").read_text()))
    script = (STATIC / "app.js").read_text()
    used |= set(re.findall(r'"((?:page|lang|net|queue|op|level|pos|save|rejected|reason|survey'
                           r'|time|sim2|short)\.[a-z_]+)"', script))  # fmt: skip
    used |= {f"level.{kind}" for kind in ("none", "emergency", "weak", "good")}
    used |= {f"reason.{code}" for code in ("future", "too_old", "inaccurate")}
    assert used - set(vi) == set()

    def visible_texts() -> str:
        text: str = page.inner_text("body")
        for key in vi:
            assert key not in text, f"raw key {key} shown"
        assert "{" not in text
        return text

    _choose(page, "Viettel", "none")
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    text = visible_texts()
    assert page.evaluate("document.documentElement.lang") == "vi"
    for key in ("page.title", "op.legend", "level.emergency", "save.button", "survey.title"):
        assert vi[key] in text
    _screenshots(page, output_dir / "report-vi")

    page.locator("#lang").click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    text = visible_texts()
    for key in ("page.title", "op.legend", "level.emergency", "save.button", "survey.title"):
        assert en[key] in text
        assert vi[key] not in text
    for element in page.query_selector_all("[data-i18n]"):
        if element.is_visible():
            assert element.inner_text().strip() == en[element.get_attribute("data-i18n")].strip()
    assert page.title() == en["page.title"]
    # The second SIM's list repeats the operators; its "I don't know" follows the language.
    second_unknown = "document.querySelector('#sim2-operator option[value=unknown]').textContent"
    assert page.evaluate(second_unknown).strip() == en["op.unknown"]
    _screenshots(page, output_dir / "report-en")

    page.reload()  # the choice is remembered
    page.wait_for_function(READY)
    assert page.inner_text("h1") == en["page.title"]
    assert log.errors == []


def test_a_link_with_lang_opens_the_page_in_that_language(
    open_context: Callable[..., Any], live_server: str
) -> None:
    """As every other page: /report?lang=en is English on a phone that never chose, and
    the choice is kept; an unknown value leaves the page Vietnamese."""
    context = open_context()
    page = context.new_page()
    strings = None
    for query, lang in (
        ("?lang=xx", "vi"),
        ("?lang=__proto__", "vi"),
        ("?lang=en", "en"),
        ("", "en"),
    ):
        page.goto(live_server + "/report" + query)
        page.wait_for_function(READY)
        strings = strings or _strings(page)
        assert page.evaluate("document.documentElement.lang") == lang, query
        assert page.inner_text("h1") == strings[lang]["page.title"], query


def test_refused_location_explains_and_a_point_can_be_placed_by_hand(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows, output_dir: Path
) -> None:
    page, log = _open(open_context(located=False), live_server, controlled=False)
    vi = _strings(page)["vi"]
    page.wait_for_selector("#pos-error:visible")
    assert page.inner_text("#pos-error") == vi["pos.denied"]
    assert page.is_visible("#manual")
    page.wait_for_selector("#map.leaflet-container")  # Leaflet is fetched when the map opens
    _screenshots(page, output_dir / "report-vi-denied")
    zoom = page.locator("#map .leaflet-control-zoom-in").bounding_box()
    assert zoom["height"] >= 44 and zoom["width"] >= 44  # a thumb's target; Leaflet's are 30 px

    # Scrolled so the map's zoom button passes under the sticky save bar: the bar stays on
    # top and a tap on it saves (Leaflet's panes and buttons painted over it and took the
    # tap: the map zoomed and nothing was saved).
    on_top = page.evaluate(
        """() => {
             const save = document.querySelector('#save').getBoundingClientRect();
             const zoom = document.querySelector('#map .leaflet-control-zoom-in')
               .getBoundingClientRect();
             window.scrollBy(0, (zoom.top + zoom.height / 2) - (save.top + save.height / 2));
             const button = document.querySelector('#map .leaflet-control-zoom-in')
               .getBoundingClientRect();
             const at = document.querySelector('#save').getBoundingClientRect();
             const x = button.left + button.width / 2, y = at.top + at.height / 2;
             const hit = document.elementFromPoint(x, y);
             return {under: button.top < y && y < button.bottom && at.left < x && x < at.right,
                     save: hit !== null && hit.closest('#save') !== null};
           }"""
    )
    assert on_top == {"under": True, "save": True}
    page.evaluate("window.scrollTo(0, 0)")

    # On the map: the first tap zooms in, the second places the point.
    _choose(page, "MobiFone", "good")
    page.locator("#map").scroll_into_view_if_needed()
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector('#map[data-zoom="16"]')
    page.mouse.click(box["x"] + box["width"] / 2 + 20, box["y"] + box["height"] / 2)
    page.wait_for_selector("#pos-text:has-text('chọn tay')")
    page.locator("#save").click()
    _wait_queued(page, 0)

    # Typed coordinates, with a decimal comma as many phone keyboards type it.
    _choose(page, "MobiFone", "weak")
    page.fill("#lat", "12,7105")
    page.fill("#lon", "108.0712")
    page.locator("#use-typed").click()
    page.wait_for_selector("#pos-text:has-text('12.71050')")
    page.locator("#save").click()

    tapped, typed = wait_until(lambda: len(reporter_rows()) == 2 and reporter_rows())
    # The map opened on Buôn Ma Thuột (no earlier position) at zoom 10, where a pixel is
    # about 150 m; the taps were near its centre.
    assert tapped["lat"] == pytest.approx(HERE["latitude"], abs=0.002)
    assert tapped["lon"] == pytest.approx(HERE["longitude"], abs=0.002)
    # Zoom 16 at 12.68° N: 2.33 m per pixel, times half a fingertip (24 px).
    assert tapped["accuracy_m"] == pytest.approx(55, abs=2)
    assert (tapped["level"], tapped["calls_fail"]) == (3, None)
    assert (typed["lat"], typed["lon"], typed["accuracy_m"]) == (12.7105, 108.0712, None)
    assert (typed["mnc"], typed["level"], typed["calls_fail"]) == (1, 1, True)
    assert log.errors == []


def test_unknown_operator_saves_one_report_with_the_operator_unknown(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    page, log = _open(open_context(), live_server, controlled=False)
    vi = _strings(page)["vi"]
    _choose(page, "Tôi không biết", "none")
    # The page says what such a report counts for, and how to find the operator.
    assert page.inner_text("#op-unknown-help") == vi["op.unknown_help"]
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    page.locator("#save").click()
    # Saved on the phone, then (maybe before this looks) said delivered by the server.
    page.wait_for_selector(
        "#save-message:has-text('Đã lưu 1 báo cáo'), #save-message:has-text('Máy chủ đã nhận 1')"
    )
    # Sent once and stored with the operator unknown: MCC 452, no network guessed.
    [row] = wait_until(reporter_rows, what="the report")
    assert (row["mcc"], row["mnc"], row["level"]) == (452, UNKNOWN_MNC, 0)
    page.wait_for_selector('#queue-count[data-count="0"]', state="attached")
    page.wait_for_timeout(500)
    assert len(reporter_rows()) == 1
    assert log.errors == []


def test_failed_send_keeps_the_report_and_retries_by_itself(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    # Without the service worker, so that only the page's own retry can deliver it.
    page, log = _open(open_context(service_worker=False), live_server, controlled=False)
    page.route("**/v1/readings", lambda route: route.fulfill(status=503, body="{}"))
    _choose(page, "Gmobile", "good")
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    page.locator("#save").click()
    page.wait_for_selector("#send-state:has-text('Sẽ tự thử lại')")
    assert _queued(page) == 1
    assert reporter_rows() == []

    page.unroute("**/v1/readings")  # the server is back; the first retry is within ~6 s
    page.wait_for_selector('#queue-count[data-count="0"]', state="attached", timeout=15_000)
    [row] = reporter_rows()
    assert (row["mnc"], row["level"]) == (7, 3)
    assert log.errors == []


def test_refused_reading_is_shown_with_its_reason_and_dropped(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    page, log = _open(open_context(), live_server, controlled=False)
    vi = _strings(page)["vi"]
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    page.evaluate(
        """observedAt => DZQueue.enqueue({id: 'clock-wrong', device: 'rp-test',
             observed_at: observedAt, lat: 12.68, lon: 108.05, mcc: 452, mnc: 4,
             radio: 'lte', level: 3, source: 'reporter'}, 'good')
           .then(() => window.deadzoneReporter.sendNow())""",
        future,
    )
    page.wait_for_selector("#rejected:visible")
    assert vi["reason.future"] in page.inner_text("#rejected-list")
    _wait_queued(page, 0)
    assert reporter_rows() == []
    page.locator("#rejected-clear").click()
    page.wait_for_selector("#rejected", state="hidden")
    assert log.errors == []


def test_a_phone_whose_clock_runs_ahead_still_delivers_its_reports(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows
) -> None:
    """A phone 15 minutes ahead of the real time (the server allows 10): its first report
    is refused as "in the future", stamped again on the server's clock (the date of that
    answer) and delivered; the next one is stamped on the server's clock from the start.
    Both used to be refused and dropped from the queue: a resident's report lost."""
    context = open_context(service_worker=False)
    page = context.new_page()
    log = PageLog()
    log.watch(page)
    page.clock.install(time=datetime.now(UTC) + timedelta(minutes=15))
    page.goto(live_server + "/report")
    page.wait_for_function(READY)
    page.wait_for_selector("#pos-text:has-text('12.68000')")
    _choose(page, "MobiFone", "weak")
    page.locator("#save").click()
    [first] = wait_until(reporter_rows, what="the first report")
    _wait_queued(page, 0)
    _choose(page, "MobiFone", "none")
    page.locator("#save").click()
    first, second = wait_until(lambda: len(reporter_rows()) == 2 and reporter_rows())
    _wait_queued(page, 0)
    for row in (first, second):
        observed = row["observed_at"]
        observed = observed if observed.tzinfo else observed.replace(tzinfo=UTC)
        assert abs(observed - datetime.now(UTC)) < timedelta(minutes=2), row
    assert page.is_hidden("#rejected")
    offset = page.evaluate("DZQueue.getMeta('clock_offset')")
    assert offset == pytest.approx(-15 * 60 * 1000, abs=60 * 1000)
    assert log.errors == []


def test_survey_records_a_report_every_n_metres(
    open_context: Callable[..., Any], live_server: str, reporter_rows: Rows, output_dir: Path
) -> None:
    context = open_context()
    page, log = _open(context, live_server, controlled=False)
    page.locator("#survey summary").click()
    assert page.input_value("#survey-distance") == "50"
    _choose(page, "VinaPhone", "weak")
    page.locator("#survey-toggle").click()

    def walk_to(north_m: float, *, ask: bool = False) -> None:
        # 1 degree of latitude is about 111,195 m (mean Earth radius).
        lat = HERE["latitude"] + north_m / 111_195
        context.set_geolocation({**HERE, "latitude": lat})
        if ask:
            page.locator("#pos-retry").click()
        page.wait_for_selector(f"#pos-text:has-text('{lat:.5f}')")

    def surveyed() -> int:
        return int(page.get_attribute("#survey-state", "data-count"))

    page.wait_for_selector('#survey-state[data-count="1"]')
    walk_to(60)
    page.wait_for_selector('#survey-state[data-count="2"]')
    walk_to(70)  # 10 m on: not yet
    assert surveyed() == 2
    page.locator("label.level-good").click()  # the signal changed; the level stays chosen
    walk_to(125)
    page.wait_for_selector('#survey-state[data-count="3"]')
    walk_to(190)
    page.wait_for_selector('#survey-state[data-count="4"]')
    page.locator("fieldset.levels").scroll_into_view_if_needed()
    assert page.inner_text("#survey-live-text") == page.inner_text("#survey-state")
    # On a 360 x 640 phone the bar (progress, Stop, the server's answer, Save) leaves the
    # level buttons most of the screen.
    page.wait_for_selector("#save-message:not(:empty)")
    page.screenshot(path=str(output_dir / "report-vi-survey.png"))
    bar = page.locator(".savebar").bounding_box()
    assert bar["height"] <= 140, bar  # 182 px before Stop sat beside Save
    stop = page.locator("#survey-live-stop").bounding_box()
    assert stop["height"] >= 44 and stop["width"] >= 44  # still a thumb's target
    page.locator("#survey-live-stop").click()  # the Stop button that stays in view
    page.wait_for_selector("#survey-state:has-text('Đã dừng')")
    assert page.is_hidden("#survey-live")
    walk_to(400, ask=True)  # stopped: nothing more is recorded
    assert surveyed() == 0
    _wait_queued(page, 0)

    rows = wait_until(lambda: len(reporter_rows()) == 4 and reporter_rows())
    rows.sort(key=lambda r: r["observed_at"])  # a batch arrives in queue (id) order
    assert [r["level"] for r in rows] == [1, 1, 3, 3]
    assert [r["calls_fail"] for r in rows] == [True, True, None, None]
    assert {(r["mcc"], r["mnc"]) for r in rows} == {(452, 2)}
    lats = [r["lat"] for r in rows]
    assert lats == sorted(lats) and lats[0] == pytest.approx(HERE["latitude"], abs=1e-6)
    assert log.errors == []


def test_the_village_line_counts_the_report_just_sent(
    open_context: Callable[..., Any], live_server: str, settings: Any, sessions: Any,
    tmp_path: Path,
) -> None:  # fmt: skip
    """The resident's village, by its own name ("Thôn/buôn Buôn Đôn" repeated the kind),
    and the people who reported there this month: the count follows a report just sent
    (it stayed at 0 until the page was opened again)."""
    from tests.areas.conftest import import_areas, village, write_layer

    here = h3.latlng_to_cell(HERE["latitude"], HERE["longitude"], settings.h3_resolution)
    layer = write_layer(tmp_path / "v.geojson", [village("V1", "Buôn Đôn", here, 120)])
    import_areas(sessions, settings, layer)
    page, log = _open(open_context(), live_server, controlled=False)
    page.wait_for_selector("#nearby-village:not([hidden])")
    assert page.inner_text("#nearby-village") == (
        "Buôn Đôn: chưa đủ dữ liệu. 0 người đã báo sóng ở đây trong tháng này."
    )
    _choose(page, "Viettel", "none")
    page.locator("#save").click()
    page.wait_for_selector("#nearby-village:has-text('1 người đã báo sóng')")
    page.locator("#lang").click()
    page.wait_for_selector("#nearby-village:has-text('1 person reported here this month')")
    assert page.inner_text("#nearby-village").startswith("Buôn Đôn: not enough readings.")
    assert log.errors == []


def test_a_resident_in_the_fields_is_pointed_to_the_nearest_place_to_measure(
    open_context: Callable[..., Any], live_server: str, settings: Any, sessions: Any
) -> None:
    """No village imported, nobody living near: two phones saw no service in a field 300 m
    north. Places people pass are worth a visit too (``task_cell_weight``), so the page
    names the nearest one with its distance, as GET /v1/nearby gives it."""
    north = HERE["latitude"] + 300 / 111_195
    field = h3.latlng_to_cell(north, HERE["longitude"], settings.h3_resolution)
    ingest(sessions, settings, [
        reading_in(field, device=f"field-{d}", no_service=True, days_ago=1 + k)
        for d in range(2) for k in range(3)
    ])  # fmt: skip
    decide(sessions, settings)
    context = open_context()
    page, log = _open(context, live_server, controlled=False)
    page.locator("#survey summary").click()  # survey mode: where to measure next
    page.wait_for_selector("#nearest-task:not([hidden])")
    text = page.inner_text("#nearest-task")
    answer = page.evaluate(
        f"fetch('/v1/nearby?lat={HERE['latitude']:.5f}&lon={HERE['longitude']:.5f}')"
        ".then((r) => r.json())"
    )
    assert answer["task"] is not None and answer["village"] is None
    metres = answer["task"]["distance_m"]
    assert metres <= settings.estimate_max_distance_m + 300
    assert text == f"Nơi gần nhất cần đo thêm: cách {metres}\u00a0m. Xem danh sách"
    assert page.get_attribute("#tasks-link", "href") == "/tasks"  # no village: the province's
    # In the language the resident switches to, at once.
    page.locator("#lang").click()
    page.wait_for_selector("#nearest-task:has-text('Nearest place still to measure')")
    assert page.get_attribute("#tasks-link", "href") == "/tasks?lang=en"
    # Walking away in survey mode, the distance follows the phone (it stayed at the first
    # one until the survey was stopped and started again); past a kilometre, in km.
    _choose(page, "Viettel", "none")
    # The answers for where the resident was are held back until the one for where they are
    # has been shown: arriving last, they must not replace it (seen: "92 m away" at 3 km).
    held: list[Any] = []
    here = f"lat={HERE['latitude']:.5f}"
    page.route(
        "**/v1/nearby?*",
        lambda route: held.append(route) if here in route.request.url else route.continue_(),
    )
    page.locator("#survey-toggle").click()
    lat, lon = HERE["latitude"] - 3000 / 111_195, HERE["longitude"]
    context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 10})
    page.wait_for_selector("#nearest-task:has-text('km away')")
    for route in held:
        route.continue_()
    page.wait_for_timeout(500)  # time for a held answer to be shown, were it shown
    further = page.evaluate(
        f"fetch('/v1/nearby?lat={lat:.5f}&lon={lon:.5f}').then((r) => r.json())"
    )
    km = f"{round(further['task']['distance_m'] / 1000, 1):.1f}"
    assert further["task"]["distance_m"] >= 1000
    assert page.inner_text("#nearest-task").startswith(
        f"Nearest place still to measure: {km}\u00a0km away."
    )
    assert log.errors == []
