"""The canonical reading: what every collector produces and what the service ingests.

Structure and types are checked here (pydantic); value plausibility that depends on the
service's settings (GPS accuracy limit, retention window, per-radio ranges) is checked by
``service.ingest.quality``, so that a rejected value is always named with its field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from domain.radio import ANDROID_UNAVAILABLE, ReportedRadio

# Numbers are strict: a string such as "-95" where a number belongs is an error, not a
# guess. NaN and Infinity are refused everywhere (JSON has no such values, but Python's
# json module and some apps write them).
StrictFloat = Annotated[float, Field(strict=True, allow_inf_nan=False)]
StrictInt = Annotated[int, Field(strict=True)]

MAX_ID_LENGTH = 128
# Fields where Android's "unavailable" marker may appear and means "missing".
_UNAVAILABLE_FIELDS = (
    "signal_dbm",
    "accuracy_m",
    "speed_mps",
    "area_code",
    "cell_id",
    "pci",
    "arfcn",
)
MAX_DEVICE_LENGTH = 256

# The widest integer each database column holds (service/store/models.py): BIGINT (signed
# 64-bit) for cell identity and area code, INTEGER (signed 32-bit) for pci and arfcn. A
# larger value would overflow the column: SQLite and psycopg refuse it mid-batch (sinking the
# good readings with it) and PostgreSQL's binary COPY would wrap it silently. Real values are
# far smaller (NR cell identity 36 bits, TAC 24 bits, PCI < 1008, NR-ARFCN < 3,279,166:
# 3GPP TS 38.413, 38.211, 38.104), so the column's bound refuses nothing real.
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1

# Identifiers (reading id, source) may not hold control characters: PostgreSQL refuses NUL
# in text, and the others break CSV exports and logs. A lone surrogate (valid in Python,
# not in UTF-8) is refused by pydantic itself ("string_unicode").
_NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f]*$"


class Reading(BaseModel):
    """One observation of the network by one phone at one place and time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(
        min_length=1,
        max_length=MAX_ID_LENGTH,
        pattern=_NO_CONTROL_CHARACTERS,
        description="Client-chosen reading id, unique per device. Sending the same "
        "(device, id) again is accepted as a duplicate and counted once.",
    )
    device: str = Field(
        min_length=1,
        max_length=MAX_DEVICE_LENGTH,
        description="Opaque device token chosen by the app (never a phone number or IMEI). "
        "The service stores only a keyed hash of it.",
    )
    observed_at: AwareDatetime = Field(
        description="When the phone measured, RFC 3339 with a UTC offset "
        "(e.g. 2026-11-21T08:30:00Z). Old readings uploaded late are fine up to the "
        "retention window; future ones beyond the clock-skew allowance are rejected.",
    )
    lat: StrictFloat = Field(ge=-85.051, le=85.051, description="Latitude, WGS84 degrees.")
    lon: StrictFloat = Field(ge=-180.0, le=180.0, description="Longitude, WGS84 degrees.")
    accuracy_m: StrictFloat | None = Field(
        default=None,
        ge=0.0,
        description="Horizontal GPS accuracy, metres (68% radius). Readings above the "
        "service's limit (default 1000 m) are rejected; above 50 m they weigh less.",
    )
    speed_mps: StrictFloat | None = Field(
        default=None, ge=0.0, description="Ground speed of the phone, metres per second."
    )
    mcc: StrictInt = Field(ge=1, le=999, description="Mobile country code (Vietnam: 452).")
    mnc: StrictInt | None = Field(
        ge=0,
        le=999,
        description="Mobile network code (Viettel 4, VinaPhone 2, MobiFone 1...); null when "
        "the operator is unknown: a resident's manual or no-service report whose resident did "
        "not know it (a measured signal_dbm needs its operator). Required: send null, not "
        "nothing. An unknown operator's reading says nothing about any one operator; it is "
        "evidence about the place, for the best of all operators only, weighed like a "
        "resident's report of a known operator (three phones for dead).",
    )
    radio: ReportedRadio = Field(
        description="Radio technology of the serving cell: gsm, umts, lte or nr; 'unknown' "
        "for a manual report (level) or a no-service report that does not know it (a measured "
        "signal_dbm needs its radio). An unknown radio is evidence about the operator only.",
    )
    signal_dbm: StrictFloat | None = Field(
        default=None,
        description="Signal power in dBm of the radio's metric: GSM RSSI, UMTS RSCP, "
        "LTE RSRP, NR SS-RSRP. Android's 'unavailable' value 2147483647 means missing.",
    )
    no_service: bool = Field(
        default=False,
        strict=True,
        description="True when the phone had no network at all (a measured dead spot).",
    )
    level: StrictInt | None = Field(
        default=None,
        ge=0,
        le=4,
        description="Manual report: signal bars the resident saw, 0 (no signal) to 4.",
    )
    calls_fail: bool | None = Field(
        default=None, strict=True, description="Manual report: calls drop or cannot be made."
    )
    area_code: StrictInt | None = Field(
        default=None,
        ge=0,
        le=INT64_MAX,
        description="Location or tracking area code (LAC/TAC) of the serving cell.",
    )
    cell_id: StrictInt | None = Field(
        default=None,
        ge=0,
        le=INT64_MAX,
        description="Cell identity of the serving cell (CID/ECI/NCI).",
    )
    pci: StrictInt | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Physical cell id (LTE/NR) or primary scrambling code (UMTS).",
    )
    arfcn: StrictInt | None = Field(
        default=None,
        ge=0,
        le=INT32_MAX,
        description="Channel number (ARFCN/UARFCN/EARFCN/NR-ARFCN).",
    )
    source: str = Field(
        default="api",
        min_length=1,
        max_length=32,
        pattern=_NO_CONTROL_CHARACTERS,
        description="Which collector produced the reading (api, reporter, towercollector, ...).",
    )

    @model_validator(mode="after")
    def _one_signal_and_no_unavailable(self) -> Reading:
        # One validator per model rather than one per field: this runs for every reading
        # of every batch, so it is written for speed.
        reading = self
        if ANDROID_UNAVAILABLE in (
            self.signal_dbm, self.accuracy_m, self.speed_mps, self.area_code, self.cell_id,
            self.pci, self.arfcn,
        ):  # fmt: skip
            reading = self.model_copy(
                update={
                    name: None
                    for name in _UNAVAILABLE_FIELDS
                    if getattr(self, name) == ANDROID_UNAVAILABLE
                }
            )
        given = (reading.signal_dbm is not None) + reading.no_service + (reading.level is not None)
        if given != 1:
            named = [
                name
                for name, present in (
                    ("signal_dbm", reading.signal_dbm is not None),
                    ("no_service", reading.no_service),
                    ("level", reading.level is not None),
                )
                if present
            ]
            raise ValueError(
                "give exactly one of signal_dbm, no_service: true or level"
                + (f" (got {', '.join(named)})" if named else " (got none)")
            )
        return reading

    @property
    def is_manual(self) -> bool:
        """True for a resident's hand-made report (bars), not a measured value."""
        return self.level is not None


class ReadingBatch(BaseModel):
    """Body of ``POST /v1/readings``. Documented here; the service validates each reading
    on its own so that one bad reading never sinks the batch."""

    readings: list[Reading] = Field(description="The readings, in any order; duplicates are fine.")


def observed_at_utc(reading: Reading) -> datetime:
    """The observation time converted to UTC."""
    from datetime import UTC

    return reading.observed_at.astimezone(UTC)
