"""The URLs of /progress and /plan: what is served, with which headers, and what is not."""

from __future__ import annotations

import json
import re
from typing import Any

from domain.vocabulary import vocabulary
from service.api.routes.pages import PAGE_FILES, STATIC_DIR


def test_pages_are_served_with_a_policy_that_keeps_them_on_this_service(client: Any) -> None:
    for path, title in (
        ("/progress", "Tiến độ xóa thôn, buôn trắng sóng"),
        ("/plan", "Quy hoạch trạm"),
    ):
        answer = client.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert answer.headers["cache-control"] == "no-cache"
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy
        assert "connect-src 'self'" in policy
        assert '<html lang="vi">' in answer.text and title in answer.text


def test_every_listed_file_is_served_and_the_pages_load_nothing_from_outside(
    client: Any,
) -> None:
    for name, media_type in PAGE_FILES.items():
        answer = client.get(f"/pages/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"] == media_type
    for page in ("progress.html", "plan.html"):
        html = (STATIC_DIR / page).read_text(encoding="utf-8")
        for url in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not re.match(r"(https?:)?//", url), url
            if url.startswith("/pages/"):
                # A listed static file, or one the server makes (vocabulary.js).
                assert client.get(url).status_code == 200, url
    chart = client.get("/pages/vendor/chart.js/chart.umd.js").text
    assert chart.startswith("/*!\n * Chart.js v4.") and "sourceMappingURL" not in chart
    assert "chart.js 4." in (STATIC_DIR / "vendor" / "VERSIONS").read_text()


def test_pages_get_the_vocabulary_from_the_server(client: Any) -> None:
    """The statuses and the operator pattern reach the scripts from domain.vocabulary, the
    one definition, not from a copy in JavaScript."""
    script = client.get("/pages/vocabulary.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    prefix = "window.DEADZONE_VOCABULARY = "
    assert script.text.startswith(prefix)
    assert json.loads(script.text.removeprefix(prefix).rstrip().rstrip(";")) == vocabulary()
    assert client.get("/v1/vocabulary").json() == vocabulary()
    plan = (STATIC_DIR / "plan.js").read_text(encoding="utf-8")
    assert "DEADZONE_VOCABULARY.scope_pattern" in plan and "\\d{3}" not in plan


def test_only_listed_files_are_served(client: Any) -> None:
    for path in (
        "/pages/progress.html",
        "/pages/nothing.js",
        "/pages/vendor/VERSIONS",
        "/pages/../routes/pages.py",
        "/pages/%2e%2e/report/app.js",
        "/pages/vendor/chart.js/%2e%2e/%2e%2e/strings.js",
    ):
        assert client.get(path).status_code == 404, path


def test_landing_page_links_the_two_pages(client: Any) -> None:
    text = client.get("/").text
    assert 'href="/progress"' in text and 'href="/plan"' in text
    assert "Tiến độ xóa thôn, buôn trắng sóng, lõm sóng" in text
    assert "Quy hoạch trạm phát sóng mới" in text


def test_the_browsers_icon_request_is_answered_without_an_error(client: Any) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 204 and response.content == b""


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_opening_a_wrong_address_gets_a_page_that_says_what_was_wrong(
    client: Any,
) -> None:
    """A mistyped map parameter or path opened in a browser: a page with the same words as
    the JSON answer, in Vietnamese (English with lang=en), never raw JSON; scripts and /v1
    keep JSON."""
    bad = "/maps/deadzones.html"
    page = client.get(bad, params={"sites": 500, "lang": "en"}, headers=BROWSER)
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "This page could not be opened" in page.text and "sites" in page.text
    missing = client.get("/maps/nothing.html", headers=BROWSER)
    assert missing.status_code == 404 and "Không mở được trang này" in missing.text
    # The framework's reason phrase in Vietnamese too; in English as it is.
    assert "Không có trang nào ở địa chỉ này." in missing.text and "Not Found" not in missing.text
    english = client.get("/maps/nothing.html", params={"lang": "en"}, headers=BROWSER)
    assert "Not Found" in english.text
    # An unknown parameter's name is said on the page: as text.
    hostile = client.get("/maps/deadzones.html?<b>x</b>=1", headers=BROWSER)
    assert hostile.status_code == 422 and "&lt;b&gt;x&lt;/b&gt;" in hostile.text
    assert "<b>x</b>" not in hostile.text
    operator = client.get("/maps/coverage.html", params={"operator": "45204"}, headers=BROWSER)
    assert operator.status_code == 422 and "MCC-MNC such as 452-04" in operator.text
    script = client.get(bad, params={"sites": 500})
    assert script.status_code == 422 and script.json()["errors"][0]["field"] == "sites"
    api = client.get("/v1/cells", params={"bbox": "x"}, headers=BROWSER)
    assert api.status_code == 422 and api.headers["content-type"] == "application/json"
    for path in ("/v2/geosubmit", "/maps/coverage.html"):  # a client's POST: JSON
        posted = client.post(path, content=b"{", headers=BROWSER)
        assert posted.headers["content-type"] == "application/json", path
