"""`deadzone map`: the maps as self-contained HTML files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from service.cli.context import (
    DatabaseOpt,
    console,
    fail,
    load_settings,
    open_sessions,
    operator_scope,
)

MAP_KINDS = ("coverage", "deadzones", "progress")


def map_command(
    kind: Annotated[
        str,
        typer.Argument(
            help="coverage, deadzones, progress, or all (default; 'both' is the same): "
            "all are written into --out, progress only when communes were imported."
        ),
    ] = "all",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="File for one map (coverage, deadzones, progress)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for all maps.")] = Path("."),
    operator: Annotated[
        str | None,
        typer.Option(
            help="One MCC-MNC (e.g. 452-04), or 'any' for the best of all operators: the "
            "dead zones of that scope (default: any) and the coverage of that one layer "
            "(default: every operator's, as the web map's operator=).",
            callback=operator_scope,
        ),
    ] = None,
    sites: Annotated[
        int,
        typer.Option(
            "--sites",
            min=0,
            max=100,
            help="Draw this many suggested new sites (for --operator) with their coverage "
            "circles on the dead-zone map; 0: none.",
        ),
    ] = 0,
    radio: Annotated[
        Literal["any", "broadband"] | None,
        typer.Option(
            help="Scope over radios: 'any' signal or 'broadband' (LTE or NR), as the web "
            "maps' radio=. Default: any signal for coverage and dead zones, the goal's "
            "scope (DEADZONE_GOAL_RADIO) for progress."
        ),
    ] = None,
    lang: Annotated[Literal["vi", "en"], typer.Option(help="Page language.")] = "vi",
    database_url: DatabaseOpt = None,
) -> None:
    """Write the coverage, dead-zone and/or progress map as self-contained HTML (opens
    offline): `deadzone map progress -o progress.html`, or `deadzone map --out DIR` for all."""
    from domain.vocabulary import ANY_SIGNAL, BEST_OF_ALL
    from maps import write_map_html
    from service.publish.mapdata import (
        coverage_page,
        data_date,
        deadzone_page,
        has_communes,
        map_meta,
        map_title,
        progress_page,
    )
    from service.store.database import session_scope

    if kind not in (*MAP_KINDS, "all", "both"):
        fail(f"unknown map {kind!r}: use coverage, deadzones, progress or all")
    if output is not None and kind not in MAP_KINDS:
        fail("-o names one file: say which map (coverage, deadzones or progress)")
    wanted = set(MAP_KINDS) if kind in ("all", "both") else {kind}
    (output.parent if output is not None else out).mkdir(parents=True, exist_ok=True)
    settings = load_settings(database_url)
    written = []
    with (
        open_sessions(settings, migrate=False) as sessions,
        session_scope(sessions, write=False) as session,
    ):
        date = data_date(session)
        # The titles name the scope when one was asked for, as the web maps' do.
        if "coverage" in wanted:
            coverage = coverage_page(
                session,
                meta=map_meta(map_title("coverage", lang=lang, radio=radio), data_date=date,
                              lang=lang),
                radio=radio or ANY_SIGNAL,
                operators=None if operator is None else (operator,),
            )  # fmt: skip
            written.append(write_map_html(coverage, output or out / "coverage.html"))
        if "deadzones" in wanted:
            zones = deadzone_page(
                session,
                meta=map_meta(
                    map_title("deadzones", lang=lang, scope=operator or BEST_OF_ALL, radio=radio),
                    data_date=date, lang=lang,
                ),
                operator=operator or BEST_OF_ALL,
                sites=sites,
                settings=settings,
                radio=radio or ANY_SIGNAL,
            )  # fmt: skip
            written.append(write_map_html(zones, output or out / "deadzones.html"))
        # Asked for by name, the progress map is written even before any commune import
        # (villages alone still show); in the folder of all maps, only with communes.
        if "progress" in wanted and (kind == "progress" or has_communes(session)):
            scope = radio or settings.goal_radio
            progress = progress_page(
                session,
                settings,
                meta=map_meta(map_title("progress", lang=lang, radio=scope), data_date=date,
                              lang=lang),
                radio=scope,
            )  # fmt: skip
            written.append(write_map_html(progress, output or out / "progress.html"))
    for path in written:
        console.print(f"wrote {path.resolve()}")
