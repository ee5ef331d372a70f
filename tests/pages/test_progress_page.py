"""/progress in a real headless Chromium with the network cut off at the app, on the demo's
data: the province figure, the chart, the communes and the villages show the demo's
numbers, in Vietnamese and in English; the tables sort; the print view and the exports."""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DemoRun

from .conftest import SMALL_TARGETS, Sealed

pytestmark = pytest.mark.browser

STATIC = Path(__file__).resolve().parents[2] / "service" / "api" / "static" / "pages"
CHART_POINTS = "window.deadzonePages.chart.data.datasets[0].data.map(p => p.x)"
# Pixels of the chart's share line (#0b3d91), counted in the canvas itself.
BLUE_PIXELS = """() => {
  const c = document.getElementById('chart');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 200 && Math.abs(d[i] - 11) < 30 && Math.abs(d[i + 1] - 61) < 30
        && Math.abs(d[i + 2] - 145) < 30) n++;
  }
  return n;
}"""


def fmt_int(value: float, lang: str) -> str:
    """A whole number as the page writes it: 72.000 (vi), 72,000 (en)."""
    text = f"{round(value):,}"
    return text.replace(",", ".") if lang == "vi" else text


def fmt_percent(share: float, lang: str) -> str:
    """A share as the page writes it: 96,4% (vi), 96.4% (en)."""
    text = f"{share * 100:.1f}%"
    return text.replace(".", ",") if lang == "vi" else text


def column(page: Any, table: str, key: str) -> list[str]:
    return [c.strip() for c in page.locator(f"#{table} tbody td[data-col={key}]").all_inner_texts()]


def row_keys(page: Any, table: str) -> list[str]:
    return page.eval_on_selector_all(
        f"#{table} tbody tr", "rows => rows.map(r => r.getAttribute('data-key'))"
    )


def assert_clean(sealed: Sealed, log: Any, page: Any) -> None:
    assert sealed.blocked == [], "the page asked for something outside the app"
    assert log.errors == [] and sealed.dialogs == []
    assert page.evaluate("window.__pwned") is None


def day_number(iso: str) -> int:
    return (date.fromisoformat(iso) - date(1970, 1, 1)).days


@pytest.fixture
def demo(seal: Callable[..., Sealed], demo_server: str) -> Sealed:
    return seal(demo_server)


def test_progress_page_shows_the_demo_numbers_in_vietnamese(
    demo: Sealed, demo_run: DemoRun, output_dir: Path
) -> None:
    page, log = demo.open("/progress")
    summary = demo_run.summary["progress"]
    snapshots = summary["snapshots"]
    table = demo.api("/v1/progress/areas")
    province = table["areas"][0]

    # The province figure: the demo's share, the verdict of its trend.
    assert province["population"] == summary["population"]
    assert province["people_covered"] == summary["people_covered"]
    share = summary["people_covered"] / summary["population"]
    assert page.inner_text("#province-share") == fmt_percent(share, "vi")
    assert page.get_attribute("#verdict", "data-status") == summary["trend"]["status"]
    text = page.inner_text("main")
    assert "tỷ lệ dân số được phủ sóng" in text
    assert {
        "on_track": "Đúng tiến độ", "behind": "Chậm tiến độ", "reached": "Đã đạt mục tiêu",
        "not_enough_evidence": "Chưa đủ bằng chứng để đánh giá",
    }[summary["trend"]["status"]] in text  # fmt: skip
    # The four kinds of people, and how the verdict is computed.
    split = page.inner_text("#province-split")
    assert "Đã đo" in split and "ước tính" in split and "Chưa biết" in split
    assert "nhóm nơi cố định" in page.inner_text("#verdict-how")
    people = page.inner_text("#province-people")
    assert fmt_int(summary["people_covered"], "vi") in people
    assert fmt_int(summary["population"], "vi") in people
    assert "31/12/" in page.inner_text("#province-goal")
    stats = {
        s.get_attribute("data-stat"): s.locator("dd").inner_text()
        for s in page.locator("#province-stats .stat").all()
    }
    for status in ("trang_song", "lom_song", "covered", "unknown"):
        assert stats[status] == str(summary["villages"][status])
    assert stats["zones_open"] == str(province["zones_open"])

    # The chart: one point per snapshot, on its day, and actually drawn.
    assert page.get_attribute("#chart", "data-points") == str(len(snapshots))
    assert page.evaluate(CHART_POINTS) == [day_number(s["day"]) for s in snapshots]
    shares = page.evaluate("window.deadzonePages.chart.data.datasets[0].data.map(p => p.y)")
    assert shares == pytest.approx([s["covered_share"] * 100 for s in snapshots])
    labels = page.evaluate("window.deadzonePages.chart.data.datasets.map(d => d.label)")
    # The deadline of the API's answer (31 December of this year in Vietnam, by default),
    # not a fixed year: "2026" failed every run from 1 January 2027.
    deadline = date.fromisoformat(demo.api("/v1/progress")["goal"]["deadline"])
    assert "Mục tiêu" in labels and f"Hạn chót {deadline:%d/%m/%Y}" in labels
    assert page.evaluate(BLUE_PIXELS) > 500
    assert f"{len(snapshots)} lần chụp số liệu" in page.get_attribute("#chart", "aria-label")
    # The projection starts where its computation starts (the level among people measured
    # or estimated, not the headline's share of all people), and says which it is: a reader
    # saw 95.1 % above and "from 95.8 % today" below.
    trend = demo.api("/v1/progress")["trend"]
    # The demo's trend has a projection (a change to the demo that loses it loses this check).
    assert trend["projected_share"] is not None and trend["status"] != "reached", trend
    start = page.evaluate(
        "window.deadzonePages.chart.data.datasets.find(d => d.borderColor === '#8a3d00').data[0].y"
    )
    assert start == pytest.approx(trend["level_share"] * 100)
    line = page.inner_text("#projection")
    assert f"từ mức {fmt_percent(trend['level_share'], 'vi')} hiện nay (người có sóng" in line

    # The communes: the API's table, largest gap in people first, province in the footer.
    communes = [a for a in table["areas"] if a["kind"] == "commune"]
    assert len(communes) == demo_run.summary["areas"]["communes"]
    assert row_keys(page, "communes-table") == [a["code"] for a in communes]
    gaps = [a["gap_people"] for a in communes]
    assert gaps == sorted(gaps, reverse=True)
    assert column(page, "communes-table", "name") == [a["name"] for a in communes]
    assert column(page, "communes-table", "population") == [
        fmt_int(a["population"], "vi") for a in communes
    ]
    assert column(page, "communes-table", "covered_share") == [
        fmt_percent(a["covered_share"], "vi") for a in communes
    ]
    assert page.get_attribute("#communes-table th[data-key=gap_people]", "aria-sort") == (
        "descending"
    )
    footer = page.locator("#communes-table tfoot td[data-col=population]").inner_text()
    assert footer == fmt_int(summary["population"], "vi")

    # The villages still dark: every trắng sóng and lõm sóng village, trắng sóng first.
    villages = demo.api("/v1/villages", status=["trang_song", "lom_song"], radio="broadband")[
        "villages"
    ]
    assert len(villages) == summary["villages"]["trang_song"] + summary["villages"]["lom_song"]
    assert sorted(row_keys(page, "villages-table")) == sorted(v["code"] for v in villages)
    statuses = column(page, "villages-table", "status")
    assert statuses == sorted(statuses, key=lambda s: s != "Trắng sóng")
    assert statuses.count("Trắng sóng") == summary["villages"]["trang_song"]
    assert statuses.count("Lõm sóng") == summary["villages"]["lom_song"]
    # Each status with what it rests on and how sure it is (/v1/villages).
    by_code = {v["code"]: v for v in villages}
    keys = row_keys(page, "villages-table")
    confidence = [f"{round(by_code[k]['confidence'] * 100)}%" for k in keys]
    assert column(page, "villages-table", "confidence") == confidence
    evidence = column(page, "villages-table", "evidence_readings")
    assert all(
        text.startswith(f"{fmt_int(by_code[k]['evidence_readings'], 'vi')} lần đo")
        for k, text in zip(keys, evidence, strict=True)
    )
    assert all(by_code[k]["evidence_readings"] > 0 for k in keys)
    unknown = summary["villages"]["unknown"]
    assert page.get_attribute("#unknown-count", "data-count") == str(unknown)

    assert page.get_attribute("#map-link", "href") == "/maps/progress.html?radio=broadband&lang=vi"
    assert page.get_attribute("#lang-switch", "href") == "/progress?lang=en"
    assert page.evaluate("document.documentElement.lang") == "vi"
    page.screenshot(path=str(output_dir / "progress-vi.png"), full_page=True)
    assert_clean(demo, log, page)


def test_progress_page_in_english(demo: Sealed, demo_run: DemoRun, output_dir: Path) -> None:
    page, log = demo.open("/progress?lang=en")
    summary = demo_run.summary["progress"]
    share = summary["people_covered"] / summary["population"]
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.title() == "Progress towards zero mobile dead zones · deadzone"
    assert page.inner_text("#province-share") == fmt_percent(share, "en")
    assert fmt_int(summary["people_covered"], "en") in page.inner_text("#province-people")
    text = page.inner_text("body")
    assert "of people covered by a mobile signal" in text and "Communes" in text
    assert "Villages still dark" in text and "tỷ lệ dân số" not in text
    assert page.get_attribute("#chart", "data-points") == str(len(summary["snapshots"]))
    deadline = date.fromisoformat(demo.api("/v1/progress")["goal"]["deadline"])
    assert f"Deadline {deadline.day} {deadline:%b %Y}" in page.evaluate(
        "window.deadzonePages.chart.data.datasets.map(d => d.label)"
    )
    switch = page.locator("#lang-switch")
    assert switch.inner_text() == "Tiếng Việt" and switch.get_attribute("lang") == "vi"
    assert page.get_attribute("#map-link", "href") == "/maps/progress.html?radio=broadband&lang=en"
    assert page.get_attribute("#nav-plan", "href") == "/plan?lang=en"
    page.screenshot(path=str(output_dir / "progress-en.png"), full_page=True)

    switch.click()  # back to Vietnamese, same page
    page.wait_for_selector("html[lang=vi] body[data-ready=true]", state="attached")
    assert page.inner_text("#province-share") == fmt_percent(share, "vi")
    assert_clean(demo, log, page)


def test_commune_table_sorts_by_click_and_by_keyboard(demo: Sealed) -> None:
    page, log = demo.open("/progress")
    communes = [a for a in demo.api("/v1/progress/areas")["areas"] if a["kind"] == "commune"]

    def by(key: str, *, reverse: bool) -> list[str]:
        ordered = sorted(communes, key=lambda a: a[key], reverse=reverse)
        return [a["code"] for a in ordered]

    header = "#communes-table th[data-key=population]"
    page.locator(f"{header} button").click()  # a number: largest first
    assert row_keys(page, "communes-table") == by("population", reverse=True)
    assert page.get_attribute(header, "aria-sort") == "descending"
    assert page.get_attribute("#communes-table th[data-key=gap_people]", "aria-sort") is None
    page.locator(f"{header} button").click()
    assert row_keys(page, "communes-table") == by("population", reverse=False)
    assert page.get_attribute(header, "aria-sort") == "ascending"

    # Keyboard only: Tab reaches the header buttons, Enter and Space sort.
    share = page.locator("#communes-table th[data-key=covered_share] button")
    share.focus()
    page.keyboard.press("Enter")
    assert row_keys(page, "communes-table") == by("covered_share", reverse=True)
    page.keyboard.press("Space")
    assert row_keys(page, "communes-table") == by("covered_share", reverse=False)
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    assert page.get_attribute("#communes-table", "data-sort") == "people_covered:desc"

    page.locator("#communes-table th[data-key=name] button").click()  # text: A to Z
    names = page.evaluate(
        """names => names.slice().sort(new Intl.Collator('vi-VN', {numeric: true,
             sensitivity: 'base'}).compare)""",
        [a["name"] for a in communes],
    )
    assert column(page, "communes-table", "name") == names
    assert log.errors == []


def test_print_view_hides_the_controls_and_shows_a_dated_title_and_every_table(
    demo: Sealed, demo_run: DemoRun, output_dir: Path
) -> None:
    page, log = demo.open("/progress")
    assert not page.is_visible(".print-title")
    assert page.is_visible("#print") and not page.is_visible("#series-table")
    page.emulate_media(media="print")
    for selector in ("#print", "#lang-switch", "#map-link", "#export-communes", "#export-dark"):
        assert not page.is_visible(selector), selector
    assert page.is_visible(".print-title")
    assert page.inner_text(".print-title h1") == (
        "Báo cáo tiến độ xóa thôn, buôn trắng sóng, lõm sóng di động tỉnh Đắk Lắk"
    )
    assert re.fullmatch(r"Ngày in: \d{2}/\d{2}/\d{4}", page.inner_text("#print-date"))
    # The chart's data and every commune are printed, not only what the screen showed.
    assert page.is_visible("#series-table")
    assert page.locator("#series-table tbody tr:visible").count() == len(
        demo_run.summary["progress"]["snapshots"]
    )
    rows = page.locator("#communes-table tbody tr")
    assert rows.count() == demo_run.summary["areas"]["communes"]
    assert all(rows.nth(i).is_visible() for i in range(rows.count()))
    assert page.is_visible("#villages-table") and page.is_visible("#chart")
    page.screenshot(path=str(output_dir / "progress-vi-print.png"), full_page=True)
    page.emulate_media(media="screen")
    assert page.is_visible("#print") and not page.is_visible(".print-title")
    assert log.errors == []


def read_download(page: Any, selector: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.locator(selector).click()
    download = info.value
    assert download.failure() is None
    return download.suggested_filename, Path(download.path()).read_bytes()


def csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "no BOM: Excel would not read UTF-8"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_progress_exports_download_as_csv(demo: Sealed, demo_run: DemoRun) -> None:
    # The English files, checked against the API (the Vietnamese page downloads the
    # Vietnamese ones: tests/pages/test_page_dates.py, tests/areas/test_meeting_csv.py).
    page, log = demo.open("/progress?lang=en")
    name, body = read_download(page, "#export-communes")
    assert re.fullmatch(r"deadzone-progress-areas-broadband-\d{4}-\d{2}-\d{2}\.csv", name)
    rows = csv_rows(body)
    assert [r["code"] for r in rows] == ["province"] + row_keys(page, "communes-table")
    assert float(rows[0]["people_covered"]) == demo_run.summary["progress"]["people_covered"]

    name, body = read_download(page, "#export-dark")
    assert re.fullmatch(
        r"deadzone-villages-any-broadband-trang_song-lom_song-\d{4}-\d{2}-\d{2}\.csv", name
    )
    villages = csv_rows(body)
    assert sorted(r["code"] for r in villages) == sorted(row_keys(page, "villages-table"))
    assert {r["status"] for r in villages} <= {"trang_song", "lom_song"}
    assert demo.blocked == [] and log.errors == []


def test_unmeasured_villages_show_their_estimate_likeliest_dark_first(demo: Sealed) -> None:
    """The villages without enough readings: each with its estimated status (said to be
    estimated), the likeliest without signal first, and a link to its team's tasks."""
    page, log = demo.open("/progress")
    page.locator("#unknown-list li").first.wait_for(state="attached")
    radio = page.get_attribute("#scope", "data-radio")
    body = page.evaluate(
        "r => fetch('/v1/villages?status=unknown&radio=' + r).then(x => x.json())", radio
    )
    listed = {v["code"]: v for v in body["villages"]}
    items = page.locator("#unknown-list li")
    codes = [items.nth(i).get_attribute("data-village") for i in range(items.count())]
    assert sorted(codes) == sorted(listed)

    def dark(v: dict[str, Any]) -> float:
        p = v["likely_probability"]
        return {"trang_song": p, "covered": None if p is None else 1 - p}.get(
            v["likely_status"], 0.5
        )

    odds = [dark(listed[c]) for c in codes]
    assert odds == sorted(odds, reverse=True)
    estimated = [c for c in codes if listed[c]["likely_status"]]
    assert estimated, "the demo has unmeasured villages the estimate reaches"
    for i, code in enumerate(codes):
        text = items.nth(i).text_content()
        village = listed[code]
        if village["likely_status"] == "trang_song":
            share = math.floor(village["likely_probability"] * 100 + 0.5)  # Intl rounds half up
            assert f"ước tính, chưa đo: có lẽ trắng sóng ({share}%)" in text, text
        elif village["likely_status"] == "covered":
            assert "ước tính, chưa đo: có lẽ đã có sóng" in text, text
        else:
            assert "ước tính" not in text
        link = items.nth(i).locator("a")
        assert link.get_attribute("href") == f"/tasks?village={code}&radio={radio}&lang=vi"
    assert_clean(demo, log, page)


def test_texts_are_complete_in_both_languages(demo: Sealed) -> None:
    page, _ = demo.open("/progress")
    strings = page.evaluate("window.deadzonePages.strings")
    vi, en = strings["vi"], strings["en"]
    assert set(vi) == set(en)
    assert all(text.strip() for text in [*vi.values(), *en.values()])
    used: set[str] = set()
    for name in ("progress.html", "plan.html"):
        used |= set(re.findall(r'data-i18n(?:-label)?="([a-z_.]+)"', (STATIC / name).read_text()))
    for name in ("common.js", "progress.js", "plan.js"):
        used |= set(re.findall(r'"((?:[a-z_]+)\.[a-z_]+)"', (STATIC / name).read_text()))
    used |= {f"status.{s}" for s in ("trang_song", "lom_song", "covered", "unknown")}
    used |= {f"likely.{s}" for s in ("trang_song", "covered")}
    used |= {f"verdict.{s}" for s in ("reached", "on_track", "behind", "not_enough_evidence")}
    assert {k for k in used if k.split(".")[0] in {k.split(".")[0] for k in vi}} - set(vi) == set()
    # The authorities' own terms, with their diacritics.
    assert vi["province.share_label"] == "tỷ lệ dân số được phủ sóng"
    assert vi["status.trang_song"] == "Trắng sóng" and vi["status.lom_song"] == "Lõm sóng"
    assert "trắng sóng" in vi["villages.heading"] and "lõm sóng" in vi["villages.heading"]
    assert "Đắk Lắk" in vi["print.title_progress"]


def test_progress_page_says_its_scope_and_shows_weak_apart(demo: Sealed) -> None:
    # By default the goal's scope (DEADZONE_GOAL_RADIO: broadband), and it says so.
    page, log = demo.open("/progress")
    goal = demo.api("/v1/progress/areas")
    assert goal["radio"] == goal["goal"]["radio"] == "broadband"
    assert page.get_attribute("#scope", "data-radio") == "broadband"
    scope = page.inner_text("#scope")
    assert "băng rộng di động (4G, 5G)" in scope and "chỉ có sóng 3G" in scope
    assert "phạm vi của mục tiêu" in scope
    assert page.get_attribute("#scope-broadband", "aria-current") == "page"
    assert page.get_attribute("#scope-any", "aria-current") is None
    province = goal["areas"][0]
    assert page.get_attribute("#province-share", "data-value") == str(province["covered_share"])
    # Weak (1 bar) apart from covered (2 bars or more).
    weak = page.inner_text("#province-weak")
    assert fmt_int(province["people_weak"], "vi") in weak and "1 vạch" in weak
    assert fmt_int(province["people_well_covered"], "vi") in weak and "2 vạch" in weak
    assert float(page.get_attribute("#province-weak", "data-weak")) == province["people_weak"]

    # The other scope, by its link: any signal, whose share is at least broadband's.
    page.locator("#scope-any").click()
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert "radio=any" in page.url
    any_signal = demo.api("/v1/progress/areas", radio="any")["areas"][0]
    assert page.get_attribute("#scope", "data-radio") == "any"
    assert "mọi loại sóng" in page.inner_text("#scope")
    assert "Mục tiêu của tỉnh tính theo: Băng rộng" in page.inner_text("#scope")
    assert page.get_attribute("#province-share", "data-value") == str(any_signal["covered_share"])
    assert any_signal["people_covered"] >= province["people_covered"]
    assert page.get_attribute("#map-link", "href") == "/maps/progress.html?radio=any&lang=vi"
    dark = demo.api("/v1/villages", status=["trang_song", "lom_song"], radio="any")["villages"]
    assert sorted(row_keys(page, "villages-table")) == sorted(v["code"] for v in dark)
    assert_clean(demo, log, page)


# A "dd/mm" label at the chart's 12 px font is about 36 px wide: 44 px apart leaves a gap
# (progress.js keeps them TICK_PX, 48 px, apart).
LABEL_PX = 44
TICK_PIXELS = """() => {
  const x = window.deadzonePages.chart.scales.x;
  return x.ticks.map(t => [t.value, x.getPixelForValue(t.value)]);
}"""


def test_chart_dates_never_print_over_each_other(demo: Sealed) -> None:
    """Every snapshot's date on a desktop; on a phone as many as fit, 40 px apart or more,
    and always the deadline."""
    page, log = demo.open("/progress")
    deadline = day_number(demo.api("/v1/progress")["goal"]["deadline"])
    snapshots = page.evaluate(CHART_POINTS)
    wide = page.evaluate(TICK_PIXELS)
    assert [v for v, _ in wide] == sorted({*snapshots, deadline})
    page.set_viewport_size({"width": 360, "height": 740})
    for _ in range(50):  # the chart follows its box on the next frames (ResizeObserver)
        if page.evaluate("window.deadzonePages.chart.width") < 400:
            break
        page.wait_for_timeout(100)
    narrow = page.evaluate(TICK_PIXELS)
    assert deadline in [v for v, _ in narrow] and len(narrow) < len(wide)
    gaps = [b - a for (_, a), (_, b) in itertools.pairwise(narrow)]
    assert min(gaps) >= LABEL_PX, narrow
    assert_clean(demo, log, page)


@pytest.mark.parametrize("path", ["/progress", "/plan"])
def test_every_link_and_button_is_a_thumbs_target_on_a_phone(demo: Sealed, path: str) -> None:
    """44 x 44 px at least (WCAG 2.5.5) at 390 px: the home link (23 px tall), the chart's
    data toggle (32) and a village's link to its tasks (42) were under it."""
    page, log = demo.open(path)
    page.set_viewport_size({"width": 390, "height": 844})
    # Measuring lays the page out at the new width (getBoundingClientRect): no wait.
    assert page.evaluate(SMALL_TARGETS) == []
    assert_clean(demo, log, page)
