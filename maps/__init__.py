"""Pictures out: Folium maps of decided coverage data and dead zones.

``maps`` takes plain data (``model``), never imports ``service``, and renders HTML that needs
no CDN: self-contained (assets inlined) or linked to ``asset_dir()`` under a URL prefix.
"""

from .assets import asset_dir, asset_versions
from .coverage import coverage_map
from .deadzones import deadzone_map
from .model import (
    BEST_OF_ALL,
    CELL_COLUMNS,
    AreaOutline,
    CellRecord,
    CellStatus,
    DeadZone,
    MapMeta,
    cells_to_frame,
)
from .page import map_to_html, write_map_html

__all__ = [
    "BEST_OF_ALL",
    "CELL_COLUMNS",
    "AreaOutline",
    "CellRecord",
    "CellStatus",
    "DeadZone",
    "MapMeta",
    "asset_dir",
    "asset_versions",
    "cells_to_frame",
    "coverage_map",
    "deadzone_map",
    "map_to_html",
    "write_map_html",
]
