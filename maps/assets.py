"""The JavaScript and CSS the maps need, shipped in ``maps/assets/`` instead of a CDN.

Folium points at jsdelivr/cdnjs for Leaflet, jQuery, Bootstrap, Font Awesome and its plugins.
Our maps use only Leaflet, the leaflet.fullscreen plugin and our own ``deadzone/`` script, so the
rest is dropped and these files are either inlined (one self-contained HTML file for the CLI) or
linked under a URL prefix the service mounts (``asset_dir()``). Versions are in
``maps/assets/VERSIONS``; ``scripts/vendor_map_assets.sh`` re-fetches them from npm.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from branca.element import Element

# Load order matters: Leaflet before its plugin, both before our script and the map script.
STYLESHEETS: tuple[str, ...] = (
    "leaflet/leaflet.css",
    "leaflet.fullscreen/Control.FullScreen.css",
    "deadzone/deadzone.css",
)
SCRIPTS: tuple[str, ...] = (
    "leaflet/leaflet.js",
    "leaflet.fullscreen/Control.FullScreen.js",
    "deadzone/deadzone.js",
)

_MEDIA_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}
_CSS_URL = re.compile(r"url\(\s*(['\"]?)(?!data:|#|https?:)([^'\")]+)\1\s*\)")


def asset_dir() -> Path:
    """Directory holding every asset file, to mount as static files (e.g. at /static/maps)."""
    return Path(__file__).resolve().parent / "assets"


def asset_versions() -> dict[str, str]:
    """Vendored package versions, from ``assets/VERSIONS`` (``name version`` lines)."""
    versions: dict[str, str] = {}
    for line in (asset_dir() / "VERSIONS").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split()
            versions[name] = version
    return versions


def _inline_css(relative: str) -> str:
    """CSS text with relative ``url(...)`` images turned into data: URIs, so that it works
    when pasted into a page that has no asset directory beside it."""
    path = asset_dir() / relative
    text = path.read_text(encoding="utf-8")

    def embed(match: re.Match[str]) -> str:
        target = (path.parent / match.group(2)).resolve()
        media = _MEDIA_TYPES[target.suffix]
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{media};base64,{data}")'

    return _CSS_URL.sub(embed, text)


def _inline_js(relative: str) -> str:
    # A literal "</script" inside would end the tag early; none today, but stay safe.
    text = (asset_dir() / relative).read_text(encoding="utf-8")
    return text.replace("</script", "<\\/script")


def render_asset_tags(base_url: str | None) -> str:
    """``<link>``/``<script>`` tags for every asset: by URL under ``base_url`` (e.g.
    ``/static/maps``), or inlined when ``base_url`` is None."""
    parts: list[str] = []
    if base_url is None:
        parts += [f"<style>\n{_inline_css(name)}\n</style>" for name in STYLESHEETS]
        parts += [f"<script>\n{_inline_js(name)}\n</script>" for name in SCRIPTS]
    else:
        prefix = base_url.rstrip("/")
        parts += [f'<link rel="stylesheet" href="{prefix}/{name}"/>' for name in STYLESHEETS]
        parts += [f'<script src="{prefix}/{name}"></script>' for name in SCRIPTS]
    return "\n".join(parts)


class AssetTags(Element):
    """Header element that writes the asset tags; ``base_url`` is chosen when rendering."""

    def __init__(self) -> None:
        super().__init__()
        self._name = "AssetTags"
        self.base_url: str | None = None

    def render(self, **kwargs: object) -> str:
        return render_asset_tags(self.base_url)
