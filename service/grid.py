"""The H3 hexagon grid that every reading is binned into."""

from __future__ import annotations

import h3
from h3.api import basic_int


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
