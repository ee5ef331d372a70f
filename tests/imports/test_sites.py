"""Cell sites on both databases: ``deadzone import-sites``, upserts, and ``GET /v1/sites``."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import func, inspect, select, text

from service.api.routes.sites import SiteCollection
from service.grid import BBox
from service.ingest.sites import find_sites
from service.store.models import Site
from tests.imports.conftest import DATA

EXPORT = (DATA / "cell_export.csv").read_text(encoding="utf-8")


def sites_stored(sessions) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Site)))


def test_cell_export_is_imported_then_updated(run_cli, sessions, tmp_path):
    path = Path(shutil.copy(DATA / "cell_export.csv", tmp_path / "452.csv"))
    first = run_cli("import-sites", path)
    assert first.exit_code == 0, first.output
    assert "sites added 6, updated 0, rejected 0 rows" in first.output

    # A newer export: one cell has moved and gained samples, one cell is new.
    lines = EXPORT.splitlines()
    lines[3] = "LTE,452,4,12101,26200321,123,108.1090,12.6050,1000,900,1,1525132800,1763000000,-99"
    lines.append("LTE,452,5,501,77001,12,108.2001,12.7001,2000,4,1,1700000000,1763000000,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    second = run_cli("import-sites", path)
    assert "sites added 1, updated 6, rejected 0 rows" in second.output
    assert sites_stored(sessions) == 7
    with sessions() as s:
        moved = s.scalars(select(Site).where(Site.cell == 26200321)).one()
    assert (moved.lat, moved.lon, moved.samples, moved.average_signal) == (
        12.6050, 108.1090, 900, -99,
    )  # fmt: skip
    assert (moved.operator, moved.geom.x, moved.geom.y) == ("452-04", 108.1090, 12.6050)


def test_bad_rows_are_reported_and_good_ones_kept(run_cli, sessions, tmp_path):
    lines = EXPORT.splitlines()
    lines[2] = lines[2].replace("UMTS", "CDMA")  # line 3
    lines[5] = lines[5].replace("108.0381", "east")  # line 6
    path = tmp_path / "cells.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("import-sites", path)
    assert result.exit_code == 0, result.output
    assert "sites added 4, updated 0, rejected 2 rows" in result.output
    report = (tmp_path / "cells.csv.rejected.csv").read_text(encoding="utf-8").splitlines()
    assert [row.split(",")[:3] for row in report[1:]] == [["3", "", "radio"], ["6", "", "lon"]]
    assert sites_stored(sessions) == 4


def test_a_cell_twice_in_one_file_is_stored_once(run_cli, sessions, tmp_path):
    lines = EXPORT.splitlines()
    path = tmp_path / "cells.csv"
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    assert "sites added 6, updated 1" in run_cli("import-sites", path).output
    assert sites_stored(sessions) == 6


def test_readings_file_given_to_import_sites_is_refused(run_cli, sessions, tmp_path):
    path = Path(shutil.copy(DATA / "towercollector.csv", tmp_path / "tc.csv"))
    result = run_cli("import-sites", path)
    assert result.exit_code == 2 and "expected a cell export" in result.output
    assert sites_stored(sessions) == 0


def test_sites_by_bbox_and_operator(run_cli, sessions, client, tmp_path):
    run_cli("import-sites", Path(shutil.copy(DATA / "cell_export.csv", tmp_path / "c.csv")))
    with sessions() as s:
        total, found = find_sites(s, bbox=BBox(108.1, 12.6, 108.2, 12.7), operator="452-04")
    assert total == 2 and sorted(site.cell for site in found) == [23456, 26200321]

    response = client.get("/v1/sites", params={"bbox": "108.1,12.6,108.2,12.7"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    collection = SiteCollection.model_validate(response.json())
    assert collection.numberMatched == 3
    assert {f.properties.operator for f in collection.features} == {"452-04", "452-02"}
    gsm = next(f for f in collection.features if f.properties.radio == "gsm")
    assert gsm.geometry.coordinates == [108.1148, 12.6127]
    assert (gsm.properties.range_m, gsm.properties.average_signal_dbm) == (1850, None)

    limited = client.get("/v1/sites", params={"operator": "452-04", "radio": "lte", "limit": 1})
    body = SiteCollection.model_validate(limited.json())
    assert (body.numberMatched, body.numberReturned) == (2, 1)


def test_bad_site_queries_say_what_is_wrong(client):
    assert client.get("/v1/sites", params={"bbox": "1,2,3"}).json()["field"] == "bbox"
    assert client.get("/v1/sites", params={"operator": "viettel"}).status_code == 422


def test_sites_point_is_a_postgis_geometry_with_a_spatial_index(engine):
    if engine.dialect.name != "postgresql":
        assert "geom" in {c["name"] for c in inspect(engine).get_columns("sites")}
        return
    with engine.connect() as conn:
        kind = conn.execute(
            text(
                "SELECT type, srid FROM geometry_columns "
                "WHERE f_table_name = 'sites' AND f_geometry_column = 'geom'"
            )
        ).one()
        index = conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_sites_geom'")
        ).scalar_one()
    assert tuple(kind) == ("POINT", 4326) and "USING gist" in index
