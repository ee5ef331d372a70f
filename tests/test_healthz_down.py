"""The service says when its database is gone, without leaking the error."""

from __future__ import annotations

from fastapi.testclient import TestClient

from service.api.app import create_app
from service.settings import Settings
from tests.conftest import TEST_SECRET


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    url = f"sqlite:///{tmp_path / 'missing-dir' / 'db.sqlite'}"
    with TestClient(create_app(Settings(database_url=url, device_secret=TEST_SECRET))) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "down"}
    # The background job's lock did not make the folder (and an empty database in it).
    assert not (tmp_path / "missing-dir").exists()


def test_postgres_down_is_503_with_a_generic_message():
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    settings = Settings(database_url=url, device_secret=TEST_SECRET)
    with TestClient(create_app(settings)) as client:
        assert client.get("/healthz").status_code == 503
        response = client.post("/v1/readings", json={"readings": []})
    assert response.status_code == 503
    assert "127.0.0.1" not in response.text
