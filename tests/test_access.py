"""API keys with a role guard one operator's data; the best of all operators is public."""

from __future__ import annotations

import pytest

from service.api.access import check_operators
from service.errors import AccessDenied, AuthenticationRequired
from service.keys import ApiKey, find_key, key_digest, new_key

VIETTEL_KEY = new_key()
AUTHORITY_KEY = new_key()
KEYS = [
    ApiKey(name="viettel", role="planner", operators=["452-04"], sha256=key_digest(VIETTEL_KEY)),
    ApiKey(name="sở khcn", role="authority", sha256=key_digest(AUTHORITY_KEY)),
]


def check(key: str | None, *operators: str, keys: list[ApiKey] = KEYS, dev: bool = False) -> None:
    check_operators(keys, development=dev, key=key, operators=operators)


def test_best_of_all_operators_needs_no_key_even_in_production() -> None:
    check(None, "any")
    check(None, "any", keys=[])


def test_a_planner_reads_its_own_operator_only() -> None:
    check(VIETTEL_KEY, "452-04")
    check(VIETTEL_KEY, "452-04", "any")
    with pytest.raises(AccessDenied, match="452-01"):
        check(VIETTEL_KEY, "452-04", "452-01")


def test_the_authority_reads_every_operator() -> None:
    check(AUTHORITY_KEY, "452-01", "452-02", "452-04", "452-05", "452-07")


def test_missing_or_unknown_key_is_unauthorized_and_says_how_to_send_one() -> None:
    with pytest.raises(AuthenticationRequired, match="X-Deadzone-Key"):
        check(None, "452-04")
    with pytest.raises(AuthenticationRequired, match="unknown API key"):
        check(VIETTEL_KEY + "x", "452-04")


def test_without_configured_keys_development_is_open_and_production_closed() -> None:
    check(None, "452-04", keys=[], dev=True)
    with pytest.raises(AccessDenied, match="DEADZONE_API_KEYS"):
        check(VIETTEL_KEY, "452-04", keys=[])


def test_only_the_digest_is_configured_and_matched() -> None:
    assert find_key(KEYS, VIETTEL_KEY) is KEYS[0]
    assert find_key(KEYS, key_digest(VIETTEL_KEY)) is None  # the digest is not a key
    assert all(VIETTEL_KEY not in entry.model_dump_json() for entry in KEYS)


def test_a_malformed_key_entry_is_refused_by_the_settings() -> None:
    from pydantic import ValidationError

    from service.settings import Settings

    with pytest.raises(ValidationError, match="sha256"):
        Settings(api_keys=[{"name": "x", "role": "planner", "sha256": "not-hex"}])
    with pytest.raises(ValidationError, match="role"):
        Settings(api_keys=[{"name": "x", "role": "root", "sha256": "a" * 64}])


def test_api_key_command_prints_the_key_once_and_only_its_digest_for_the_settings() -> None:
    import json

    from typer.testing import CliRunner

    from service.cli import app as cli

    answer = CliRunner().invoke(
        cli, ["api-key", "--name", "viettel", "--role", "planner", "--operator", "452-04"]
    )
    assert answer.exit_code == 0, answer.output
    key = answer.output.split("key (shown once): ")[1].split()[0]
    entry = ApiKey.model_validate(json.loads(answer.output.strip().splitlines()[-1]))
    assert entry.sha256 == key_digest(key) and key not in answer.output.splitlines()[-1]
    check(key, "452-04", keys=[entry])

    refused = CliRunner().invoke(cli, ["api-key", "--name", "x", "--role", "planner"])
    assert refused.exit_code != 0 and "--operator" in refused.output
    refused = CliRunner().invoke(cli, ["api-key", "--name", "x", "--role", "root"])
    assert refused.exit_code != 0 and "role" in refused.output


def test_routes_guard_one_operators_data_and_leave_the_best_of_all_public(db_url: str) -> None:
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.settings import Settings
    from tests.conftest import TEST_SECRET

    settings = Settings(
        database_url=db_url, device_secret=TEST_SECRET, environment="production",
        aggregate_interval_s=0, api_keys=KEYS,
    )  # fmt: skip
    bbox = {"bbox": "108.0,12.6,108.1,12.7"}
    guarded = [
        ("/v1/cells", bbox),
        ("/v1/deadzones", {}),
        ("/v1/deadzones", {"format": "csv"}),
        ("/v1/villages", {}),
        ("/v1/plan", {}),
    ]
    with TestClient(create_app(settings)) as client:
        for path, params in guarded:
            public = client.get(path, params=params | {"operator": "any"})
            assert public.status_code == 200, (path, public.text)
            anonymous = client.get(path, params=params | {"operator": "452-04"})
            assert anonymous.status_code == 401, path
            assert anonymous.json()["field"] == "api_key"
            assert anonymous.headers["WWW-Authenticate"].startswith("ApiKey")
            header = {"X-Deadzone-Key": VIETTEL_KEY}
            mine = client.get(path, params=params | {"operator": "452-04"}, headers=header)
            assert mine.status_code == 200, (path, mine.text)
            by_query = params | {"operator": "452-04", "api_key": VIETTEL_KEY}
            assert client.get(path, params=by_query).status_code == 200, path
            other = client.get(path, params=params | {"operator": "452-01"}, headers=header)
            assert other.status_code == 403 and "452-01" in other.json()["message"], path
            regulator = {"X-Deadzone-Key": AUTHORITY_KEY}
            assert client.get(path, params=params | {"operator": "452-01"},
                              headers=regulator).status_code == 200, path  # fmt: skip
        # Progress counts people under the best of all operators: public.
        assert client.get("/v1/progress").status_code == 200
        assert client.get("/v1/progress/areas").status_code == 200


def test_summary_lists_only_the_operators_a_key_may_read_and_one_zone_is_guarded(
    db_url: str,
) -> None:
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.settings import Settings
    from service.store.database import make_engine, make_sessionmaker
    from tests.areas.conftest import CENTRE, open_zone, put_statuses
    from tests.conftest import TEST_SECRET

    settings = Settings(
        database_url=db_url, device_secret=TEST_SECRET, environment="production",
        aggregate_interval_s=0, api_keys=KEYS,
    )  # fmt: skip
    engine = make_engine(settings)
    sessions = make_sessionmaker(engine)
    for operator in ("any", "452-04", "452-01"):
        put_statuses(sessions, {CENTRE: "dead"}, operator=operator)
        open_zone(sessions, [CENTRE], f"dz-{operator}-x", operator=operator)
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        anonymous = client.get("/v1/summary").json()
        assert anonymous["operators"] == {} and set(anonymous["dead_zones"]) == {"any"}
        viettel = client.get("/v1/summary", headers={"X-Deadzone-Key": VIETTEL_KEY}).json()
        assert set(viettel["operators"]) == {"452-04"}
        assert set(viettel["dead_zones"]) == {"any", "452-04"}
        regulator = client.get("/v1/summary", params={"api_key": AUTHORITY_KEY}).json()
        assert set(regulator["operators"]) == {"452-04", "452-01"}
        assert client.get("/v1/summary", params={"api_key": "typo"}).status_code == 401

        assert client.get("/v1/deadzones/dz-any-x").status_code == 200
        assert client.get("/v1/deadzones/dz-452-01-x").status_code == 401
        mine = client.get("/v1/deadzones/dz-452-04-x", headers={"X-Deadzone-Key": VIETTEL_KEY})
        assert mine.status_code == 200
        other = client.get("/v1/deadzones/dz-452-01-x", headers={"X-Deadzone-Key": VIETTEL_KEY})
        assert other.status_code == 403

        # The coverage map without an operator: the public layer for nobody's key, a 401
        # for a key that is wrong rather than a quietly smaller map.
        assert client.get("/maps/coverage.html").status_code == 200
        assert client.get("/maps/coverage.html", params={"api_key": "typo"}).status_code == 401


def test_access_log_lines_show_no_key_and_no_device_token() -> None:
    import logging

    from service.api.access import QuerySecretFilter

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/plan?operator=452-04&api_key={VIETTEL_KEY}&sites=2",
         "1.1", 200), None,
    )  # fmt: skip
    assert QuerySecretFilter().filter(record)
    line = record.getMessage()
    assert VIETTEL_KEY not in line and "api_key=***&sites=2" in line
    record.args = ("127.0.0.1:5000", "POST", "/v2/geosubmit?key=phone-123", "1.1", 200)
    QuerySecretFilter().filter(record)
    assert "phone-123" not in record.getMessage()
