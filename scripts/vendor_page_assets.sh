#!/usr/bin/env bash
# Re-fetch the JavaScript that the /progress and /plan pages ship under
# service/api/static/pages/vendor/, from the npm registry only.
#
# Why vendored: the authorities' and planners' pages must open offline (a commune office on a
# poor line, a printed report prepared in the field) and must not leak viewers to a CDN.
#
# Version: Chart.js 4.6.1, the newest 4.x release; its UMD build (dist/chart.umd.js) defines
# window.Chart with every controller, element and scale registered, so no bundler is needed.
# The pages use a linear x axis of day numbers, so no date adapter is needed either.
# Usage: scripts/vendor_page_assets.sh   (needs npm and access to registry.npmjs.org)
set -euo pipefail

CHARTJS_VERSION=4.6.1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/service/api/static/pages/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "chart.js@${CHARTJS_VERSION}" >/dev/null
mkdir chartjs
tar xzf "chart.js-${CHARTJS_VERSION}.tgz" -C chartjs

rm -rf "$dest/chart.js"
mkdir -p "$dest/chart.js"
# The source map is not shipped: drop the comment that would make a browser's devtools ask
# the service for it.
sed '/^\/\/# sourceMappingURL=/d' chartjs/package/dist/chart.umd.js > "$dest/chart.js/chart.umd.js"
cp chartjs/package/LICENSE.md "$dest/chart.js/LICENSE.md"

cat > "$dest/VERSIONS" <<VERSIONS
# Fetched by scripts/vendor_page_assets.sh from registry.npmjs.org
chart.js ${CHARTJS_VERSION}
VERSIONS
echo "vendored into $dest:"
cat "$dest/VERSIONS"
