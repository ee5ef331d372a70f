"""Communes, villages, roads and where the people live, on the scenario's H3 grid.

Communes are the Voronoi cells of their seats clipped to the box, so they tile it exactly.
Villages cluster around seats, with a share of remote ones in the highlands; roads join each
commune's villages to its seat (a minimum spanning tree) and the seats to each other. A village's
population is spread over the cells around it with a Gaussian weight, so that population per
cell is known exactly and sums to the villages' totals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from h3.api import basic_int as h3i

from simulation.cells import RESOLUTION, CellGrid
from simulation.names import TRICKY_COMMUNE_NAMES, commune_names, village_names
from simulation.terrain import Box

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Settlement densities used to size a village's footprint: about 1,500 people/km² in a rural
# village's residential cluster and 6,000 in towns (Buôn Ma Thuột's urban wards hold roughly
# 350,000 people on some 60 km²). Only the footprint's size depends on them.
VILLAGE_DENSITY_PER_KM2 = 1500.0
TOWN_DENSITY_PER_KM2 = 6000.0

# Centre-to-centre spacing of resolution-9 cells, km (sqrt(3) x edge, edge about 0.2 km here).
CELL_SPACING_KM = 0.35


@dataclass(frozen=True)
class Town:
    """A town placed by hand (a district seat or the provincial city)."""

    name: str
    lat: float
    lon: float
    population: int


@dataclass
class Areas:
    """Everything about places, as parallel arrays (one row per commune, village or road)."""

    commune_code: list[str]
    commune_name: list[str]
    commune_seat_x: FloatArray
    commune_seat_y: FloatArray
    commune_polygon: list[shapely.Polygon]  # lat/lon degrees (x=lon, y=lat)

    village_code: list[str]
    village_name: list[str]
    village_commune: IntArray  # row in the commune arrays
    village_x: FloatArray
    village_y: FloatArray
    village_lat: FloatArray
    village_lon: FloatArray
    village_population: IntArray
    village_kind: list[str]  # "town", "seat", "village" or "remote"

    road_from: IntArray  # village rows
    road_to: IntArray
    road_kind: list[str]  # "provincial" (between seats) or "local"
    road_line: list[shapely.LineString]  # lat/lon degrees

    # Where people are, on the grid: per-village cells and weights (CSR: village v owns rows
    # village_cell_start[v]:village_cell_start[v+1]), road cells likewise, and population per
    # grid cell.
    village_cell_start: IntArray
    village_cell: IntArray  # grid rows
    village_cell_weight: FloatArray  # sums to 1 per village
    road_cell_start: IntArray
    road_cell: IntArray  # grid rows, along the road
    cell_population: FloatArray
    cell_commune: IntArray


def place_seats(
    rng: np.random.Generator,
    box: Box,
    count: int,
    highland: Callable[[FloatArray, FloatArray], FloatArray],
    fixed: list[tuple[float, float]],
) -> tuple[FloatArray, FloatArray]:
    """Commune seats in the km frame: the fixed towns first, then a thinned, spaced-out sample.

    Seats keep at least 0.55 x the mean spacing apart (a Poisson-disk draw) so that communes
    have comparable sizes, and highland places are accepted less often, as in the real
    Central Highlands where communes are larger in the mountains.
    """
    spacing = 0.55 * math.sqrt(box.area_km2 / count)
    xs = [p[0] for p in fixed]
    ys = [p[1] for p in fixed]
    attempts = 0
    while len(xs) < count:
        attempts += 1
        x = rng.uniform(0, box.width_km)
        y = rng.uniform(0, box.height_km)
        if rng.random() > 1.0 - 0.6 * float(highland(np.array([x]), np.array([y]))[0]):
            continue
        if attempts < 200_000 and np.min(np.hypot(np.array(xs) - x, np.array(ys) - y)) < spacing:
            continue
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)


def nearest(px: FloatArray, py: FloatArray, qx: FloatArray, qy: FloatArray) -> IntArray:
    """Index of the nearest q for each p (all in the km frame), by brute force in chunks."""
    out = np.empty(px.size, dtype=np.int64)
    chunk = max(1, 4_000_000 // max(qx.size, 1))  # about 32 MB of distances at a time
    for start in range(0, px.size, chunk):
        sl = slice(start, start + chunk)
        d2 = (px[sl, None] - qx[None, :]) ** 2 + (py[sl, None] - qy[None, :]) ** 2
        out[sl] = np.argmin(d2, axis=1)
    return out


def commune_polygons(box: Box, sx: FloatArray, sy: FloatArray) -> list[shapely.Polygon]:
    """Voronoi cells of the seats clipped to the box, in degrees, one per seat, in seat order.

    The diagram is computed in the km frame (so that "nearest seat" means nearest on the
    ground) and mapped back to degrees; that map is affine, so edges stay straight and the
    cells still tile the box.
    """
    frame = shapely.box(0.0, 0.0, box.width_km, box.height_km)
    points = shapely.multipoints(np.column_stack([sx, sy]))
    cells = shapely.get_parts(shapely.voronoi_polygons(points, extend_to=frame, ordered=True))
    out: list[shapely.Polygon] = []
    for cell in cells:
        clipped = shapely.intersection(cell, frame)
        ring = np.asarray(shapely.get_coordinates(shapely.get_exterior_ring(clipped)))
        lat, lon = box.to_latlon(ring[:, 0], ring[:, 1])
        out.append(shapely.Polygon(np.column_stack([lon, lat])))
    return out


def minimum_spanning_tree(x: FloatArray, y: FloatArray) -> list[tuple[int, int]]:
    """Edges of the Euclidean minimum spanning tree (Prim's algorithm, O(n²) memory-light)."""
    n = x.size
    if n < 2:
        return []
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = np.hypot(x - x[0], y - y[0])
    parent = np.zeros(n, dtype=np.int64)
    edges: list[tuple[int, int]] = []
    for _ in range(n - 1):
        masked = np.where(in_tree, np.inf, best)
        j = int(np.argmin(masked))
        edges.append((int(parent[j]), j))
        in_tree[j] = True
        d = np.hypot(x - x[j], y - y[j])
        closer = d < best
        best = np.where(closer, d, best)
        parent = np.where(closer, j, parent)
    return edges


def road_line(
    rng: np.random.Generator, box: Box, x0: float, y0: float, x1: float, y1: float
) -> tuple[shapely.LineString, FloatArray, FloatArray]:
    """A road between two places with one bend, as a degree LineString and its km vertices.

    The bend is offset sideways by up to 12 % of the length so roads do not look ruled.
    """
    length = math.hypot(x1 - x0, y1 - y0)
    side = rng.uniform(-0.12, 0.12) * length
    nx, ny = (-(y1 - y0) / length, (x1 - x0) / length) if length > 0 else (0.0, 0.0)
    mx = (x0 + x1) / 2 + side * nx
    my = (y0 + y1) / 2 + side * ny
    xs = np.clip(np.array([x0, mx, x1]), 0.0, box.width_km)
    ys = np.clip(np.array([y0, my, y1]), 0.0, box.height_km)
    lat, lon = box.to_latlon(xs, ys)
    return shapely.LineString(np.column_stack([lon, lat])), xs, ys


def sample_polyline(
    xs: FloatArray, ys: FloatArray, step_km: float
) -> tuple[FloatArray, FloatArray]:
    """Points every ``step_km`` along a polyline in the km frame, ends included."""
    px: list[FloatArray] = []
    py: list[FloatArray] = []
    for i in range(xs.size - 1):
        seg = math.hypot(xs[i + 1] - xs[i], ys[i + 1] - ys[i])
        n = max(int(seg / step_km), 1)
        t = np.arange(n) / n
        px.append(xs[i] + t * (xs[i + 1] - xs[i]))
        py.append(ys[i] + t * (ys[i + 1] - ys[i]))
    px.append(np.array([xs[-1]]))
    py.append(np.array([ys[-1]]))
    return np.concatenate(px), np.concatenate(py)


def footprint_km(population: int, kind: str) -> float:
    """Radius of a settlement's residential area, km, from its population and density."""
    density = TOWN_DENSITY_PER_KM2 if kind == "town" else VILLAGE_DENSITY_PER_KM2
    return max(math.sqrt(population / (math.pi * density)), 0.25)


def spread_population(
    grid: CellGrid, lat: float, lon: float, x: float, y: float, radius_km: float
) -> tuple[IntArray, FloatArray]:
    """Grid rows around a settlement and normalised Gaussian weights (sd = radius / 1.5).

    Cells outside the box are dropped and the weights renormalised, so the settlement's whole
    population stays in the scenario.
    """
    centre = h3i.latlng_to_cell(lat, lon, RESOLUTION)
    k = int(math.ceil(1.6 * radius_km / CELL_SPACING_KM)) + 1
    rows = grid.index_of(np.array(h3i.grid_disk(centre, k), dtype=np.int64))
    rows = np.unique(rows[rows >= 0])
    if rows.size == 0:  # a settlement at the very edge: keep it on its nearest grid cell
        rows = np.array([int(np.argmin((grid.x - x) ** 2 + (grid.y - y) ** 2))])
    sigma = radius_km / 1.5
    r2 = (grid.x[rows] - x) ** 2 + (grid.y[rows] - y) ** 2
    w = np.exp(-r2 / (2 * sigma * sigma))
    keep = w >= 0.01 * w.max()
    rows, w = rows[keep], w[keep]
    return rows.astype(np.int64), w / w.sum()


def build_areas(
    rng: np.random.Generator,
    grid: CellGrid,
    *,
    communes: int,
    villages: int,
    population: int,
    towns: list[Town],
    highland: Callable[[FloatArray, FloatArray], FloatArray],
    tricky_names: bool,
    commune_code_base: int,
) -> Areas:
    """Draw communes, villages, roads and the population grid for one scenario."""
    box = grid.box
    town_xy = [tuple(float(v) for v in box.to_xy(np.array(t.lat), np.array(t.lon))) for t in towns]
    sx, sy = place_seats(rng, box, communes, highland, [(p[0], p[1]) for p in town_xy])
    polygons = commune_polygons(box, sx, sy)
    names = commune_names(rng, communes, include_tricky=tricky_names)
    if tricky_names:
        # The tricky names go to ordinary communes; the towns' keep real-looking names.
        tricky, rest = names[: len(TRICKY_COMMUNE_NAMES)], names[len(TRICKY_COMMUNE_NAMES) :]
        names = rest[: len(towns)] + tricky + rest[len(towns) :]
    codes = [f"{commune_code_base + 3 * i:05d}" for i in range(communes)]

    # Villages: each seat is one; the rest cluster around seats (sd 0.3 x commune radius) or,
    # for one in six, sit anywhere, preferring highlands (remote hamlets).
    mean_radius = math.sqrt(box.area_km2 / communes / math.pi)
    vx = list(sx)
    vy = list(sy)
    kinds = ["town" if i < len(towns) else "seat" for i in range(communes)]
    min_gap = 0.7  # km between village centres, so footprints do not sit on top of each other
    while len(vx) < villages:
        if rng.random() < 1 / 6:
            x = rng.uniform(0, box.width_km)
            y = rng.uniform(0, box.height_km)
            if rng.random() > float(highland(np.array([x]), np.array([y]))[0]):
                continue
            kind = "remote"
        else:
            s = int(rng.integers(communes))
            x = sx[s] + rng.normal(0, 0.35 * mean_radius)
            y = sy[s] + rng.normal(0, 0.35 * mean_radius)
            kind = "village"
        if not (0.2 < x < box.width_km - 0.2 and 0.2 < y < box.height_km - 0.2):
            continue
        if np.min(np.hypot(np.array(vx) - x, np.array(vy) - y)) < min_gap:
            continue
        vx.append(x)
        vy.append(y)
        kinds.append(kind)
    vxa = np.array(vx)
    vya = np.array(vy)
    vcommune = nearest(vxa, vya, sx, sy)

    # Populations: log-normal village sizes (Đắk Lắk's villages hold a few hundred to a few
    # thousand people), seats larger, remote hamlets smaller; then scaled so that the
    # non-town villages make up whatever the hand-placed towns leave of the target total.
    median = {"seat": 2500.0, "village": 900.0, "remote": 300.0}
    raw = np.array(
        [0.0 if k == "town" else median[k] * math.exp(rng.normal(0, 0.55)) for k in kinds]
    )
    town_total = sum(t.population for t in towns)
    scaled = raw * (population - town_total) / raw.sum()
    pop = np.floor(scaled).astype(np.int64)
    for i, t in enumerate(towns):
        pop[i] = t.population
    pop[int(np.argmax(np.where(np.array(kinds) == "town", -1, pop)))] += population - int(pop.sum())

    vlat, vlon = box.to_latlon(vxa, vya)
    vnames: list[str] = [""] * len(vx)
    vcodes: list[str] = [""] * len(vx)
    for c in range(communes):
        members = np.flatnonzero(vcommune == c)
        for j, name in zip(members, village_names(rng, members.size), strict=True):
            vnames[j] = name
        for n, j in enumerate(members, start=1):
            vcodes[j] = f"{codes[c]}-{n:03d}"
    for i, t in enumerate(towns):
        vnames[i] = t.name

    # Roads: a spanning tree over the seats (provincial roads), plus in each commune a spanning
    # tree over its villages rooted at the seat (local roads).
    road_from: list[int] = []
    road_to: list[int] = []
    road_kind: list[str] = []
    for a, b in minimum_spanning_tree(sx, sy):
        road_from.append(a)
        road_to.append(b)
        road_kind.append("provincial")
    for c in range(communes):
        members = np.flatnonzero(vcommune == c)
        members = np.concatenate([[c], members[members != c]])
        for a, b in minimum_spanning_tree(vxa[members], vya[members]):
            road_from.append(int(members[a]))
            road_to.append(int(members[b]))
            road_kind.append("local")
    lines: list[shapely.LineString] = []
    road_rows: list[IntArray] = []
    for a, b in zip(road_from, road_to, strict=True):
        line, xs, ys = road_line(rng, box, vxa[a], vya[a], vxa[b], vya[b])
        lines.append(line)
        px, py = sample_polyline(xs, ys, step_km=0.1)
        plat, plon = box.to_latlon(px, py)
        hexes = [
            h3i.latlng_to_cell(float(p), float(q), RESOLUTION)
            for p, q in zip(plat, plon, strict=True)
        ]
        rows = grid.index_of(np.array(hexes, dtype=np.int64))
        rows = rows[rows >= 0]
        # Keep the cells in travel order without repeats.
        _, first = np.unique(rows, return_index=True)
        road_rows.append(rows[np.sort(first)])
    road_start = np.concatenate([[0], np.cumsum([r.size for r in road_rows])]).astype(np.int64)

    # Population on the grid.
    vc_rows: list[IntArray] = []
    vc_weights: list[FloatArray] = []
    for i in range(len(vx)):
        rows, w = spread_population(
            grid,
            float(vlat[i]),
            float(vlon[i]),
            vxa[i],
            vya[i],
            footprint_km(int(pop[i]), kinds[i]),
        )
        vc_rows.append(rows)
        vc_weights.append(w)
    vc_start = np.concatenate([[0], np.cumsum([r.size for r in vc_rows])]).astype(np.int64)
    vc_cell = np.concatenate(vc_rows)
    vc_weight = np.concatenate(vc_weights)
    village_of_entry = np.repeat(np.arange(len(vx)), np.diff(vc_start))
    cell_pop = np.zeros(len(grid), dtype=np.float64)
    np.add.at(cell_pop, vc_cell, vc_weight * pop[village_of_entry])

    return Areas(
        commune_code=codes,
        commune_name=names,
        commune_seat_x=sx,
        commune_seat_y=sy,
        commune_polygon=polygons,
        village_code=vcodes,
        village_name=vnames,
        village_commune=vcommune,
        village_x=vxa,
        village_y=vya,
        village_lat=vlat,
        village_lon=vlon,
        village_population=pop,
        village_kind=kinds,
        road_from=np.array(road_from, dtype=np.int64),
        road_to=np.array(road_to, dtype=np.int64),
        road_kind=road_kind,
        road_line=lines,
        village_cell_start=vc_start,
        village_cell=vc_cell,
        village_cell_weight=vc_weight,
        road_cell_start=road_start,
        road_cell=np.concatenate(road_rows).astype(np.int64),
        cell_population=cell_pop,
        cell_commune=nearest(grid.x, grid.y, sx, sy),
    )
