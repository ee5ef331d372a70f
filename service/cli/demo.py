"""`deadzone demo`: the simulated province end to end; the one door into `simulation`,
imported only when the command runs (the web app never loads it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from service.cli.context import DEFAULT_DEMO_OUT, DemoOutOpt, StepBars, console, fail, program
from service.settings import Settings


def demo_serve_settings(out: Path, database_url: str | None) -> Settings:
    """Settings to serve the demo's database: development mode (simulated devices only)."""
    from simulation.demo import DEMO_DATABASE, demo_settings

    if database_url is None and not (out / DEMO_DATABASE).exists():
        fail(f"no demo database in {out}; run `deadzone demo --out {out}` first")
    # No background aggregation: the demo decided at the scenario's now, and the worker
    # would recompute every decision each minute (minutes for the province) with the wall
    # clock's window. Run `deadzone aggregate --database-url ...` after sending readings.
    return demo_settings(out, database_url=database_url)


def demo_command(
    seed: Annotated[int, typer.Option(help="Scenario seed: same seed, same output.")] = 1,
    out: DemoOutOpt = DEFAULT_DEMO_OUT,
    size: Annotated[
        str,
        typer.Option(
            help="small (430 km², 46k readings, about 40 s of CPU) or province "
            "(170,000 cells, 3 M readings, 10 to 40 minutes of CPU)."
        ),
    ] = "small",
    database_url: Annotated[
        str | None,
        typer.Option(
            "--database-url",
            help="Run on this (empty) database instead of OUT/demo.sqlite, which is "
            "recreated on every run.",
        ),
    ] = None,
    lang: Annotated[
        Literal["vi", "en"],
        typer.Option(help="Language of the maps (titles, legends, dates), as on the pages."),
    ] = "vi",
) -> None:
    """Simulate a province, send its readings through POST /v1/readings, aggregate, and
    write coverage and dead-zone maps and an accuracy summary to OUT."""
    from simulation.demo import SUMMARY_TXT, DemoError, demo_settings, reset_demo_database, run_demo

    if size not in ("small", "province"):
        console.print(f"[red]--size must be small or province, got {size!r}[/]")
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        reset_demo_database(out)
    settings = demo_settings(out, database_url=database_url)
    bars = StepBars()
    try:
        with bars.bar:
            result = run_demo(
                settings, size="province" if size == "province" else "small", seed=seed,
                out=out, progress=bars, lang=lang,
            )  # fmt: skip
    except DemoError as exc:
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from None
    console.print(
        (out / SUMMARY_TXT).read_text(encoding="utf-8"),
        markup=False, highlight=False, soft_wrap=True,
    )  # fmt: skip
    for name, path in result.files.items():
        console.print(f"{name:15} {path.resolve()}")
    console.print(f"browse: {program()} serve --demo --out {out}")
