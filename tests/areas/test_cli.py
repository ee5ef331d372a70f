"""``deadzone snapshot`` and ``deadzone import-population`` from the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from service.cli import app as cli
from service.store.models import CellPopulation, ProgressSnapshot
from tests.areas.conftest import CENTRE, LAT, LON, import_areas, put_statuses, village, write_layer


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def test_snapshot_command_is_idempotent_per_day(tmp_path, settings, sessions):
    import_areas(
        sessions, settings, write_layer(tmp_path / "v.geojson", [village("V1", "A", CENTRE, 400)])
    )
    put_statuses(sessions, {CENTRE: "dead"})
    for _ in range(2):
        result = run("snapshot", "--database-url", settings.database_url)
        assert result.exit_code == 0, result.output
    assert "province covered (broadband) 0.0% of 400 people" in result.output
    assert "trang song 1" in result.output
    with sessions() as session:
        # The province and the village's commune C1 (known from the village file).
        assert session.scalar(select(func.count()).select_from(ProgressSnapshot)) == 2


def test_import_population_command(tmp_path, settings, sessions):
    rasterio = pytest.importorskip("rasterio")
    import numpy as np
    from rasterio.transform import from_origin

    path = tmp_path / "pop.tif"
    with rasterio.open(
        path, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(LON, LAT, 0.001, 0.001),
    ) as out:  # fmt: skip
        out.write(np.array([[1.5, 2.5], [3, 4]], dtype="float32"), 1)
    result = run("import-population", str(path), "--database-url", settings.database_url)
    assert result.exit_code == 0, result.output
    assert "11 people on the grid" in result.output
    with sessions() as session:
        assert session.scalar(select(func.sum(CellPopulation.people))) == pytest.approx(11)


def test_import_population_refuses_what_is_not_a_raster(tmp_path, settings):
    pytest.importorskip("rasterio")
    path = tmp_path / "pop.tif"
    path.write_text("not a tiff")
    result = run("import-population", str(path), "--database-url", settings.database_url)
    assert result.exit_code == 2 and "cannot read pop.tif" in result.output
