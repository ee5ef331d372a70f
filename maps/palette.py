"""Colours and strokes of each status class, chosen to survive colour-blindness.

Fills are from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays
distinguishable under protanopia, deuteranopia and tritanopia: blue for covered, yellow for
weak, vermillion for dead. They also differ in lightness (yellow light, blue and vermillion
darker), so a grey-scale print still separates them. Unknown is a pale grey with a dashed
outline so it can never be read as "covered" (the Funkloch-map lesson in DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import CellStatus


@dataclass(frozen=True)
class ClassStyle:
    """Leaflet path options for one status class."""

    fill: str
    stroke: str
    fill_opacity: float
    weight: float
    dash: str | None = None

    def to_leaflet(self) -> dict[str, object]:
        """Options for ``L.polygon``; ``weight`` in CSS pixels."""
        options: dict[str, object] = {
            "color": self.stroke,
            "weight": self.weight,
            "opacity": 0.9,
            "fillColor": self.fill,
            "fillOpacity": self.fill_opacity,
        }
        if self.dash:
            options["dashArray"] = self.dash
        return options


STATUS_STYLES: dict[CellStatus, ClassStyle] = {
    CellStatus.COVERED: ClassStyle(fill="#0072B2", stroke="#005282", fill_opacity=0.45, weight=0.6),
    CellStatus.WEAK: ClassStyle(fill="#F0E442", stroke="#8F8700", fill_opacity=0.65, weight=0.6),
    CellStatus.DEAD: ClassStyle(fill="#D55E00", stroke="#8A3D00", fill_opacity=0.7, weight=0.8),
    CellStatus.UNKNOWN: ClassStyle(
        fill="#BBBBBB", stroke="#777777", fill_opacity=0.3, weight=0.6, dash="3 3"
    ),
}

# Drawing order, bottom to top: dead zones are drawn last so they are never hidden.
STATUS_ORDER: tuple[CellStatus, ...] = (
    CellStatus.UNKNOWN,
    CellStatus.COVERED,
    CellStatus.WEAK,
    CellStatus.DEAD,
)

AREA_STYLE: dict[str, object] = {
    "color": "#333333",
    "weight": 1.5,
    "opacity": 0.8,
    "fill": False,
    "interactive": True,
}

ZONE_STYLE: dict[str, object] = {
    "color": "#8A3D00",
    "weight": 2.5,
    "opacity": 1.0,
    "fillColor": "#D55E00",
    "fillOpacity": 0.35,
}

# Plain light background on the map div, so outlines and hexagons stay readable when the
# OpenStreetMap tiles cannot load (offline, blocked): close to OSM's land colour #f2efe9.
BACKGROUND = "#f2efe9"
