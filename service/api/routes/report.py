"""``GET /`` (landing), ``GET /report`` (the resident reporter page) and its offline shell.

The page is static: HTML, CSS and JavaScript in ``service/static/report/`` that talk to the
service only through ``POST /v1/readings``. It works with no connection at all: a service
worker (``/report/sw.js``) caches the shell, reports wait in IndexedDB on the phone, and
Leaflet for the "place it on the map" fallback comes from the vendored ``maps/assets/``
served under ``/report/leaflet/`` (never a CDN).

The service worker's scope is ``/report`` (no trailing slash) so that it controls the page
URL itself; a worker at ``/report/sw.js`` may only claim that wider-than-its-folder scope
because its response carries ``Service-Worker-Allowed: /report``.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from maps.assets import asset_dir
from service.errors import NotFound

router = APIRouter(tags=["reporter"])

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "report"
SW_SCOPE = "/report"
# Files of the shell served at /report/<name>, with their media types. A fixed list rather
# than a directory mount: nothing else in the folder (or above it) can be fetched.
SHELL_FILES: dict[str, str] = {
    "app.css": "text/css; charset=utf-8",
    "strings.js": "text/javascript; charset=utf-8",
    "queue.js": "text/javascript; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "nearby.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
    "manifest.webmanifest": "application/manifest+json",
}
# The Leaflet files the page uses, from maps/assets/leaflet (vendored from npm, see
# maps/assets/VERSIONS). The page draws a circle marker, so no marker image is needed.
LEAFLET_FILES: dict[str, str] = {
    "leaflet.js": "text/javascript; charset=utf-8",
    "leaflet.css": "text/css; charset=utf-8",
    "images/layers.png": "image/png",
    "images/layers-2x.png": "image/png",
    "images/marker-icon.png": "image/png",
}
# Browsers must revalidate the shell and the worker on every online visit, so a new
# release reaches phones at their next connection; offline, the worker's cache answers.
REVALIDATE = {"Cache-Control": "no-cache"}


@router.get("/", response_class=HTMLResponse, summary="Landing page (Vietnamese and English)")
def landing() -> FileResponse:
    return FileResponse(STATIC_DIR / "landing.html", media_type="text/html; charset=utf-8",
                        headers=REVALIDATE)  # fmt: skip


@router.get("/report", response_class=HTMLResponse, summary="Resident reporter page")
def report_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=REVALIDATE)  # fmt: skip


@router.get("/report/sw.js", summary="Service worker of the reporter page", include_in_schema=False)
def service_worker() -> Response:
    return Response(
        _service_worker_source(STATIC_DIR),
        media_type="text/javascript; charset=utf-8",
        headers={**REVALIDATE, "Service-Worker-Allowed": SW_SCOPE},
    )


@router.get("/report/leaflet/{name:path}", include_in_schema=False)
def leaflet_file(name: str) -> FileResponse:
    if name not in LEAFLET_FILES:
        raise NotFound(f"no such file: {name}", field="name")
    return FileResponse(asset_dir() / "leaflet" / name, media_type=LEAFLET_FILES[name],
                        headers=REVALIDATE)  # fmt: skip


@router.get("/report/{name}", include_in_schema=False)
def shell_file(name: str) -> FileResponse:
    if name not in SHELL_FILES:
        raise NotFound(f"no such file: {name}", field="name")
    return FileResponse(STATIC_DIR / name, media_type=SHELL_FILES[name], headers=REVALIDATE)


@cache
def _service_worker_source(static_dir: Path) -> bytes:
    """``sw.js`` with its cache version filled in: a hash of every file it precaches.

    A browser installs a new worker only when the worker's bytes change; putting the hash
    of the shell into them means any change to the page, its scripts or Leaflet makes phones
    fetch the new shell at their next connection, and nothing else does.
    """
    digest = hashlib.sha256()
    shell = [static_dir / "index.html"] + [static_dir / name for name in SHELL_FILES]
    leaflet = [asset_dir() / "leaflet" / name for name in LEAFLET_FILES]
    for path in shell + leaflet:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    source = (static_dir / "sw.js").read_text(encoding="utf-8")
    return source.replace("__SHELL_VERSION__", digest.hexdigest()[:16]).encode("utf-8")
