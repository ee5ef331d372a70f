"""Outside file formats turned into canonical readings (and cell sites).

Every reading parser returns a :class:`RowStream`: lazily, plain reading dicts (which
validate as :class:`collectors.reading.Reading`) and :class:`RowError` for rows that cannot
be readings, with the line (or index) each came from; whole-file problems raise
:class:`FormatError`. See ``rows`` for the contract and each
format's module for its rules.
"""

from collectors.formats.canonical import parse_canonical_csv
from collectors.formats.cellexport import parse_cell_export
from collectors.formats.geojson import parse_geojson
from collectors.formats.geosubmit import (
    MLS_PARSE_ERROR_BODY,
    GeosubmitParseError,
    gunzip_body,
    parse_geosubmit,
)
from collectors.formats.opencellid import parse_opencellid
from collectors.formats.registry import READING_FORMATS, open_readings, open_sites
from collectors.formats.rows import (
    ByteSource,
    EmptyFileError,
    FormatError,
    MissingColumnsError,
    ProgressHook,
    ReadingDict,
    Row,
    RowError,
    RowStream,
    SiteDict,
    UnknownFormatError,
)
from collectors.formats.sniff import FORMAT_NAMES, sniff_format
from collectors.formats.towercollector import parse_towercollector

__all__ = [
    "FORMAT_NAMES",
    "MLS_PARSE_ERROR_BODY",
    "READING_FORMATS",
    "ByteSource",
    "EmptyFileError",
    "FormatError",
    "GeosubmitParseError",
    "MissingColumnsError",
    "ProgressHook",
    "ReadingDict",
    "Row",
    "RowError",
    "RowStream",
    "SiteDict",
    "UnknownFormatError",
    "gunzip_body",
    "open_readings",
    "open_sites",
    "parse_canonical_csv",
    "parse_cell_export",
    "parse_geojson",
    "parse_geosubmit",
    "parse_opencellid",
    "parse_towercollector",
    "sniff_format",
]
