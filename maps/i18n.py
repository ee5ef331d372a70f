"""Every word the maps show, in Vietnamese (default) and English, kept in one place.

Keys are stable identifiers; a test checks that both languages define every key. Values are
plain text: callers HTML-escape them like any other text before they reach the page, after
filling a ``{operator}`` in with ``str.format``.
"""

from __future__ import annotations

from .model import Lang

LABELS: dict[Lang, dict[str, str]] = {
    "vi": {
        "status.covered": "Có sóng",
        "status.weak": "Sóng yếu",
        "status.dead": "Mất sóng (không có sóng)",
        "status.unknown": "Chưa đủ dữ liệu (không phải là có sóng)",
        "status.contested": "Đang tranh chấp (chờ xác nhận)",
        "legend.title": "Chú giải",
        "legend.covered": "Tín hiệu từ 2 vạch trở lên",
        "legend.weak": "Tín hiệu 1 vạch, gọi có thể rớt",
        "legend.dead": "Dưới 1 vạch hoặc mất sóng hoàn toàn",
        "legend.unknown": "Quá ít lượt đo để kết luận; ô trắng không có nghĩa là có sóng",
        "legend.contested": "Thiết bị mới báo ngược với kết luận cũ; chờ thêm điện thoại "
        "độc lập xác nhận",
        "legend.estimated": "Ước tính, chưa đo: màu nhạt, viền đứt (ước tính từ các ô đã "
        "đo gần đó)",
        "estimate.layer": "Ước tính, chưa đo",
        "legend.zoom": "Phóng to để xem ô nhỏ hơn và bấm vào ô để xem số liệu",
        "legend.zone": "Các ô liền nhau đã đo là mất sóng; số tròn là thứ hạng ưu tiên, bấm để "
        "xem số liệu",
        "legend.site": "Số vuông là thứ tự chọn trạm; vòng nét đứt là vùng phủ sóng ước tính",
        "operator.any": "Tốt nhất của mọi nhà mạng",
        # Nothing decided may mean no readings, or readings the last aggregation has not seen.
        "coverage.no_data": "Chưa có số liệu phủ sóng nào trên bản đồ này: chưa có lượt đo "
        "nào trong phạm vi của bản đồ được tổng hợp.",
        "coverage.no_data_operator": "Chưa có số liệu phủ sóng của {operator} trên bản đồ "
        "này: chưa có lượt đo nào của nhà mạng này trong phạm vi của bản đồ được tổng hợp.",
        "map.no_tiles": "Không tải được bản đồ nền (không có Internet): số liệu vẫn hiển "
        "thị đầy đủ.",
        "control.zoom_in": "Phóng to",
        "control.zoom_out": "Thu nhỏ",
        "control.fullscreen": "Toàn màn hình",
        "control.fullscreen_exit": "Thoát toàn màn hình",
        "layer.areas": "Ranh giới hành chính",
        "layer.zones": "Vùng mất sóng",
        "data.date": "Dữ liệu đến ngày",
        "cell.cells": "Số ô",
        "cell.readings": "Lượt đo",
        "cell.devices": "Thiết bị",
        "cell.devices_sum": "Thiết bị (cộng theo ô)",
        "cell.signal": "Tín hiệu trung bình",
        "cell.confidence": "Độ tin cậy",
        "cell.last_seen": "Lần đo cuối",
        "cell.one": "Ô lưới",
        "cell.operators": "Từng nhà mạng ở ô này",
        "short.covered": "có sóng",
        "short.weak": "sóng yếu",
        "short.dead": "mất sóng",
        "short.unknown": "chưa đủ dữ liệu",
        "short.contested": "đang tranh chấp",
        "cell.click": "Bấm để xem số liệu của từng ô",
        "zone.list": "Vùng mất sóng theo mức ưu tiên",
        "zone.rank": "Hạng",
        "zone.id": "Mã vùng",
        "zone.area": "Diện tích",
        "zone.cells": "Số ô",
        "zone.readings": "Lượt đo",
        "zone.devices": "Thiết bị",
        "zone.operators": "Nhà mạng đã đo thấy mất sóng",
        "zone.first_seen": "Lần đầu ghi nhận",
        "zone.last_seen": "Lần cuối ghi nhận",
        "zone.priority": "Điểm ưu tiên",
        "zone.population": "Dân số",
        "zone.people": "người",
        "zone.villages": "Thôn, buôn",
        "zone.none": "Không có vùng mất sóng nào",
        # No zone because nothing is decided: not the good news "no dead zones" would say.
        "zone.no_data": "Chưa biết: chưa có ô nào đủ số liệu để kết luận có sóng hay mất sóng.",
        "value.none": "không rõ",
        "unit.km2": "km²",
        "unit.dbm": "dBm",
        "layer.communes": "Xã: tỷ lệ dân có sóng",
        "layer.villages.trang_song": "Thôn, buôn trắng sóng",
        "layer.villages.lom_song": "Thôn, buôn lõm sóng",
        "layer.villages.covered": "Thôn, buôn đã có sóng",
        "layer.villages.unknown": "Thôn, buôn chưa đủ dữ liệu",
        "layer.sites": "Vị trí trạm đề xuất",
        "village.trang_song": "Trắng sóng",
        "village.lom_song": "Lõm sóng",
        "village.covered": "Đã có sóng",
        "village.unknown": "Chưa đủ dữ liệu",
        # The same statuses in the other language, shown beside them in the legend.
        "village.alt.trang_song": "no signal at the village centre",
        "village.alt.lom_song": "signal gaps inside the village",
        "village.alt.covered": "covered",
        "village.alt.unknown": "not enough readings",
        "village.legend.trang_song": "Ô trung tâm thôn không có sóng",
        "village.legend.lom_song": "Trung tâm có sóng nhưng có cụm dân cư mất sóng",
        "village.legend.covered": "Trung tâm có sóng, không cụm dân cư nào mất sóng",
        "village.legend.unknown": (
            "Quá ít lượt đo ở trung tâm thôn; không tính là có sóng (bấm vào thôn để xem "
            "tình trạng ước tính)"
        ),
        # The decision of a village's centre cell; "lõm sóng" is kept for villages here.
        "centre.covered": "Có sóng",
        "centre.weak": "Sóng yếu",
        "centre.dead": "Mất sóng",
        "centre.unknown": "Chưa đủ dữ liệu",
        "centre.contested": "Đang tranh chấp (chờ xác nhận)",
        "village.commune": "Xã",
        "village.population": "Dân số",
        "village.status": "Trạng thái",
        "village.centre": "Ô trung tâm",
        "village.people_dead": "Số dân ở ô mất sóng",
        "village.cells_dead": "Ô mất sóng / tổng số ô",
        "village.likely": "Ước tính, chưa đo",
        "likely.trang_song": "có lẽ trắng sóng",
        "likely.covered": "có lẽ đã có sóng",
        "progress.communes": "Xã: tỷ lệ dân có sóng",
        "progress.villages": "Thôn, buôn",
        "progress.goal_reached": "đạt mục tiêu",
        "progress.no_data": "Chưa có dữ liệu dân số",
        "progress.note": (
            "Người sống ở ô chưa đủ dữ liệu hoặc chưa có lượt đo được tính là chưa có sóng."
        ),
        "commune.population": "Dân số",
        "commune.covered": "Số dân có sóng",
        "commune.share": "Tỷ lệ dân có sóng",
        "commune.goal": "Mục tiêu",
        "commune.gap": "Còn thiếu để đạt mục tiêu",
        "commune.gap_none": "đã đạt",
        "commune.zones": "Vùng mất sóng đang mở",
        "commune.no_data": "chưa có dữ liệu dân số",
        "site.title": "Trạm đề xuất số",
        "site.people_new": "Số dân được phủ sóng thêm",
        "site.people_cumulative": "Cộng dồn",
        "site.villages": "Thôn, buôn",
        "site.radius": "Bán kính phủ sóng (ước tính)",
        "site.cell": "Ô lưới H3",
        "unit.km": "km",
        # Vietnamese writes 9.028 người and 25,69 km² (TCVN; Vietnamese locale in CLDR).
        "format.decimal": ",",
        "format.thousands": ".",
    },
    "en": {
        "status.covered": "Covered",
        "status.weak": "Weak signal",
        "status.dead": "Dead zone / no signal",
        "status.unknown": "Not enough readings (this is not signal)",
        "status.contested": "Contested (awaiting confirmation)",
        "legend.title": "Legend",
        "legend.covered": "Signal at 2 bars or more",
        "legend.weak": "1 bar; calls may drop",
        "legend.dead": "Below 1 bar or no service at all",
        "legend.unknown": "Too few readings to decide; blank does not mean covered",
        "legend.contested": "New phones contradict the earlier decision; waiting for "
        "independent phones to confirm",
        "legend.estimated": "Estimated, not measured: lighter, dashed outline (from measured "
        "cells nearby)",
        "estimate.layer": "Estimated, not measured",
        "legend.zoom": "Zoom in for smaller cells; click a cell for its evidence",
        "legend.zone": "Neighbouring cells measured without signal; the round number is its "
        "priority rank, click it for the evidence",
        "legend.site": "The square number is the order the site was chosen in; the dashed "
        "circle, its estimated coverage",
        "operator.any": "Best of all operators",
        "coverage.no_data": "No coverage data on this map yet: no readings in its scope have "
        "been aggregated.",
        "coverage.no_data_operator": "No coverage data for {operator} on this map yet: no "
        "readings of this operator in its scope have been aggregated.",
        "map.no_tiles": "Background map not available (no Internet): the data is all "
        "shown without it.",
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
        "cell.operators": "Each operator in this cell",
        "short.covered": "covered",
        "short.weak": "weak signal",
        "short.dead": "no signal",
        "short.unknown": "not enough readings",
        "short.contested": "contested",
        "cell.click": "Click for the evidence of each cell",
        "zone.list": "Dead zones by priority",
        "zone.rank": "Rank",
        "zone.id": "Zone id",
        "zone.area": "Area",
        "zone.cells": "Cells",
        "zone.readings": "Readings",
        "zone.devices": "Devices",
        "zone.operators": "Operators measured without signal",
        "zone.first_seen": "First seen",
        "zone.last_seen": "Last seen",
        "zone.priority": "Priority score",
        "zone.population": "Population",
        "zone.people": "people",
        "zone.villages": "Villages",
        "zone.none": "No dead zones",
        "zone.no_data": "Not known yet: no cell has enough readings to say whether it has signal.",
        "value.none": "unknown",
        "unit.km2": "km²",
        "layer.communes": "Communes: share of people covered",
        "layer.villages.trang_song": "Villages: no signal at the centre (trắng sóng)",
        "layer.villages.lom_song": "Villages: signal gaps (lõm sóng)",
        "layer.villages.covered": "Villages: covered (đã có sóng)",
        "layer.villages.unknown": "Villages: not enough readings (chưa đủ dữ liệu)",
        "layer.sites": "Suggested sites",
        "village.trang_song": "No signal at the centre",
        "village.lom_song": "Signal gaps inside the village",
        "village.covered": "Covered",
        "village.unknown": "Not enough readings",
        "village.alt.trang_song": "trắng sóng",
        "village.alt.lom_song": "lõm sóng",
        "village.alt.covered": "đã có sóng",
        "village.alt.unknown": "chưa đủ dữ liệu",
        "village.legend.trang_song": "The cell at the village centre is dead",
        "village.legend.lom_song": "Signal at the centre, but a populated part is dead",
        "village.legend.covered": "Signal at the centre and in every populated part",
        "village.legend.unknown": (
            "Too few readings at the centre; not counted as covered (click a village for its "
            "estimated status)"
        ),
        "centre.covered": "Covered",
        "centre.weak": "Weak signal",
        "centre.dead": "No signal",
        "centre.unknown": "Not enough readings",
        "centre.contested": "Contested (awaiting confirmation)",
        "village.commune": "Commune",
        "village.population": "People",
        "village.status": "Status",
        "village.centre": "Centre cell",
        "village.people_dead": "People in dead cells",
        "village.cells_dead": "Dead cells / all cells",
        "village.likely": "Estimated, not measured",
        "likely.trang_song": "probably no signal (trắng sóng)",
        "likely.covered": "probably covered",
        "progress.communes": "Communes: share of people covered",
        "progress.villages": "Villages",
        "progress.goal_reached": "goal reached",
        "progress.no_data": "No population data",
        "progress.note": "People in cells with too few readings, or none, count as not covered.",
        "commune.population": "People",
        "commune.covered": "People covered",
        "commune.share": "Share covered",
        "commune.goal": "Goal",
        "commune.gap": "Gap to the goal",
        "commune.gap_none": "reached",
        "commune.zones": "Open dead zones",
        "commune.no_data": "no population data",
        "site.title": "Suggested site",
        "site.people_new": "People newly covered",
        "site.people_cumulative": "Cumulative",
        "site.villages": "Villages",
        "site.radius": "Coverage radius (estimate)",
        "site.cell": "H3 cell",
        "unit.km": "km",
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
