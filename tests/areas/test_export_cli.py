"""`deadzone export zones|cells|villages|plan`: the API's GeoPackages from the command line,
opened with pyogrio (GDAL, as QGIS does); and `deadzone calibrate`."""

from __future__ import annotations

import pyogrio
import pytest
from typer.testing import CliRunner

from service.cli import app as cli
from tests.areas.conftest import CENTRE
from tests.areas.test_area_filters import EMPTY, RING, grid  # noqa: F401  (the fixture)


def run(*args: str):
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize(
    ("kind", "layer", "extra", "expected"),
    [
        ("zones", "deadzones", ["--commune", "C1"], {"dz-any-ring", "dz-any-empty"}),
        ("cells", "cells", ["--commune", "C1"], {CENTRE, RING[0], EMPTY}),
        ("villages", "villages", [], {"V1", "V2"}),
        ("plan", "sites", ["--sites", "3", "--band", "700"], None),
    ],
)
def test_export_writes_a_geopackage_qgis_opens(
    grid,  # noqa: F811
    settings,
    tmp_path,
    kind,
    layer,
    extra,
    expected,  # noqa: F811
):
    out = tmp_path / f"{kind}.gpkg"
    result = run("export", kind, *extra, "-o", str(out), "--database-url", settings.database_url)
    assert result.exit_code == 0, result.output
    assert pyogrio.list_layers(out)[:, 0].tolist() == [layer]
    frame = pyogrio.read_dataframe(out)
    assert frame.crs.to_epsg() == 4326 and len(frame) > 0
    key = {"deadzones": "id", "cells": "h3", "villages": "code", "sites": "rank"}[layer]
    if expected is not None:
        assert set(frame[key]) == expected
    else:
        assert frame["rank"].tolist() == list(range(1, len(frame) + 1))


def test_export_zones_as_csv_and_a_bad_band(grid, settings, tmp_path):  # noqa: F811
    out = tmp_path / "z.csv"
    result = run("export", "zones", "--format", "csv", "-o", str(out),
                 "--database-url", settings.database_url)  # fmt: skip
    assert result.exit_code == 0 and "dz-any-far" in out.read_text(encoding="utf-8-sig")
    bad = run("export", "plan", "--band", "1000", "--database-url", settings.database_url)
    assert bad.exit_code == 2 and "--band must be one of" in bad.output


def test_calibrate_without_sites_says_what_it_needs(grid, settings):  # noqa: F811
    result = run("calibrate", "--database-url", settings.database_url)
    assert result.exit_code == 0 and "import-sites" in result.output


def test_zones_shows_people_and_villages_within_80_columns(grid, settings, sessions):  # noqa: F811
    from sqlalchemy import update

    from service.store.database import session_scope
    from service.store.models import DeadZone

    with session_scope(sessions) as session:
        session.execute(update(DeadZone).where(DeadZone.id == "dz-any-far")
                        .values(population=1234.0, rank=1, priority=9.0))  # fmt: skip
    result = CliRunner().invoke(
        cli, ["zones", "--database-url", settings.database_url], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    far = next(line for line in lines if "dz-any-far" in line)
    assert "1,234" in far and "1: Buôn Ko" in far
    assert any("people" in line and "villages" in line for line in lines)


@pytest.mark.parametrize(
    "command",
    [
        ["zones"],
        ["plan"],
        ["map", "coverage", "-o", "{tmp}/never.html"],
        ["map", "deadzones", "-o", "{tmp}/never.html"],
        ["export", "zones"],
        ["export", "cells"],
        ["export", "villages"],
        ["export", "plan"],
    ],
)
@pytest.mark.parametrize("operator", ["452-4", "viettel", "999"])
def test_a_misspelt_operator_is_refused_not_answered_empty(tmp_path, command, operator):
    # These wrote "Dead zones (999): 0 in all", an empty map or GeoPackage, exit 0.
    args = [arg.format(tmp=tmp_path) for arg in command]
    database = ["--database-url", f"sqlite:///{tmp_path}/x"]
    result = run(*args, "--operator", operator, *database)
    assert result.exit_code == 2, result.output
    assert f"{operator!r} is not an operator: use an MCC-MNC such as 452-04" in result.output
    assert not (tmp_path / "never.html").exists()
