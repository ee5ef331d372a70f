"""Fuzzing the API from its own OpenAPI document (schemathesis): no generated request, valid
or not, may get a 5xx. Bounded: a few examples per operation, so `make test` stays short."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import BACKENDS, TEST_SECRET, PostgisServer

EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="module", params=BACKENDS)
def fuzzed_app(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    postgis_server: PostgisServer | None,
) -> Iterator[FastAPI]:
    """One app on a fresh database of each backend, its lifespan running for the whole
    module: PostgreSQL refuses what SQLite takes (NUL in text, integers wider than a
    column), so a request can be a 5xx on one only."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
    elif postgis_server is None:
        pytest.skip("PostGIS test server unavailable (set CI=true to make this fail)")
    else:
        url = postgis_server.url_for(database := postgis_server.create_database())
    app = create_app(Settings(database_url=url, device_secret=TEST_SECRET,
                              aggregate_interval_s=0))  # fmt: skip
    try:
        with TestClient(app):
            yield app
    finally:
        if request.param == "postgis":
            postgis_server.drop_database(database)  # type: ignore[union-attr]


def test_no_request_gets_a_server_error(fuzzed_app: FastAPI) -> None:
    """Every operation of the OpenAPI document, a few generated requests each; all the
    operations run (one failing does not hide the next) and the failures are listed."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=[not_a_server_error])

        try:
            call()
        except Exception as exc:  # collected, reported together below
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:500]}")
    assert operations > 20
    assert not failures, "\n\n".join(failures)
