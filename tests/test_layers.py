"""The house's layers hold (README "Architecture"): the import-linter contracts pass, a
wrong-way import makes them fail, and the web app loads nothing of the simulation."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "collectors", "maps", "service", "simulation", "migrations")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def run_lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(
            ROOT / name,
            tmp_path / name,
            ignore=shutil.ignore_patterns("assets", "static", "__pycache__"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_layers_contract_holds_on_the_tree():
    result = run_lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("maps/wrong_way.py", "import service.settings\n", "maps.wrong_way -> service.settings"),
        ("service/engine/wrong_way.py", "from service.areas import planning\n",
         "service.engine.wrong_way -> service.areas.planning"),
        ("service/api/wrong_way.py", "import simulation.demo\n",
         "service.api.wrong_way -> simulation.demo"),
    ],
)  # fmt: skip
def test_a_wrong_way_import_breaks_the_contract(tmp_path, module, line, broken):
    root = copy_of_the_tree(tmp_path)
    (root / module).write_text(line)
    result = run_lint_imports(root)
    assert result.returncode != 0
    assert broken in result.stdout


def test_importing_the_web_app_loads_no_simulation_module():
    code = (
        "import sys, service.api.app, service.cli, service.jobs\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'simulation')\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_no_other_installed_distribution_claims_our_top_level_names():
    """The import names are generic (README "Architecture": why they stay top-level); in
    deadzone's own environment nothing else may install a package of the same name."""
    owners = importlib.metadata.packages_distributions()
    for name in PACKAGES:
        others = {d for d in owners.get(name, []) if d.lower() != "deadzone"}
        assert not others, f"{name} is also installed by {sorted(others)}"
