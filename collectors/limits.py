"""Limits the formats hold every document to, apart from the parsers: the settings read their
defaults from here without importing every format (``deadzone aggregate`` reads no file and
starts faster without them; tests/test_startup_imports.py)."""

from __future__ import annotations

from typing import Final

MAX_JSON_DEPTH: Final = 32
"""Default nesting limit (objects and arrays). Six times what any accepted format needs,
so GIS tools that add a nested property still pass."""
