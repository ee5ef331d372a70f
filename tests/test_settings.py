"""Configuration refuses unsafe defaults outside development, and says why."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from service.api.app import create_app
from service.cli import app as cli
from service.errors import ConfigurationError
from service.settings import Settings


def test_production_refuses_the_default_device_secret(tmp_path):
    settings = Settings(environment="production", database_url=f"sqlite:///{tmp_path}/x.sqlite")
    with pytest.raises(ConfigurationError, match="DEADZONE_DEVICE_SECRET"):
        create_app(settings)


def test_production_refuses_a_short_secret(tmp_path):
    settings = Settings(
        environment="production", device_secret="short", database_url=f"sqlite:///{tmp_path}/x"
    )
    with pytest.raises(ConfigurationError, match="shorter than 16"):
        create_app(settings)


def test_development_runs_with_the_default_secret(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path}/x.sqlite"))
    assert app.state.settings.environment == "development"


def test_postgres_urls_must_use_psycopg_3():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="psycopg"):
        Settings(database_url="postgresql+psycopg2://u@h/db")


def test_serve_command_refuses_and_explains(monkeypatch, tmp_path):
    monkeypatch.setenv("DEADZONE_ENVIRONMENT", "production")
    monkeypatch.setenv("DEADZONE_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "DEADZONE_DEVICE_SECRET" in result.output


def test_settings_come_from_prefixed_environment(monkeypatch):
    monkeypatch.setenv("DEADZONE_H3_RESOLUTION", "8")
    monkeypatch.setenv("DEADZONE_DATABASE_URL", "postgresql://u@h/db")
    settings = Settings()
    assert settings.h3_resolution == 8
    assert settings.database_url == "postgresql+psycopg://u@h/db"


def test_a_wrong_setting_names_the_variable(monkeypatch):
    from pydantic import ValidationError

    monkeypatch.setenv("DEADZONE_MAX_BATCH_READINGS", "lots")
    with pytest.raises(ValidationError, match="max_batch_readings"):
        Settings()


def test_database_url_must_be_sqlite_or_postgres():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="sqlite"):
        Settings(database_url="mysql://x")


def test_db_upgrade_command_creates_the_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'new.sqlite'}"
    result = CliRunner().invoke(cli, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    from alembic.script import ScriptDirectory

    from service.store.schema import alembic_config

    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert f"revision {head}" in result.output  # the newest migration, whichever it is


def test_every_setting_is_documented_and_listed():
    result = CliRunner().invoke(cli, ["settings"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name, field in Settings.model_fields.items():
        assert field.description, f"{name} has no description"
        assert f"DEADZONE_{name.upper()}" in result.output
    assert Settings().device_secret.get_secret_value() not in result.output


def test_the_console_reads_columns_when_it_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not once at import: a COLUMNS set later (a test runner, a resized shell) counts."""
    from service.cli.context import console

    monkeypatch.setenv("COLUMNS", "123")
    assert console.width == 123
    monkeypatch.setenv("COLUMNS", "77")
    assert console.width == 77


def test_settings_in_an_80_column_terminal_are_a_list_each_meaning_on_its_own_lines():
    """Not a table whose meaning column is a word or two wide: every variable with its
    value, its meaning below it, no line wider than the terminal."""
    result = CliRunner().invoke(cli, ["settings"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert not any(line.startswith(("┏", "│")) for line in lines)  # no table
    for name, field in Settings.model_fields.items():
        at = lines.index(
            next(line for line in lines if line.startswith(f"DEADZONE_{name.upper()} = "))
        )
        words = str(field.description).split()
        assert words[0] in lines[at + 1], (name, lines[at + 1])
    assert Settings().device_secret.get_secret_value() not in result.output


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DEADZONE_BARS_LTE", "-115,-105", "write it as JSON, e.g. [-115.0, -105.0]"),
        ("DEADZONE_ROLLUP_RESOLUTIONS", "8 7", "write it as JSON, e.g. [8, 7]"),
        ("DEADZONE_API_KEYS", "viettel", "a JSON list of the entries `deadzone api-key` prints"),
    ],
)
def test_a_json_setting_that_is_not_json_is_named_with_its_form(
    monkeypatch, tmp_path, variable, value, said
):
    # pydantic-settings raises its own SettingsError before validation: it ended in the
    # "unexpected failure" line (exit 1) naming neither the variable nor the form.
    monkeypatch.setenv("DEADZONE_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(cli, ["zones"])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert f"{variable}={value}: not valid JSON" in output and said in output


def test_an_entry_of_a_json_setting_is_named_by_its_position(monkeypatch, tmp_path):
    monkeypatch.setenv("DEADZONE_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv("DEADZONE_API_KEYS", '[{"name": "x", "role": "boss", "sha256": "0"}]')
    result = CliRunner().invoke(cli, ["zones"])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert "DEADZONE_API_KEYS[0].role=boss: Input should be 'planner' or 'authority'" in output


def test_a_rule_across_settings_names_them_and_never_echoes_the_secret(monkeypatch, tmp_path):
    # The rule's input is every setting given: the device secret was printed with it.
    monkeypatch.setenv("DEADZONE_DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv("DEADZONE_DEVICE_SECRET", "do-not-print-me-0123456789abcdef")
    monkeypatch.setenv("DEADZONE_PLAN_POWER_DISTANCE_M", "99999")
    result = CliRunner().invoke(cli, ["zones"])
    output = " ".join(result.output.split())
    assert result.exit_code == 2, output
    assert "do-not-print-me" not in output
    assert "DEADZONE_PLAN_POWER_DISTANCE_M (99999) must not exceed" in output
    assert "DEADZONE_CONSTRAINT_MAX_DISTANCE_M (5000)" in output
