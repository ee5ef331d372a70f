"""The nesting check that runs on JSON bytes before any parser builds objects."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collectors.formats.nesting import NestingGuard, NestingTooDeep, check_json_nesting


def depth_of(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


# Strings full of brackets, quotes and backslashes: the scan must not count what is inside
# a string, and must tell an escaped quote from a real one, across chunk boundaries too.
TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\n')
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(JSON_VALUES, st.integers(1, 40), st.integers(0, 8))
def test_guard_measures_the_depth_a_parser_would_see(value, chunk, limit):
    data = json.dumps(value).encode()
    guard = NestingGuard(limit)
    try:
        for start in range(0, len(data), chunk):
            guard.feed(data[start : start + chunk])
    except NestingTooDeep:
        assert depth_of(value) > limit
    else:
        assert depth_of(value) <= limit
        assert guard.depth == 0


def test_hundred_thousand_levels_are_refused_at_the_first_level_too_many():
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(NestingTooDeep) as refused:
        check_json_nesting(deep, max_depth=32)
    assert refused.value.offset == 5 + 31  # the 33rd opening bracket
    assert "32 levels" in str(refused.value)
