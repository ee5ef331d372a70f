"""Colours and strokes of each status class, chosen to survive colour-blindness.

Fills are from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), which stays
distinguishable under protanopia, deuteranopia and tritanopia: blue for covered, yellow for
weak, vermillion for dead. They also differ in lightness (yellow light, blue and vermillion
darker), so a grey-scale print still separates them. Unknown is a pale grey with a dashed
outline so it can never be read as "covered" (the Funkloch-map lesson in DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import Decision


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


STATUS_STYLES: dict[Decision, ClassStyle] = {
    Decision.COVERED: ClassStyle(fill="#0072B2", stroke="#005282", fill_opacity=0.45, weight=0.6),
    Decision.WEAK: ClassStyle(fill="#F0E442", stroke="#8F8700", fill_opacity=0.65, weight=0.6),
    Decision.DEAD: ClassStyle(fill="#D55E00", stroke="#8A3D00", fill_opacity=0.7, weight=0.8),
    Decision.UNKNOWN: ClassStyle(
        fill="#BBBBBB", stroke="#777777", fill_opacity=0.3, weight=0.6, dash="3 3"
    ),
    # Okabe-Ito reddish purple, dotted: neither the old status nor the new one.
    Decision.CONTESTED: ClassStyle(
        fill="#CC79A7", stroke="#7A3F63", fill_opacity=0.5, weight=1.0, dash="1 3"
    ),
}

# Drawing order, bottom to top: dead zones are drawn last so they are never hidden.
STATUS_ORDER: tuple[Decision, ...] = (
    Decision.UNKNOWN,
    Decision.CONTESTED,
    Decision.COVERED,
    Decision.WEAK,
    Decision.DEAD,
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


# --- Progress map -------------------------------------------------------------------------
# Communes by the share of their people covered, in classes of a viridis ramp (van der Walt &
# Smith, matplotlib 2015): perceptually uniform and readable under every colour-vision
# deficiency and in grey scale, because lightness rises monotonically. Dark means "still dark"
# (few people covered), bright yellow means the goal is reached. Both ends stay saturated, so
# neither is mistaken for the map background or for the grey of "no population data".
@dataclass(frozen=True)
class ShareClass:
    """Communes whose covered share is in ``[low, high)``; ``high`` None means "up to 1"."""

    low: float
    high: float | None
    fill: str


# Lower bounds of the classes below the goal, and their fills (viridis at 0, .2, .4, .6, .8).
SHARE_BREAKS: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 0.9)
SHARE_FILLS: tuple[str, ...] = ("#440154", "#414487", "#2A788E", "#22A884", "#7AD151")
GOAL_FILL = "#FDE725"  # viridis at 1
COMMUNE_STYLE: dict[str, object] = {
    "color": "#333333",
    "weight": 0.8,
    "opacity": 0.8,
    "fillOpacity": 0.55,
}
# No people known in the commune: grey, hatched in the page (deadzone.js hatchPattern) and
# dashed, so it is read neither as "nobody covered" nor as "everybody covered".
NO_DATA_FILL = "#BBBBBB"
NO_DATA_HATCH = "#777777"
NO_DATA_STYLE: dict[str, object] = {
    "color": "#666666",
    "weight": 0.8,
    "opacity": 0.8,
    "fillOpacity": 0.6,
    "dashArray": "4 3",
}


def share_classes(goal: float | None) -> list[ShareClass]:
    """The classes of covered share, dark to bright: fixed breaks below ``goal`` (0..1, None
    means 1: everybody) and one class "goal reached" from the goal up to 1."""
    top = 1.0 if goal is None else goal
    if not 0.0 < top <= 1.0:
        raise ValueError(f"goal share must be in (0, 1], got {goal!r}")
    lows = [b for b in SHARE_BREAKS if b < top]
    classes = [
        ShareClass(low, lows[i + 1] if i + 1 < len(lows) else top, SHARE_FILLS[i])
        for i, low in enumerate(lows)
    ]
    return [*classes, ShareClass(top, None, GOAL_FILL)]


def share_class_index(share: float | None, classes: list[ShareClass]) -> int | None:
    """Index of the class holding ``share`` (0..1), None for no population data."""
    if share is None or share != share:  # None or NaN
        return None
    for index in range(len(classes) - 1, -1, -1):
        if share >= classes[index].low:
            return index
    return 0


# Villages by status. Okabe-Ito again (see above), with the coverage map's meanings:
# vermillion = no signal at the centre (the coverage map's "dead"), yellow = lõm sóng (some
# residential cluster dead, like "weak": partly served; light, so it separates from vermillion
# in grey scale), blue = covered, pale grey with a dashed outline = not enough readings.
VILLAGE_STYLES: dict[str, dict[str, object]] = {
    "trang_song": {"fillColor": "#D55E00", "color": "#222222", "weight": 1.5},
    "lom_song": {"fillColor": "#F0E442", "color": "#222222", "weight": 1.5},
    "covered": {"fillColor": "#0072B2", "color": "#FFFFFF", "weight": 1.5},
    "unknown": {"fillColor": "#BBBBBB", "color": "#333333", "weight": 1.5, "dashArray": "2 2"},
}
VILLAGE_MARKER: dict[str, object] = {"radius": 6, "opacity": 1.0, "fillOpacity": 0.95}
# Bottom to top: the villages still without signal are drawn over the covered ones.
VILLAGE_DRAW_ORDER: tuple[str, ...] = ("covered", "unknown", "lom_song", "trang_song")

# Suggested sites: Okabe-Ito bluish green, apart from every status colour ("a fix to come").
SITE_COLOR = "#009E73"
SITE_CIRCLE_STYLE: dict[str, object] = {
    "color": SITE_COLOR,
    "weight": 2,
    "opacity": 0.9,
    "dashArray": "6 4",
    "fillColor": SITE_COLOR,
    "fillOpacity": 0.08,
    # Circles are large: left non-interactive so the zones under them keep their popups; the
    # numbered marker at the centre opens the site's popup.
    "interactive": False,
}
