"""Pictures out: Folium maps of decided coverage data, dead zones, suggested sites and progress.

``maps`` takes plain data (``model``), never imports ``service``, and renders HTML that needs
no CDN: self-contained (assets inlined) or linked to ``asset_dir()`` under a URL prefix.
"""

from domain.vocabulary import BEST_OF_ALL, VILLAGE_STATUSES, Decision

from .assets import asset_dir, asset_versions
from .coverage import coverage_map
from .deadzones import deadzone_map
from .model import (
    CELL_COLUMNS,
    AreaOutline,
    CellRecord,
    CommuneProgress,
    MapMeta,
    PlannedSite,
    VillageMark,
    VillageStatus,
    ZoneRecord,
    cells_to_frame,
    format_operator_statuses,
)
from .page import map_to_html, write_map_html
from .progress import progress_map

__all__ = [
    "BEST_OF_ALL",
    "CELL_COLUMNS",
    "VILLAGE_STATUSES",
    "AreaOutline",
    "CellRecord",
    "Decision",
    "CommuneProgress",
    "ZoneRecord",
    "MapMeta",
    "PlannedSite",
    "VillageMark",
    "VillageStatus",
    "asset_dir",
    "asset_versions",
    "cells_to_frame",
    "coverage_map",
    "deadzone_map",
    "format_operator_statuses",
    "map_to_html",
    "progress_map",
    "write_map_html",
]
