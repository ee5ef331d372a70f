"""What the reporter page says before its scripts run (a slow 2G link, a phone that blocks
scripts) is what it says after: the HTML's own Vietnamese texts are the dictionary's."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "service" / "api" / "static" / "report"


def vietnamese_strings() -> dict[str, str]:
    """The ``vi`` dictionary of strings.js (each entry one "key": "text" line)."""
    source = (STATIC / "strings.js").read_text(encoding="utf-8")
    block = source[source.index("vi: {") : source.index("\n  en: {")]
    pairs = re.findall(r'"([a-z0-9_.]+)":\s*("(?:[^"\\]|\\.)*")', block)
    return {key: json.loads(text) for key, text in pairs}


class StaticTexts(HTMLParser):
    """The text inside each element that carries ``data-i18n``, as the HTML has it."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, list[str]]] = []
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        key = dict(attrs).get("data-i18n")
        if key:
            self.open.append((key, []))

    def handle_data(self, data: str) -> None:
        if self.open:
            self.open[-1][1].append(data)

    def handle_endtag(self, tag: str) -> None:
        # Elements with data-i18n hold text only, so the innermost one closes first.
        if self.open and tag != "br":
            key, parts = self.open.pop()
            self.found.append((key, " ".join("".join(parts).split())))


def test_the_html_says_what_the_script_will_say_in_vietnamese() -> None:
    vi = vietnamese_strings()
    parser = StaticTexts()
    parser.feed((STATIC / "index.html").read_text(encoding="utf-8"))
    written = [(key, text) for key, text in parser.found if text]
    assert len(written) >= 10
    wrong = [(key, text, vi[key]) for key, text in written if text != " ".join(vi[key].split())]
    assert wrong == []
