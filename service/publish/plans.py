"""Site plans as files: CSV for spreadsheets and GeoJSON for QGIS."""

from __future__ import annotations

from typing import Any, Final

from service.publish.sheets import Lang, localized_csv

PLAN_CSV_HEADER: Final = (
    "rank", "h3", "lat", "lon", "people_new", "people_cumulative", "villages", "village_names",
    "model", "radius_km",
    # Last, so the columns files had before keep their places: what the plan assumed, so
    # that a 700 MHz plan and an 1800 MHz one cannot be mistaken for each other in a sheet.
    "operator", "radio", "band_mhz", "mast_height_m", "eirp_dbm", "calibration_db", "terrain",
)  # fmt: skip


def plan_to_csv(plan: dict[str, Any], *, lang: Lang = "en") -> str:
    """One row per site: rank, h3, lat, lon, people_new, people_cumulative, villages (codes
    separated by ';'), their names, the propagation model and its radius (km); then on every
    row what the plan assumed: operator, scope over radios, band (MHz), mast height (m),
    EIRP (dBm), calibration offset (dB) and terrain. A file for spreadsheets
    (``service.publish.exports``: BOM, names that cannot run as formulas)."""
    model = plan["model"]
    band = model.get("band_mhz")  # a request's band is an int, the server's default a float
    assumed = [
        plan["operator"], plan["radio"], None if band is None else round(band),
        model.get("mast_height_m"),
        model.get("eirp_dbm"), model.get("calibration_db"), plan["terrain"],
    ]  # fmt: skip
    rows = [
        [
            s["rank"],
            s["h3"],
            s["lat"],
            s["lon"],
            s["people_new"],
            s["people_cumulative"],
            [v["code"] for v in s["villages"]],
            [v["name"] for v in s["villages"]],
            model["name"],
            model["radius_km"],
            *assumed,
        ]
        for s in plan["sites"]
    ]
    return localized_csv(PLAN_CSV_HEADER, rows, lang=lang)


# The position is the geometry; the promised cells and the reach are internal to the plan.
_NOT_PROPERTIES: Final = ("lat", "lon", "cells", "reach")
# The model's figures each site of a layer carries, so that a GIS table (which keeps no
# collection-level members) still says how far a site reaches and why.
_MODEL_COLUMNS: Final = (
    "band_mhz", "mast_height_m", "eirp_dbm", "radius_km", "calibration_db",
)  # fmt: skip


def plan_to_geojson(plan: dict[str, Any]) -> dict[str, Any]:
    """The sites as GeoJSON points (WGS84 lon, lat) with the plan's model as a member."""
    return {
        "type": "FeatureCollection",
        "operator": plan["operator"],
        "model": plan["model"],
        "terrain": plan["terrain"],
        "explanation": plan["explanation"],
        "reason": plan["reason"],
        "features": [
            {
                "type": "Feature",
                "id": s["h3"],
                "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                "properties": {k: v for k, v in s.items() if k not in _NOT_PROPERTIES},
            }
            for s in plan["sites"]
        ],
    }


def plan_to_layer(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The sites as GeoJSON point features for a GIS layer (a GeoPackage's table): besides
    the site's own properties, its villages' names and the plan's model (its name, the
    figures of ``_MODEL_COLUMNS``) and terrain on every row, as the CSV file has them."""
    model = plan["model"]
    shared = {"model": model["name"], **{k: model.get(k) for k in _MODEL_COLUMNS}}
    features = plan_to_geojson(plan)["features"]
    for feature in features:
        villages = feature["properties"]["villages"]
        feature["properties"] |= {
            "village_names": [v["name"] for v in villages],
            **shared,
            "terrain": plan["terrain"],
        }
    return features
