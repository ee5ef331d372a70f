"""The progress map: communes coloured by the share of their people covered, villages marked by
status (trắng sóng, lõm sóng, covered, not enough readings), one switchable layer per status.

Sized for a province (about 700 communes and 5,000 villages): Folium only holds the page; the
data is one compact JSON payload that ``deadzone.js`` (``progressLayers``) turns into shapes on
one canvas, never one Folium object (and one script block) per feature. Commune outlines are
simplified and polyline-coded like every other outline (``encoding.py``); villages are integer
rows in the same code; popups are built in the page from numbers and from names that were
HTML-escaped here.
"""

from __future__ import annotations

import html
import math
import uuid
from collections.abc import Callable, Sequence

import folium
import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from .encoding import SCALE, geometries_to_polygons, int_lists_to_texts, json_for_script
from .i18n import format_number, labels_for
from .model import VILLAGE_STATUSES, CommuneProgress, Decision, Lang, MapMeta, VillageMark
from .page import Bounds, MapScript, ScriptLayer, add_legend, finish_map, new_map
from .palette import (
    COMMUNE_STYLE,
    NO_DATA_FILL,
    NO_DATA_HATCH,
    NO_DATA_STYLE,
    VILLAGE_DRAW_ORDER,
    VILLAGE_MARKER,
    VILLAGE_STYLES,
    ShareClass,
    share_class_index,
    share_classes,
)

# Simplification of commune outlines, degrees (1e-5 degree is about 1.1 m): about 30 m, under
# a pixel up to zoom 12 (38 m per pixel at this latitude) and a few pixels beyond; a
# province's official outlines carry vertices every few metres, which only weigh the page.
SIMPLIFY_DEG = 0.0003
# Centre decisions in the order of the village rows' last integer (deadzone.js villagePopup).
CENTRE_STATUSES: tuple[str, ...] = tuple(s.value for s in Decision)
# Likely statuses of villages of unknown status, in the order of the village rows' ninth
# integer less one (0: none; service/areas/likely.py).
LIKELY_STATUSES: tuple[str, ...] = ("trang_song", "covered")
# Integers per village row (deadzone.js progressLayers): dx, dy (1/SCALE degree, deltas within
# the status), population + 1 (0: unknown), people in dead cells, dead cells, cells,
# commune place + 1 (0: none), centre decision index, likely status index + 1 (0: none),
# its probability in thousandths.
VILLAGE_INTS = 10


def simplify_outlines(
    geometries: Sequence[BaseGeometry], *, tolerance: float = SIMPLIFY_DEG
) -> list[BaseGeometry]:
    """Simplified outlines, ``tolerance`` in degrees.

    Communes that form a valid coverage (no overlaps, shared edges matched) are simplified
    together (``shapely.coverage_simplify``) so that neighbours keep one common border without
    slivers; otherwise each is simplified on its own, keeping its topology. A shape that would
    vanish, or stop being polygonal, is kept as it was.
    """
    if not geometries:
        return []
    shapes = np.asarray(geometries, dtype=object)
    try:
        as_coverage = bool(shapely.coverage_is_valid(shapes))
    except shapely.errors.GEOSException:
        as_coverage = False
    if as_coverage:
        simplified = shapely.coverage_simplify(shapes, tolerance)
    else:
        simplified = shapely.simplify(shapes, tolerance, preserve_topology=True)
    return [
        new if isinstance(new, Polygon | MultiPolygon) and not new.is_empty else old
        for new, old in zip(simplified, geometries, strict=True)
    ]


def format_share(share: float, lang: Lang) -> str:
    """A share (0..1) as a percentage: whole when it is whole ("95%"), else one decimal."""
    percent = share * 100
    decimals = 0 if abs(percent - round(percent)) < 1e-9 else 1
    return f"{format_number(percent, lang, decimals=decimals)}%"


def share_class_label(cls: ShareClass, *, first: bool, goal: float | None, lang: Lang) -> str:
    """Legend text of a class: "< 25%", "25–50%", "≥ 95% (goal reached)" or "100%"."""
    labels = labels_for(lang)
    if cls.high is None:
        text = "100%" if cls.low >= 1.0 else f"≥ {format_share(cls.low, lang)}"
        return f"{text} ({labels['progress.goal_reached']})" if goal is not None else text
    if first:
        return f"< {format_share(cls.high, lang)}"
    return f"{format_share(cls.low, lang)}–{format_share(cls.high, lang)}"


def _swatch(fill: str, stroke: str, *, dashed: bool = False, dot: bool = False) -> str:
    border = "dashed" if dashed else "solid"
    kind = "dz-swatch dz-dot" if dot else "dz-swatch"
    return f"<span class='{kind}' style='background:{fill};border:1.5px {border} {stroke}'></span>"


def progress_legend_html(meta: MapMeta, *, goal_share: float | None) -> str:
    """Legend body (``page.add_legend``): the share classes (goal first), no population data,
    the note that unknown or unmeasured people count as not covered, and the village statuses
    in both languages."""
    labels = labels_for(meta.lang)
    classes = share_classes(goal_share)
    items = []
    for index in range(len(classes) - 1, -1, -1):
        cls = classes[index]
        text = share_class_label(cls, first=index == 0, goal=goal_share, lang=meta.lang)
        items.append(
            f"<li data-class='{index}'>{_swatch(cls.fill, str(COMMUNE_STYLE['color']))}"
            f"<span>{html.escape(text)}</span></li>"
        )
    hatch = (
        "<span class='dz-swatch dz-hatch' style='background:repeating-linear-gradient("
        f"135deg,{NO_DATA_FILL} 0 3px,{NO_DATA_HATCH} 3px 4.5px);"
        f"border:1.5px dashed {NO_DATA_STYLE['color']}'></span>"
    )
    items.append(
        f"<li data-class='none'>{hatch}<span>{html.escape(labels['progress.no_data'])}</span></li>"
    )
    villages = []
    for status in VILLAGE_STATUSES:
        style = VILLAGE_STYLES[status]
        swatch = _swatch(
            str(style["fillColor"]), str(style["color"]), dashed="dashArray" in style, dot=True
        )
        villages.append(
            f"<li data-village='{status}'>{swatch}<span><b>"
            f"{html.escape(labels['village.' + status])}</b> "
            f"<i>({html.escape(labels['village.alt.' + status])})</i><br>"
            f"{html.escape(labels['village.legend.' + status])}</span></li>"
        )
    return (
        f"<h3>{html.escape(labels['progress.communes'])}</h3><ul>{''.join(items)}</ul>"
        f"<p class='dz-note'>{html.escape(labels['progress.note'])}</p>"
        f"<h3>{html.escape(labels['progress.villages'])}</h3><ul>{''.join(villages)}</ul>"
    )


def goal_gap(commune: CommuneProgress, goal_share: float | None) -> int | None:
    """People still to cover for the commune to reach the goal (0 when reached); None without
    a goal or without people."""
    if goal_share is None or commune.covered_share is None or commune.population <= 0:
        return None
    # A hair of tolerance: 0.95 x 1000 is 949.9999... in floating point.
    return max(0, math.ceil(goal_share * commune.population - commune.people_covered - 1e-6))


def _commune_row(
    commune: CommuneProgress, polygons: list[list[str]], cls: int | None, gap: int | None
) -> list[object]:
    """[name, polygons, class (-1: no data), people, covered, share x 10,000 (-1: none),
    gap (-1: none), villages trắng sóng, lõm sóng, covered, unknown, open zones]."""
    share = commune.covered_share
    return [
        html.escape(commune.name),
        polygons,
        -1 if cls is None else cls,
        round(commune.population),
        round(commune.people_covered),
        -1 if share is None else min(10_000, max(0, math.floor(share * 10_000))),
        -1 if gap is None else gap,
        *(commune.villages(s) for s in VILLAGE_STATUSES),
        int(commune.zones_open),
    ]


def progress_payload(
    communes: Sequence[CommuneProgress],
    villages: Sequence[VillageMark],
    *,
    meta: MapMeta,
    goal_share: float | None = None,
) -> tuple[dict[str, object], Bounds | None]:
    """The JSON that ``deadzone.progressLayers`` draws, and the bounds of what it holds.

    Communes are ordered by code; a village names its commune by index into ``places``
    (communes drawn first, then the codes of communes without an outline). Refuses an
    unknown village status with ``ValueError``.
    """
    classes = share_classes(goal_share)
    ordered = sorted(communes, key=lambda c: c.code)
    outlines = simplify_outlines([c.geometry for c in ordered])
    polygons = geometries_to_polygons(outlines)
    rows = [
        _commune_row(
            commune,
            encoded,
            share_class_index(commune.covered_share, classes),
            goal_gap(commune, goal_share),
        )
        for commune, encoded in zip(ordered, polygons, strict=True)
    ]
    place_of = {c.code: i for i, c in enumerate(ordered)}
    places = [html.escape(c.name) for c in ordered]
    by_status: dict[str, list[VillageMark]] = {s: [] for s in VILLAGE_STATUSES}
    for village in villages:
        status = str(getattr(village.status, "value", village.status))
        if status not in by_status:
            raise ValueError(f"village {village.code!r}: unknown status {status!r}")
        by_status[status].append(village)
        code = village.commune_code
        if code is not None and code not in place_of:
            place_of[code] = len(places)
            places.append(html.escape(code))
    village_payload = {}
    for status, members in by_status.items():
        table = []
        x0 = y0 = 0
        for v in members:
            x, y = round(v.lon * SCALE), round(v.lat * SCALE)
            centre = str(getattr(v.centre_status, "value", v.centre_status))
            table += [
                x - x0,
                y - y0,
                0 if v.population is None else int(v.population) + 1,
                round(v.people_dead),
                int(v.cells_dead),
                int(v.cells),
                0 if v.commune_code is None else place_of[v.commune_code] + 1,
                CENTRE_STATUSES.index(centre) if centre in CENTRE_STATUSES else 3,
                _likely_index(v.likely_status),
                round(1000 * (v.likely_probability or 0.0)),
            ]
            x0, y0 = x, y
        village_payload[status] = {
            "names": [html.escape(v.name) for v in members],
            "data": int_lists_to_texts([table])[0] if table else "",
        }
    spec: dict[str, object] = {
        "classes": [{**COMMUNE_STYLE, "fillColor": c.fill} for c in classes],
        "noData": {**NO_DATA_STYLE, "fillColor": NO_DATA_FILL, "hatch": NO_DATA_HATCH},
        "goal": None if goal_share is None else html.escape(format_share(goal_share, meta.lang)),
        "communes": rows,
        "places": places,
        "statuses": list(VILLAGE_STATUSES),
        "drawOrder": list(VILLAGE_DRAW_ORDER),
        "centreStatuses": list(CENTRE_STATUSES),
        "villageStyles": {s: {**VILLAGE_MARKER, **VILLAGE_STYLES[s]} for s in VILLAGE_STATUSES},
        "villageInts": VILLAGE_INTS,
        "likelyStatuses": list(LIKELY_STATUSES),
        "villages": village_payload,
    }
    return spec, _bounds(outlines, villages)


def _likely_index(status: str | None) -> int:
    """A likely status as the village row's integer: its index in LIKELY_STATUSES + 1."""
    if status is None:
        return 0
    if status not in LIKELY_STATUSES:
        raise ValueError(f"unknown likely status {status!r}")
    return LIKELY_STATUSES.index(status) + 1


def _bounds(outlines: Sequence[BaseGeometry], villages: Sequence[VillageMark]) -> Bounds | None:
    boxes = [g.bounds for g in outlines if not g.is_empty]
    boxes += [(v.lon, v.lat, v.lon, v.lat) for v in villages]
    if not boxes:
        return None
    pad = 0.002 if not outlines else 0.0  # villages alone: keep the edge markers in view
    return (
        min(b[1] for b in boxes) - pad,
        min(b[0] for b in boxes) - pad,
        max(b[3] for b in boxes) + pad,
        max(b[2] for b in boxes) + pad,
    )


def progress_map(
    communes: Sequence[CommuneProgress],
    villages: Sequence[VillageMark],
    *,
    meta: MapMeta,
    goal_share: float | None = None,
) -> folium.Map:
    """Progress towards zero dead zones: communes filled by the share of their people covered
    (``palette.share_classes``; grey hatching where no people are known), villages as
    markers coloured by status, one layer per status, popups with the numbers.

    ``goal_share`` (0..1) is the target share of people covered: communes at or above it get
    the "goal reached" colour and popups say how many people are missing. None: no goal, the
    top class is 100%. Render with ``page.map_to_html``.
    """
    labels = labels_for(meta.lang)
    spec, bounds = progress_payload(communes, villages, meta=meta, goal_share=goal_share)
    m = new_map(meta, bounds=bounds)
    add_legend(m, progress_legend_html(meta, goal_share=goal_share), meta=meta)
    data = f"dz_progress_{uuid.uuid4().hex}"
    spec_json = json_for_script(spec)
    labels_json = json_for_script({k: html.escape(v) for k, v in labels.items()})
    m.add_child(
        MapScript(
            lambda name: (
                f"var {data} = deadzone.progressLayers({name}, {spec_json}, {labels_json});"
            )
        )
    )
    ScriptLayer(
        lambda name: f"{data}.communes", name=labels["layer.communes"], overlay=True, show=True
    ).add_to(m)
    for status in VILLAGE_STATUSES:
        ScriptLayer(
            _village_factory(data, status),
            name=labels[f"layer.villages.{status}"],
            overlay=True,
            show=True,
        ).add_to(m)
    return finish_map(m, collapsed=False)


def _village_factory(data: str, status: str) -> Callable[[str], str]:
    key = json_for_script(status)

    def factory(map_name: str) -> str:
        return f"{data}.villages[{key}]"

    return factory
