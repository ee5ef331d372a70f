"""``GET /docs``: the API's Swagger UI, served from this service, never from a CDN.

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from jsDelivr, so on a
commune office's network without Internet they are blank pages. Swagger UI 5 (the first
major version that renders OpenAPI 3.1, which FastAPI writes) ships in the PyPI package
``swagger-ui-py``; its ``static/`` folder is read in place, and only the three files the page
needs are served. ``/redoc`` redirects here rather than serving a second, CDN-bound viewer.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from service.errors import NotFound

router = APIRouter(tags=["docs"])

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
# A fixed list rather than a directory mount: nothing else of the package can be fetched.
DOCS_FILES: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The assets change only with the installed package: let browsers keep them for a day
# (they are 1.6 MB before gzip) and revalidate the page itself, which is small.
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400"}


@cache
def swagger_ui_dir() -> Path:
    """The ``static/`` folder of the installed ``swagger-ui-py``, found without importing
    the package (its ``__init__`` pulls in Jinja2 and PyYAML for handlers we do not use)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


@router.get(DOCS_URL, include_in_schema=False)
def swagger_ui() -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="deadzone API",
        swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
        swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
        swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
    )


@router.get("/redoc", include_in_schema=False)
def redoc() -> RedirectResponse:
    return RedirectResponse(DOCS_URL)


@router.get(ASSETS_URL + "/{name}", include_in_schema=False)
def docs_asset(name: str) -> FileResponse:
    if name not in DOCS_FILES:
        raise NotFound(f"no such file: {name}")
    return FileResponse(swagger_ui_dir() / name, media_type=DOCS_FILES[name],
                        headers=ASSET_HEADERS)  # fmt: skip
