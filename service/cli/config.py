"""Configuration: `settings` (every option) and `api-key` (keys with a role)."""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.context import console, fail, load_settings


def show_settings() -> None:
    """Every option: its environment variable, current value and meaning."""
    from rich.table import Table

    settings = load_settings()
    table = Table(title="deadzone settings (environment variables)")
    for name in ("variable", "value", "meaning"):
        table.add_column(name, overflow="fold")
    for name, field in type(settings).model_fields.items():
        value = getattr(settings, name)
        shown = "********" if "secret" in name else str(value)
        table.add_row(f"DEADZONE_{name.upper()}", shown, field.description or "")
    console.print(table)


def api_key_command(
    name: Annotated[str, typer.Option(help="Who holds the key, e.g. viettel-daklak.")],
    role: Annotated[
        str,
        typer.Option(help="planner (reads the operators given) or authority (reads all)."),
    ],
    operator: Annotated[
        list[str] | None,
        typer.Option(help="MCC-MNC a planner may read, repeatable ('*': all operators)."),
    ] = None,
) -> None:
    """Make an API key for one operator's data. Prints the key once (give it to its holder)
    and the entry to add to DEADZONE_API_KEYS (only its SHA-256 is configured)."""
    import json

    from pydantic import ValidationError

    from domain.vocabulary import is_operator_code
    from service.keys import ApiKey, key_digest, new_key

    key = new_key()
    try:
        entry = ApiKey.model_validate(
            {"name": name, "role": role, "operators": operator or [], "sha256": key_digest(key)}
        )
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    if entry.role == "planner" and not entry.operators:
        fail("a planner key needs at least one --operator (an MCC-MNC such as 452-04, or '*')")
    bad = [op for op in entry.operators if op != "*" and not is_operator_code(op)]
    if bad:
        fail(f"--operator must be an MCC-MNC such as 452-04 or '*', got {', '.join(bad)}")
    console.print(f"key (shown once): {key}", markup=False, highlight=False)
    console.print("add to DEADZONE_API_KEYS (a JSON list):", markup=False, highlight=False)
    console.print(json.dumps(entry.model_dump(), ensure_ascii=False), markup=False,
                  highlight=False, soft_wrap=True)  # fmt: skip
