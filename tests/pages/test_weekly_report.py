"""The weekly report in real Chromium: the commitments per operator and the changes since
last week on /progress, printed on A4 with the date and the province's name; the planner's
buttons on /plan mark a commitment planned or on air."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import h3
import pytest
from sqlalchemy.orm import Session, sessionmaker

from domain.localtime import format_day, vietnam_date
from service.areas.commitments import create_commitment
from service.areas.progress import take_snapshot
from service.settings import Settings
from service.store.database import session_scope
from service.timestamps import utcnow
from tests.areas.conftest import put_statuses
from tests.closing.conftest import AUTHORITY
from tests.pages.conftest import FAR, FORMULA_VILLAGE, Sealed

pytestmark = pytest.mark.browser


@pytest.fixture
def this_week(hostile_province: None, settings: Settings, sessions: sessionmaker[Session]) -> int:
    """Eight days ago V3 was lõm sóng; now its centre is dead (trắng sóng). The authority
    assigned the hostile zone to Viettel."""
    now = utcnow()
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=now - timedelta(days=8))
    put_statuses(sessions, {FAR: "dead"})
    with session_scope(sessions) as session:
        made = create_commitment(
            session, settings, actor=AUTHORITY, operator="452-04", zone_id="dz-any-hostile",
            due=now.date() + timedelta(days=30), now=now,
        )  # fmt: skip
        return made.id


def test_weekly_report_prints_on_a4_with_date_and_province(
    this_week: int, live_server: str, seal: Callable[..., Sealed], output_dir: Path
) -> None:
    sealed = seal(live_server)
    before = format_day(vietnam_date(utcnow()), lang="vi")  # the page's day, read around it
    page, log = sealed.open("/progress")
    page.wait_for_selector("body[data-weekly-ready=true]", state="attached")
    viettel = page.locator('#operators-table tr[data-key="452-04"]')
    assert viettel.locator('[data-col="operator"]').inner_text() == "452-04 Viettel"
    assert viettel.locator('[data-col="assigned"]').inner_text() == "1"
    assert viettel.locator('[data-col="overdue"]').inner_text() == "0"
    v3 = page.locator('#weekly-villages tr[data-key="V3"]')
    assert v3.locator('[data-col="name"]').inner_text() == FORMULA_VILLAGE  # text, not a formula
    assert v3.locator('[data-col="before"]').inner_text() == "Lõm sóng"
    assert v3.locator('[data-col="now"]').inner_text() == "Trắng sóng"
    since = page.inner_text("#weekly-since")
    assert re.fullmatch(r"So với số liệu ngày \d{2}/\d{2}/\d{4}\.", since)
    communes = page.locator("#weekly-communes tbody tr")
    assert communes.count() == 3  # the province and both communes

    assert not page.is_visible("#print-weekly")
    page.emulate_media(media="print")
    assert page.is_visible("#operators-table") and page.is_visible("#weekly-villages")
    assert page.is_visible("#weekly-communes")
    # Vietnam's day (domain.localtime), whatever the machine's or the browser's zone: the day
    # before the page opened or the day after it was drawn (a run across 17:00 UTC sees both).
    after = format_day(vietnam_date(utcnow()), lang="vi")
    title = page.inner_text("#print-weekly")
    assert "tỉnh Đắk Lắk" in title and re.search(r"\d{2}/\d{2}/\d{4}", title), title
    assert title.split("ngày ")[-1] in {before, after}
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (output_dir / "progress-weekly.pdf").write_bytes(pdf)
    boxes = {
        tuple(round(float(v)) for v in m.groups())
        for m in re.finditer(rb"/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]", pdf)
    }
    assert boxes == {(842, 595)}, boxes  # A4 landscape in points (297 x 210 mm)
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type/Page") >= 1
    page.screenshot(path=str(output_dir / "progress-weekly-print.png"), full_page=True)
    assert log.errors == [] and sealed.blocked == []


def test_planner_marks_a_commitment_planned_then_on_air(
    this_week: int, live_server: str, seal: Callable[..., Sealed]
) -> None:
    sealed = seal(live_server)
    page, log = sealed.open("/plan?operator=452-04")
    page.wait_for_selector("body[data-commitments-ready=true]", state="attached")
    row = page.locator(f'#commitments-table tr[data-key="{this_week}"]')
    assert row.locator('[data-col="state"]').inner_text() == "Được giao"
    row.locator('[data-action="planned"]').click()
    page.wait_for_selector(f'#commitments-table tr[data-key="{this_week}"] [data-col="state"]'
                           ':text("Đã lên kế hoạch")')  # fmt: skip
    row.locator('[data-action="on_air"]').click()
    page.wait_for_selector(f'#commitments-table tr[data-key="{this_week}"] [data-col="state"]'
                           ':text("Đã phát sóng")')  # fmt: skip
    assert row.locator('[data-col="verification"]').inner_text() == "Đang chờ số đo"
    body = sealed.api(f"/v1/commitments/{this_week}")
    assert [(e["action"], e["what"].get("state")) for e in body["audit"]] == [
        ("created", "assigned"), ("updated", ["assigned", "planned"]),
        ("updated", ["planned", "on_air"]),
    ]  # fmt: skip
    assert body["on_air_at"] is not None and h3.is_valid_cell(body["centre"])
    assert log.errors == [] and sealed.blocked == []
