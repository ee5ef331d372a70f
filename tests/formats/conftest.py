"""Helpers for the format parser tests: sample files and splitting rows from errors."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from collectors.formats import RowError

DATA = Path(__file__).resolve().parent.parent / "data" / "formats"


@pytest.fixture
def data_dir() -> Path:
    """The folder of real-format sample files."""
    return DATA


def split(rows: Iterable[Any]) -> tuple[list[dict[str, Any]], list[RowError]]:
    """(readings, errors) of a parser's output, each in order."""
    readings: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for row in rows:
        (errors if isinstance(row, RowError) else readings).append(row)
    return readings, errors
