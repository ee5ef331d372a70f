"""The frame every map shares: Leaflet map, tiles, scale bar, fullscreen, title, outlines, and
the HTML rendering in its two modes (self-contained, or assets by URL).

Folium is used as the page skeleton; what it would draw slowly or unsafely (styled GeoJSON,
tooltips built from raw properties) is replaced by small elements that call
``maps/assets/deadzone/deadzone.js`` with compact, pre-escaped data.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path

import folium
import pandas as pd
from branca.element import Element, MacroElement
from folium.map import Layer
from folium.plugins import Fullscreen

from domain.localtime import format_day, vietnam_date

from .assets import AssetTags
from .encoding import geometry_to_polygons, json_for_script
from .i18n import labels_for
from .model import AreaOutline, MapMeta
from .palette import AREA_STYLE

# (south, west, north, east) in degrees.
Bounds = tuple[float, float, float, float]

_ASSETS_KEY = "deadzone_assets"
# Where an empty map opens: the middle of Vietnam at a zoom that shows the country.
_EMPTY_CENTER = (16.0, 106.0)
_EMPTY_ZOOM = 6

OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a>'


class RawScript(Element):
    """Script text put into the page as is.

    Folium's ``MacroElement`` wraps the output of its ``script`` macro in a new branca
    ``Element``, which parses it *again* as a Jinja template: data containing ``{{ ... }}``
    (a village name, or our polyline text, whose alphabet includes braces) would be evaluated
    on the server. Our elements therefore hand their text to the figure through this class.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "RawScript"
        self.text = text

    def render(self, **kwargs: object) -> str:
        return self.text


def _parent_name(element: Element) -> str:
    if element._parent is None:
        raise ValueError("add the element to a map before rendering it")
    return element._parent.get_name()


class MapScript(MacroElement):
    """A piece of JavaScript run after the map exists; ``code`` gets the map's variable name."""

    def __init__(self, code: Callable[[str], str]) -> None:
        super().__init__()
        self._name = "MapScript"
        self.code = code

    def render(self, **kwargs: object) -> str:
        figure = self.get_root()
        text = self.code(_parent_name(self))
        figure.script.add_child(RawScript(text), name=self.get_name())  # type: ignore[attr-defined]
        return ""


class ScriptLayer(Layer):
    """A layer for the layer control whose Leaflet object is made by ``deadzone.js``.

    ``factory`` receives the map's variable name and returns a JS expression for the layer.
    """

    def __init__(
        self,
        factory: Callable[[str], str],
        *,
        name: str,
        overlay: bool,
        show: bool,
        control: bool = True,
    ) -> None:
        # Leaflet's layer control writes layer names as HTML, and folium's LayerControl passes
        # them through a second Jinja parse: escape HTML, and braces as entities.
        safe = html.escape(name).replace("{", "&#123;").replace("}", "&#125;")
        super().__init__(name=safe, overlay=overlay, control=control, show=show)
        self._name = "ScriptLayer"
        self.factory = factory

    def render(self, **kwargs: object) -> str:
        figure = self.get_root()
        parent = _parent_name(self)
        text = f"var {self.get_name()} = {self.factory(parent)};"
        figure.script.add_child(RawScript(text), name=self.get_name())  # type: ignore[attr-defined]
        if self.show:
            figure.script.add_child(  # type: ignore[attr-defined]
                RawScript(f"{self.get_name()}.addTo({parent});"), name=self.get_name() + "_add"
            )
        return ""


def format_date(value: date | datetime | None, none: str, *, lang: str = "vi") -> str:
    """The day in Vietnam (datetimes are instants, naive ones UTC), dd/mm/yyyy on Vietnamese
    pages and ISO 8601 on English ones; ``none`` when missing (None, NaT)."""
    if value is None or pd.isna(value):
        return none
    day = vietnam_date(value) if isinstance(value, datetime) else value
    return format_day(day, lang=lang)


def new_map(meta: MapMeta, *, bounds: Bounds | None) -> folium.Map:
    """A map with tiles, scale bar, fullscreen button, title box and local assets only."""
    labels = labels_for(meta.lang)
    m = folium.Map(
        location=list(_EMPTY_CENTER),
        zoom_start=_EMPTY_ZOOM,
        tiles=None,
        control_scale=False,  # re-added below in metres only: Vietnam does not read miles
        zoom_control=False,  # re-added below with translated button titles
    )
    # Drop folium's CDN defaults (Leaflet, jQuery, Bootstrap, Font Awesome, awesome-markers):
    # AssetTags below ships Leaflet and the fullscreen plugin locally, and nothing else is used.
    m.default_js = []
    m.default_css = []
    figure = m.get_root()
    figure.title = html.escape(meta.title)  # type: ignore[attr-defined]
    figure.header.add_child(AssetTags(), name=_ASSETS_KEY)  # type: ignore[attr-defined]
    # Tiles are a convenience, not a dependency: control=False keeps them out of the layer
    # switcher, and the map background colour keeps everything readable without them.
    folium.TileLayer(
        tiles=OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap", control=False, max_zoom=19
    ).add_to(m)
    no_tiles = json_for_script(html.escape(labels["map.no_tiles"]))
    m.add_child(MapScript(lambda name: f"deadzone.noticeTileErrors({name}, {no_tiles});"))
    zoom_titles = json_for_script(
        {
            "position": "topleft",
            "zoomInTitle": labels["control.zoom_in"],
            "zoomOutTitle": labels["control.zoom_out"],
        }
    )
    m.add_child(MapScript(lambda name: f"L.control.zoom({zoom_titles}).addTo({name});"))
    m.add_child(MapScript(lambda name: f"L.control.scale({{imperial: false}}).addTo({name});"))
    fullscreen = Fullscreen(
        position="topleft",
        title=labels["control.fullscreen"],
        title_cancel=labels["control.fullscreen_exit"],
    )
    fullscreen.default_js = []
    fullscreen.default_css = []
    fullscreen.add_to(m)
    if bounds is not None:
        # Without animation: from the opening zoom to a province's view (zoom 6 to 9) Leaflet
        # would animate, and the page would say it is ready while the canvas is still a
        # scaled, blurred picture of the opening view.
        box = json_for_script([[bounds[0], bounds[1]], [bounds[2], bounds[3]]])
        # Kept as dzView: a panel drawn later over the map fits the view again below it.
        m.add_child(
            MapScript(
                lambda name: (
                    f"{name}.dzView = L.latLngBounds({box}); "
                    f"{name}.fitBounds({name}.dzView, {{animate: false}});"
                )
            )
        )
    date_text = format_date(meta.data_date, labels["value.none"], lang=meta.lang)
    title_html = (
        f"<h1>{html.escape(meta.title)}</h1>"
        f"<p>{html.escape(labels['data.date'])}: {html.escape(date_text)}</p>"
    )
    m.add_child(
        MapScript(lambda name: f"deadzone.addTitle({name}, {json_for_script(title_html)});")
    )
    return m


def area_bounds(areas: Sequence[AreaOutline]) -> Bounds | None:
    """(south, west, north, east) of the areas' outlines; None without any."""
    boxes = [a.geometry.bounds for a in areas if not a.geometry.is_empty]
    if not boxes:
        return None
    return (
        min(b[1] for b in boxes),
        min(b[0] for b in boxes),
        max(b[3] for b in boxes),
        max(b[2] for b in boxes),
    )


def add_area_outlines(m: folium.Map, areas: Sequence[AreaOutline], *, meta: MapMeta) -> None:
    """Draw named area outlines as one overlay layer; names are shown escaped on hover."""
    if not areas:
        return
    items = [
        {"name": html.escape(a.name), "polygons": geometry_to_polygons(a.geometry)} for a in areas
    ]
    payload = json_for_script(items)
    style = json_for_script(AREA_STYLE)
    ScriptLayer(
        lambda name: f"deadzone.outlineLayer({name}, {payload}, {style})",
        name=labels_for(meta.lang)["layer.areas"],
        overlay=True,
        show=True,
    ).add_to(m)


def add_legend(m: folium.Map, body_html: str, *, meta: MapMeta) -> None:
    """Put the legend (``body_html``, escaped by the caller) in the bottom right corner under a
    heading that folds it away; it starts folded on phones (deadzone.js ``addLegend``)."""
    title = json_for_script(html.escape(labels_for(meta.lang)["legend.title"]))
    body = json_for_script(body_html)
    m.add_child(MapScript(lambda name: f"deadzone.addLegend({name}, {title}, {body});"))


def finish_map(m: folium.Map, *, collapsed: bool) -> folium.Map:
    """Add the layer control and the ready marker; call after every layer is added."""
    folium.LayerControl(collapsed=collapsed).add_to(m)
    m.add_child(MapScript(lambda name: f"deadzone.markReady({name});"))
    return m


def map_to_html(m: folium.Map, *, asset_url: str | None = None) -> str:
    """The page as HTML text.

    With ``asset_url`` None every script and stylesheet is inlined, so the file opens offline
    on its own (CLI). With a URL prefix such as ``"/static/maps"`` they are linked as
    ``{asset_url}/leaflet/leaflet.js`` etc., to be served from ``assets.asset_dir()``.
    """
    figure = m.get_root()
    tags = figure.header._children.get(_ASSETS_KEY)  # type: ignore[attr-defined]
    if not isinstance(tags, AssetTags):
        raise ValueError("not a deadzone map: build it with coverage_map() or deadzone_map()")
    tags.base_url = asset_url
    return str(figure.render())


def write_map_html(m: folium.Map, path: str | Path, *, asset_url: str | None = None) -> Path:
    """Write ``map_to_html`` to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.write_text(map_to_html(m, asset_url=asset_url), encoding="utf-8")
    return target
