"""The progress map and the plan layer without a browser: payload, colours, legend, escaping."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import shapely
from shapely.geometry import Polygon, box

from maps import (
    CommuneProgress,
    MapMeta,
    PlannedSite,
    VillageMark,
    ZoneRecord,
    deadzone_map,
    map_to_html,
    progress_map,
)
from maps.deadzones import KM_PER_DEGREE, _bounds, site_popup_html
from maps.encoding import text_to_ints
from maps.palette import GOAL_FILL, SHARE_FILLS, share_class_index, share_classes
from maps.progress import goal_gap, progress_legend_html, progress_payload, simplify_outlines
from maps.sample import sample_progress

from .conftest import HOSTILE

TEMPLATE = "Xã {{ 7*7 }}"


def commune(code: str, share: float | None, **kw: object) -> CommuneProgress:
    population = 0.0 if share is None else 1000.0
    fields: dict[str, object] = {
        "code": code,
        "name": f"Xã {code}",
        "geometry": box(108.0, 12.6, 108.05, 12.65),
        "population": population,
        "people_covered": 0.0 if share is None else share * population,
        "covered_share": share,
    }
    fields.update(kw)
    return CommuneProgress(**fields)  # type: ignore[arg-type]


def mark(code: str, status: str, **kw: object) -> VillageMark:
    fields: dict[str, object] = {
        "code": code,
        "name": f"Buôn {code}",
        "commune_code": "C1",
        "population": 300,
        "lat": 12.62,
        "lon": 108.02,
        "status": status,
    }
    fields.update(kw)
    return VillageMark(**fields)  # type: ignore[arg-type]


def fill_of(share: float | None, goal: float | None) -> str | None:
    classes = share_classes(goal)
    index = share_class_index(share, classes)
    return None if index is None else classes[index].fill


def test_colours_at_the_edges_of_the_share() -> None:
    assert fill_of(0.0, 0.95) == SHARE_FILLS[0]  # nobody covered: the darkest
    assert fill_of(0.2499, 0.95) == SHARE_FILLS[0] and fill_of(0.25, 0.95) == SHARE_FILLS[1]
    assert fill_of(0.9499, 0.95) == SHARE_FILLS[4]
    assert fill_of(0.95, 0.95) == GOAL_FILL  # the goal itself counts as reached
    assert fill_of(1.0, 0.95) == GOAL_FILL
    assert fill_of(None, 0.95) is None  # no people: the hatched grey, not a share
    assert fill_of(float("nan"), 0.95) is None
    # No goal: only everybody covered is the top class.
    assert fill_of(0.999, None) == SHARE_FILLS[4] and fill_of(1.0, None) == GOAL_FILL
    # A goal below some breaks: the classes above it merge into "reached".
    low_goal = share_classes(0.6)
    assert [c.low for c in low_goal] == [0.0, 0.25, 0.5, 0.6]
    assert fill_of(0.55, 0.6) == SHARE_FILLS[2] and fill_of(0.8, 0.6) == GOAL_FILL
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError):
            share_classes(bad)


def test_payload_holds_classes_shares_gaps_and_village_rows() -> None:
    communes = [
        commune("C2", None),
        commune("C1", 0.5, villages_trang_song=2, villages_lom_song=1, zones_open=3),
        commune("C3", 0.95),
    ]
    villages = [
        mark("V1", "trang_song", people_dead=120.4, cells_dead=3, cells=7, centre_status="dead"),
        mark("V2", "trang_song", lat=12.63, lon=108.03, population=None, commune_code="C9"),
        mark("V3", "covered", commune_code=None, centre_status="weak"),
        mark("V4", "unknown", likely_status="trang_song", likely_probability=0.9342),
    ]
    spec, bounds = progress_payload(communes, villages, meta=MapMeta("t"), goal_share=0.95)
    rows = spec["communes"]
    assert [r[0] for r in rows] == ["Xã C1", "Xã C2", "Xã C3"]  # ordered by code
    one, two, three = rows
    assert one[2] == 2 and one[3:7] == [1000, 500, 5000, 450]  # class, people, share, gap
    assert one[7:] == [2, 1, 0, 0, 3]  # villages by status, open zones
    assert two[2] == -1 and two[5] == -1 and two[6] == -1  # no data: no class, share, gap
    assert three[2] == len(spec["classes"]) - 1 and three[6] == 0  # reached: nothing missing
    assert spec["classes"][one[2]]["fillColor"] == SHARE_FILLS[2]
    assert spec["places"] == ["Xã C1", "Xã C2", "Xã C3", "C9"]
    dead = spec["villages"]["trang_song"]
    assert dead["names"] == ["Buôn V1", "Buôn V2"]
    ints = text_to_ints(dead["data"])
    assert spec["villageInts"] == 10 and len(ints) == 20
    assert ints[:10] == [10802000, 1262000, 301, 120, 3, 7, 1, 2, 0, 0]  # no likely status
    assert ints[10:] == [1000, 1000, 0, 0, 0, 0, 4, 3, 0, 0]  # deltas; no people known; C9
    covered = text_to_ints(spec["villages"]["covered"]["data"])
    assert covered[6:] == [0, 1, 0, 0]  # no commune; centre weak
    unknown = text_to_ints(spec["villages"]["unknown"]["data"])
    assert spec["likelyStatuses"][unknown[8] - 1] == "trang_song" and unknown[9] == 934
    assert spec["goal"] == "95%"
    assert bounds == pytest.approx((12.6, 108.0, 12.65, 108.05))


def test_gap_to_goal_is_whole_people_never_negative() -> None:
    assert goal_gap(commune("C", 0.5), 0.95) == 450
    assert goal_gap(commune("C", 0.95), 0.95) == 0  # 949.999... is not one person missing
    assert goal_gap(commune("C", 0.99), 0.95) == 0
    assert goal_gap(commune("C", 0.5), None) is None
    assert goal_gap(commune("C", None), 0.95) is None


def test_unknown_village_status_is_refused() -> None:
    with pytest.raises(ValueError, match="V1"):
        progress_payload([], [mark("V1", "dark")], meta=MapMeta("t"))


def test_hostile_names_stay_text_in_the_progress_page() -> None:
    communes = [commune("C1", 0.4, name=HOSTILE), commune("C2", 0.9, name=TEMPLATE)]
    villages = [mark("V1", "lom_song", name=HOSTILE), mark("V2", "unknown", name=TEMPLATE)]
    page = map_to_html(
        progress_map(communes, villages, meta=MapMeta(title=HOSTILE), goal_share=0.95)
    )
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.replace("\\u0026", "&")
    assert TEMPLATE in page and "Xã 49" not in page, "never evaluated as a Jinja template"


def test_legend_names_the_terms_in_both_languages_and_what_counts() -> None:
    vi = progress_legend_html(MapMeta("t"), goal_share=0.95)
    for term in ("Trắng sóng", "Lõm sóng", "Đã có sóng", "Chưa đủ dữ liệu"):
        assert f"<b>{term}</b>" in vi
    for english in ("no signal at the village centre", "signal gaps inside the village"):
        assert english in vi
    assert "≥ 95% (đạt mục tiêu)" in vi and "&lt; 25%" in vi and "90%–95%" in vi
    assert "Chưa có dữ liệu dân số" in vi and "dz-hatch" in vi
    assert "chưa đủ dữ liệu hoặc chưa có lượt đo được tính là chưa có sóng" in vi
    en = progress_legend_html(MapMeta("t", lang="en"), goal_share=None)
    for term in ("trắng sóng", "lõm sóng", "đã có sóng", "chưa đủ dữ liệu"):
        assert f"<i>({term})</i>" in en
    assert "count as not covered" in en and "No population data" in en
    assert "100%" in en and "goal reached" not in en  # no goal given


def test_coverage_of_communes_is_simplified_without_slivers() -> None:
    communes, _ = sample_progress(12, 0, seed=3, bbox=(108.0, 12.5, 108.2, 12.7))
    shapes = [c.geometry for c in communes]
    simple = simplify_outlines(shapes)
    before = sum(shapely.get_num_coordinates(g) for g in shapes)
    after = sum(shapely.get_num_coordinates(g) for g in simple)
    assert after < before / 4
    union = shapely.union_all(simple)
    assert union.area == pytest.approx(sum(g.area for g in simple), rel=1e-9)  # no overlap
    assert union.geom_type == "Polygon" and not list(union.interiors)  # no gap


def test_overlapping_outlines_are_simplified_one_by_one() -> None:
    wiggly = Polygon([(108.0 + i * 1e-4, 12.6 + (i % 2) * 1e-5) for i in range(200)]
                     + [(108.02, 12.65), (108.0, 12.65)])  # fmt: skip
    simple = simplify_outlines([wiggly, box(108.01, 12.6, 108.03, 12.66)])
    assert shapely.get_num_coordinates(simple[0]) < 20
    assert simple[1].equals(box(108.01, 12.6, 108.03, 12.66))


def test_empty_progress_map_still_makes_a_page() -> None:
    page = map_to_html(progress_map([], [], meta=MapMeta("t")))
    assert "deadzone.progressLayers(" in page and "deadzone.markReady" in page


SITES = [
    PlannedSite(rank=2, h3="8965b2ce053ffff", lat=12.75, lon=108.1, radius_km=2.5,
                people_new=40, people_cumulative=1240, villages=[HOSTILE]),
    PlannedSite(rank=1, h3="8965b251a47ffff", lat=12.7, lon=108.05, radius_km=2.5,
                people_new=1200, people_cumulative=1200, villages=["Buôn Đôn", "Buôn Ja"]),
]  # fmt: skip


def test_plan_layer_draws_circles_in_metres_with_escaped_popups(zones: list[ZoneRecord]) -> None:
    page = map_to_html(deadzone_map(zones, meta=MapMeta("t", lang="en"), sites=SITES))
    assert "deadzone.siteLayer(" in page
    assert page.count('"radius":2500.0') == 2
    assert page.index('"rank":1') < page.index('"rank":2')  # best site first
    assert "<img src=x" not in page and '"Suggested sites"' in page
    popup = site_popup_html(SITES[1], MapMeta("t", lang="en"))
    assert "Suggested site 1" in popup and "1,200 people" in popup
    assert "Buôn Đôn, Buôn Ja" in popup and "2.5 km" in popup
    assert "&lt;img" in site_popup_html(SITES[0], MapMeta("t"))
    assert "deadzone.siteLayer(" not in map_to_html(deadzone_map(zones, meta=MapMeta("t")))


def test_fit_bounds_holds_the_whole_circles() -> None:
    south, west, north, east = _bounds([], SITES)  # type: ignore[misc]
    reach = 2.5 / KM_PER_DEGREE
    assert south == pytest.approx(12.7 - reach) and north == pytest.approx(12.75 + reach)
    assert west == pytest.approx(108.05 - reach / math.cos(math.radians(12.7)))
    zone_only = _bounds([box(108.0, 12.6, 108.01, 12.61)], [])
    assert zone_only == (12.6, 108.0, 12.61, 108.01)
    assert _bounds([box(108.0, 12.6, 108.01, 12.61)], [replace(SITES[0], radius_km=0.0)]) == (
        12.6, 108.0, 12.75, 108.1,
    )  # fmt: skip


def test_every_status_label_the_progress_page_builds_exists() -> None:
    from maps import VILLAGE_STATUSES, Decision
    from maps.i18n import LABELS

    for labels in LABELS.values():
        for status in VILLAGE_STATUSES:
            for prefix in ("village.", "village.alt.", "village.legend.", "layer.villages."):
                assert labels[prefix + status].strip()
        for cell in Decision:
            assert labels[f"centre.{cell.value}"].strip()
