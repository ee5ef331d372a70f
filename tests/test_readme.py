"""Every command the README shows in a ``sh`` block works as typed on a fresh folder, in the
README's order, with the ``deadzone`` of a plain install (``plain_install``, tests/conftest.py:
``pip install .`` without extras, in a fresh virtual environment) standing for
``.venv/bin/deadzone``. What `make` installs (``.[dev]``) holds more than a plain install, so
the commands work there too; and the README's ``deadzone demo`` is the demo run on a plain
install that tests/test_plain_install.py relies on (issue 11), so the suite runs that small
demo once rather than twice.

Left out, each for a stated reason (``SKIPPED``): ``make`` and ``bash scripts/...`` install
packages and run this very suite; ``serve`` runs until stopped (its start-up refusals are
tested in ``tests/test_cli_errors.py``); ``demo --size province`` takes 10 to 40 minutes of
CPU (docs/scale.md).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SKIPPED = {
    "make": "installs packages / runs the whole suite",
    "bash": "installs system packages as root",
    "serve": "runs until stopped",
    "--size province": "takes 10 to 40 minutes of CPU",
}
# Per command. The small demo takes about a minute of CPU (4 December 2026), and once took
# 23 min 15 s of wall time at load 7 to 16.6 on the shared 2-core machine (docs/scale.md,
# 30 November 2026).
TIMEOUT_S = 1800


def readme_commands() -> list[list[str]]:
    """The commands of the README's ``sh`` blocks, comments stripped, in order."""
    text = README.read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def skip_reason(words: list[str]) -> str | None:
    line = " ".join(words)
    for marker, reason in SKIPPED.items():
        if words[0] == marker or f" {marker}" in f" {line}":
            return reason
    return None


def test_readme_shows_the_commands_this_test_runs() -> None:
    commands = readme_commands()
    run = [c for c in commands if skip_reason(c) is None]
    assert ["export", "DEADZONE_DATABASE_URL=sqlite:///deadzone-out/demo.sqlite"] in run
    assert [".venv/bin/deadzone", "zones", "--operator", "452-04"] in run
    assert [".venv/bin/deadzone", "demo"] in run


@pytest.mark.slow
def test_every_readme_command_works_as_typed(plain_install: Path, tmp_path: Path) -> None:
    deadzone = plain_install / "bin" / "deadzone"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEADZONE_")}
    env["COLUMNS"] = "200"
    ran = []
    for words in readme_commands():
        if skip_reason(words) is not None:
            continue
        if words[0] == "export":
            name, _, value = words[1].partition("=")
            env[name] = value
            continue
        assert words[0] == ".venv/bin/deadzone", f"README command not runnable here: {words}"
        argv = [str(deadzone), *words[1:]]
        done = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
        shown = " ".join(words)
        assert done.returncode == 0, (
            f"`{shown}` exited {done.returncode}:\n{done.stdout}{done.stderr}"
        )
        assert "Traceback" not in done.stdout + done.stderr, shown
        ran.append((words, done.stdout))
    zones = next(out for words, out in ran if words[1:2] == ["zones"])
    # A table, not an error: the title, the header and a zone row of that operator.
    assert "Dead zones (452-04)" in zones and "people" in zones and "villages" in zones
    assert "dz-452-04-" in zones
    assert all((tmp_path / name).exists() for name in ("c.html", "c4.html", "z.html"))
    assert not (tmp_path / "deadzone.sqlite").exists()  # nothing created behind the user
    # The demo ran on the plain install and wrote its maps and summary.
    for name in ("coverage.html", "deadzones.html", "summary.json"):
        assert (tmp_path / "deadzone-out" / name).stat().st_size > 0, name
