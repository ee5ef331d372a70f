"""HTML-level behaviour of the maps, without a browser: offline, escaped, bounded in size."""

from __future__ import annotations

import re
from pathlib import Path

import h3
import pandas as pd
import pytest

from maps import (
    AreaOutline,
    MapMeta,
    ZoneRecord,
    asset_dir,
    asset_versions,
    coverage_map,
    deadzone_map,
    map_to_html,
    write_map_html,
)
from maps.assets import SCRIPTS, STYLESHEETS
from maps.coverage import zoom_ranges
from maps.deadzones import order_zones
from maps.i18n import LABELS
from maps.sample import sample_cells

from .conftest import HOSTILE

CDN_HINTS = ("cdn.", "jsdelivr", "cdnjs", "code.jquery", "bootstrap", "fontawesome", "unpkg")


def _external_refs(page: str) -> list[str]:
    """URLs the browser would fetch by itself: src attributes, <link href> and CSS url().
    Plain <a href> links (Leaflet's and OSM's attribution) are only followed on a click."""
    refs = re.findall(r'\bsrc\s*=\s*["\']([^"\']+)["\']', page)
    refs += re.findall(r'<link[^>]*\bhref\s*=\s*["\']([^"\']+)["\']', page)
    refs += re.findall(r"url\(['\"]?([^'\")]+)", page)
    return [r for r in refs if r.startswith(("http:", "https:", "//"))]


def test_every_label_exists_in_both_languages() -> None:
    assert set(LABELS["vi"]) == set(LABELS["en"])
    for lang, labels in LABELS.items():
        assert all(v.strip() for v in labels.values()), lang


def test_unknown_is_labelled_as_not_enough_readings() -> None:
    assert LABELS["vi"]["status.unknown"] == "Chưa đủ dữ liệu (không phải là có sóng)"
    assert "not signal" in LABELS["en"]["status.unknown"]


def test_self_contained_page_fetches_nothing_but_tiles(
    cells: pd.DataFrame, zones: list[ZoneRecord], meta: MapMeta
) -> None:
    for m in (coverage_map(cells, meta=meta), deadzone_map(zones, meta=meta)):
        page = map_to_html(m)
        assert "<script src=" not in page and '<link rel="stylesheet"' not in page
        assert _external_refs(page) == [], "only the tile template and attribution links"
        lowered = page.lower()
        assert not [hint for hint in CDN_HINTS if hint in lowered]
        assert "tile.openstreetmap.org/{z}/{x}/{y}.png" in page


def test_linked_page_references_assets_under_the_prefix(cells: pd.DataFrame, meta: MapMeta) -> None:
    page = map_to_html(coverage_map(cells, meta=meta), asset_url="/static/maps/")
    for name in (*SCRIPTS, *STYLESHEETS):
        assert f"/static/maps/{name}" in page
        assert (asset_dir() / name).is_file()
    assert not [hint for hint in CDN_HINTS if hint in page.lower()]


def test_asset_versions_are_recorded() -> None:
    assert asset_versions() == {"leaflet": "1.9.4", "leaflet.fullscreen": "3.0.0"}


def test_text_from_data_is_escaped_everywhere(
    cells: pd.DataFrame, zones: list[ZoneRecord], areas: list[AreaOutline], meta: MapMeta
) -> None:
    hostile_meta = MapMeta(
        title=HOSTILE, lang="en", operator_names={"452-04": HOSTILE, "452-02": "{{ 7*7 }}"}
    )
    hostile_zone = ZoneRecord(
        **{**zones[0].__dict__, "id": "{{ 7*7 }}<b>", "operators": ["452-04"]}
    )
    pages = [
        map_to_html(coverage_map(cells, meta=hostile_meta, areas=areas)),
        map_to_html(deadzone_map([hostile_zone, *zones[1:]], meta=hostile_meta, areas=areas)),
    ]
    for page in pages:
        assert "<img src=x" not in page
        assert "&lt;img src=x onerror=alert(1)&gt;" in page.replace("\\u0026", "&")
        assert "49 (452-02)" not in page, "data must never be evaluated as a Jinja template"
    coverage_page, zone_page = pages
    assert "&#123;&#123; 7*7 &#125;&#125; (452-02)" in coverage_page.replace("\\u0026", "&")
    assert "{{ 7*7 }}\\u0026lt;b\\u0026gt;" in zone_page


def test_zones_are_listed_by_priority(zones: list[ZoneRecord]) -> None:
    shuffled = list(reversed(zones))
    ordered = order_zones(shuffled)
    assert [z.priority for z in ordered] == sorted((z.priority for z in zones), reverse=True)


def test_rollups_are_drawn_below_the_zoom_where_res_9_is_readable() -> None:
    ranges = zoom_ranges([7, 8, 9], latitude=12.7)
    assert ranges[7][0] == 0
    assert ranges[7][1] + 1 == ranges[8][0]
    assert ranges[8][1] + 1 == ranges[9][0]
    # A 174 m edge is >= 4 px from zoom 12 at this latitude (156543 m/px at zoom 0).
    assert ranges[9][0] == 12
    assert zoom_ranges([9], latitude=12.7) == {9: (0, 30)}


@pytest.mark.parametrize("n_cells", [1_000, 10_000])
def test_page_size_grows_with_the_cells_within_budget(n_cells: int, meta: MapMeta) -> None:
    """Budget: 170,000 res-9 cells under 10 MB (issue 4). With best-of-all plus two operators
    and roll-ups, a clustered field must stay under 18 bytes per res-9 cell per layer."""
    cells = sample_cells(n_cells, seed=3, noise=0.05)
    page = map_to_html(coverage_map(cells, meta=meta))
    fixed = 200_000  # Leaflet, plugin and our script, inlined
    layers = cells["operator"].nunique()
    assert (len(page.encode()) - fixed) / (n_cells * layers) < 18 * 1.5  # small fields cost more


def test_write_map_html_writes_utf8(tmp_path: Path, zones: list[ZoneRecord], meta: MapMeta) -> None:
    target = write_map_html(deadzone_map(zones, meta=meta), tmp_path / "zones.html")
    assert "Vùng mất sóng theo mức ưu tiên" in target.read_text(encoding="utf-8")


def test_empty_inputs_still_make_a_page(meta: MapMeta) -> None:
    empty = pd.DataFrame(columns=["h3", "operator", "status"])
    assert "deadzone.markReady" in map_to_html(coverage_map(empty, meta=meta))
    assert "deadzone.markReady" in map_to_html(deadzone_map([], meta=meta))


def test_single_resolution_is_drawn_at_every_zoom(meta: MapMeta) -> None:
    origin = h3.latlng_to_cell(12.7, 108.05, 9)
    frame = pd.DataFrame({"h3": [origin], "operator": ["any"], "status": ["dead"]})
    page = map_to_html(coverage_map(frame, meta=meta))
    assert '"minZoom":0,"maxZoom":30' in page


def test_every_label_the_page_script_reads_exists() -> None:
    script = (asset_dir() / "deadzone" / "deadzone.js").read_text(encoding="utf-8")
    used = set(re.findall(r'labels\["([a-z_.]+)"\]', script))
    used |= {f"status.{s}" for s in ("covered", "weak", "dead", "unknown")}
    assert used and used <= set(LABELS["vi"])


def test_operators_can_be_limited(cells: pd.DataFrame, meta: MapMeta) -> None:
    page = map_to_html(coverage_map(cells, meta=meta, operators={"any", "452-04"}))
    start = page.rindex("base_layers :")
    layers = page[start : page.index("overlays", start)]
    assert '"Viettel (452-04)" :' in layers
    assert "VinaPhone (452-02)" not in layers
    # VinaPhone's own status still shows in the best of all's cell popups.
    assert '"operators":["VinaPhone (452-02)","Viettel (452-04)"]' in page


def test_zone_popup_says_unknown_for_missing_dates_and_hides_missing_areas(
    zones: list[ZoneRecord], meta: MapMeta
) -> None:
    from maps.deadzones import zone_popup_html

    zone = ZoneRecord(
        **{
            **zones[0].__dict__,
            "first_seen": pd.NaT,
            "last_seen": None,
            "population": None,
            "villages": None,
        }
    )
    popup = zone_popup_html(zone, meta)
    assert popup.count("không rõ") == 2
    assert "Dân số" not in popup and "Thôn, buôn" not in popup


def test_numbers_use_the_separators_of_the_language() -> None:
    from maps.i18n import format_number

    assert format_number(9028, "vi") == "9.028"
    assert format_number(25.691, "vi", decimals=2) == "25,69"
    assert format_number(9028.5, "en", decimals=1) == "9,028.5"


def test_zone_outline_may_be_a_multipolygon(zones: list[ZoneRecord], meta: MapMeta) -> None:
    from shapely.geometry import MultiPolygon, box

    split = MultiPolygon([box(108.0, 12.6, 108.01, 12.61), box(108.02, 12.6, 108.03, 12.61)])
    zone = ZoneRecord(**{**zones[0].__dict__, "outline": split})
    page = map_to_html(deadzone_map([zone], meta=meta))
    assert page.count('"polygons":[[') == 1 and '"rank":1' in page


def test_estimated_cells_are_drawn_apart_with_their_legend(cells: pd.DataFrame) -> None:
    measured = cells[cells["operator"] == "any"].head(30)
    taken = set(measured["h3"])
    free = [
        c
        for c in h3.grid_disk(measured["h3"].iloc[0], 6)
        if c not in taken and h3.get_resolution(c) == 9
    ][:5]
    estimated = pd.DataFrame({"h3": free, "operator": "any", "status": "dead"})
    for lang, title in (("vi", "Ước tính, chưa đo"), ("en", "Estimated, not measured")):
        meta = MapMeta(title="t", lang=lang)
        page = map_to_html(coverage_map(measured, meta=meta, estimated=estimated))
        assert "data-status='estimated'" in page  # the legend entry
        assert re.search(r"overlays\s*:\s*\{\s*\"[^\"]+\"\s*:\s*feature_group", page)
        assert f"{title}: " in page  # each estimated patch's tooltip says so
        assert '"dashArray": "5 4"' in page  # dashed outline, lighter fill
        plain = map_to_html(coverage_map(measured, meta=meta))
        assert "data-status='estimated'" not in plain
