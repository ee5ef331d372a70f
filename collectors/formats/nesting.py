"""How deep a JSON document nests, measured on its bytes before any parser builds objects.

Why a scan of our own: no JSON parser deadzone uses bounds depth the way it needs. orjson
stops at 1,024 levels (fine, but only after allocating them), Python's ``json`` raises
``RecursionError`` around 1,000, and ijson's C backend keeps the full path prefix of every
open level, so its memory grows with the *square* of the depth (a 200 KB GeoJSON nested
100,000 deep took a server past 20 GB). Documents deadzone reads are shallow: a canonical
batch nests 3 levels, a geosubmit body 5, a GeoJSON point feature 5. So the bytes are
checked chunk by chunk with numpy (string contents and escaped quotes excluded) and a
document deeper than the limit is refused before the parser sees the chunk.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from collectors.formats.rows import FormatError
from collectors.limits import MAX_JSON_DEPTH

_BACKSLASH: Final = ord("\\")
_QUOTE_KIND: Final = 1
_OPEN_KIND: Final = 2
_CLOSE_KIND: Final = 3
# What each byte is to the scan: 0 for all but quotes and brackets (a bytes.translate
# table: mapping in C is several times faster than a numpy lookup).
_KIND: Final = bytes(
    _QUOTE_KIND if byte == ord('"') else _OPEN_KIND if byte in b"{[" else
    _CLOSE_KIND if byte in b"}]" else 0
    for byte in range(256)
)  # fmt: skip


class NestingTooDeep(FormatError):
    """A JSON document nests deeper than the limit."""

    def __init__(self, limit: int, offset: int) -> None:
        super().__init__(
            f"JSON nests deeper than {limit} levels (at byte {offset}); no format deadzone "
            "reads needs more than a few"
        )
        self.limit = limit
        self.offset = offset


class NestingGuard:
    """Feed a JSON document's bytes in order; raises :class:`NestingTooDeep` on the chunk
    where the depth first passes ``max_depth``. Holds only a few counters between chunks."""

    def __init__(self, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self._in_string = False
        self._backslashes = 0  # length of the run of backslashes that ended the last chunk
        self._offset = 0

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        data = np.frombuffer(chunk, dtype=np.uint8)
        # Only quotes and brackets matter, a small share of the bytes: work on those.
        mapped = np.frombuffer(chunk.translate(_KIND), dtype=np.uint8)
        positions = np.flatnonzero(mapped)
        kinds = mapped[positions]
        quote_at = np.flatnonzero(kinds == _QUOTE_KIND)
        real = quote_at[self._unescaped(data, positions[quote_at])]
        # A bracket is inside a string when an odd number of real quotes come before it.
        flips = np.zeros(positions.size, dtype=np.int64)
        flips[real] = 1
        inside = (np.cumsum(flips) + self._in_string) % 2 == 1
        steps = (kinds == _OPEN_KIND).astype(np.int64) - (kinds == _CLOSE_KIND)
        steps[inside] = 0
        depths = np.cumsum(steps) + self.depth
        if depths.size and int(depths.max()) > self.max_depth:
            where = int(positions[np.argmax(depths > self.max_depth)])
            raise NestingTooDeep(self.max_depth, self._offset + where)
        if depths.size:
            self.depth = int(depths[-1])
        self._in_string = bool((self._in_string + real.size) % 2)
        self._offset += data.size
        run = len(chunk) - len(chunk.rstrip(b"\\"))
        self._backslashes = run if run < data.size else self._backslashes + run

    def _unescaped(self, data: np.ndarray, quotes: np.ndarray) -> np.ndarray:
        """Which quotes (byte positions) follow an even run of backslashes: real ones."""
        keep = np.ones(quotes.size, dtype=bool)
        # Backslashes before a quote are rare (escaped quotes): count each run in Python.
        preceded = np.flatnonzero(
            np.where(quotes > 0, data[np.maximum(quotes - 1, 0)] == _BACKSLASH, False)
        )
        for k in preceded.tolist():
            position = int(quotes[k]) - 1
            run = 0
            while position >= 0 and data[position] == _BACKSLASH:
                run += 1
                position -= 1
            if position < 0:  # the run began in the previous chunk
                run += self._backslashes
            if run % 2 == 1:
                keep[k] = False
        if quotes.size and quotes[0] == 0 and self._backslashes % 2 == 1:
            keep[0] = False
        return keep


def check_json_nesting(data: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Raise :class:`NestingTooDeep` if ``data`` (a whole JSON document) nests deeper than
    ``max_depth``."""
    NestingGuard(max_depth).feed(data)
