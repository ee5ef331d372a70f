"""A plain `pip install .` (no extras) into a fresh virtual environment runs the demo and
the server's app: every module they import is a declared dependency (issue 11: the demo
once needed httpx from the test extra)."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_plain_install_runs_the_demo_and_the_app_loads_no_simulation(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", str(ROOT)],
        capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    out = tmp_path / "demo"
    demo = subprocess.run(
        [str(env_dir / "bin" / "deadzone"), "demo", "--size", "small", "--out", str(out)],
        capture_output=True, text=True, timeout=1200, cwd=tmp_path,
    )  # fmt: skip
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    for name in ("coverage.html", "deadzones.html", "summary.json"):
        assert (out / name).stat().st_size > 0
    loaded = subprocess.run(
        [str(python), "-c", "import sys, service.api.app; "
         "print(sorted(m for m in sys.modules if m.split('.')[0] == 'simulation'))"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "[]"
    assert sys.prefix != str(env_dir)  # the check ran in the fresh environment, not ours
