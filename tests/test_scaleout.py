"""Statistics rebuilt on a Dask cluster (two worker processes) equal the single-machine
rebuild, read from the database or from the GeoParquet archive."""

from __future__ import annotations

from collections.abc import Iterator

import geopandas
import pytest
from typer.testing import CliRunner

from service.engine.archive import export_readings, read_manifest
from service.engine.scaleout import DaskSource
from service.engine.statistics import load_cell_stats, rebuild, safe_max_seq, watermark
from service.errors import InvalidInput
from service.jobs import run_aggregation
from service.store.database import session_scope
from tests.coverage_helpers import ingest
from tests.test_columnar import varied_readings


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    """A real local Dask cluster: two worker processes, one thread each."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, host="127.0.0.1",
        dashboard_address=None, memory_limit="1GiB",
    ) as cluster:  # fmt: skip
        yield cluster.scheduler_address


def local_statistics(sessions, settings) -> dict:
    with session_scope(sessions) as s:
        top = safe_max_seq(s)
    with session_scope(sessions) as s:
        rebuild(s, settings, up_to=top)
    with sessions() as s:
        return load_cell_stats(s, resolution=9)


def test_statistics_on_dask_equal_the_single_machine_rebuild(settings, sessions, scheduler):
    ingest(sessions, settings, varied_readings(21, 600))
    expected = local_statistics(sessions, settings)
    # Small partitions (resolution 7) so the readings spread over many tasks.
    settings = settings.model_copy(update={"dask_partition_resolution": 7})
    with session_scope(sessions) as s:
        top = safe_max_seq(s)
    steps: list[tuple[str, int, int]] = []
    with session_scope(sessions) as s:
        rebuild(
            s, settings, up_to=top, dask=DaskSource(scheduler), progress=lambda *a: steps.append(a)
        )
    with sessions() as s:
        assert load_cell_stats(s, resolution=9) == expected
    partitions = [total for step, _, total in steps if step == "partitions"]
    assert partitions and partitions[0] > 6  # months x parents: really split


def test_archive_on_dask_then_newer_readings_merged_equal_one_rebuild(
    settings, sessions, scheduler, tmp_path
):
    ingest(sessions, settings, varied_readings(22, 400))
    with session_scope(sessions) as s:
        top = safe_max_seq(s)
    with session_scope(sessions, write=False) as s:
        manifest = export_readings(
            s.connection(), tmp_path / "archive", up_to=top, parent_resolution=6
        )
    assert manifest.readings == 400 and read_manifest(tmp_path / "archive") == manifest
    month = tmp_path / "archive" / f"month={manifest.months[0]}"
    points = geopandas.read_parquet(next(month.glob("*.parquet")))
    assert (
        points.crs is not None
        and points.crs.to_epsg() == 4326
        or points.crs.name == "WGS 84 (CRS84)"
    )
    assert (points.geometry.geom_type == "Point").all()
    ingest(sessions, settings, varied_readings(23, 150))  # arrives after the export
    report = run_aggregation(sessions, settings, dask=DaskSource(scheduler, tmp_path / "archive"))
    with sessions() as s:
        from_archive = load_cell_stats(s, resolution=9)
        assert watermark(s) == report.max_seq
    assert sum(v.readings for v in from_archive.values()) == 550
    assert from_archive == local_statistics(sessions, settings)


def test_cli_exports_an_archive_and_aggregates_from_it_on_dask(
    settings, sessions, scheduler, tmp_path
):
    from service.cli import app

    ingest(sessions, settings, varied_readings(24, 120))
    env = {
        "DEADZONE_DATABASE_URL": settings.database_url,
        "DEADZONE_DEVICE_SECRET": settings.device_secret.get_secret_value(),
        "DEADZONE_ENVIRONMENT": "development",
    }
    runner = CliRunner()
    out = runner.invoke(
        app, ["export", "readings", "--format", "parquet", str(tmp_path / "a")], env=env
    )
    assert out.exit_code == 0, out.output
    assert "120 readings" in " ".join(out.output.split())  # rich wraps long lines
    again = runner.invoke(app, ["export", "readings", str(tmp_path / "a")], env=env)
    # `main` turns the domain error into one line; through `app` it is the exception.
    assert isinstance(again.exception, InvalidInput)
    assert "already holds a readings archive" in str(again.exception)
    out = runner.invoke(
        app, ["aggregate", "--dask", scheduler, "--archive", str(tmp_path / "a")], env=env
    )
    assert out.exit_code == 0, out.output
    with sessions() as s:
        assert sum(v.readings for v in load_cell_stats(s, resolution=9).values()) == 120
