"""Every word the maps show, in Vietnamese (default) and English, kept in one place.

Keys are stable identifiers; a test checks that both languages define every key. Values are
plain text: callers HTML-escape them like any other text before they reach the page.
"""

from __future__ import annotations

from .model import Lang

LABELS: dict[Lang, dict[str, str]] = {
    "vi": {
        "status.covered": "Có sóng",
        "status.weak": "Sóng yếu",
        "status.dead": "Lõm sóng / không có sóng",
        "status.unknown": "Chưa đủ dữ liệu (không phải là có sóng)",
        "legend.title": "Chú giải",
        "legend.covered": "Tín hiệu từ 2 vạch trở lên",
        "legend.weak": "Tín hiệu 1 vạch, gọi có thể rớt",
        "legend.dead": "Dưới 1 vạch hoặc mất sóng hoàn toàn",
        "legend.unknown": "Quá ít lượt đo để kết luận; ô trắng không có nghĩa là có sóng",
        "legend.zoom": "Phóng to để xem ô nhỏ hơn và bấm vào ô để xem số liệu",
        "operator.any": "Tốt nhất của mọi nhà mạng",
        "control.zoom_in": "Phóng to",
        "control.zoom_out": "Thu nhỏ",
        "control.fullscreen": "Toàn màn hình",
        "control.fullscreen_exit": "Thoát toàn màn hình",
        "layer.areas": "Ranh giới hành chính",
        "layer.zones": "Vùng lõm sóng",
        "data.date": "Dữ liệu đến ngày",
        "cell.cells": "Số ô",
        "cell.readings": "Lượt đo",
        "cell.devices": "Thiết bị",
        "cell.devices_sum": "Thiết bị (cộng theo ô)",
        "cell.signal": "Tín hiệu trung bình",
        "cell.confidence": "Độ tin cậy",
        "cell.last_seen": "Lần đo cuối",
        "cell.one": "Ô lưới",
        "cell.click": "Bấm để xem số liệu của từng ô",
        "zone.list": "Vùng lõm sóng theo mức ưu tiên",
        "zone.rank": "Hạng",
        "zone.id": "Mã vùng",
        "zone.area": "Diện tích",
        "zone.cells": "Số ô",
        "zone.readings": "Lượt đo",
        "zone.devices": "Thiết bị",
        "zone.operators": "Nhà mạng bị ảnh hưởng",
        "zone.first_seen": "Lần đầu ghi nhận",
        "zone.last_seen": "Lần cuối ghi nhận",
        "zone.priority": "Điểm ưu tiên",
        "zone.population": "Dân số",
        "zone.people": "người",
        "zone.villages": "Thôn, buôn",
        "zone.none": "Không có vùng lõm sóng nào",
        "value.none": "không rõ",
        "unit.km2": "km²",
        "unit.dbm": "dBm",
        # Vietnamese writes 9.028 người and 25,69 km² (TCVN; Vietnamese locale in CLDR).
        "format.decimal": ",",
        "format.thousands": ".",
    },
    "en": {
        "status.covered": "Covered",
        "status.weak": "Weak signal",
        "status.dead": "Dead zone / no signal",
        "status.unknown": "Not enough readings (this is not signal)",
        "legend.title": "Legend",
        "legend.covered": "Signal at 2 bars or more",
        "legend.weak": "1 bar; calls may drop",
        "legend.dead": "Below 1 bar or no service at all",
        "legend.unknown": "Too few readings to decide; blank does not mean covered",
        "legend.zoom": "Zoom in for smaller cells; click a cell for its evidence",
        "operator.any": "Best of all operators",
        "control.zoom_in": "Zoom in",
        "control.zoom_out": "Zoom out",
        "control.fullscreen": "Full screen",
        "control.fullscreen_exit": "Exit full screen",
        "layer.areas": "Administrative areas",
        "layer.zones": "Dead zones",
        "data.date": "Data up to",
        "cell.cells": "Cells",
        "cell.readings": "Readings",
        "cell.devices": "Devices",
        "cell.devices_sum": "Devices (sum over cells)",
        "cell.signal": "Mean signal",
        "cell.confidence": "Confidence",
        "cell.last_seen": "Last reading",
        "cell.one": "Grid cell",
        "cell.click": "Click for the evidence of each cell",
        "zone.list": "Dead zones by priority",
        "zone.rank": "Rank",
        "zone.id": "Zone id",
        "zone.area": "Area",
        "zone.cells": "Cells",
        "zone.readings": "Readings",
        "zone.devices": "Devices",
        "zone.operators": "Operators affected",
        "zone.first_seen": "First seen",
        "zone.last_seen": "Last seen",
        "zone.priority": "Priority score",
        "zone.population": "Population",
        "zone.people": "people",
        "zone.villages": "Villages",
        "zone.none": "No dead zones",
        "value.none": "unknown",
        "unit.km2": "km²",
        "unit.dbm": "dBm",
        "format.decimal": ".",
        "format.thousands": ",",
    },
}


def labels_for(lang: Lang) -> dict[str, str]:
    """All labels of one language; ``ValueError`` for a language we do not have."""
    try:
        return LABELS[lang]
    except KeyError:
        raise ValueError(f"no labels for language {lang!r}; have {sorted(LABELS)}") from None


def format_number(value: float, lang: Lang, *, decimals: int = 0) -> str:
    """``value`` with the language's decimal and thousands separators (9.028 / 9,028)."""
    labels = labels_for(lang)
    text = f"{value:,.{decimals}f}"
    return (
        text.replace(",", "\0")
        .replace(".", labels["format.decimal"])
        .replace("\0", labels["format.thousands"])
    )
