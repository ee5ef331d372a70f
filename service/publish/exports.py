"""Downloads: CSV that spreadsheets open correctly and safely, under dated file names.

The CSV files are for people who double-click them into Excel or LibreOffice:

* UTF-8 with a byte-order mark. Without one, Excel reads a CSV in the machine's ANSI code
  page (Windows-1258 on a Vietnamese Windows), and "Buôn Đôn" or "Ea Ktur" turn into mojibake.
* CRLF line ends; every text cell in double quotes (RFC 4180), numbers bare. Quoting all
  text keeps a name with a comma or a semicolon in one cell whatever list separator the
  spreadsheet's locale uses (Vietnamese Excel splits on ';').
* Formula injection (OWASP "CSV Injection"): names come from imported files and resident
  reports, so a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
  return is prefixed with a single quote: a spreadsheet then shows ``=HYPERLINK(...)`` as the
  text it is instead of running it. In a list joined by ';' each item is prefixed, so no
  item runs even where the list is split into cells. Numbers are never prefixed.

A download (``service.api.downloads``) carries ``Content-Disposition: attachment`` with a
name (``dated_filename``) that says what it holds and the day it was made, so that a folder
of exports sorts and reads by itself.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Final

BOM: Final = "\ufeff"
# OWASP CSV Injection: the characters a spreadsheet reads as the start of a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE: Final = "text/csv; charset=utf-8"
GEOJSON_MEDIA_TYPE: Final = "application/geo+json"
_UNSAFE_IN_NAME: Final = re.compile(r"[^A-Za-z0-9_-]+")


def safe_cell(value: Any) -> Any:
    """A value as a CSV cell: None empty, a list joined by ';', text (and each item of a
    list) that a spreadsheet would run as a formula prefixed with a single quote; numbers
    unchanged."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(_defused(str(v)) for v in value)
    if isinstance(value, str):
        return _defused(value)
    return value


def _defused(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A whole CSV file as text: BOM, header, one line per row, every cell ``safe_cell``."""
    out = io.StringIO()
    out.write(BOM)
    csv.writer(out, lineterminator="\r\n").writerow(header)  # our own names: bare
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def dated_filename(*parts: str | int, day: date, suffix: str) -> str:
    """``deadzone-<parts>-<YYYY-MM-DD>.<suffix>``, each part cut to letters, digits, ``-``
    and ``_`` (a header value must not carry quotes, slashes or line breaks)."""
    words = [_UNSAFE_IN_NAME.sub("_", str(p)).strip("_") for p in ("deadzone", *parts)]
    return "-".join([w for w in words if w] + [day.isoformat()]) + "." + suffix
