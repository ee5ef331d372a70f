"""Village status at its edges, as the authorities count villages (service.areas.progress)."""

from __future__ import annotations

import h3
import pytest
from shapely.geometry import box
from sqlalchemy import select

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


def _set_evidence(sessions, cell: str, **values) -> None:
    from sqlalchemy import update

    from service.store.database import session_scope
    from service.store.models import CellStatus

    with session_scope(sessions) as session:
        session.execute(
            update(CellStatus)
            .where(CellStatus.h3_cell == h3.str_to_int(cell), CellStatus.operator == "any")
            .values(**values)
        )


def test_lom_song_rests_on_the_centre_and_the_dead_cells(one_village, settings, sessions, client):
    from datetime import timedelta

    from tests.areas.conftest import NOW

    put_statuses(
        sessions, {CENTRE: "covered", RING[0]: "dead", RING[1]: "dead", RING[2]: "covered"}
    )
    _set_evidence(sessions, RING[0], readings=5, devices=4, confidence=0.57,
                  last_seen=NOW - timedelta(days=1))  # fmt: skip
    _set_evidence(sessions, RING[1], readings=4, devices=3, confidence=0.51)
    with sessions() as session:
        (state,) = village_states(session, settings, evidence=True)
    assert state.status == "lom_song"
    # Centre (10 readings, 3 phones, 0.9) and the two dead cells; not the covered one.
    assert (state.evidence_readings, state.evidence_devices) == (19, 4)
    assert state.evidence_last_seen == NOW - timedelta(days=1)
    assert state.confidence == pytest.approx(0.57)  # the centre's 0.9, the surest dead 0.57
    (body,) = client.get("/v1/villages").json()["villages"]
    assert (body["status"], body["evidence_readings"], body["confidence"]) == ("lom_song", 19, 0.57)
    assert body["evidence_last_seen"].startswith((NOW - timedelta(days=1)).date().isoformat())


def test_trang_song_rests_on_its_centre_and_unknown_on_nothing(one_village, settings, sessions):
    put_statuses(sessions, {CENTRE: "dead", RING[0]: "covered"})
    _set_evidence(sessions, CENTRE, readings=5, devices=4, confidence=0.57)
    with sessions() as session:
        (state,) = village_states(session, settings, evidence=True)
    assert (state.status, state.evidence_readings, state.evidence_devices) == ("trang_song", 5, 4)
    assert state.confidence == pytest.approx(0.57)
    put_statuses(sessions, {CENTRE: "unknown"})
    _set_evidence(sessions, CENTRE, readings=2, devices=1, confidence=0.0)
    with sessions() as session:
        (state,) = village_states(session, settings, evidence=True)
    assert (state.status, state.evidence_readings, state.confidence) == ("unknown", 2, 0.0)


# Residential clusters given as points: each stands for the cell it lies in, so the
# village's cells are its centre and its clusters' cells, two rings out here.
FAR = h3.grid_ring(CENTRE, 2)
CLUSTER_CELLS = (FAR[0], FAR[6])


def _points(cells):
    from shapely.geometry import MultiPoint

    return MultiPoint([(lon, lat) for lat, lon in (h3.cell_to_latlng(c) for c in cells)])


def _village_cells(sessions):
    from service.store.models import VillageCell

    with sessions() as session:
        return {h3.int_to_str(c) for c in session.scalars(select(VillageCell.h3_cell))}


def test_lom_song_on_cluster_points_of_the_village_feature(tmp_path, settings, sessions):
    rec = village("V1", "A", CENTRE, 600, geometry=_points(CLUSTER_CELLS))
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", [rec]))
    assert _village_cells(sessions) == {CENTRE, *CLUSTER_CELLS}
    # A dead cell next to the centre is nobody's home here; a dead cluster is lõm sóng.
    put_statuses(sessions, {CENTRE: "covered", RING[0]: "dead"})
    assert status_of(sessions, settings) == {"V1": "covered"}
    put_statuses(sessions, {FAR[6]: "dead"})
    assert status_of(sessions, settings) == {"V1": "lom_song"}


def test_cluster_file_names_its_villages(tmp_path, settings, sessions, one_village):
    from shapely.geometry import Point

    lat, lon = h3.cell_to_latlng(CLUSTER_CELLS[0])
    lat2, lon2 = h3.cell_to_latlng(CLUSTER_CELLS[1])
    path = write_layer(tmp_path / "clusters.geojson", [
        {"village": "V1", "geometry": Point(lon, lat)},
        {"village": "V1", "geometry": Point(lon2, lat2)},
        {"village": "NOPE", "geometry": Point(lon, lat)},
    ])  # fmt: skip
    found, _, updated = import_areas(sessions, settings, path)
    assert found.kind == "cluster" and updated == 1
    assert [(r.feature, r.reason) for r in found.rejected] == [
        ("feature 3", "village 'NOPE' is not imported (import the villages first)")
    ]
    assert _village_cells(sessions) == {CENTRE, *CLUSTER_CELLS}  # the disk gave way
    put_statuses(sessions, {CENTRE: "covered", FAR[0]: "dead"})
    assert status_of(sessions, settings) == {"V1": "lom_song"}


def test_cluster_points_without_a_centre_are_refused_by_name(tmp_path, settings, sessions):
    rec = village("V1", "A", CENTRE, 600, geometry=_points(CLUSTER_CELLS))
    del rec["lon"], rec["lat"]
    found, inserted, _ = import_areas(sessions, settings, write_layer(tmp_path / "v.gpkg", [rec]))
    assert inserted == 0
    ((feature, reason),) = [(r.feature, r.reason) for r in found.rejected]
    assert feature == "code 'V1'" and "centre (the cultural house) in lon and lat" in reason
