"""Benchmarks that print figures (never timed tests); each runs as ``python -m benchmarks.NAME``."""


def first_paragraph(doc: str | None) -> str:
    """A benchmark's ``--help`` description: its docstring's first paragraph, whole. The
    first line alone cut sentences that go on to the next line."""
    return (doc or "").strip().split("\n\n")[0]
