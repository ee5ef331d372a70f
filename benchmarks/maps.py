"""How big and how fast the maps are: the coverage map against the naive Folium way, and the
progress map and plan layer of a province.

Run: ``.venv/bin/python -m benchmarks.maps`` (about 5 minutes on the 2-core box; ``--quick``
skips 170,000 cells; ``--case progress`` runs only the progress case). For each size (res-9
cells in the area) and field (clustered: 5 % of the statuses randomised; noisy: 30 %) it
prints:

* ours: ``maps.coverage_map`` with best-of-all plus two operators, res-8/7 roll-ups and per-cell
  evidence for dead/weak cells, self-contained HTML (assets inlined);
* ours, 1 layer: the same with the best-of-all layer only, to compare with the naive page;
* naive: one ``folium.GeoJson`` feature per res-9 best-of-all hexagon with a ``style_function``
  (DESIGN.md: 100k hexagons took 93 s), using the same local Leaflet so the network stays off.

"Usable" is measured in headless Chromium (Debian /usr/bin/chromium, network cut off apart from
file://) from navigation start to the first animation frame at which the page has loaded and
every feature of the visible layer is in the SVG. "Res 9" is the time to switch the map to
zoom 13, where the res-9 patches are drawn for the first time.

The progress case draws a province-sized synthetic ``maps.sample.sample_progress``: 700
communes (borders with a vertex every ~22 m, as official outlines) and 5,000 villages, and
the dead-zone map of the sample zones with 100 suggested sites; "usable" is until the page
script has drawn every layer.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import folium
import h3
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import first_paragraph  # noqa: E402
from maps import (  # noqa: E402
    MapMeta,
    PlannedSite,
    asset_dir,
    coverage_map,
    deadzone_map,
    progress_map,
    write_map_html,
)
from maps.palette import STATUS_STYLES  # noqa: E402
from maps.sample import sample_cells, sample_deadzones, sample_progress  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
NAIVE_CAP_S = 120.0
OURS_CAP_S = 60.0
MAP_JS = "window[Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map)]"


@dataclass
class Result:
    label: str
    build_s: float
    size_bytes: int
    usable_s: float | None
    res9_s: float | None = None


def build_naive(cells: pd.DataFrame, path: Path) -> None:
    """One GeoJSON feature per best-of-all res-9 hexagon, styled by a style_function."""
    rows = cells[(cells["operator"] == "any") & (cells["resolution"] == 9)]
    features = [
        {
            "type": "Feature",
            "id": cell,
            "properties": {"status": status},
            "geometry": h3.cells_to_geo([cell]),
        }
        for cell, status in zip(rows["h3"], rows["status"], strict=True)
    ]
    m = folium.Map(tiles="OpenStreetMap", control_scale=True)
    # Same local Leaflet as ours, and none of folium's CDN extras, so only tiles can fail.
    m.default_js = [("leaflet", (asset_dir() / "leaflet" / "leaflet.js").as_uri())]
    m.default_css = [("leaflet_css", (asset_dir() / "leaflet" / "leaflet.css").as_uri())]
    styles = {s.value: style.to_leaflet() for s, style in STATUS_STYLES.items()}
    folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        style_function=lambda f: styles[f["properties"]["status"]],
    ).add_to(m)
    lats = [h3.cell_to_latlng(c)[0] for c in rows["h3"]]
    lngs = [h3.cell_to_latlng(c)[1] for c in rows["h3"]]
    m.fit_bounds([[min(lats), min(lngs)], [max(lats), max(lngs)]])
    m.save(str(path))


def _sealed_page(browser: object) -> object:
    page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    page.route(
        "**/*",
        lambda route: (
            route.continue_() if route.request.url.startswith(("file:", "data:")) else route.abort()
        ),
    )
    return page


def time_usable(playwright: object, path: Path, condition: str, cap_s: float) -> float | None:
    """Seconds from navigation start until ``condition`` holds in an animation frame.

    The page checks the condition itself on every frame and reports by console message, and
    each measurement has its own browser: a page stuck in a minutes-long script (the naive
    170k map) cannot answer the driver, and only closing its browser stops it.
    """
    probe = (
        "(() => { const check = () => { let ok = false; try { ok = " + condition + "; } "
        "catch (e) {} if (ok) { console.log('deadzone-usable ' + performance.now()); return; } "
        "requestAnimationFrame(check); }; requestAnimationFrame(check); })();"
    )
    browser = playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )
    try:
        page = _sealed_page(browser)
        page.add_init_script(probe)  # type: ignore[attr-defined]
        with page.expect_console_message(  # type: ignore[attr-defined]
            lambda m: m.text.startswith("deadzone-usable"), timeout=cap_s * 1000
        ) as message:
            page.goto(path.as_uri(), wait_until="commit")  # type: ignore[attr-defined]
        return float(message.value.text.split()[1]) / 1000.0
    except Exception as error:  # a timeout is a result here, not a failure
        if "Timeout" not in type(error).__name__ and "Timeout" not in str(error):
            raise
        return None
    finally:
        browser.close()


def time_res9(playwright: object, path: Path) -> float | None:
    """Seconds to redraw at zoom 13 (first drawing of the res-9 patches)."""
    browser = playwright.chromium.launch(  # type: ignore[attr-defined]
        executable_path=CHROMIUM, args=CHROMIUM_ARGS
    )
    try:
        page = _sealed_page(browser)
        page.goto(path.as_uri())  # type: ignore[attr-defined]
        page.wait_for_function(  # type: ignore[attr-defined]
            "window.deadzoneReady === true", timeout=OURS_CAP_S * 1000
        )
        # Right after load Leaflet can ignore a setZoom for a few frames; retry each frame.
        seconds = page.evaluate(  # type: ignore[attr-defined]
            f"""() => new Promise(done => {{
                const map = {MAP_JS};
                const t0 = performance.now();
                function go() {{
                    map.setZoom(13, {{animate: false}});
                    if (map.getZoom() !== 13) {{ requestAnimationFrame(go); return; }}
                    requestAnimationFrame(() => done((performance.now() - t0) / 1000));
                }}
                go();
            }})"""
        )
        return float(seconds)
    finally:
        browser.close()


def run_ours(playwright: object, cells: pd.DataFrame, path: Path, label: str) -> Result:
    start = time.perf_counter()
    write_map_html(coverage_map(cells, meta=MapMeta(title="benchmark", lang="en")), path)
    build_s = time.perf_counter() - start
    ready = "document.readyState === 'complete' && window.deadzoneReady === true"
    usable = time_usable(playwright, path, ready, OURS_CAP_S)
    return Result(label, build_s, path.stat().st_size, usable, time_res9(playwright, path))


def run_naive(playwright: object, cells: pd.DataFrame, path: Path) -> Result:
    start = time.perf_counter()
    build_naive(cells, path)
    build_s = time.perf_counter() - start
    expected = int(((cells["operator"] == "any") & (cells["resolution"] == 9)).sum())
    drawn = (
        "document.readyState === 'complete' && "
        f"document.querySelectorAll('path.leaflet-interactive').length >= {expected}"
    )
    usable = time_usable(playwright, path, drawn, NAIVE_CAP_S)
    return Result("naive GeoJson", build_s, path.stat().st_size, usable)


def print_result(n_cells: int, field: str, result: Result, cap_s: float) -> None:
    usable = f"{result.usable_s:6.2f} s" if result.usable_s is not None else f"> {cap_s:.0f} s"
    res9 = f"{result.res9_s:5.2f} s" if result.res9_s is not None else "    -"
    print(
        f"{n_cells:>8,} {field:<9} {result.label:<14} {result.size_bytes / 1e6:8.2f} MB "
        f"{result.build_s:7.1f} s  {usable:>9}  {res9:>7}",
        flush=True,
    )


READY = "document.readyState === 'complete' && window.deadzoneReady === true"


def run_progress(playwright: object, directory: Path) -> None:
    """The province-sized progress map and a dead-zone map with 100 suggested sites."""
    communes, villages = sample_progress(700, 5_000, seed=1)
    meta = MapMeta(title="benchmark", lang="en")
    path = directory / "progress.html"
    start = time.perf_counter()
    write_map_html(progress_map(communes, villages, meta=meta, goal_share=0.95), path)
    build_s = time.perf_counter() - start
    usable = time_usable(playwright, path, READY, OURS_CAP_S)
    label = f"{len(communes)} communes, {len(villages):,} villages"
    print_row(label, Result("progress", build_s, path.stat().st_size, usable), OURS_CAP_S)

    zones = sample_deadzones(sample_cells(10_000, seed=1), limit=50)
    sites = [
        PlannedSite(rank=i + 1, h3="", lat=12.6 + 0.01 * (i % 10), lon=108.0 + 0.01 * (i // 10),
                    radius_km=7.55, people_new=1000 - i, people_cumulative=0.0,
                    villages=[f"Buôn {i}"])
        for i in range(100)
    ]  # fmt: skip
    path = directory / "plan.html"
    start = time.perf_counter()
    write_map_html(deadzone_map(zones, meta=meta, sites=sites), path)
    build_s = time.perf_counter() - start
    usable = time_usable(playwright, path, READY, OURS_CAP_S)
    label = f"{len(zones)} zones, {len(sites)} sites"
    print_row(label, Result("dead zones+plan", build_s, path.stat().st_size, usable), OURS_CAP_S)


def print_row(label: str, result: Result, cap_s: float) -> None:
    usable = f"{result.usable_s:6.2f} s" if result.usable_s is not None else f"> {cap_s:.0f} s"
    print(
        f"{label:<30} {result.label:<16} {result.size_bytes / 1e6:8.2f} MB "
        f"{result.build_s:7.1f} s  {usable:>9}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=first_paragraph(__doc__))
    parser.add_argument("--quick", action="store_true", help="skip 170,000 cells")
    parser.add_argument(
        "--case",
        choices=("all", "coverage", "progress"),
        default="all",
        help="coverage: the coverage map sizes; progress: the progress map and plan layer",
    )
    args = parser.parse_args()
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 170_000]
    from playwright.sync_api import sync_playwright

    if args.case in ("all", "progress"):
        print(f"{'input':<30} {'map':<16} {'HTML':>11} {'build':>9}  {'usable':>9}")
        with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
            run_progress(p, Path(tmp))
    if args.case == "progress":
        return
    print(
        f"{'cells':>8} {'field':<9} {'map':<14} {'HTML':>11} {'build':>9}  {'usable':>9}  "
        f"{'res 9':>7}"
    )
    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        for n_cells in sizes:
            for field, noise in (("clustered", 0.05), ("noisy", 0.30)):
                cells = sample_cells(n_cells, seed=1, noise=noise)
                path = Path(tmp) / f"ours-{n_cells}-{field}.html"
                print_result(n_cells, field, run_ours(p, cells, path, "ours"), OURS_CAP_S)
                single = cells[cells["operator"] == "any"]
                path = Path(tmp) / f"single-{n_cells}-{field}.html"
                print_result(n_cells, field, run_ours(p, single, path, "ours, 1 layer"), OURS_CAP_S)
                if field == "clustered":
                    path = Path(tmp) / f"naive-{n_cells}.html"
                    print_result(n_cells, field, run_naive(p, cells, path), NAIVE_CAP_S)


if __name__ == "__main__":
    main()
