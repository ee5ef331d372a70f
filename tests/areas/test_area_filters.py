"""commune= and village= on /v1/cells, /v1/deadzones, /v1/villages and /v1/plan: the one
rule of service.areas.selection, on both databases."""

from __future__ import annotations

import h3
import pytest
from shapely.geometry import box
from sqlalchemy import update

from service.api.routes.areas import VillageList
from service.api.routes.coverage import CellCollection, ZoneList
from service.store.database import session_scope
from service.store.models import DeadZone
from tests.areas.conftest import (
    CENTRE,
    LAT,
    LON,
    import_areas,
    open_zone,
    put_statuses,
    village,
    write_layer,
)

RING = h3.grid_ring(CENTRE, 1)
FAR = h3.latlng_to_cell(LAT + 0.05, LON + 0.05, 9)  # in C2
EMPTY = h3.latlng_to_cell(LAT - 0.005, LON - 0.015, 9)  # in C1, nobody lives there


@pytest.fixture
def grid(tmp_path, settings, sessions):
    """C1 holds V1 (800 people on CENTRE and its ring); C2 holds V2 (400 people at FAR).
    CENTRE covered, RING[0] dead, FAR dead, EMPTY dead; zones: FAR (V2), RING[0] (V1),
    EMPTY (no village, but its centre lies in C1's square)."""
    communes = [
        {"code": "C1", "name": "Ea Ktur", "geometry": box(LON - 0.02, LAT - 0.02,
                                                          LON + 0.02, LAT + 0.02)},
        {"code": "C2", "name": "Ea Tiêu", "geometry": box(LON + 0.03, LAT + 0.03,
                                                          LON + 0.07, LAT + 0.07)},
    ]  # fmt: skip
    import_areas(sessions, settings, write_layer(tmp_path / "c.geojson", communes))
    villages = [village("V1", "Buôn Đôn", CENTRE, 800), village("V2", "Buôn Ko", FAR, 400,
                                                                 commune="C2")]  # fmt: skip
    import_areas(sessions, settings, write_layer(tmp_path / "v.geojson", villages))
    put_statuses(sessions, {CENTRE: "covered", RING[0]: "dead", FAR: "dead", EMPTY: "dead"})
    open_zone(sessions, [FAR], "dz-any-far")
    open_zone(sessions, [RING[0]], "dz-any-ring")
    open_zone(sessions, [EMPTY], "dz-any-empty")
    with session_scope(sessions) as session:
        for zone_id, codes in (("dz-any-far", ["V2"]), ("dz-any-ring", ["V1"])):
            session.execute(update(DeadZone).where(DeadZone.id == zone_id).values(villages=codes))


def zone_ids(client, **params) -> set[str]:
    response = client.get("/v1/deadzones", params=params)
    assert response.status_code == 200, response.text
    return {z.id for z in ZoneList.model_validate(response.json()).zones}


def test_deadzones_by_commune_keep_the_zones_whose_cells_or_villages_lie_in_it(grid, client):
    assert zone_ids(client) == {"dz-any-far", "dz-any-ring", "dz-any-empty"}
    assert zone_ids(client, commune="C1") == {"dz-any-ring", "dz-any-empty"}
    assert zone_ids(client, commune="C2") == {"dz-any-far"}
    assert zone_ids(client, village="V1") == {"dz-any-ring"}
    page = client.get("/v1/deadzones", params={"commune": "C1", "limit": 1}).json()
    assert page["total"] == 2 and len(page["zones"]) == 1


def test_deadzones_name_their_villages_in_json_as_in_the_files(grid, client):
    """The JSON carries the villages' names beside their codes, as the CSV and GeoJSON do
    (README: "with its villages' names"); one zone alone, too."""
    zones = {z["id"]: z for z in client.get("/v1/deadzones").json()["zones"]}
    assert (zones["dz-any-far"]["villages"], zones["dz-any-far"]["village_names"]) == (
        ["V2"], ["Buôn Ko"],
    )  # fmt: skip
    assert zones["dz-any-empty"]["village_names"] is None
    one = client.get("/v1/deadzones/dz-any-ring").json()["properties"]
    assert one["village_names"] == ["Buôn Đôn"]


def test_deadzone_downloads_are_filtered_too(grid, client):
    csv_text = client.get("/v1/deadzones", params={"commune": "C2", "format": "csv"}).text
    assert "dz-any-far" in csv_text and "dz-any-ring" not in csv_text


def test_cells_of_a_commune_need_no_bbox(grid, client):
    response = client.get("/v1/cells", params={"commune": "C1"})
    assert response.status_code == 200, response.text
    body = CellCollection.model_validate(response.json())
    assert {f.id for f in body.features} == {CENTRE, RING[0], EMPTY}
    village_cells = client.get("/v1/cells", params={"village": "V2"}).json()["features"]
    assert [f["id"] for f in village_cells] == [FAR]
    # With a bbox as well: both apply.
    bbox = f"{LON + 0.025},{LAT + 0.025},{LON + 0.08},{LAT + 0.08}"
    assert client.get("/v1/cells", params={"bbox": bbox, "commune": "C1"}).json()["features"] == []


def test_cells_without_bbox_or_area_are_refused_naming_bbox(grid, client):
    response = client.get("/v1/cells")
    assert response.status_code == 422 and response.json()["field"] == "bbox"


def test_villages_by_village_code(grid, client):
    body = VillageList.model_validate(client.get("/v1/villages", params={"village": "V2"}).json())
    assert [v.code for v in body.villages] == ["V2"]
    body = VillageList.model_validate(client.get("/v1/villages", params={"commune": "C1"}).json())
    assert [v.code for v in body.villages] == ["V1"]


def test_plan_of_a_commune_targets_only_its_people(grid, client):
    whole = client.get("/v1/plan", params={"sites": 5}).json()
    c2 = client.get("/v1/plan", params={"sites": 5, "commune": "C2"}).json()
    assert whole["people_without_signal"] > c2["people_without_signal"] > 0
    villages = {v["code"] for site in c2["sites"] for v in site["villages"]}
    assert villages == {"V2"}
    assert c2["commune"] == "C2" and c2["village"] is None


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"commune": "NOPE"}, 404, "commune"),
        ({"village": "NOPE"}, 404, "village"),
        ({"commune": "C1", "village": "V2"}, 422, "village"),
    ],
)
def test_unknown_areas_are_named(grid, client, params, status, field):
    for path in ("/v1/deadzones", "/v1/villages", "/v1/plan", "/v1/cells"):
        response = client.get(path, params=params)
        assert response.status_code == status, (path, response.text)
        assert response.json()["field"] == field
