"""A plain `pip install .` (no extras) into a fresh virtual environment (``plain_install``,
tests/conftest.py) runs the demo and the server's app: every module they import is a
declared dependency (issue 11: the demo once needed httpx from the test extra).

The demo, and every other command the README shows, runs from that environment in
tests/test_readme.py: one small demo (about a minute of CPU) serves both checks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_plain_install_loads_the_app_without_simulation(plain_install: Path, tmp_path: Path):
    python = plain_install / "bin" / "python"
    loaded = subprocess.run(
        [str(python), "-c", "import sys, service.api.app; "
         "print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulation'))"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
    assert sys.prefix != str(plain_install)  # the check ran in the fresh environment, not ours
