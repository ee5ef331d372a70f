"""The issue's bar, black-box: scripts/commitments_blackbox.py drives a real production-mode
`deadzone serve` process over HTTP (and `deadzone import-claimed`) on each database."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "commitments_blackbox.py"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_assigned_zones_are_verified_or_still_dead_and_challenged(db_url: str) -> None:
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--port", str(_free_port()), "--database-url", db_url],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert "all checks passed" in run.stdout
    assert "verification: the first zone verified, the second still_dead" in run.stdout
    assert "FAIL" not in run.stdout
