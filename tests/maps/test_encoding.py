"""The compact geometry text decodes to the rounded coordinates; JSON cannot end a script."""

from __future__ import annotations

import json

from maps.encoding import (
    SCALE,
    ints_to_text,
    json_for_script,
    ring_to_deltas,
    rings_to_polygon,
    text_to_ints,
)


def test_integers_survive_the_polyline_text() -> None:
    values = [0, 1, -1, 31, 32, -32, -33, 1023, 1024, 10_805_123, -1_270_000, 2**29, -(2**29)]
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
    deltas = text_to_ints(encoded)
    assert deltas == ring_to_deltas(ring)
    x = y = 0
    decoded = []
    for dx, dy in zip(deltas[::2], deltas[1::2], strict=True):
        x, y = x + dx, y + dy
        decoded.append((x / SCALE, y / SCALE))
    assert len(decoded) == 3, "the closing vertex is implied"
    for (gx, gy), (ex, ey) in zip(decoded, ring, strict=False):
        assert abs(gx - ex) <= 0.5 / SCALE and abs(gy - ey) <= 0.5 / SCALE


def test_json_for_script_cannot_close_the_script_tag() -> None:
    hostile = "</script><script>alert(1)</script><!-- & \u2028"
    text = json_for_script({"name": hostile})
    assert "</" not in text and "<!--" not in text and "&" not in text
    assert json.loads(text) == {"name": hostile}
