"""Dates as a meeting in Dak Lak reads them: Vietnam's day (UTC+7), dd/mm/yyyy in
Vietnamese, and map titles in the page's language."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from domain.localtime import format_day, vietnam_date
from maps.page import format_date
from service.areas.progress import take_snapshot
from service.publish.mapdata import map_title
from service.settings import Settings
from service.store.database import session_scope
from service.store.models import ProgressSnapshot
from tests.areas.conftest import CENTRE, import_areas, village, write_layer

# 23:30 UTC on 29 November is 06:30 on 30 November in Buôn Ma Thuột.
LATE_UTC = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)


def test_the_day_is_vietnams() -> None:
    assert vietnam_date(LATE_UTC) == date(2026, 11, 30)
    assert vietnam_date(LATE_UTC.replace(tzinfo=None)) == date(2026, 11, 30)  # naive: UTC
    assert format_day(date(2026, 11, 30), lang="vi") == "30/11/2026"
    assert format_day(date(2026, 11, 30), lang="en") == "2026-11-30"
    assert format_date(LATE_UTC, "-", lang="vi") == "30/11/2026"
    assert format_date(None, "không có", lang="vi") == "không có"


def test_map_titles_speak_the_pages_language() -> None:
    assert map_title("coverage", lang="vi") == "deadzone: Vùng phủ sóng di động"
    assert map_title("deadzones", lang="vi", scope="452-04") == "deadzone: Vùng mất sóng: Viettel"
    assert map_title("deadzones", lang="en") == "deadzone: Dead zones: all operators"
    assert map_title("progress", lang="en") == "deadzone: Coverage progress by commune and village"


def test_a_snapshot_early_in_the_morning_belongs_to_that_day(
    tmp_path: Path, settings: Settings, sessions: sessionmaker[Session]
) -> None:
    path = write_layer(tmp_path / "v.geojson", [village("V1", "Buôn A", CENTRE, 300)])
    import_areas(sessions, settings, path)
    with session_scope(sessions) as session:
        take_snapshot(session, settings, now=LATE_UTC)
    with sessions() as session:
        days = set(session.scalars(select(ProgressSnapshot.day)))
    assert days == {date(2026, 11, 30)}
