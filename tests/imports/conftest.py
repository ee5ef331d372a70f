"""Fixtures for imports: settings that keep old sample files in the retention window, the
CLI's environment for a test database, and a big Tower Collector export made once."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from service.cli import app as cli
from service.settings import Settings
from service.store.models import ReadingRow
from tests.conftest import TEST_SECRET

DATA = Path(__file__).resolve().parent.parent / "data" / "formats"

# The MLS documentation example was measured in 2014: a century of retention keeps it, and
# the 2026 sample exports, acceptable whenever the suite runs.
RETENTION_DAYS = 36_500

TC_HEADER = (
    "mcc,mnc,lac,cell_id,short_cell_id,rnc,psc,asu,dbm,ta,lat,lon,accuracy,speed,bearing,"
    "altitude,measured_at,net_type,neighboring,discovered_at,device,rsrp,rsrq,rssi,rssnr,cqi,"
    "rscp,csi_rsrp,csi_rsrq,csi_sinr,ss_rsrp,ss_rsrq,ss_sinr,cdma_dbm,cdma_ecio,evdo_dbm,"
    "evdo_ecio,evdo_snr,ec_no,arfcn"
)
BIG_ROWS = 100_000
BIG_BAD_LINE = 50_001  # the header is line 1, so this is row 50,000


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        device_secret=TEST_SECRET,
        environment="development",
        aggregate_interval_s=0,
        retention_days=RETENTION_DAYS,
    )


def tc_row(i: int, *, when: datetime, rsrp: str = "", lat: str = "") -> str:
    """Tower Collector LTE row ``i`` (CRLF-ended): a walk north from Buon Ma Thuot, one
    measurement a second, so every row is a distinct reading."""
    t = (when + timedelta(seconds=i)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    lat = lat or f"{12.6 + i * 1e-6:.7f}"
    rsrp = rsrp or str(-80 - i % 50)
    return (
        f"452,4,12101,{26200000 + i % 500},1,,123,32,{rsrp},3,{lat},108.0500000,4.0,1.25,87.5,"
        f"486.0,{t},LTE,false,{t},tc-test-1,{rsrp},-12,-79,4,9,,,,,,,,,,,,,,1850\r\n"
    )


def write_tc(path: Path, rows: list[str], *, compress: bool = False) -> Path:
    data = (TC_HEADER + "\r\n" + "".join(rows)).encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture(scope="session")
def big_towercollector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100,000 Tower Collector rows; the row on line 50,001 has a latitude that is not a
    number. Made once per test session."""
    path = tmp_path_factory.mktemp("big") / "big-towercollector.csv"
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(TC_HEADER + "\r\n")
        for i in range(BIG_ROWS):
            line = i + 2
            out.write(tc_row(i, when=when, lat="12.6x" if line == BIG_BAD_LINE else ""))
    return path


@pytest.fixture
def recent() -> datetime:
    """A moment an hour ago, for rows that the quality gate should take."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def readings_stored(sessions: Any) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ReadingRow)))


@pytest.fixture
def run_cli(settings: Settings) -> Callable[..., Any]:
    """Run ``deadzone ARGS`` against the test database (and its secret)."""

    def run(*args: str) -> Any:
        env = {
            "DEADZONE_DATABASE_URL": settings.database_url,
            "DEADZONE_DEVICE_SECRET": TEST_SECRET,
            "DEADZONE_RETENTION_DAYS": str(RETENTION_DAYS),
            "COLUMNS": "300",
        }
        return CliRunner().invoke(cli, [str(a) for a in args], env=env)

    return run
