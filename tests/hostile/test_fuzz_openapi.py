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
from tests.conftest import TEST_SECRET

EXAMPLES_PER_OPERATION = 8


@pytest.fixture(scope="module")
def fuzzed_app(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[FastAPI]:
    """One app on a fresh SQLite database, its lifespan running for the whole module."""
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.sqlite"
    shutil.copyfile(sqlite_template, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}", device_secret=TEST_SECRET,
                              aggregate_interval_s=0))  # fmt: skip
    with TestClient(app):
        yield app


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
