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
print(" ".join(sorted(sys.modules)))
"""


def test_aggregate_start_up_loads_no_geoalchemy2_and_no_rate_limits():
    loaded = subprocess.run(
        [sys.executable, "-c", AGGREGATE_START], capture_output=True, text=True, timeout=300,
        cwd=ROOT, env={"PATH": "", "PYTHONPATH": str(ROOT), "DEADZONE_ENVIRONMENT": "development"},
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    packages = {module.split(".")[0] for module in loaded.stdout.split()}
    assert "service" in packages  # the check ran
    # geoalchemy2: for PostGIS DDL and geometry columns' types (service.store.spatial);
    # limits: the server's rate limits (service.api.ratelimit).
    assert packages.isdisjoint({"geoalchemy2", "limits"}), packages & {"geoalchemy2", "limits"}


def test_aggregate_start_up_loads_no_reading_format():
    """The settings take the JSON depth limit's default without the formats' parsers
    (collectors.formats: 26 modules, 70-85 ms; an aggregation reads no file)."""
    loaded = subprocess.run(
        [sys.executable, "-c", AGGREGATE_START], capture_output=True, text=True, timeout=300,
        cwd=ROOT, env={"PATH": "", "PYTHONPATH": str(ROOT), "DEADZONE_ENVIRONMENT": "development"},
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    modules = set(loaded.stdout.split())
    assert "service.settings" in modules  # the check ran
    assert not {m for m in modules if m.startswith("collectors.formats")}


# `deadzone aggregate` on an empty database, the run spied on: how many objects the
# cyclic collector no longer traverses when the run starts.
AGGREGATE_FROZEN = """
import gc, sys
import service.jobs
from service.cli import main

real = service.jobs.run_aggregation
seen = []

def spy(*args, **kwargs):
    seen.append(gc.get_freeze_count())
    return real(*args, **kwargs)

service.jobs.run_aggregation = spy
sys.argv = ["deadzone", "aggregate", "--database-url", sys.argv[1]]
try:
    main()
finally:
    print(seen)
"""


def test_aggregate_runs_with_the_imported_modules_frozen_out_of_the_collector(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    env = {"PATH": "", "PYTHONPATH": str(ROOT), "DEADZONE_ENVIRONMENT": "development",
           "DEADZONE_DEVICE_SECRET": "x" * 32}  # fmt: skip
    created = subprocess.run(
        [sys.executable, "-m", "service.cli", "db", "upgrade", "--database-url", url],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    ran = subprocess.run(
        [sys.executable, "-c", AGGREGATE_FROZEN, url], capture_output=True, text=True,
        timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    frozen = eval(ran.stdout.strip().splitlines()[-1])  # noqa: S307 - our own list's repr
    # pandas, SQLAlchemy, pydantic and the engine's modules: hundreds of thousands.
    assert len(frozen) == 1 and frozen[0] > 50_000, frozen
