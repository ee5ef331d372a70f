"""The quality gate: which readings are plausible enough to store.

Structural checks (types, required fields, NaN) are the canonical schema's
(``collectors.reading``); this module adds the checks that depend on the service's
settings and on physics. Every refusal names the field and says why.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError

from collectors.formats.rows import describe_value, printable_name
from collectors.reading import Reading
from domain.radio import SIGNAL_RANGES, UNKNOWN_RADIO
from service.settings import Settings


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one reading was refused. ``index`` is its position in the batch or file."""

    index: int
    field: str
    code: str
    reason: str


# pydantic error types -> deadzone's stable rejection codes (what /v1/stats counts).
_PYDANTIC_CODES = {
    "missing": "missing",
    "extra_forbidden": "unknown_field",
    "finite_number": "not_finite",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "string_too_short": "invalid",
    "string_too_long": "invalid",
    "string_pattern_mismatch": "invalid_character",
    "string_unicode": "invalid_character",
    "timezone_aware": "invalid_time",
    "datetime_parsing": "invalid_time",
    "datetime_from_date_parsing": "invalid_time",
    "datetime_type": "invalid_time",
    "enum": "invalid",
    "model_type": "not_an_object",
    "model_attributes_type": "not_an_object",
    "value_error": "no_signal_value",
}
# The schema's "exactly one signal" rule is about these three fields together.
_SIGNAL_FIELDS = "signal_dbm|no_service|level"


def rejections_from_validation_error(index: int, error: ValidationError) -> list[Rejection]:
    """One rejection per problem pydantic found in the reading at ``index``."""
    found: dict[tuple[str, str], Rejection] = {}
    for err in error.errors(include_url=False):
        # A field of several types (radio: a Radio or "unknown") reports one error per type,
        # tagged in the location ("str-enum[Radio]", "literal['unknown']"): one field, one
        # rejection, naming every accepted form.
        parts = [str(p) for p in err["loc"] if not _UNION_TAG.search(str(p))]
        # An unknown key is the sender's text: escaped and cut before it is stored or echoed.
        field = printable_name(".".join(parts)) or _SIGNAL_FIELDS
        code = _PYDANTIC_CODES.get(err["type"], "wrong_type")
        reason = err["msg"].removeprefix("Value error, ")
        if code == "invalid_character":
            reason = "contains a control character (NUL, tab, newline...) or an invalid code point"
        elif code == "wrong_type" and "input" in err:
            reason = f"{reason}, got {describe_value(err['input'])}"
        if (field, code) in found:
            first = found[(field, code)]
            reason = f"{first.reason}; or {reason[0].lower()}{reason[1:]}"
        found[(field, code)] = Rejection(index, field, code, reason)
    return list(found.values())


_UNION_TAG = re.compile(r"^[a-z-]+\[.*\]$")


@dataclass(frozen=True)
class QualityGate:
    """Plausibility limits from settings, evaluated against one clock reading ``now``."""

    max_accuracy_m: float
    max_speed_mps: float
    oldest: datetime
    newest: datetime

    @classmethod
    def from_settings(cls, settings: Settings, *, now: datetime) -> QualityGate:
        return cls(
            max_accuracy_m=settings.max_accuracy_m,
            max_speed_mps=settings.max_speed_mps,
            oldest=now - timedelta(days=settings.retention_days),
            newest=now + timedelta(seconds=settings.clock_skew_s),
        )

    def check(self, index: int, reading: Reading) -> Rejection | None:
        """The first reason to refuse ``reading``, or None if it may be stored."""
        if reading.signal_dbm is not None:
            if reading.mnc is None:
                return Rejection(
                    index,
                    "mnc",
                    "unknown_with_signal",
                    "a signal_dbm is measured on a known network: give its mnc; null (operator "
                    "unknown) is for a manual report (level) or no_service",
                )
            if reading.radio == UNKNOWN_RADIO:
                return Rejection(
                    index,
                    "radio",
                    "unknown_with_signal",
                    "a signal_dbm is measured on a known radio (gsm, umts, lte or nr); "
                    "radio 'unknown' is for a manual report (level) or no_service",
                )
            valid = SIGNAL_RANGES[reading.radio]
            if not valid.min_dbm <= reading.signal_dbm <= valid.max_dbm:
                return Rejection(
                    index,
                    "signal_dbm",
                    "out_of_range",
                    f"{reading.signal_dbm:g} dBm is outside the valid {reading.radio} "
                    f"{valid.metric} range {valid.min_dbm:g}..{valid.max_dbm:g} dBm (AOSP)",
                )
        if reading.lat == 0.0 and reading.lon == 0.0:
            return Rejection(
                index, "lat", "null_island", "position (0, 0) is a failed GPS fix, not a place"
            )
        if reading.accuracy_m is not None and reading.accuracy_m > self.max_accuracy_m:
            return Rejection(
                index,
                "accuracy_m",
                "inaccurate",
                f"GPS accuracy {reading.accuracy_m:g} m is worse than the limit "
                f"{self.max_accuracy_m:g} m",
            )
        if reading.speed_mps is not None and reading.speed_mps > self.max_speed_mps:
            return Rejection(
                index,
                "speed_mps",
                "too_fast",
                f"speed {reading.speed_mps:g} m/s is above the limit {self.max_speed_mps:g} m/s",
            )
        if reading.observed_at > self.newest:
            return Rejection(
                index,
                "observed_at",
                "future",
                f"{reading.observed_at.isoformat()} is in the future (server time "
                f"{self.newest.isoformat()} including clock-skew allowance)",
            )
        if reading.observed_at < self.oldest:
            return Rejection(
                index,
                "observed_at",
                "too_old",
                f"{reading.observed_at.isoformat()} is older than the retention window "
                f"(oldest accepted {self.oldest.isoformat()})",
            )
        return None
