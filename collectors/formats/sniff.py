"""Telling a file's format from its first bytes.

CSV formats are told apart by their header line, JSON formats by their top-level keys. Each
CSV format is recognised by the columns no other format has (Tower Collector's ``net_type``,
OpenCelliD's ``act``, the cell export's ``samples``, the canonical ``observed_at``...), so a
file that lacks a few required columns is still recognised, and its parser then says which
columns are missing instead of "unknown format".
"""

from __future__ import annotations

import csv
import re
from typing import Final

from collectors.formats import canonical, cellexport, opencellid, towercollector
from collectors.formats.rows import LINE_END, EmptyFileError, UnknownFormatError

TOWERCOLLECTOR: Final = "towercollector"
OPENCELLID: Final = "opencellid"
CELL_EXPORT: Final = "cell-export"
GEOSUBMIT: Final = "geosubmit"
CANONICAL_CSV: Final = "canonical-csv"
GEOJSON: Final = "geojson"

FORMAT_NAMES: Final = (TOWERCOLLECTOR, OPENCELLID, CELL_EXPORT, GEOSUBMIT, CANONICAL_CSV, GEOJSON)

_CSV_COLUMNS: Final[dict[str, frozenset[str]]] = {
    TOWERCOLLECTOR: frozenset(towercollector.COLUMNS),
    OPENCELLID: frozenset(opencellid.COLUMNS),
    CELL_EXPORT: frozenset(cellexport.COLUMNS),
    CANONICAL_CSV: frozenset(canonical.FIELD_PARSERS),
}
# Columns that only one format has: the evidence for that format.
_DISTINCT: Final[dict[str, frozenset[str]]] = {
    name: columns.difference(*(other for key, other in _CSV_COLUMNS.items() if key != name))
    for name, columns in _CSV_COLUMNS.items()
}
_EXPECTED: Final = (
    "a CSV header of Tower Collector (mcc,mnc,lac,cell_id,...,net_type,...), OpenCelliD "
    "measurements (lat,lon,mcc,mnc,...,signal,...,act,devn), a cell export "
    "(radio,mcc,net,area,cell,unit,lon,lat,range,samples,...) or canonical readings "
    '(observed_at,lat,lon,mcc,mnc,radio,...); or JSON: geosubmit {"items": [...]} or a GeoJSON '
    "FeatureCollection"
)
_JSON_KEY: Final = re.compile(rb'"(items|features|FeatureCollection)"')


def sniff_format(head: bytes) -> str:
    """The format name (one of :data:`FORMAT_NAMES`) of a file that starts with ``head``.

    ``head`` should hold the first line at least (4 KiB is plenty). Raises
    :class:`~collectors.formats.rows.EmptyFileError` for nothing but whitespace and
    :class:`~collectors.formats.rows.UnknownFormatError` saying what was seen and what was
    expected otherwise.
    """
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        raise EmptyFileError(f"empty file: expected {_EXPECTED}")
    if text[:1] in (b"{", b"["):
        return _sniff_json(text)
    # A line ends at CR LF, LF or a lone CR (old Mac exports); a lone CR left in the line
    # made the csv module raise instead of reading the header.
    first_line = LINE_END.split(text, maxsplit=1)[0].decode("utf-8", "replace")
    try:
        columns = {name.strip() for name in next(csv.reader([first_line]), [])}
    except csv.Error:  # not a CSV header at all
        columns = set()
    scores = {name: len(columns & distinct) for name, distinct in _DISTINCT.items()}
    best = max(scores.values())
    winners = [name for name, score in scores.items() if score == best]
    if best > 0 and len(winners) == 1:
        return winners[0]
    hint = ""
    if len(columns) <= 1 and any(sep in first_line for sep in (";", "\t", "|")):
        hint = " (it looks separated by ';', tab or '|': deadzone expects commas)"
    raise UnknownFormatError(
        f"unknown format: the first line was {first_line[:200]!r}{hint}; expected {_EXPECTED}"
    )


def _sniff_json(text: bytes) -> str:
    # The first of these keys to appear decides: geosubmit's "items" opens its body, GeoJSON
    # names its "type" or "features" first, and a property inside a feature that happens to
    # be called "items" comes after both.
    match = _JSON_KEY.search(text)
    if match is not None:
        return GEOSUBMIT if match.group(1) == b"items" else GEOJSON
    raise UnknownFormatError(
        f"unknown JSON format: the first bytes were {text[:200]!r}; expected a geosubmit "
        'body {"items": [...]} or a GeoJSON FeatureCollection'
    )
