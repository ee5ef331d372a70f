"""The dead-zone map: ranked zone outlines with popups and a side list that zooms to each, and
optionally the plan layer: suggested sites as numbered markers with their coverage circles."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import folium
from shapely.geometry.base import BaseGeometry

from .encoding import geometry_to_polygons, json_for_script
from .i18n import format_number, labels_for
from .model import AreaOutline, MapMeta, PlannedSite, ZoneRecord
from .page import (
    Bounds,
    ScriptLayer,
    add_area_outlines,
    add_legend,
    area_bounds,
    finish_map,
    format_date,
    new_map,
)
from .palette import SITE_CIRCLE_STYLE, ZONE_STYLE


def order_zones(zones: Sequence[ZoneRecord]) -> list[ZoneRecord]:
    """Highest priority first; rank breaks ties, then id, so the order is stable."""
    return sorted(zones, key=lambda z: (-z.priority, z.rank, z.id))


def _operator_names(zone: ZoneRecord, meta: MapMeta) -> str:
    names = [
        f"{meta.operator_names[op]} ({op})" if op in meta.operator_names else op
        for op in zone.operators
    ]
    return ", ".join(names)


def villages_text(villages: Sequence[str], communes: Sequence[str]) -> str:
    """Village names grouped by commune, communes in order of their first village:
    "Thôn 1, Buôn Đôn (Xã Ea Ktur); Thôn 1 (Xã Ea Tih)". Without communes, the names."""
    if len(communes) != len(villages) or not any(communes):
        return ", ".join(villages)
    groups: dict[str, list[str]] = {}
    for village, commune in zip(villages, communes, strict=True):
        groups.setdefault(commune, []).append(village)
    return "; ".join(
        ", ".join(names) + (f" ({commune})" if commune else "") for commune, names in groups.items()
    )


def zone_popup_html(zone: ZoneRecord, meta: MapMeta) -> str:
    """Popup of one zone, who it leaves without signal first (people, villages, operators),
    the evidence next, its id last (for a commitment or a ticket); every text from data
    is escaped."""
    lang = meta.lang
    labels = labels_for(lang)
    km2 = labels["unit.km2"]
    none = labels["value.none"]
    rows: list[tuple[str, str]] = []
    if zone.population is not None:
        rows.append((labels["zone.population"], format_number(zone.population, lang)))
    if zone.villages:
        rows.append((labels["zone.villages"], villages_text(zone.villages, zone.village_communes)))
    rows += [
        (labels["zone.operators"], _operator_names(zone, meta) or none),
        (labels["zone.area"], f"{format_number(zone.area_km2, lang, decimals=2)} {km2}"),
        (labels["zone.cells"], format_number(zone.cells, lang)),
        (labels["zone.readings"], format_number(zone.readings, lang)),
        (labels["zone.devices"], format_number(zone.devices, lang)),
        (labels["zone.first_seen"], format_date(zone.first_seen, none, lang=lang)),
        (labels["zone.last_seen"], format_date(zone.last_seen, none, lang=lang)),
        (labels["zone.priority"], format_number(zone.priority, lang, decimals=1)),
        (labels["zone.id"], zone.id),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    title = f"{html.escape(labels['zone.rank'])} {zone.rank}"
    return f"<div class='dz-popup'><b>{title}</b><table>{body}</table></div>"


def zone_list_label(zone: ZoneRecord, meta: MapMeta) -> str:
    """One line of the side list, after the rank: people, the first village (and how many
    more), area. The id stays in the popup: a list read in a meeting names places."""
    lang = meta.lang
    labels = labels_for(lang)
    parts = []
    if zone.population is not None:
        parts.append(f"{format_number(zone.population, lang)} {labels['zone.people']}")
    if zone.villages:
        more = len(zone.villages) - 1
        first = villages_text(zone.villages[:1], zone.village_communes[:1])
        parts.append(first + (f" +{more}" if more else ""))
    parts.append(f"{format_number(zone.area_km2, lang, decimals=2)} {labels['unit.km2']}")
    return html.escape(" · ".join(parts))


# Kilometres per degree of latitude (mean meridian degree, WGS84: 111.13 km); a degree of
# longitude is this times cos(latitude). Good to a percent, plenty for fitting a view.
KM_PER_DEGREE = 111.13


def site_popup_html(site: PlannedSite, meta: MapMeta) -> str:
    """Popup of one suggested site; village names are escaped."""
    lang = meta.lang
    labels = labels_for(lang)
    people = labels["zone.people"]
    rows: list[tuple[str, str]] = [
        (labels["site.people_new"], f"{format_number(site.people_new, lang)} {people}"),
        (
            labels["site.people_cumulative"],
            f"{format_number(site.people_cumulative, lang)} {people}",
        ),
        (
            labels["site.villages"],
            villages_text(site.villages, site.village_communes) or labels["value.none"],
        ),
        (
            labels["site.radius"],
            f"{format_number(site.radius_km, lang, decimals=1)} {labels['unit.km']}",
        ),
        (labels["site.cell"], site.h3),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    title = f"{html.escape(labels['site.title'])} {int(site.rank)}"
    return f"<div class='dz-popup'><b>{title}</b><table>{body}</table></div>"


def site_box(site: PlannedSite) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the site's coverage circle, degrees."""
    dlat = site.radius_km / KM_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(site.lat)), 0.01)
    return (site.lon - dlon, site.lat - dlat, site.lon + dlon, site.lat + dlat)


def _bounds(geometries: Sequence[BaseGeometry], sites: Sequence[PlannedSite] = ()) -> Bounds | None:
    boxes = [g.bounds for g in geometries if not g.is_empty]
    boxes += [site_box(s) for s in sites]
    if not boxes:
        return None
    west = min(b[0] for b in boxes)
    south = min(b[1] for b in boxes)
    east = max(b[2] for b in boxes)
    north = max(b[3] for b in boxes)
    return (south, west, north, east)


def deadzone_legend_html(meta: MapMeta, *, sites: bool) -> str:
    """Legend body (``page.add_legend``): what a zone is and what its badge says, and with a
    plan layer what a site's badge and circle are; escaped."""
    labels = labels_for(meta.lang)
    zone = (
        f"<span class='dz-swatch' style='background:{ZONE_STYLE['fillColor']};"
        f"opacity:0.7;border:1.5px solid {ZONE_STYLE['color']}'></span>"
    )
    items = [(zone, labels["layer.zones"], labels["legend.zone"])]
    if sites:
        circle = (
            f"<span class='dz-swatch' style='border-radius:50%;height:18px;box-sizing:border-box;"
            f"border:2px dashed {SITE_CIRCLE_STYLE['color']}'></span>"
        )
        items.append((circle, labels["layer.sites"], labels["legend.site"]))
    rows = "".join(
        f"<li>{swatch}<span><b>{html.escape(title)}</b><br>{html.escape(text)}</span></li>"
        for swatch, title, text in items
    )
    return f"<ul>{rows}</ul>"


def deadzone_map(
    zones: Sequence[ZoneRecord],
    *,
    meta: MapMeta,
    areas: Sequence[AreaOutline] = (),
    sites: Sequence[PlannedSite] = (),
    decided: bool = True,
) -> folium.Map:
    """Dead zones ordered by priority, with rank labels, popups and a clickable side list.

    ``sites``: suggested new sites (the plan layer), drawn as numbered markers with their
    coverage circles (``radius_km``) in a switchable overlay; none, no overlay. The view fits
    the zones and the circles (or the areas when there is neither). ``decided``: whether the
    scope has any cell decided (not unknown); without one, no zone means nothing is known yet,
    and the list says that instead of "no dead zones". Render with ``page.map_to_html``.
    """
    labels = labels_for(meta.lang)
    ordered = order_zones(zones)
    bounds = _bounds([z.outline for z in ordered], sites) or area_bounds(areas)
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
            html.escape(labels["zone.none" if decided else "zone.no_data"]),
        )
    )
    ScriptLayer(
        lambda name: f"deadzone.zoneLayer({name}, {args})",
        name=labels["layer.zones"],
        overlay=True,
        show=True,
    ).add_to(m)
    if sites:
        plan = [
            {
                "rank": int(site.rank),
                "lat": round(site.lat, 6),
                "lon": round(site.lon, 6),
                "radius": round(site.radius_km * 1000.0, 1),  # metres, as L.circle takes
                "popup": site_popup_html(site, meta),
                # Set as the marker's title property by Leaflet, never parsed as HTML.
                "title": f"{labels['site.title']} {int(site.rank)}",
            }
            for site in sorted(sites, key=lambda s: s.rank)
        ]
        plan_args = f"{json_for_script(plan)}, {json_for_script(SITE_CIRCLE_STYLE)}"
        ScriptLayer(
            lambda name: f"deadzone.siteLayer({name}, {plan_args})",
            name=labels["layer.sites"],
            overlay=True,
            show=True,
        ).add_to(m)
    add_legend(m, deadzone_legend_html(meta, sites=bool(sites)), meta=meta)
    return finish_map(m, collapsed=True)
