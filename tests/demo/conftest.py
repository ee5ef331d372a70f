"""Fixtures of the demo tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    """A second fresh SQLite database, for comparing two runs."""
    path = tmp_path / "second.sqlite"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"
