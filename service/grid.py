"""The H3 hexagon grid that every reading is binned into, and WGS84 bounding boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass

import h3
from h3.api import basic_int

from service.errors import InvalidInput


def latlng_to_cell(lat: float, lon: float, resolution: int) -> int:
    """H3 cell (64-bit integer form) of a WGS84 point, in degrees.

    The integer form fits a signed BIGINT (H3's top bit is always 0) and indexes and
    groups faster than the 15-character string.
    """
    return basic_int.latlng_to_cell(lat, lon, resolution)


def cell_to_str(cell: int) -> str:
    """The usual hexadecimal H3 string of an integer cell, e.g. '8965a...'."""
    return h3.int_to_str(cell)


def str_to_cell(cell: str) -> int:
    return h3.str_to_int(cell)


@dataclass(frozen=True)
class BBox:
    """A WGS84 bounding box in degrees."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, text: str) -> BBox:
        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidInput(
                f"bbox must be minlon,minlat,maxlon,maxlat (4 numbers), got {len(parts)} values",
                field="bbox",
            )
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise InvalidInput(f"bbox values must be numbers, got {text!r}", field="bbox") from None
        box = cls(*values)
        if not all(math.isfinite(v) for v in values):
            raise InvalidInput("bbox values must be finite numbers", field="bbox")
        if not (
            -180 <= box.min_lon < box.max_lon <= 180 and -90 <= box.min_lat < box.max_lat <= 90
        ):
            raise InvalidInput(
                "bbox must have -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90",
                field="bbox",
            )
        return box

    def area_km2(self) -> float:
        mid = math.radians((self.min_lat + self.max_lat) / 2)
        return (
            (self.max_lat - self.min_lat)
            * 110.574
            * (self.max_lon - self.min_lon)
            * 111.320
            * math.cos(mid)
        )
