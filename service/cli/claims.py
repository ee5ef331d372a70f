"""Claimed coverage: `import-claimed`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from service.cli.context import DatabaseOpt, console, fail, load_settings, open_sessions


def import_claimed_command(
    path: Annotated[
        Path, typer.Argument(help="Polygons (GeoJSON, GeoPackage, Shapefile) or a 0/1 GeoTIFF.")
    ],
    operator: Annotated[str, typer.Option(help="MCC-MNC of the claiming operator, e.g. 452-04.")],
    radio: Annotated[
        str, typer.Option(help="What the claim is for: lte, nr or broadband (4G or better).")
    ] = "lte",
    by: Annotated[
        str | None,
        typer.Option(help="Who imports it, for the audit trail (default: cli:<login name>)."),
    ] = None,
    database_url: DatabaseOpt = None,
) -> None:
    """Import the coverage an operator claims (replacing its previous claim for the radio):
    cells whose centre lies in a polygon, or in a pixel of 1. Claimed cells measured dead
    are served as challenges (GET /v1/challenges)."""
    import getpass

    from service.areas.claims import read_claim, store_claim
    from service.errors import InvalidInput
    from service.store.database import session_scope
    from service.timestamps import utcnow

    settings = load_settings(database_url)
    try:
        found = read_claim(path, operator=operator, radio=radio, resolution=settings.h3_resolution)
    except InvalidInput as exc:
        fail(f"{exc.message}; nothing stored")
    actor = by or f"cli:{getpass.getuser()}"
    with open_sessions(settings, migrate=True) as sessions, session_scope(sessions) as session:
        claim = store_claim(session, found, actor=actor, now=utcnow())
    if found.reprojected_from:
        console.print(f"reprojected from {escape(found.reprojected_from)} to EPSG:4326")
    console.print(
        f"{path}: claim {claim.id} of {operator} ({radio}): {len(found.cells):,} cells claimed "
        f"covered at H3 resolution {settings.h3_resolution}",
        markup=False, highlight=False,
    )  # fmt: skip
