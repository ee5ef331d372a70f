"""The upload stream: readings as canonical dicts, in the order phones send them.

Apart from the simulated readings themselves, the stream carries what a real service meets:
the same reading uploaded twice (a retry after a lost answer: exactly the same dict, same id),
and a few malformed or implausible readings of named kinds, so the quality gate is exercised
and its counts can be checked against ``UploadPlan.injected``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from domain.radio import ANDROID_UNAVAILABLE
from simulation.network import MCC_VIETNAM, OPERATORS, OperatorProfile
from simulation.residents import RADIOS, SOURCE_REPORTER, UNKNOWN_RADIO, ReadingColumns

IntArray = npt.NDArray[np.int64]

SOURCE_NAMES = ("simulation", "reporter")

# Kinds of bad readings. "Schema" kinds fail ``collectors.reading.Reading`` itself; "gate"
# kinds are well-formed but implausible, and the service's quality gate must reject them.
SCHEMA_KINDS: tuple[str, ...] = (
    "lat_out_of_range",  # latitude 91-120 degrees
    "lon_out_of_range",  # longitude beyond 180 degrees
    "string_number",  # "-95" (a string) where signal_dbm belongs
    "nan_signal",  # signal_dbm NaN (Python's json writes it; strict parsers refuse it)
    "android_unavailable",  # signal_dbm 2147483647 and nothing else: no signal at all
    "missing_device",  # no device token
    "naive_timestamp",  # observed_at without a UTC offset
    "two_signals",  # both signal_dbm and no_service: true
    "level_out_of_range",  # a manual report of 7 bars
)
GATE_KINDS: tuple[str, ...] = (
    "future_timestamp",  # observed 2-30 days after now
    "null_island",  # lat 0, lon 0: an app's missing position
    "signal_out_of_range",  # LTE RSRP of -150 or -20 dBm, outside -140..-43
    "too_old",  # observed 500-900 days before now, beyond the default 400-day retention
)
# Injected per kind: this many per million readings, at least ``MIN_PER_KIND``.
BAD_PER_MILLION = 60
MIN_PER_KIND = 4
DUPLICATE_SHARE = 0.015  # share of readings uploaded a second time


@dataclass(frozen=True)
class UploadBatch:
    """One upload, as the demo should send it: ``readings`` are canonical dicts (some
    deliberately bad; see ``UploadPlan.injected``), ``uploaded_at`` is when the last of them
    reached the server (UTC), ``number`` counts batches from 0."""

    number: int
    uploaded_at: datetime
    readings: list[dict[str, Any]]


@dataclass
class UploadPlan:
    """All uploads in order: rows of the reading columns (a row twice for a duplicate) and
    the extra bad readings, merged by upload time."""

    columns: ReadingColumns
    sites: pd.DataFrame
    order: IntArray  # >= 0: reading row; < 0: -(k + 1) for ``extras[k]``
    upload_s: IntArray  # per entry of ``order``
    extras: list[dict[str, Any]]
    injected: dict[str, Any] = field(default_factory=dict)
    operators: tuple[OperatorProfile, ...] = OPERATORS

    def __len__(self) -> int:
        return int(self.order.size)

    def batches(self, batch_size: int) -> Iterator[UploadBatch]:
        """Yield the stream in batches of ``batch_size`` readings, in upload order."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        for number, start in enumerate(range(0, self.order.size, batch_size)):
            part = self.order[start : start + batch_size]
            readings = rows_to_dicts(
                self.columns, self.sites, part[part >= 0], operators=self.operators
            )
            merged: list[dict[str, Any]] = []
            it = iter(readings)
            for entry in part.tolist():
                merged.append(next(it) if entry >= 0 else self.extras[-entry - 1])
            last = int(self.upload_s[start : start + batch_size].max())
            yield UploadBatch(number, datetime.fromtimestamp(last, UTC), merged)


def seconds_to_rfc3339(seconds: IntArray) -> list[str]:
    """Unix seconds to RFC 3339 UTC strings (``2026-09-01T08:30:00Z``)."""
    text = np.datetime_as_string(np.asarray(seconds, dtype="datetime64[s]"), unit="s")
    return [t + "Z" for t in text.tolist()]


def rows_to_dicts(
    columns: ReadingColumns,
    sites: pd.DataFrame,
    rows: IntArray,
    *,
    operators: tuple[OperatorProfile, ...] = OPERATORS,
) -> list[dict[str, Any]]:
    """Canonical reading dicts for the given rows of ``columns``.

    Optional fields are left out rather than sent as null; cell identity comes from the
    serving transmitter's row in ``sites``; a manual report whose resident did not know the
    radio says ``radio: "unknown"``.
    """
    c = columns
    device = c.device[rows].tolist()
    seq = c.seq[rows].tolist()
    observed = seconds_to_rfc3339(c.observed_s[rows])
    lat = c.lat[rows].tolist()
    lon = c.lon[rows].tolist()
    acc = c.accuracy_m[rows].astype(np.float64).round(1).tolist()
    speed = c.speed_mps[rows].astype(np.float64).round(1).tolist()
    op = c.operator[rows].tolist()
    radio = c.radio[rows].tolist()
    signal = c.signal_dbm[rows].astype(np.float64).tolist()
    no_service = c.no_service[rows].tolist()
    level = c.level[rows].tolist()
    calls = c.calls_fail[rows].tolist()
    tx = c.transmitter[rows].tolist()
    source = c.source[rows].tolist()
    area = sites["area_code"].to_numpy()
    cell_id = sites["cell_id"].to_numpy()
    pci = sites["pci"].to_numpy()
    arfcn = sites["arfcn"].to_numpy()
    out: list[dict[str, Any]] = []
    for i in range(len(device)):
        d: dict[str, Any] = {
            "id": f"r{seq[i]:06d}",
            "device": f"sim-device-{device[i]:06d}",
            "observed_at": observed[i],
            "lat": lat[i],
            "lon": lon[i],
        }
        if not math.isnan(acc[i]):
            d["accuracy_m"] = acc[i]
        if not math.isnan(speed[i]):
            d["speed_mps"] = speed[i]
        d["mcc"] = MCC_VIETNAM
        d["mnc"] = operators[op[i]].mnc
        d["radio"] = "unknown" if radio[i] == UNKNOWN_RADIO else RADIOS[radio[i]].value
        if source[i] == SOURCE_REPORTER:
            d["level"] = level[i]
            d["calls_fail"] = bool(calls[i])
        elif no_service[i]:
            d["no_service"] = True
        else:
            d["signal_dbm"] = signal[i]
        t = tx[i]
        if t >= 0:
            d["area_code"] = int(area[t])
            d["cell_id"] = int(cell_id[t])
            if pci[t] >= 0:
                d["pci"] = int(pci[t])
            d["arfcn"] = int(arfcn[t])
        d["source"] = SOURCE_NAMES[source[i]]
        out.append(d)
    return out


def spoil(
    reading: dict[str, Any], kind: str, rng: np.random.Generator, now_s: int
) -> dict[str, Any]:
    """A copy of a good reading made bad in the named way (see ``SCHEMA_KINDS``/``GATE_KINDS``)."""
    d = dict(reading)
    d["id"] = "x" + d["id"][1:]  # its own id: a bad reading is not a duplicate of a good one
    for key in ("signal_dbm", "no_service", "level", "calls_fail"):
        d.pop(key, None)
    d["signal_dbm"] = float(round(rng.uniform(-110, -70)))
    if d["radio"] == "unknown":
        d["radio"] = "lte"  # a measured value has a radio; only the named fault is wrong
    if kind == "lat_out_of_range":
        d["lat"] = round(float(rng.uniform(91, 120)), 6)
    elif kind == "lon_out_of_range":
        d["lon"] = round(float(rng.uniform(181, 360)), 6)
    elif kind == "string_number":
        d["signal_dbm"] = str(int(d["signal_dbm"]))
    elif kind == "nan_signal":
        d["signal_dbm"] = float("nan")
    elif kind == "android_unavailable":
        d["signal_dbm"] = ANDROID_UNAVAILABLE
    elif kind == "missing_device":
        del d["device"]
    elif kind == "naive_timestamp":
        d["observed_at"] = d["observed_at"].rstrip("Z").replace("T", " ")
    elif kind == "two_signals":
        d["no_service"] = True
    elif kind == "level_out_of_range":
        del d["signal_dbm"]
        d["level"] = 7
        d["source"] = "reporter"
    elif kind == "future_timestamp":
        d["observed_at"] = seconds_to_rfc3339(
            np.array([now_s + int(rng.integers(2 * 86400, 30 * 86400))])
        )[0]
    elif kind == "too_old":
        d["observed_at"] = seconds_to_rfc3339(
            np.array([now_s - int(rng.integers(500 * 86400, 900 * 86400))])
        )[0]
    elif kind == "null_island":
        d["lat"] = 0.0
        d["lon"] = 0.0
    elif kind == "signal_out_of_range":
        d["radio"] = "lte"
        d["signal_dbm"] = float(rng.choice([-150.0, -20.0]))
    else:
        raise ValueError(f"unknown kind of bad reading: {kind}")
    return d


def plan_uploads(
    rng: np.random.Generator,
    columns: ReadingColumns,
    sites: pd.DataFrame,
    *,
    now_s: int,
    operators: tuple[OperatorProfile, ...] = OPERATORS,
) -> UploadPlan:
    """Order every upload: each reading, its duplicate if it gets one, and the bad ones."""
    n = len(columns)
    # Duplicates: a retry some minutes to hours after the first upload, same dict.
    dup = np.flatnonzero(rng.random(n) < DUPLICATE_SHARE)
    dup_time = np.minimum(
        columns.uploaded_s[dup]
        + np.exp(rng.normal(math.log(1800), 1.0, dup.size)).astype(np.int64),
        now_s,
    )
    # Bad readings, each made from a random good one and sent with it.
    per_kind = max(MIN_PER_KIND, int(round(n * BAD_PER_MILLION / 1_000_000)))
    kinds = [k for k in SCHEMA_KINDS + GATE_KINDS for _ in range(per_kind)]
    templates = rng.choice(n, size=len(kinds), replace=False)
    good = rows_to_dicts(columns, sites, templates, operators=operators)
    extras = [spoil(g, k, rng, now_s) for g, k in zip(good, kinds, strict=True)]
    extra_time = columns.uploaded_s[templates]

    order = np.concatenate([np.arange(n), dup, -(np.arange(len(extras)) + 1)]).astype(np.int64)
    upload = np.concatenate([columns.uploaded_s, dup_time, extra_time]).astype(np.int64)
    # Sort by upload time; ties keep the order above (stable), so the result is deterministic.
    sort = np.argsort(upload, kind="stable")
    accuracy = columns.accuracy_m
    drawn_bad = (accuracy > 1000) | (columns.speed_mps > 50)
    injected: dict[str, Any] = {
        "readings": n,
        "duplicates": int(dup.size),
        "schema_invalid": {k: per_kind for k in SCHEMA_KINDS},
        "gate_rejected": {k: per_kind for k in GATE_KINDS},
        # Well-formed readings the gate must refuse or down-weight, drawn with the rest.
        "accuracy_over_1000m": int(np.sum(accuracy > 1000)),
        "accuracy_over_50m": int(np.sum(accuracy > 50)),
        "speed_over_50mps": int(np.sum(columns.speed_mps > 50)),
        # Distinct simulated readings that a gate with deadzone's defaults refuses (accuracy
        # over 1000 m or speed over 50 m/s), and how many of the duplicate uploads repeat one.
        "gate_rejected_drawn": int(np.sum(drawn_bad)),
        "duplicates_of_gate_rejected": int(np.sum(drawn_bad[dup])),
        "no_service": int(columns.no_service.sum()),
        "manual": int(np.sum(columns.source == SOURCE_REPORTER)),
        "manual_radio_unknown": int(np.sum(columns.radio == UNKNOWN_RADIO)),
        "emergency_only": int(columns.emergency_only.sum()),
    }
    return UploadPlan(columns, sites, order[sort], upload[sort], extras, injected, operators)
