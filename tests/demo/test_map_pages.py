"""The map pages from stored decisions: ``GET /maps/*.html`` and ``deadzone map``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from service.cli import app as cli
from service.jobs import run_aggregation
from service.settings import Settings
from tests.conftest import make_reading


def post_a_dead_and_a_covered_place(client: Any) -> None:
    """Three phones report no service at one place and -80 dBm a kilometre away, each in its
    own upload (new tokens of one request count as one phone: docs/forged-evidence.md)."""
    for device in range(3):
        readings = []
        for k in range(2):
            readings.append(
                make_reading(id=f"d{device}-{k}", device=f"phone-{device}", signal_dbm=None,
                             no_service=True)
            )  # fmt: skip
            readings.append(
                make_reading(id=f"c{device}-{k}", device=f"phone-{device}", lat=12.676,
                             signal_dbm=-80.0)
            )  # fmt: skip
        assert client.post("/v1/readings", json={"readings": readings}).json()["accepted"] == 4


def test_map_pages_link_the_service_assets(
    client: Any, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    post_a_dead_and_a_covered_place(client)
    run_aggregation(sessions, settings)

    coverage = client.get("/maps/coverage.html", params={"lang": "en"})
    assert coverage.status_code == 200
    assert 'src="/maps/assets/leaflet/leaflet.js"' in coverage.text
    zones = client.get("/maps/deadzones.html", params={"operator": "any"})
    assert zones.status_code == 200 and "dz-any-" in zones.text
    assert client.get("/maps/coverage.html").text == client.get("/maps/coverage.html").text

    script = client.get("/maps/assets/deadzone/deadzone.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert client.get("/maps/assets/VERSIONS").status_code == 404
    assert client.get("/maps/assets/%2e%2e/%2e%2e/service/app.py").status_code == 404
    assert client.get("/maps/coverage.html", params={"operator": "viettel"}).status_code == 422
    lte = client.get("/maps/coverage.html", params={"radio": "lte", "operator": "452-04"})
    assert lte.status_code == 200 and lte.text != coverage.text
    assert client.get("/maps/coverage.html", params={"radio": "5g"}).status_code == 422


def test_map_command_writes_self_contained_pages(
    client: Any, settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    post_a_dead_and_a_covered_place(client)
    run_aggregation(sessions, settings)

    answer = CliRunner().invoke(
        cli, ["map", "--out", str(tmp_path), "--database-url", settings.database_url]
    )
    assert answer.exit_code == 0, answer.output
    for name in ("coverage.html", "deadzones.html"):
        page = (tmp_path / name).read_text(encoding="utf-8")
        assert "<script src=" not in page  # Leaflet and deadzone.js inlined: opens offline
        assert "L.map(" in page
    assert not (tmp_path / "progress.html").exists(), "no communes imported: no progress map"


def test_map_command_writes_one_named_map(
    client: Any, settings: Settings, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    post_a_dead_and_a_covered_place(client)
    run_aggregation(sessions, settings)

    target = tmp_path / "nested" / "zones.html"
    answer = CliRunner().invoke(
        cli, ["map", "deadzones", "-o", str(target), "--database-url", settings.database_url]
    )
    assert answer.exit_code == 0, answer.output
    assert "L.map(" in target.read_text(encoding="utf-8")
    assert not (tmp_path / "nested" / "coverage.html").exists()
    both = CliRunner().invoke(cli, ["map", "both", "-o", str(target)])
    assert both.exit_code == 2 and "one file" in both.output
    unknown = CliRunner().invoke(cli, ["map", "heatmap", "--out", str(tmp_path)])
    assert unknown.exit_code == 2 and "use coverage, deadzones, progress or all" in unknown.output


def test_plan_layer_without_people_draws_no_site(
    client: Any, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    post_a_dead_and_a_covered_place(client)
    run_aggregation(sessions, settings)

    # No population imported: the plan has nobody to cover, so the page has zones only.
    page = client.get("/maps/deadzones.html", params={"sites": 5})
    assert page.status_code == 200 and "dz-any-" in page.text
    assert "deadzone.siteLayer(" not in page.text
    progress = client.get("/maps/progress.html")
    assert progress.status_code == 200 and "deadzone.progressLayers(" in progress.text


def test_one_operators_map_needs_a_key_that_may_read_it(
    settings: Settings, sessions: sessionmaker[Session]
) -> None:
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.keys import ApiKey, key_digest, new_key

    key = new_key()
    viettel = ApiKey(name="viettel", role="planner", operators=["452-04"], sha256=key_digest(key))
    keyed = settings.model_copy(update={"api_keys": [viettel]})
    with TestClient(create_app(keyed)) as client:
        post_a_dead_and_a_covered_place(client)
        run_aggregation(sessions, keyed)
        zones = "/maps/deadzones.html"
        assert client.get(zones, params={"operator": "452-04", "sites": 3}).status_code == 401
        mine = client.get(zones, params={"operator": "452-04", "api_key": key})
        assert mine.status_code == 200 and "dz-452-04-" in mine.text
        other = client.get(zones, params={"operator": "452-01"}, headers={"X-Deadzone-Key": key})
        assert other.status_code == 403
        assert client.get(zones).status_code == 200  # best of all operators: public
        assert client.get("/maps/progress.html").status_code == 200
        # Every operator only for a key that may read them all: else the public layer only.
        for params in ({}, {"api_key": key}):
            public = client.get("/maps/coverage.html", params=params)
            assert public.status_code == 200 and "Viettel (452-04)" not in public.text
        own = client.get("/maps/coverage.html", params={"operator": "452-04", "api_key": key})
        assert "Viettel (452-04)" in own.text
