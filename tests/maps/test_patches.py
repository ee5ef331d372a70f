"""Dissolving cells into patches keeps every cell, once, in its own class and operator."""

from __future__ import annotations

from collections import Counter

import h3
import pandas as pd
import pytest
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.ops import unary_union

from maps import CellRecord, Decision, cells_to_frame
from maps.patches import cells_to_components, frame_to_patches


def test_dissolving_preserves_the_cells_of_every_class(cells: pd.DataFrame) -> None:
    frame = cells_to_frame(cells)
    patches = frame_to_patches(frame)
    got: dict[tuple[str, int, str], Counter[str]] = {}
    for patch in patches:
        key = (patch.operator, patch.resolution, patch.status.value)
        got.setdefault(key, Counter()).update(patch.cells)
    for (operator, resolution, status), group in frame.groupby(
        ["operator", "resolution", "status"]
    ):
        counted = got[(str(operator), int(resolution), str(status))]
        assert set(counted) == set(group["h3"])
        assert max(counted.values()) == 1, "a cell was put in two patches"


def test_patch_evidence_adds_up_to_the_cells(cells: pd.DataFrame) -> None:
    frame = cells_to_frame(cells)
    patches = frame_to_patches(frame)
    assert sum(p.readings for p in patches) == frame["readings"].sum()
    assert sum(p.devices for p in patches) == frame["devices"].sum()


def test_patch_outline_covers_exactly_its_cells() -> None:
    origin = h3.latlng_to_cell(12.7, 108.05, 9)
    disk = h3.grid_disk(origin, 3)
    frame = cells_to_frame(
        [CellRecord(h3=c, operator="any", status="dead", readings=5) for c in disk]
    )
    (patch,) = frame_to_patches(frame)
    outline = Polygon(patch.rings[0], patch.rings[1:])
    cells_union = unary_union(
        [Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(c)]) for c in disk]
    )
    assert outline.symmetric_difference(cells_union).area < 1e-9
    assert all(outline.contains(Point(h3.cell_to_latlng(c)[::-1])) for c in disk)


def test_separate_groups_become_separate_patches_and_holes_stay_holes() -> None:
    origin = h3.latlng_to_cell(12.7, 108.05, 9)
    ring = h3.grid_ring(origin, 1)  # a ring of six cells around an empty centre
    far = h3.grid_ring(origin, 5)[0]
    records = [CellRecord(h3=c, operator="any", status="weak") for c in [*ring, far]]
    patches = frame_to_patches(cells_to_frame(records))
    assert sorted(len(p.cells) for p in patches) == [1, 6]
    donut = next(p for p in patches if len(p.cells) == 6)
    assert len(donut.rings) == 2, "the empty centre must be a hole"
    shape = Polygon(donut.rings[0], donut.rings[1:])
    assert not shape.contains(Point(h3.cell_to_latlng(origin)[::-1]))
    assert not isinstance(shape, MultiPolygon)


def test_components_follow_h3_edge_neighbours() -> None:
    origin = h3.latlng_to_cell(12.7, 108.05, 9)
    neighbour = h3.grid_ring(origin, 1)[0]
    two_away = h3.grid_ring(origin, 2)[0]
    groups = cells_to_components([origin, neighbour, two_away])
    sizes = sorted(len(g) for g in groups)
    assert sum(sizes) == 3
    assert sizes[-1] >= 2


def test_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown cell status"):
        cells_to_frame([CellRecord(h3="8965a1a2a2bffff", operator="any", status="great")])


def test_records_and_frames_give_the_same_table() -> None:
    origin = h3.latlng_to_cell(12.7, 108.05, 9)
    records = [CellRecord(h3=origin, operator="452-04", status=Decision.DEAD, readings=4)]
    from_records = cells_to_frame(records)
    from_frame = cells_to_frame(
        pd.DataFrame({"h3": [origin], "operator": ["452-04"], "status": ["dead"], "readings": [4]})
    )
    pd.testing.assert_frame_equal(from_records, from_frame, check_dtype=False)
    assert from_records.loc[0, "resolution"] == 9
