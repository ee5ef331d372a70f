"""The dead-zone map: ranked zone outlines with popups and a side list that zooms to each."""

from __future__ import annotations

import html
from collections.abc import Sequence

import folium
from shapely.geometry.base import BaseGeometry

from .encoding import geometry_to_polygons, json_for_script
from .i18n import format_number, labels_for
from .model import AreaOutline, DeadZone, MapMeta
from .page import (
    Bounds,
    ScriptLayer,
    add_area_outlines,
    finish_map,
    format_date,
    new_map,
)
from .palette import ZONE_STYLE


def order_zones(zones: Sequence[DeadZone]) -> list[DeadZone]:
    """Highest priority first; rank breaks ties, then id, so the order is stable."""
    return sorted(zones, key=lambda z: (-z.priority, z.rank, z.id))


def _operator_names(zone: DeadZone, meta: MapMeta) -> str:
    names = [
        f"{meta.operator_names[op]} ({op})" if op in meta.operator_names else op
        for op in zone.operators
    ]
    return ", ".join(names)


def zone_popup_html(zone: DeadZone, meta: MapMeta) -> str:
    """Popup of one zone; every text from data is escaped."""
    lang = meta.lang
    labels = labels_for(lang)
    km2 = labels["unit.km2"]
    none = labels["value.none"]
    rows: list[tuple[str, str]] = [
        (labels["zone.id"], zone.id),
        (labels["zone.area"], f"{format_number(zone.area_km2, lang, decimals=2)} {km2}"),
        (labels["zone.cells"], format_number(zone.cells, lang)),
        (labels["zone.readings"], format_number(zone.readings, lang)),
        (labels["zone.devices"], format_number(zone.devices, lang)),
        (labels["zone.operators"], _operator_names(zone, meta) or none),
        (labels["zone.first_seen"], format_date(zone.first_seen, none)),
        (labels["zone.last_seen"], format_date(zone.last_seen, none)),
        (labels["zone.priority"], format_number(zone.priority, lang, decimals=1)),
    ]
    if zone.population is not None:
        rows.append((labels["zone.population"], format_number(zone.population, lang)))
    if zone.villages:
        rows.append((labels["zone.villages"], ", ".join(zone.villages)))
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    title = f"{html.escape(labels['zone.rank'])} {zone.rank}"
    return f"<div class='dz-popup'><b>{title}</b><table>{body}</table></div>"


def zone_list_label(zone: DeadZone, meta: MapMeta) -> str:
    """One line of the side list: id, area, and population or first village when known."""
    lang = meta.lang
    labels = labels_for(lang)
    text = f"{zone.id} · {format_number(zone.area_km2, lang, decimals=2)} {labels['unit.km2']}"
    if zone.population is not None:
        text += f" · {format_number(zone.population, lang)} {labels['zone.people']}"
    if zone.villages:
        text += f" · {zone.villages[0]}"
    return html.escape(text)


def _bounds(geometries: Sequence[BaseGeometry]) -> Bounds | None:
    boxes = [g.bounds for g in geometries if not g.is_empty]
    if not boxes:
        return None
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    return (south, west, north, east)


def deadzone_map(
    zones: Sequence[DeadZone],
    *,
    meta: MapMeta,
    areas: Sequence[AreaOutline] = (),
) -> folium.Map:
    """Dead zones ordered by priority, with rank labels, popups and a clickable side list.

    The view fits the zones (or the areas when there is no zone). Render with
    ``page.map_to_html``.
    """
    labels = labels_for(meta.lang)
    ordered = order_zones(zones)
    bounds = _bounds([z.outline for z in ordered]) or _bounds([a.geometry for a in areas])
    m = new_map(meta, bounds=bounds)
    add_area_outlines(m, areas, meta=meta)
    payload = [
        {
            "rank": int(zone.rank),
            "label": zone_list_label(zone, meta),
            "popup": zone_popup_html(zone, meta),
            "polygons": geometry_to_polygons(zone.outline),
            "point": [
                round(zone.outline.representative_point().y, 5),
                round(zone.outline.representative_point().x, 5),
            ],
        }
        for zone in ordered
    ]
    args = ", ".join(
        json_for_script(v)
        for v in (
            payload,
            ZONE_STYLE,
            html.escape(labels["zone.list"]),
            html.escape(labels["zone.none"]),
        )
    )
    ScriptLayer(
        lambda name: f"deadzone.zoneLayer({name}, {args})",
        name=labels["layer.zones"],
        overlay=True,
        show=True,
    ).add_to(m)
    return finish_map(m, collapsed=True)
