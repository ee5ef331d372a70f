"""``GET /progress`` (for the provincial authority) and ``GET /plan`` (for operators'
planners): static pages that read the JSON API from the browser.

HTML, CSS and JavaScript live in ``service/static/pages/``; Chart.js is vendored there from
npm by ``scripts/vendor_page_assets.sh`` (never a CDN), so the pages work on a network with
no Internet. Vietnamese by default, English with ``?lang=en`` (the scripts read it).

A Content-Security-Policy keeps them that way: scripts, styles and requests may only go to
this service, and names taken from imported files, which the scripts insert as text, could
not run even if one were ever inserted as markup.
"""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from domain.vocabulary import vocabulary
from service.api.routes.report import REVALIDATE
from service.errors import NotFound

router = APIRouter(tags=["pages"])

STATIC_DIR = Path(__file__).resolve().parents[1] / "static" / "pages"
# Files served at /pages/<name>, with their media types. A fixed list rather than a
# directory mount: nothing else in the folder (or above it) can be fetched.
PAGE_FILES: dict[str, str] = {
    "pages.css": "text/css; charset=utf-8",
    "strings.js": "text/javascript; charset=utf-8",
    "common.js": "text/javascript; charset=utf-8",
    "progress.js": "text/javascript; charset=utf-8",
    "plan.js": "text/javascript; charset=utf-8",
    "strings-closing.js": "text/javascript; charset=utf-8",
    "progress-weekly.js": "text/javascript; charset=utf-8",
    "plan-commitments.js": "text/javascript; charset=utf-8",
    "vendor/chart.js/chart.umd.js": "text/javascript; charset=utf-8",
    "vendor/chart.js/LICENSE.md": "text/markdown; charset=utf-8",
}
# Revalidate on every visit (REVALIDATE, as the reporter page): a new release reaches the
# next reader, and numbers are read live from the API anyway.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {**REVALIDATE, "Content-Security-Policy": CSP}


@router.get("/progress", response_class=HTMLResponse, summary="Progress page (authorities)")
def progress_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "progress.html", media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)  # fmt: skip


@router.get("/plan", response_class=HTMLResponse, summary="Planning page (operators)")
def plan_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "plan.html", media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)  # fmt: skip


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> Response:
    """No icon, said plainly: every browser asks for one on every page, and a 404 showed as
    an error in the console of each page and map."""
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/pages/vocabulary.js", include_in_schema=False)
def vocabulary_script() -> Response:
    """deadzone's words (domain.vocabulary) for the pages' scripts: the one source of the
    statuses and the operator pattern, never a copy written in JavaScript."""
    body = "window.DEADZONE_VOCABULARY = " + json.dumps(vocabulary()) + ";\n"
    return Response(body, media_type="text/javascript; charset=utf-8", headers=REVALIDATE)


@router.get("/v1/vocabulary", summary="Decisions, village statuses, scopes and the operator code")
def vocabulary_json() -> dict[str, object]:
    return vocabulary()


@router.get("/pages/{name:path}", include_in_schema=False)
def page_file(name: str) -> FileResponse:
    if name not in PAGE_FILES:
        raise NotFound(f"no such file: {name}", field="name")
    return FileResponse(STATIC_DIR / name, media_type=PAGE_FILES[name], headers=REVALIDATE)
