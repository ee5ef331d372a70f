"""Configuration: `settings` (every option) and `api-key` (keys with a role)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from service.cli.context import console, fail, load_settings

WIDE_SETTINGS_COLUMNS = 140  # below it, `deadzone settings` lists instead of a table


def show_settings() -> None:
    """Every option: its environment variable, current value and meaning."""
    from rich.padding import Padding
    from rich.table import Table

    settings = load_settings()
    rows = [
        (
            f"DEADZONE_{name.upper()}",
            "********" if "secret" in name else str(getattr(settings, name)),
            field.description or "",
        )
        for name, field in type(settings).model_fields.items()
    ]
    title = "deadzone settings (environment variables)"
    if console.width >= WIDE_SETTINGS_COLUMNS:
        table = Table(title=title)
        for name in ("variable", "value", "meaning"):
            table.add_column(name, overflow="fold")
        for row in rows:
            table.add_row(*row)
        console.print(table)
        return
    # A narrow terminal left the meaning a third of 80 columns, a word or two a line: each
    # setting as "VARIABLE = value", its meaning below it at full width.
    console.print(title, style="bold", highlight=False)
    for variable, value, meaning in rows:
        console.print()
        console.print(f"[bold]{variable}[/] = {escape(value)}", highlight=False)
        console.print(Padding(meaning, (0, 0, 0, 4), expand=False), markup=False, highlight=False)


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
