"""Security headers on every answer: what a browser may load and frame for deadzone's pages.

The pages (maps, progress, plan, the resident reporter) are deadzone's own HTML: scripts and
styles from the server itself (Folium writes inline scripts, hence 'unsafe-inline' and no
nonce), map tiles from OpenStreetMap, nothing else. ``frame-ancestors 'none'`` and
``X-Frame-Options: DENY`` stop another site from framing the reporter page to trick a
resident into a report (clickjacking); ``nosniff`` stops a browser from running an uploaded
or echoed body as a script.
"""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maps.page import OSM_TILES

_TILE_ORIGIN: Final = OSM_TILES.split("/{", 1)[0]

CONTENT_SECURITY_POLICY: Final = "; ".join((
    "default-src 'self'",
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    f"img-src 'self' data: blob: {_TILE_ORIGIN}",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self'",
    "manifest-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))  # fmt: skip


class SecurityHeaders:
    """ASGI middleware (pure, so streamed downloads stay streamed): ``nosniff`` on every
    answer; CSP, ``X-Frame-Options`` and ``Referrer-Policy`` on every HTML answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Referrer-Policy", "same-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)
