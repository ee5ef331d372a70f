"""The maps on a phone (390 x 844 px, as village teams hold them) and on a desktop, in a real
headless Chromium: what covers what is read from the boxes the browser laid out."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from shapely.affinity import translate
from shapely.geometry import box

from maps import (
    AreaOutline,
    CommuneProgress,
    MapMeta,
    VillageMark,
    ZoneRecord,
    coverage_map,
    deadzone_map,
    progress_map,
    write_map_html,
)

from .conftest import MAP_JS, READY, PageLog

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
LAPTOP = {"width": 1366, "height": 768}  # the commonest laptop screen in offices

Box = tuple[float, float, float, float]  # left, top, right, bottom in CSS pixels


def _open(page: object, url: str, viewport: dict[str, int]) -> None:
    page.set_viewport_size(viewport)  # type: ignore[attr-defined]
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_function(READY, timeout=20_000)  # type: ignore[attr-defined]


def _box(page: object, selector: str) -> Box:
    found = page.locator(selector).bounding_box()  # type: ignore[attr-defined]
    assert found is not None, f"{selector} is not shown"
    x, y, w, h = found["x"], found["y"], found["width"], found["height"]
    return (x, y, x + w, y + h)


def _overlap(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def _share_of_viewport(area: Box, viewport: dict[str, int]) -> float:
    return (area[2] - area[0]) * (area[3] - area[1]) / (viewport["width"] * viewport["height"])


def _on_top_at_centre(page: object, selector: str) -> bool:
    """Whether the element the browser would hit at the centre of ``selector`` belongs to it."""
    return bool(
        page.evaluate(  # type: ignore[attr-defined]
            """selector => {
                const el = document.querySelector(selector), r = el.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                return el.contains(hit);
            }""",
            selector,
        )
    )


def _progress(meta: MapMeta) -> object:
    communes = [
        CommuneProgress("C1", "Xã Ea Tu", box(108.0, 12.6, 108.05, 12.65), 1000, 200, 0.2),
        CommuneProgress("C2", "Xã Hòa Thuận", box(108.05, 12.6, 108.1, 12.65), 500, 490, 0.98),
    ]
    villages = [
        VillageMark("V1", "Buôn Đôn", "C1", 300, 12.62, 108.02, "trang_song", "dead", 120, 3, 7),
        VillageMark("V2", "Buôn Ja", "C2", 150, 12.61, 108.08, "covered", "covered", 0, 0, 7),
    ]
    return progress_map(communes, villages, meta=meta, goal_share=0.95)


@pytest.fixture
def maps_written(
    tmp_path: Path,
    cells: pd.DataFrame,
    zones: list[ZoneRecord],
    areas: list[AreaOutline],
    meta: MapMeta,
) -> dict[str, Path]:
    """The three maps with long-ish titles, as the service names them."""
    titled = {
        "coverage": "deadzone: Vùng phủ sóng di động (băng rộng di động 4G, 5G)",
        "deadzones": "deadzone: Vùng mất sóng: tất cả nhà mạng",
        "progress": "deadzone: Tiến độ phủ sóng theo xã, thôn (mọi loại sóng)",
    }
    metas = {k: MapMeta(t, meta.data_date, "vi", meta.operator_names) for k, t in titled.items()}
    return {
        "coverage": write_map_html(
            coverage_map(cells, meta=metas["coverage"], areas=areas), tmp_path / "coverage.html"
        ),
        "deadzones": write_map_html(
            deadzone_map(zones, meta=metas["deadzones"], areas=areas), tmp_path / "zones.html"
        ),
        "progress": write_map_html(_progress(metas["progress"]), tmp_path / "progress.html"),
    }


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP, LAPTOP], ids=["phone", "desktop", "laptop"])
@pytest.mark.parametrize("kind", ["coverage", "progress"])
def test_title_leaves_the_layer_control_reachable(
    sealed_page: tuple[object, PageLog],
    maps_written: dict[str, Path],
    kind: str,
    viewport: dict[str, int],
    output_dir: Path,
) -> None:
    page, log = sealed_page
    _open(page, maps_written[kind].as_uri(), viewport)
    title, layers = _box(page, ".dz-title"), _box(page, ".leaflet-control-layers")
    assert _overlap(title, layers) == 0, (title, layers)
    for control in (".leaflet-control-layers", ".leaflet-control-zoom", ".dz-title"):
        assert _on_top_at_centre(page, control), control
        left, top, right, bottom = _box(page, control)
        assert left >= 0 and top >= 0 and right <= viewport["width"], (control, left, right)
    # A real tap on the second layer's label reaches it (Playwright refuses to click an
    # element another one covers).
    switch = page.locator(".leaflet-control-layers-list label").nth(1)  # type: ignore[attr-defined]
    before = switch.locator("input").is_checked()
    switch.click(timeout=3_000)
    assert switch.locator("input").is_checked() != before
    page.screenshot(path=str(output_dir / f"{kind}-{viewport['width']}.png"))  # type: ignore[attr-defined]
    log.assert_clean()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_title_leaves_the_zone_list_and_layer_control_reachable(
    sealed_page: tuple[object, PageLog],
    maps_written: dict[str, Path],
    viewport: dict[str, int],
    output_dir: Path,
) -> None:
    page, log = sealed_page
    _open(page, maps_written["deadzones"].as_uri(), viewport)
    title = _box(page, ".dz-title")
    for control in (".dz-panel", ".leaflet-control-layers"):
        assert _overlap(title, _box(page, control)) == 0, control
        assert _on_top_at_centre(page, control), control
    page.locator(".dz-panel a").first.click(timeout=3_000)  # type: ignore[attr-defined]
    page.locator(".leaflet-popup-content", has_text="DZ-001").wait_for(timeout=3_000)  # type: ignore[attr-defined]
    page.screenshot(path=str(output_dir / f"deadzones-{viewport['width']}.png"))  # type: ignore[attr-defined]
    log.assert_clean()


def test_on_a_phone_a_zone_chosen_from_the_list_shows_its_popup(
    sealed_page: tuple[object, PageLog], maps_written: dict[str, Path], output_dir: Path
) -> None:
    """The list (a quarter of the screen) folds to its heading when a zone is chosen from
    it, so the zone's popup is not under it; the heading opens it again. On a desktop the
    list stays open."""
    page, log = sealed_page
    _open(page, maps_written["deadzones"].as_uri(), PHONE)
    toggle = page.locator(".dz-panel-toggle")  # type: ignore[attr-defined]
    body = page.locator(".dz-panel-body")  # type: ignore[attr-defined]
    assert body.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    page.locator(".dz-panel a").first.click(timeout=3_000)  # type: ignore[attr-defined]
    page.locator(".leaflet-popup-content", has_text="DZ-001").wait_for(timeout=3_000)  # type: ignore[attr-defined]
    page.wait_for_timeout(600)  # type: ignore[attr-defined]  # the popup's pan into view
    assert not body.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    assert _on_top_at_centre(page, ".leaflet-popup-content")
    assert _overlap(_box(page, ".dz-panel"), _box(page, ".leaflet-popup-content")) == 0
    # The whole popup and its close button on the screen, clear of the zoom buttons.
    popup, close = _box(page, ".leaflet-popup"), _box(page, ".leaflet-popup-close-button")
    assert popup[0] >= 0 and popup[2] <= PHONE["width"], popup
    assert close[0] >= 0 and close[2] <= PHONE["width"], close
    assert _overlap(_box(page, ".leaflet-control-zoom"), popup) == 0
    page.screenshot(path=str(output_dir / "deadzones-390-popup.png"))  # type: ignore[attr-defined]
    toggle.click(timeout=3_000)
    assert body.is_visible() and toggle.get_attribute("aria-expanded") == "true"

    _open(page, maps_written["deadzones"].as_uri(), DESKTOP)
    page.locator(".dz-panel a").first.click(timeout=3_000)  # type: ignore[attr-defined]
    page.locator(".leaflet-popup-content", has_text="DZ-001").wait_for(timeout=3_000)  # type: ignore[attr-defined]
    assert page.locator(".dz-panel-body").is_visible()  # type: ignore[attr-defined]
    log.assert_clean()


@pytest.mark.parametrize("kind", ["coverage", "progress"])
def test_on_a_phone_the_legend_starts_folded_and_opens_on_a_tap(
    sealed_page: tuple[object, PageLog],
    maps_written: dict[str, Path],
    kind: str,
    output_dir: Path,
) -> None:
    page, log = sealed_page
    _open(page, maps_written[kind].as_uri(), PHONE)
    toggle = page.locator(".dz-legend-toggle")  # type: ignore[attr-defined]
    body = page.locator(".dz-legend-body")  # type: ignore[attr-defined]
    # Open, the legend covered a third (coverage) to a half (progress) of the screen.
    assert _share_of_viewport(_box(page, ".dz-legend"), PHONE) < 0.03
    assert toggle.inner_text().startswith("Chú giải") and not body.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    # The background-map notice sits beside the folded legend, not under it.
    page.locator(".dz-notice").wait_for(timeout=10_000)  # type: ignore[attr-defined]
    assert _overlap(_box(page, ".dz-notice"), _box(page, ".dz-legend")) == 0

    toggle.click(timeout=3_000)
    assert body.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    assert "Chưa đủ dữ liệu" in body.inner_text()
    opened = _box(page, ".dz-legend")
    assert opened[3] - opened[1] <= PHONE["height"] * 0.5 + 1  # scrolls within half the screen
    assert _overlap(opened, _box(page, ".leaflet-control-layers")) == 0
    page.screenshot(path=str(output_dir / f"{kind}-390-legend.png"))  # type: ignore[attr-defined]

    toggle.click(timeout=3_000)
    assert not body.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    log.assert_clean()


def test_on_a_desktop_the_legend_starts_open_and_can_be_folded(
    sealed_page: tuple[object, PageLog], maps_written: dict[str, Path]
) -> None:
    page, log = sealed_page
    _open(page, maps_written["coverage"].as_uri(), DESKTOP)
    toggle = page.locator(".dz-legend-toggle")  # type: ignore[attr-defined]
    body = page.locator(".dz-legend-body")  # type: ignore[attr-defined]
    assert body.is_visible() and toggle.get_attribute("aria-expanded") == "true"
    legend = _box(page, ".dz-legend")
    assert _share_of_viewport(legend, DESKTOP) < 0.15
    assert _overlap(legend, _box(page, ".dz-title")) == 0
    toggle.click(timeout=3_000)
    assert not body.is_visible() and toggle.get_attribute("aria-expanded") == "false"
    log.assert_clean()


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("vi", "Chưa có số liệu phủ sóng của Vietnamobile (452-05)"),
        ("en", "No coverage data for Vietnamobile (452-05)"),
    ],
    ids=["vi", "en"],
)
def test_an_operator_without_data_says_so_on_its_map(
    sealed_page: tuple[object, PageLog],
    cells: pd.DataFrame,
    areas: list[AreaOutline],
    meta: MapMeta,
    tmp_path: Path,
    output_dir: Path,
    lang: str,
    said: str,
) -> None:
    # 452-05 has no cell in the sample: the page that asks for it alone is otherwise blank.
    assert "452-05" not in set(cells["operator"])
    page, log = sealed_page
    local = MapMeta(meta.title, meta.data_date, lang, meta.operator_names)  # type: ignore[arg-type]
    alone = coverage_map(cells, meta=local, areas=areas, operators={"452-05"})
    _open(page, write_map_html(alone, tmp_path / "alone.html").as_uri(), PHONE)
    message = page.locator(".dz-empty")  # type: ignore[attr-defined]
    assert message.count() == 1 and message.is_visible()
    assert said in message.inner_text()
    assert _on_top_at_centre(page, ".leaflet-control-layers")
    # The view fits the areas instead of all of Vietnam.
    zoom = page.evaluate("Object.values(window).find(v => v instanceof L.Map).getZoom()")  # type: ignore[attr-defined]
    assert zoom >= 10
    page.screenshot(path=str(output_dir / f"coverage-no-data-{lang}.png"))  # type: ignore[attr-defined]

    # Beside an operator with data, the message shows only while the empty one is chosen.
    both = coverage_map(cells, meta=local, areas=areas, operators={"any", "452-05"})
    _open(page, write_map_html(both, tmp_path / "both.html").as_uri(), PHONE)
    assert message.count() == 0
    page.get_by_text("Vietnamobile (452-05)").click(timeout=3_000)  # type: ignore[attr-defined]
    assert said in message.inner_text()
    page.locator(".leaflet-control-layers-base label").first.click(timeout=3_000)  # type: ignore[attr-defined]
    assert message.count() == 0
    log.assert_clean()


def test_a_map_without_any_cell_says_so(
    sealed_page: tuple[object, PageLog], meta: MapMeta, tmp_path: Path
) -> None:
    page, log = sealed_page
    empty = pd.DataFrame(columns=["h3", "operator", "status"])
    target = write_map_html(coverage_map(empty, meta=meta), tmp_path / "empty.html")
    _open(page, target.as_uri(), DESKTOP)
    message = page.locator(".dz-empty").inner_text(timeout=3_000)  # type: ignore[attr-defined]
    assert "Chưa có số liệu phủ sóng nào trên bản đồ này" in message
    log.assert_clean()


def test_on_a_phone_the_first_view_starts_below_the_zone_list(
    sealed_page: tuple[object, PageLog], zones: list[ZoneRecord], meta: MapMeta, tmp_path: Path
) -> None:
    """Zones spread north to south (a view taller than wide) on a phone: the open list
    covered the northern ones; the view is fitted again below it."""
    far = [
        replace(z, id=f"{z.id}-n", rank=z.rank + len(zones), outline=translate(z.outline, 0, 0.15))
        for z in zones
    ]
    target = write_map_html(deadzone_map([*zones, *far], meta=meta), tmp_path / "tall.html")
    page, log = sealed_page
    _open(page, target.as_uri(), PHONE)
    panel = _box(page, ".dz-panel")
    top = page.evaluate(  # type: ignore[attr-defined]
        f"(() => {{ const m = {MAP_JS}; return m.latLngToContainerPoint(m.dzView.getNorthWest()).y"
        " + m.getContainer().getBoundingClientRect().top; })()"
    )
    assert top >= panel[3], (top, panel)
    ranks = page.evaluate(  # type: ignore[attr-defined]
        "[...document.querySelectorAll('.leaflet-marker-pane .dz-rank')].map(e => { "
        "const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })"
    )
    assert ranks and all(_overlap(panel, tuple(r)) == 0 for r in ranks), (panel, ranks)
    log.assert_clean()


def test_rank_badges_of_neighbouring_zones_never_cover_each_other(
    sealed_page: tuple[object, PageLog], zones: list[ZoneRecord], meta: MapMeta, tmp_path: Path
) -> None:
    """Two zones 200 m apart and one 40 km away: at the view that fits them all, the badge
    of the lower priority is left out (the higher's number showed over it before); zoomed
    in, both show, apart (badges off the screen are not counted)."""
    first = replace(zones[0], id="dz-a", rank=1, priority=9.0)
    near = replace(first, id="dz-b", rank=2, priority=8.0, outline=translate(first.outline, 0.002))
    far = replace(first, id="dz-c", rank=3, priority=7.0, outline=translate(first.outline, 0.4))
    target = write_map_html(deadzone_map([first, near, far], meta=meta), tmp_path / "near.html")
    page, log = sealed_page
    _open(page, target.as_uri(), DESKTOP)
    badges = (
        "[...document.querySelectorAll('.leaflet-marker-pane .dz-rank')].map(e => { "
        "const r = e.getBoundingClientRect(); return [e.textContent, r.left, r.top, r.right, "
        "r.bottom]; }).filter(b => b[3] > b[1] && b[3] > 0 && b[1] < innerWidth)"
    )
    shown = page.evaluate(badges)  # type: ignore[attr-defined]
    assert sorted(b[0] for b in shown) == ["1", "3"], shown
    a, b = first.outline.representative_point(), near.outline.representative_point()
    between = [(a.y + b.y) / 2, (a.x + b.x) / 2]  # the badges stand on these points
    page.evaluate(  # type: ignore[attr-defined]
        f"{MAP_JS}.setView({between}, 17, {{animate: false}})"
    )
    page.wait_for_timeout(300)  # type: ignore[attr-defined]
    shown = page.evaluate(badges)  # type: ignore[attr-defined]
    assert sorted(b[0] for b in shown) == ["1", "2"], shown
    assert _overlap(tuple(shown[0][1:]), tuple(shown[1][1:])) == 0, shown
    log.assert_clean()
