"""A batch is judged reading by reading: whatever else it holds, a reading gets the
rejections and the stored row it would get sent alone (``Ingestor.prepare``, no
database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from service.ingest.readings import Ingestor
from service.settings import Settings
from tests.conftest import TEST_SECRET

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
INGESTOR = Ingestor.from_settings(Settings(device_secret=TEST_SECRET, environment="development"))

FIELDS = ("id", "device", "observed_at", "lat", "lon", "accuracy_m", "speed_mps", "mcc",
          "mnc", "radio", "signal_dbm", "no_service", "level", "calls_fail", "area_code",
          "cell_id", "pci", "arfcn", "source", "extra")  # fmt: skip
VALUES = st.sampled_from([
    None, "", "-95", -95, -95.5, -150.0, 2147483647, float("nan"), float("inf"), True, 0,
    0.0, [], {"a": 1}, "2026-11-30T10:00:00", "2026-11-30T10:00:00Z", "\x00", 2**63, 1000,
    85.06, "lte", "unknown", "gsm", "x" * 200,
])  # fmt: skip


@st.composite
def items(draw: Any, number: int) -> Any:
    """A good reading with up to three fields changed or dropped, or not an object."""
    if draw(st.integers(0, 30)) == 0:
        return draw(st.sampled_from([1, "reading", None, [], 2.5]))
    item: dict[str, Any] = {
        "id": f"r{number}", "device": f"phone-{number % 3}",
        "observed_at": (NOW - timedelta(hours=number + 1)).isoformat(), "lat": 12.6667,
        "lon": 108.05, "accuracy_m": 8.0, "mcc": 452, "mnc": 4, "radio": "lte",
        "signal_dbm": -101.0,
    }  # fmt: skip
    for name in draw(st.lists(st.sampled_from(FIELDS), max_size=3)):
        if draw(st.booleans()):
            item.pop(name, None)
        else:
            item[name] = draw(VALUES)
    return item


batches = st.integers(1, 12).flatmap(lambda n: st.tuples(*(items(i) for i in range(n))))


@hsettings(max_examples=300, deadline=None)
@given(batch=batches)
def test_a_reading_in_a_batch_is_judged_as_if_sent_alone(batch):
    together = INGESTOR.prepare(list(batch), now=NOW)
    rejected, rows, seen = [], [], set()
    for index, item in enumerate(batch):
        alone = INGESTOR.prepare([item], now=NOW, index_offset=index)
        rejected += alone.rejected
        for row in (row for part in alone.rows_by_source.values() for row in part):
            if row[:2] not in seen:  # (device, id) sent twice in a batch counts once
                seen.add(row[:2])
                rows.append(row)
    assert sorted(together.rejected, key=lambda r: r.index) == rejected
    stored = [row for part in together.rows_by_source.values() for row in part]
    assert sorted(stored, key=repr) == sorted(rows, key=repr)
