"""deadzone's words, defined once: decisions per cell, village statuses, the best-of-all
scope and the operator code. ``service`` and ``maps`` import them from here; the web pages
get the same values from the server (``GET /v1/vocabulary`` and ``vocabulary.js``), so no
copy can drift.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final, Literal


class Decision(StrEnum):
    """What a cell is for one operator (or the best of all), DESIGN.md "Decision per cell".

    ``unknown`` is a decision of its own: too little evidence, never "covered" and never
    "dead" (the lesson of Germany's Funkloch map, where white was read as signal).
    ``contested``: the cell had a decision, and new device tokens from too few independent
    networks sent evidence that would overturn it (docs/forged-evidence.md); it is shown as
    such, neither the old status nor the new one, until independent phones confirm."""

    COVERED = "covered"
    WEAK = "weak"
    DEAD = "dead"
    UNKNOWN = "unknown"
    CONTESTED = "contested"


DECISIONS: Final[tuple[str, ...]] = tuple(d.value for d in Decision)
"""Every decision, in the order of the design (covered first)."""

DECISIONS_WORST_FIRST: Final[tuple[str, ...]] = ("unknown", "dead", "contested", "weak", "covered")
"""Decisions in order of service: the best of several is the one furthest along. Contested
sits above dead: an operator whose cell may well be covered beats one that is dead there."""

SIGNAL_DECISIONS: Final[tuple[str, ...]] = ("covered", "weak")
"""Decisions under which a phone has service (weak: 1 bar)."""


class VillageStatus(StrEnum):
    """How Vietnamese authorities count villages (thôn, buôn, bản; DESIGN.md "Who uses it").

    trắng sóng: no signal at the village centre; lõm sóng: signal at the centre but a
    residential cluster without; covered; unknown: not enough readings (never a success).
    These words describe villages only; a cell without signal is "mất sóng"."""

    TRANG_SONG = "trang_song"
    LOM_SONG = "lom_song"
    COVERED = "covered"
    UNKNOWN = "unknown"


VILLAGE_STATUSES: Final[tuple[str, ...]] = tuple(s.value for s in VillageStatus)

VillageStatusName = Literal["trang_song", "lom_song", "covered", "unknown"]
DecisionName = Literal["covered", "weak", "dead", "unknown", "contested"]

BEST_OF_ALL: Final = "any"
"""The scope "best of all operators": ITU SDG 9.c.1 counts a place covered when any operator
serves it. Used as the operator value of such rows and as ``operator=any`` in the API."""

ANY_SIGNAL: Final = "any"
"""The radio scope "any signal": every radio of an operator counts (its best), 2G/3G included.
Used as the radio value of such decisions and as ``radio=any`` in the API."""

BROADBAND: Final = "broadband"
"""The radio scope "mobile broadband": LTE or NR only (``domain.radio.BROADBAND_RADIOS``), the
province's promise of 4G or better for every resident. ``radio=broadband`` in the API."""

RADIO_SCOPES: Final[tuple[str, ...]] = (ANY_SIGNAL, BROADBAND)
"""Scopes over several radios, beside one radio (gsm, umts, lte, nr)."""

RadioScopeName = Literal["any", "broadband"]

RADIO_PATTERN: Final = r"^(any|broadband|gsm|umts|lte|nr)$"
"""A ``radio=`` value: a scope over radios or one radio."""

RadioName = Literal["any", "broadband", "gsm", "umts", "lte", "nr"]
"""The same values as a type, for the API's ``radio=`` parameters."""

UNKNOWN_OPERATOR: Final = "unknown"
"""The operator of a report whose resident did not know it ("Tôi không biết" on the reporter
page; ``mnc: null`` in the canonical reading). Never a scope of its own: no ``operator=``
accepts it, no map, zone, plan or estimate is drawn for it. Its readings are evidence about
the place, for the best of all operators only (service/engine/decisions.py)."""

OPERATOR_CODE: Final = r"\d{3}-\d{2,3}"
"""An operator as MCC-MNC, e.g. 452-04 (Viettel); DESIGN.md lists Vietnam's."""

SCOPE_PATTERN: Final = rf"^({BEST_OF_ALL}|{OPERATOR_CODE})$"
"""An ``operator=`` value: one operator or the best of all."""

OPERATOR_PATTERN: Final = rf"^{OPERATOR_CODE}$"


# The same words in Vietnamese, as a meeting reads them in a table or a downloaded file (the
# maps and pages use these words too: maps/i18n.py, service/api/static/pages/strings.js).
# trắng sóng and lõm sóng are for villages only; a cell without signal is "mất sóng".
VILLAGE_STATUS_VI: Final[dict[str, str]] = {
    "trang_song": "Trắng sóng",
    "lom_song": "Lõm sóng",
    "covered": "Đã có sóng",
    "unknown": "Chưa đủ dữ liệu",
}
DECISION_VI: Final[dict[str, str]] = {
    "covered": "Có sóng",
    "weak": "Sóng yếu",
    "dead": "Mất sóng",
    "unknown": "Chưa đủ dữ liệu",
}
ZONE_STATE_VI: Final[dict[str, str]] = {
    "open": "Chưa xử lý",
    "planned": "Đã lên kế hoạch",
    "built": "Đã xây trạm",
}
RADIO_SCOPE_VI: Final[dict[str, str]] = {
    "any": "Mọi loại sóng",
    "broadband": "Băng rộng di động (4G, 5G)",
}
AREA_KIND_VI: Final[dict[str, str]] = {"province": "Tỉnh", "commune": "Xã"}
PROVINCE_AREA: Final = "province"
"""The area code of the whole province in progress tables (no commune may take it)."""
PROVINCE_VI: Final = "Toàn tỉnh"
BEST_OF_ALL_VI: Final = "Tất cả nhà mạng"


def is_operator_code(text: str) -> bool:
    """True for an MCC-MNC such as 452-04."""
    return re.fullmatch(OPERATOR_CODE, text) is not None


def vocabulary() -> dict[str, object]:
    """Every word as plain data, for the web pages."""
    return {
        "decisions": list(DECISIONS),
        "decisions_worst_first": list(DECISIONS_WORST_FIRST),
        "signal_decisions": list(SIGNAL_DECISIONS),
        "village_statuses": list(VILLAGE_STATUSES),
        "best_of_all": BEST_OF_ALL,
        "unknown_operator": UNKNOWN_OPERATOR,
        "radio_scopes": list(RADIO_SCOPES),
        "operator_code": OPERATOR_CODE,
        "scope_pattern": SCOPE_PATTERN,
    }
