"""What `deadzone aggregate` loads before it runs: an incremental run of 1,000 readings
takes a few seconds, of which the command's start-up is a fixed part (issue 12's bar is
the run's time over a full run's), so packages only other commands or paths use are
imported where they are used."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The modules of the command and of an incremental run, and its settings (every
# default validated, as pydantic-settings does).
AGGREGATE_START = """
import sys
import service.cli, service.jobs, service.engine.aggregation, service.engine.incremental
from service.settings import Settings
Settings()
print(" ".join(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_aggregate_start_up_loads_no_geoalchemy2_and_no_rate_limits():
    loaded = subprocess.run(
        [sys.executable, "-c", AGGREGATE_START], capture_output=True, text=True, timeout=300,
        cwd=ROOT, env={"PATH": "", "PYTHONPATH": str(ROOT), "DEADZONE_ENVIRONMENT": "development"},
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    packages = set(loaded.stdout.split())
    assert "service" in packages  # the check ran
    # geoalchemy2: for PostGIS DDL and geometry columns' types (service.store.spatial);
    # limits: the server's rate limits (service.api.ratelimit).
    assert packages.isdisjoint({"geoalchemy2", "limits"}), packages & {"geoalchemy2", "limits"}
