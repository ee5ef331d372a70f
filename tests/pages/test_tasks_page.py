"""/tasks in real Chromium, cut off from every network but the app's: a village team's list
in Vietnamese first, English on request, a map without tiles, a QR code per village, and
hostile village names shown as text."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

import h3
import orjson
import segno

from tests.pages.conftest import HOSTILE_COMMUNE, HOSTILE_VILLAGE, NEAR, SMALL_TARGETS, Sealed


def test_tasks_page_lists_the_unmeasured_village_with_its_qr_code(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    sealed = seal(live_server)
    page, log = sealed.open("/tasks")
    api = sealed.api("/v1/tasks")
    assert api["features"], "the never-measured village V2 must be a task"
    assert page.title().startswith("Cần đo thêm")
    assert page.locator("html").get_attribute("lang") == "vi"
    cards = page.locator("article.village")
    names = cards.locator("h2").all_text_contents()
    # Named with its commune (a province holds many a "Thôn 1"), both as text.
    assert f"Buôn Đôn · {HOSTILE_COMMUNE}" in names
    # Every task of the API is on the page, once.
    assert page.locator("ol.tasks li").count() == len(api["features"])
    listed = page.locator("ol.tasks li").evaluate_all("(n) => n.map((e) => e.dataset.h3)")
    assert sorted(listed) == sorted(f["properties"]["h3"] for f in api["features"])
    # The QR code is drawn by the server, offline, and shown; the link opens the village.
    # The image is fetched after the card is drawn: wait for it to arrive (a broken image is
    # complete with no width, so this times out rather than passes), not only for the element.
    qr = cards.first.locator("img")
    qr.wait_for()
    page.wait_for_function(
        "() => { const i = document.querySelector('article.village img');"
        " return i !== null && i.complete && i.naturalWidth > 0; }",
        timeout=10_000,
    )
    link = cards.first.locator(".share a").get_attribute("href")
    assert link is not None and link.startswith(live_server + "/tasks?village=")
    # Each task's value as a share of the list's highest, explained once above the list.
    shares = [
        int(text.rsplit("ưu tiên ", 1)[1].removesuffix("%"))  # never split from its number
        for text in page.locator("ol.tasks li .priority").all_text_contents()
    ]
    assert max(shares) == 100 and all(0 <= share <= 100 for share in shares), shares
    assert page.locator("#priority-note").text_content().startswith("Ưu tiên: lần đo ở đây")
    page.wait_for_selector("body[data-map-ready=true]", state="attached")
    assert page.locator("path.leaflet-interactive").count() == len(api["features"])
    # One numbering over the page, on the list and the map alike (every village's list
    # started at 1, so a province's map showed a dozen places numbered 1).
    labels = page.locator(".marker-label").all_text_contents()
    assert labels == [str(n) for n in range(1, len(api["features"]) + 1)]
    starts = page.locator("ol.tasks").evaluate_all("(n) => n.map((e) => e.start)")
    sizes = page.locator("ol.tasks").evaluate_all("(n) => n.map((e) => e.children.length)")
    assert starts == [1 + sum(sizes[:i]) for i in range(len(sizes))]
    assert not sealed.blocked and not sealed.dialogs
    assert not log.errors, log.errors
    assert HOSTILE_VILLAGE not in page.content() or page.evaluate("() => !window.__pwned")

    english, _ = sealed.open("/tasks?lang=en&village=V2")
    assert english.title().startswith("Where to measure next")
    assert english.locator("html").get_attribute("lang") == "en"
    assert english.locator("article.village h2").all_text_contents() == [
        f"Buôn Đôn · {HOSTILE_COMMUNE}"
    ]
    assert english.locator("ol.tasks li .priority").first.text_content().endswith("priority 100%")


def test_qr_code_is_svg_and_unknown_village_is_404(hostile_province: None, client: Any) -> None:
    response = client.get("/tasks/qr.svg", params={"village": "V2"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.text.lstrip().startswith("<svg")
    missing = client.get("/tasks/qr.svg", params={"village": "NOPE"})
    assert missing.status_code == 404 and "NOPE" in missing.text


def test_tasks_page_says_its_scope_and_switches_to_broadband(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    sealed = seal(live_server)
    page, log = sealed.open("/tasks")
    assert page.get_attribute("#scope", "data-radio") == "any"
    assert page.get_attribute("#scope-any", "aria-current") == "page"
    page.locator("#scope-broadband").click()
    page.wait_for_url("**/tasks?radio=broadband")
    page.wait_for_selector("body[data-ready=true]", state="attached")
    assert page.get_attribute("#scope", "data-radio") == "broadband"
    assert "băng rộng di động (4G, 5G)" in page.inner_text("#scope")
    api = sealed.api("/v1/tasks", radio="broadband")
    assert api["radio"] == "broadband"
    listed = page.locator("ol.tasks li").evaluate_all("(n) => n.map((e) => e.dataset.h3)")
    assert sorted(listed) == sorted(f["properties"]["h3"] for f in api["features"])
    assert not sealed.blocked and not log.errors, log.errors


def test_a_link_to_an_unknown_village_says_the_link_is_wrong_not_the_network(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    """A stale or mistyped shared link (/v1/tasks answers 404): the team is told the link
    matches no village and given the province's list, not told to retry a weak network."""
    sealed = seal(live_server)
    for path, text in (
        ("/tasks?village=99999-999", "Đường dẫn này không khớp"),
        ("/tasks?lang=en&commune=nowhere", "This link matches no village"),
    ):
        page, _ = sealed.open(path)
        page.wait_for_selector("body[data-ready=true]", state="attached")
        status = page.inner_text("#status")
        assert text in status, status
        assert "mạng yếu" not in status and "weak network" not in status
        all_tasks = page.get_attribute("#all-tasks", "href")
        assert all_tasks == ("/tasks?lang=en" if "lang=en" in path else "/tasks")
    assert not sealed.blocked and not sealed.dialogs


def test_qr_code_opens_the_list_in_the_scope_it_was_shared_from(
    hostile_province: None, client: Any
) -> None:
    """The code of a broadband list for Viettel opens that list, not the default one."""

    def svg(url: str) -> bytes:
        buffer = io.BytesIO()
        segno.make(url, error="m").save(buffer, kind="svg", scale=4, xmldecl=False)
        return buffer.getvalue()

    params = {"village": "V2", "operator": "452-04", "radio": "broadband", "lang": "en"}
    scoped = client.get("/tasks/qr.svg", params=params)
    assert scoped.status_code == 200
    base = str(client.base_url)
    wanted = f"{base}/tasks?village=V2&operator=452-04&radio=broadband&lang=en"
    assert scoped.content == svg(wanted)
    plain = client.get("/tasks/qr.svg", params={"village": "V2"})
    assert plain.content == svg(f"{base}/tasks?village=V2")
    assert client.get("/tasks/qr.svg", params={"village": "V2", "radio": "5g"}).status_code == 422


def test_shared_link_and_qr_code_keep_the_lists_scope(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    """A team looking at the broadband list shares a link (and a code) to the broadband
    list of its village: opened, it shows the tasks /v1/tasks gives for that scope."""
    sealed = seal(live_server)
    page, log = sealed.open("/tasks?radio=broadband&lang=en")
    card = page.locator("article.village", has_text="Buôn Đôn")
    link = card.locator(".share a").get_attribute("href")
    assert link == live_server + "/tasks?village=V2&radio=broadband&lang=en"
    assert card.locator("img").get_attribute("src") == (
        "/tasks/qr.svg?village=V2&radio=broadband&lang=en"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('article.village img')]"
        ".every((i) => i.complete && i.naturalWidth > 0)",
        timeout=10_000,
    )
    shared, shared_log = sealed.open(link.removeprefix(live_server))
    assert shared.get_attribute("#scope", "data-radio") == "broadband"
    api = sealed.api("/v1/tasks", village="V2", radio="broadband")
    listed = shared.locator("ol.tasks li").evaluate_all("(n) => n.map((e) => e.dataset.h3)")
    assert listed and sorted(listed) == sorted(f["properties"]["h3"] for f in api["features"])
    assert not sealed.blocked and not sealed.dialogs
    assert not log.errors and not shared_log.errors, (log.errors, shared_log.errors)


def _one_village_list(people: float) -> dict[str, Any]:
    """A /v1/tasks answer of two tasks in one village (what the page draws, made up)."""
    cells = [NEAR, h3.grid_ring(NEAR, 1)[0]]
    features = []
    for rank, (cell, value) in enumerate(zip(cells, (2000.0, 500.0), strict=True), start=1):
        lat, lon = h3.cell_to_latlng(cell)
        features.append({
            "type": "Feature", "id": cell, "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"h3": cell, "rank": rank, "reason": "unmeasured", "people": people,
                           "operators": ["452-04"], "value": value},
        })  # fmt: skip
    village = {"code": "V2", "name": "Buôn Đôn", "tasks": cells, "value": 2500.0}
    return {"type": "FeatureCollection", "operator": "any", "radio": "any",
            "features": features, "villages": [village]}  # fmt: skip


def test_tasks_page_writes_numbers_the_vietnamese_way(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    """1234 people read "1.234 người" (as on /progress), "1,234 people" in English, and a
    share keeps its "%" on the same line as its number (no space, as /progress
    writes 95,1%)."""
    sealed = seal(live_server)
    body = orjson.dumps(_one_village_list(1234.4))
    sealed.context.route(
        re.compile(r".*/v1/tasks\?.*"),
        lambda route: route.fulfill(body=body, content_type="application/geo+json"),
    )
    for path, people, share in (
        ("/tasks", "1.234 người", "ưu tiên 25%"),
        ("/tasks?lang=en", "1,234 people", "priority 25%"),
    ):
        page, log = sealed.open(path)
        items = page.locator("ol.tasks li").all_text_contents()
        assert len(items) == 2 and people in items[0], items
        assert items[1].endswith(share), items
        assert "(100%)" in page.inner_text("#priority-note")
        assert not log.errors, log.errors
    assert not sealed.blocked and not sealed.dialogs


def test_the_map_shows_only_when_there_is_something_to_draw(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    """A wrong link or an empty list leaves no empty grey map box on the phone."""
    sealed = seal(live_server)
    page, _ = sealed.open("/tasks?village=99999-999")
    assert not page.locator("#map").is_visible()
    assert not page.locator("#map-note").is_visible()
    empty = orjson.dumps({**_one_village_list(1.0), "features": [], "villages": []})
    api = re.compile(r".*/v1/tasks\?.*")
    sealed.context.route(
        api, lambda route: route.fulfill(body=empty, content_type="application/geo+json")
    )
    page, _ = sealed.open("/tasks?village=V2")
    assert "Hiện không có nơi nào cần đo thêm" in page.inner_text("#status")
    assert not page.locator("#map").is_visible()
    sealed.context.unroute(api)
    page, log = sealed.open("/tasks")
    page.wait_for_selector("body[data-map-ready=true]", state="attached")
    assert page.locator("#map").is_visible() and page.locator("#map-note").is_visible()
    assert not log.errors and not sealed.blocked and not sealed.dialogs


def test_a_teams_list_opens_again_without_a_connection(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    """A team opens its village's list where there is signal and walks to places with none:
    the page and that list open again offline, saying they are the copy kept on the phone
    (the browser showed ERR_INTERNET_DISCONNECTED). A list never opened says it cannot
    load, in the page's words."""
    sealed = seal(live_server)
    page, log = sealed.open("/tasks?village=V2")
    # The page's CSP forbids eval, which wait_for_function needs: ask the page instead.
    registered = page.evaluate(
        "Promise.race([navigator.serviceWorker.ready.then(() => true),"
        " new Promise((done) => setTimeout(() => done(false), 10000))])"
    )
    assert registered, "the page registered no service worker"
    for _ in range(50):
        if page.evaluate("navigator.serviceWorker.controller !== null"):
            break
        page.wait_for_timeout(100)
    page.reload()  # the list fetched again under the worker, which keeps its copy
    page.wait_for_selector("body[data-ready=true]", state="attached")
    items = page.locator("ol.tasks li").all_text_contents()
    assert items and page.locator("#offline-copy").count() == 0
    sealed.context.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector("body[data-ready=true]", state="attached")
        assert page.locator("ol.tasks li").all_text_contents() == items
        assert page.inner_text("#offline-copy").startswith("Không có mạng: đây là danh sách")
        page.goto(live_server + "/tasks")
        page.wait_for_selector("body[data-ready=true]", state="attached")
        assert page.inner_text("#status").startswith("Không tải được danh sách")
    finally:
        sealed.context.set_offline(False)
    assert not log.errors, log.errors


def test_a_phone_held_while_walking_can_hit_every_link_and_button(
    hostile_province: None, live_server: str, seal: Callable[..., Sealed]
) -> None:
    """44 x 44 px at least (WCAG 2.5.5) on a 390 px phone: the language switch, the scope
    links, the share links and the map's zoom buttons were 16 to 38 px tall."""
    sealed = seal(live_server)
    page, log = sealed.open("/tasks")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_selector("body[data-map-ready=true]", state="attached")
    assert page.evaluate(SMALL_TARGETS) == []
    assert not log.errors, log.errors
