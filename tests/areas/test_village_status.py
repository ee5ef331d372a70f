"""Village status at its edges, as the authorities count villages (service.areas.progress)."""

from __future__ import annotations

import h3
import pytest
from shapely.geometry import box

from service.areas.progress import village_states
from tests.areas.conftest import CENTRE, import_areas, put_statuses, village, write_layer

RING = h3.grid_ring(CENTRE, 1)


def status_of(sessions, settings, operator: str = "any") -> dict[str, str]:
    with sessions() as session:
        return {s.code: s.status for s in village_states(session, settings, operator=operator)}


@pytest.fixture
def one_village(tmp_path, settings, sessions):
    """Village V1 with 700 people spread over CENTRE and its six neighbours."""
    import_areas(
        sessions, settings, write_layer(tmp_path / "v.geojson", [village("V1", "A", CENTRE, 700)])
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ({CENTRE: "dead"}, "trang_song"),
        ({CENTRE: "dead", **dict.fromkeys(RING, "covered")}, "trang_song"),
        ({CENTRE: "covered"}, "covered"),
        ({CENTRE: "weak"}, "covered"),  # 1 bar is a signal
        ({CENTRE: "covered", RING[0]: "dead"}, "lom_song"),
        ({CENTRE: "weak", RING[3]: "dead"}, "lom_song"),
        ({CENTRE: "covered", RING[0]: "unknown"}, "covered"),
        ({CENTRE: "unknown", RING[0]: "dead"}, "unknown"),
        ({RING[0]: "covered"}, "unknown"),  # centre never measured
        ({}, "unknown"),
    ],
)
def test_village_status_from_its_cells(one_village, settings, sessions, statuses, expected):
    put_statuses(sessions, statuses)
    assert status_of(sessions, settings) == {"V1": expected}


def test_dead_cell_outside_the_village_cells_does_not_make_it_lom_song(
    one_village, settings, sessions
):
    outside = h3.grid_ring(CENTRE, 2)[0]
    put_statuses(sessions, {CENTRE: "covered", outside: "dead"})
    assert status_of(sessions, settings) == {"V1": "covered"}


def test_dead_unpopulated_cell_of_a_cluster_does_not_count(tmp_path, settings, sessions):
    # A cluster holding no cell centre puts everyone in the centre cell: its neighbours are
    # not village cells, so a dead neighbour leaves the village covered.
    lat, lon = h3.cell_to_latlng(CENTRE)
    tiny = box(lon - 0.0002, lat - 0.0002, lon + 0.0002, lat + 0.0002)
    rec = village("V1", "A", CENTRE, 300, geometry=tiny)
    rec["lat"], rec["lon"] = lat + 0.0001, lon + 0.0001  # centre inside the tiny cluster
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", [rec]))
    put_statuses(sessions, {CENTRE: "covered", RING[0]: "dead"})
    with sessions() as session:
        (state,) = village_states(session, settings)
    assert state.status == "covered" and state.cells == 1 and state.people_dead == 0


def test_status_per_operator(one_village, settings, sessions):
    put_statuses(sessions, {CENTRE: "covered"}, operator="any")
    put_statuses(sessions, {CENTRE: "dead"}, operator="452-04")
    assert status_of(sessions, settings) == {"V1": "covered"}
    assert status_of(sessions, settings, "452-04") == {"V1": "trang_song"}
    assert status_of(sessions, settings, "452-01") == {"V1": "unknown"}


def test_villages_endpoint_lists_statuses_with_names_as_text(tmp_path, settings, sessions, client):
    hostile = "<script>alert(1)</script>"
    import_areas(
        sessions, settings,
        write_layer(tmp_path / "v.geojson", [village("V1", hostile, CENTRE, 700)]),
    )  # fmt: skip
    put_statuses(sessions, {CENTRE: "covered", RING[1]: "dead"})
    body = client.get("/v1/villages", params={"commune": "C1"}).json()
    (only,) = body["villages"]
    assert only["name"] == hostile and only["status"] == "lom_song"
    # 700 people: 175 at the centre, 87.5 per neighbour rounded to 87 or 88 (whole people).
    assert only["cells"] == 7 and only["cells_dead"] == 1 and only["people_dead"] in (87, 88)
    # A commune nobody imported is a mistake to report, not an empty list.
    unknown = client.get("/v1/villages", params={"commune": "nope"})
    assert unknown.status_code == 404 and unknown.json()["field"] == "commune"
