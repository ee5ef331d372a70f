"""The pages on their own small databases, on SQLite and on PostGIS: names that are markup
or formulas are shown as text and exported defused, and an empty database says which
command to run."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import (
    FORMULA_COMMUNE,
    FORMULA_VILLAGE,
    HOSTILE_COMMUNE,
    HOSTILE_VILLAGE,
    Sealed,
)
from .test_progress_page import assert_clean, column, read_download, row_keys

pytestmark = pytest.mark.browser


def no_markup_from_data(page: Any) -> None:
    """Nothing of the hostile names became an element or ran."""
    assert page.locator("main img, main script, main b").count() == 0
    assert page.evaluate("window.__pwned") is None


def test_hostile_names_render_as_text_on_both_pages(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    sealed = seal(live_server)
    page, log = sealed.open("/progress")

    assert row_keys(page, "communes-table") == ["H1", "H2"]  # 900 people to cover, then 50
    assert column(page, "communes-table", "name") == [HOSTILE_COMMUNE, FORMULA_COMMUNE]
    assert row_keys(page, "villages-table") == ["V1", "V3"]  # trắng sóng, then lõm sóng
    assert column(page, "villages-table", "name") == [HOSTILE_VILLAGE, FORMULA_VILLAGE]
    assert column(page, "villages-table", "commune") == [HOSTILE_COMMUNE, FORMULA_COMMUNE]
    assert page.get_attribute("#unknown-count", "data-count") == "1"
    page.locator("#unknown-details summary").click()
    assert page.inner_text("#unknown-list").startswith("Buôn Đôn")
    assert page.inner_text("#province-share") == "26,9%"  # 350 of 1.300 people
    assert page.get_attribute("#chart", "data-points") == "2"
    no_markup_from_data(page)

    # The Vietnamese page downloads the Vietnamese file (semicolons): as safe.
    name, body = read_download(page, "#export-dark")
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    rows = {r["Mã"]: r for r in csv.DictReader(io.StringIO(text, newline=""), delimiter=";")}
    assert rows["V3"]["Tên"] == "'" + FORMULA_VILLAGE  # a spreadsheet shows it as text
    assert rows["V3"]["Xã"] == "'" + FORMULA_COMMUNE
    assert rows["V1"]["Tên"] == HOSTILE_VILLAGE
    assert_clean(sealed, log, page)

    page, log = sealed.open("/plan?lang=en")
    assert row_keys(page, "zones-table") == ["dz-any-hostile"]
    assert column(page, "zones-table", "villages") == [f"{HOSTILE_VILLAGE} ({HOSTILE_COMMUNE})"]
    assert column(page, "zones-table", "population") == ["800"]
    [villages] = column(page, "sites-table", "villages")
    assert HOSTILE_VILLAGE in villages
    no_markup_from_data(page)
    assert_clean(sealed, log, page)


def test_empty_database_says_which_command_to_run(
    live_server: str, seal: Callable[..., Sealed]
) -> None:
    sealed = seal(live_server)
    page, log = sealed.open("/progress")
    notices = page.inner_text("#notices")
    assert "deadzone import-areas communes.geojson" in notices
    assert "deadzone aggregate" in notices
    assert "Chưa nhập xã, thôn, buôn nào" in notices
    assert "deadzone snapshot" in page.inner_text("#chart-empty")
    assert not page.is_visible("#chart") and not page.is_visible("#province")
    assert not page.is_visible("#communes-table")
    assert_clean(sealed, log, page)

    page, log = sealed.open("/plan")
    assert page.is_visible("#zones-none") and page.is_visible("#sites-none")
    assert "deadzone aggregate" in page.inner_text("#notices")
    assert page.inner_text("#zones-count") == "0 trên tổng số 0 vùng mất sóng."
    assert_clean(sealed, log, page)


def test_a_failing_api_is_reported_on_the_page(
    live_server: str, seal: Callable[..., Sealed]
) -> None:
    sealed = seal(live_server)
    sealed.context.route("**/v1/progress/areas", lambda route: route.fulfill(status=503, body="{}"))
    page, log = sealed.open("/progress?lang=en")
    assert "Could not load the data from the server (HTTP 503" in page.inner_text("#status")
    assert page.is_visible("#status.error")
    assert sealed.blocked == [] and page.evaluate("window.__pwned") is None
    assert log.errors == []  # the failed request aside (PageLog leaves those out)
