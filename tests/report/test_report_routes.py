"""The reporter page's URLs: what is served, with which headers, and what is not."""

from __future__ import annotations

from typing import Any

from service.api.routes.report import LEAFLET_FILES, SHELL_FILES


def test_landing_page_links_to_the_reporter_and_the_api_docs(client: Any) -> None:
    answer = client.get("/")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert 'href="/report"' in answer.text and 'href="/docs"' in answer.text
    assert "Báo sóng điện thoại" in answer.text and "Report mobile signal" in answer.text


def test_reporter_page_and_every_shell_file_are_served(client: Any) -> None:
    page = client.get("/report")
    assert page.status_code == 200
    assert 'lang="vi"' in page.text
    assert page.headers["cache-control"] == "no-cache"
    for name, media_type in SHELL_FILES.items():
        answer = client.get(f"/report/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"] == media_type
    for name in LEAFLET_FILES:
        assert client.get(f"/report/leaflet/{name}").status_code == 200, name


def test_service_worker_may_control_the_page_url_and_names_its_shell_version(
    client: Any,
) -> None:
    answer = client.get("/report/sw.js")
    assert answer.status_code == 200
    assert answer.headers["service-worker-allowed"] == "/report"
    assert answer.headers["content-type"].startswith("text/javascript")
    assert "__SHELL_VERSION__" not in answer.text
    assert 'var CACHE = "deadzone-report-' in answer.text


def test_only_listed_files_are_served(client: Any) -> None:
    for path in (
        "/report/index.html",
        "/report/nothing.js",
        "/report/leaflet/LICENSE",
        "/report/leaflet/../../assets.py",
        "/report/leaflet/%2e%2e/VERSIONS",
        "/report/..%2flanding.html",
    ):
        assert client.get(path).status_code == 404, path
