"""Vietnam's calendar. Deadzone stores instants in UTC; the province lives in Indochina Time
(UTC+7 all year, no daylight saving), so "today" for a snapshot, a dated file or a date on
a page is the day in Asia/Ho_Chi_Minh: a snapshot taken at 06:00 in Buôn Ma Thuột on
30 November is 29 November in UTC, and a meeting reads the 30th.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

# IANA time zone database (the tzdata package where the system has none).
VIETNAM_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_date(moment: datetime) -> date:
    """The calendar day in Vietnam of an instant (a naive datetime is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(VIETNAM_TZ).date()


def format_day(day: date, *, lang: str) -> str:
    """A day as Vietnamese readers write it (dd/mm/yyyy), or ISO 8601 in English."""
    return day.strftime("%d/%m/%Y") if lang == "vi" else day.isoformat()
