"""Answers that a browser saves as a file."""

from __future__ import annotations

from fastapi.responses import Response


def download(body: str | bytes, *, media_type: str, filename: str) -> Response:
    """The body as a file to save (``Content-Disposition: attachment``)."""
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
