"""The maps in a real headless Chromium with the network cut off (only tiles may fail)."""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import h3
import pandas as pd
import pytest

from domain.vocabulary import Decision
from maps import (
    AreaOutline,
    MapMeta,
    ZoneRecord,
    asset_dir,
    coverage_map,
    deadzone_map,
    write_map_html,
)
from maps.encoding import SCALE, ring_to_text, text_to_ring
from maps.palette import STATUS_STYLES

from .conftest import HOSTILE, MAP_JS, READY, PageLog

pytestmark = pytest.mark.browser

CENTRE = h3.latlng_to_cell(12.7, 108.05, 9)

# Coverage patches are drawn on a canvas, so "what is drawn" is read from the map's layers:
# status and vertex count of every patch on the map.
PATH_SIGNATURE = (
    f"(() => {{ const out = []; {MAP_JS}.eachLayer(l => {{ if (l.dzStatus) "
    "out.push(l.dzStatus + l.getLatLngs().flat(3).length); }); return out.sort().join('|'); })()"
)
PATH_COUNT = (
    f"(() => {{ let n = 0; {MAP_JS}.eachLayer(l => {{ if (l.dzStatus) n++; }}); return n; }})()"
)


def _open(page: object, url: str) -> None:
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_function(READY, timeout=20_000)  # type: ignore[attr-defined]


def _zoom(page: object, zoom: int) -> None:
    # Right after load Leaflet can ignore a setZoom for a few frames; retry each frame.
    page.evaluate(  # type: ignore[attr-defined]
        f"""() => new Promise(done => {{
            const map = {MAP_JS};
            (function go() {{
                map.setZoom({zoom}, {{animate: false}});
                if (map.getZoom() !== {zoom}) {{ requestAnimationFrame(go); return; }}
                requestAnimationFrame(() => done(true));
            }})();
        }})"""
    )


def test_coverage_map_draws_legend_layers_and_evidence(
    sealed_page: tuple[object, PageLog],
    cells: pd.DataFrame,
    areas: list[AreaOutline],
    meta: MapMeta,
    tmp_path: Path,
    output_dir: Path,
) -> None:
    page, log = sealed_page
    target = write_map_html(coverage_map(cells, meta=meta, areas=areas), tmp_path / "c.html")
    _open(page, target.as_uri())
    log.assert_clean()

    for control in (".leaflet-control-scale", ".leaflet-control-zoom-fullscreen", ".dz-title"):
        assert page.locator(control).count() == 1, control  # type: ignore[attr-defined]
    # The scale in metres alone: a scale bar in miles means nothing to a Vietnamese reader.
    scale = page.locator(".leaflet-control-scale-line").all_inner_texts()  # type: ignore[attr-defined]
    assert len(scale) == 1 and re.fullmatch(r"\d+ k?m", scale[0]), scale
    assert (
        page.get_attribute(  # type: ignore[attr-defined]
            ".leaflet-control-zoom-fullscreen", "title"
        )
        == "Toàn màn hình"
    )
    assert "01/11/2026" in page.locator(".dz-title").inner_text()  # type: ignore[attr-defined]
    legend = page.locator(".dz-legend").inner_text()  # type: ignore[attr-defined]
    for label in ("Có sóng", "Sóng yếu", "Mất sóng (không có sóng)", "Chưa đủ dữ liệu"):
        assert label in legend
    radios = page.locator(".leaflet-control-layers-base input[type=radio]")  # type: ignore[attr-defined]
    assert radios.count() == 3
    base_names = page.locator(".leaflet-control-layers-base").inner_text()  # type: ignore[attr-defined]
    assert "Tốt nhất của mọi nhà mạng" in base_names and "Viettel (452-04)" in base_names
    # Tiles cannot load here: the map says so, once, in the page's language.
    notice = page.locator(".dz-notice")  # type: ignore[attr-defined]
    notice.wait_for(timeout=10_000)
    assert notice.count() == 1
    assert "Không tải được bản đồ nền" in notice.inner_text()
    # ... and keeps its own light background, not Leaflet's grey.
    background = page.evaluate(  # type: ignore[attr-defined]
        "getComputedStyle(document.querySelector('.folium-map')).backgroundColor"
    )
    assert background == "rgb(242, 239, 233)"
    page.screenshot(path=str(output_dir / "coverage.png"))  # type: ignore[attr-defined]

    # Switching operator redraws different patches (radio: only one operator at a time).
    before = page.evaluate(PATH_SIGNATURE)  # type: ignore[attr-defined]
    assert page.evaluate(PATH_COUNT) > 0  # type: ignore[attr-defined]
    page.get_by_text("Viettel (452-04)").click()  # type: ignore[attr-defined]
    after = page.evaluate(PATH_SIGNATURE)  # type: ignore[attr-defined]
    assert after and after != before
    page.screenshot(path=str(output_dir / "coverage-viettel.png"))  # type: ignore[attr-defined]

    # Zoomed out the res-7 roll-up is drawn, zoomed in the res-9 patches (zoom_ranges).
    _zoom(page, 10)
    coarse = page.evaluate(PATH_SIGNATURE)  # type: ignore[attr-defined]
    _zoom(page, 14)
    fine = page.evaluate(PATH_SIGNATURE)  # type: ignore[attr-defined]
    assert coarse and fine and fine != coarse

    # A real pointer over the middle of the field, through the area-outline pane, reaches a
    # patch on the canvas and gets its tooltip.
    page.mouse.move(600, 400)  # type: ignore[attr-defined]
    page.mouse.move(602, 401)  # type: ignore[attr-defined]
    hovered = page.locator(".leaflet-tooltip").first  # type: ignore[attr-defined]
    hovered.wait_for()
    assert "Số ô" in hovered.inner_text()

    # A dead res-9 patch: hover shows the merged evidence, click the evidence of one cell.
    opened = page.evaluate(  # type: ignore[attr-defined]
        f"""() => {{
          const map = {MAP_JS};
          let shape = null;
          map.eachLayer(l => {{
            if (!shape && l.dzStatus === 'dead' && l._parts.length) shape = l;
          }});
          if (!shape) return false;
          const at = shape.getLatLngs()[0][0][0];
          shape.openTooltip(at);
          shape.fire('click', {{latlng: at}});
          return true;
        }}"""
    )
    assert opened
    # Cells without signal are "mất sóng"; trắng/lõm sóng name villages only (issue 13).
    tooltip = page.locator(".leaflet-tooltip", has_text="Mất sóng")  # type: ignore[attr-defined]
    assert "Lượt đo" in tooltip.first.inner_text()
    popup = page.locator(".leaflet-popup-content").inner_text()  # type: ignore[attr-defined]
    assert "Ô lưới: Mất sóng" in popup and "Thiết bị" in popup
    page.wait_for_timeout(400)  # let the popup finish fading in for the screenshot
    page.screenshot(path=str(output_dir / "coverage-zoomed.png"))  # type: ignore[attr-defined]
    log.assert_clean()


def test_deadzone_map_lists_zones_and_shows_hostile_names_as_text(
    sealed_page: tuple[object, PageLog],
    zones: list[ZoneRecord],
    areas: list[AreaOutline],
    meta: MapMeta,
    tmp_path: Path,
    output_dir: Path,
) -> None:
    page, log = sealed_page
    target = write_map_html(deadzone_map(zones, meta=meta, areas=areas), tmp_path / "z.html")
    _open(page, target.as_uri())
    log.assert_clean()

    items = page.locator(".dz-panel li")  # type: ignore[attr-defined]
    assert items.count() == len(zones)
    assert items.first.inner_text().startswith("1")
    assert HOSTILE in page.locator(".dz-panel").text_content()  # type: ignore[attr-defined]
    assert page.locator(".dz-rank").count() == len(zones)  # type: ignore[attr-defined]
    page.screenshot(path=str(output_dir / "deadzones.png"))  # type: ignore[attr-defined]

    # The smallest zone is listed last; its entry zooms the map in to it.
    zoom_before = page.evaluate(f"{MAP_JS}.getZoom()")  # type: ignore[attr-defined]
    items.last.locator("a").click()
    assert page.evaluate(f"{MAP_JS}.getZoom()") > zoom_before  # type: ignore[attr-defined]
    items.first.locator("a").click()
    # The previous popup fades out for 200 ms (Leaflet DivOverlay): take the one for DZ-001.
    popup = page.locator(".leaflet-popup-content", has_text="DZ-001")  # type: ignore[attr-defined]
    popup.wait_for()
    assert HOSTILE in popup.text_content()
    assert popup.locator("img").count() == 0
    page.wait_for_timeout(400)  # let the popup finish fading in for the screenshot
    page.screenshot(path=str(output_dir / "deadzones-zoomed.png"))  # type: ignore[attr-defined]
    assert page.locator("img[src=x]").count() == 0  # type: ignore[attr-defined]
    log.assert_clean()


def test_linked_assets_load_from_the_service_prefix(
    sealed_page: tuple[object, PageLog],
    static_server: tuple[str, Path],
    cells: pd.DataFrame,
    meta: MapMeta,
) -> None:
    page, log = sealed_page
    base, root = static_server
    (root / "static").mkdir(exist_ok=True)
    mount = root / "static" / "maps"
    if not mount.exists():
        os.symlink(asset_dir(), mount)
    english = MapMeta(title="Coverage", lang="en", operator_names=meta.operator_names)
    write_map_html(coverage_map(cells, meta=english), root / "c.html", asset_url="/static/maps")
    _open(page, f"{base}/c.html")
    log.assert_clean()
    assert "Not enough readings" in page.locator(".dz-legend").inner_text()  # type: ignore[attr-defined]
    assert page.evaluate(PATH_COUNT) > 0  # type: ignore[attr-defined]


def test_page_script_decodes_rings_like_python(sealed_page: tuple[object, PageLog]) -> None:
    page, log = sealed_page
    rng = random.Random(5)
    # cells_to_geo gives GeoJSON order, (lng, lat), as the encoder expects.
    rings = [
        list(h3.cells_to_geo(list(h3.grid_disk(CENTRE, k)))["coordinates"][0]) for k in range(4)
    ]
    rings += [
        [(rng.uniform(100, 110), rng.uniform(8, 16)) for _ in range(rng.randint(1, 25))]
        for _ in range(50)
    ]
    texts = [ring_to_text(r) for r in rings]
    page.goto("about:blank")  # type: ignore[attr-defined]
    for name in ("leaflet/leaflet.js", "deadzone/deadzone.js"):
        page.add_script_tag(path=str(asset_dir() / name))  # type: ignore[attr-defined]
    decoded = page.evaluate("texts => texts.map(deadzone.decodeRing)", texts)  # type: ignore[attr-defined]
    for text, got in zip(texts, decoded, strict=True):
        want = [c for x, y in text_to_ring(text) for c in (y / SCALE, x / SCALE)]
        assert [c for point in got for c in point] == pytest.approx(want, abs=1e-9)
    assert log.page_errors == []


def _point_of(page: object, lat: float, lon: float) -> tuple[float, float]:
    """Page pixel of a map position, read just before use (popups pan the map)."""
    x, y = page.evaluate(  # type: ignore[attr-defined]
        f"""([lat, lon]) => {{
            const map = {MAP_JS};
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [p.x + box.left, p.y + box.top];
        }}""",
        [lat, lon],
    )
    return float(x), float(y)


def _count(page: object, test: str) -> int:
    return int(
        page.evaluate(  # type: ignore[attr-defined]
            f"(() => {{ let n = 0; {MAP_JS}.eachLayer(l => {{ if ({test}) n++; }}); return n; }})()"
        )
    )


def test_progress_map_draws_communes_and_villages_with_popups_as_text(
    sealed_page: tuple[object, PageLog], tmp_path: Path, output_dir: Path
) -> None:
    from shapely.geometry import box

    from maps import CommuneProgress, VillageMark, progress_map

    communes = [
        CommuneProgress("C1", HOSTILE, box(108.0, 12.6, 108.05, 12.65), 1000, 200, 0.2,
                        villages_trang_song=1, zones_open=2),
        CommuneProgress("C2", "Xã Ea Tu", box(108.05, 12.6, 108.1, 12.65), 500, 490, 0.98),
        CommuneProgress("C3", "{{ 7*7 }}", box(108.0, 12.65, 108.05, 12.7), 0, 0, None),
    ]  # fmt: skip
    villages = [
        VillageMark("V1", HOSTILE, "C1", 300, 12.62, 108.02, "trang_song", "dead", 120, 3, 7),
        VillageMark("V2", "Buôn Đôn", "C2", 200, 12.63, 108.07, "lom_song", "covered", 20, 1, 7),
        VillageMark("V3", "Buôn Ja", "C2", 150, 12.61, 108.08, "covered", "covered", 0, 0, 7),
        VillageMark("V4", "Buôn Ko", "C3", None, 12.67, 108.03, "unknown", "unknown", 0, 0, 7,
                    likely_status="trang_song", likely_probability=0.9342),
    ]  # fmt: skip
    meta = MapMeta(title="Tiến độ", lang="vi")
    page, log = sealed_page
    target = write_map_html(
        progress_map(communes, villages, meta=meta, goal_share=0.95), tmp_path / "p.html"
    )
    _open(page, target.as_uri())
    log.assert_clean()

    assert _count(page, "l.dzCommune !== undefined") == 3
    assert _count(page, "l.dzVillage !== undefined") == 4
    # One canvas, drawn bottom to top: communes, then covered villages, trắng sóng on top.
    stack = page.evaluate(  # type: ignore[attr-defined]
        f"""(() => {{
            let canvas = null;
            {MAP_JS}.eachLayer(l => {{ if (l.dzCommune !== undefined) canvas = l._renderer; }});
            const out = [];
            for (let o = canvas._drawFirst; o; o = o.next)
                out.push(o.layer.dzVillageStatus || "commune");
            return out;
        }})()"""
    )
    assert stack == ["commune"] * 3 + ["covered", "unknown", "lom_song", "trang_song"]
    # No population data: filled with the hatch pattern, not a colour.
    assert (
        _count(page, "l.dzCommune !== undefined && l.options.fillColor instanceof CanvasPattern")
        == 1
    )
    legend = page.locator(".dz-legend").inner_text()  # type: ignore[attr-defined]
    for term in (
        "Trắng sóng",
        "Lõm sóng",
        "Đã có sóng",
        "Chưa đủ dữ liệu",
        "Chưa có dữ liệu dân số",
    ):
        assert term in legend
    overlays = page.locator(".leaflet-control-layers-overlays input")  # type: ignore[attr-defined]
    assert overlays.count() == 5
    page.screenshot(path=str(output_dir / "progress.png"))  # type: ignore[attr-defined]

    # A real click on the hostile village reaches its marker through the commune below it.
    page.mouse.click(*_point_of(page, 12.62, 108.02))  # type: ignore[attr-defined]
    popup = page.locator(".leaflet-popup-content", has_text="Trắng sóng")  # type: ignore[attr-defined]
    popup.wait_for()
    text = popup.text_content()
    assert text.startswith(HOSTILE) and "120 người" in text and "3 / 7" in text
    assert popup.locator("img").count() == 0
    page.wait_for_timeout(400)  # let the popup finish fading in for the screenshot
    page.screenshot(path=str(output_dir / "progress-village.png"))  # type: ignore[attr-defined]

    # A commune, south of the village popup: its numbers, the gap to the goal.
    page.mouse.click(*_point_of(page, 12.603, 108.047))  # type: ignore[attr-defined]
    commune_popup = page.locator(".leaflet-popup-content", has_text="Mục tiêu")  # type: ignore[attr-defined]
    commune_popup.wait_for()
    text = commune_popup.text_content()
    assert HOSTILE in text and "20,0%" in text and "750 người" in text

    # Each status is a layer of its own; the communes switched off and on stay below.
    page.get_by_text("Thôn, buôn đã có sóng").click()  # type: ignore[attr-defined]
    assert _count(page, "l.dzVillage !== undefined") == 3
    switch = page.locator(".leaflet-control-layers-overlays label", has_text="Xã: tỷ lệ")  # type: ignore[attr-defined]
    switch.click()
    assert _count(page, "l.dzCommune !== undefined") == 0
    switch.click()
    page.evaluate(f"{MAP_JS}.closePopup()")  # type: ignore[attr-defined]
    page.wait_for_timeout(300)  # Leaflet fades a closed popup out for 200 ms
    page.mouse.click(*_point_of(page, 12.63, 108.07))  # type: ignore[attr-defined]
    page.locator(".leaflet-popup-content", has_text="Buôn Đôn").wait_for()  # type: ignore[attr-defined]
    assert page.locator("img[src=x]").count() == 0  # type: ignore[attr-defined]
    # A village without a measured status shows its estimated one, as estimated; the
    # measured ones show none.
    assert "Ước tính" not in page.locator(".leaflet-popup-content").text_content()  # type: ignore[attr-defined]
    page.evaluate(f"{MAP_JS}.closePopup()")  # type: ignore[attr-defined]
    page.wait_for_timeout(300)
    page.mouse.click(*_point_of(page, 12.67, 108.03))  # type: ignore[attr-defined]
    unmeasured = page.locator(".leaflet-popup-content", has_text="Buôn Ko")  # type: ignore[attr-defined]
    unmeasured.wait_for()
    assert "Ước tính, chưa đo" in unmeasured.text_content()
    assert "có lẽ trắng sóng (93,4%)" in unmeasured.text_content()
    log.assert_clean()


def test_plan_layer_draws_a_circle_per_site(
    sealed_page: tuple[object, PageLog],
    zones: list[ZoneRecord],
    meta: MapMeta,
    tmp_path: Path,
    output_dir: Path,
) -> None:
    from maps import PlannedSite

    centre = zones[0].outline.representative_point()
    sites = [
        PlannedSite(rank=i + 1, h3=f"cell{i}", lat=centre.y + 0.01 * i, lon=centre.x,
                    radius_km=1.5, people_new=900 - 100 * i, people_cumulative=900,
                    villages=[HOSTILE] if i == 0 else ["Buôn Đôn"])
        for i in range(3)
    ]  # fmt: skip
    page, log = sealed_page
    target = write_map_html(deadzone_map(zones, meta=meta, sites=sites), tmp_path / "plan.html")
    _open(page, target.as_uri())
    log.assert_clean()

    assert _count(page, "l instanceof L.Circle") == 3
    radii = page.evaluate(  # type: ignore[attr-defined]
        f"(() => {{ const r = []; {MAP_JS}.eachLayer(l => {{ if (l instanceof L.Circle) "
        "r.push(l.getRadius()); }); return r; })()"
    )
    assert radii == [1500, 1500, 1500]
    # The view holds every circle whole.
    inside = page.evaluate(  # type: ignore[attr-defined]
        f"(() => {{ const map = {MAP_JS}; let ok = true; map.eachLayer(l => {{ "
        "if (l instanceof L.Circle) ok = ok && map.getBounds().contains(l.getBounds()); }); "
        "return ok; })()"
    )
    assert inside
    assert page.locator(".dz-site").count() == 3  # type: ignore[attr-defined]
    assert page.locator(".dz-site[title='Trạm đề xuất số 2']").count() == 1  # type: ignore[attr-defined]
    # Site 1 stands on zone 1's point (its representative point, where the zone's round
    # badge is): the site's square stands above it on a pin and hides none of it.
    boxes = page.evaluate(  # type: ignore[attr-defined]
        """rank => {
             const pick = (sel, text) => [...document.querySelectorAll(sel)]
               .find(e => e.textContent.trim() === text).getBoundingClientRect();
             const s = pick('.dz-site', '1'), z = pick('.dz-rank', String(rank));
             return [[s.left, s.top, s.right, s.bottom], [z.left, z.top, z.right, z.bottom]];
           }""",
        zones[0].rank,
    )
    (s_left, s_top, s_right, s_bottom), (z_left, z_top, z_right, z_bottom) = boxes
    assert s_bottom <= z_top + 1 or s_right <= z_left or s_left >= z_right, boxes
    # The legend says what the badges and the dashed circles are.
    legend = page.locator(".dz-legend").text_content()  # type: ignore[attr-defined]
    assert "Vùng mất sóng" in legend and "vòng nét đứt là vùng phủ sóng ước tính" in legend
    page.locator(".dz-site", has_text="1").first.click()  # type: ignore[attr-defined]
    popup = page.locator(".leaflet-popup-content", has_text="Trạm đề xuất số 1")  # type: ignore[attr-defined]
    popup.wait_for()
    assert HOSTILE in popup.text_content() and popup.locator("img").count() == 0
    page.wait_for_timeout(400)
    page.screenshot(path=str(output_dir / "deadzones-plan.png"))  # type: ignore[attr-defined]

    page.locator(".leaflet-control-layers").hover()  # type: ignore[attr-defined]
    layers = page.locator(".leaflet-control-layers")  # type: ignore[attr-defined]
    layers.get_by_text("Vị trí trạm đề xuất").click()
    assert _count(page, "l instanceof L.Circle") == 0
    log.assert_clean()


def test_estimates_follow_the_operator_shown(
    sealed_page: tuple[object, PageLog], cells: pd.DataFrame, meta: MapMeta, tmp_path: Path
) -> None:
    """Switching operator swaps the estimate overlay with it, while the reader keeps
    estimates on; turned off, they stay off (a planner read the best of all's estimates over
    Viettel's measured cells as Viettel's)."""
    page, log = sealed_page
    taken = set(cells["h3"])
    free = [c for c in h3.grid_disk(CENTRE, 40) if c not in taken][:40]
    estimated = pd.DataFrame({
        "h3": free * 2, "operator": ["any"] * 40 + ["452-04"] * 40,
        "status": ["dead"] * 40 + ["covered"] * 40,
    })  # fmt: skip
    target = write_map_html(
        coverage_map(cells, meta=meta, estimated=estimated), tmp_path / "e.html"
    )
    _open(page, target.as_uri())
    overlays = page.locator(".leaflet-control-layers-overlays label")  # type: ignore[attr-defined]
    estimate = "Ước tính, chưa đo"
    # One box for the estimates, whichever operator is shown.
    names = [overlays.nth(i).inner_text().strip() for i in range(overlays.count())]
    assert [n for n in names if estimate in n] == [estimate]
    box = overlays.filter(has_text=estimate).locator("input")
    dead, covered = (STATUS_STYLES[s].fill for s in (Decision.DEAD, Decision.COVERED))

    def shown() -> tuple[int, int]:
        """Estimated patches on the map: (dead ones, covered ones)."""
        return tuple(  # type: ignore[return-value]
            _count(
                page,
                f"l instanceof L.Polygon && l.options.dashArray === '5 4' && "
                f"l.options.fillColor === '{fill}'",
            )  # fmt: skip
            for fill in (dead, covered)
        )

    def base(name: str) -> object:
        return page.locator(".leaflet-control-layers-base label", has_text=name)  # type: ignore[attr-defined]

    assert box.is_checked() and shown()[0] > 0 and shown()[1] == 0  # the best of all's
    base("Viettel (452-04)").click()
    assert shown()[0] == 0 and shown()[1] > 0  # Viettel's
    # An operator without estimates shows none, and the next one with estimates gets its own.
    labels = page.locator(".leaflet-control-layers-base label")  # type: ignore[attr-defined]
    names = [labels.nth(i).inner_text().strip() for i in range(labels.count())]
    base(next(n for n in names if "Viettel" not in n and "Tốt nhất" not in n)).click()
    assert shown() == (0, 0) and box.is_checked()
    base("Tốt nhất của mọi nhà mạng").click()
    assert shown()[0] > 0 and shown()[1] == 0
    # Turned off by the reader, estimates stay off across operators, and come back on.
    box.click()
    base("Viettel (452-04)").click()
    assert shown() == (0, 0) and not box.is_checked()
    box.click()
    assert shown()[0] == 0 and shown()[1] > 0
    log.assert_clean()


def test_best_of_all_cell_names_each_operators_status(
    sealed_page: tuple[object, PageLog], cells: pd.DataFrame, meta: MapMeta, tmp_path: Path
) -> None:
    """A best-of-all cell's popup says which operator has signal there and which has none
    (a planner could not tell whose signal made a cell weak)."""
    page, log = sealed_page
    target = write_map_html(coverage_map(cells, meta=meta), tmp_path / "b.html")
    _open(page, target.as_uri())
    names = {"452-02": "VinaPhone (452-02)", "452-04": "Viettel (452-04)"}
    short = {"covered": "có sóng", "weak": "sóng yếu", "dead": "mất sóng",
             "unknown": "chưa đủ dữ liệu", "contested": "đang tranh chấp"}  # fmt: skip
    best = cells[(cells["operator"] == "any") & (cells["resolution"] == 9)]
    for status in ("weak", "dead"):
        row = best[best["status"] == status].iloc[0]
        lat, lon = h3.cell_to_latlng(row["h3"])
        clicked = page.evaluate(  # type: ignore[attr-defined]
            f"""() => new Promise(done => {{
              const map = {MAP_JS};
              map.setView([{lat}, {lon}], 15, {{animate: false}});
              requestAnimationFrame(() => {{
                const at = L.latLng({lat}, {lon});
                let hit = false;
                map.eachLayer(l => {{
                  if (!hit && l.dzStatus === '{status}' && l.getBounds().contains(at)) {{
                    l.fire('click', {{latlng: at}});
                    hit = true;
                  }}
                }});
                done(hit);
              }});
            }})"""
        )
        assert clicked, status
        # The previous popup may still be fading out: the newest is the last.
        popup = page.locator(".leaflet-popup-content").last.inner_text()  # type: ignore[attr-defined]
        assert "Từng nhà mạng ở ô này" in popup, popup
        for pair in row["operator_statuses"].split(","):
            operator, own = pair.split("=")
            assert f"{names[operator]}\t{short[own]}" in popup, (pair, popup)
    log.assert_clean()
