"""A newcomer's common mistakes end in a few lines that say what to do, never a traceback:
the installed ``deadzone`` console script, run as a user runs it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PostgisServer

DEADZONE = Path(sys.executable).with_name("deadzone")
MAX_LINES = 5


def deadzone(*args: str, cwd: Path, **env: str) -> tuple[int, str]:
    """Exit code and everything printed (stdout and stderr together)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DEADZONE_")}
    done = subprocess.run(
        [str(DEADZONE), *args], cwd=cwd, env={**clean, "COLUMNS": "100", **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def short_refusal(code: int, output: str) -> str:
    assert code != 0, output
    assert "Traceback" not in output, output
    assert len(output.strip().splitlines()) <= MAX_LINES, output
    return " ".join(output.split())  # rich wraps at the terminal's width


@pytest.fixture
def pg(postgis_server: PostgisServer | None) -> PostgisServer:
    if postgis_server is None:
        pytest.skip("PostGIS test server unavailable (set CI=true to make this fail)")
    return postgis_server


def test_db_upgrade_of_a_missing_postgres_database_offers_to_create_it(
    tmp_path: Path, pg: PostgisServer
) -> None:
    name = f"deadzone_new_{uuid.uuid4().hex[:8]}"
    url = pg.url_for(name)
    said = short_refusal(*deadzone("db", "upgrade", "--database-url", url, cwd=tmp_path))
    assert f"'{name}'" in said and "does not exist" in said and "--create" in said
    try:
        code, output = deadzone("db", "upgrade", "--create", "--database-url", url, cwd=tmp_path)
        assert code == 0, output
        assert "created PostgreSQL database" in output and "revision" in output
        code, output = deadzone("zones", "--database-url", url, cwd=tmp_path)
        assert code == 0 and "Dead zones (any): 0 in all" in output, output
    finally:
        pg.drop_database(name)


def test_other_commands_refuse_an_absent_or_empty_database(
    tmp_path: Path, pg: PostgisServer
) -> None:
    said = short_refusal(*deadzone("zones", "--operator", "452-04", cwd=tmp_path))
    assert "no database at" in said and "deadzone db upgrade" in said
    assert "sqlite:///deadzone-out/demo.sqlite" in said
    assert not (tmp_path / "deadzone.sqlite").exists()  # a typo creates nothing

    name = f"deadzone_empty_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg.url_for("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    try:
        said = short_refusal(
            *deadzone("aggregate", "--database-url", pg.url_for(name), cwd=tmp_path)
        )
        assert "has no deadzone tables" in said and "db upgrade" in said
    finally:
        pg.drop_database(name)


@pytest.mark.parametrize("command", [["zones"], ["db", "upgrade"]])
def test_a_file_that_is_not_a_database_is_named(tmp_path: Path, command: list[str]) -> None:
    # SQLite opens any file lazily; the first statement's DatabaseError went to the
    # "unexpected failure" line (exit 1) with SQLAlchemy's background link.
    export = tmp_path / "readings.csv"
    export.write_text("id,device,observed_at\n", encoding="utf-8")
    url = f"sqlite:///{export}"
    said = short_refusal(*deadzone(*command, "--database-url", url, cwd=tmp_path))
    assert f"cannot open the database {export}: file is not a database" in said
    assert "sqlalche.me" not in said and "--debug" not in said


def test_db_upgrade_refuses_the_maintenance_database(tmp_path: Path, pg: PostgisServer) -> None:
    url = pg.url_for("postgres")
    said = short_refusal(*deadzone("db", "upgrade", "--database-url", url, cwd=tmp_path))
    assert "maintenance database 'postgres'" in said and "--maintenance-database" in said
    with create_engine(url).connect() as conn:
        assert conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("postgres://me@db.example/deadzone", "postgresql+psycopg://me@db.example/deadzone"),
        ("data/deadzone.sqlite", "sqlite:////"),
        ("sqlite//oops.sqlite", "e.g. sqlite:///deadzone.sqlite"),
        ("sqlitex:///oops.sqlite", "use sqlite:///PATH"),
    ],
)
def test_a_malformed_url_says_how_to_write_it(tmp_path: Path, url: str, hint: str) -> None:
    said = short_refusal(*deadzone("db", "upgrade", "--database-url", url, cwd=tmp_path))
    assert hint in said


def test_a_setting_with_a_wrong_value_is_named(tmp_path: Path) -> None:
    said = short_refusal(*deadzone("settings", cwd=tmp_path, DEADZONE_ENVIRONMENT="Production"))
    assert "DEADZONE_ENVIRONMENT=Production" in said and "'production'" in said


def test_files_of_the_wrong_kind_are_named(tmp_path: Path) -> None:
    deadzone("db", "upgrade", cwd=tmp_path)
    csv = tmp_path / "plan.csv"
    csv.write_text("rank,h3,lat,lon\n1,8965b2da043ffff,12.59,108.32\n", encoding="utf-8")
    said = short_refusal(*deadzone("import-areas", str(csv), cwd=tmp_path))
    assert "plan.csv has no geometries" in said and "GeoJSON, GeoPackage or Shapefile" in said
    said = short_refusal(*deadzone("ingest", str(csv), cwd=tmp_path))
    assert "plan.csv is not JSON" in said and "deadzone import" in said


def test_a_port_in_use_suggests_another(tmp_path: Path) -> None:
    deadzone("db", "upgrade", cwd=tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        said = short_refusal(*deadzone("serve", "--port", str(port), cwd=tmp_path))
    assert f"port {port} on 127.0.0.1 is already in use" in said and "--port" in said


def test_map_refuses_an_unknown_language_and_flags_take_no_value(tmp_path: Path) -> None:
    code, output = deadzone("map", "coverage", "--lang", "fr", cwd=tmp_path)
    assert code == 2 and "'fr' is not one of 'vi', 'en'" in output
    code, output = deadzone("serve", "--help", cwd=tmp_path)
    demo_line = next(line for line in output.splitlines() if "--demo" in line)
    assert code == 0 and "<bool>" not in demo_line


def test_the_command_list_reads_each_summary_as_one_text(tmp_path: Path) -> None:
    """Typer's command list kept the docstrings' line breaks: "file, 5000 readings per
    transaction, or the" broke off mid-sentence, a ragged list for a newcomer's first look."""
    code, output = deadzone("--help", cwd=tmp_path, COLUMNS="400")
    assert code == 0
    line = next(line for line in output.splitlines() if "Tower Collector" in line)
    assert "GeoJSON file, 5000 readings per transaction, or the sites of a cell export" in line
    code, output = deadzone("export", "--help", cwd=tmp_path, COLUMNS="400")
    line = next(line for line in output.splitlines() if "Decided cells" in line)
    assert code == 0 and "of one scope, everywhere or in one commune or village" in line


def test_printed_commands_name_deadzone_as_it_was_run(monkeypatch, tmp_path: Path) -> None:
    """A command the CLI prints to be copied (the demo's "browse:" line) works as typed:
    ``.venv/bin/deadzone`` when that is how it ran and plain ``deadzone`` is another or
    none, plain ``deadzone`` when that is the one on PATH or it ran as a module."""
    from service.cli.context import program

    script = tmp_path / "my venv" / "bin" / "deadzone"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    monkeypatch.setenv("PATH", str(tmp_path / "elsewhere"))
    assert program() == f"'{script}'"  # quoted: the path has a space
    monkeypatch.setenv("PATH", str(script.parent))
    assert program() == "deadzone"
    monkeypatch.setattr(sys, "argv", [str(tmp_path / "service" / "cli" / "__main__.py")])
    assert program() == "deadzone"
