"""``/docs`` renders the API's operations from this service alone, the landing page links
every page and map, and pages go out gzip-compressed to clients that ask."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api.routes.docs import DOCS_FILES
from service.settings import Settings
from tests.conftest import TEST_SECRET
from tests.report.conftest import LiveServer


@pytest.fixture
def sqlite_server(tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """The app on a fresh SQLite database: the docs and the landing page read no data."""
    path = tmp_path / "deadzone.sqlite"
    shutil.copyfile(sqlite_template, path)
    settings = Settings(
        database_url=f"sqlite:///{path}", device_secret=TEST_SECRET, aggregate_interval_s=0
    )
    with LiveServer(settings) as server:
        yield server.url


@pytest.mark.browser
def test_docs_render_every_operation_with_the_network_cut(browser: Any, sqlite_server: str) -> None:
    context = browser.new_context()
    blocked: list[str] = []

    def only_the_app(route: Any) -> None:
        if route.request.url.startswith(sqlite_server + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_app)
    try:
        page = context.new_page()
        page.goto(sqlite_server + "/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        shown = [
            (block.get_attribute("data-path"), method.inner_text().lower())
            for block, method in zip(
                page.query_selector_all(".opblock-summary-path"),
                page.query_selector_all(".opblock-summary-method"),
                strict=True,
            )
        ]
        schema = httpx.get(sqlite_server + "/openapi.json").json()
        documented = [(path, method) for path, item in schema["paths"].items() for method in item]
        assert sorted(shown) == sorted(documented)
        assert ("/v1/readings", "post") in shown and ("/v1/cells", "get") in shown
        assert blocked == [], f"/docs tried to reach outside the service: {blocked}"
    finally:
        context.close()


def test_docs_page_loads_its_assets_from_this_service(client: Any) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text and "https://" not in page.text
    for name, media_type in DOCS_FILES.items():
        assert f"/docs/assets/{name}" in page.text
        answer = client.get(f"/docs/assets/{name}")
        assert answer.status_code == 200, name
        assert answer.headers["content-type"] == media_type
    for path in ("/docs/assets/index.html", "/docs/assets/../core.py", "/docs/assets/LICENSE"):
        assert client.get(path).status_code == 404, path


def test_redoc_leads_to_the_offline_docs(client: Any) -> None:
    answer = client.get("/redoc", follow_redirects=False)
    assert answer.status_code == 307 and answer.headers["location"] == "/docs"


def test_landing_page_links_every_page_and_map(client: Any) -> None:
    text = client.get("/").text
    for path in (
        "/report",
        "/tasks",
        "/progress",
        "/plan",
        "/maps/coverage.html",
        "/maps/deadzones.html",
        "/maps/progress.html",
        "/docs",
    ):
        assert f'href="{path}"' in text, path
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("path", ["/report", "/report/app.js", "/docs/assets/swagger-ui-bundle.js"])
def test_pages_are_gzipped_when_asked(client: Any, path: str) -> None:
    zipped = client.get(path, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("content-encoding") == "gzip", path
    assert zipped.num_bytes_downloaded < len(zipped.content) / 2  # httpx decodes it
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert plain.content == zipped.content
