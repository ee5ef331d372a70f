"""CSV files for a meeting: the same tables as the API's CSV, in Vietnamese (``lang=vi``, what
the pages ask for) or English (``lang=en``, the API's default, for scripts).

In English the file is ``exports.csv_text``'s: commas, decimal points, shares as 0-1
fractions, the API's field names as headers. Whole people and counts are written as whole
numbers (``72000``, not ``72000.0``: an integer parser reads them, and a float parser
still does); a fraction of a person (a cell's share of a village) keeps its decimals.
Shares keep six decimals (``0.950639``, a millionth: one person in a million), where the
float printed sixteen.

In Vietnamese every column has a Vietnamese header, and values are written as a Vietnamese
spreadsheet reads them:

* The file is separated by semicolons and decimals take a comma (``96,4``). Windows derives
  the list separator Excel splits a double-clicked CSV on from the region: where the decimal
  symbol is a comma, as in Vietnam (vi-VN: ``1.234,5``), it is the semicolon. A
  comma-separated file with ``96.4`` opens there as one column of text, or with ``96.4`` read
  as text (or a date); ``96;4`` style files open in columns with real numbers that sum and
  sort. LibreOffice asks for the separator and finds the semicolon by itself.
* Shares are percentages with one decimal in a column whose header says ``(%)``: ``96,4``,
  not ``0,964375``, and not ``96,4 %`` (a text with a sign does not sum or sort as a number).
* People are whole numbers (``72000``, never ``72000.0``; no thousands separator, which a
  spreadsheet would read as a decimal point); the population of a cell is an estimate, and a
  meeting counts people.
* Village statuses and cell decisions are the words of ``domain.vocabulary`` (``Trắng sóng``,
  not ``trang_song``); days are dd/mm/yyyy in Vietnam's time zone (``domain.localtime``).

The safety rules of ``service.publish.exports`` hold in both languages: a BOM, CRLF line
ends, text always quoted, and text that a spreadsheet would run as a formula prefixed with a
single quote.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, Final, Literal

from domain.localtime import format_day, vietnam_date
from domain.radio import OPERATOR_NAMES
from domain.vocabulary import (
    AREA_KIND_VI,
    BEST_OF_ALL,
    BEST_OF_ALL_VI,
    DECISION_VI,
    PROVINCE_AREA,
    PROVINCE_VI,
    RADIO_SCOPE_VI,
    VILLAGE_STATUS_VI,
    ZONE_STATE_VI,
)
from service.publish.exports import BOM, csv_text, safe_cell

Lang = Literal["vi", "en"]
Kind = Literal[
    "text", "int", "people", "share", "points", "number", "coord", "day",
    "village_status", "decision", "zone_state", "area_kind", "area_code", "operator",
    "radio_scope",
]  # fmt: skip

VI_DELIMITER: Final = ";"
VI_DECIMAL: Final = ","

# Every column of every CSV download: its Vietnamese header and how its values are written.
# "share": a 0-1 share written as a percentage; "points": a difference of shares, in
# percentage points; "people": whole people; "label": a vocabulary word; "day": a date.
COLUMNS: Final[dict[str, tuple[str, Kind]]] = {
    # /v1/progress/areas
    "code": ("Mã", "area_code"),
    "kind": ("Cấp", "area_kind"),
    "name": ("Tên", "text"),
    "population": ("Dân số (người)", "people"),
    "people_covered": ("Số dân có sóng (người)", "people"),
    "people_weak": ("Số dân sóng yếu (người)", "people"),
    "people_dead": ("Số dân ở nơi mất sóng (người)", "people"),
    "people_estimated_covered": ("Số dân ước tính có sóng, chưa đo (người)", "people"),
    "people_estimated_dead": ("Số dân ước tính mất sóng, chưa đo (người)", "people"),
    "people_unknown": ("Số dân chưa đủ dữ liệu (người)", "people"),
    "covered_share": ("Tỷ lệ dân có sóng (%)", "share"),
    "gap_share": ("Còn thiếu để đạt mục tiêu (điểm %)", "points"),
    "gap_people": ("Còn thiếu để đạt mục tiêu (người)", "people"),
    "villages_trang_song": ("Số thôn, buôn trắng sóng", "int"),
    "villages_lom_song": ("Số thôn, buôn lõm sóng", "int"),
    "villages_covered": ("Số thôn, buôn đã có sóng", "int"),
    "villages_unknown": ("Số thôn, buôn chưa đủ dữ liệu", "int"),
    "zones_open": ("Vùng mất sóng chưa xử lý", "int"),
    "evidence_median_age_days": ("Tuổi trung vị của số đo (ngày)", "number"),
    "people_well_covered": ("Số dân có sóng tốt (người)", "people"),
    "well_covered_share": ("Tỷ lệ dân có sóng tốt (%)", "share"),
    # /v1/villages
    "commune_code": ("Mã xã", "text"),
    "commune_name": ("Xã", "text"),
    "lat": ("Vĩ độ", "coord"),
    "lon": ("Kinh độ", "coord"),
    "status": ("Tình trạng", "village_status"),
    "centre_status": ("Ô trung tâm thôn", "decision"),
    "cells": ("Số ô lưới", "int"),
    "cells_dead": ("Số ô mất sóng", "int"),
    "cells_unknown": ("Số ô chưa đủ dữ liệu", "int"),
    "likely_status": ("Tình trạng ước tính, chưa đo", "village_status"),
    "likely_probability": ("Xác suất của tình trạng ước tính (%)", "share"),
    # /v1/deadzones
    "rank": ("Hạng", "int"),
    "id": ("Mã vùng", "text"),
    "operator": ("Nhà mạng", "operator"),
    "radio": ("Loại sóng", "radio_scope"),
    "state": ("Trạng thái xử lý", "zone_state"),
    "priority": ("Điểm ưu tiên", "number"),
    "villages": ("Mã thôn, buôn", "text"),
    "village_names": ("Thôn, buôn", "text"),
    "village_communes": ("Xã của từng thôn, buôn", "text"),
    "cell_count": ("Số ô lưới", "int"),
    "area_km2": ("Diện tích (km²)", "number"),
    "readings": ("Số lượt đo", "int"),
    "devices": ("Số máy đo", "int"),
    "first_seen": ("Lần đầu ghi nhận", "day"),
    "last_seen": ("Lần cuối ghi nhận", "day"),
    "distance_to_covered_m": ("Cách nơi có sóng gần nhất (m)", "int"),
    "operators_affected": ("Nhà mạng đã đo thấy mất sóng", "operator"),
    # /v1/plan
    "h3": ("Ô lưới H3", "text"),
    "people_new": ("Số dân được phủ sóng thêm (người)", "people"),
    "people_cumulative": ("Cộng dồn (người)", "people"),
    "model": ("Mô hình truyền sóng", "text"),
    "radius_km": ("Bán kính phủ sóng (km)", "number"),
    "band_mhz": ("Băng tần (MHz)", "int"),
    "mast_height_m": ("Độ cao ăng-ten (m)", "number"),
    "eirp_dbm": ("Công suất phát EIRP (dBm)", "number"),
    "calibration_db": ("Hiệu chỉnh theo đo thực tế (dB)", "number"),
    "terrain": ("Địa hình", "text"),
}

_DECIMALS: Final[dict[str, int]] = {"share": 1, "points": 1, "number": 2, "coord": 6}
_EN_SHARE_DECIMALS: Final = 6
_WORDS: Final[dict[str, dict[str, str]]] = {
    "village_status": VILLAGE_STATUS_VI,
    "decision": DECISION_VI,
    "zone_state": ZONE_STATE_VI,
    "radio_scope": RADIO_SCOPE_VI,
    "area_kind": AREA_KIND_VI,
    # The province's row has the reserved area code "province" (no commune may take it).
    "area_code": {PROVINCE_AREA: PROVINCE_VI},
    # An operator by its name and code, as on the maps: "Viettel (452-04)".
    "operator": {BEST_OF_ALL: BEST_OF_ALL_VI}
    | {code: f"{name} ({code})" for code, name in OPERATOR_NAMES.items()},
}


def localized_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], *, lang: Lang) -> str:
    """A CSV file of ``rows`` under the English ``header``: as ``exports.csv_text`` in
    English, in Vietnamese as the module says."""
    if lang != "vi":
        kinds = [COLUMNS[name][1] for name in header]
        return csv_text(
            header, ([_en_cell(v, k) for v, k in zip(row, kinds, strict=True)] for row in rows)
        )
    specs = [COLUMNS[name] for name in header]
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, delimiter=VI_DELIMITER, lineterminator="\r\n")
    writer.writerow([title for title, _ in specs])
    for row in rows:
        out.write(
            VI_DELIMITER.join(
                _vi_cell(value, kind) for value, (_, kind) in zip(row, specs, strict=True)
            )
            + "\r\n"
        )
    return out.getvalue()


def _en_cell(value: Any, kind: Kind) -> Any:
    """One value of an English file, before ``csv_text`` writes it (module doc)."""
    if isinstance(value, float) and not math.isnan(value):
        if kind in ("int", "people") and value.is_integer():
            return int(value)
        if kind in ("share", "points"):
            return round(value, _EN_SHARE_DECIMALS)
    return value


def _vi_cell(value: Any, kind: Kind) -> str:
    """One cell of a Vietnamese file: numbers bare with a decimal comma, text quoted."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if kind in _WORDS:
        words = _WORDS[kind]
        if isinstance(value, list | tuple):
            value = [words.get(str(v), str(v)) for v in value]
        else:
            value = words.get(str(value), str(value))
    elif kind == "day":
        value = _day(value)
    elif kind in ("int", "people") and isinstance(value, int | float):
        return str(round(value))
    elif kind in _DECIMALS and isinstance(value, int | float):
        scale = 100 if kind in ("share", "points") else 1
        number = f"{value * scale:.{_DECIMALS[kind]}f}"
        return number.replace(".", VI_DECIMAL)
    text = str(safe_cell(value))
    return '"' + text.replace('"', '""') + '"'


def _day(value: Any) -> str:
    """A moment (RFC 3339 text or datetime) as its day in Vietnam, dd/mm/yyyy."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = vietnam_date(value)
    if isinstance(value, date):
        return format_day(value, lang="vi")
    return str(value)
