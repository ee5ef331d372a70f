#!/usr/bin/env bash
# Re-fetch the JavaScript/CSS that maps/ ships under maps/assets/, from the npm registry only.
#
# Why vendored: maps must open offline (a planner in the field, a resident's phone with patchy
# data) and must not leak viewers to a CDN. Folium's defaults point at jsdelivr/cdnjs; maps/
# replaces them with these files (see maps/assets.py, which lists the same versions).
#
# Versions: Leaflet 1.9.4 is the last 1.x release (folium 0.20 references 1.9.3; 1.9.4 is its
# bug-fix release). leaflet.fullscreen 3.0.0 is the exact plugin folium.plugins.Fullscreen loads.
# Usage: scripts/vendor_map_assets.sh   (needs npm and access to registry.npmjs.org)
set -euo pipefail

LEAFLET_VERSION=1.9.4
FULLSCREEN_VERSION=3.0.0

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/maps/assets"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "leaflet@${LEAFLET_VERSION}" "leaflet.fullscreen@${FULLSCREEN_VERSION}" >/dev/null
mkdir leaflet fullscreen
tar xzf "leaflet-${LEAFLET_VERSION}.tgz" -C leaflet
tar xzf "leaflet.fullscreen-${FULLSCREEN_VERSION}.tgz" -C fullscreen

rm -rf "$dest/leaflet" "$dest/leaflet.fullscreen"
mkdir -p "$dest/leaflet/images" "$dest/leaflet.fullscreen"
cp leaflet/package/dist/leaflet.js leaflet/package/dist/leaflet.css leaflet/package/LICENSE \
   "$dest/leaflet/"
cp leaflet/package/dist/images/layers.png leaflet/package/dist/images/layers-2x.png \
   leaflet/package/dist/images/marker-icon.png "$dest/leaflet/images/"
cp fullscreen/package/Control.FullScreen.js fullscreen/package/Control.FullScreen.css \
   fullscreen/package/icon-fullscreen.svg fullscreen/package/LICENSE "$dest/leaflet.fullscreen/"

cat > "$dest/VERSIONS" <<VERSIONS
# Fetched by scripts/vendor_map_assets.sh from registry.npmjs.org
leaflet ${LEAFLET_VERSION}
leaflet.fullscreen ${FULLSCREEN_VERSION}
VERSIONS
echo "vendored into $dest:"
cat "$dest/VERSIONS"
