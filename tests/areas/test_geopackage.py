"""format=gpkg: zones, cells, villages and the plan as GeoPackages that GDAL (pyogrio, what
QGIS uses underneath) opens with their geometry, CRS and columns."""

from __future__ import annotations

from pathlib import Path

import pyogrio
import pytest

from service.publish.geopackage import MEDIA_TYPE
from tests.areas.conftest import CENTRE, put_statuses
from tests.areas.test_area_filters import EMPTY, FAR, RING, grid  # noqa: F401  (the fixture)


def open_gpkg(response, layer: str, folder: Path):
    """Save the download as the browser would, under its own name, and open it."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    name = response.headers["content-disposition"].split('filename="')[1].rstrip('"')
    assert name.endswith(".gpkg")
    assert response.content[:16] == b"SQLite format 3\x00"
    path = folder / name
    path.write_bytes(response.content)
    assert pyogrio.list_layers(path)[:, 0].tolist() == [layer]
    frame = pyogrio.read_dataframe(path, layer=layer)
    assert frame.crs.to_epsg() == 4326
    return frame


def test_deadzones_as_geopackage(grid, client, tmp_path):  # noqa: F811
    frame = open_gpkg(client.get("/v1/deadzones", params={"format": "gpkg"}), "deadzones", tmp_path)
    assert set(frame["id"]) == {"dz-any-far", "dz-any-ring", "dz-any-empty"}
    assert set(frame.geometry.geom_type) == {"MultiPolygon"}
    assert frame.set_index("id").loc["dz-any-far", "villages"] == "V2"
    filtered = open_gpkg(
        client.get("/v1/deadzones", params={"format": "gpkg", "commune": "C2"}),
        "deadzones",
        tmp_path,
    )
    assert filtered["id"].tolist() == ["dz-any-far"]


def test_cells_villages_and_plan_as_geopackages(grid, client, tmp_path):  # noqa: F811
    response = client.get("/v1/cells", params={"commune": "C1", "format": "gpkg"})
    cells = open_gpkg(response, "cells", tmp_path)
    assert set(cells["h3"]) == {CENTRE, RING[0], EMPTY}
    assert set(cells.geometry.geom_type) == {"Polygon"}
    villages = open_gpkg(
        client.get("/v1/villages", params={"format": "gpkg"}), "villages", tmp_path
    )
    assert villages.set_index("code").loc["V2", "status"] == "trang_song"
    assert set(villages.geometry.geom_type) == {"Point"}
    plan = open_gpkg(
        client.get("/v1/plan", params={"format": "gpkg", "sites": 3}), "sites", tmp_path
    )
    assert plan["rank"].tolist() == list(range(1, len(plan) + 1)) and len(plan) >= 1
    assert "V2" in ";".join(plan["villages"])
    # What the CSV and the JSON say of each site, a GIS table says on every row: the
    # villages' names, the model and how far it reaches.
    answer = client.get("/v1/plan", params={"sites": 3}).json()
    model = answer["model"]
    first = plan.iloc[0]
    assert first["village_names"] == ";".join(v["name"] for v in answer["sites"][0]["villages"])
    assert first["model"] == model["name"] and first["terrain"] == answer["terrain"]
    for key in ("band_mhz", "mast_height_m", "eirp_dbm", "radius_km"):
        assert first[key] == pytest.approx(model[key])


def test_an_empty_answer_is_an_empty_layer(grid, client, sessions, tmp_path):  # noqa: F811
    put_statuses(sessions, {FAR: "covered"}, operator="452-01")
    response = client.get("/v1/deadzones", params={"format": "gpkg", "operator": "452-01"})
    assert len(open_gpkg(response, "deadzones", tmp_path)) == 0


@pytest.mark.parametrize("path", ["/v1/summary", "/v1/progress/areas"])
def test_routes_without_a_geopackage_refuse_it_naming_format(client, path):
    response = client.get(path, params={"format": "gpkg"})
    assert response.status_code == 422
