"""The coverage map: cells coloured by status, one switchable layer per operator.

Layer choice: operators are *base layers* (radio buttons), not check-box overlays. Only one
operator can then be visible at a time, which is the only reading that makes sense: two
semi-transparent hexagon layers on top of each other mix their colours into a status that no
one decided. The OpenStreetMap tiles stay outside the layer control (always under the cells), and
area outlines are an overlay that can be turned off.

Resolution by zoom: each operator layer holds one sub-layer per H3 resolution present in the
data (9, and the roll-ups 8 and 7 when the service sends them) and shows the coarsest one whose
hexagons are still at least ``MIN_EDGE_PX`` wide at the current zoom (deadzone.js
``coverageLayer``). Roll-ups keep the overview readable and light; res 9 appears from about
zoom 12, when a 174 m edge is ~4 px.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Collection, Iterable, Sequence

import folium
import h3
import numpy as np
import pandas as pd

from domain.vocabulary import BEST_OF_ALL, Decision

from .encoding import SCALE, int_lists_to_texts, json_for_script, rings_to_texts
from .i18n import labels_for
from .model import AreaOutline, CellRecord, MapMeta, cells_to_frame, parse_operator_statuses
from .page import (
    Bounds,
    MapScript,
    ScriptLayer,
    add_area_outlines,
    add_legend,
    area_bounds,
    finish_map,
    new_map,
)
from .palette import STATUS_ORDER, STATUS_STYLES
from .patches import Patch, frame_to_patches

# A hexagon narrower than this many screen pixels is noise; show its roll-up parent instead.
MIN_EDGE_PX = 4.0
# Ground resolution of zoom 0 at the equator, metres per 256-px tile pixel (Bing Maps Tile
# System, "Ground Resolution and Map Scale"; Leaflet's EPSG:3857 uses the same).
EQUATOR_M_PER_PX_Z0 = 156_543.03392
# Statuses whose res-9 cells carry per-cell evidence for the click popup. Covered and unknown
# cells are the bulk of a province; leaving them out keeps the page under budget.
DEFAULT_CELL_DETAIL: tuple[str, ...] = (
    Decision.DEAD.value,
    Decision.WEAK.value,
    Decision.CONTESTED.value,
)
_NS_PER_DAY = 86_400 * 10**9


def min_zoom_for_resolution(resolution: int, latitude: float) -> int:
    """Lowest web-map zoom at which a res-``resolution`` hexagon edge is >= ``MIN_EDGE_PX``."""
    edge_m = h3.average_hexagon_edge_length(resolution, unit="m")
    m_per_px_z0 = EQUATOR_M_PER_PX_Z0 * math.cos(math.radians(latitude))
    return max(0, math.ceil(math.log2(m_per_px_z0 * MIN_EDGE_PX / edge_m)))


def zoom_ranges(resolutions: Iterable[int], latitude: float) -> dict[int, tuple[int, int]]:
    """Zoom range (inclusive) in which each resolution is drawn; coarsest from zoom 0,
    finest up to any zoom."""
    ordered = sorted(set(resolutions))
    starts = [0] + [min_zoom_for_resolution(r, latitude) for r in ordered[1:]]
    ranges: dict[int, tuple[int, int]] = {}
    for i, res in enumerate(ordered):
        end = starts[i + 1] - 1 if i + 1 < len(ordered) else 30
        ranges[res] = (starts[i], max(starts[i], end))
    return ranges


def _dbm_or_zero(value: float | None) -> int:
    # Whole dB: the AOSP bar thresholds are whole dB, and tenths of a mean are false precision.
    # 0 stands for "no value": 0 dBm is far above any received signal (AOSP max -24 dBm).
    return 0 if value is None or math.isnan(value) else round(value)


def _patch_stats(patch: Patch, base_day: int, *, has_detail: bool) -> list[int] | None:
    """Patch evidence as encoded ints (deadzone.js ``patchTooltip``): cells, readings, devices,
    dBm min, dBm max (0 = none), confidence min*100, max*100, and
    ``base_day - last_seen_day + 1`` (0 = none). Empty for a single cell with per-cell
    evidence: the page reads the same numbers from the evidence (a third of the patches of a
    noisy field are such cells)."""
    if has_detail and len(patch.cells) == 1:
        return None
    day = 0
    if patch.last_seen is not None:
        day = base_day - patch.last_seen.value // _NS_PER_DAY + 1  # .value: ns since epoch
    return [
        len(patch.cells),
        patch.readings,
        patch.devices,
        _dbm_or_zero(patch.dbm_min),
        _dbm_or_zero(patch.dbm_max),
        round(patch.confidence_min * 100),
        round(patch.confidence_max * 100),
        day,
    ]


# Each operator's own decision in a best-of-all cell, one octal digit per operator
# (``CellEvidence``; deadzone.js ``operatorLines``); 0 = no decision of that operator.
OPERATOR_STATUS_CODES = {
    Decision.COVERED.value: 1,
    Decision.WEAK.value: 2,
    Decision.DEAD.value: 3,
    Decision.UNKNOWN.value: 4,
    Decision.CONTESTED.value: 5,
}


def statuses_operators(frame: pd.DataFrame) -> list[str]:
    """The operators named in ``operator_statuses`` anywhere in ``frame``, in order."""
    named: set[str] = set()
    for text in frame["operator_statuses"].unique():
        named.update(parse_operator_statuses(str(text)))
    return sorted(named)


class CellEvidence:
    """Per-row evidence of a cell table as integer columns, for the click popups.

    Encoded per cell as 8 integers (deadzone.js ``nearestCell``): centre x, y as deltas in
    1/SCALE degree, readings, devices, whole dBm (0 = none: 0 dBm is no real signal),
    confidence*100, ``base_day - last_seen_day + 1`` (0 = never seen), and each operator's
    own status in a best-of-all cell, digit ``i`` in base 8 for ``operators[i]``
    (``OPERATOR_STATUS_CODES``; 0 when none is known).
    """

    def __init__(self, frame: pd.DataFrame, operators: Sequence[str] = ()) -> None:
        self.operators = list(operators)
        self.statuses = frame["operator_statuses"].to_numpy()
        self.h3 = frame["h3"].to_numpy()
        self.readings = frame["readings"].to_numpy(dtype=np.int64)
        self.devices = frame["devices"].to_numpy(dtype=np.int64)
        dbm = frame["signal_dbm_mean"].to_numpy(dtype=float)
        self.dbm = np.where(np.isnan(dbm), 0, np.rint(dbm)).astype(np.int64)
        confidence = frame["confidence"].to_numpy(dtype=float)
        self.conf100 = np.rint(confidence * 100).astype(np.int64)
        seen = frame["last_seen"].dt.tz_convert(None).to_numpy(dtype="datetime64[D]")
        days = seen.astype(np.int64)
        known = ~np.isnat(seen)
        self.base_day = int(days[known].max()) if known.any() else 0
        self.day_code = np.where(known, self.base_day - days + 1, 0)

    def status_code(self, row: int) -> int:
        statuses = parse_operator_statuses(str(self.statuses[row]))
        return sum(
            OPERATOR_STATUS_CODES.get(statuses[op], 0) * 8**i
            for i, op in enumerate(self.operators)
            if op in statuses
        )

    def table(self, rows: Sequence[int]) -> np.ndarray:
        """The 8 integers of each row, flattened, centres as successive deltas."""
        index = np.asarray(rows, dtype=np.int64)
        centres = np.array([h3.cell_to_latlng(c) for c in self.h3[index]]).reshape(-1, 2)
        xy = np.rint(centres[:, ::-1] * SCALE).astype(np.int64)
        deltas = np.diff(xy, axis=0, prepend=np.zeros((1, 2), np.int64))
        table = np.column_stack(
            [
                deltas,
                self.readings[index],
                self.devices[index],
                self.dbm[index],
                self.conf100[index],
                self.day_code[index],
                np.array([self.status_code(int(r)) for r in index], dtype=np.int64),
            ]
        )
        return table.ravel()


def operator_spec(
    patches: Sequence[Patch],
    evidence: CellEvidence,
    *,
    latitude: float,
    cell_detail: Collection[str],
) -> dict[str, object]:
    """The JSON that ``deadzone.coverageLayer`` draws for one operator."""
    resolutions = sorted({p.resolution for p in patches})
    ranges = zoom_ranges(resolutions, latitude)
    finest = resolutions[-1] if resolutions else None
    levels = []
    for res in resolutions:
        classes = []
        for status in STATUS_ORDER:
            members = [p for p in patches if p.resolution == res and p.status is status]
            if not members:
                continue
            with_detail = res == finest and status.value in cell_detail
            classes.append(
                {
                    "status": status.value,
                    "patches": _encode_patches(members, evidence, with_detail=with_detail),
                }
            )
        lo, hi = ranges[res]
        levels.append({"res": res, "minZoom": lo, "maxZoom": hi, "classes": classes})
    return {
        "styles": {s.value: STATUS_STYLES[s].to_leaflet() for s in STATUS_ORDER},
        "baseDay": evidence.base_day,
        "levels": levels,
    }


def with_operator_names(spec: dict[str, object], evidence: CellEvidence, meta: MapMeta) -> None:
    """The display names of the operators whose statuses the detail carries (escaped)."""
    if evidence.operators:
        spec["operators"] = [html.escape(operator_label(op, meta)) for op in evidence.operators]


def _encode_patches(
    patches: Sequence[Patch], evidence: CellEvidence, *, with_detail: bool
) -> list[list[object]]:
    """``[[polygon rings], stats, detail or 0]`` per patch, all encoded in batches (one numpy
    pass per class instead of one call per ring: 3x faster on a province)."""
    texts = iter(rings_to_texts([ring for p in patches for ring in p.rings]))
    polygons = [[[next(texts) for _ in p.rings]] for p in patches]
    detailed = [with_detail and bool(p.rows) for p in patches]
    stats = [
        _patch_stats(p, evidence.base_day, has_detail=d)
        for p, d in zip(patches, detailed, strict=True)
    ]
    stat_texts = iter(int_lists_to_texts([s for s in stats if s is not None]))
    detail_texts = iter(
        int_lists_to_texts(
            [evidence.table(p.rows) for p, d in zip(patches, detailed, strict=True) if d]
        )
    )
    return [
        [
            polygon,
            next(stat_texts) if s is not None else "",
            next(detail_texts) if d else 0,
        ]
        for polygon, s, d in zip(polygons, stats, detailed, strict=True)
    ]


def operator_label(operator: str, meta: MapMeta) -> str:
    """Display name: "Best of all operators", or "Viettel (452-04)" when the name is known."""
    if operator == BEST_OF_ALL:
        return labels_for(meta.lang)["operator.any"]
    name = meta.operator_names.get(operator)
    return f"{name} ({operator})" if name else operator


def no_data_text(operator: str, meta: MapMeta) -> str:
    """What the map says when ``operator`` has no decided cell in its scope (plain text)."""
    labels = labels_for(meta.lang)
    if operator == BEST_OF_ALL:
        return labels["coverage.no_data"]
    return labels["coverage.no_data_operator"].format(operator=operator_label(operator, meta))


def legend_html(meta: MapMeta, *, has_rollups: bool, estimated: bool = False) -> str:
    """Legend body listing every class and what it means, escaped (``page.add_legend``)."""
    labels = labels_for(meta.lang)
    items = []
    statuses = (Decision.COVERED, Decision.WEAK, Decision.DEAD, Decision.CONTESTED,
                Decision.UNKNOWN)  # fmt: skip
    for status in statuses:
        style = STATUS_STYLES[status]
        border = "dashed" if style.dash else "solid"
        swatch = (
            f"<span class='dz-swatch' style='background:{style.fill};"
            f"opacity:{max(style.fill_opacity, 0.55)};border:1.5px {border} {style.stroke}'></span>"
        )
        items.append(
            f"<li data-status='{status.value}'>{swatch}<span><b>"
            f"{html.escape(labels['status.' + status.value])}</b><br>"
            f"{html.escape(labels['legend.' + status.value])}</span></li>"
        )
    if estimated:
        style = STATUS_STYLES[Decision.DEAD]
        swatch = (
            f"<span class='dz-swatch' style='background:{style.fill};"
            f"opacity:{ESTIMATE_OPACITY_FACTOR * style.fill_opacity:.2f};"
            f"border:1.5px dashed {style.stroke}'></span>"
        )
        items.append(
            f"<li data-status='estimated'>{swatch}<span><b>"
            f"{html.escape(labels['estimate.layer'])}</b><br>"
            f"{html.escape(labels['legend.estimated'])}</span></li>"
        )
    note = f"<p class='dz-note'>{html.escape(labels['legend.zoom'])}</p>" if has_rollups else ""
    return f"<ul>{''.join(items)}</ul>{note}"


# Estimated cells are drawn apart from measured ones: the status colour, much lighter, with
# a dashed outline, in an overlay of their own ("estimated, not measured").
ESTIMATE_OPACITY_FACTOR = 0.4
ESTIMATE_DASH = "5 4"


def add_estimated_layer(
    m: folium.Map, estimated: pd.DataFrame, *, operator: str, meta: MapMeta
) -> folium.FeatureGroup | None:
    """The cells whose status is inferred, not measured, for ``operator`` (``estimated`` has
    columns h3, operator, status: covered/weak/dead, at one resolution), as a group outside
    the layer control and off the map: the one "estimated" overlay shows the group of the
    operator shown (``deadzone.estimatesFollowOperator``). None when ``operator`` has no
    estimated cell."""
    mine = estimated[estimated["operator"] == operator]
    if mine.empty:
        return None
    labels = labels_for(meta.lang)
    group = folium.FeatureGroup(
        name=f"{labels['estimate.layer']} ({operator_label(operator, meta)})",
        overlay=True,
        control=False,
        show=False,
    )
    for patch in frame_to_patches(cells_to_frame(mine)):
        style = STATUS_STYLES[patch.status]
        folium.Polygon(
            locations=[[(lat, lon) for lon, lat in ring] for ring in patch.rings],
            color=style.stroke,
            weight=1.2,
            dash_array=ESTIMATE_DASH,
            fill=True,
            fill_color=style.fill,
            fill_opacity=ESTIMATE_OPACITY_FACTOR * style.fill_opacity,
            tooltip=f"{labels['estimate.layer']}: {labels['status.' + patch.status.value]}",
        ).add_to(group)
    group.add_to(m)
    return group


def frame_bounds(frame: pd.DataFrame) -> Bounds | None:
    """(south, west, north, east) of the cell centres, padded by one res-9 edge."""
    if frame.empty:
        return None
    sample = frame["h3"].drop_duplicates()
    latlng = np.array([h3.cell_to_latlng(c) for c in sample])
    pad = 0.002  # about one res-9 edge (174 m) in degrees, so border cells are not cut
    return (
        float(latlng[:, 0].min() - pad),
        float(latlng[:, 1].min() - pad),
        float(latlng[:, 0].max() + pad),
        float(latlng[:, 1].max() + pad),
    )


def coverage_map(
    cells: pd.DataFrame | Iterable[CellRecord],
    *,
    meta: MapMeta,
    areas: Sequence[AreaOutline] = (),
    cell_detail: Collection[str] = DEFAULT_CELL_DETAIL,
    operators: Collection[str] | None = None,
    estimated: pd.DataFrame | None = None,
) -> folium.Map:
    """Coverage map of decided cells: one radio-button layer per operator, "any" first.

    ``cells``: see ``model.CellRecord`` / ``model.CELL_COLUMNS``. Cells of one operator,
    resolution and status are dissolved into patches (one polygon per connected group) with
    fixed-style layers per class. ``cell_detail``: statuses whose finest-resolution cells get a
    click popup with their own evidence. ``operators``: draw only these operator values (e.g.
    ``{"any", "452-04"}``); None draws all. Each operator layer costs about 3 MB for 170,000
    clustered res-9 cells (benchmarks/maps.py), so a page for all five operators of a whole
    province is better split. ``estimated``: cells whose status is inferred by the estimate,
    not measured (h3, operator, status), drawn apart in an overlay per operator (the best of
    all shown). Render with ``page.map_to_html``.
    """
    frame = cells_to_frame(cells)
    if operators is not None:
        frame = frame[frame["operator"].isin(set(operators))].reset_index(drop=True)
    # Without cells, the view fits the areas (a commune's outline beats all of Vietnam).
    bounds = frame_bounds(frame) or area_bounds(areas)
    m = new_map(meta, bounds=bounds)
    if estimated is not None and operators is not None:
        estimated = estimated[estimated["operator"].isin(set(operators))]
    has_estimates = estimated is not None and not estimated.empty
    legend = legend_html(
        meta, has_rollups=frame["resolution"].nunique() > 1, estimated=has_estimates
    )
    add_legend(m, legend, meta=meta)
    add_area_outlines(m, areas, meta=meta)
    latitude = (bounds[0] + bounds[2]) / 2 if bounds else 0.0
    labels_json = json_for_script({k: html.escape(v) for k, v in labels_for(meta.lang).items()})
    patches = frame_to_patches(frame)
    evidence = CellEvidence(frame, statuses_operators(frame))
    # An operator asked for without a decided cell, or a map with none at all, still gets its
    # layer, which says so: an empty map without a word reads as "broken" or as "no problem".
    drawn = sorted(
        set(frame["operator"]) | set(operators or ()) or {BEST_OF_ALL},
        key=lambda op: (op != BEST_OF_ALL, op),
    )
    layers: dict[str, ScriptLayer] = {}
    for index, operator in enumerate(drawn):
        spec = operator_spec(
            [p for p in patches if p.operator == operator],
            evidence,
            latitude=latitude,
            cell_detail=set(cell_detail),
        )
        if not spec["levels"]:
            spec["empty"] = html.escape(no_data_text(operator, meta))
        if operator == BEST_OF_ALL:
            with_operator_names(spec, evidence, meta)
        layer = ScriptLayer(
            _coverage_factory(json_for_script(spec), labels_json),
            name=operator_label(operator, meta),
            overlay=False,
            show=index == 0,
        )
        layer.add_to(m)
        layers[operator] = layer
    if estimated is not None and has_estimates:
        # One "estimated, not measured" overlay that follows the operator shown: Viettel's
        # measured cells under the best of all's estimates read as Viettel's estimates (a
        # planner's walk-through), and one box per operator filled the layer control.
        shown = folium.FeatureGroup(
            name=labels_for(meta.lang)["estimate.layer"], overlay=True, show=True
        )
        shown.add_to(m)
        pairs = [
            (layers[operator], add_estimated_layer(m, estimated, operator=operator, meta=meta))
            for operator in drawn
        ]
        m.add_child(MapScript(lambda name: _follow_factory(name, shown, pairs)))
    return finish_map(m, collapsed=False)


def _follow_factory(
    map_name: str,
    shown: folium.FeatureGroup,
    pairs: Sequence[tuple[ScriptLayer, folium.FeatureGroup | None]],
) -> str:
    items = ", ".join(
        f"[{base.get_name()}, {group.get_name() if group is not None else 'null'}]"
        for base, group in pairs
    )
    return f"deadzone.estimatesFollowOperator({map_name}, {shown.get_name()}, [{items}]);"


def _coverage_factory(spec_json: str, labels_json: str) -> Callable[[str], str]:
    def factory(map_name: str) -> str:
        return f"deadzone.coverageLayer({map_name}, {spec_json}, {labels_json})"

    return factory
