"""Dates on the Vietnamese pages (issue 18): dd/mm/yyyy and Vietnam's clock on /progress
and /plan, whatever the reader's browser is set to (here an American English one, eight
hours behind UTC: ISO or month-first dates, or yesterday's day, would show), and the CSV
links ask for the file in the page's language. Real Chromium, network cut at the app."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from urllib.parse import parse_qs, urlparse

import pytest

from domain.localtime import VIETNAM_TZ, format_day, vietnam_date
from tests.conftest import DemoRun

from .conftest import Sealed

pytestmark = pytest.mark.browser

ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
DAY = re.compile(r"^\d{2}/\d{2}/\d{4}$")


@pytest.fixture
def abroad(seal: Callable[..., Sealed], demo_server: str) -> Sealed:
    return seal(demo_server, locale="en-US", timezone="America/Los_Angeles")


def vietnam_time(iso: str) -> str:
    """An instant as the Vietnamese pages write it: HH:MM dd/mm/yyyy, Vietnam's clock."""
    moment = datetime.fromisoformat(iso).astimezone(VIETNAM_TZ)
    return moment.strftime("%H:%M %d/%m/%Y")


def lang_of(href: str) -> list[str]:
    return parse_qs(urlparse(href).query).get("lang", [])


def test_progress_dates_are_vietnamese_on_any_browser(abroad: Sealed, demo_run: DemoRun) -> None:
    page, log = abroad.open("/progress")
    table = abroad.api("/v1/progress/areas")
    assert table["aggregated_at"]
    assert vietnam_time(table["aggregated_at"]) in page.inner_text("#as-of")
    today = format_day(vietnam_date(datetime.now(VIETNAM_TZ)), lang="vi")
    assert page.inner_text("#print-date").endswith(today)
    deadline = date.fromisoformat(table["goal"]["deadline"])  # this year's, not a fixed one
    assert (deadline.month, deadline.day) == (12, 31)  # the default: the end of the year
    assert format_day(deadline, lang="vi") in page.inner_text("#province-goal")
    days = [c.strip() for c in page.locator("#series-table td[data-col=day]").all_text_contents()]
    snapshots = demo_run.summary["progress"]["snapshots"]
    assert days and all(DAY.match(d) for d in days), days
    assert set(days) == {format_day(datetime.fromisoformat(s["day"]), lang="vi") for s in snapshots}
    assert not ISO_DAY.search(page.inner_text("main"))
    # The downloads are the Vietnamese files (service/publish/sheets.py).
    for link in ("#export-communes", "#export-dark", "#export-unknown"):
        assert lang_of(page.get_attribute(link, "href")) == ["vi"], link
    assert log.errors == [] and abroad.blocked == []

    english, _ = abroad.open("/progress?lang=en")
    assert lang_of(english.get_attribute("#export-communes", "href")) == ["en"]


def test_plan_dates_are_vietnamese_on_any_browser(abroad: Sealed) -> None:
    page, log = abroad.open("/plan")
    zones = abroad.api("/v1/deadzones", operator="any")["zones"]
    cells = page.locator("#zones-table td[data-col=last_seen]")
    seen = [c.strip() for c in cells.all_inner_texts()]
    assert seen and all(DAY.match(d) for d in seen), seen
    expected = {z["id"]: format_day(vietnam_date(datetime.fromisoformat(z["last_seen"])), lang="vi")
                for z in zones if z["last_seen"]}  # fmt: skip
    keys = page.eval_on_selector_all(
        "#zones-table tbody tr", "rows => rows.map(r => r.getAttribute('data-key'))"
    )
    assert [expected[k] for k in keys if k in expected] == seen[: len(expected)]
    assert not ISO_DAY.search(page.inner_text("main"))
    for link in ("#download-zones-csv", "#download-sites-csv"):
        assert lang_of(page.get_attribute(link, "href")) == ["vi"], link
    assert log.errors == [] and abroad.blocked == []

    # In English too the days are Vietnam's, as on the maps and in the files beside them
    # (a zone seen at 23:47 UTC on the 13th was "13 Nov" here and 2026-11-14 on the map).
    english, log = abroad.open("/plan?lang=en")
    cells = english.locator("#zones-table td[data-col=last_seen]")
    shown = [c.strip() for c in cells.all_inner_texts()]
    keys = english.eval_on_selector_all(
        "#zones-table tbody tr", "rows => rows.map(r => r.getAttribute('data-key'))"
    )
    days = {z["id"]: vietnam_date(datetime.fromisoformat(z["last_seen"]))
            for z in zones if z["last_seen"]}  # fmt: skip
    expected = [f"{days[k].day} {days[k]:%b %Y}" for k in keys if k in days]
    assert shown and expected == shown[: len(days)]
    assert log.errors == []
