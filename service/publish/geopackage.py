"""GeoPackage files (OGC 12-128r18) of the published layers, for QGIS and ArcGIS.

A GeoPackage is one SQLite file with typed columns and a declared CRS, which QGIS opens by
drag and drop; unlike GeoJSON it keeps integer and date columns typed and holds many
features compactly. Each layer here is one table in WGS84 (EPSG:4326) named for what it
holds (``deadzones``, ``cells``, ``villages``, ``sites``). Lists (village codes, operators)
are joined with ';' as in the CSV files. Written by GDAL through pyogrio (the library
geopandas uses), into a temporary file whose bytes are returned.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import orjson
import shapely

from service.areas.progress import VillageState

MEDIA_TYPE: Final = "application/geopackage+sqlite3"  # IANA registration, OGC 2018
SUFFIX: Final = "gpkg"
WGS84: Final = "EPSG:4326"


def features_to_geopackage(features: Sequence[dict[str, Any]], *, layer: str) -> bytes:
    """The bytes of a GeoPackage holding ``features`` (GeoJSON Feature dicts, WGS84) as the
    table ``layer``. An empty list gives an empty table with a ``geometry`` column."""
    rows = [_flat(feature.get("properties") or {}) for feature in features]
    geometries = [shapely.from_geojson(_geojson_text(f["geometry"])) for f in features]
    frame = gpd.GeoDataFrame(rows, geometry=geometries, crs=WGS84)
    if not features:
        frame = gpd.GeoDataFrame({"id": []}, geometry=[], crs=WGS84)
    with tempfile.TemporaryDirectory(prefix="deadzone-gpkg-") as folder:
        path = Path(folder) / f"{layer}.{SUFFIX}"
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio")
        return path.read_bytes()


def _geojson_text(geometry: Any) -> str:
    # A dict or an orjson.Fragment (pre-serialised hexagons and outlines) alike.
    return orjson.dumps(geometry).decode("utf-8")


def _flat(properties: dict[str, Any]) -> dict[str, Any]:
    """Columns a GeoPackage can type: lists joined by ';', mappings as JSON text."""
    out: dict[str, Any] = {}
    for key, value in properties.items():
        if isinstance(value, list):
            out[key] = ";".join(
                str(v.get("code", v)) if isinstance(v, dict) else str(v) for v in value
            )
        elif isinstance(value, dict):
            out[key] = orjson.dumps(value).decode("utf-8")
        else:
            out[key] = value
    return out


def village_features(states: Sequence[VillageState], names: dict[str, str]) -> list[dict[str, Any]]:
    """Villages as GeoJSON Point features (centre, WGS84) with their status and commune name."""
    features = []
    for state in states:
        properties = {k: v for k, v in asdict(state).items() if k not in ("lat", "lon")}
        properties["commune_name"] = names.get(state.commune_code or "")
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [state.lon, state.lat]},
                "properties": properties,
            }
        )
    return features
