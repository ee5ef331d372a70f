"""The reporter page's offline base map: imported commune outlines and village centres as
one small GeoJSON document.

A resident who places a report by hand needs something to place it on. Third-party tiles
are blank without a connection and tell the tile server where the resident is; the areas
deadzone already holds (``deadzone import-areas``) are enough to find one's commune and
village, and the page's service worker keeps this document for the next time offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from shapely.geometry import mapping
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.store.models import Commune, Village

# Outlines are simplified to about 50 m (0.0005 degrees of latitude is 56 m): a finger on
# a phone covers more than that at the zoom where a commune fills the screen, and the
# province's outlines shrink to a size a 2G link can carry.
SIMPLIFY_DEG = 0.0005
# Five decimals of a degree are 1.1 m: far below the simplification, a third of the bytes.
DECIMALS = 5


def _rounded(coords: Any) -> Any:
    if isinstance(coords[0], float | int):
        return [round(float(c), DECIMALS) for c in coords]
    return [_rounded(c) for c in coords]


def simplified_communes(session: Session) -> Iterator[tuple[str, str, BaseGeometry]]:
    """(code, name, outline simplified to ``SIMPLIFY_DEG``) of every imported commune, by
    code: the reporter's base map and the maps' outlines (``mapdata.commune_outlines``)."""
    for code, name, geom in session.execute(
        select(Commune.code, Commune.name, Commune.geom).order_by(Commune.code)
    ):
        yield code, name, geom.simplify(SIMPLIFY_DEG, preserve_topology=True)


def area_outlines(session: Session) -> dict[str, Any]:
    """Communes as simplified (multi)polygons with ``kind: "commune"`` and their name;
    villages as points with ``kind: "village"``, name and commune code. Names are as
    imported: the page inserts them as text, never as markup."""
    features: list[dict[str, Any]] = []
    for code, name, outline in simplified_communes(session):
        shape = mapping(outline)
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": shape["type"], "coordinates": _rounded(shape["coordinates"])},
                "properties": {"kind": "commune", "code": code, "name": name},
            }
        )
    for code, name, commune, lat, lon in session.execute(
        select(Village.code, Village.name, Village.commune_code, Village.lat, Village.lon)
        .order_by(Village.code)
    ):  # fmt: skip
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": _rounded([lon, lat])},
                "properties": {"kind": "village", "code": code, "name": name, "commune": commune},
            }
        )
    return {"type": "FeatureCollection", "features": features}
