"""The compact geometry text decodes to the rounded coordinates; JSON cannot end a script."""

from __future__ import annotations

import json
import random

import h3

from maps.encoding import (
    SCALE,
    ints_to_text,
    json_for_script,
    ring_to_deltas,
    ring_to_text,
    rings_to_polygon,
    text_to_ints,
    text_to_ring,
)


def test_integers_survive_the_polyline_text() -> None:
    values = [0, 1, -1, 31, 32, -32, -33, 1023, 1024, 10_805_123, -1_270_000, 2**29, -(2**51)]
    assert text_to_ints(ints_to_text(values)) == values


def test_polyline_text_has_no_characters_that_need_html_or_json_care() -> None:
    text = ints_to_text(list(range(-5000, 5000, 7)))
    assert set(text) <= {chr(c) for c in range(63, 127)}
    assert not set('<>&"') & set(text)


def test_ring_decodes_to_coordinates_rounded_to_the_scale() -> None:
    ring = [
        (108.051234, 12.700009),
        (108.052, 12.7011),
        (108.0509, 12.7015),
        (108.051234, 12.700009),
    ]
    (encoded,) = rings_to_polygon([ring])
    decoded = [(x / SCALE, y / SCALE) for x, y in text_to_ring(encoded)]
    assert len(decoded) == 3, "the closing vertex is implied"
    for (gx, gy), (ex, ey) in zip(decoded, ring, strict=False):
        assert abs(gx - ex) <= 0.5 / SCALE and abs(gy - ey) <= 0.5 / SCALE


def test_json_for_script_cannot_close_the_script_tag() -> None:
    hostile = "</script><script>alert(1)</script><!-- & \u2028"
    text = json_for_script({"name": hostile})
    assert "</" not in text and "<!--" not in text and "&" not in text
    assert json.loads(text) == {"name": hostile}


def _absolute(ring: list[tuple[float, float]]) -> list[tuple[int, int]]:
    deltas = ring_to_deltas(ring)
    points, x, y = [], 0, 0
    for dx, dy in zip(deltas[::2], deltas[1::2], strict=True):
        x, y = x + dx, y + dy
        points.append((x, y))
    return points


def test_any_ring_round_trips_through_turn_codes() -> None:
    rng = random.Random(11)
    for _ in range(500):
        ring = [(rng.uniform(-180, 180), rng.uniform(-85, 85)) for _ in range(rng.randint(1, 20))]
        assert text_to_ring(ring_to_text(ring)) == _absolute(ring)


def test_hexagon_outlines_cost_about_one_character_per_vertex() -> None:
    origin = h3.latlng_to_cell(12.7, 108.05, 9)
    outline = list(h3.cells_to_geo(list(h3.grid_disk(origin, 12)))["coordinates"][0])
    text = ring_to_text(outline)
    assert text_to_ring(text) == _absolute(outline)
    assert len(text) < 1.2 * len(outline) + 20


def test_geometries_encode_in_one_pass_as_each_ring_alone():
    from shapely.geometry import MultiPolygon, Polygon

    from maps.encoding import geometries_to_polygons, geometry_to_polygons

    holed = Polygon(
        [(108.0, 12.6), (108.1, 12.6), (108.1, 12.7), (108.0, 12.7)],
        [[(108.02, 12.62), (108.04, 12.62), (108.04, 12.64)]],
    )
    several = MultiPolygon([holed, Polygon([(108.2, 12.6), (108.3, 12.6), (108.25, 12.7)])])
    for geometry in (holed, several):
        parts = getattr(geometry, "geoms", [geometry])
        by_ring = [
            rings_to_polygon([p.exterior.coords, *(i.coords for i in p.interiors)]) for p in parts
        ]
        assert geometry_to_polygons(geometry) == by_ring
    assert geometries_to_polygons([holed, several]) == [
        geometry_to_polygons(holed),
        geometry_to_polygons(several),
    ]
